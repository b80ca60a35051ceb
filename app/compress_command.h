#pragma once
// `nasforge compress`: prunes, distils and/or quantizes (int8, post-training or quantization-aware)
// a recorded trial's network, evaluates it, writes it in the formats of `nasforge export` (plus
// the QDQ model_int8.onnx when quantized) and records the run in the database.
#include <iosfwd>
#include <string>

namespace nasforge::app {

// The flags as typed (checked by run_compress, which names the flag in its one-line errors).
struct CompressFlags {
  std::string db;
  std::string trial = "best";  // an ordinal or best
  std::string out;
  std::string methods = "prune";  // prune, distill, ptq or qat, in that order (ptq or qat)
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
  std::string seed;                        // empty: the experiment's
  std::string calibration_batches = "32";  // ptq/qat: training batches the observers see
  std::string qat_epochs = "1";
  std::string qat_lr;               // empty: 0.01 x the search's
  std::string weight_range = "63";  // int8 weights in [-R, R] (63: no 16-bit overflow on AVX2)
  std::string ort_threads = "1";    // ONNX Runtime intra-op threads for the latencies
};

// Throws ConfigError (bad flags, a teacher that does not fit, a trial without weights),
// StoreError or DataError before anything is recorded; the database gains one row at the end.
void run_compress(const CompressFlags& flags, std::ostream& out);

}  // namespace nasforge::app
