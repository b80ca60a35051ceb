// Training throughput: nasforge's training step (trainer::TrainingSession, the loop that trials
// run) against the same step in eager PyTorch (eager.py), on the same networks from the block
// space, with synthetic CIFAR-shaped uint8 data resident on the device. The two are timed
// alternately, repeat by repeat, so that load from other processes hits both alike; the table
// shows the median of the repeats.
//
//   trainer_throughput [--quick] [--device auto|cpu|cuda] [--models resnet20,densenet]
//                      [--batches 256,512] [--precisions fp32,bf16,fp16]
//                      [--layouts auto|nchw|nhwc|both] [--data device,host,prefetch]
//                      [--steps N] [--warmup N] [--repeats N] [--python python3]
//                      [--torch-pythonpath DIR] [--script eager.py] [--no-eager]
//
// --data: where the training set lives. device (default): resident on the device, as the
// trainer does when it fits; host: on the host, each batch gathered and copied in its step;
// prefetch: on the host, batches gathered ahead by the BatchPrefetcher's oneTBB workers. Only
// "device" is compared with eager (whose data is resident); the host rows show what a set that
// does not fit costs, and how much of it prefetching hides.
//
// The Python side runs with PYTHONPATH=--torch-pythonpath (default: $NASFORGE_TORCH_PYTHONPATH,
// else /root/.cache/nasforge/torch-2.11.0), so both sides use the same PyTorch build.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "bench/common/bench_cli.h"
#include "common/errors.h"
#include "space/block_space.h"
#include "trainer/precision.h"
#include "trainer/training_loop.h"

namespace {

using namespace nasforge;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

struct Model {
  std::string name;
  const char* space;
  const char* arch;
};

// A ResNet-20-like candidate (3 basic stages of depth 3, widths 16/32/64, projection shortcuts)
// and a DenseNet-like one (3 dense stages of 6 layers, growth 12).
const std::vector<Model> kModels = {
    {"resnet20", R"({"type": "blocks", "stem_width": 16, "stages": [
       {"block": ["basic"], "depth": [3], "width": [16]},
       {"block": ["basic"], "depth": [3], "width": [32]},
       {"block": ["basic"], "depth": [3], "width": [64]}]})",
     "basic-d3-w16-k3/basic-d3-w32-k3/basic-d3-w64-k3"},
    {"densenet", R"({"type": "blocks", "stem_width": 24, "stages": [
       {"block": ["dense"], "depth": [6], "width": [48], "growth_rate": [12]},
       {"block": ["dense"], "depth": [6], "width": [96], "growth_rate": [12]},
       {"block": ["dense"], "depth": [6], "width": [192], "growth_rate": [12]}]})",
     "dense-d6-g12-w48-k3/dense-d6-g12-w96-k3/dense-d6-g12-w192-k3"},
};

struct Options {
  bool quick = false;
  std::string device = "auto";
  std::vector<std::string> models = {"resnet20", "densenet"};
  std::vector<int> batches;             // default per device
  std::vector<std::string> precisions;  // default per device
  std::string layouts = "auto";
  std::vector<std::string> data = {"device"};
  int steps = 0, warmup = 0, repeats = 0;  // default per device
  std::string python = "python3";
  std::string torch_pythonpath;
  std::string script = NASFORGE_EAGER_SCRIPT;
  bool eager = true;
};

constexpr const char* kAbout =
    "Training throughput: nasforge's training step against eager PyTorch";

void add_flags(CLI::App& app, Options& o) {
  const char* env = std::getenv("NASFORGE_TORCH_PYTHONPATH");
  o.torch_pythonpath = env && *env ? env : "/root/.cache/nasforge/torch-2.11.0";
  app.add_flag("--quick", o.quick, "a minute or two: fewer batches, precisions and steps");
  app.add_option("--device", o.device, "auto, cpu or cuda")->capture_default_str();
  bench::add_list(app, "--models", o.models, "resnet20, densenet", {"resnet20", "densenet"});
  bench::add_int_list(app, "--batches", o.batches,
                      "batch sizes (default: 256,512 on a GPU, 64,128 on the CPU)",
                      bench::Order::kAsGiven);
  bench::add_list(app, "--precisions", o.precisions,
                  "fp32, bf16, fp16 (default: all on a GPU, fp32,bf16 on the CPU)",
                  {"fp32", "bf16", "fp16"});
  app.add_option("--layouts", o.layouts, "auto, nchw, nhwc or both")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "nchw", "nhwc", "both"}));
  bench::add_list(app, "--data", o.data, "where the training set lives: device, host, prefetch",
                  {"device", "host", "prefetch"});
  bench::add_positive(app, "--steps", o.steps, "timed steps per repeat (default per device)");
  bench::add_positive(app, "--warmup", o.warmup, "untimed steps first (default per device)");
  bench::add_positive(app, "--repeats", o.repeats,
                      "alternating repeats; the table shows the median");
  app.add_option("--python", o.python, "the Python of the eager side")->capture_default_str();
  app.add_option("--torch-pythonpath", o.torch_pythonpath, "PYTHONPATH of the eager side")
      ->capture_default_str();
  app.add_option("--script", o.script, "the eager baseline")->capture_default_str();
  app.add_flag_callback(
      "--no-eager", [&o] { o.eager = false; }, "nasforge only");
}

// Fills in what the flags left to the device: large batches and all precisions on a GPU, small
// ones on the CPU; --quick cuts each to a minute or two.
void apply_device_defaults(Options& o, bool cuda) {
  if (o.batches.empty()) {
    o.batches = cuda ? (o.quick ? std::vector<int>{256} : std::vector<int>{256, 512})
                     : (o.quick ? std::vector<int>{64} : std::vector<int>{64, 128});
  }
  if (o.precisions.empty()) {
    o.precisions = cuda ? (o.quick ? std::vector<std::string>{"fp16"}
                                   : std::vector<std::string>{"fp32", "bf16", "fp16"})
                        : (o.quick ? std::vector<std::string>{"fp32"}
                                   : std::vector<std::string>{"fp32", "bf16"});
  }
  if (o.steps == 0) o.steps = cuda ? (o.quick ? 30 : 100) : (o.quick ? 4 : 10);
  if (o.warmup == 0) o.warmup = cuda ? 10 : (o.quick ? 1 : 2);
  if (o.repeats == 0) o.repeats = o.quick ? 2 : 3;
}

trainer::Precision parse_precision(const std::string& name) {
  if (name == "fp32") return trainer::Precision::kFp32;
  if (name == "bf16") return trainer::Precision::kBf16;
  if (name == "fp16") return trainer::Precision::kFp16;
  throw ConfigError("--precisions: unknown precision '" + name + "'; expected fp32, bf16 or fp16");
}

trainer::DataSplits synthetic_cifar(std::int64_t count) {
  trainer::DataSplits data;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(1);
  data.train.images =
      at::randint(256, {count, 3, 32, 32}, gen, at::TensorOptions().dtype(at::kByte));
  data.train.labels = at::randint(10, {count}, gen, at::TensorOptions().dtype(at::kLong));
  data.num_classes = 10;
  data.shape = {3, 32, 32};
  data.mean = {0.5f, 0.5f, 0.5f};
  data.std = {0.25f, 0.25f, 0.25f};
  data.natural_images = true;
  return data;
}

std::string quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// Runs eager.py and returns its RESULT object.
nlohmann::json run_eager(const Options& o, const std::string& args) {
  const std::string command = "PYTHONPATH=" + quoted(o.torch_pythonpath) +
                              " PYTHONWARNINGS=ignore " + quoted(o.python) + " " +
                              quoted(o.script) + " " + args + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) throw Error("cannot start " + o.python);
  std::string output, result;
  std::array<char, 4096> buffer{};
  while (std::fgets(buffer.data(), static_cast<int>(buffer.size()), pipe)) {
    const std::string line = buffer.data();
    output += line;
    if (line.rfind("RESULT ", 0) == 0) result = line.substr(7);
  }
  const int status = ::pclose(pipe);
  if (status != 0 || result.empty()) {
    throw Error("eager baseline failed (" + command + "):\n" + output);
  }
  return nlohmann::json::parse(result);
}

std::string fixed(double value, int decimals) {
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  return text;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const auto m = v.size() / 2;
  return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

// Every (layout, data placement) pair, layouts outermost.
std::vector<std::pair<bool, std::string>> combinations(const std::vector<bool>& layouts,
                                                       const std::vector<std::string>& data) {
  std::vector<std::pair<bool, std::string>> out;
  for (bool layout : layouts) {
    for (const auto& d : data) out.emplace_back(layout, d);
  }
  return out;
}

int run(Options& o) {
  const auto device = trainer::resolve_device(o.device);
  apply_device_defaults(o, device.is_cuda());
  std::vector<bool> layouts;
  if (o.layouts == "auto") layouts = {trainer::default_channels_last(device)};
  if (o.layouts == "nchw" || o.layouts == "both") layouts.push_back(false);
  if (o.layouts == "nhwc" || o.layouts == "both") layouts.push_back(true);

  const int threads = at::get_num_threads();
  std::cout << "device " << device.str() << ", " << threads << " CPU threads, " << o.steps
            << " timed steps after " << o.warmup << " warm-up, median of " << o.repeats
            << " alternating repeats\n";
  std::ostringstream table;
  char line[256];
  std::snprintf(line, sizeof line, "%-9s %5s %-9s %-6s %-6s %-8s %15s %12s %6s\n", "model", "batch",
                "precision", "layout", "device", "data", "nasforge img/s", "eager img/s", "ratio");
  table << line;
  bool params_match = true;

  for (const auto& model_name : o.models) {
    const auto model = std::find_if(kModels.begin(), kModels.end(),
                                    [&](const Model& m) { return m.name == model_name; });
    if (model == kModels.end()) {
      throw ConfigError("--models: unknown model '" + model_name +
                        "'; expected resnet20 or densenet");
    }
    const space::BlockSpace space(nlohmann::json::parse(model->space));
    const auto arch = space.parse(model->arch);
    const auto arch_file =
        fs::temp_directory_path() /
        ("nasforge-throughput-" + std::to_string(::getpid()) + "-" + model->name + ".json");
    {
      nlohmann::json spec = {{"space", space.config()},
                             {"architecture", space.to_json(arch)},
                             {"canonical", arch.canonical()},
                             {"stem_width", space.stem_width()},
                             {"input", {{"channels", 3}, {"height", 32}, {"width", 32}}},
                             {"num_classes", 10}};
      for (const auto& st : space.stages(arch)) {
        spec["stages"].push_back({{"block", space::to_string(st.block)},
                                  {"depth", st.depth},
                                  {"width", st.width},
                                  {"growth_rate", st.growth_rate},
                                  {"kernel", st.kernel}});
      }
      std::ofstream(arch_file) << spec.dump(2);
    }
    const auto params = space::build_network(space, arch, {3, 32, 32}, 10)->parameter_count();
    std::cout << model->name << " (" << arch.canonical() << "): nasforge " << params
              << " parameters";
    if (o.eager) {
      const auto eager_params =
          run_eager(o, "--arch " + quoted(arch_file.string()) + " --params-only")
              .at("params")
              .get<std::int64_t>();
      std::cout << ", eager " << eager_params
                << (eager_params == params ? " (equal)" : " (DIFFERENT)");
      params_match = params_match && eager_params == params;
    }
    std::cout << std::endl;

    for (const auto& precision_name : o.precisions) {
      const auto precision = parse_precision(precision_name);
      for (int batch : o.batches) {
        for (const auto& [channels_last, data_mode] : combinations(layouts, o.data)) {
          const bool compare = o.eager && data_mode == "device";
          const auto data = synthetic_cifar(8LL * batch);
          trainer::TrainConfig config;
          config.batch_size = batch;
          config.epochs = 1000;  // the schedule barely moves over a benchmark's steps
          config.precision = precision;
          at::manual_seed(0);
          auto network = space::build_network(space, arch, data.shape, data.num_classes);
          trainer::DeviceTuning tuning;
          tuning.channels_last = channels_last;
          tuning.resident_data = data_mode == "device";
          if (data_mode == "host") tuning.prefetch_batches = 0;
          trainer::TrainingSession session(*network, data, config, device, 0, tuning);
          session.run_steps(o.warmup);
          session.synchronize();
          std::vector<double> ours, eager;
          for (int r = 0; r < o.repeats; ++r) {
            const auto started = Clock::now();
            session.run_steps(o.steps);
            session.synchronize();
            const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
            ours.push_back(static_cast<double>(o.steps) * batch / seconds);
            if (!compare) continue;
            std::ostringstream args;
            args << "--arch " << quoted(arch_file.string()) << " --device " << device.str()
                 << " --precision " << precision_name << " --channels-last " << channels_last
                 << " --batch " << batch << " --warmup " << o.warmup << " --steps " << o.steps
                 << " --threads " << threads;
            const auto result = run_eager(o, args.str());
            eager.push_back(result.at("images_per_second").get<double>());
            if (result.at("params").get<std::int64_t>() != params) params_match = false;
          }
          const double ours_median = median(ours);
          const double eager_median = eager.empty() ? 0.0 : median(eager);
          std::snprintf(
              line, sizeof line, "%-9s %5d %-9s %-6s %-6s %-8s %15.1f %12s %6s\n",
              model->name.c_str(), batch,
              trainer::to_string(trainer::effective_precision(precision, device.type())).c_str(),
              channels_last ? "nhwc" : "nchw", device.is_cuda() ? "cuda" : "cpu", data_mode.c_str(),
              ours_median, eager.empty() ? "-" : fixed(eager_median, 1).c_str(),
              eager.empty() ? "-" : fixed(ours_median / eager_median, 2).c_str());
          table << line;
          std::cout << line << std::flush;
        }
      }
    }
    fs::remove(arch_file);
  }
  std::cout << "\n" << table.str();
  if (!params_match) {
    std::cout
        << "parameter counts differ between nasforge and eager.py: the networks do not match\n";
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return nasforge::bench::run_main<Options>(argc, argv, "trainer_throughput", kAbout, add_flags,
                                            run);
}
