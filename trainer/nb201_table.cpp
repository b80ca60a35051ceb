#include "trainer/nb201_table.h"

#include <charconv>
#include <memory>
#include <sstream>

#include "common/errors.h"
#include "common/json_config.h"
#include "trainer/data/gzip_file.h"

namespace nasforge::trainer {

namespace {

std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    const size_t comma = line.find(',', start);
    out.push_back(
        line.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) return out;
    start = comma + 1;
  }
}

// The whole file as text: the table may be nb201.csv.gz (as shipped) or the plain CSV.
std::string read_text(const std::string& path) {
  try {
    const auto bytes = read_gzip_or_plain(path);
    return std::string(bytes.begin(), bytes.end());
  } catch (const DataError& e) {
    throw DataError(std::string(e.what()) +
                    "; the NAS-Bench-201 table ships with the repository as "
                    "benchmarks/nb201/nb201.csv.gz (set evaluator.path to it, or copy it again)");
  }
}

template <typename T>
bool parse_number(const std::string& text, T& out) {
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc() && ptr == end;
}

}  // namespace

Nb201Table::Nb201Table(const std::string& path) {
  std::istringstream in(read_text(path));
  std::string line;
  if (!std::getline(in, line)) throw DataError(path + ": empty file; expected a CSV header");
  if (!line.empty() && line.back() == '\r') line.pop_back();
  auto header = split(line);
  if (header.size() < 3 || header[0] != "index" || header[1] != "arch") {
    throw DataError(path +
                    ":1: expected a header starting with index,arch and then accuracy "
                    "columns, got '" +
                    line + "'");
  }
  columns_.assign(header.begin() + 2, header.end());
  long line_number = 1;
  while (std::getline(in, line)) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const auto fields = split(line);
    const std::string where = path + ":" + std::to_string(line_number);
    if (fields.size() != header.size()) {
      throw DataError(where + ": expected " + std::to_string(header.size()) + " fields, got " +
                      std::to_string(fields.size()));
    }
    long index = 0;
    if (!parse_number(fields[0], index)) throw DataError(where + ": bad index '" + fields[0] + "'");
    for (size_t c = 2; c < fields.size(); ++c) {
      double v = 0;
      if (!parse_number(fields[c], v)) {
        throw DataError(where + ": column " + header[c] + ": '" + fields[c] + "' is not a number");
      }
      values_.push_back(v);
    }
    if (!rows_.emplace(fields[1], archs_.size()).second) {
      throw DataError(where + ": cell '" + fields[1] + "' appears twice");
    }
    archs_.push_back(fields[1]);
    indices_.push_back(index);
  }
  if (archs_.empty()) throw DataError(path + ": no rows after the header");
}

int Nb201Table::column(const std::string& name) const {
  for (size_t i = 0; i < columns_.size(); ++i) {
    if (columns_[i] == name) return static_cast<int>(i);
  }
  return -1;
}

std::optional<size_t> Nb201Table::find(const std::string& arch) const {
  const auto it = rows_.find(arch);
  if (it == rows_.end()) return std::nullopt;
  return it->second;
}

double Nb201Table::value(const std::string& arch, const std::string& column_name) const {
  const auto row = find(arch);
  if (!row) throw DataError("NAS-Bench-201 table has no cell '" + arch + "'");
  const int c = column(column_name);
  if (c < 0) throw DataError("NAS-Bench-201 table has no column '" + column_name + "'");
  return value(*row, c);
}

Nb201TableEvaluator::Nb201TableEvaluator(std::shared_ptr<const Nb201Table> table,
                                         const std::string& column)
    : table_(std::move(table)), column_name_(column), column_(table_->column(column)) {
  if (column_ < 0) {
    std::string valid;
    for (const auto& c : table_->columns()) valid += (valid.empty() ? "" : ", ") + c;
    throw ConfigError("evaluator.column: unknown NAS-Bench-201 column '" + column +
                      "'; expected one of " + valid);
  }
  epochs_ = epochs_of_column(column);
  if (Nb201Shape shape; nb201_shape_of_column(column, shape)) shape_ = shape;
}

void Nb201TableEvaluator::check_fidelities(const std::vector<int>& epochs,
                                           const std::string& where) {
  for (const int e : epochs) {
    if (e != 12 && e != kFullEpochs) {
      throw ConfigError(where + ": the NAS-Bench-201 table has 12 and 200 epochs, got " +
                        std::to_string(e));
    }
  }
}

int Nb201TableEvaluator::epochs_of_column(const std::string& column) {
  const std::string suffix = "_12ep";
  const bool short_run = column.size() > suffix.size() &&
                         column.compare(column.size() - suffix.size(), suffix.size(), suffix) == 0;
  return short_run ? 12 : kFullEpochs;
}

std::unique_ptr<Nb201TableEvaluator> Nb201TableEvaluator::from_config(const nlohmann::json& config,
                                                                      const std::string& where) {
  config::require_object(config, where);
  config::reject_unknown_keys(config, where, {"type", "path", "column"});
  const auto path = config::required<std::string>(config, "path", where);
  const auto column = config::optional<std::string>(config, "column", where, "cifar10_valid");
  return std::make_unique<Nb201TableEvaluator>(std::make_shared<const Nb201Table>(path), column);
}

int Nb201TableEvaluator::column_for_epochs(int epochs) const {
  if (epochs == epochs_) return column_;
  const std::string suffix = "_12ep";
  const std::string base =
      epochs_ == 12 ? column_name_.substr(0, column_name_.size() - suffix.size()) : column_name_;
  if (epochs != 12 && epochs != 200) {
    throw ConfigError("nb201-table: no column for " + std::to_string(epochs) +
                      " epochs; the table has 12 and 200");
  }
  const std::string name = epochs == 12 ? base + suffix : base;
  const int c = table_->column(name);
  if (c < 0) {
    throw ConfigError("nb201-table: column '" + column_name_ + "' has no " +
                      std::to_string(epochs) + "-epoch form '" + name + "'");
  }
  return c;
}

TrialResult Nb201TableEvaluator::evaluate(const space::Architecture& arch,
                                          const TrialContext& context) {
  if (arch.space_type() != "nb201") {
    throw ConfigError("evaluator nb201-table can only evaluate nb201 architectures, got a '" +
                      arch.space_type() + "' architecture; use space {\"type\": \"nb201\"}");
  }
  const auto row = table_->find(arch.canonical());
  if (!row) throw DataError("NAS-Bench-201 table has no cell '" + arch.canonical() + "'");
  int column = column_;
  int epochs = epochs_;
  if (context.hparams.is_object() && context.hparams.contains("epochs")) {
    epochs = config::get_as<int>(context.hparams.at("epochs"), "trial hparams.epochs");
    column = column_for_epochs(epochs);
  }
  TrialResult result;
  result.state = TrialState::kCompleted;
  result.val_accuracy = table_->value(*row, column) / 100.0;
  result.epochs = epochs;
  if (shape_) {
    const auto cost = nb201_network_cost(arch.choices(), *shape_);
    result.params = cost.params;
    result.flops = cost.flops;
  }
  result.extra["nb201_index"] = table_->index(*row);
  for (size_t c = 0; c < table_->columns().size(); ++c) {
    if (static_cast<int>(c) == column) continue;
    result.extra[table_->columns()[c]] = table_->value(*row, static_cast<int>(c));
  }
  return result;
}

}  // namespace nasforge::trainer
