// The engine on tiny hand-computable traces: exact waits and completion
// times for every placement policy and queue order, preemption with restart
// and checkpoints, SKU scaling, and GPU-second conservation.
#include <gtest/gtest.h>

#include "apiary/sim/event_queue.h"
#include "apiary/sim/stats.h"
#include "apiary/traces/gpu_sku.h"
#include "sim_test_util.h"

namespace apiary::sim {
namespace {

using testing::IndexOf;
using testing::J;
using testing::MakeCluster;
using testing::MakeJobs;
using testing::RunSim;

struct Expect {
  std::string id;
  int64_t start, finish, wait;
};

void CheckJobs(const Workload& w, const SimResult& r, const std::vector<Expect>& expected) {
  for (const Expect& e : expected) {
    const JobRecord& rec = r.jobs[IndexOf(w, e.id)];
    SCOPED_TRACE(std::string(PolicyName(r.policy)) + " job " + e.id);
    EXPECT_EQ(rec.outcome, JobOutcome::kDone);
    EXPECT_EQ(rec.first_start_s, e.start);
    EXPECT_EQ(rec.finish_s, e.finish);
    EXPECT_EQ(rec.wait_s, e.wait);
  }
}

TEST(SimEventQueue, OrdersByTimeThenPushOrder) {
  EventQueue q;
  q.Push(10, 0, 1);
  q.Push(5, 0, 2);
  q.Push(10, 0, 3);
  q.Push(5, 0, 4);
  q.Push(0, 0, 5);
  std::vector<int32_t> order;
  while (!q.empty()) order.push_back(q.Pop().job);
  EXPECT_EQ(order, (std::vector<int32_t>{5, 2, 4, 1, 3}));
}

TEST(SimEventQueue, ManyRandomEventsComeOutSorted) {
  EventQueue q;
  uint64_t x = 42;
  for (int i = 0; i < 10000; ++i) {
    x = SplitMix64(x);
    q.Push(static_cast<int64_t>(x % 100), 0, i);
  }
  Event prev = q.Pop();
  while (!q.empty()) {
    Event e = q.Pop();
    ASSERT_TRUE(prev.Before(e));
    prev = e;
  }
}

// Two 2-GPU nodes; VC a and b own one node each. b's small jobs and a's
// first job leave one free GPU on each node under first-fit, so a's 2-GPU
// job waits under quota-only sharing although a's quota is free (HiveD's
// "sharing anomaly"); static partitioning and HiveD run it at once.
TEST(SimEngine, SharingAnomalyExactTimes) {
  Workload w = MakeJobs({{"a1", "a", 0, 1, 1, 10},
                         {"b1", "b", 0, 1, 1, 100},
                         {"b2", "b", 1, 1, 1, 100},
                         {"a2", "a", 20, 1, 2, 10}});
  ClusterModel c = MakeCluster(2, 2, {{"a", "", 1}, {"b", "", 1}});
  for (PolicyKind p : {PolicyKind::kHived, PolicyKind::kStatic}) {
    SimResult r = RunSim(c, w, p);
    CheckJobs(w, r, {{"a1", 0, 10, 0}, {"b1", 0, 100, 0}, {"b2", 1, 101, 0}, {"a2", 20, 30, 0}});
    EXPECT_EQ(r.makespan_s, 101);
  }
  SimResult q = RunSim(c, w, PolicyKind::kQuota);
  CheckJobs(w, q, {{"a1", 0, 10, 0}, {"b1", 0, 100, 0}, {"b2", 1, 101, 0}, {"a2", 100, 110, 80}});
  EXPECT_EQ(q.makespan_s, 110);
  PolicySummary s = Summarize(q, w, c);
  EXPECT_EQ(s.wait.max, 80);
  EXPECT_EQ(s.jct.max, 100);  // b1 and b2; a2 takes 20 -> 110 = 90
  // From 20 to 100 a's 2 free quota GPUs are stranded by placement.
  EXPECT_GT(s.mean_fragmented, 0.0);
}

// One VC, one 2-GPU node, three whole-node jobs: FIFO runs them in submit
// order, shortest-first runs the 10 s job before the 50 s one.
TEST(SimEngine, QueuePoliciesExactWaits) {
  Workload w = MakeJobs({{"j0", "q", 0, 1, 2, 100},
                         {"j1", "q", 1, 1, 2, 50},
                         {"j2", "q", 2, 1, 2, 10}});
  ClusterModel c = MakeCluster(1, 2, {{"q", "", 1}});
  for (PolicyKind p : {PolicyKind::kHived, PolicyKind::kStatic, PolicyKind::kQuota}) {
    SimOptions fifo;
    CheckJobs(w, RunSim(c, w, p, fifo),
              {{"j0", 0, 100, 0}, {"j1", 100, 150, 99}, {"j2", 150, 160, 148}});
    SimOptions sjf;
    sjf.queue = QueuePolicy::kShortestFirst;
    CheckJobs(w, RunSim(c, w, p, sjf),
              {{"j0", 0, 100, 0}, {"j2", 100, 110, 98}, {"j1", 110, 160, 109}});
  }
}

// The queue order is pluggable: here, largest job first (then submit time).
TEST(SimEngine, CustomQueueOrder) {
  Workload w = MakeJobs({{"j0", "q", 0, 1, 2, 100},
                         {"small", "q", 1, 1, 1, 10},
                         {"big", "q", 2, 1, 2, 10}});
  ClusterModel c = MakeCluster(1, 2, {{"q", "", 1}});
  SimOptions o;
  o.queue_key = [](const SimJob& j, int64_t) { return -j.gpus() * 1000000 + j.submit_s; };
  for (PolicyKind p : {PolicyKind::kHived, PolicyKind::kStatic, PolicyKind::kQuota})
    CheckJobs(w, RunSim(c, w, p, o),
              {{"j0", 0, 100, 0}, {"big", 100, 110, 98}, {"small", 110, 120, 109}});
}

// A job of a VC without quota runs opportunistically on a free node and is
// preempted when both owners need their nodes; it restarts from scratch, or
// from its last checkpoint.
TEST(SimEngine, PreemptionRestartsOrResumes) {
  Workload w = MakeJobs({{"c1", "c", 0, 1, 2, 100},
                         {"a1", "a", 10, 1, 2, 50},
                         {"b1", "b", 10, 1, 2, 50}});
  ClusterModel c = MakeCluster(2, 2, {{"a", "", 1}, {"b", "", 1}});
  for (PolicyKind p : {PolicyKind::kHived, PolicyKind::kQuota}) {
    SimResult r = RunSim(c, w, p);
    CheckJobs(w, r, {{"a1", 10, 60, 0}, {"b1", 10, 60, 0}, {"c1", 0, 160, 50}});
    const JobRecord& c1 = r.jobs[IndexOf(w, "c1")];
    EXPECT_EQ(c1.preemptions, 1);
    EXPECT_EQ(c1.gpu_seconds, 2 * 10 + 2 * 100);
    EXPECT_EQ(c1.lost_gpu_seconds, 2 * 10);
    EXPECT_EQ(r.preemptions, 1);
    EXPECT_EQ(testing::SumBins(r), testing::SumJobGpuSeconds(r));

    SimOptions ckpt;
    ckpt.checkpoint_interval_s = 4;  // 10 s of progress -> 8 s kept
    r = RunSim(c, w, p, ckpt);
    CheckJobs(w, r, {{"a1", 10, 60, 0}, {"b1", 10, 60, 0}, {"c1", 0, 152, 50}});
    EXPECT_EQ(r.jobs[IndexOf(w, "c1")].lost_gpu_seconds, 2 * 2);
    EXPECT_EQ(testing::SumBins(r), testing::SumJobGpuSeconds(r));
  }
  // Static partitioning has no room for a VC without nodes.
  SimResult s = RunSim(c, w, PolicyKind::kStatic);
  EXPECT_EQ(s.jobs[IndexOf(w, "c1")].outcome, JobOutcome::kRejected);
  CheckJobs(w, s, {{"a1", 10, 60, 0}, {"b1", 10, 60, 0}});
  // ... nor does any policy when such jobs are to be rejected.
  SimOptions reject;
  reject.unknown_vc = UnknownVc::kReject;
  for (PolicyKind p : {PolicyKind::kHived, PolicyKind::kQuota})
    EXPECT_EQ(RunSim(c, w, p, reject).jobs[IndexOf(w, "c1")].outcome, JobOutcome::kRejected);
}

// Within a VC, a higher-priority job preempts a lower one under hived (HiveD
// priorities); the baselines have no such preemption and make it wait.
TEST(SimEngine, PriorityPreemptionInsideAVc) {
  Workload w = MakeJobs({{"low", "a", 0, 1, 2, 100, 0}, {"high", "a", 10, 1, 2, 10, 100}});
  ClusterModel c = MakeCluster(1, 2, {{"a", "", 1}});
  SimResult h = RunSim(c, w, PolicyKind::kHived);
  CheckJobs(w, h, {{"high", 10, 20, 0}, {"low", 0, 120, 10}});
  EXPECT_EQ(h.jobs[IndexOf(w, "low")].preemptions, 1);
  for (PolicyKind p : {PolicyKind::kStatic, PolicyKind::kQuota})
    CheckJobs(w, RunSim(c, w, p), {{"low", 0, 100, 0}, {"high", 100, 110, 90}});
}

// Borrowing: a's second job runs on b's idle node until b needs it, then
// restarts when b's job is done; static partitions never lend.
TEST(SimEngine, BorrowingIdleQuota) {
  Workload w = MakeJobs({{"a1", "a", 0, 1, 2, 100},
                         {"a2", "a", 0, 1, 2, 100},
                         {"b1", "b", 50, 1, 2, 10}});
  ClusterModel c = MakeCluster(2, 2, {{"a", "", 1}, {"b", "", 1}});
  SimOptions borrow;
  borrow.borrow = true;
  for (PolicyKind p : {PolicyKind::kHived, PolicyKind::kQuota}) {
    SimResult r = RunSim(c, w, p, borrow);
    CheckJobs(w, r, {{"a1", 0, 100, 0}, {"b1", 50, 60, 0}, {"a2", 0, 160, 10}});
    EXPECT_EQ(r.jobs[IndexOf(w, "a2")].preemptions, 1);
    EXPECT_EQ(r.borrowed_starts, 2);
    EXPECT_EQ(testing::SumBins(r), testing::SumJobGpuSeconds(r));
  }
  SimResult s = RunSim(c, w, PolicyKind::kStatic, borrow);
  CheckJobs(w, s, {{"a1", 0, 100, 0}, {"b1", 50, 60, 0}, {"a2", 100, 200, 100}});
  EXPECT_EQ(s.borrowed_starts, 0);
}

// A job's duration scales by the SKU it lands on (reference V100).
TEST(SimEngine, DurationsScaleBySku) {
  std::vector<NodeSpec> nodes = {{"v0", "V100", 4}, {"k0", "K80", 4}};
  ClusterOptions o;
  o.reference_sku = "V100";
  auto c = BuildCluster(nodes, {{"m", "V100", 1}, {"m", "K80", 1}}, o);
  ASSERT_TRUE(c.ok()) << c.status().message();
  Workload w = MakeJobs({{"on-k80", "m", 0, 1, 4, 1000, 0, "K80"},
                         {"on-v100", "m", 0, 1, 4, 1000, 0, "V100"}},
                        "V100");
  auto speed = traces::RelativeSpeed("K80", "V100");
  ASSERT_TRUE(speed.ok());
  const int64_t k80 = traces::ScaleDuration(1000, *speed);
  EXPECT_GT(k80, 1000);
  for (PolicyKind p : {PolicyKind::kHived, PolicyKind::kStatic, PolicyKind::kQuota}) {
    SimResult r = RunSim(*c, w, p);
    CheckJobs(w, r, {{"on-k80", 0, k80, 0}, {"on-v100", 0, 1000, 0}});
    EXPECT_EQ(c->skus[r.jobs[IndexOf(w, "on-k80")].sku].name, "K80");
  }
}

// Jobs the policy can never run are rejected, not left waiting forever.
TEST(SimEngine, JobsLargerThanTheirQuotaAreRejected) {
  Workload w = MakeJobs({{"big", "a", 0, 2, 2, 10}, {"ok", "a", 0, 1, 2, 10}});
  ClusterModel c = MakeCluster(2, 2, {{"a", "", 1}, {"b", "", 1}});
  for (PolicyKind p : {PolicyKind::kHived, PolicyKind::kStatic, PolicyKind::kQuota}) {
    SimResult r = RunSim(c, w, p);
    EXPECT_EQ(r.jobs[IndexOf(w, "big")].outcome, JobOutcome::kRejected) << PolicyName(p);
    EXPECT_EQ(r.jobs[IndexOf(w, "ok")].outcome, JobOutcome::kDone) << PolicyName(p);
    ASSERT_EQ(r.reject_reasons.size(), 1u);
  }
}

// Multi-pod gangs are placed all-or-nothing and spread over nodes.
TEST(SimEngine, GangsWaitForAllTheirPods) {
  Workload w = MakeJobs({{"small", "a", 0, 1, 2, 100}, {"gang", "a", 1, 2, 2, 10}});
  ClusterModel c = MakeCluster(2, 2, {{"a", "", 2}}, /*rack_nodes=*/2);
  for (PolicyKind p : {PolicyKind::kHived, PolicyKind::kStatic, PolicyKind::kQuota})
    CheckJobs(w, RunSim(c, w, p), {{"small", 0, 100, 0}, {"gang", 100, 110, 99}});
}

TEST(SimStats, NearestRankPercentiles) {
  std::vector<int64_t> v = {0, 0, 100};
  EXPECT_EQ(Percentile(v, 0.95), 100);
  EXPECT_EQ(Percentile(v, 0.5), 0);
  std::vector<int64_t> hundred;
  for (int i = 1; i <= 100; ++i) hundred.push_back(i);
  EXPECT_EQ(Percentile(hundred, 0.95), 95);
  EXPECT_EQ(Percentile(hundred, 0.99), 99);
  EXPECT_EQ(Percentile(hundred, 0.5), 50);
  Distribution d = Distribute({3, 1, 2});
  EXPECT_DOUBLE_EQ(d.mean, 2.0);
  EXPECT_EQ(d.max, 3);
}

}  // namespace
}  // namespace apiary::sim
