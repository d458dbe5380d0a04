// The explanation of a wait or preempt (explain.h, issue 15): one scenario
// per rule, each built by hand so that the rule is the only thing in the way,
// and the promise that explaining never changes a decision.
#include "apiary/cell/explain.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "apiary/cell/scheduler.h"
#include "scheduler_test_util.h"

namespace apiary::cell {
namespace {

using testing::CellType;
using testing::Describe;
using testing::DumpCluster;
using testing::MakeScheduler;
using testing::PCell;
using testing::Pod;
using testing::Spec;
using testing::Vc;
using Kind = ScheduleResult::Kind;

// Nodes of 8 GPUs as two 4-GPU switches; `nodes` nodes n0.., one chain N8.
Config EightGpuNodes(int nodes, std::vector<VirtualClusterSpec> vcs) {
  Config c;
  c.cell_types = {CellType("N8", "SW4", 2, true), CellType("SW4", "GPU", 4)};
  for (int i = 0; i < nodes; ++i) c.physical_cells.push_back(PCell("N8", "n" + std::to_string(i)));
  c.virtual_clusters = std::move(vcs);
  return c;
}

bool Contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// Schedules and commits a pod that must bind.
void Commit(Scheduler& s, const std::string& pod, const PodSchedulingSpec& spec) {
  ScheduleResult r = s.Schedule(Pod(pod), spec, nullptr, SchedulingPhase::kPreempting);
  ASSERT_EQ(r.kind, Kind::kBind) << pod << ": " << Describe(r);
  ASSERT_TRUE(s.AddAllocatedPod(Pod(pod), spec, r.bind_info).ok());
}

// Explains `spec` twice: on a copy (Explain, which must leave the state as
// it is) and as the real decision (Schedule with explain); both must agree
// with the decision made without explaining, which is checked on `twin`, a
// scheduler in the same state.
ScheduleResult Explained(Scheduler& s, Scheduler& twin, const std::string& pod,
                         const PodSchedulingSpec& spec, SchedulingPhase phase,
                         const std::vector<std::string>* suggested) {
  const std::string before = DumpCluster(s);
  ScheduleResult dry = s.Explain(Pod(pod), spec, suggested, phase);
  EXPECT_EQ(DumpCluster(s), before) << "Explain changed the state";
  ScheduleResult r = s.Schedule(Pod(pod), spec, suggested, phase, /*explain=*/true);
  ScheduleResult plain = twin.Schedule(Pod(pod), spec, suggested, phase);
  EXPECT_EQ(Describe(r), Describe(plain));
  EXPECT_EQ(Describe(dry), Describe(plain));
  EXPECT_EQ(plain.explanation, nullptr) << "explanation built without being asked for";
  EXPECT_EQ(DumpCluster(s), DumpCluster(twin));
  if (r.kind == Kind::kWait || r.kind == Kind::kPreempt) {
    EXPECT_NE(r.explanation, nullptr);
    EXPECT_NE(dry.explanation, nullptr);
    if (r.explanation && dry.explanation)
      EXPECT_EQ(FormatExplanation(*r.explanation), FormatExplanation(*dry.explanation));
  }
  return r;
}

struct Pair {
  std::unique_ptr<Scheduler> s, twin;
  ManualClock clock;
  explicit Pair(const Config& c) {
    s = MakeScheduler(c, &clock);
    twin = MakeScheduler(c, &clock);
  }
  void Run(const std::string& pod, const PodSchedulingSpec& spec) {
    Commit(*s, pod, spec);
    Commit(*twin, pod, spec);
  }
  void Bad(const std::string& node) {
    ASSERT_TRUE(s->SetNodeHealth(node, false).ok());
    ASSERT_TRUE(twin->SetNodeHealth(node, false).ok());
  }
  ScheduleResult Explain(const std::string& pod, const PodSchedulingSpec& spec,
                         SchedulingPhase phase = SchedulingPhase::kPreempting,
                         const std::vector<std::string>* suggested = nullptr) {
    return Explained(*s, *twin, pod, spec, phase, suggested);
  }
};

TEST(ExplainTest, QuotaUsedUpNamesTheGroupsAndAnotherVcThatFits) {
  Pair p(EightGpuNodes(3, {Vc("a", {{"N8", 2}}), Vc("b", {{"N8", 1}})}));
  p.Run("g1", Spec("b", 1, "GPU", 8, "g1"));
  ScheduleResult r = p.Explain("w", Spec("b", 1, "GPU", 8, "w"));
  ASSERT_EQ(r.kind, Kind::kWait) << Describe(r);
  const Explanation& e = *r.explanation;
  EXPECT_EQ(e.outcome, "wait");
  ASSERT_EQ(e.chains.size(), 1u);
  const ExplainChain& c = e.chains[0];
  EXPECT_EQ(c.rule, ExplainChain::kQuotaUsedUp);
  EXPECT_EQ(c.scope, "VC b");
  EXPECT_EQ(c.chain, "N8");
  ASSERT_EQ(c.needed.size(), 1u);
  EXPECT_EQ(c.needed[0].cell_type, "N8");
  EXPECT_EQ(c.needed[0].count, 1);
  EXPECT_EQ(c.needed_leaves, 8);
  EXPECT_EQ(c.free_leaves, 0);
  EXPECT_TRUE(c.free.empty());
  ASSERT_EQ(c.holders.size(), 1u);
  EXPECT_EQ(c.holders[0].group, "g1");
  EXPECT_EQ(c.holders[0].leaves, 8);
  EXPECT_EQ(e.suggestion, "fits in VC a now");
  EXPECT_TRUE(Contains(e.summary, "VC b's quota in chain N8 is used up")) << e.summary;
  EXPECT_TRUE(Contains(e.summary, "held by g1")) << e.summary;
  EXPECT_TRUE(Contains(e.summary, "fits in VC a now")) << e.summary;
  EXPECT_TRUE(e.never_fits.empty());
}

TEST(ExplainTest, FragmentationNamesTheFreePieces) {
  // Two 6-GPU pods pack one per node (6 + 6 do not share a node of 8),
  // leaving 2 + 2 free: a 4-GPU pod has the quota but not the shape.
  Pair p(EightGpuNodes(2, {Vc("a", {{"N8", 2}})}));
  p.Run("f1", Spec("a", 1, "GPU", 6, "f1"));
  p.Run("f2", Spec("a", 1, "GPU", 6, "f2"));
  ScheduleResult r = p.Explain("w", Spec("a", 1, "GPU", 4, "w"));
  ASSERT_EQ(r.kind, Kind::kWait) << Describe(r);
  const ExplainChain& c = r.explanation->chains.at(0);
  EXPECT_EQ(c.rule, ExplainChain::kFragmented);
  EXPECT_EQ(c.free_leaves, 4);
  ASSERT_EQ(c.needed.size(), 1u);
  EXPECT_EQ(c.needed[0].cell_type, "SW4");
  ASSERT_EQ(c.free.size(), 1u);  // 2 + 2 single GPUs, no whole switch
  EXPECT_EQ(c.free[0].cell_type, "GPU");
  EXPECT_EQ(c.free[0].count, 4);
  ASSERT_EQ(c.cells.size(), 2u);
  EXPECT_TRUE(Contains(c.cells[0], "(2 free of 8)")) << c.cells[0];
  EXPECT_TRUE(Contains(c.cells[1], "(2 free of 8)")) << c.cells[1];
  EXPECT_EQ(r.explanation->suggestion, "fits as 2 pods with 2 GPUs per pod");
  EXPECT_TRUE(Contains(c.message, "the largest free piece is 2")) << c.message;
}

TEST(ExplainTest, DoomedCellsOnBadNodes) {
  // n1 goes bad: VC a's free quota (2 nodes) exceeds the healthy free nodes
  // (1), so one of its virtual nodes is bound to n1 (hived.md 8.2).
  Pair p(EightGpuNodes(2, {Vc("a", {{"N8", 2}})}));
  p.Bad("n1");
  ScheduleResult r = p.Explain("w", Spec("a", 1, "GPU", 8, "w", {{2, 8}}));
  ASSERT_EQ(r.kind, Kind::kWait) << Describe(r);
  const ExplainChain& c = r.explanation->chains.at(0);
  EXPECT_EQ(c.rule, ExplainChain::kDoomed);
  EXPECT_EQ(c.needed_leaves, 16);
  EXPECT_EQ(c.doomed_leaves, 8);
  EXPECT_EQ(c.free_leaves, 8);
  ASSERT_EQ(c.cells, std::vector<std::string>{"n1"});
  EXPECT_TRUE(Contains(c.message, "bound to bad nodes (doomed)")) << c.message;
}

TEST(ExplainTest, OpportunisticWaitsBehindOtherVcsOpportunisticPods) {
  Pair p(EightGpuNodes(2, {Vc("a", {{"N8", 1}}), Vc("b", {{"N8", 1}})}));
  p.Run("o1", Spec("b", -1, "GPU", 8, "o1"));
  p.Run("o2", Spec("b", -1, "GPU", 4, "o2"));
  ScheduleResult r = p.Explain("w", Spec("a", -1, "GPU", 8, "w"));
  ASSERT_EQ(r.kind, Kind::kWait) << Describe(r);
  const ExplainChain& c = r.explanation->chains.at(0);
  EXPECT_EQ(c.scope, "physical cluster");
  EXPECT_EQ(c.rule, ExplainChain::kHeldByOpportunistic);
  EXPECT_EQ(c.free_leaves, 4);
  ASSERT_EQ(c.holders.size(), 2u);
  EXPECT_EQ(c.holders[0].group, "o1");
  EXPECT_EQ(c.holders[0].vc, "b");
  EXPECT_EQ(c.holders[0].priority, -1);
  EXPECT_EQ(c.holders[1].group, "o2");
  ASSERT_EQ(c.free.size(), 1u);
  EXPECT_EQ(c.free[0].cell_type, "SW4");
}

TEST(ExplainTest, GuaranteedPreemptsOtherVcsOpportunisticPods) {
  Pair p(EightGpuNodes(2, {Vc("a", {{"N8", 1}}), Vc("b", {{"N8", 1}})}));
  p.Run("o1", Spec("b", -1, "GPU", 8, "o1"));
  p.Run("o2", Spec("b", -1, "GPU", 8, "o2"));
  ScheduleResult r = p.Explain("w", Spec("a", 2, "GPU", 8, "w"));
  ASSERT_EQ(r.kind, Kind::kPreempt) << Describe(r);
  const Explanation& e = *r.explanation;
  EXPECT_EQ(e.outcome, "preempt");
  ASSERT_EQ(e.chains.size(), 1u);
  EXPECT_EQ(e.chains[0].rule, ExplainChain::kFits);
  EXPECT_EQ(e.chains[0].free_leaves, 8);  // VC a's quota is free
  ASSERT_EQ(e.victims.size(), 1u);
  EXPECT_EQ(e.victims[0].vc, "b");
  EXPECT_EQ(e.victims[0].priority, -1);
  EXPECT_EQ(e.victims[0].leaves, 8);
  EXPECT_TRUE(Contains(e.victims[0].why, "opportunistic")) << e.victims[0].why;
  EXPECT_TRUE(Contains(e.victims_rule, "VC a's quota in chain N8 is free")) << e.victims_rule;
  EXPECT_TRUE(Contains(e.victims_rule, "held by opportunistic pods")) << e.victims_rule;
  EXPECT_TRUE(Contains(e.summary, "preempts 1 pod of")) << e.summary;
}

TEST(ExplainTest, OpportunisticWaitsBehindGuaranteedPods) {
  Pair p(EightGpuNodes(2, {Vc("a", {{"N8", 1}}), Vc("b", {{"N8", 1}})}));
  p.Run("g1", Spec("a", 1, "GPU", 8, "g1"));
  p.Run("g2", Spec("b", 3, "GPU", 6, "g2"));
  ScheduleResult r = p.Explain("w", Spec("b", -1, "GPU", 4, "w"));
  ASSERT_EQ(r.kind, Kind::kWait) << Describe(r);
  const ExplainChain& c = r.explanation->chains.at(0);
  EXPECT_EQ(c.rule, ExplainChain::kHeldByGuaranteed);
  EXPECT_EQ(c.free_leaves, 2);
  ASSERT_EQ(c.holders.size(), 2u);
  EXPECT_EQ(c.holders[0].group, "g1");
  EXPECT_EQ(c.holders[0].vc, "a");
  EXPECT_EQ(c.holders[1].group, "g2");
  EXPECT_TRUE(Contains(c.message, "guaranteed pods")) << c.message;
}

TEST(ExplainTest, BadNodesStopAnOpportunisticPod) {
  Pair p(EightGpuNodes(2, {Vc("a", {{"N8", 1}})}));
  p.Run("g1", Spec("a", 1, "GPU", 8, "g1"));
  auto g1 = p.s->AffinityGroup("g1");
  ASSERT_TRUE(g1.ok());
  // The other node, free, goes bad.
  const std::string bad = g1->physical_placement.at(0).first == "n0" ? "n1" : "n0";
  p.Bad(bad);
  ScheduleResult r = p.Explain("w", Spec("a", -1, "GPU", 8, "w"));
  ASSERT_EQ(r.kind, Kind::kWait) << Describe(r);
  const ExplainChain& c = r.explanation->chains.at(0);
  EXPECT_EQ(c.rule, ExplainChain::kBadNodes);
  EXPECT_EQ(c.cells, std::vector<std::string>{bad});
  EXPECT_EQ(c.doomed_leaves, 8);
}

TEST(ExplainTest, NodesKubeSchedulerDidNotSuggest) {
  // g1 fills one node; an opportunistic pod that honours suggestions is
  // offered only that node, so the free one is out of reach.
  Pair p(EightGpuNodes(2, {Vc("a", {{"N8", 1}})}));
  p.Run("g1", Spec("a", 1, "GPU", 8, "g1"));
  auto g1 = p.s->AffinityGroup("g1");
  ASSERT_TRUE(g1.ok());
  const std::vector<std::string> offered = {g1->physical_placement.at(0).first};
  auto spec = Spec("a", -1, "GPU", 8, "w");
  spec.ignore_k8s_suggested_nodes = false;
  ScheduleResult r = p.Explain("w", spec, SchedulingPhase::kPreempting, &offered);
  ASSERT_EQ(r.kind, Kind::kWait) << Describe(r);
  const ExplainChain& c = r.explanation->chains.at(0);
  EXPECT_EQ(c.rule, ExplainChain::kNotSuggested);
  EXPECT_TRUE(Contains(c.message, "did not suggest")) << c.message;
}

TEST(ExplainTest, MappingFailureCarriesTheEnginesReason) {
  // VC a's two virtual nodes are unbound (their placement is free), but
  // mapping them needs both physical nodes and only n0 is offered (6.5).
  Pair p(EightGpuNodes(2, {Vc("a", {{"N8", 2}})}));
  auto spec = Spec("a", 1, "GPU", 8, "w", {{2, 8}});
  spec.ignore_k8s_suggested_nodes = false;
  const std::vector<std::string> offered = {"n0"};
  ScheduleResult r = p.Explain("w", spec, SchedulingPhase::kPreempting, &offered);
  ASSERT_EQ(r.kind, Kind::kWait) << Describe(r);
  const ExplainChain& c = r.explanation->chains.at(0);
  EXPECT_EQ(c.rule, ExplainChain::kMapping);
  ASSERT_EQ(c.cells.size(), 1u);
  EXPECT_EQ(c.cells[0], r.message);
  EXPECT_TRUE(Contains(c.message, "mapping them to physical cells failed")) << c.message;
}

TEST(ExplainTest, CanNeverFitIsTheSummary) {
  Pair p(EightGpuNodes(2, {Vc("a", {{"N8", 2}})}));
  ScheduleResult r = p.Explain("w", Spec("a", 1, "GPU", 9, "w"));
  ASSERT_EQ(r.kind, Kind::kWait) << Describe(r);
  const Explanation& e = *r.explanation;
  EXPECT_TRUE(Contains(e.never_fits, "can never fit under the current configuration"))
      << e.never_fits;
  EXPECT_TRUE(Contains(e.never_fits, "fits with 8 GPUs per pod")) << e.never_fits;
  EXPECT_EQ(e.summary, e.never_fits);
  EXPECT_TRUE(Contains(r.message, e.never_fits)) << r.message;
}

TEST(ExplainTest, PreemptsTheLowerPriorityGroupOfTheVc) {
  Pair p(EightGpuNodes(1, {Vc("a", {{"N8", 1}})}));
  p.Run("low", Spec("a", 1, "GPU", 4, "low"));
  p.Run("high", Spec("a", 9, "GPU", 4, "high"));
  ScheduleResult r = p.Explain("w", Spec("a", 5, "GPU", 4, "w"));
  ASSERT_EQ(r.kind, Kind::kPreempt) << Describe(r);
  const Explanation& e = *r.explanation;
  ASSERT_EQ(e.victims.size(), 1u);
  EXPECT_EQ(e.victims[0].group, "low");
  EXPECT_EQ(e.victims[0].pods, std::vector<std::string>{"ns/low"});
  EXPECT_EQ(e.victims[0].leaves, 4);
  EXPECT_TRUE(Contains(e.victims[0].why, "priority 1 is below the preemptor's 5 in VC a"))
      << e.victims[0].why;
  const ExplainChain& c = e.chains.at(0);
  EXPECT_EQ(c.free_leaves, 0);
  EXPECT_EQ(c.preemptible_leaves, 4);  // high's 4 are not
  EXPECT_TRUE(Contains(e.victims_rule, "free cells first")) << e.victims_rule;
  EXPECT_TRUE(Contains(e.victims_rule, "no pod of priority 5 or above")) << e.victims_rule;
}

TEST(ExplainTest, PreemptingGroupExplainsItsVictims) {
  Pair p(EightGpuNodes(1, {Vc("a", {{"N8", 1}})}));
  p.Run("low", Spec("a", 1, "GPU", 8, "low"));
  ASSERT_EQ(p.Explain("w", Spec("a", 5, "GPU", 8, "w")).kind, Kind::kPreempt);
  // The group now reserves the cells; its next call lists the same victims.
  ScheduleResult again = p.Explain("w", Spec("a", 5, "GPU", 8, "w"));
  ASSERT_EQ(again.kind, Kind::kPreempt) << Describe(again);
  EXPECT_TRUE(again.explanation->chains.empty());
  ASSERT_EQ(again.explanation->victims.size(), 1u);
  EXPECT_TRUE(Contains(again.explanation->victims_rule, "already holds a reservation"));
  // The node goes bad: the preempt call cancels the reservation and decides
  // afresh (6.1 step 2), and the explanation covers that new decision.
  p.Bad("n0");
  ScheduleResult after = p.Explain("w", Spec("a", 5, "GPU", 8, "w"));
  ASSERT_EQ(after.kind, Kind::kWait) << Describe(after);
  ASSERT_FALSE(after.explanation->chains.empty());
  EXPECT_EQ(after.explanation->chains[0].scope, "VC a");
}

TEST(ExplainTest, BindAndErrorCarryNoExplanation) {
  Pair p(EightGpuNodes(1, {Vc("a", {{"N8", 1}})}));
  ScheduleResult bind = p.Explain("b", Spec("a", 1, "GPU", 8, "b"));
  EXPECT_EQ(bind.kind, Kind::kBind);
  EXPECT_EQ(bind.explanation, nullptr);
  ScheduleResult err = p.Explain("e", Spec("nope", 1, "GPU", 8, "e"));
  EXPECT_EQ(err.kind, Kind::kError);
  EXPECT_EQ(err.explanation, nullptr);
}

TEST(ExplainTest, FormatNamesEveryPart) {
  Pair p(EightGpuNodes(3, {Vc("a", {{"N8", 2}}), Vc("b", {{"N8", 1}})}));
  p.Run("g1", Spec("b", 1, "GPU", 8, "g1"));
  ScheduleResult r = p.Explain("w", Spec("b", 1, "GPU", 8, "w"));
  const std::string text = FormatExplanation(*r.explanation);
  EXPECT_TRUE(Contains(text, "chain N8 (GPU) in VC b: quota-used-up")) << text;
  EXPECT_TRUE(Contains(text, "needs: 1 x N8 (8 GPUs)")) << text;
  EXPECT_TRUE(Contains(text, "suggestion: fits in VC a now")) << text;
}

}  // namespace
}  // namespace apiary::cell
