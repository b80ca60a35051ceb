#include "tests/nasforge_catch.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <set>
#include <thread>

#include "store/sqlite_store.h"
#include "tests/search/cli_helpers.h"

using namespace nasforge;
using namespace nasforge::testing;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

pid_t spawn_cli(const std::vector<std::string>& args, const std::string& log) {
  const pid_t pid = fork();
  if (pid == 0) {
    FILE* out = freopen(log.c_str(), "w", stderr);
    (void)out;
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(NASFORGE_BINARY));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(NASFORGE_BINARY, argv.data());
    _exit(127);
  }
  return pid;
}

std::vector<store::TrialRow> read_trials(const std::string& db) {
  try {
    auto store = store::SqliteStore::open(db);
    return store.trials(store.experiment().id);
  } catch (const std::exception&) {
    return {};  // not created yet
  }
}

}  // namespace

TEST_CASE("SIGKILL mid-search then resume completes the budget with no trial lost or duplicated",
          "[search]") {
  TempDir dir("cli-resume");
  const int budget = 4;
  const auto config = write_json(dir, "tiny.json", tiny_fashion_experiment(budget, 3));

  // The reference: the same experiment, uninterrupted.
  const auto reference_db = dir.file("reference.db");
  const auto reference = run_cli("run " + config + " --db " + reference_db + " --quiet");
  INFO(reference.output);
  REQUIRE(reference.exit_code == 0);
  const auto expected = read_trials(reference_db);
  REQUIRE(expected.size() == budget);

  // Kill the real CLI with SIGKILL while trial 1 is running and has recorded an epoch.
  const auto db = dir.file("killed.db");
  const pid_t pid = spawn_cli({"run", config, "--db", db}, dir.file("run.log"));
  bool killed_mid_trial = false;
  bool second_writer_refused = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(5);
  while (std::chrono::steady_clock::now() < deadline) {
    const auto trials = read_trials(db);
    if (!second_writer_refused && !trials.empty()) {
      // One writer per database: a resume while the search runs is refused, in one line.
      const auto second = run_cli("resume --db " + db + " --quiet");
      INFO(second.output);
      CHECK(second.exit_code == 2);
      CHECK(second.output.find("another nasforge is writing this database (pid " +
                               std::to_string(pid)) != std::string::npos);
      CHECK(std::count(second.output.begin(), second.output.end(), '\n') == 1);
      second_writer_refused = true;
      continue;
    }
    if (trials.size() >= 2 && trials[0].state == TrialState::kCompleted &&
        trials[1].state == TrialState::kRunning) {
      auto store = store::SqliteStore::open(db);
      if (!store.epochs(trials[1].id).empty()) {
        kill(pid, SIGKILL);
        killed_mid_trial = true;
        break;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  int status = 0;
  waitpid(pid, &status, 0);
  REQUIRE(second_writer_refused);
  REQUIRE(killed_mid_trial);
  REQUIRE(WIFSIGNALED(status));
  {
    const auto interrupted = read_trials(db);
    REQUIRE(interrupted.size() == 2);
    CHECK(interrupted[1].state == TrialState::kRunning);
  }

  const auto resumed = run_cli("resume --db " + db + " --quiet");
  INFO(resumed.output);
  REQUIRE(resumed.exit_code == 0);

  auto store = store::SqliteStore::open(db);
  const auto trials = store.trials(store.experiment().id);
  REQUIRE(trials.size() == budget);
  std::set<std::int64_t> ordinals;
  for (size_t i = 0; i < trials.size(); ++i) {
    ordinals.insert(trials[i].ordinal);
    CHECK(trials[i].state == TrialState::kCompleted);
    // Each epoch recorded once: the interrupted trial's partial curve was replaced.
    const auto epochs = store.epochs(trials[i].id);
    REQUIRE(epochs.size() == 3);
    for (int e = 0; e < 3; ++e) CHECK(epochs[static_cast<size_t>(e)].epoch == e + 1);
    // The resumed search proposed and trained exactly what the uninterrupted one did.
    CHECK(trials[i].arch_canonical == expected[i].arch_canonical);
    // Same network, seed and data; multi-threaded CPU kernels may differ in the last bits.
    CHECK(trials[i].result.val_accuracy == Approx(expected[i].result.val_accuracy).margin(0.01));
  }
  CHECK(ordinals.size() == budget);
  CHECK(store.experiment().status == "completed");
  // Resuming a finished search changes nothing.
  const auto again = run_cli("resume --db " + db + " --quiet");
  CHECK(again.exit_code == 0);
  CHECK(store.trials(store.experiment().id).size() == budget);
}
