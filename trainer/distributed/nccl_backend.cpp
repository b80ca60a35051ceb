// The NCCL process group, compiled only where CMake found NCCL and LibTorch's CUDA libraries
// (NASFORGE_WITH_NCCL); process_group.cpp calls it for CUDA devices.
#ifdef NASFORGE_WITH_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>

namespace nasforge::trainer::distributed {

c10::intrusive_ptr<c10d::Backend> make_nccl_backend(const c10::intrusive_ptr<c10d::Store>& store,
                                                    int rank, int size,
                                                    std::chrono::milliseconds timeout) {
  auto options = c10d::ProcessGroupNCCL::Options::create();
  options->timeout = timeout;
  return c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, size, options);
}

}  // namespace nasforge::trainer::distributed
#endif
