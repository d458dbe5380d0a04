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

const PlacementModel& Model() { return testing::CalibratedModel(); }

// The placement model changes durations only. On the reference SKU (P40)
// hived keeps every job as packed as its size allows, so every hived job
// runs at speed 1 and every decision and time is what it was without the
// model; the topology-blind quota baseline spreads jobs, which then run
// longer (and so every later decision may differ).
TEST(SimPhillySubset, PlacementModelLeavesHivedDecisionsUnchanged) {
  Scenario sc = Loaded();
  SimOptions on;
  on.placement = &Model();
  on.check_invariants = true;
  auto off_h = Simulate(sc.cluster, sc.workload, PolicyKind::kHived, SimOptions{});
  auto on_h = Simulate(sc.cluster, sc.workload, PolicyKind::kHived, on);
  ASSERT_TRUE(off_h.ok() && on_h.ok());
  int64_t multi_node = 0;
  for (size_t i = 0; i < sc.workload.jobs.size(); ++i) {
    const JobRecord& a = off_h->jobs[i];
    const JobRecord& b = on_h->jobs[i];
    ASSERT_EQ(a.first_start_s, b.first_start_s) << i;
    ASSERT_EQ(a.finish_s, b.finish_s) << i;
    ASSERT_EQ(a.preemptions, b.preemptions) << i;
    // The same nodes too (jobs-*.csv's nodes column; the replay export).
    ASSERT_EQ(off_h->NodesOf(i), on_h->NodesOf(i)) << i;
    if (b.first_start_s < 0) continue;
    ASSERT_DOUBLE_EQ(b.placement_factor, 1.0) << i;
    ASSERT_DOUBLE_EQ(b.speed, 1.0) << i;
    multi_node += b.spread >= static_cast<int8_t>(Spread::kRack);
  }
  EXPECT_GT(multi_node, 0);  // jobs larger than a node were placed too

  auto quota = Simulate(sc.cluster, sc.workload, PolicyKind::kQuota, on);
  ASSERT_TRUE(quota.ok()) << quota.status().message();
  int64_t slowed = 0;
  for (const JobRecord& r : quota->jobs) slowed += r.first_start_s >= 0 && r.placement_factor < 1;
  EXPECT_GT(slowed, 0);
  // jobs-*.csv's span (nodes, racks) and the model's spread read the same
  // placement the same way.
  for (size_t i = 0; i < quota->jobs.size(); ++i) {
    const JobRecord& r = quota->jobs[i];
    if (r.first_start_s < 0) continue;
    const std::string span = sc.cluster.SpanOf(quota->NodesOf(i));
    const Spread spread = static_cast<Spread>(r.spread);
    if (span == "node")
      EXPECT_TRUE(spread == Spread::kSwitch || spread == Spread::kNode) << i;
    else if (span == "rack")
      EXPECT_EQ(spread, Spread::kRack) << i;
    else
      EXPECT_EQ(spread, Spread::kBeyond) << i << " " << span;
  }
  // GPU-seconds are still conserved with stretched runs.
  EXPECT_EQ(testing::SumBins(*quota), testing::SumJobGpuSeconds(*quota));
}

// run --explain (issue #15): the engine explains every wait it decides, the
// simulation counts the rules, and not one decision changes.
TEST(SimPhillySubset, ExplainingWaitsChangesNoDecision) {
  Scenario sc = Loaded();
  SimOptions on;
  on.explain = true;
  on.borrow = true;
  SimOptions off;
  off.borrow = true;
  auto a = Simulate(sc.cluster, sc.workload, PolicyKind::kHived, off);
  auto b = Simulate(sc.cluster, sc.workload, PolicyKind::kHived, on);
  ASSERT_TRUE(a.ok() && b.ok());
  for (size_t i = 0; i < sc.workload.jobs.size(); ++i) {
    ASSERT_EQ(a->jobs[i].first_start_s, b->jobs[i].first_start_s) << i;
    ASSERT_EQ(a->jobs[i].finish_s, b->jobs[i].finish_s) << i;
    ASSERT_EQ(a->jobs[i].preemptions, b->jobs[i].preemptions) << i;
    ASSERT_EQ(a->NodesOf(i), b->NodesOf(i)) << i;
  }
  EXPECT_TRUE(a->wait_reasons.empty());
  EXPECT_EQ(a->explained_jobs, 0);
  ASSERT_FALSE(b->wait_reasons.empty());
  ASSERT_GT(b->explained_jobs, 0);
  // Every explained job counts under at least one rule, and no rule counts
  // more jobs than were explained.
  int64_t most = 0;
  for (const auto& [rule, jobs] : b->wait_reasons) {
    EXPECT_GT(jobs, 0) << rule;
    EXPECT_LE(jobs, b->explained_jobs) << rule;
    most = std::max(most, jobs);
  }
  EXPECT_GT(most, 0);
  // Other policies have no engine to ask.
  auto q = Simulate(sc.cluster, sc.workload, PolicyKind::kQuota, on);
  ASSERT_TRUE(q.ok());
  EXPECT_TRUE(q->wait_reasons.empty());
}

TEST(SimPhillySubset, PlacementModelRunsAreDeterministic) {
  Scenario sc = Loaded();
  SimOptions o;
  o.placement = &Model();
  o.class_seed = 3;
  auto a = Simulate(sc.cluster, sc.workload, PolicyKind::kStatic, o);
  auto b = Simulate(sc.cluster, sc.workload, PolicyKind::kStatic, o);
  ASSERT_TRUE(a.ok() && b.ok());
  for (size_t i = 0; i < a->jobs.size(); ++i) {
    ASSERT_EQ(a->jobs[i].finish_s, b->jobs[i].finish_s) << i;
    ASSERT_EQ(a->jobs[i].spread, b->jobs[i].spread) << i;
    ASSERT_EQ(a->jobs[i].job_class, b->jobs[i].job_class) << i;
    ASSERT_EQ(a->jobs[i].job_class, DrawJobClass(sc.workload.jobs[i].id, 3)) << i;
  }
}

}  // namespace
}  // namespace apiary::sim
