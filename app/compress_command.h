#pragma once
// `nasforge compress`: prunes and/or distils a recorded trial's network, evaluates it, writes it
// in the formats of `nasforge export` and records the run in the database.
#include <iosfwd>
#include <string>

namespace nasforge::app {

// The flags as typed (checked by run_compress, which names the flag in its one-line errors).
struct CompressFlags {
  std::string db;
  std::string trial = "best";  // an ordinal or best
  std::string out;
  std::string methods = "prune";  // prune, distill, or prune,distill
  std::string prune_ratio = "0.5";
  std::string prune_target = "flops";
  std::string ranking = "l1";
  std::string sparsity = "0";
  std::string epochs = "1";
  std::string teacher = "best";  // an ordinal or best
  std::string teacher_db;        // empty: --db
  std::string alpha = "0.9";
  std::string temperature = "4";
  std::string learning_rate;  // empty: 0.1 x the search's to fine-tune, the search's from scratch
  std::string onnx = "auto";
};

// Throws ConfigError (bad flags, a teacher that does not fit, a trial without weights),
// StoreError or DataError before anything is recorded; the database gains one row at the end.
void run_compress(const CompressFlags& flags, std::ostream& out);

}  // namespace nasforge::app
