// The [gpu] tests' own main: on a machine without CUDA every test entry exits with 77, which
// ctest reports as skipped (SKIP_RETURN_CODE), instead of passing with nothing checked. Listing
// the tests (ctest's discovery) works everywhere.
#define CATCH_CONFIG_RUNNER
#include "tests/nasforge_catch.h"

#include <torch/cuda.h>

#include <cstdio>
#include <string>

int main(int argc, char** argv) {
  bool listing = false;
  for (int i = 1; i < argc; ++i) {
    listing = listing || std::string(argv[i]).rfind("--list", 0) == 0;
  }
  if (!listing && !torch::cuda::is_available()) {
    std::puts("SKIPPED: no CUDA device on this machine (the [gpu] tests need one)");
    return 77;
  }
  return Catch::Session().run(argc, argv);
}
