#include "search/parallel_options.h"

#include <torch/cuda.h>

#include <sstream>

#include "common/errors.h"
#include "common/json_config.h"

namespace nasforge::search {

namespace cfg = nasforge::config;

std::vector<std::string> parse_device_list(const std::string& text, const std::string& where) {
  std::vector<std::string> devices;
  if (text == "all") {
    const auto count = static_cast<int>(torch::cuda::device_count());
    for (int i = 0; i < count; ++i) devices.push_back("cuda:" + std::to_string(i));
    return devices;
  }
  std::istringstream in(text);
  std::string device;
  while (std::getline(in, device, ',')) {
    if (device != "cpu" && device.rfind("cuda", 0) != 0) {
      throw ConfigError(where + ": unknown device '" + device + "'; expected cpu, cuda:N or all");
    }
    devices.push_back(device);
  }
  if (devices.empty()) throw ConfigError(where + ": expected at least one device");
  return devices;
}

ParallelOptions ParallelOptions::from_json(const nlohmann::json& j, const std::string& where) {
  cfg::require_object(j, where);
  cfg::reject_unknown_keys(j, where, {"workers", "devices", "pipeline"});
  ParallelOptions o;
  if (j.contains("pipeline")) {
    const auto& p = j.at("pipeline");
    const auto at = where + ".pipeline";
    cfg::require_object(p, at);
    cfg::reject_unknown_keys(p, at, {"stages", "micro_batches", "balance"});
    PipelineParallel pipeline;
    if (p.contains("stages")) {
      pipeline.stages =
          cfg::in_range(cfg::optional<int>(p, "stages", at, 0), 2, 1 << 16, at + ".stages");
    }
    pipeline.micro_batches = cfg::in_range(cfg::optional<int>(p, "micro_batches", at, 4), 1,
                                           1 << 20, at + ".micro_batches");
    pipeline.balance = cfg::optional<std::string>(p, "balance", at, "flops");
    if (pipeline.balance != "flops" && pipeline.balance != "parameters") {
      throw ConfigError(at + ".balance: unknown '" + pipeline.balance +
                        "'; expected flops or parameters");
    }
    o.pipeline = pipeline;
  }
  if (j.contains("devices")) {
    const auto& d = j.at("devices");
    if (d.is_string()) {
      o.devices = parse_device_list(d.get<std::string>(), where + ".devices");
    } else {
      for (const auto& name : cfg::list_of<std::string>(d, where + ".devices")) {
        auto one = parse_device_list(name, where + ".devices");
        o.devices.insert(o.devices.end(), one.begin(), one.end());
      }
    }
  }
  const int fallback = o.devices.empty() ? 1 : static_cast<int>(o.devices.size());
  o.workers =
      cfg::in_range(cfg::optional<int>(j, "workers", where, fallback), 1, 1024, where + ".workers");
  return o;
}

nlohmann::json ParallelOptions::to_json() const {
  nlohmann::json j = {{"workers", workers}};
  if (!devices.empty()) j["devices"] = devices;
  if (pipeline) {
    j["pipeline"] = {{"micro_batches", pipeline->micro_batches}, {"balance", pipeline->balance}};
    if (pipeline->stages > 0) j["pipeline"]["stages"] = pipeline->stages;
  }
  return j;
}

bool ParallelOptions::is_default() const { return workers == 1 && devices.empty() && !pipeline; }

std::string ParallelOptions::device_of(int slot) const {
  if (devices.empty()) return "";
  return devices[static_cast<size_t>(slot) % devices.size()];
}

}  // namespace nasforge::search
