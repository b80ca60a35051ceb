#include "app/cli.h"

#include <CLI/CLI.hpp>

#include <cstdint>
#include <iostream>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <unistd.h>

#include "app/commands.h"
#include "app/compress_command.h"
#include "app/data_command.h"
#include "app/launch.h"
#include "app/report_command.h"
#include "app/status_watch.h"
#include "app/trials_command.h"
#include "common/errors.h"
#include "common/log.h"

namespace nasforge::app {

namespace {

namespace s = nasforge::search;

constexpr const char* kCommands =
    "run, launch, resume, status, trials, report, export, compress, evaluate or data";

// What a command line can hold; each command reads its own fields. Numbers stay text until
// checked (CLI11's own conversion would read "010" as octal).
struct Values {
  std::string config, db, out, onnx = "auto", model, split = "test", devices, workers, nproc;
  std::string group_size, attempts, heartbeat_timeout;
  bool launch_resume = false;
  std::string format, path, image_size, channels;
  std::string interval = "2", table_format = "csv";
  std::string max_params, max_flops;
  bool quiet = false, watch = false, per_epoch = false;
};

// The program's verbs and flags, bound to a Values.
struct Cli {
  CLI::App app{"A neural architecture search engine on LibTorch.", "nasforge"};
  Values v;
  CLI::App *run, *launch, *resume, *status, *exporter, *evaluate, *data, *inspect;
  CLI::App* report;
  CLI::Option* report_out;
  CLI::App* trials;
  CLI::App* compress;
  CompressFlags compress_flags;
  CLI::Option *interval, *trials_out;
  CLI::Option *max_params, *max_flops;
  CLI::Option *run_db, *launch_db, *workers, *devices, *format, *path, *image_size, *channels;
};

// A whole number of at most `digits` digits, and at least `min`.
CLI::Validator whole_number(int min, size_t digits) {
  const std::string expected = min > 0 ? "a positive integer" : "a whole number";
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        if (text.empty() || text.size() > digits ||
            text.find_first_not_of("0123456789") != std::string::npos || std::stoi(text) < min) {
          return "'" + text + "': expected " + expected;
        }
        return "";
      },
      "");
}

// Seconds: a positive decimal number, at most a day.
CLI::Validator positive_seconds() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        size_t used = 0;
        double seconds = 0;
        try {
          seconds = std::stod(text, &used);
        } catch (const std::exception&) {
          used = 0;
        }
        if (used == 0 || used != text.size() || !(seconds > 0) || seconds > 86400) {
          return "'" + text + "': expected seconds, a number above 0 and at most 86400";
        }
        return "";
      },
      "");
}

// A parameter or FLOP limit: a positive whole number (1500000 or 1.5e6).
CLI::Validator count_limit() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        size_t used = 0;
        double value = 0;
        try {
          value = std::stod(text, &used);
        } catch (const std::exception&) {
          used = 0;
        }
        if (used == 0 || used != text.size() || !(value >= 1) || value > 9e18 ||
            value != static_cast<double>(static_cast<std::int64_t>(value))) {
          return "'" + text + "': expected a positive whole number (e.g. 1500000 or 1.5e6)";
        }
        return "";
      },
      "");
}

std::optional<std::int64_t> count(const CLI::Option* option, const std::string& text) {
  if (option->count() == 0) return std::nullopt;
  return static_cast<std::int64_t>(std::stod(text));  // count_limit checked it
}

CLI::App* command(CLI::App& app, Values& v, const std::string& name, const std::string& summary,
                  const std::string& details) {
  auto* sub = app.add_subcommand(name, summary);
  sub->footer(details);
  sub->group("Commands");
  // Extras are reported by report_extras, in one line that names the command.
  sub->allow_extras();
  sub->add_flag("--quiet", v.quiet, "Log warnings and errors only");
  return sub;
}

void build(Cli& c) {
  auto& app = c.app;
  auto& v = c.v;
  app.require_subcommand(0, 1);
  app.allow_extras();
  app.get_formatter()->column_width(30);
  app.get_formatter()->label("SUBCOMMAND", "COMMAND");
  app.footer("Run `nasforge <command> --help` for a command's options.");

  c.run = command(app, v, "run", "Start a search described by an experiment file",
                  "Starts the search in the experiment file CONFIG and records it in the database\n"
                  "(default runs/<config name>.db). Fails if the database exists: use resume.");
  c.run->add_option("CONFIG", v.config, "The experiment file (JSON)")->type_name("")->required();
  c.run_db = c.run->add_option("--db", v.db, "The database to create")->type_name("PATH");
  c.workers = c.run
                  ->add_option("--workers", v.workers,
                               "Run N trials side by side (CPU cores are shared between them)")
                  ->type_name("N")
                  ->check(whole_number(1, 4));
  c.devices = c.run
                  ->add_option("--devices", v.devices,
                               "cuda:0,cuda:1 (or all): gives each worker slot its own GPU")
                  ->type_name("LIST");

  c.launch = command(app, v, "launch", "Run the search as N local data-parallel ranks",
                     "Starts N local processes of `nasforge run CONFIG` (or `resume --db DB`) as\n"
                     "one job (MASTER_ADDR=127.0.0.1, a free MASTER_PORT, RANK, WORLD_SIZE,\n"
                     "LOCAL_RANK). Each trial is trained data-parallel over all ranks, or with\n"
                     "--group-size G over G ranks, N/G trials at once (trial groups); a group\n"
                     "whose rank dies is dropped and its trial given to another group.\n"
                     "Fails naming the first rank that exits non-zero (with groups: rank 0).");
  c.launch->add_option("CONFIG", v.config, "The experiment file (JSON); not with --resume")
      ->type_name("");
  c.launch->add_option("--nproc", v.nproc, "The number of ranks (1 to 1024)")
      ->type_name("N")
      ->required()
      ->check(whole_number(1, 4));
  c.launch_db =
      c.launch->add_option("--db", v.db, "The database to create (or resume)")->type_name("PATH");
  c.launch->add_flag("--resume", v.launch_resume, "Continue the search in --db");
  c.launch->add_option("--group-size", v.group_size, "Ranks per trial (a divisor of N; default N)")
      ->type_name("G")
      ->check(whole_number(1, 4));
  c.launch->add_option("--attempts", v.attempts, "Groups a trial is given to before it fails (2)")
      ->type_name("K")
      ->check(whole_number(1, 3));
  c.launch
      ->add_option("--heartbeat-timeout", v.heartbeat_timeout,
                   "Seconds of silence after which a group is dropped (30)")
      ->type_name("S")
      ->check(whole_number(1, 5));

  c.resume = command(app, v, "resume", "Continue a stopped search to its budget",
                     "Continues the search in the database to its budget; trials that were\n"
                     "running when it stopped are run again, finished ones are kept.");
  c.resume->add_option("--db", v.db, "The search's database")->type_name("PATH")->required();

  c.status = command(app, v, "status", "Show the trials and the best so far (works while running)",
                     "Prints the experiment's trials and the best one.");
  c.status->add_option("--db", v.db, "The search's database")->type_name("PATH")->required();
  c.status->add_flag("--watch", v.watch,
                     "Print the status again every --interval seconds until the search ends\n"
                     "(clearing the screen on a terminal)");
  c.interval = c.status->add_option("--interval", v.interval, "Seconds between prints (default 2)")
                   ->type_name("S")
                   ->check(positive_seconds());

  c.trials = command(app, v, "trials", "Write the trials as CSV or JSON (works while running)",
                     "One row per trial: ordinal, state, kind, parent, architecture, each\n"
                     "hyperparameter (hp_<name>), the result and its metrics (metric_<name>),\n"
                     "evaluator details (extra_<name>) and created/started/finished times (UTC);\n"
                     "with --epochs one row per trial and epoch (the learning curves). CSV per\n"
                     "RFC 4180; JSON an array of objects. pandas: pd.read_csv / pd.read_json.");
  c.trials->add_option("--db", v.db, "The search's database")->type_name("PATH")->required();
  c.trials->add_option("--format", v.table_format, "csv (default) or json")->type_name("csv|json");
  c.trials->add_flag("--epochs", v.per_epoch, "One row per trial and epoch");
  c.trials_out =
      c.trials->add_option("--out", v.out, "The file to write (default: standard output)")
          ->type_name("FILE");

  c.exporter =
      command(app, v, "export", "Write the best network, its weights and test accuracy",
              "Writes DIR/architecture.json (re-loadable), DIR/weights.pt and DIR/metrics.json\n"
              "with the test-set accuracy of the best trial; for a trained network also\n"
              "DIR/model.py and DIR/model.safetensors (PyTorch, no nasforge needed) and\n"
              "DIR/model.onnx. The best is the search's (the highest reward under an\n"
              "\"objective\"); --max-params/--max-flops pick the best within the limits.");
  c.exporter->add_option("--db", v.db, "The search's database")->type_name("PATH")->required();
  c.exporter->add_option("--out", v.out, "The folder to write")->type_name("DIR")->required();
  c.exporter
      ->add_option("--onnx", v.onnx,
                   "auto (default) warns when model.onnx cannot be made (no Python\n"
                   "with torch and onnx), required fails, off skips it")
      ->type_name("required|auto|off");
  c.max_params = c.exporter
                     ->add_option("--max-params", v.max_params,
                                  "Export the best trial with at most N parameters")
                     ->type_name("N")
                     ->check(count_limit());
  c.max_flops = c.exporter
                    ->add_option("--max-flops", v.max_flops,
                                 "Export the best trial with at most N multiply-adds per input")
                    ->type_name("N")
                    ->check(count_limit());

  c.compress = command(
      app, v, "compress", "Prune, distil and/or quantize a recorded network, then export it",
      "Loads the trial's weights and applies the methods in order: prune removes the\n"
      "lowest-ranked inner channels of each block until --prune-ratio of the FLOPs (or\n"
      "parameters) is gone, then fine-tunes --epochs; distill trains with the teacher's\n"
      "soft labels (the pruned network, or the trial's architecture from scratch). Writes\n"
      "DIR as `nasforge export` does (architecture.json with the per-layer widths,\n"
      "weights.pt, metrics.json, model.py, model.safetensors, model.onnx) and records the\n"
      "run (see `nasforge status`). ptq quantizes to int8 (BatchNorm folded, per-channel int8\n"
      "weights, uint8 activations calibrated on --calibration-batches), qat then fine-tunes\n"
      "through fake quantization; both write model_int8.onnx (QDQ) and measure it in ONNX\n"
      "Runtime against model.onnx.");
  auto& cf = c.compress_flags;
  c.compress->add_option("--db", cf.db, "The search's database")->type_name("PATH")->required();
  c.compress->add_option("--trial", cf.trial, "The trial to compress (default best)")
      ->type_name("N|best");
  c.compress->add_option("--out", cf.out, "The folder to write")->type_name("DIR")->required();
  c.compress
      ->add_option(
          "--method", cf.methods,
          "prune (default), distill, ptq, qat, or a list in that order (prune,distill,qat)")
      ->type_name("LIST");
  c.compress
      ->add_option("--prune-ratio", cf.prune_ratio,
                   "Fraction of the FLOPs or parameters to remove, in (0, 1) (default 0.5)")
      ->type_name("R");
  c.compress->add_option("--prune-target", cf.prune_target, "flops (default) or params")
      ->type_name("flops|params");
  c.compress
      ->add_option("--ranking", cf.ranking,
                   "l1 (filter L1 norm, default) or bn (BatchNorm |gamma|)")
      ->type_name("l1|bn");
  c.compress
      ->add_option("--sparsity", cf.sparsity,
                   "L1 penalty on the BatchNorm scales, trained --epochs before pruning\n"
                   "(network slimming; needs --ranking bn; default 0: none)")
      ->type_name("L");
  c.compress->add_option("--epochs", cf.epochs, "Fine-tuning / distillation epochs (default 1)")
      ->type_name("E");
  c.compress
      ->add_option("--lr", cf.learning_rate,
                   "Learning rate (default: 0.1 x the search's to fine-tune a pruned\n"
                   "network, the search's to train a student from scratch)")
      ->type_name("LR");
  c.compress->add_option("--teacher", cf.teacher, "The teacher trial for distill (default best)")
      ->type_name("N|best");
  c.compress
      ->add_option("--teacher-db", cf.teacher_db, "The database of the teacher (default --db)")
      ->type_name("PATH");
  c.compress->add_option("--alpha", cf.alpha, "Weight of the teacher's soft labels (default 0.9)")
      ->type_name("A");
  c.compress->add_option("--temperature", cf.temperature, "Softmax temperature (default 4)")
      ->type_name("T");
  c.compress->add_option("--onnx", cf.onnx, "auto (default), required or off, as for export")
      ->type_name("required|auto|off");
  c.compress->add_option("--seed", cf.seed, "Seed of the training steps (default the search's)")
      ->type_name("N");
  c.compress
      ->add_option("--calibration-batches", cf.calibration_batches,
                   "ptq/qat: training batches the activation observers see (default 32)")
      ->type_name("N");
  c.compress->add_option("--qat-epochs", cf.qat_epochs, "qat: fine-tuning epochs (default 1)")
      ->type_name("E");
  c.compress->add_option("--qat-lr", cf.qat_lr, "qat: learning rate (default 0.01 x the search's)")
      ->type_name("LR");
  c.compress
      ->add_option("--weight-range", cf.weight_range,
                   "ptq/qat: int8 weights in [-R, R] (default 63: x86 int8 kernels without VNNI\n"
                   "sum in 16 bits, which 127 can overflow; 127 on VNNI CPUs or ARM)")
      ->type_name("R");
  c.compress
      ->add_option("--ort-threads", cf.ort_threads,
                   "ptq/qat: ONNX Runtime threads for the latencies (default 1)")
      ->type_name("N");

  c.report = command(app, v, "report", "Write an HTML report with plots (works while running)",
                     "Writes one self-contained HTML file (no network needed to view it): best so\n"
                     "far against trials and time, accuracy against parameters and FLOPs with the\n"
                     "Pareto front, learning curves, hyperparameter changes, controller\n"
                     "diagnostics, the best architecture drawn, and the sortable trial table.");
  c.report->add_option("--db", v.db, "The search's database")->type_name("PATH")->required();
  c.report_out =
      c.report
          ->add_option("--out", v.out, "The file to write (default: the database's name, .html)")
          ->type_name("FILE");

  c.evaluate = command(app, v, "evaluate", "Re-evaluate an exported model",
                       "Loads an exported model and prints its accuracy on the split.");
  c.evaluate->add_option("--model", v.model, "The folder `nasforge export` wrote")
      ->type_name("DIR")
      ->required();
  c.evaluate->add_option("--split", v.split, "The split to evaluate on (default test)")
      ->type_name("test|validation");

  c.data = command(app, v, "data", "Look at a dataset without running a search",
                   "Run `nasforge data inspect --help` for what inspect reports.");
  c.data->require_subcommand(0, 1);
  c.inspect =
      command(*c.data, v, "inspect", "Show what a dataset holds and what is wrong with it",
              "Reads the dataset of the experiment file CONFIG (or of a file holding a dataset\n"
              "object), or the one --format and --path name, without running a search, and\n"
              "prints images per class and split, the sizes and channels found, files that\n"
              "cannot be decoded, exact duplicates within each split and across train/test\n"
              "(leakage), labels outside the classes and classes with fewer than 5 images.\n"
              "Exit 0 when the data can be used, 2 on bad input.");
  auto* config =
      c.inspect
          ->add_option("CONFIG", v.config, "An experiment file, or a file holding a dataset object")
          ->type_name("");
  c.format = c.inspect
                 ->add_option("--format", v.format,
                              "idx, cifar10, cifar100, numpy, image-folder or synthetic")
                 ->type_name("F");
  c.path = c.inspect->add_option("--path", v.path, "The folder or file holding the data")
               ->type_name("P");
  c.image_size =
      c.inspect
          ->add_option("--image-size", v.image_size, "Resize images to N x N (image-folder only)")
          ->type_name("N")
          ->check(whole_number(0, 6));
  c.channels = c.inspect
                   ->add_option("--channels", v.channels,
                                "1 (gray), 3 (RGB) or 0 (as found; image-folder only)")
                   ->type_name("C")
                   ->check(whole_number(0, 6));
  config->excludes(c.format)->excludes(c.path);
}

// The command the user named ("run", "data inspect"), from what CLI11 has parsed so far.
std::string command_name(const CLI::App& app) {
  std::string name;
  for (auto subs = app.get_subcommands(); !subs.empty(); subs = subs.front()->get_subcommands())
    name += (name.empty() ? "" : " ") + subs.front()->get_name();
  return name;
}

[[noreturn]] void usage_error(const std::string& command, const std::string& message) {
  const std::string help = command.empty() ? "nasforge --help" : "nasforge " + command + " --help";
  throw ConfigError((command.empty() ? "" : command + ": ") + message + " (see " + help + ")");
}

// Arguments that no command or option took (each command allows extras so that this, and not
// CLI11's message, reports them).
void report_extras(const CLI::App& app, const std::string& command) {
  const auto extras = app.remaining();
  if (extras.empty()) return;
  const auto& first = extras.front();
  if (first.size() > 1 && first[0] == '-') usage_error(command, "unknown option " + first);
  usage_error(command, "unexpected argument '" + first + "'");
}

std::optional<int> number(const CLI::Option* option, const std::string& text) {
  if (option->count() == 0) return std::nullopt;
  return std::stoi(text);  // whole_number checked it
}

int dispatch(const Cli& c, std::ostream& out) {
  const auto& v = c.v;
  if (v.quiet) log::set_level(log::Level::kWarn);
  if (c.run->parsed()) {
    nlohmann::json parallel = nullptr;
    if (c.workers->count() || c.devices->count()) {
      parallel = nlohmann::json::object();
      if (c.devices->count()) parallel["devices"] = v.devices;
      if (c.workers->count()) parallel["workers"] = std::stoi(v.workers);
    }
    s::run_search(v.config, c.run_db->count() ? v.db : s::default_db_path(v.config), out, parallel);
  } else if (c.launch->parsed()) {
    s::LaunchOptions launch;
    launch.nproc = std::stoi(v.nproc);
    launch.config_path = v.config;
    launch.db_path = c.launch_db->count() ? v.db : "";
    launch.resume = v.launch_resume;
    if (!v.group_size.empty()) launch.group_size = std::stoi(v.group_size);
    if (!v.attempts.empty()) launch.attempts = std::stoi(v.attempts);
    if (!v.heartbeat_timeout.empty()) launch.heartbeat_timeout_s = std::stoi(v.heartbeat_timeout);
    s::launch_local_search(launch, out);
  } else if (c.resume->parsed()) {
    s::resume_search(v.db, out);
  } else if (c.status->parsed()) {
    if (c.interval->count() && !v.watch) usage_error("status", "--interval needs --watch");
    if (v.watch) {
      // Only the program's own terminal is cleared; a stream given by a caller is not a screen.
      watch_status(v.db, std::stod(v.interval), &out == &std::cout && isatty(STDOUT_FILENO) == 1,
                   out);
    } else {
      s::print_status(v.db, out);
    }
  } else if (c.trials->parsed()) {
    write_trials(v.db, v.table_format, v.per_epoch, c.trials_out->count() ? v.out : "", out);
  } else if (c.exporter->parsed()) {
    s::ExportLimits limits;
    limits.max_params = count(c.max_params, v.max_params);
    limits.max_flops = count(c.max_flops, v.max_flops);
    s::export_best(v.db, v.out, out, v.onnx, limits);
  } else if (c.compress->parsed()) {
    run_compress(c.compress_flags, out);
  } else if (c.report->parsed()) {
    write_html_report(v.db, c.report_out->count() ? v.out : "", out);
  } else if (c.evaluate->parsed()) {
    s::evaluate_exported(v.model, v.split, out);
  } else if (c.inspect->parsed()) {
    const bool by_flags = c.format->count() || c.path->count();
    for (const auto* option : {c.image_size, c.channels}) {
      if (option->count() && !by_flags) {
        usage_error("data inspect", option->get_name() + " needs --format and --path");
      }
    }
    if (!by_flags && v.config.empty()) {
      usage_error("data inspect", "give an experiment file CONFIG, or --format and --path");
    }
    s::inspect_dataset(by_flags
                           ? s::dataset_spec_from_flags(
                                 c.format->count() ? std::optional(v.format) : std::nullopt,
                                 c.path->count() ? std::optional(v.path) : std::nullopt,
                                 number(c.image_size, v.image_size), number(c.channels, v.channels))
                           : s::dataset_spec_from_file(v.config),
                       out);
  } else {
    usage_error("data", "expected `data inspect CONFIG` or `data inspect --format F --path P`");
  }
  return 0;
}

}  // namespace

int run_command_line(int argc, const char* const* argv, std::ostream& out) {
  Cli c;
  build(c);
  if (argc < 2) {
    out << c.app.help();
    return 2;
  }
  const std::string first = argv[1];
  if (first == "help") {
    out << c.app.help();
    return 0;
  }
  if (first[0] != '-') {
    try {
      c.app.get_subcommand(first);
    } catch (const CLI::OptionNotFound&) {
      usage_error("", "unknown command '" + first + "'; expected " + kCommands);
    }
  }
  try {
    c.app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    out << c.app.help();
    return 0;
  } catch (const CLI::ParseError& e) {
    // CLI11 prints several lines; nasforge says what is wrong in one, naming the command.
    usage_error(command_name(c.app), e.what());
  }
  report_extras(c.app, "");
  std::string name;
  for (auto subs = c.app.get_subcommands(); !subs.empty(); subs = subs.front()->get_subcommands()) {
    name += (name.empty() ? "" : " ") + subs.front()->get_name();
    report_extras(*subs.front(), name);
  }
  if (c.app.get_subcommands().empty())
    usage_error("", std::string("expected a command: ") + kCommands);
  return dispatch(c, out);
}

}  // namespace nasforge::app
