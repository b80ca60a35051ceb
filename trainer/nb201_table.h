#pragma once
// NAS-Bench-201 (Dong & Yang, ICLR 2020) as a lookup table: every cell's recorded accuracies,
// read from benchmarks/nb201/nb201.csv.gz (or the plain CSV), and an Evaluator that "trains" a cell
// by looking its row up, so search strategies can be measured at no training cost. Free of
// LibTorch.
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "trainer/evaluator.h"
#include "trainer/nb201_cost.h"

namespace nasforge::trainer {

class Nb201Table {
 public:
  // Reads the CSV (columns index, arch, then accuracies in percent), gzip-compressed or plain;
  // throws DataError naming the file and line if it is missing, truncated or malformed.
  explicit Nb201Table(const std::string& path);

  // The accuracy columns, in file order (without "index" and "arch").
  const std::vector<std::string>& columns() const { return columns_; }
  // Position of a column in columns(), or -1.
  int column(const std::string& name) const;
  size_t size() const { return archs_.size(); }

  // Row of a canonical cell string, if the table holds it.
  std::optional<size_t> find(const std::string& arch) const;
  const std::string& arch(size_t row) const { return archs_[row]; }
  long index(size_t row) const { return indices_[row]; }
  double value(size_t row, int column) const {
    return values_[row * columns_.size() + static_cast<size_t>(column)];
  }
  // By name; throws DataError for an unknown cell or column.
  double value(const std::string& arch, const std::string& column) const;

 private:
  std::vector<std::string> columns_;
  std::vector<std::string> archs_;
  std::vector<long> indices_;
  std::vector<double> values_;  // row-major, size() x columns().size()
  std::unordered_map<std::string, size_t> rows_;
};

class Nb201TableEvaluator final : public Evaluator {
 public:
  static constexpr const char* kType = "nb201-table";
  // The table's full training: a trial of 200 epochs costs one full-training equivalent.
  static constexpr int kFullEpochs = 200;
  // The epochs behind a column: 12 for a *_12ep column, else kFullEpochs.
  static int epochs_of_column(const std::string& column);
  // Throws ConfigError unless every fidelity is one the table has (12 or 200 epochs).
  static void check_fidelities(const std::vector<int>& epochs, const std::string& where);

  // `column` is the reward, e.g. "cifar10_valid" or "cifar10_valid_12ep"; an unknown column is a
  // ConfigError that lists the valid ones.
  Nb201TableEvaluator(std::shared_ptr<const Nb201Table> table, const std::string& column);
  // From the experiment's "evaluator" object {"type", "path", "column"}; `path` is used as
  // given (resolve it against the experiment's folder before calling, if wanted).
  static std::unique_ptr<Nb201TableEvaluator> from_config(const nlohmann::json& config,
                                                          const std::string& where = "evaluator");

  std::string type() const override { return kType; }
  // Completed, with val_accuracy = column / 100, epochs 200 (12 for a *_12ep column), params
  // and flops of the benchmark's network for the column's dataset (nb201_network_cost; 0 for a
  // column of another dataset) and every other column in `extra` (in percent). Throws ConfigError
  // for an architecture of another space. context.hparams["epochs"] selects the fidelity: 12 reads
  // the column's *_12ep form, 200 the full one (other epochs: ConfigError); other hparams are
  // ignored (the table has one setting).
  TrialResult evaluate(const space::Architecture& arch, const TrialContext& context) override;

  const Nb201Table& table() const { return *table_; }
  const std::string& column_name() const { return column_name_; }
  // The column read for a fidelity of `epochs` (12 or 200); throws ConfigError otherwise.
  int column_for_epochs(int epochs) const;

 private:
  std::shared_ptr<const Nb201Table> table_;
  std::string column_name_;
  int column_;
  int epochs_;
  std::optional<Nb201Shape> shape_;  // the network the column's accuracies are of
};

}  // namespace nasforge::trainer
