// One engine, proven: the hived policy's decisions on a Philly run at 4x
// load with borrowing (preemptions included), exported with ReplayLog and
// played back by the real `apiary replay` binary, give every pod the same
// node and leaf cells, bind by bind.
//
// The slice: the first 20,000 jobs of the bundled trace (351 preemptions at
// 4x load with borrowing); the whole trace (84,725 binds, 1,596 preempt
// results) takes ~20 s to replay on 2 cores and was checked by hand the same
// way (sim/README.md, "Replay export").
//
// Twice: with the placement model off, and on (`apiary-sim run`'s default).
// The model changes only how long a job runs, never a scheduler call's
// inputs, so the export of a model-on run replays just as exactly.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "apiary/sim/replay_export.h"
#include "apiary/sim/scenario.h"
#include "../sim_test_util.h"

namespace apiary::sim {
namespace {

using testing::SourcePath;

#ifdef APIARY_CLI
void ExpectReplayReproducesEveryPlacement(const PlacementModel* model, const std::string& tag) {
  ScenarioOptions o;
  o.trace_paths = {SourcePath("traces/data/philly/philly_jobs_pollux.csv")};
  o.vc_quotas_path = SourcePath("traces/data/philly/philly_vc_nodes_helios.csv");
  o.gpus_per_node = 8;
  o.workload.load_factor = 4;
  o.workload.max_jobs = 20000;
  auto sc = LoadScenario(o);
  ASSERT_TRUE(sc.ok()) << sc.status().message();

  const std::string dir = ::testing::TempDir() + "/replay_export_test_" + tag;
  ReplayLog log;
  ASSERT_TRUE(log.Open(dir).ok());
  SimOptions so;
  so.borrow = true;
  so.replay_log = &log;
  so.placement = model;
  auto r = Simulate(sc->cluster, sc->workload, PolicyKind::kHived, so);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_GT(r->preemptions, 0) << "the slice must exercise preemption";
  ASSERT_TRUE(log.Finish(sc->cluster.hived).ok());
  // Every job's pods were bound at least once: the log saw every run.
  int64_t pods = 0;
  for (const SimJob& j : sc->workload.jobs) pods += j.num_pods;
  ASSERT_GE(static_cast<int64_t>(log.binds().size()), pods);

  const std::string out = dir + "/replayed.jsonl";
  const std::string cmd = std::string(APIARY_CLI) + " replay --config " + dir +
                          "/config.yaml " + dir + "/events.jsonl > " + out;
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;

  std::ifstream in(out);
  std::string line;
  size_t bind = 0, preempts = 0, lines = 0;
  while (std::getline(in, line)) {
    ++lines;
    auto e = nlohmann::json::parse(line);
    ASSERT_NE(e["result"], "error") << "line " << lines << ": " << line;
    if (e["op"] != "schedule") continue;
    if (e["result"] == "preempt") ++preempts;
    if (e["result"] != "bind") continue;
    ASSERT_LT(bind, log.binds().size()) << "replay bound more pods than the simulation";
    const ReplayLog::Bind& want = log.binds()[bind++];
    ASSERT_EQ(e["pod"], want.pod) << "bind " << bind;
    ASSERT_EQ(e["node"], want.node) << want.pod;
    ASSERT_EQ(e["leafCells"].get<std::vector<int32_t>>(), want.leaf_cells) << want.pod;
  }
  EXPECT_EQ(bind, log.binds().size());
  EXPECT_EQ(static_cast<int64_t>(lines), log.schedules() + log.deletes());
  EXPECT_GT(preempts, 0u);
}
#endif

TEST(SimReplayExport, ApiaryReplayReproducesEveryPlacement) {
#ifndef APIARY_CLI
  GTEST_SKIP() << "built without the apiary command";
#else
  ExpectReplayReproducesEveryPlacement(nullptr, "model_off");
#endif
}

TEST(SimReplayExport, ApiaryReplayReproducesEveryPlacementWithPlacementModel) {
#ifndef APIARY_CLI
  GTEST_SKIP() << "built without the apiary command";
#else
  ExpectReplayReproducesEveryPlacement(&testing::CalibratedModel(), "model_on");
#endif
}

}  // namespace
}  // namespace apiary::sim
