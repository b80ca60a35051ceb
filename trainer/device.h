#pragma once
// Device names from experiment files and flags ("auto", "cpu", "cuda", "cuda:N"), checked
// against the machine once, before any trial spends budget on a device that does not exist.
#include <string>
#include <vector>

#include <c10/core/Device.h>

namespace nasforge::trainer {

// The device `name` on a machine with `cuda_devices` GPUs: "auto" is cuda:0 when there is a GPU
// and the CPU otherwise; "cuda" is cuda:0 (never LibTorch's index -1, which compares unequal to
// every GPU tensor's device); "cuda:N" needs N < cuda_devices. Throws ConfigError naming the
// device and the GPUs there are.
c10::Device parse_device(const std::string& name, int cuda_devices);

// parse_device on this machine.
c10::Device resolve_device(const std::string& name);

// Every name of `names` (worker slots' devices) exists here; one ConfigError otherwise.
void check_devices(const std::vector<std::string>& names);

}  // namespace nasforge::trainer
