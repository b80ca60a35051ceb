#include "tests/nasforge_catch.h"

#include <signal.h>

#include <algorithm>
#include <functional>
#include <future>
#include <map>
#include <set>
#include <thread>

#include "common/errors.h"
#include "store/sqlite.h"
#include "store/sqlite_store.h"
#include "tests/search/cli_helpers.h"

using namespace nasforge;
using namespace nasforge::testing;

TEST_CASE("launch --nproc 2 runs one data-parallel search and records each trial once",
          "[search][distributed]") {
  TempDir dir("cli-launch");
  const auto config = write_json(dir, "tiny.json", tiny_fashion_experiment(2, 1));
  const auto db = dir.file("launch.db");
  const auto result = run_cli("launch --nproc 2 " + config + " --db " + db);
  INFO(result.output);
  REQUIRE(result.exit_code == 0);
  CHECK_THAT(result.output, Catch::Contains("data-parallel over 2 ranks"));
  auto store = store::SqliteStore::open(db);
  const auto trials = store.trials(store.experiment().id);
  REQUIRE(trials.size() == 2);
  for (const auto& t : trials) {
    CHECK(t.state == TrialState::kCompleted);
    CHECK(store.epochs(t.id).size() == 1);
  }
  // Only rank 0 wrote: a second rank writing would have duplicated or failed the ordinals.
  CHECK(trials[0].ordinal == 0);
  CHECK(trials[1].ordinal == 1);
}

TEST_CASE("launch fails with the rank named when the input is bad", "[search][distributed]") {
  TempDir dir("cli-launch-bad");
  const auto result =
      run_cli("launch --nproc 2 " + dir.file("missing.json") + " --db " + dir.file("x.db"));
  CHECK(result.exit_code != 0);
  CHECK_THAT(result.output, Catch::Contains("rank 0"));
}

namespace {

// The command line run with extra environment, in the background; get() waits for its end.
std::future<CliResult> start_cli(const std::string& env, const std::string& args) {
  return std::async(std::launch::async, [=] {
    return run_shell(env + " " + std::string(NASFORGE_BINARY) + " " + args);
  });
}

std::string read_all(const std::filesystem::path& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

// The pid of the rank `rank` of the job writing `db` (its environment says RANK=rank), or 0.
int rank_pid(const std::string& db, int rank) {
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const auto name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    auto cmdline = read_all(entry.path() / "cmdline");
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    if (cmdline.find(db) == std::string::npos || cmdline.find(" launch ") != std::string::npos) {
      continue;
    }
    auto environ = read_all(entry.path() / "environ");
    environ.insert(environ.begin(), '\0');
    if (environ.find(std::string("\0RANK=", 6) + std::to_string(rank) + '\0') !=
        std::string::npos) {
      return std::stoi(name);
    }
  }
  return 0;
}

// Waits until the database at `db` holds at least `count` epoch rows (true) or `limit` passes.
bool wait_for_epochs(const std::string& db, std::size_t count, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (!std::filesystem::exists(db)) continue;
    try {
      auto store = store::SqliteStore::open(db);
      std::size_t epochs = 0;
      for (const auto& t : store.trials(store.experiment().id)) epochs += store.epochs(t.id).size();
      if (epochs >= count) return true;
    } catch (const std::exception&) {
      // Not created yet, or being written: look again.
    }
  }
  return false;
}

// Launches `args` (a search on `db`) with the environment `env`, waits for its first recorded
// epoch, sends `signal` to rank `rank`, and returns the launch's result and that rank's pid.
struct Signalled {
  CliResult result;
  int pid = 0;
};

Signalled signal_rank_after_first_epoch(const std::string& env, const std::string& args,
                                        const std::string& db, int rank, int signal) {
  auto run = start_cli(env, args);
  REQUIRE(wait_for_epochs(db, 1, std::chrono::seconds(60)));
  const int pid = rank_pid(db, rank);
  REQUIRE(pid > 0);
  ::kill(pid, signal);
  return {run.get(), pid};
}

}  // namespace

TEST_CASE("launch --nproc 4 --group-size 2 trains two trials at once and records each once",
          "[search][distributed]") {
  TempDir dir("cli-launch-groups");
  const auto config = write_json(dir, "tiny.json", tiny_fashion_experiment(4, 1));
  const auto db = dir.file("groups.db");
  const auto result = run_cli("launch --nproc 4 --group-size 2 " + config + " --db " + db);
  INFO(result.output);
  REQUIRE(result.exit_code == 0);
  CHECK_THAT(result.output, Catch::Contains("4 ranks as 2 trial groups of 2"));
  auto store = store::SqliteStore::open(db);
  const auto trials = store.trials(store.experiment().id);
  REQUIRE(trials.size() == 4);
  std::set<std::int64_t> ordinals;
  std::map<int, std::vector<std::pair<double, double>>> trained;  // by group: when it trained
  for (const auto& t : trials) {
    ordinals.insert(t.ordinal);
    CHECK(t.state == TrialState::kCompleted);
    CHECK(store.epochs(t.id).size() == 1);
    const auto& extra = t.result.extra;
    REQUIRE(extra.contains("group"));
    CHECK(extra.at("attempts") == 1);
    CHECK(extra.at("world_size") == 2);  // each trial data-parallel over its group's 2 ranks
    trained[extra.at("group").get<int>()].emplace_back(extra.at("trained_from").get<double>(),
                                                       extra.at("trained_until").get<double>());
  }
  CHECK(ordinals == std::set<std::int64_t>{0, 1, 2, 3});
  // Both groups trained, and at the same time: some interval of group 0 overlaps one of group 1
  // (times taken by the groups around their training, not by the master when it planned).
  REQUIRE(trained.size() == 2);
  double overlap = 0;
  for (const auto& [a0, a1] : trained[0]) {
    for (const auto& [b0, b1] : trained[1])
      overlap += std::max(0.0, std::min(a1, b1) - std::max(a0, b0));
  }
  CHECK(overlap > 0.5);
}

TEST_CASE("a rank killed mid-trial costs its group only and the trial re-runs on the other group",
          "[search][distributed]") {
  TempDir dir("cli-launch-groups-kill");
  const auto config = write_json(dir, "tiny.json", tiny_fashion_experiment(6, 2));
  const auto db = dir.file("groups.db");
  // Both groups start their first trial together; once one epoch is recorded, group 1 (ranks 2
  // and 3) is inside a trial.
  const auto [result, victim] = signal_rank_after_first_epoch(
      "NASFORGE_DIST_TIMEOUT=30",
      "launch --nproc 4 --group-size 2 --heartbeat-timeout 20 " + config + " --db " + db, db, 3,
      SIGKILL);
  INFO(result.output);
  CHECK(result.exit_code == 0);
  CHECK_THAT(result.output,
             Catch::Contains("rank 3 (pid " + std::to_string(victim) + ") was killed by signal 9"));
  // Rank 2 stopped its collective with an error naming rank 3, not a crash.
  CHECK_THAT(result.output,
             Catch::Contains("rank 2 in the group of ranks 2 and 3: all-reduce failed") ||
                 Catch::Contains("rank 2 in the group of ranks 2 and 3: broadcast failed"));
  CHECK_THAT(result.output, Catch::Contains("(rank 3 stopped (no heartbeat))"));
  CHECK_THAT(result.output, !Catch::Contains("signal 11"));
  auto store = store::SqliteStore::open(db);
  const auto trials = store.trials(store.experiment().id);
  REQUIRE(trials.size() == 6);
  int rerun = 0;
  for (const auto& t : trials) {
    INFO("trial " << t.ordinal << " " << t.result.extra.dump());
    CHECK(t.state == TrialState::kCompleted);
    const auto epochs = store.epochs(t.id);
    REQUIRE(epochs.size() == 2);  // the re-run's epochs are not recorded twice
    CHECK(epochs[0].epoch == 1);
    CHECK(epochs[1].epoch == 2);
    if (t.result.extra.at("attempts") == 2) {
      ++rerun;
      CHECK(t.result.extra.at("group") == 0);  // the group left
    }
  }
  CHECK(rerun == 1);
}

TEST_CASE("with --attempts 1 the trial of a broken group is recorded failed with the reason",
          "[search][distributed]") {
  TempDir dir("cli-launch-groups-attempts");
  const auto config = write_json(dir, "tiny.json", tiny_fashion_experiment(4, 2));
  const auto db = dir.file("groups.db");
  const auto [result, victim] = signal_rank_after_first_epoch(
      "NASFORGE_DIST_TIMEOUT=30",
      "launch --nproc 4 --group-size 2 --attempts 1 " + config + " --db " + db, db, 3, SIGKILL);
  INFO(result.output);
  CHECK(result.exit_code == 0);  // the search went on with group 0
  auto store = store::SqliteStore::open(db);
  const auto trials = store.trials(store.experiment().id);
  REQUIRE(trials.size() == 4);
  int failed = 0;
  for (const auto& t : trials) {
    if (t.state == TrialState::kFailed) {
      ++failed;
      CHECK_THAT(t.result.error,
                 Catch::StartsWith("its trial groups failed 1 time(s): group 1 (ranks 2 and 3)") &&
                     Catch::Contains("rank 3 stopped"));
    } else {
      CHECK(t.state == TrialState::kCompleted);
    }
  }
  CHECK(failed == 1);
}

TEST_CASE("after the master of a trial-group search is killed launch --resume completes it",
          "[search][distributed]") {
  TempDir dir("cli-launch-groups-master");
  const auto config = write_json(dir, "tiny.json", tiny_fashion_experiment(4, 2));
  const auto db = dir.file("groups.db");
  const auto [killed, master] = signal_rank_after_first_epoch(
      "NASFORGE_DIST_TIMEOUT=20", "launch --nproc 4 --group-size 2 " + config + " --db " + db, db,
      0, SIGKILL);
  INFO(killed.output);
  CHECK(killed.exit_code == 2);
  CHECK_THAT(killed.output,
             Catch::Contains("rank 0 (pid " + std::to_string(master) + ") was killed by signal 9"));
  // The other ranks stopped on their own (the store, served by rank 0, was gone), none crashed.
  CHECK_THAT(killed.output,
             !Catch::Contains("signal 11") && !Catch::Contains("after the launcher stopped it"));
  const auto resumed = run_cli("launch --nproc 4 --group-size 2 --resume --db " + db);
  INFO(resumed.output);
  REQUIRE(resumed.exit_code == 0);
  auto store = store::SqliteStore::open(db);
  const auto trials = store.trials(store.experiment().id);
  REQUIRE(trials.size() == 4);
  std::set<std::int64_t> ordinals;
  for (const auto& t : trials) {
    ordinals.insert(t.ordinal);
    CHECK(t.state == TrialState::kCompleted);
    CHECK(store.epochs(t.id).size() == 2);
  }
  CHECK(ordinals.size() == 4);
}

TEST_CASE("a group whose rank stops beating is dropped after the heartbeat timeout",
          "[search][distributed]") {
  // SIGSTOP: the rank neither dies nor answers, so no connection closes; the master notices the
  // silent heartbeat after 3 s and gives the trial to group 0 (the stopped rank's partner fails
  // its collective after the 15 s timeout; the launcher kills the stopped rank at the end).
  TempDir dir("cli-launch-groups-stop");
  const auto config = write_json(dir, "tiny.json", tiny_fashion_experiment(4, 2));
  const auto db = dir.file("groups.db");
  const auto [result, victim] = signal_rank_after_first_epoch("NASFORGE_DIST_TIMEOUT=15",
                                                              "launch --nproc 4 --group-size 2 "
                                                              "--heartbeat-timeout 3 " +
                                                                  config + " --db " + db,
                                                              db, 3, SIGSTOP);
  INFO(result.output);
  CHECK(result.exit_code == 0);
  CHECK_THAT(result.output, Catch::Contains("group 1 (ranks 2 and 3): rank 3 stopped beating for"));
  auto store = store::SqliteStore::open(db);
  const auto trials = store.trials(store.experiment().id);
  REQUIRE(trials.size() == 4);
  int rerun = 0;
  for (const auto& t : trials) {
    CHECK(t.state == TrialState::kCompleted);
    CHECK(store.epochs(t.id).size() == 2);
    if (t.result.extra.at("attempts") == 2) ++rerun;
  }
  CHECK(rerun == 1);
}

TEST_CASE("killing rank 1 of a data-parallel launch stops rank 0 naming it and launch resumes",
          "[search][distributed]") {
  TempDir dir("cli-launch-kill-resume");
  const auto config = write_json(dir, "tiny.json", tiny_fashion_experiment(2, 2));
  const auto db = dir.file("dp.db");
  // Once an epoch is recorded, trial 0 is in its epoch 2.
  const auto [result, victim] = signal_rank_after_first_epoch(
      "NASFORGE_DIST_TIMEOUT=30", "launch --nproc 2 " + config + " --db " + db, db, 1, SIGKILL);
  INFO(result.output);
  CHECK(result.exit_code == 2);
  CHECK_THAT(result.output,
             Catch::Contains("rank 1 (pid " + std::to_string(victim) + ") was killed by signal 9"));
  // Rank 0 stopped by itself (no crash signal, not killed by the launcher), naming rank 1.
  CHECK_THAT(result.output,
             Catch::Contains("rank 0 of 2: ") &&
                 Catch::Contains("(rank 1 stopped (no heartbeat))") &&
                 Catch::Matches("[\\s\\S]*rank 0 \\(pid \\d+\\) exited with code \\d[\\s\\S]*"));
  CHECK_THAT(result.output,
             !Catch::Contains("signal 11") && !Catch::Contains("after the launcher stopped it"));
  {
    // Consistent: what finished is complete, the interrupted trial is left running (no failure
    // recorded for a dead peer), and nothing else.
    auto store = store::SqliteStore::open(db);
    const auto trials = store.trials(store.experiment().id);
    int running = 0;
    for (const auto& t : trials) {
      CHECK(t.state != TrialState::kFailed);
      if (t.state == TrialState::kRunning) ++running;
      if (t.state == TrialState::kCompleted) CHECK(store.epochs(t.id).size() == 2);
    }
    CHECK(running == 1);
  }
  const auto resumed = run_cli("launch --nproc 2 --resume --db " + db);
  INFO(resumed.output);
  REQUIRE(resumed.exit_code == 0);
  auto store = store::SqliteStore::open(db);
  const auto trials = store.trials(store.experiment().id);
  REQUIRE(trials.size() == 2);
  for (const auto& t : trials) {
    CHECK(t.state == TrialState::kCompleted);
    CHECK(store.epochs(t.id).size() == 2);
    CHECK(t.result.extra.at("world_size") == 2);
  }
}

namespace {

std::int64_t count_rows(const store::detail::Connection& db, const std::string& sql) {
  store::detail::Statement s(db, sql);
  return s.step() ? s.column_int(0) : 0;
}

std::string trial_status(const store::detail::Connection& db, int ordinal) {
  store::detail::Statement s(db, "SELECT status FROM trials WHERE ordinal = ?");
  s.bind(1, ordinal);
  return s.step() ? s.column_text(0) : std::string("absent");
}

// A connection of the test's own to `db`, once rank 0 has created it and its tables.
store::detail::Connection open_when_created(const std::string& db) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  for (;;) {
    try {
      if (std::filesystem::exists(db)) {
        store::detail::Connection connection(db, /*create=*/false);
        count_rows(connection, "SELECT COUNT(*) FROM epochs");
        return connection;
      }
    } catch (const StoreError&) {
      // Being created: look again.
    }
    if (std::chrono::steady_clock::now() > deadline) FAIL(db << " was not created in time");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// Holds the write lock of `db` (a search of `trials` trials of one epoch each) from this process
// between two trials, while rank 0 waits on it to record a trial finished, and calls `while_held`
// then. True once that happened. Once a trial's epoch row is in, rank 0 saves its weights and
// records it finished: the lock is taken in that gap. If rank 0 got past it (the next trial
// already created, whose epoch write would block where every rank waits on a collective), the
// lock is let go at once and the next trial tried.
bool hold_lock_between_trials(const std::string& db, int trials,
                              const std::function<void()>& while_held) {
  auto lock = open_when_created(db);
  for (int k = 0; k + 1 < trials; ++k) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (count_rows(lock, "SELECT COUNT(*) FROM epochs") < k + 1) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      // The gap is a few milliseconds (rank 0 saves the weights): look often.
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    lock.execute("BEGIN EXCLUSIVE");
    const bool between = count_rows(lock, "SELECT COUNT(*) FROM trials") == k + 1 &&
                         trial_status(lock, k) == "running";
    if (between) {
      while_held();
      // Rank 0 really waited: trial k is still not recorded finished, and no later trial exists.
      CHECK(trial_status(lock, k) == "running");
      CHECK(count_rows(lock, "SELECT COUNT(*) FROM trials") == k + 1);
    }
    lock.execute("COMMIT");
    if (between) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("data-parallel ranks wait while rank 0 is blocked on the database past the timeout",
          "[search][distributed]") {
  // Between two trials rank 0 works alone (records the result, asks the controller); here another
  // process holds the database's write lock for 6 s, twice the collective timeout, so rank 0's
  // write waits on SQLite's busy timeout (10 s) all along. Rank 1 must wait for the next trial
  // with no deadline while rank 0 is alive.
  TempDir dir("cli-launch-db-lock");
  constexpr int kTrials = 8;  // 7 gaps between trials to catch rank 0 in
  const auto config = write_json(dir, "tiny.json", tiny_fashion_experiment(kTrials, 1));
  const auto db = dir.file("locked.db");
  auto run = start_cli("NASFORGE_DIST_TIMEOUT=3", "launch --nproc 2 " + config + " --db " + db);
  const bool held = hold_lock_between_trials(
      db, kTrials, [] { std::this_thread::sleep_for(std::chrono::seconds(6)); });
  const auto result = run.get();
  INFO(result.output);
  REQUIRE(held);
  REQUIRE(result.exit_code == 0);
  auto store = store::SqliteStore::open(db);
  const auto trials = store.trials(store.experiment().id);
  REQUIRE(trials.size() == kTrials);
  std::set<std::int64_t> ordinals;
  for (const auto& t : trials) {
    ordinals.insert(t.ordinal);
    CHECK(t.state == TrialState::kCompleted);
    CHECK(store.epochs(t.id).size() == 1);
    CHECK(t.result.extra.at("world_size") == 2);
  }
  CHECK(ordinals.size() == kTrials);
  CHECK(*ordinals.rbegin() == kTrials - 1);
}

TEST_CASE("rank 1 waiting for the next trial stops naming rank 0 when rank 0 is killed",
          "[search][distributed]") {
  TempDir dir("cli-launch-db-lock-kill");
  constexpr int kTrials = 8;  // 7 gaps between trials to catch rank 0 in
  const auto config = write_json(dir, "tiny.json", tiny_fashion_experiment(kTrials, 1));
  const auto db = dir.file("locked.db");
  auto run = start_cli("NASFORGE_DIST_TIMEOUT=30", "launch --nproc 2 " + config + " --db " + db);
  int master = 0;
  std::chrono::steady_clock::time_point killed;
  const bool held = hold_lock_between_trials(db, kTrials, [&] {
    // Rank 0 is blocked on the lock, rank 1 waits for the next trial.
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    master = rank_pid(db, 0);
    if (master > 0) ::kill(master, SIGKILL);
    killed = std::chrono::steady_clock::now();
  });
  const auto result = run.get();
  INFO(result.output);
  REQUIRE(held);
  REQUIRE(master > 0);
  CHECK(result.exit_code == 2);
  CHECK(std::chrono::steady_clock::now() - killed < std::chrono::seconds(20));
  CHECK_THAT(result.output,
             Catch::Contains("rank 0 (pid " + std::to_string(master) + ") was killed by signal 9"));
  // Rank 1 stopped on its own, well within the 30 s timeout and not stopped by the launcher, with
  // one error naming rank 0.
  CHECK_THAT(
      result.output,
      Catch::Contains("rank 1 of 2: waiting for rank 0's next trial failed: rank 0 is gone"));
  CHECK_THAT(result.output,
             !Catch::Contains("signal 11") && !Catch::Contains("after the launcher stopped it"));
}

TEST_CASE("launch refuses a group size that does not divide the ranks and --resume without --db",
          "[search][distributed]") {
  TempDir dir("cli-launch-bad-groups");
  const auto config = write_json(dir, "tiny.json", tiny_fashion_experiment(2, 1));
  auto result = run_cli("launch --nproc 4 --group-size 3 " + config + " --db " + dir.file("x.db"));
  CHECK(result.exit_code == 2);
  CHECK_THAT(result.output, Catch::Contains("--group-size 3 does not divide --nproc 4"));
  result = run_cli("launch --nproc 2 --resume");
  CHECK(result.exit_code == 2);
  CHECK_THAT(result.output, Catch::Contains("--resume needs --db"));
}
