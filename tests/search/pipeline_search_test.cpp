#include "tests/nasforge_catch.h"

#include <filesystem>
#include <map>

#include "common/errors.h"
#include "search/experiment.h"
#include "store/sqlite_store.h"
#include "tests/search/cli_helpers.h"

using namespace nasforge;
using namespace nasforge::testing;
using nlohmann::json;

namespace {

json pipeline_experiment(int trials) {
  auto config = tiny_fashion_experiment(trials, 1);
  config["parallel"] = {{"pipeline", {{"micro_batches", 4}}}};
  return config;
}

// Each trial's validation accuracy by ordinal; every trial completed, with one epoch, trained as
// `stages` pipeline stages, and its weights saved.
std::map<std::int64_t, double> check_pipelined_trials(const std::string& db, int stages,
                                                      int replicas = 1) {
  auto store = store::SqliteStore::open(db);
  std::map<std::int64_t, double> accuracy;
  for (const auto& t : store.trials(store.experiment().id)) {
    INFO("trial " << t.ordinal);
    CHECK(t.state == TrialState::kCompleted);
    CHECK(store.epochs(t.id).size() == 1);
    CHECK(t.result.extra.at("pipeline").at("stages") == stages);
    CHECK(t.result.extra.at("pipeline").at("replicas") == replicas);
    CHECK(t.result.extra.at("pipeline").at("micro_batches") == 4);
    CHECK(std::filesystem::exists(t.result.weights_path));
    accuracy[t.ordinal] = t.result.val_accuracy;
  }
  return accuracy;
}

}  // namespace

TEST_CASE("pipeline settings are parsed, kept, and checked against what stages can train",
          "[search]") {
  auto config = pipeline_experiment(2);
  config["parallel"]["pipeline"]["balance"] = "parameters";
  const auto e = search::Experiment::from_json(config, "e");
  REQUIRE(e.parallel.pipeline);
  CHECK(e.parallel.pipeline->micro_batches == 4);
  CHECK(e.parallel.pipeline->balance == "parameters");
  const auto again = search::Experiment::from_json(e.to_json(), "e");
  REQUIRE(again.parallel.pipeline);
  CHECK(again.parallel.pipeline->balance == "parameters");
  CHECK_FALSE(search::Experiment::from_json(tiny_fashion_experiment(2), "e").parallel.pipeline);

  auto bad = pipeline_experiment(2);
  bad["parallel"]["pipeline"]["balance"] = "memory";
  CHECK_THROWS_WITH(search::Experiment::from_json(bad, "e"),
                    Catch::Contains("e.parallel.pipeline.balance: unknown 'memory'"));
  bad = pipeline_experiment(2);
  bad["parallel"]["pipeline"]["replicas"] = 2;
  CHECK_THROWS_WITH(search::Experiment::from_json(bad, "e"), Catch::Contains("\"replicas\""));
  bad = pipeline_experiment(2);
  bad["parallel"]["pipeline"]["stages"] = 1;
  CHECK_THROWS_WITH(search::Experiment::from_json(bad, "e"),
                    Catch::Contains("e.parallel.pipeline.stages"));
  auto staged = pipeline_experiment(2);
  staged["parallel"]["pipeline"]["stages"] = 2;
  CHECK(search::Experiment::from_json(search::Experiment::from_json(staged, "e").to_json(), "e")
            .parallel.pipeline->stages == 2);
  bad = pipeline_experiment(2);
  bad["parallel"]["pipeline"]["micro_batches"] = 0;
  CHECK_THROWS_WITH(search::Experiment::from_json(bad, "e"),
                    Catch::Contains("e.parallel.pipeline.micro_batches"));
  bad = pipeline_experiment(2);
  bad["parallel"]["pipeline"]["micro_batches"] = 33;  // the batch is 32
  CHECK_THROWS_WITH(search::Experiment::from_json(bad, "e"),
                    Catch::Contains("33 micro-batches for a batch of 32"));
  bad = pipeline_experiment(2);
  bad["training"]["precision"] = "bf16";
  CHECK_THROWS_WITH(search::Experiment::from_json(bad, "e"), Catch::Contains("fp32 only"));
  auto cells = pipeline_experiment(2);  // the NB-201 cell space, trained
  cells["space"] = {{"type", "nb201"}};
  CHECK_THROWS_WITH(search::Experiment::from_json(cells, "e"),
                    Catch::Contains("only networks of the \"blocks\" space"));
  auto table = nb201_table_search("cells", 1, {{"type", "random"}}, 2);
  table["parallel"] = {{"pipeline", json::object()}};
  CHECK_THROWS_WITH(search::Experiment::from_json(table, "e"),
                    Catch::Contains("need the \"train\" evaluator"));
}

TEST_CASE("run refuses a pipeline in one process with one line, exit 2 and no database",
          "[search]") {
  TempDir dir("cli-pipeline-one");
  const auto db = dir.file("p.db");
  const auto result = run_cli("run " + write_json(dir, "p.json", pipeline_experiment(2)) +
                              " --db " + db + " --workers 2");
  CHECK(result.exit_code == 2);
  CHECK_THAT(result.output,
             Catch::Contains("parallel.pipeline") && Catch::Contains("nasforge launch --nproc N"));
  CHECK_FALSE(std::filesystem::exists(db));
}

TEST_CASE("launch refuses pipeline stages in trial groups of one rank", "[search][distributed]") {
  TempDir dir("cli-pipeline-groups-of-one");
  const auto db = dir.file("p.db");
  const auto result = run_cli("launch --nproc 2 --group-size 1 " +
                              write_json(dir, "p.json", pipeline_experiment(2)) + " --db " + db);
  CHECK(result.exit_code != 0);
  CHECK_THAT(result.output, Catch::Contains("trial groups of one rank leave nothing to cut"));
  CHECK_FALSE(std::filesystem::exists(db));
}

TEST_CASE("the command line's worker and device flags keep the file's pipeline, replace its slots",
          "[search]") {
  // Through `run`, which then refuses the pipeline in one process: the refusal proves the
  // pipeline was kept; a file without one runs with the command line's slots.
  TempDir dir("cli-pipeline-override");
  const auto kept = run_cli("run " + write_json(dir, "p.json", pipeline_experiment(2)) + " --db " +
                            dir.file("p.db") + " --workers 2");
  CHECK(kept.exit_code == 2);
  CHECK_THAT(kept.output, Catch::Contains("parallel.pipeline"));
  auto slots = tiny_fashion_experiment(2, 1);
  slots["parallel"] = {{"workers", 1}, {"devices", json::array({"cpu"})}};
  const auto db = dir.file("s.db");
  const auto replaced =
      run_cli("run " + write_json(dir, "s.json", slots) + " --db " + db + " --devices cpu,cpu");
  INFO(replaced.output);
  REQUIRE(replaced.exit_code == 0);
  auto store = store::SqliteStore::open(db);
  CHECK(store.experiment().config.at("parallel").at("workers") == 2);  // one per device given
}

TEST_CASE("launch trains each trial as pipeline stages, over all ranks or in trial groups",
          "[search][distributed]") {
  TempDir dir("cli-pipeline");
  const auto config = write_json(dir, "p.json", pipeline_experiment(3));
  const auto all = run_cli("launch --nproc 2 " + config + " --db " + dir.file("all.db"));
  INFO(all.output);
  REQUIRE(all.exit_code == 0);
  CHECK_THAT(all.output, Catch::Contains("pipeline of 2 stages over 2 ranks"));
  const auto over_all = check_pipelined_trials(dir.file("all.db"), 2);
  REQUIRE(over_all.size() == 3);

  const auto groups =
      run_cli("launch --nproc 4 --group-size 2 " + config + " --db " + dir.file("groups.db"));
  INFO(groups.output);
  REQUIRE(groups.exit_code == 0);
  CHECK_THAT(groups.output,
             Catch::Contains("4 ranks as 2 trial groups of 2 (each a pipeline of 2 stages)"));
  // The same trials (seeds from the experiment's), the same two stages each: the same results.
  CHECK(check_pipelined_trials(dir.file("groups.db"), 2) == over_all);
}

TEST_CASE("launch trains each trial as replicas of pipeline stages", "[search][distributed]") {
  TempDir dir("cli-pipeline-replicas");
  auto experiment = pipeline_experiment(2);
  experiment["parallel"]["pipeline"]["stages"] = 2;
  const auto config = write_json(dir, "p.json", experiment);
  const auto result = run_cli("launch --nproc 4 " + config + " --db " + dir.file("r.db"));
  INFO(result.output);
  REQUIRE(result.exit_code == 0);
  CHECK_THAT(result.output, Catch::Contains("pipeline of 2 stages x 2 replicas over 4 ranks"));
  CHECK(check_pipelined_trials(dir.file("r.db"), 2, 2).size() == 2);

  experiment["parallel"]["pipeline"]["stages"] = 3;
  const auto bad = run_cli("launch --nproc 4 " + write_json(dir, "bad.json", experiment) +
                           " --db " + dir.file("bad.db"));
  CHECK(bad.exit_code != 0);
  CHECK_THAT(bad.output, Catch::Contains("3 stages do not divide the 4 ranks of each trial"));
  CHECK_FALSE(std::filesystem::exists(dir.file("bad.db")));
}
