// nasforge: the command-line interface. Parses flags, calls search/commands, and turns errors
// into one line and an exit code (2 for bad input, 1 for anything else).
#include <c10/util/Exception.h>

#include <cstring>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "app/commands.h"
#include "app/data_command.h"
#include "app/launch.h"
#include "common/errors.h"
#include "common/log.h"
#include "trainer/distributed/process_group.h"

namespace {

using nasforge::ConfigError;

constexpr const char* kUsage = R"(usage: nasforge <command> [options]

commands:
  run CONFIG [--db PATH] [--workers N] [--devices cuda:0,cuda:1|all]
                                  start a search described by an experiment file
  launch --nproc N CONFIG [--db PATH]
                                  run the search as N local data-parallel ranks
  resume --db PATH                continue a stopped search to its budget
  status --db PATH                show the trials and the best so far (works while running)
  export --db PATH --out DIR [--onnx required|auto|off]
                                  write the best architecture, its weights and test accuracy,
                                  and the network for PyTorch (model.py) and ONNX (model.onnx)
  evaluate --model DIR [--split test|validation]
                                  re-evaluate an exported model
  data inspect CONFIG             show what a dataset holds: images per class and split, sizes,
                                  skipped files, duplicates, train/test leakage, bad labels
options for every command:
  --quiet                         log warnings and errors only
  --help                          show help for a command
)";

const std::map<std::string, std::string> kCommandHelp = {
    {"run",
     "usage: nasforge run CONFIG [--db PATH] [--workers N] [--devices LIST]\n  Starts the search "
     "in the experiment file CONFIG "
     "and records it in PATH\n  (default runs/<config name>.db). Fails if PATH exists: use "
     "resume.\n  --workers N runs N trials side by side (CPU cores are shared between them);\n"
     "  --devices cuda:0,cuda:1 (or all) gives each worker slot its own GPU.\n"},
    {"launch",
     "usage: nasforge launch --nproc N CONFIG [--db PATH]\n  Starts N local processes of "
     "`nasforge run CONFIG` as one data-parallel job\n  (MASTER_ADDR=127.0.0.1, a free "
     "MASTER_PORT, RANK, WORLD_SIZE, LOCAL_RANK);\n  fails naming the first rank that exits "
     "non-zero and stops the others.\n"},
    {"resume",
     "usage: nasforge resume --db PATH\n  Continues the search in PATH to its budget; trials that "
     "were running\n  when it stopped are run again, finished ones are kept.\n"},
    {"status",
     "usage: nasforge status --db PATH\n  Prints the experiment's trials and the best one.\n"},
    {"export",
     "usage: nasforge export --db PATH --out DIR [--onnx required|auto|off]\n  Writes "
     "DIR/architecture.json (re-loadable), DIR/weights.pt and\n  DIR/metrics.json with the "
     "test-set accuracy of the best trial; for a trained\n  network also DIR/model.py and "
     "DIR/model.safetensors (PyTorch, no nasforge\n  needed) and DIR/model.onnx. --onnx auto "
     "(default) warns when model.onnx\n  cannot be made (no Python with torch and onnx), "
     "required fails, off skips it.\n"},
    {"data",
     "usage: nasforge data inspect CONFIG\n       nasforge data inspect --format F --path P "
     "[--image-size N] [--channels C]\n  Reads the dataset of the experiment file CONFIG (or "
     "a file holding a dataset\n  object) without running a search and prints images per class "
     "and split,\n  the sizes and channels found, files that cannot be decoded, exact "
     "duplicates\n  within each split and across train/test (leakage), labels outside the "
     "classes\n  and classes with fewer than 5 images. Exit 0 when the data can be used,\n  2 "
     "on bad input.\n"},
    {"evaluate",
     "usage: nasforge evaluate --model DIR [--split test|validation]\n  Loads an exported model "
     "and prints its accuracy on the split.\n"},
};

struct Args {
  std::string command;
  std::vector<std::string> positional;
  std::map<std::string, std::string> options;
  bool help = false;
};

Args parse(int argc, char** argv) {
  Args args;
  if (argc < 2) return args;
  args.command = argv[1];
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      args.help = true;
    } else if (a == "--quiet") {
      args.options["quiet"] = "1";
    } else if (a.rfind("--", 0) == 0) {
      const auto eq = a.find('=');
      if (eq != std::string::npos) {
        args.options[a.substr(2, eq - 2)] = a.substr(eq + 1);
      } else if (i + 1 < argc) {
        args.options[a.substr(2)] = argv[++i];
      } else {
        throw ConfigError("option " + a + " needs a value");
      }
    } else {
      args.positional.push_back(a);
    }
  }
  return args;
}

std::string require(const Args& args, const std::string& name) {
  const auto it = args.options.find(name);
  if (it == args.options.end()) {
    throw ConfigError(args.command + ": missing --" + name + " (see nasforge " + args.command +
                      " --help)");
  }
  return it->second;
}

void check_options(const Args& args, std::vector<std::string> allowed, size_t positional) {
  allowed.push_back("quiet");
  for (const auto& [key, value] : args.options) {
    bool ok = false;
    for (const auto& a : allowed) ok = ok || a == key;
    if (!ok) throw ConfigError(args.command + ": unknown option --" + key);
  }
  if (args.positional.size() != positional) {
    throw ConfigError(args.command + ": expected " + std::to_string(positional) +
                      " positional argument(s), got " + std::to_string(args.positional.size()));
  }
}

int dispatch(const Args& args) {
  namespace s = nasforge::search;
  if (args.command.empty() || args.command == "--help" || args.command == "-h" ||
      args.command == "help") {
    std::cout << kUsage;
    return args.command.empty() ? 2 : 0;
  }
  const auto help = kCommandHelp.find(args.command);
  if (help == kCommandHelp.end()) {
    throw ConfigError("unknown command '" + args.command +
                      "'; expected run, launch, resume, status, export, evaluate or data");
  }
  if (args.help) {
    std::cout << help->second;
    return 0;
  }
  if (args.options.count("quiet")) nasforge::log::set_level(nasforge::log::Level::kWarn);
  if (args.command == "run") {
    check_options(args, {"db", "workers", "devices"}, 1);
    const auto& config = args.positional[0];
    const auto db = args.options.count("db") ? args.options.at("db") : s::default_db_path(config);
    nlohmann::json parallel = nullptr;
    if (args.options.count("workers") || args.options.count("devices")) {
      parallel = nlohmann::json::object();
      if (args.options.count("devices")) parallel["devices"] = args.options.at("devices");
      if (args.options.count("workers")) {
        const auto& w = args.options.at("workers");
        if (w.empty() || w.find_first_not_of("0123456789") != std::string::npos) {
          throw ConfigError("run: --workers '" + w + "': expected a positive integer");
        }
        parallel["workers"] = std::stoi(w);
      }
    }
    s::run_search(config, db, std::cout, parallel);
  } else if (args.command == "launch") {
    check_options(args, {"nproc", "db"}, 1);
    const auto nproc = require(args, "nproc");
    if (nproc.empty() || nproc.find_first_not_of("0123456789") != std::string::npos ||
        nproc.size() > 4) {
      throw ConfigError("launch: --nproc '" + nproc + "': expected a positive integer");
    }
    nasforge::search::launch_local_search(std::stoi(nproc), args.positional[0],
                                          args.options.count("db") ? args.options.at("db") : "",
                                          std::cout);
  } else if (args.command == "resume") {
    check_options(args, {"db"}, 0);
    s::resume_search(require(args, "db"), std::cout);
  } else if (args.command == "status") {
    check_options(args, {"db"}, 0);
    s::print_status(require(args, "db"), std::cout);
  } else if (args.command == "export") {
    check_options(args, {"db", "out", "onnx"}, 0);
    s::export_best(require(args, "db"), require(args, "out"), std::cout,
                   args.options.count("onnx") ? args.options.at("onnx") : "auto");
  } else if (args.command == "data") {
    s::data_command(args.positional, args.options, std::cout);
  } else if (args.command == "evaluate") {
    check_options(args, {"model", "split"}, 0);
    const auto split = args.options.count("split") ? args.options.at("split") : "test";
    s::evaluate_exported(require(args, "model"), split, std::cout);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return dispatch(parse(argc, argv));
  } catch (const nasforge::trainer::distributed::CollectiveError& e) {
    // A peer died or timed out: not bad input, and the store stays consistent for `resume`.
    std::cerr << "nasforge: distributed error: " << e.what() << "\n";
    return 1;
  } catch (const nasforge::InternalError& e) {
    std::cerr << "nasforge: internal error: " << e.what() << "\n";
    return 1;
  } catch (const nasforge::Error& e) {
    std::cerr << "nasforge: error: " << e.what() << "\n";
    return 2;
  } catch (const c10::Error& e) {
    std::string message = e.what_without_backtrace();
    std::cerr << "nasforge: LibTorch error: " << message.substr(0, message.find('\n')) << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "nasforge: error: " << e.what() << "\n";
    return 1;
  }
}
