// The NCCL process group, compiled only where CMake found NCCL and LibTorch's CUDA libraries
// (NASFORGE_WITH_NCCL); process_group.cpp calls it for CUDA devices.
#ifdef NASFORGE_WITH_NCCL
#include <c10/cuda/CUDAFunctions.h>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>

#include <cstdlib>

namespace nasforge::trainer::distributed {

c10::intrusive_ptr<c10d::Backend> make_nccl_backend(const c10::intrusive_ptr<c10d::Store>& store,
                                                    int rank, int size,
                                                    std::chrono::milliseconds timeout,
                                                    c10::Device device) {
  // A collective past the timeout: the watchdog aborts the communicators and the next collective
  // raises (a CollectiveError naming the rank), instead of PyTorch's default of tearing the
  // process down from the watchdog thread. A value set by the user is kept.
  ::setenv("TORCH_NCCL_ASYNC_ERROR_HANDLING", "2", /*overwrite=*/0);
  // This rank's GPU, not GPU 0: NCCL creates its communicator (and CUDA its context) on the
  // current device, and a bound device lets NCCL connect eagerly on the right one.
  c10::cuda::set_device(device.index());
  auto options = c10d::ProcessGroupNCCL::Options::create();
  options->timeout = timeout;
  auto backend = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, size, options);
  backend->setBoundDeviceId(device);
  return backend;
}

}  // namespace nasforge::trainer::distributed
#endif
