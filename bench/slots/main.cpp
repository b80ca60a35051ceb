// slots_bench: the wall time of a fixed set of equal trials run one after the other (one worker
// slot, the trial on all the CPU threads) and side by side (N slots, each trial on one intra-op
// thread), through the search's TrialExecutor as `nasforge run --workers N` runs them. Prints
// each run's wall time with the cores it and other processes kept busy, each trial's start and
// end (the slots' trials must overlap) and the intra-op threads it saw, then the fastest run of
// each mode and their ratio (issue #13's target on a 2-core machine: at most 0.6).
//
//   slots_bench [--trials 4] [--slots 2] [--epochs 1] [--train-subset 3000] [--val-subset 1000]
//               [--batch 64]
//               [--arch basic-d1-w16-k3/basic-d1-w32-k3] [--dataset PATH | --synthetic]
//               [--serial-threads 0] [--modes serial,slots] [--repeats 2] [--no-warmup]
#include <ATen/Parallel.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "bench/common/bench_cli.h"
#include "search/trial_executor.h"
#include "space/block_space.h"
#include "trainer/torch_evaluator.h"

using namespace nasforge;

namespace {

using Clock = std::chrono::steady_clock;

struct Args {
  int trials = 4;
  int slots = 2;
  int epochs = 1;
  int train_subset = 3000;
  int val_subset = 1000;  // Fashion-MNIST's validation split is 6,000: evaluation would dominate
  int batch = 64;
  std::string arch = "basic-d1-w16-k3/basic-d1-w32-k3";
  std::string dataset = "/usr/share/datasets/fashion-mnist";
  bool synthetic = false;
  int serial_threads = 0;  // 0: all cores, as a one-worker `nasforge run`
  bool warmup = true;
  int repeats = 2;
  std::vector<std::string> modes = {"serial", "slots"};
};

// What each trial saw: when it started and ended (seconds since the mode began) and its
// intra-op threads.
struct TrialSpan {
  double start = 0;
  double end = 0;
  int threads = 0;
  double accuracy = 0;
  double epoch_seconds = 0;  // in the epochs (training and validation); the rest is set-up
  std::string state;
};

// Wraps the real evaluator to record each trial's span.
class Timed final : public trainer::Evaluator {
 public:
  explicit Timed(trainer::Evaluator& inner) : inner_(inner) {}
  std::string type() const override { return inner_.type(); }
  TrialResult evaluate(const space::Architecture& arch,
                       const trainer::TrialContext& context) override {
    TrialSpan span;
    span.threads = at::get_num_threads();
    span.start = seconds_since(origin_);
    auto timed_context = context;
    timed_context.on_epoch = [&span, &context](const EpochRecord& epoch) {
      span.epoch_seconds += epoch.seconds;
      return context.on_epoch ? context.on_epoch(epoch) : true;
    };
    auto result = inner_.evaluate(arch, timed_context);
    span.end = seconds_since(origin_);
    span.accuracy = result.val_accuracy;
    span.state = to_string(result.state);
    const std::lock_guard lock(mutex_);
    spans_[context.trial_id] = span;
    return result;
  }
  void restart() {
    origin_ = Clock::now();
    spans_.clear();
  }
  const std::map<std::int64_t, TrialSpan>& spans() const { return spans_; }

 private:
  static double seconds_since(Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
  }
  trainer::Evaluator& inner_;
  Clock::time_point origin_ = Clock::now();
  std::mutex mutex_;
  std::map<std::int64_t, TrialSpan> spans_;
};

// Runs `trials` equal trials through a TrialExecutor of `workers` slots; the wall time.
double run_mode(Timed& timed, const space::Architecture& arch, int trials, int workers) {
  search::ParallelOptions parallel;
  parallel.workers = workers;
  search::TrialExecutor executor(timed, parallel);
  timed.restart();
  const auto started = Clock::now();
  int submitted = 0, finished = 0;
  while (finished < trials) {
    while (submitted < trials && executor.has_free_slot()) {
      auto trial = std::make_unique<search::RunningTrial>(submitted + 1, submitted + 1,
                                                          search::TrialPlan(arch));
      trial->context.trial_id = submitted + 1;
      trial->context.seed = 7;  // equal trials: the same work in every one
      executor.submit(std::move(trial));
      ++submitted;
    }
    executor.next_finished();
    ++finished;
  }
  return std::chrono::duration<double>(Clock::now() - started).count();
}

// The machine's load (other processes share the cores and skew the figures): /proc/loadavg's
// 1-minute average, or -1 where there is none.
double load_average() {
  double load = -1;
  if (std::FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf", &load) != 1) load = -1;
    std::fclose(f);
  }
  return load;
}

// Core-seconds used so far: by this process (getrusage), and by the whole machine (/proc/stat's
// busy jiffies; -1 where there is none). Their difference over a mode is what other processes
// took from the cores while it ran.
struct CpuTimes {
  double process = 0;
  double machine = -1;
  static CpuTimes now() {
    CpuTimes t;
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    t.process = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                1e-6 * static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec);
    if (std::FILE* f = std::fopen("/proc/stat", "r")) {
      unsigned long long user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, soft = 0;
      if (std::fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu", &user, &nice, &system, &idle,
                      &iowait, &irq, &soft) == 7) {
        t.machine = static_cast<double>(user + nice + system + irq + soft) /
                    static_cast<double>(sysconf(_SC_CLK_TCK));
      }
      std::fclose(f);
    }
    return t;
  }
};

void print_spans(const Timed& timed) {
  for (const auto& [id, span] : timed.spans()) {
    std::printf("    trial %lld: %5.1f s -> %5.1f s (in epochs %.1f s)  threads %d  %s  val %.3f\n",
                static_cast<long long>(id), span.start, span.end, span.epoch_seconds, span.threads,
                span.state.c_str(), span.accuracy);
  }
}

int run(const Args& args) {
  if (args.slots < 2) throw ConfigError("--slots: at least 2 (1 is the serial run)");
  space::BlockSpace space(nlohmann::json::parse(R"({"type": "blocks", "stem_width": 16, "stages": [
    {"block": ["basic", "bottleneck"], "depth": [1, 2], "width": [16, 32, 64]},
    {"block": ["basic", "bottleneck"], "depth": [1, 2], "width": [16, 32, 64]}]})"));
  const auto arch = space.parse(args.arch);

  auto data = std::make_shared<trainer::DataSplits>();
  if (args.synthetic) {
    data->train = trainer::make_synthetic(args.train_subset, 1, 28, 10, 1);
    data->validation = trainer::make_synthetic(args.val_subset, 1, 28, 10, 2);
    data->test = data->validation;
    data->num_classes = 10;
    data->shape = {1, 28, 28};
    data->mean = {0.5f};
    data->std = {0.25f};
  } else {
    trainer::DatasetSpec spec;
    spec.path = args.dataset;
    spec.train_subset = args.train_subset;
    *data = trainer::load_splits(spec);
    if (data->validation.size() > args.val_subset) {
      data->validation = {data->validation.images.narrow(0, 0, args.val_subset).contiguous(),
                          data->validation.labels.narrow(0, 0, args.val_subset).contiguous()};
    }
  }
  trainer::TrainConfig config;
  config.epochs = args.epochs;
  config.batch_size = args.batch;
  config.device = "cpu";
  config.threads = args.serial_threads;
  trainer::TorchEvaluator evaluator(space, data, config);
  const int default_threads = at::get_num_threads();
  Timed timed(evaluator);

  std::printf(
      "slots_bench: %d trials of %s, %d epoch(s), %lld training and %lld validation "
      "images, batch %d; %u cores, load %.2f\n",
      args.trials, arch.canonical().c_str(), args.epochs,
      static_cast<long long>(data->train.size()), static_cast<long long>(data->validation.size()),
      args.batch, std::thread::hardware_concurrency(), load_average());
  if (args.warmup) {
    // One trial first, untimed: the first trial of a process pays for oneDNN's kernels and the
    // allocator's first blocks, which would otherwise be charged to whichever mode runs first.
    const double seconds = run_mode(timed, arch, 1, 1);
    std::printf("  warm-up trial: %.1f s\n", seconds);
  }
  std::fflush(stdout);
  // Each mode `repeats` times, interleaved; the fastest run of each counts (other processes on
  // the cores only ever slow a run down; their share is printed with each).
  std::map<std::string, double> best;
  for (int repeat = 1; repeat <= args.repeats; ++repeat) {
    for (const auto& mode : args.modes) {
      const int workers = mode == "serial" ? 1 : args.slots;
      const auto before = CpuTimes::now();
      const double wall = run_mode(timed, arch, args.trials, workers);
      const auto after = CpuTimes::now();
      at::set_num_threads(default_threads);  // the slots' threads may have changed it
      const double ours = after.process - before.process;
      const double others =
          before.machine < 0 ? -1.0 : (after.machine - before.machine - ours) / wall;
      std::printf("  %-6s (%d slot%s), run %d: %.1f s; cores busy: ours %.2f, others %.2f%s\n",
                  mode.c_str(), workers, workers > 1 ? "s" : "", repeat, wall, ours / wall, others,
                  others > 0.25 ? " (contended: not representative)" : "");
      print_spans(timed);
      std::fflush(stdout);
      if (!best.count(mode) || wall < best[mode]) best[mode] = wall;
    }
  }
  if (best.count("serial") && best.count("slots")) {
    std::printf(
        "  fastest: serial %.1f s, slots %.1f s; ratio slots/serial: %.2f (target <= 0.60)\n",
        best["serial"], best["slots"], best["slots"] / best["serial"]);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return bench::run_main<Args>(
      argc, argv, "slots_bench",
      "Wall time of equal trials run serially and in worker slots (nasforge run --workers N)",
      [](CLI::App& app, Args& a) {
        bench::add_positive(app, "--trials", a.trials, "equal trials per mode");
        bench::add_positive(app, "--slots", a.slots, "worker slots of the parallel mode");
        bench::add_positive(app, "--repeats", a.repeats, "runs of each mode (the fastest counts)");
        bench::add_positive(app, "--epochs", a.epochs, "epochs per trial");
        bench::add_positive(app, "--train-subset", a.train_subset, "training images");
        bench::add_positive(app, "--val-subset", a.val_subset, "validation images");
        bench::add_positive(app, "--batch", a.batch, "batch size");
        app.add_option("--arch", a.arch, "the trials' architecture")->capture_default_str();
        app.add_option("--dataset", a.dataset, "Fashion-MNIST (IDX) folder")->capture_default_str();
        app.add_flag("--synthetic", a.synthetic, "synthetic images instead of Fashion-MNIST");
        app.add_option("--serial-threads", a.serial_threads,
                       "intra-op threads of the serial run (0: all cores)")
            ->capture_default_str();
        app.add_flag("!--no-warmup", a.warmup, "time the first trial of the process too");
        bench::add_list(app, "--modes", a.modes, "modes to run, in order", {"serial", "slots"});
      },
      run);
}
