#pragma once
// Hyperparameters over the search: one plot per changed hyperparameter (plot-hparam-NAME, one
// marker per recorded change, coloured by its reason: sample, explore, extend, ...) and, when
// the search promoted or extended trials, their fidelity with a line from each parent
// (plot-promotions).
#include <string>

#include "report/report_data.h"

namespace nasforge::report {

std::string hparams_section(const ReportData& data);

// The id of a hyperparameter's plot: "plot-hparam-" and the name with characters other than
// letters, digits, '-' and '_' replaced by '_'.
std::string hparam_plot_id(const std::string& name);

}  // namespace nasforge::report
