// The README's multi-node launch, simulated on this host: two torchrun agents as two nodes of 2
// ranks each start `nasforge run` (`--no-python`), meeting by c10d or static rendezvous. Under
// torchrun the agent serves the job's TCPStore at MASTER_PORT (TORCHELASTIC_USE_AGENT_STORE), so
// rank 0 is one of its clients, and LOCAL_RANK differs from RANK on the second node.
#include "tests/nasforge_catch.h"

#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <future>
#include <set>
#include <string>
#include <vector>

#include "export/python_runner.h"
#include "store/sqlite_store.h"
#include "tests/search/cli_helpers.h"
#include "trainer/distributed/launcher.h"

using namespace nasforge;
using namespace nasforge::testing;

namespace {

// torchrun is torch.distributed.run, in the Python of the build's NASFORGE_PYTHONPATH.
bool torchrun_available() {
  static const bool available =
      exporter::run_python(exporter::default_python(), {"-c", "import torch.distributed.run"})
          .exit_code == 0;
  return available;
}

#define NASFORGE_REQUIRE_TORCHRUN()                                                             \
  do {                                                                                          \
    if (!torchrun_available()) {                                                                \
      WARN(                                                                                     \
          "skipped: python3 cannot import torch.distributed.run (run scripts/setup.sh, or set " \
          "NASFORGE_PYTHONPATH)");                                                              \
      return;                                                                                   \
    }                                                                                           \
  } while (false)

std::string shell_quoted(const std::string& s) {
  std::string q = "'";
  for (const char c : s) {
    if (c == '\'') {
      q.append("'\\''");
    } else {
      q.push_back(c);
    }
  }
  return q.append("'");
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// Two torchrun agents (`--nnodes 2 --nproc-per-node 2 --node-rank 0/1 RENDEZVOUS`), started at
// once, each running `--no-python PROGRAM` (a shell-quoted command line) on its 2 ranks with the
// environment `env` ("A=1 B=2").
// Returns each agent's exit code and output (its ranks' too); an agent that hangs is stopped
// after 4 minutes.
std::vector<CliResult> run_two_nodes(const std::string& env, const std::string& rendezvous,
                                     const std::string& program) {
  const auto python = exporter::default_python();
  std::string pythonpath = python.pythonpath;
  if (const char* old = std::getenv("PYTHONPATH"); old != nullptr && *old != '\0') {
    pythonpath.append(pythonpath.empty() ? "" : ":").append(old);
  }
  std::vector<std::future<CliResult>> nodes;
  for (int node = 0; node < 2; ++node) {
    std::string command = "env PYTHONPATH=";
    command.append(shell_quoted(pythonpath)).append(" ").append(env);
    command.append(" timeout -k 10 240 ").append(shell_quoted(python.interpreter));
    command.append(" -B -m torch.distributed.run --nnodes 2 --nproc-per-node 2 --node-rank ");
    command.append(std::to_string(node)).append(" ").append(rendezvous);
    command.append(" --no-python ").append(program);
    nodes.push_back(std::async(std::launch::async, [command] { return run_shell(command); }));
  }
  std::vector<CliResult> results;
  for (auto& node : nodes) results.push_back(node.get());
  return results;
}

// `nasforge run CONFIG --db DB`, as the README's torchrun line runs it.
std::string nasforge_run(const std::string& config, const std::string& db) {
  return shell_quoted(NASFORGE_BINARY) + " run " + shell_quoted(config) + " --db " +
         shell_quoted(db);
}

std::string c10d_rendezvous(const std::string& id) {
  return "--rdzv-backend c10d --rdzv-endpoint 127.0.0.1:" +
         std::to_string(trainer::distributed::free_port()) + " --rdzv-id " + id + "-" +
         std::to_string(::getpid());
}

}  // namespace

TEST_CASE("two torchrun nodes with c10d rendezvous run a 2x2 trial-group search once",
          "[search][distributed][torchrun]") {
  NASFORGE_REQUIRE_TORCHRUN();
  TempDir dir("torchrun-groups");
  const auto config = write_json(dir, "tiny.json", tiny_fashion_experiment(4, 1));
  const auto db = dir.file("groups.db");
  const auto nodes = run_two_nodes("NASFORGE_GROUP_SIZE=2 NASFORGE_DIST_TIMEOUT=30",
                                   c10d_rendezvous("groups"), nasforge_run(config, db));
  const std::string output = nodes[0].output + "\n----- node 1 -----\n" + nodes[1].output;
  INFO(output);
  REQUIRE(nodes[0].exit_code == 0);
  REQUIRE(nodes[1].exit_code == 0);
  // One master (on whichever node the rendezvous made rank 0's) ran the search and summed it up.
  CHECK(count(output, "4 ranks as 2 trial groups of 2") == 1);
  CHECK(count(output, "trials: 4 of 4") == 1);
  auto store = store::SqliteStore::open(db);
  const auto trials = store.trials(store.experiment().id);
  REQUIRE(trials.size() == 4);
  std::set<std::int64_t> ordinals;
  std::set<int> groups;
  for (const auto& t : trials) {
    INFO("trial " << t.ordinal << " " << t.result.extra.dump());
    ordinals.insert(t.ordinal);
    CHECK(t.state == TrialState::kCompleted);
    CHECK(store.epochs(t.id).size() == 1);
    const auto& extra = t.result.extra;
    REQUIRE(extra.contains("group"));
    CHECK(extra.at("attempts") == 1);
    CHECK(extra.at("world_size") == 2);
    const int group = extra.at("group").get<int>();
    groups.insert(group);
    CHECK(extra.at("group_ranks") == nlohmann::json::array({2 * group, 2 * group + 1}));
  }
  CHECK(ordinals == std::set<std::int64_t>{0, 1, 2, 3});
  CHECK(groups == std::set<int>{0, 1});  // both nodes' groups trained
}

TEST_CASE("two torchrun nodes with static rendezvous train each trial over all 4 ranks",
          "[search][distributed][torchrun]") {
  NASFORGE_REQUIRE_TORCHRUN();
  TempDir dir("torchrun-static");
  const auto config = write_json(dir, "tiny.json", tiny_fashion_experiment(2, 1));
  const auto db = dir.file("dp.db");
  const auto rendezvous =
      "--master-addr 127.0.0.1 --master-port " + std::to_string(trainer::distributed::free_port());
  const auto nodes =
      run_two_nodes("NASFORGE_DIST_TIMEOUT=30", rendezvous, nasforge_run(config, db));
  const std::string output = nodes[0].output + "\n----- node 1 -----\n" + nodes[1].output;
  INFO(output);
  REQUIRE(nodes[0].exit_code == 0);
  REQUIRE(nodes[1].exit_code == 0);
  CHECK(count(output, "data-parallel over 4 ranks") == 1);
  CHECK(count(output, "trials: 2 of 2") == 1);
  auto store = store::SqliteStore::open(db);
  const auto trials = store.trials(store.experiment().id);
  REQUIRE(trials.size() == 2);
  for (const auto& t : trials) {
    CHECK(t.state == TrialState::kCompleted);
    CHECK(store.epochs(t.id).size() == 1);
    CHECK(t.result.extra.at("world_size") == 4);
  }
  CHECK(trials[0].ordinal == 0);
  CHECK(trials[1].ordinal == 1);
}

TEST_CASE("under torchrun a master that refuses its input stops the ranks of both nodes soon",
          "[search][distributed][torchrun]") {
  NASFORGE_REQUIRE_TORCHRUN();
  TempDir dir("torchrun-refused");
  const auto config = write_json(dir, "tiny.json", tiny_fashion_experiment(4, 1));
  const auto db = dir.file("exists.db");
  std::ofstream(db) << "not a search";
  // Rank 0 refuses the existing database and node 0 stops, taking down the store its agent served
  // (static rendezvous: node 0 holds ranks 0 and 1 and the store, and node 1's agent does not
  // watch it). Ranks 2 and 3 start late, as on a slow node, once that store is gone: they must
  // stop at once, not retry the connection for twice the collective timeout (90 s) as c10d does.
  const std::string late_ranks =
      "if [ \"$RANK\" -ge 2 ]; then sleep 8; fi; exec " + nasforge_run(config, db);
  const auto rendezvous =
      "--master-addr 127.0.0.1 --master-port " + std::to_string(trainer::distributed::free_port());
  const auto started = std::chrono::steady_clock::now();
  const auto nodes = run_two_nodes("NASFORGE_GROUP_SIZE=2 NASFORGE_DIST_TIMEOUT=90", rendezvous,
                                   "sh -c " + shell_quoted(late_ranks));
  const auto seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const std::string output = nodes[0].output + "\n----- node 1 -----\n" + nodes[1].output;
  INFO(output);
  CHECK(nodes[0].exit_code != 0);
  CHECK(nodes[1].exit_code != 0);
  CHECK(count(output, "nasforge: error: " + db + ": database already exists") == 1);
  CHECK_THAT(output, Catch::Contains("of 4: the torchrun agent's store at 127.0.0.1:") &&
                         Catch::Contains("refuses connections: the job has stopped"));
  CHECK(seconds < 60);
  std::string kept;
  std::getline(std::ifstream(db), kept);
  CHECK(kept == "not a search");  // left as it was
}
