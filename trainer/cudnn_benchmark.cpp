#include "trainer/cudnn_benchmark.h"

#include <ATen/Context.h>

#include <mutex>

namespace nasforge::trainer {
namespace {

std::mutex g_mutex;
int g_open = 0;        // scopes open now
bool g_saved = false;  // the process's value before the first of them opened

}  // namespace

CudnnBenchmarkScope::CudnnBenchmarkScope(bool enabled) {
  const std::lock_guard lock(g_mutex);
  if (g_open++ == 0) g_saved = at::globalContext().benchmarkCuDNN();
  at::globalContext().setBenchmarkCuDNN(enabled);
}

CudnnBenchmarkScope::~CudnnBenchmarkScope() {
  const std::lock_guard lock(g_mutex);
  if (--g_open == 0) at::globalContext().setBenchmarkCuDNN(g_saved);
}

}  // namespace nasforge::trainer
