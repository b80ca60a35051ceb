#include "tests/nasforge_catch.h"

#include <ATen/Context.h>

#include <optional>

#include "common/errors.h"
#include "trainer/cudnn_benchmark.h"
#include "trainer/device.h"

using namespace nasforge;
using trainer::parse_device;

TEST_CASE("device names resolve against the GPUs there are", "[trainer]") {
  CHECK(parse_device("auto", 0) == c10::Device(c10::kCPU));
  CHECK(parse_device("auto", 2) == c10::Device(c10::kCUDA, 0));
  CHECK(parse_device("cpu", 2) == c10::Device(c10::kCPU));
  // Without an index LibTorch's Device says cuda:-1, unequal to every GPU tensor's device.
  const auto cuda = parse_device("cuda", 1);
  CHECK(cuda.has_index());
  CHECK(cuda == c10::Device(c10::kCUDA, 0));
  CHECK(parse_device("cuda:1", 2) == c10::Device(c10::kCUDA, 1));
}

TEST_CASE("a GPU that is not there, or a malformed name, is refused naming it", "[trainer]") {
  CHECK_THROWS_AS(parse_device("cuda:2", 2), ConfigError);
  CHECK_THROWS_WITH(parse_device("cuda:2", 2),
                    Catch::Contains("'cuda:2'") && Catch::Contains("2 GPUs, cuda:0 to cuda:1"));
  CHECK_THROWS_WITH(parse_device("cuda", 0), Catch::Contains("CUDA is not available"));
  CHECK_THROWS_WITH(parse_device("cuda:1", 1), Catch::Contains("1 GPU, cuda:0"));
  for (const auto* bad : {"cuda:", "cuda:-1", "cuda:x", "cuda:1:2", "gpu", "cudax"}) {
    CAPTURE(bad);
    CHECK_THROWS_AS(parse_device(bad, 4), ConfigError);
  }
}

TEST_CASE("trials side by side leave cuDNN's benchmark flag as the process had it", "[trainer]") {
  auto& context = at::globalContext();
  const bool original = context.benchmarkCuDNN();
  context.setBenchmarkCuDNN(false);
  {
    // Trial A starts, trial B starts, A ends while B still trains, then B ends. Saving on entry
    // and restoring on exit would switch the flag off under B and leave it on at the end.
    std::optional<trainer::CudnnBenchmarkScope> a(std::in_place, true);
    std::optional<trainer::CudnnBenchmarkScope> b(std::in_place, true);
    CHECK(context.benchmarkCuDNN());
    a.reset();
    CHECK(context.benchmarkCuDNN());
    b.reset();
    CHECK_FALSE(context.benchmarkCuDNN());
  }
  context.setBenchmarkCuDNN(original);
}
