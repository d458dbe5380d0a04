// Determinism and conservation on a slice of the bundled Philly trace under
// heavy load (a small cluster, so jobs queue and opportunistic jobs are
// preempted).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "apiary/sim/report.h"
#include "apiary/sim/scenario.h"
#include "apiary/sim/stats.h"
#include "sim_test_util.h"

namespace apiary::sim {
namespace {

using testing::ReadAll;
using testing::SourcePath;

// 3000 Philly jobs on 24 nodes; VC 6214e9 gets no quota, so its jobs run
// opportunistically and get preempted.
Scenario Loaded() {
  ScenarioOptions o;
  o.trace_paths = {SourcePath("traces/data/philly/philly_jobs_pollux.csv")};
  o.workload.max_jobs = 3000;
  o.nodes = 24;
  auto sc = LoadScenario(o);
  EXPECT_TRUE(sc.ok()) << sc.status().message();
  Scenario s = std::move(sc).value();
  std::vector<QuotaSpec> quotas;
  for (const QuotaSpec& q : s.quotas)
    if (q.vc != "6214e9") quotas.push_back(q);
  // Give the removed VC's nodes to the first VC so that all nodes are owned.
  int64_t removed = 0;
  for (const QuotaSpec& q : s.quotas)
    if (q.vc == "6214e9") removed = q.units;
  quotas[0].units += removed;
  auto c = BuildCluster(GenerateNodes(24, "P40", 8), quotas, ClusterOptions{4, QuotaLevel::kNode, "P40"});
  EXPECT_TRUE(c.ok()) << c.status().message();
  s.cluster = std::move(c).value();
  s.quotas = quotas;
  return s;
}

TEST(SimPhillySubset, GpuSecondsAreConservedAndInvariantsHold) {
  Scenario sc = Loaded();
  for (PolicyKind p : {PolicyKind::kHived, PolicyKind::kStatic, PolicyKind::kQuota}) {
    SimOptions o;
    o.check_invariants = true;
    auto r = Simulate(sc.cluster, sc.workload, p, o);
    ASSERT_TRUE(r.ok()) << r.status().message();
    SCOPED_TRACE(std::string(PolicyName(p)));
    // Busy GPU-seconds (the integral of the allocation time series) equal
    // the GPU-seconds of every run of every job, finished or killed.
    EXPECT_EQ(testing::SumBins(*r), testing::SumJobGpuSeconds(*r));
    // Without preemption losses, that is exactly the finished jobs' work.
    int64_t finished = 0, lost = 0;
    for (size_t i = 0; i < r->jobs.size(); ++i) {
      const JobRecord& j = r->jobs[i];
      if (j.outcome == JobOutcome::kDone) finished += sc.workload.jobs[i].gpus() * j.last_run_s;
      lost += j.lost_gpu_seconds;
      if (j.outcome != JobOutcome::kDone) {
        EXPECT_EQ(j.gpu_seconds, j.lost_gpu_seconds);
      }
    }
    EXPECT_EQ(testing::SumBins(*r), finished + lost);
    PolicySummary s = Summarize(*r, sc.workload, sc.cluster);
    EXPECT_EQ(s.done + s.rejected + s.unfinished, 3000);
    EXPECT_GT(s.wait.p95, 0);  // the load is heavy enough to queue
    if (p != PolicyKind::kStatic) {
      EXPECT_GT(r->preemptions, 0);
    }
  }
}

TEST(SimPhillySubset, TwoRunsWriteIdenticalBytes) {
  std::string dirs[2];
  for (int run = 0; run < 2; ++run) {
    Scenario sc = Loaded();
    std::vector<SimResult> results;
    std::vector<PolicySummary> summaries;
    for (PolicyKind p : {PolicyKind::kHived, PolicyKind::kStatic, PolicyKind::kQuota}) {
      SimOptions o;
      o.queue = QueuePolicy::kShortestFirst;
      o.checkpoint_interval_s = 600;
      auto r = Simulate(sc.cluster, sc.workload, p, o);
      ASSERT_TRUE(r.ok()) << r.status().message();
      summaries.push_back(Summarize(*r, sc.workload, sc.cluster));
      results.push_back(std::move(r).value());
    }
    dirs[run] = ::testing::TempDir() + "apiary_sim_determinism_" + std::to_string(run);
    RunMeta meta{"test", SimOptions{}};
    auto notes = WriteOutputs(dirs[run], sc, meta, results, summaries, /*plots=*/false);
    ASSERT_TRUE(notes.ok()) << notes.status().message();
  }
  int compared = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dirs[0])) {
    const std::string name = entry.path().filename().string();
    EXPECT_EQ(ReadAll(dirs[0] + "/" + name), ReadAll(dirs[1] + "/" + name)) << name;
    ++compared;
  }
  EXPECT_GE(compared, 10);
}

}  // namespace
}  // namespace apiary::sim
