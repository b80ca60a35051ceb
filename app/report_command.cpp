#include "app/report_command.h"

#include <filesystem>
#include <ostream>

#include "report/html.h"
#include "report/html_report.h"

namespace nasforge::app {

void write_html_report(const std::string& db_path, const std::string& out_path, std::ostream& out) {
  const auto path = out_path.empty()
                        ? std::filesystem::path(db_path).replace_extension(".html").string()
                        : out_path;
  const auto data = report::write_report(db_path, path);
  out << "wrote " << path << ": " << data.trials.size() << " trials, best "
      << (data.best ? report::fixed(data.best->result.val_accuracy * 100, 2) + "%" : "none yet")
      << "\n";
}

}  // namespace nasforge::app
