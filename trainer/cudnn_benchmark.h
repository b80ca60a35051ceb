#pragma once
// cuDNN's benchmark flag (autotuned convolution algorithms) is one setting for the whole process,
// while trials train side by side on threads. A session saving the flag on entry and restoring it
// on exit would race: the first to finish would switch it back under a trial still running.
// Scopes are counted instead: the first to open saves the process's value, each sets the value it
// asks for, and the last to close restores the saved one.
namespace nasforge::trainer {

class CudnnBenchmarkScope {
 public:
  explicit CudnnBenchmarkScope(bool enabled);
  ~CudnnBenchmarkScope();
  CudnnBenchmarkScope(const CudnnBenchmarkScope&) = delete;
  CudnnBenchmarkScope& operator=(const CudnnBenchmarkScope&) = delete;
};

}  // namespace nasforge::trainer
