#pragma once
// The CLI's commands, as library functions (the CLI only parses flags and calls these).
#include <iosfwd>
#include <string>

#include <nlohmann/json.hpp>

#include "app/cost_output.h"

namespace nasforge::search {

// Starts a search: validates the file and the data before creating the database.
// `parallel`, when not null, replaces the file's "parallel" object (from --workers/--devices).
void run_search(const std::string& config_path, const std::string& db_path, std::ostream& out,
                const nlohmann::json& parallel = nullptr);
// Continues a stopped search to its budget.
void resume_search(const std::string& db_path, std::ostream& out);
// Prints the experiment, its trials and the best one; safe while a search runs.
void print_status(const std::string& db_path, std::ostream& out);
// Writes the best trial's architecture.json, weights.pt and metrics.json (with test accuracy);
// for a trained network also model.py, model.safetensors and model.onnx (`onnx`: required, auto
// or off; auto warns when model.onnx cannot be made). The best is the search's (the highest
// reward under an objective) among the completed trials within `limits`; none fits: ConfigError.
void export_best(const std::string& db_path, const std::string& out_dir, std::ostream& out,
                 const std::string& onnx = "auto", const ExportLimits& limits = {});
// Loads an exported model and prints its accuracy on a split ("test" or "validation").
double evaluate_exported(const std::string& model_dir, const std::string& split, std::ostream& out);

std::string default_db_path(const std::string& config_path);

}  // namespace nasforge::search
