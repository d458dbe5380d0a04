// Scenario tests for the scheduling engine. Every expected placement below is
// derived by hand from hived.md (section numbers in the comments), not read
// back from the engine. Notation in the comments: free[l] is the buddy free
// list at level l (5.4), "take"/"give" are 5.4's split/merge, vc/k is a
// virtual cell address (2.5).
//
// Startup (section 9) matters for every placement: all nodes start bad and
// are healed in configuration order, which binds and releases doomed cells
// (8.2) and so reorders the top free lists. The state after startup is
// derived once per configuration, in the comment above it.

#include "apiary/cell/scheduler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "scheduler_test_util.h"

namespace apiary::cell {
namespace {

using testing::CellType;
using testing::Child;
using testing::Describe;
using testing::DumpCluster;
using testing::FindCell;
using testing::MakeScheduler;
using testing::PCell;
using testing::Pod;
using testing::Spec;
using testing::Vc;
using Kind = ScheduleResult::Kind;

std::vector<int32_t> Seq(int32_t from, int32_t to) {  // [from, to]
  std::vector<int32_t> v;
  for (int32_t i = from; i <= to; ++i) v.push_back(i);
  return v;
}

std::string Prefix(const std::string& pod) {
  return "[uid-" + pod + "(ns/" + pod + ")]: ";
}

// Schedules one pod and checks it binds to `node`/`leaves`; returns the result.
ScheduleResult ExpectBind(Scheduler& s, const std::string& pod, const PodSchedulingSpec& spec,
                          const std::string& node, const std::vector<int32_t>& leaves,
                          const std::vector<std::string>* suggested = nullptr,
                          SchedulingPhase phase = SchedulingPhase::kFiltering) {
  ScheduleResult r = s.Schedule(Pod(pod), spec, suggested, phase);
  EXPECT_EQ(r.kind, Kind::kBind) << pod << ": " << Describe(r);
  EXPECT_EQ(r.node, node) << pod << ": " << Describe(r);
  EXPECT_EQ(r.leaf_cells, leaves) << pod << ": " << Describe(r);
  EXPECT_EQ(r.bind_info.node, r.node);
  EXPECT_EQ(r.bind_info.leaf_cell_isolation, r.leaf_cells);
  return r;
}

// Schedule + commit.
ScheduleResult RunPod(Scheduler& s, const std::string& pod, const PodSchedulingSpec& spec,
                   const std::string& node, const std::vector<int32_t>& leaves,
                   const std::vector<std::string>* suggested = nullptr) {
  ScheduleResult r = ExpectBind(s, pod, spec, node, leaves, suggested);
  if (r.kind == Kind::kBind) {
    Status st = s.AddAllocatedPod(Pod(pod), spec, r.bind_info);
    EXPECT_TRUE(st.ok()) << st.message();
  }
  EXPECT_EQ(s.CheckInvariants(), "");
  return r;
}

void ExpectWait(Scheduler& s, const std::string& pod, const PodSchedulingSpec& spec,
                const std::string& reason, const std::vector<std::string>* suggested = nullptr) {
  ScheduleResult r = s.Schedule(Pod(pod), spec, suggested, SchedulingPhase::kFiltering);
  EXPECT_EQ(r.kind, Kind::kWait) << pod << ": " << Describe(r);
  EXPECT_EQ(r.message, reason);
}

void ExpectError(Scheduler& s, const std::string& pod, const PodSchedulingSpec& spec,
                 const std::string& message) {
  ScheduleResult r = s.Schedule(Pod(pod), spec, nullptr, SchedulingPhase::kFiltering);
  EXPECT_EQ(r.kind, Kind::kError) << pod << ": " << Describe(r);
  EXPECT_EQ(r.message, Prefix(pod) + message);
}

const CellStatus& Cell(const Scheduler& s, const std::string& address) {
  static std::vector<CellStatus> keep;
  keep = s.PhysicalCluster();
  const CellStatus* c = FindCell(keep, address);
  EXPECT_NE(c, nullptr) << address;
  static const CellStatus kMissing;
  return c ? *c : kMissing;
}

CellStatus VCell(const Scheduler& s, const std::string& vc, const std::string& address) {
  auto v = s.VirtualCluster(vc);
  EXPECT_TRUE(v.ok());
  const CellStatus* c = v.ok() ? FindCell(*v, address) : nullptr;
  EXPECT_NE(c, nullptr) << address;
  return c ? *c : CellStatus{};
}

std::string GroupState(const Scheduler& s, const std::string& group) {
  auto g = s.AffinityGroup(group);
  return g.ok() ? g->state : "absent";
}

// ---------------------------------------------------------------------------
// The heterogeneous cluster.
//
//   DGX2      = 4 x V100-QUAD, node level (16 GPUs); V100-QUAD = 4 x V100
//   K80-RACK  = 2 x K80-NODE; K80-NODE = 2 x K80-SW, node level; K80-SW = 4 x K80
//   T4-NODE   = 4 x T4, node level
//   physicalCells: dgx-0, dgx-1 (chain DGX2); racks "2" = [k80-0, k80-1] and
//   "3" = [k80-2, k80-3] (chain K80-RACK); t4-0, t4-1 (chain T4-NODE).
//   vc-a: DGX2 x1 (vc-a/0), K80-RACK.K80-NODE x2 (vc-a/1, vc-a/2)
//   vc-b: DGX2.V100-QUAD x2 (vc-b/0, vc-b/1), K80-RACK.K80-NODE.K80-SW x1
//         (vc-b/2), T4-NODE x1 (vc-b/3)
//   vc-c: no cells.
//
// Addresses (2.4): dgx-0's quads dgx-0/0..3, leaves dgx-0/q/(4q..4q+3), leaf
// index 0..15; K80 leaves 2/k80-0/0/0..3 and 2/k80-0/1/4..7.
//
// Startup (9), derived step by step with 8.1/8.2:
// * DGX2 chain (d0, d1 = dgx-0, dgx-1; levels 1 leaf, 2 quad, 3 node):
//   marking d1 bad dooms vc-a/0 -> d0; marking d1's quads dooms vc-b/0 -> q10
//   and vc-b/1 -> q12. Healing d0 releases d0 (free[3] = [d0]); healing q10
//   releases it and the unbind rule releases q12, merging d1 back:
//   free[3] = [d0, d1], the configuration order.
// * K80 chain (R0 = "2", R1 = "3"): doomed vc-a/1 -> k80-0, vc-a/2 -> k80-2,
//   vc-b/2 -> sw 2/k80-1/1; healing releases them in an order that merges
//   both racks back: free[4] = [R0, R1].
// * T4 chain: marking t4-1 bad dooms vc-b/3 -> t4-0; healing t4-0 gives it
//   back with an append: free[2] = [t4-1, t4-0] (reversed, Q6).
Config HeteroConfig() {
  Config c;
  c.cell_types = {
      CellType("V100-QUAD", "V100", 4),      CellType("DGX2", "V100-QUAD", 4, true),
      CellType("K80-SW", "K80", 4),          CellType("K80-NODE", "K80-SW", 2, true),
      CellType("K80-RACK", "K80-NODE", 2),   CellType("T4-NODE", "T4", 4, true),
  };
  c.physical_cells = {
      PCell("DGX2", "dgx-0"),
      PCell("DGX2", "dgx-1"),
      PCell("K80-RACK", std::nullopt, {Child("k80-0"), Child("k80-1")}),
      PCell("K80-RACK", std::nullopt, {Child("k80-2"), Child("k80-3")}),
      PCell("T4-NODE", "t4-0"),
      PCell("T4-NODE", "t4-1"),
  };
  c.virtual_clusters = {
      Vc("vc-a", {{"DGX2", 1}, {"K80-RACK.K80-NODE", 2}}),
      Vc("vc-b", {{"DGX2.V100-QUAD", 2}, {"K80-RACK.K80-NODE.K80-SW", 1}, {"T4-NODE", 1}}),
      Vc("vc-c", {}),
  };
  return c;
}

class SchedulerScenarioTest : public ::testing::Test {
 protected:
  void SetUp() override {
    s_ = MakeScheduler(HeteroConfig(), &clock_);
    ASSERT_NE(s_, nullptr);
    ASSERT_EQ(s_->CheckInvariants(), "");
  }
  Scheduler& s() { return *s_; }
  ManualClock clock_{1000};
  std::unique_ptr<Scheduler> s_;
};

TEST_F(SchedulerScenarioTest, InitialInspectOutput) {
  auto phys = s().PhysicalCluster();
  ASSERT_EQ(phys.size(), 6u);  // top cells in configuration order (11.3)
  std::vector<std::string> tops;
  for (const auto& c : phys) tops.push_back(c.cell_address);
  EXPECT_EQ(tops, (std::vector<std::string>{"dgx-0", "dgx-1", "2", "3", "t4-0", "t4-1"}));
  EXPECT_EQ(phys[2].leaf_cell_type, "K80");
  EXPECT_EQ(phys[2].cell_type, "K80-RACK");
  EXPECT_FALSE(phys[2].is_node_level);
  const CellStatus& leaf = Cell(s(), "2/k80-0/1/7");
  EXPECT_EQ(leaf.cell_type, "K80");
  EXPECT_TRUE(leaf.cell_children.empty());
  EXPECT_TRUE(Cell(s(), "2/k80-0").is_node_level);
  // Everything free and healthy after startup; no doomed binding is left.
  std::string dump = DumpCluster(s());
  EXPECT_EQ(dump.find("Bad"), std::string::npos) << dump;
  EXPECT_EQ(dump.find("bound="), std::string::npos) << dump;
  EXPECT_EQ(dump.find("Used"), std::string::npos) << dump;
  auto vb = s().VirtualCluster("vc-b");
  ASSERT_TRUE(vb.ok());
  std::vector<std::string> vaddr;
  for (const auto& c : *vb) vaddr.push_back(c.cell_address + ":" + c.cell_type);
  EXPECT_EQ(vaddr, (std::vector<std::string>{"vc-b/0:V100-QUAD", "vc-b/1:V100-QUAD",
                                             "vc-b/2:K80-SW", "vc-b/3:T4-NODE"}));
  EXPECT_EQ(s().VirtualClusterNames(), (std::vector<std::string>{"vc-a", "vc-b", "vc-c"}));
}

// 5.4 split order and 6.3 intra-VC packing in the DGX2 chain.
TEST_F(SchedulerScenarioTest, BuddySplitOrderAndIntraVcPacking) {
  // b1: vc-b's TAS nodes are its two quads [vc-b/0, vc-b/1] (sub-node
  // preassigned cells are nodes, 6.3); vc-b/0 first, leaf vc-b/0/0. Mapping:
  // free[2] empty, free[3] = [d0, d1] -> split d0, first quad q00 -> leaf 0.
  // Commit takes q00: free[2] = [q00,q01,q02,q03] minus q00 by swap-remove
  // = [q03, q01, q02] (5.4).
  ScheduleResult r = RunPod(s(), "b1", Spec("vc-b", 0, "V100", 1, "b1"), "dgx-0", {0});
  EXPECT_EQ(r.cell_chain, "DGX2");
  ASSERT_EQ(r.bind_info.affinity_group_bind_info.size(), 1u);
  ASSERT_EQ(r.bind_info.affinity_group_bind_info[0].pod_placements.size(), 1u);
  const auto& pp = r.bind_info.affinity_group_bind_info[0].pod_placements[0];
  EXPECT_EQ(pp.physical_node, "dgx-0");
  EXPECT_EQ(pp.physical_leaf_cell_indices, std::vector<int32_t>{0});
  EXPECT_EQ(pp.preassigned_cell_types, std::vector<std::string>{"V100-QUAD"});
  // b2: packing -- vc-b/0 has 1 used leaf, ranks first; leaf vc-b/0/1 maps
  // inside q00 to the first unbound leaf, 1.
  RunPod(s(), "b2", Spec("vc-b", 0, "V100", 1, "b2"), "dgx-0", {1});
  // b3 (4 GPUs): vc-b/0 has 2 free -> vc-b/1. free[2] = [q03, q01, q02] is
  // the lowest non-empty level: q03, leaves 12..15 (not q01).
  RunPod(s(), "b3", Spec("vc-b", 0, "V100", 4, "b3"), "dgx-0", Seq(12, 15));
  // a1 (16 GPUs): vc-a/0 is a whole DGX2; free[3] = [d1].
  ScheduleResult a1 = RunPod(s(), "a1", Spec("vc-a", 0, "V100", 16, "a1"), "dgx-1", Seq(0, 15));
  EXPECT_EQ(a1.bind_info.affinity_group_bind_info[0].pod_placements[0].preassigned_cell_types,
            std::vector<std::string>(16, "DGX2"));
  // b4: ranking by used leaves: vc-b/1 (4 used, full), vc-b/0 (2 used) -> leaf 2.
  RunPod(s(), "b4", Spec("vc-b", 0, "V100", 1, "b4"), "dgx-0", {2});
  // b5 (2 GPUs): vc-b/0 has 1 free, vc-b/1 none; both passes fail.
  ExpectWait(s(), "b5", Spec("vc-b", 0, "V100", 2, "b5"),
             "insufficient capacity when scheduling in VC vc-b");
  // Inspect: quad dgx-0/0 bound to vc-b/0, dgx-1 to vc-a/0.
  const CellStatus& q00 = Cell(s(), "dgx-0/0");
  EXPECT_EQ(q00.cell_state, "Used");
  EXPECT_EQ(q00.vc, "vc-b");
  ASSERT_EQ(q00.bound.size(), 1u);
  EXPECT_EQ(q00.bound[0].cell_address, "vc-b/0");
  const CellStatus& q03 = Cell(s(), "dgx-0/3");
  ASSERT_EQ(q03.bound.size(), 1u);
  EXPECT_EQ(q03.bound[0].cell_address, "vc-b/1");
  EXPECT_EQ(Cell(s(), "dgx-0/1").cell_state, "Free");
  EXPECT_TRUE(Cell(s(), "dgx-0/1").bound.empty());
  EXPECT_EQ(Cell(s(), "dgx-0/0/3").cell_state, "Free");
  CellStatus va = VCell(s(), "vc-a", "vc-a/0");
  ASSERT_EQ(va.bound.size(), 1u);
  EXPECT_EQ(va.bound[0].cell_address, "dgx-1");
  EXPECT_EQ(va.cell_priority, 0);
}

// 6.3: sub-node preassigned cells are separate "nodes": two free 1-GPU
// capacities on different quads never combine for one 2-GPU pod (Q8), and
// a guaranteed pod never exceeds its VC's quota.
TEST_F(SchedulerScenarioTest, QuotaIsNeverExceeded) {
  RunPod(s(), "b1", Spec("vc-b", 0, "V100", 3, "b1"), "dgx-0", {0, 1, 2});
  // vc-b/0 has 1 free; vc-b/1 is free -> 3 GPUs on vc-b/1 = q03 (12..14).
  RunPod(s(), "b2", Spec("vc-b", 0, "V100", 3, "b2"), "dgx-0", {12, 13, 14});
  ExpectWait(s(), "b3", Spec("vc-b", 0, "V100", 2, "b3"),
             "insufficient capacity when scheduling in VC vc-b");
  // Opportunistic pods are not bound by quota (6.6).
  ExpectBind(s(), "o1", Spec("vc-b", -1, "V100", 2, "o1"), "dgx-1", {0, 1});
}

// 6.2 / Q2: without leafCellType, leaf types are tried in descending byte-wise
// order (V100 > T4 > K80); the wait reason is the last chain's (K80).
TEST_F(SchedulerScenarioTest, LeafTypesTriedInDescendingOrder) {
  ScheduleResult r = ExpectBind(s(), "n1", Spec("vc-b", 0, "", 1, "n1"), "dgx-0", {0});
  EXPECT_EQ(r.cell_chain, "DGX2");
  // 8 GPUs fit in none of vc-b's cells (quads 4, K80-SW 4, T4 node 4): the
  // wait says so after HiveD's reason (feasibility.h).
  ExpectWait(s(), "n2", Spec("vc-b", 0, "", 8, "n2"),
             "insufficient capacity when scheduling in VC vc-b; can never fit under the "
             "current configuration: 8 GPUs per pod and the largest node VC vc-b can use "
             "holds 4 (fits with 4 GPUs per pod; fits in VC vc-a)");
  // T4 chain after startup is free[2] = [t4-1, t4-0] (see the config comment).
  r = ExpectBind(s(), "t1", Spec("vc-b", 0, "T4", 1, "t1"), "t4-1", {0});
  EXPECT_EQ(r.cell_chain, "T4-NODE");
  // vc-c has no cells at all (6.2, Apiary's wording).
  ExpectWait(s(), "c1", Spec("vc-c", 0, "", 1, "c1"), "VC vc-c has no cells to schedule on");
}

// 4.3 user errors, with HiveD's "[uid(ns/name)]: " prefix.
TEST_F(SchedulerScenarioTest, SchedulingTimeUserErrors) {
  ExpectError(s(), "e1", Spec("nope", 0, "V100", 1, "e1"), "VC nope does not exists!");
  PodSchedulingSpec pinned = Spec("vc-a", 0, "V100", 1, "e2");
  pinned.pinned_cell_id = "pin-x";
  ExpectError(s(), "e2", pinned, "VC vc-a does not have pinned cell pin-x");
  ExpectError(s(), "e3", Spec("vc-a", 0, "H100", 1, "e3"),
              "Pod requesting leaf cell type H100 which the whole cluster does not have");
  ExpectError(s(), "e4", Spec("vc-a", 0, "T4", 1, "e4"),
              "Pod requesting leaf cell type T4 which VC vc-a does not have");
  ExpectError(s(), "e5", Spec("vc-c", 0, "V100", 1, "e5"),
              "Pod requesting leaf cell type V100 which VC vc-c does not have");
  // An opportunistic pod may use a type its VC has no quota of: opportunistic
  // TAS over [t4-0, t4-1], both empty -> t4-0.
  ExpectBind(s(), "o1", Spec("vc-a", -1, "T4", 1, "o1"), "t4-0", {0});
  EXPECT_EQ(s().CheckInvariants(), "");
  EXPECT_TRUE(s().AffinityGroups().empty());  // nothing committed
}

// Multi-pod gangs: a [1,1,4] gang (6.3 assignment and leaf picking, 7.1
// slots, 10 bind info) in the K80 chain.
TEST_F(SchedulerScenarioTest, MixedGangSlotsAndBindInfo) {
  auto spec = [](int32_t leaves) {
    return Spec("vc-a", 0, "K80", leaves, "mixed", {{2, 1}, {1, 4}});
  };
  // vc-a's K80 TAS nodes: [vc-a/1, vc-a/2] (node-level preassigned cells).
  // Pods ascending [1,1,4] all fit on vc-a/1 (8 leaves). Leaves: vc-a/1/0/0,
  // vc-a/1/0/1, then for 4 leaves the first set inside one switch among what
  // is left: vc-a/1/1/4..7. Mapping: vc-a/1 by buddy from free[4] = [R0, R1]:
  // R0 split, k80-0. The 4-GPU pod asks first; it still gets slot 0 of its
  // own leaf count.
  ScheduleResult r4 = ExpectBind(s(), "m4", spec(4), "k80-0", {4, 5, 6, 7});
  EXPECT_EQ(r4.cell_chain, "K80-RACK");
  const PodBindInfo& bi = r4.bind_info;
  ASSERT_EQ(bi.affinity_group_bind_info.size(), 2u);  // ascending leaf count (10)
  const auto& m1 = bi.affinity_group_bind_info[0].pod_placements;
  const auto& m4 = bi.affinity_group_bind_info[1].pod_placements;
  ASSERT_EQ(m1.size(), 2u);
  ASSERT_EQ(m4.size(), 1u);
  EXPECT_EQ(m1[0].physical_node, "k80-0");
  EXPECT_EQ(m1[0].physical_leaf_cell_indices, std::vector<int32_t>{0});
  EXPECT_EQ(m1[1].physical_leaf_cell_indices, std::vector<int32_t>{1});
  EXPECT_EQ(m4[0].physical_leaf_cell_indices, (std::vector<int32_t>{4, 5, 6, 7}));
  EXPECT_EQ(m4[0].preassigned_cell_types, std::vector<std::string>(4, "K80-NODE"));
  ASSERT_EQ(r4.group_placement.size(), 2u);
  EXPECT_EQ(r4.group_placement[0].leaf_cell_number, 1);
  ASSERT_TRUE(s().AddAllocatedPod(Pod("m4"), spec(4), bi).ok());
  EXPECT_EQ(s().CheckInvariants(), "");
  // The whole gang's leaves are taken at the first commit (7.1, Q16).
  EXPECT_EQ(Cell(s(), "2/k80-0/0/0").cell_state, "Used");
  EXPECT_EQ(Cell(s(), "2/k80-0/0/1").cell_state, "Used");
  EXPECT_EQ(Cell(s(), "2/k80-0/0/2").cell_state, "Free");
  // Later pods take the next free slot of their leaf count (6.1).
  RunPod(s(), "m1a", spec(1), "k80-0", {0});
  RunPod(s(), "m1b", spec(1), "k80-0", {1});
  ExpectError(s(), "m1c", spec(1),
              "Requesting more pods than the configured number for 1 leaf cells (2 pods) in "
              "affinity group mixed");
  ExpectError(s(), "m2", spec(2),
              "Requesting more pods than the configured number for 2 leaf cells (0 pods) in "
              "affinity group mixed");
  auto g = s().AffinityGroup("mixed");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->state, "Allocated");
  EXPECT_EQ(g->vc, "vc-a");
  ASSERT_EQ(g->physical_placement.size(), 1u);
  EXPECT_EQ(g->physical_placement[0].first, "k80-0");
  EXPECT_EQ(g->physical_placement[0].second, (std::vector<int32_t>{0, 1, 4, 5, 6, 7}));
  // 7.1 re-derives the virtual cells from the physical leaves in bind-info
  // order: first free unbound cell at each level.
  ASSERT_EQ(g->virtual_placement.size(), 1u);
  EXPECT_EQ(g->virtual_placement[0].first, "vc-a/1");
  EXPECT_EQ(g->virtual_placement[0].second,
            (std::vector<std::string>{"vc-a/1/0/0", "vc-a/1/0/1", "vc-a/1/1/4", "vc-a/1/1/5",
                                      "vc-a/1/1/6", "vc-a/1/1/7"}));
  EXPECT_EQ(g->allocated_pods, (std::vector<std::string>{"uid-m1a", "uid-m1b", "uid-m4"}));
  // Deleting pods one by one keeps the cells until the last pod is gone (7.2).
  ASSERT_TRUE(s().DeleteAllocatedPod("uid-m4").ok());
  ASSERT_TRUE(s().DeleteAllocatedPod("uid-m1a").ok());
  EXPECT_EQ(Cell(s(), "2/k80-0/1/4").cell_state, "Used");
  ASSERT_TRUE(s().DeleteAllocatedPod("uid-m1b").ok());
  EXPECT_EQ(GroupState(s(), "mixed"), "absent");
  EXPECT_EQ(Cell(s(), "2").cell_state, "Free");
  EXPECT_TRUE(Cell(s(), "2/k80-0").bound.empty());
  EXPECT_EQ(s().DeleteAllocatedPod("uid-m1b").code(), StatusCode::kNotFound);
  EXPECT_EQ(s().CheckInvariants(), "");
}

// A 4 x 4 gang inside one DGX2 node: each pod takes the first whole quad
// left (6.3 leaf picking).
TEST_F(SchedulerScenarioTest, FourPodGangOnOneNode) {
  auto spec = Spec("vc-a", 0, "V100", 4, "g4", {{4, 4}});
  ScheduleResult r = ExpectBind(s(), "p0", spec, "dgx-0", {0, 1, 2, 3});
  const auto& pl = r.bind_info.affinity_group_bind_info.at(0).pod_placements;
  ASSERT_EQ(pl.size(), 4u);
  for (int k = 0; k < 4; ++k) {
    EXPECT_EQ(pl[k].physical_node, "dgx-0");
    EXPECT_EQ(pl[k].physical_leaf_cell_indices, Seq(4 * k, 4 * k + 3));
  }
  ASSERT_TRUE(s().AddAllocatedPod(Pod("p0"), spec, r.bind_info).ok());
  RunPod(s(), "p1", spec, "dgx-0", Seq(4, 7));
  RunPod(s(), "p2", spec, "dgx-0", Seq(8, 11));
  RunPod(s(), "p3", spec, "dgx-0", Seq(12, 15));
  // vc-b now maps its quads into dgx-1 (free[3] = [d1]).
  RunPod(s(), "b", Spec("vc-b", 0, "V100", 1, "b"), "dgx-1", {0});
}

// 6.6: opportunistic pods avoid nodes with guaranteed use and pack together;
// their leaves show as fake "-opp" cells in the VC (11.3).
TEST_F(SchedulerScenarioTest, OpportunisticAvoidsGuaranteedAndPacks) {
  // Guaranteed vc-a 1 GPU: vc-a/1 by buddy from free[4] = [R0, R1] -> k80-0.
  RunPod(s(), "g1", Spec("vc-a", 0, "K80", 1, "g1"), "k80-0", {0});
  // Opportunistic TAS over [k80-0..3]: k80-0 has guaranteed use -> ranks
  // after the three empty nodes (stable) -> k80-1, first leaf.
  ScheduleResult o1 = RunPod(s(), "o1", Spec("vc-b", -1, "K80", 1, "o1"), "k80-1", {0});
  EXPECT_EQ(o1.bind_info.affinity_group_bind_info[0].pod_placements[0].preassigned_cell_types,
            std::vector<std::string>{""});
  // More opportunistic usage first: k80-1 again.
  RunPod(s(), "o2", Spec("vc-b", -1, "K80", 1, "o2"), "k80-1", {1});
  const CellStatus& leaf = Cell(s(), "2/k80-1/0/0");
  EXPECT_EQ(leaf.cell_state, "Used");
  EXPECT_EQ(leaf.cell_priority, -1);
  EXPECT_EQ(leaf.vc, "vc-b");
  EXPECT_TRUE(leaf.bound.empty());
  auto vb = s().VirtualCluster("vc-b");
  ASSERT_TRUE(vb.ok());
  ASSERT_EQ(vb->size(), 6u);  // 4 preassigned + 2 fake cells, in order added
  EXPECT_EQ((*vb)[4].cell_address, "2/k80-1/0/0-opp");
  EXPECT_EQ((*vb)[5].cell_address, "2/k80-1/0/1-opp");
  EXPECT_EQ((*vb)[4].cell_type, "K80");
  EXPECT_EQ((*vb)[4].cell_priority, -1);
  EXPECT_EQ((*vb)[4].cell_state, "Used");
  EXPECT_TRUE((*vb)[4].leaf_cell_type.empty());
  ASSERT_EQ((*vb)[4].bound.size(), 1u);
  EXPECT_EQ((*vb)[4].bound[0].cell_address, "2/k80-1/0/0");
  // vc-a's second node (8 GPUs): buddy never looks above the lowest
  // non-empty level (6.5): free[3] = [k80-1] -> k80-1 although rack "3" is
  // empty; the opportunistic pods are the victims (7.3). Matching sorts the
  // candidates at every level by fewest opportunistic leaves: vc-a/2/0 ->
  // switch 2/k80-1/1 (0 used), vc-a/2/1 -> switch 2/k80-1/0, whose leaves
  // sort as 2, 3 (free) before 0, 1 (opportunistic).
  ScheduleResult r = s().Schedule(Pod("g2"), Spec("vc-a", 0, "K80", 8, "g2"), nullptr,
                                  SchedulingPhase::kFiltering);
  ASSERT_EQ(r.kind, Kind::kPreempt) << Describe(r);
  ASSERT_EQ(r.victims.size(), 2u);
  EXPECT_EQ(r.victims[0].pod.uid, "uid-o1");
  EXPECT_EQ(r.victims[1].pod.uid, "uid-o2");
  EXPECT_EQ(r.victims[0].node, "k80-1");
  ASSERT_EQ(r.placement.size(), 1u);
  EXPECT_EQ(r.placement[0].first, "k80-1");
  EXPECT_EQ(r.placement[0].second, (std::vector<int32_t>{4, 5, 6, 7, 2, 3, 0, 1}));
  EXPECT_EQ(s().AffinityGroups().size(), 3u);  // Filtering creates nothing
}

// Victims are sorted by "namespace/name" as one string (hived.md 6.1): a
// namespace that extends another sorts by its next byte ('-' < '/'), not
// shorter-first as comparing (namespace, name) pairs would.
TEST_F(SchedulerScenarioTest, VictimsSortByFullNameBytes) {
  // As in OpportunisticAvoidsGuaranteedAndPacks: the opportunistic pods land
  // on k80-1, which vc-a's second node then needs.
  RunPod(s(), "g1", Spec("vc-a", 0, "K80", 1, "g1"), "k80-0", {0});
  const PodRef a{"uid-a", "team", "y"};
  const PodRef b{"uid-b", "team-a", "x"};
  for (const PodRef& p : {a, b}) {
    PodSchedulingSpec spec = Spec("vc-b", -1, "K80", 1, p.name);
    spec.affinity_group_name = p.FullName();
    ScheduleResult r = s().Schedule(p, spec, nullptr, SchedulingPhase::kFiltering);
    ASSERT_EQ(r.kind, Kind::kBind) << Describe(r);
    ASSERT_TRUE(s().AddAllocatedPod(p, spec, r.bind_info).ok());
  }
  ScheduleResult r = s().Schedule(Pod("g2"), Spec("vc-a", 0, "K80", 8, "g2"), nullptr,
                                  SchedulingPhase::kFiltering);
  ASSERT_EQ(r.kind, Kind::kPreempt) << Describe(r);
  ASSERT_EQ(r.victims.size(), 2u);
  EXPECT_EQ(r.victims[0].pod.FullName(), "team-a/x");
  EXPECT_EQ(r.victims[1].pod.FullName(), "team/y");
}

// Preemption lifecycle inside a VC (6.1, 7.3): victims, Preempting /
// BeingPreempted, Reserving / Reserved, completion on commit.
TEST_F(SchedulerScenarioTest, PreemptionLifecycle) {
  // low1 -> vc-b/0 -> q00 (dgx-0 0..3); low2 -> vc-b/1 -> q03 (12..15).
  RunPod(s(), "low1", Spec("vc-b", 1, "V100", 4, "low1"), "dgx-0", Seq(0, 3));
  RunPod(s(), "low2", Spec("vc-b", 1, "V100", 4, "low2"), "dgx-0", Seq(12, 15));
  // high (priority 5): pass -1 fails; pass 5 sees both quads as preemptible,
  // ties keep the persisted order [vc-b/0, vc-b/1] -> low1's leaves.
  auto high = Spec("vc-b", 5, "V100", 4, "high");
  ScheduleResult r = s().Schedule(Pod("high"), high, nullptr, SchedulingPhase::kFiltering);
  ASSERT_EQ(r.kind, Kind::kPreempt) << Describe(r);
  ASSERT_EQ(r.victims.size(), 1u);
  EXPECT_EQ(r.victims[0].pod.uid, "uid-low1");
  EXPECT_EQ(r.victims[0].node, "dgx-0");
  EXPECT_EQ(GroupState(s(), "high"), "absent");  // Filtering creates nothing
  EXPECT_EQ(GroupState(s(), "low1"), "Allocated");
  // Preempting phase creates the Preempting group.
  r = s().Schedule(Pod("high"), high, nullptr, SchedulingPhase::kPreempting);
  ASSERT_EQ(r.kind, Kind::kPreempt) << Describe(r);
  EXPECT_EQ(GroupState(s(), "high"), "Preempting");
  EXPECT_EQ(GroupState(s(), "low1"), "BeingPreempted");
  EXPECT_EQ(GroupState(s(), "low2"), "Allocated");
  EXPECT_EQ(s().AffinityGroup("high")->preempting_pods, std::vector<std::string>{"uid-high"});
  const CellStatus& l0 = Cell(s(), "dgx-0/0/0");
  EXPECT_EQ(l0.cell_state, "Reserving");
  EXPECT_EQ(l0.cell_priority, 5);  // the preemptor's priority (5.2)
  EXPECT_EQ(Cell(s(), "dgx-0/0").cell_state, "Reserving");
  EXPECT_EQ(Cell(s(), "dgx-0").cell_state, "Used");
  EXPECT_EQ(s().CheckInvariants(), "");
  // Asking again while victims remain: preempt again.
  r = s().Schedule(Pod("high"), high, nullptr, SchedulingPhase::kFiltering);
  EXPECT_EQ(r.kind, Kind::kPreempt) << Describe(r);
  // The victim goes: Reserving -> Reserved (7.3).
  ASSERT_TRUE(s().DeleteAllocatedPod("uid-low1").ok());
  EXPECT_EQ(GroupState(s(), "low1"), "absent");
  EXPECT_EQ(Cell(s(), "dgx-0/0/2").cell_state, "Reserved");
  EXPECT_EQ(Cell(s(), "dgx-0/0").cell_state, "Reserved");
  EXPECT_EQ(Cell(s(), "dgx-0/0/2").cell_priority, 5);
  EXPECT_EQ(s().CheckInvariants(), "");
  // Completion: bind on the stored placement, commit makes it Allocated.
  r = ExpectBind(s(), "high", high, "dgx-0", Seq(0, 3));
  ASSERT_TRUE(s().AddAllocatedPod(Pod("high"), high, r.bind_info).ok());
  EXPECT_EQ(GroupState(s(), "high"), "Allocated");
  EXPECT_EQ(Cell(s(), "dgx-0/0/1").cell_state, "Used");
  EXPECT_TRUE(s().AffinityGroup("high")->preempting_pods.empty());
  auto g = s().AffinityGroup("high");
  EXPECT_EQ(g->virtual_placement.at(0).first, "vc-b/0");
  EXPECT_EQ(s().CheckInvariants(), "");
}

// 7.4: deleting the preemptor's pods cancels the preemption; the cells go
// back to the victim exactly as they were; the victim keeps its label (Q15)
// but schedules as Allocated.
TEST_F(SchedulerScenarioTest, PreemptionCancelledByDeletion) {
  RunPod(s(), "low1", Spec("vc-b", 1, "V100", 4, "low1"), "dgx-0", Seq(0, 3));
  RunPod(s(), "low2", Spec("vc-b", 1, "V100", 4, "low2"), "dgx-0", Seq(12, 15));
  std::string before = DumpCluster(s());
  auto high = Spec("vc-b", 5, "V100", 4, "high");
  ScheduleResult r = s().Schedule(Pod("high"), high, nullptr, SchedulingPhase::kPreempting);
  ASSERT_EQ(r.kind, Kind::kPreempt) << Describe(r);
  EXPECT_NE(DumpCluster(s()), before);
  EXPECT_TRUE(s().DeleteUnallocatedPod("uid-high"));
  EXPECT_EQ(GroupState(s(), "high"), "absent");
  EXPECT_EQ(DumpCluster(s()), before);
  EXPECT_EQ(GroupState(s(), "low1"), "BeingPreempted");
  EXPECT_EQ(s().CheckInvariants(), "");
}

// 6.1 step 4 / 7.4: a higher-priority preemptor overlapping a Preempting
// group cancels it (Preempting phase only) and takes over its victims.
TEST_F(SchedulerScenarioTest, PreemptionCancelledByHigherPriorityPreemptor) {
  RunPod(s(), "low1", Spec("vc-b", 1, "V100", 4, "low1"), "dgx-0", Seq(0, 3));
  RunPod(s(), "low2", Spec("vc-b", 1, "V100", 4, "low2"), "dgx-0", Seq(12, 15));
  auto high = Spec("vc-b", 5, "V100", 4, "high");
  ASSERT_EQ(s().Schedule(Pod("high"), high, nullptr, SchedulingPhase::kPreempting).kind,
            Kind::kPreempt);
  // higher (10): pass 10 -> vc-b/0 first again (ties keep order); its
  // leaves are Reserving (victim low1, preemptor high).
  auto higher = Spec("vc-b", 10, "V100", 4, "higher");
  ScheduleResult r = s().Schedule(Pod("higher"), higher, nullptr, SchedulingPhase::kFiltering);
  ASSERT_EQ(r.kind, Kind::kPreempt) << Describe(r);
  EXPECT_EQ(GroupState(s(), "high"), "Preempting");  // Filtering cancels nothing
  r = s().Schedule(Pod("higher"), higher, nullptr, SchedulingPhase::kPreempting);
  ASSERT_EQ(r.kind, Kind::kPreempt) << Describe(r);
  ASSERT_EQ(r.victims.size(), 1u);
  EXPECT_EQ(r.victims[0].pod.uid, "uid-low1");
  EXPECT_EQ(GroupState(s(), "high"), "absent");
  EXPECT_EQ(GroupState(s(), "higher"), "Preempting");
  EXPECT_EQ(GroupState(s(), "low1"), "BeingPreempted");
  EXPECT_EQ(Cell(s(), "dgx-0/0/3").cell_state, "Reserving");
  EXPECT_EQ(Cell(s(), "dgx-0/0/3").cell_priority, 10);
  EXPECT_EQ(s().CheckInvariants(), "");
  // Equal priority is never preempted (6.3): another priority-1 pod waits.
  ExpectWait(s(), "eq", Spec("vc-b", 1, "V100", 4, "eq"),
             "insufficient capacity when scheduling in VC vc-b");
}

// A Filtering-phase bind over cells Reserved by a lower-priority preemptor
// (6.1 step 4 cancels nothing in Filtering) cancels that preemption when it
// is committed (engine fix; HiveD would allocate the cells twice).
TEST_F(SchedulerScenarioTest, CommitOverReservedCellsCancelsLowerPreemptor) {
  RunPod(s(), "low1", Spec("vc-b", 1, "V100", 4, "low1"), "dgx-0", Seq(0, 3));
  RunPod(s(), "low2", Spec("vc-b", 1, "V100", 4, "low2"), "dgx-0", Seq(12, 15));
  auto mid = Spec("vc-b", 3, "V100", 4, "mid");
  ASSERT_EQ(s().Schedule(Pod("mid"), mid, nullptr, SchedulingPhase::kPreempting).kind,
            Kind::kPreempt);
  ASSERT_TRUE(s().DeleteAllocatedPod("uid-low1").ok());  // mid's cells: Reserved
  EXPECT_EQ(Cell(s(), "dgx-0/0/0").cell_state, "Reserved");
  // top (5): pass 5 finds both quads preemptible, ties keep [vc-b/0, vc-b/1]
  // -> vc-b/0, whose leaves mid reserved: no victim, so Filtering binds.
  auto top = Spec("vc-b", 5, "V100", 4, "top");
  ScheduleResult r = ExpectBind(s(), "top", top, "dgx-0", Seq(0, 3));
  EXPECT_EQ(GroupState(s(), "mid"), "Preempting");  // Filtering changed nothing
  ASSERT_TRUE(s().AddAllocatedPod(Pod("top"), top, r.bind_info).ok());
  EXPECT_EQ(GroupState(s(), "mid"), "absent");
  EXPECT_EQ(GroupState(s(), "top"), "Allocated");
  EXPECT_EQ(Cell(s(), "dgx-0/0/0").cell_state, "Used");
  EXPECT_EQ(Cell(s(), "dgx-0/0/0").cell_priority, 5);
  EXPECT_EQ(s().CheckInvariants(), "");
  // A Preempting group of equal or higher priority is never overridden.
  auto low3 = Spec("vc-b", 1, "V100", 4, "low3");
  EXPECT_FALSE(s().AddAllocatedPod(Pod("low3"), low3, r.bind_info).ok());
}

// 6.4 lazy preemption: the victim is downgraded to opportunistic, the
// preemptor's placement is re-mapped elsewhere, and the mark stands even
// for a Filtering call that is never committed.
TEST_F(SchedulerScenarioTest, LazyPreemption) {
  auto lazy = Spec("vc-b", 1, "V100", 4, "lazy");
  lazy.lazy_preemption_enable = true;
  RunPod(s(), "lazy", lazy, "dgx-0", Seq(0, 3));  // vc-b/0 -> q00; free[2] = [q03,q01,q02]
  RunPod(s(), "low2", Spec("vc-b", 1, "V100", 4, "low2"), "dgx-0", Seq(12, 15));
  // after low2: free[2] = [q02, q01] (q03 swap-removed).
  // high picks vc-b/0 (lazy's virtual leaves), lazily preempts "lazy": its
  // leaves go to priority -1, vc-b/0 is released and q00 given back:
  // free[2] = [q02, q01, q00]. Mapping vc-b/0 again: candidates sorted by
  // fewest opportunistic leaves: q02 (0), q01 (0), q00 (4) -> q02 (8..11):
  // no victim.
  clock_.Set(1234);
  auto high = Spec("vc-b", 5, "V100", 4, "high");
  ExpectBind(s(), "high", high, "dgx-0", Seq(8, 11));
  auto g = s().AffinityGroup("lazy");
  ASSERT_TRUE(g.ok());
  ASSERT_TRUE(g->lazy_preemption.has_value());
  EXPECT_EQ(g->lazy_preemption->preemptor, "high");
  EXPECT_EQ(g->lazy_preemption->preemption_time, 1234);
  EXPECT_TRUE(g->virtual_placement.empty());
  EXPECT_EQ(g->state, "Allocated");
  EXPECT_EQ(Cell(s(), "dgx-0/0/0").cell_priority, -1);
  EXPECT_TRUE(Cell(s(), "dgx-0/0").bound.empty());
  auto vb = s().VirtualCluster("vc-b");
  ASSERT_TRUE(vb.ok());
  ASSERT_EQ(vb->size(), 8u);
  EXPECT_EQ((*vb)[4].cell_address, "dgx-0/0/0-opp");
  EXPECT_EQ((*vb)[7].cell_address, "dgx-0/0/3-opp");
  EXPECT_EQ(s().CheckInvariants(), "");
  ASSERT_TRUE(s().AddAllocatedPod(Pod("high"), high,
                                  ExpectBind(s(), "high", high, "dgx-0", Seq(8, 11)).bind_info)
                  .ok());
  EXPECT_EQ(s().CheckInvariants(), "");
  ASSERT_EQ(Cell(s(), "dgx-0/2").bound.size(), 1u);
  EXPECT_EQ(Cell(s(), "dgx-0/2").bound[0].cell_address, "vc-b/0");
  // Deleting everything frees every cell.
  for (const char* uid : {"uid-lazy", "uid-low2", "uid-high"})
    ASSERT_TRUE(s().DeleteAllocatedPod(uid).ok()) << uid;
  std::string dump = DumpCluster(s());
  EXPECT_EQ(dump.find("Used"), std::string::npos) << dump;
  EXPECT_EQ(dump.find("bound="), std::string::npos) << dump;
  EXPECT_EQ(s().CheckInvariants(), "");
}

// 8: new pods avoid bad nodes; a bad free cell never receives a pod.
TEST_F(SchedulerScenarioTest, NewPodsAvoidBadNodes) {
  ASSERT_TRUE(s().SetNodeHealth("dgx-0", false).ok());
  EXPECT_EQ(Cell(s(), "dgx-0").cell_healthiness, "Bad");
  EXPECT_EQ(Cell(s(), "dgx-0/0/0").cell_healthiness, "Bad");
  // Marking d0 bad dooms nothing: vcFree never exceeds healthy(l) (8.1).
  EXPECT_EQ(DumpCluster(s()).find("bound="), std::string::npos);
  // vc-b: buddy from free[3] = [d0, d1]; d0 is bad -> d1.
  RunPod(s(), "b1", Spec("vc-b", 0, "V100", 1, "b1"), "dgx-1", {0});
  // Opportunistic: the healthy node first.
  RunPod(s(), "o1", Spec("vc-a", -1, "V100", 1, "o1"), "dgx-1", {1});
  // Committing b1 took q10 and split d1 (5.5): totalLeft[3] = 1 and
  // badFree[3] = [d0], so healthy(3) = 0 < vcFree(vc-a) = 1 and the bind
  // rule at the split level (8.2 trigger 1) dooms vc-a/0 -> dgx-0. vc-a's
  // scheduler therefore sees its only node as bad.
  CellStatus va0 = VCell(s(), "vc-a", "vc-a/0");
  EXPECT_EQ(va0.cell_healthiness, "Bad");
  ASSERT_EQ(va0.bound.size(), 1u);
  EXPECT_EQ(va0.bound[0].cell_address, "dgx-0");
  ExpectWait(s(), "a1", Spec("vc-a", 0, "V100", 16, "a1"),
             "have to use at least one bad node dgx-0 when scheduling in VC vc-a");
  // Healing dgx-0 releases the doomed cell (unbind rule): vc-a/0 -> dgx-0.
  ASSERT_TRUE(s().SetNodeHealth("dgx-0", true).ok());
  EXPECT_TRUE(VCell(s(), "vc-a", "vc-a/0").bound.empty());
  ExpectBind(s(), "a1", Spec("vc-a", 0, "V100", 16, "a1"), "dgx-0", Seq(0, 15));
  EXPECT_EQ(s().CheckInvariants(), "");
  EXPECT_EQ(s().SetNodeHealth("nope", false).code(), StatusCode::kNotFound);
}

// 8.2 doomed cells: with both DGX2 nodes bad, vc-a/0 and both vc-b quads are
// doomed (the same derivation as startup): vc-a/0 -> dgx-0, vc-b/0 ->
// dgx-1/0, vc-b/1 -> dgx-1/2. Healing dgx-1 releases vc-b's and then vc-a's
// doomed cells; the free list becomes [d1, d0].
TEST_F(SchedulerScenarioTest, DoomedCellsAndHealing) {
  ASSERT_TRUE(s().SetNodeHealth("dgx-0", false).ok());
  ASSERT_TRUE(s().SetNodeHealth("dgx-1", false).ok());
  EXPECT_EQ(s().CheckInvariants(), "");
  CellStatus vb0 = VCell(s(), "vc-b", "vc-b/0");
  EXPECT_EQ(vb0.cell_healthiness, "Bad");
  EXPECT_EQ(vb0.cell_state, "Free");
  ASSERT_EQ(vb0.bound.size(), 1u);
  EXPECT_EQ(vb0.bound[0].cell_address, "dgx-1/0");
  CellStatus vb1 = VCell(s(), "vc-b", "vc-b/1");
  ASSERT_EQ(vb1.bound.size(), 1u);
  EXPECT_EQ(vb1.bound[0].cell_address, "dgx-1/2");
  CellStatus va0 = VCell(s(), "vc-a", "vc-a/0");
  ASSERT_EQ(va0.bound.size(), 1u);
  EXPECT_EQ(va0.bound[0].cell_address, "dgx-0");
  EXPECT_EQ(VCell(s(), "vc-a", "vc-a/0/2/9").cell_healthiness, "Bad");  // bad descendants bound
  // The VC's scheduler sees the bad nodes: the first node fits and is bad.
  ExpectWait(s(), "b1", Spec("vc-b", 0, "V100", 1, "b1"),
             "have to use at least one bad node dgx-1/0 when scheduling in VC vc-b");
  ExpectWait(s(), "o1", Spec("vc-b", -1, "V100", 1, "o1"),
             "have to use at least one bad node dgx-0 when scheduling in physical cluster");
  // Heal dgx-1.
  ASSERT_TRUE(s().SetNodeHealth("dgx-1", true).ok());
  EXPECT_EQ(s().CheckInvariants(), "");
  EXPECT_TRUE(VCell(s(), "vc-b", "vc-b/0").bound.empty());
  EXPECT_TRUE(VCell(s(), "vc-a", "vc-a/0").bound.empty());
  EXPECT_EQ(VCell(s(), "vc-a", "vc-a/0").cell_healthiness, "Healthy");
  ExpectBind(s(), "b1", Spec("vc-b", 0, "V100", 1, "b1"), "dgx-1", {0});
  // Heal dgx-0 too: the free list stays [d1, d0], so vc-a's DGX2 now lands
  // on dgx-1 (at startup it would be dgx-0).
  ASSERT_TRUE(s().SetNodeHealth("dgx-0", true).ok());
  EXPECT_EQ(s().CheckInvariants(), "");
  std::string dump = DumpCluster(s());
  EXPECT_EQ(dump.find("Bad"), std::string::npos) << dump;
  EXPECT_EQ(dump.find("bound="), std::string::npos) << dump;
  ExpectBind(s(), "a1", Spec("vc-a", 0, "V100", 16, "a1"), "dgx-1", Seq(0, 15));
}

// 6.1: an Allocated group's decision stands even when its node turns bad.
TEST_F(SchedulerScenarioTest, AllocatedGangKeepsDecisionOnBadNode) {
  // [4,4] in vc-b: vc-b/0 -> q00 (buddy splits d0 in the copies), vc-b/1 ->
  // copied free[2] = [q03, q01, q02] -> q03.
  auto spec = Spec("vc-b", 0, "V100", 4, "gang", {{2, 4}});
  RunPod(s(), "p0", spec, "dgx-0", Seq(0, 3));
  ASSERT_TRUE(s().SetNodeHealth("dgx-0", false).ok());
  EXPECT_EQ(s().CheckInvariants(), "");
  RunPod(s(), "p1", spec, "dgx-0", Seq(12, 15));
  EXPECT_EQ(Cell(s(), "dgx-0/0/0").cell_healthiness, "Bad");
  EXPECT_EQ(Cell(s(), "dgx-0/0/0").cell_state, "Used");
  // Deleting the gang on the bad node: the cells are free but stay bad.
  ASSERT_TRUE(s().DeleteAllocatedPod("uid-p0").ok());
  ASSERT_TRUE(s().DeleteAllocatedPod("uid-p1").ok());
  EXPECT_EQ(s().CheckInvariants(), "");
  EXPECT_EQ(Cell(s(), "dgx-0").cell_state, "Free");
  ASSERT_TRUE(s().SetNodeHealth("dgx-0", true).ok());
  std::string dump = DumpCluster(s());
  EXPECT_EQ(dump.find("Bad"), std::string::npos) << dump;
  EXPECT_EQ(dump.find("bound="), std::string::npos) << dump;
  EXPECT_EQ(s().CheckInvariants(), "");
}

// 8.3 suggested nodes, and 6.5's safe relaxed buddy allocation.
TEST_F(SchedulerScenarioTest, SuggestedNodesAndRelaxedBuddy) {
  auto picky = [](const std::string& vc, int32_t prio, const std::string& type, int32_t n,
                  const std::string& g) {
    PodSchedulingSpec sp = Spec(vc, prio, type, n, g);
    sp.ignore_k8s_suggested_nodes = false;
    return sp;
  };
  std::vector<std::string> only_d1{"dgx-1"};
  ExpectBind(s(), "b1", picky("vc-b", 0, "V100", 1, "b1"), "dgx-1", {0}, &only_d1);
  // Ignoring suggestions (the default), the same call goes to dgx-0.
  ExpectBind(s(), "b2", Spec("vc-b", 0, "V100", 1, "b2"), "dgx-0", {0}, &only_d1);
  ExpectBind(s(), "o1", picky("vc-b", -1, "V100", 1, "o1"), "dgx-1", {0}, &only_d1);
  std::vector<std::string> none;
  ScheduleResult r =
      s().Schedule(Pod("b3"), picky("vc-b", 0, "V100", 1, "b3"), &none, SchedulingPhase::kFiltering);
  ASSERT_EQ(r.kind, Kind::kWait);
  EXPECT_EQ(r.message.rfind("Mapping the virtual placement would need to use at least one bad "
                            "or non-suggested node (virtual placement : ",
                            0),
            0u)
      << r.message;
  // Relaxed buddy: vc-a takes k80-0 (R0 split): free[3] = [k80-1],
  // free[4] = [R1]. vc-b's switch with only k80-3 suggested: plain buddy
  // starts at level 3 and fails (k80-1 not suggested); relaxed: splittable
  // [4] = 1, [3] = 1 - 1 + 1*2 = 2; level 3 (k80-1's switches) fails,
  // level 4 takes R1 and prepends its four switches; the first usable one
  // is k80-3's first switch "3/k80-3/0".
  RunPod(s(), "a1", Spec("vc-a", 0, "K80", 1, "a1"), "k80-0", {0});
  std::vector<std::string> only_k3{"k80-3"};
  ScheduleResult rb = RunPod(s(), "b4", picky("vc-b", 0, "K80", 1, "b4"), "k80-3", {0}, &only_k3);
  ASSERT_EQ(Cell(s(), "3/k80-3/0").bound.size(), 1u);
  EXPECT_EQ(Cell(s(), "3/k80-3/0").bound[0].cell_address, "vc-b/2");
  // Safety holds: vc-a's second node is still obtainable (k80-1 or k80-2).
  RunPod(s(), "a2", Spec("vc-a", 0, "K80", 8, "a2"), "k80-1", Seq(0, 7));
}

// 7.2 / 5.4: deleting every group releases every preassigned cell and merges
// the buddies back; the inspect output equals the initial one exactly.
TEST_F(SchedulerScenarioTest, DeletingEverythingRestoresInitialInspect) {
  const std::string initial = DumpCluster(s());
  RunPod(s(), "b1", Spec("vc-b", 0, "V100", 1, "b1"), "dgx-0", {0});
  RunPod(s(), "b2", Spec("vc-b", 0, "V100", 4, "b2"), "dgx-0", Seq(12, 15));
  RunPod(s(), "a1", Spec("vc-a", 0, "V100", 16, "a1"), "dgx-1", Seq(0, 15));
  RunPod(s(), "k1", Spec("vc-a", 0, "K80", 8, "k1"), "k80-0", Seq(0, 7));
  RunPod(s(), "k2", Spec("vc-b", 0, "K80", 2, "k2"), "k80-1", {0, 1});  // free[3] = [k80-1]
  RunPod(s(), "o1", Spec("vc-c", -1, "K80", 4, "o1"), "k80-2", Seq(0, 3));
  RunPod(s(), "t1", Spec("vc-b", 0, "T4", 4, "t1"), "t4-1", Seq(0, 3));
  EXPECT_NE(DumpCluster(s()), initial);
  for (const char* uid : {"uid-k1", "uid-b1", "uid-o1", "uid-a1", "uid-t1", "uid-k2", "uid-b2"}) {
    ASSERT_TRUE(s().DeleteAllocatedPod(uid).ok()) << uid;
    EXPECT_EQ(s().CheckInvariants(), "") << uid;
  }
  EXPECT_EQ(DumpCluster(s()), initial);
  EXPECT_TRUE(s().AffinityGroups().empty());
}

// 7.1 recovery: replaying the bind info into a fresh scheduler reproduces
// the same state.
TEST_F(SchedulerScenarioTest, RecoveryFromBindInfoReproducesState) {
  auto gang4 = Spec("vc-a", 0, "K80", 4, "gang", {{2, 1}, {1, 4}});
  auto gang = Spec("vc-a", 0, "K80", 1, "gang", {{2, 1}, {1, 4}});
  ScheduleResult r1 = RunPod(s(), "g4", gang4, "k80-0", {4, 5, 6, 7});
  ScheduleResult r2 = RunPod(s(), "g1", gang, "k80-0", {0});
  ScheduleResult r3 = RunPod(s(), "b1", Spec("vc-b", 0, "V100", 2, "b1"), "dgx-0", {0, 1});
  ScheduleResult r4 = RunPod(s(), "o1", Spec("vc-c", -1, "T4", 1, "o1"), "t4-0", {0});
  std::string want = DumpCluster(s());
  ManualClock clock(1000);
  auto fresh = MakeScheduler(HeteroConfig(), &clock);
  ASSERT_NE(fresh, nullptr);
  ASSERT_TRUE(fresh->AddAllocatedPod(Pod("g4"), gang4, r1.bind_info).ok());
  ASSERT_TRUE(fresh->AddAllocatedPod(Pod("g1"), gang, r2.bind_info).ok());
  ASSERT_TRUE(fresh->AddAllocatedPod(Pod("b1"), Spec("vc-b", 0, "V100", 2, "b1"), r3.bind_info).ok());
  ASSERT_TRUE(fresh->AddAllocatedPod(Pod("o1"), Spec("vc-c", -1, "T4", 1, "o1"), r4.bind_info).ok());
  fresh->FinishRecovery();
  EXPECT_EQ(DumpCluster(*fresh), want);
  EXPECT_EQ(fresh->CheckInvariants(), "");
  // The recovered gang hands out its remaining slot as the original would.
  ExpectBind(*fresh, "g1b", gang, "k80-0", {1});
  ExpectBind(s(), "g1b", gang, "k80-0", {1});
}

// ---------------------------------------------------------------------------
// Chains tried in descending byte-wise name (6.2, Q1): "alpha" > "Zeta".
Config TwoChainConfig() {
  Config c;
  c.cell_types = {CellType("Zeta", "GPU", 4, true), CellType("alpha", "GPU", 4, true)};
  c.physical_cells = {PCell("Zeta", "z-0"), PCell("alpha", "a-0")};
  c.virtual_clusters = {Vc("v", {{"Zeta", 1}, {"alpha", 1}})};
  return c;
}

TEST(SchedulerChainOrderTest, ChainsTriedInDescendingByteWiseName) {
  ManualClock clock;
  auto s = MakeScheduler(TwoChainConfig(), &clock);
  ASSERT_NE(s, nullptr);
  ScheduleResult r = RunPod(*s, "p1", Spec("v", 0, "GPU", 1, "p1"), "a-0", {0});
  EXPECT_EQ(r.cell_chain, "alpha");
  // 4 GPUs: "alpha" has 3 left -> "Zeta".
  r = RunPod(*s, "p2", Spec("v", 0, "GPU", 4, "p2"), "z-0", {0, 1, 2, 3});
  EXPECT_EQ(r.cell_chain, "Zeta");
  // Neither fits: the reason is the last chain tried ("Zeta").
  ExpectWait(*s, "p3", Spec("v", 0, "GPU", 4, "p3"),
             "insufficient capacity when scheduling in VC v");
  // Opportunistic pods walk the chains in the same order.
  RunPod(*s, "o1", Spec("v", -1, "GPU", 1, "o1"), "a-0", {1});
}

// ---------------------------------------------------------------------------
// The worked example of hived.md 2.4 / 2.5 with an explicit leaf address.
//   ROW = 2 x RACK; RACK = 2 x NODE; NODE = 4 x A100, node level.
Config WorkedExampleConfig() {
  Config c;
  c.cell_types = {CellType("ROW", "RACK", 2), CellType("RACK", "NODE", 2),
                  CellType("NODE", "A100", 4, true)};
  PhysicalCellSpec gpu_c = Child("gpu-c");
  gpu_c.cell_children = {PCell("", "7"), PCell(""), PCell(""), PCell("")};
  c.physical_cells = {
      PCell("NODE", "gpu-a"),
      PCell("RACK", std::nullopt, {Child("gpu-b"), gpu_c}),
      PCell("ROW", std::nullopt,
            {PCell("", std::nullopt, {Child("gpu-d"), Child("gpu-e")}),
             PCell("", std::nullopt, {Child("gpu-f"), Child("gpu-g")})}),
  };
  c.virtual_clusters = {Vc("vc-blue", {{"ROW.RACK", 1}, {"RACK.NODE", 2}})};
  return c;
}

TEST(SchedulerWorkedExampleTest, AddressesAndPlacements) {
  ManualClock clock;
  auto s = MakeScheduler(WorkedExampleConfig(), &clock);
  ASSERT_NE(s, nullptr);
  auto phys = s->PhysicalCluster();
  for (const char* a : {"gpu-a", "gpu-a/3", "1", "1/gpu-b", "1/gpu-b/0", "1/gpu-c/7",
                        "1/gpu-c/1", "1/gpu-c/3", "2", "2/4", "2/5", "2/5/gpu-f",
                        "2/5/gpu-f/0"})
    EXPECT_NE(FindCell(phys, a), nullptr) << a;
  EXPECT_EQ(FindCell(phys, "1/gpu-c/0"), nullptr);
  auto v = s->VirtualCluster("vc-blue");
  ASSERT_TRUE(v.ok());
  for (const char* a : {"vc-blue/0", "vc-blue/0/0", "vc-blue/0/1", "vc-blue/0/1/4",
                        "vc-blue/0/1/7", "vc-blue/1", "vc-blue/2", "vc-blue/2/3"})
    EXPECT_NE(FindCell(*v, a), nullptr) << a;
  EXPECT_EQ((*v)[0].cell_type, "RACK");
  EXPECT_EQ((*v)[1].cell_type, "NODE");
  // Chains of A100 tried: ROW, RACK, NODE. A [4,4] gang: ROW's TAS nodes are
  // vc-blue/0/0, vc-blue/0/1; buddy splits "2" (free[4] = ["2"] after
  // startup) -> rack 2/4 -> gpu-d, gpu-e.
  auto gang = Spec("vc-blue", 0, "A100", 4, "g1", {{2, 4}});
  ScheduleResult r = ExpectBind(*s, "g1a", gang, "gpu-d", {0, 1, 2, 3});
  EXPECT_EQ(r.cell_chain, "ROW");
  EXPECT_EQ(r.bind_info.affinity_group_bind_info[0].pod_placements[1].physical_node, "gpu-e");
  EXPECT_EQ(r.bind_info.affinity_group_bind_info[0].pod_placements[0].preassigned_cell_types,
            std::vector<std::string>(4, "RACK"));
  ASSERT_TRUE(s->AddAllocatedPod(Pod("g1a"), gang, r.bind_info).ok());
  // ROW is full now; RACK chain: vc-blue/1 -> split "1" -> gpu-b.
  r = RunPod(*s, "g2", Spec("vc-blue", 0, "A100", 2, "g2"), "gpu-b", {0, 1});
  EXPECT_EQ(r.cell_chain, "RACK");
  RunPod(*s, "g3", Spec("vc-blue", 0, "A100", 2, "g3"), "gpu-b", {2, 3});
  // vc-blue/2 -> free[2] = [gpu-c]; its leaves in tree order are 7, 1, 2, 3.
  r = RunPod(*s, "g4", Spec("vc-blue", 0, "A100", 2, "g4"), "gpu-c", {7, 1});
  EXPECT_EQ(r.bind_info.affinity_group_bind_info[0].pod_placements[0].preassigned_cell_types,
            (std::vector<std::string>{"NODE", "NODE"}));
  EXPECT_EQ(r.cell_chain, "RACK");
  // Nothing left for 2 GPUs in vc-blue; the last chain tried was RACK (vc-blue
  // has no NODE-chain cells, so that chain is skipped).
  ExpectWait(*s, "g5", Spec("vc-blue", 0, "A100", 3, "g5"),
             "insufficient capacity when scheduling in VC vc-blue");
}

// ---------------------------------------------------------------------------
// Pinned cells (2.5, 6.2).
//   RACK = 2 x NODE8 (node level) = 2 x SW4 = 4 x GPU.
//   racks "0" = [n0 (pinned pin-n0), n1], "1" = [n2, n3].
//   vp: RACK.NODE8 x1 (vp/0) + pinned pin-n0 (vp/1); vq: RACK.NODE8 x1 (vq/0).
// Startup: pinned n0 is bound at construction (R0 split: free[3] = [n1],
// free[4] = [R1]). Marking bad dooms vp/0 -> n1 and vq/0 -> n3 (R1 split);
// healing n1 releases n1 (free[3] = [n2, n1]) and the unbind rule releases
// n3, merging R1: free[3] = [n1], free[4] = [R1].
Config PinnedConfig() {
  Config c;
  c.cell_types = {CellType("RACK", "NODE8", 2), CellType("NODE8", "SW4", 2, true),
                  CellType("SW4", "GPU", 4)};
  c.physical_cells = {
      PCell("RACK", std::nullopt, {Child("n0", "pin-n0"), Child("n1")}),
      PCell("RACK", std::nullopt, {Child("n2"), Child("n3")}),
  };
  c.virtual_clusters = {Vc("vp", {{"RACK.NODE8", 1}}, {"pin-n0"}),
                        Vc("vq", {{"RACK.NODE8", 1}})};
  return c;
}

TEST(SchedulerPinnedTest, PinnedCells) {
  ManualClock clock;
  auto s = MakeScheduler(PinnedConfig(), &clock);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->CheckInvariants(), "");
  CellStatus vp1 = VCell(*s, "vp", "vp/1");
  ASSERT_EQ(vp1.bound.size(), 1u);
  EXPECT_EQ(vp1.bound[0].cell_address, "0/n0");
  EXPECT_TRUE(VCell(*s, "vp", "vp/1/0").bound.empty());  // bad-time bindings undone
  auto pinned = [](const std::string& vc, int32_t prio, int32_t n, const std::string& g) {
    PodSchedulingSpec sp = Spec(vc, prio, "", n, g);
    sp.pinned_cell_id = "pin-n0";
    return sp;
  };
  ExpectError(*s, "e1", pinned("vq", 0, 1, "e1"), "VC vq does not have pinned cell pin-n0");
  ExpectError(*s, "e2", pinned("vp", -1, 1, "e2"),
              "opportunistic pod not supported to use pinned cell pin-n0");
  // Pinned TAS node vp/1; 4 leaves: the first whole switch vp/1/0 -> n0's
  // first switch (step 3 of 6.5: vp/1 is bound).
  ScheduleResult r = RunPod(*s, "p1", pinned("vp", 0, 4, "p1"), "n0", {0, 1, 2, 3});
  EXPECT_EQ(r.bind_info.affinity_group_bind_info[0].pod_placements[0].preassigned_cell_types,
            std::vector<std::string>(4, "NODE8"));
  ExpectWait(*s, "p2", pinned("vp", 0, 8, "p2"), "insufficient capacity when scheduling in VC vp");
  // vq's node: buddy's lowest non-empty level is 3 -> n1 (next to the pinned node).
  RunPod(*s, "q1", Spec("vq", 0, "GPU", 8, "q1"), "n1", Seq(0, 7));
  // vp's non-pinned node: free[3] empty -> split R1 -> n2.
  RunPod(*s, "p3", Spec("vp", 0, "GPU", 8, "p3"), "n2", Seq(0, 7));
  // Deleting everything keeps the pinned binding.
  for (const char* uid : {"uid-p1", "uid-q1", "uid-p3"}) ASSERT_TRUE(s->DeleteAllocatedPod(uid).ok());
  EXPECT_EQ(s->CheckInvariants(), "");
  vp1 = VCell(*s, "vp", "vp/1");
  ASSERT_EQ(vp1.bound.size(), 1u);
  EXPECT_EQ(vp1.cell_state, "Free");
  EXPECT_TRUE(VCell(*s, "vp", "vp/0").bound.empty());
}

// ---------------------------------------------------------------------------
// Lazy preemption meeting a bad node (engine fix, see ScheduleGuaranteed).
//   R = 2 x N (node level, n0 and n1), N = 2 x S, S = 4 x G; vc0 owns the
//   whole rack (vc0/0). Startup leaves free[3] = [R].
TEST(SchedulerLazyBadNodeTest, LazyPreemptionNeverPlacesOnBadNode) {
  Config c;
  c.cell_types = {CellType("R", "N", 2), CellType("N", "S", 2, true), CellType("S", "G", 4)};
  c.physical_cells = {PCell("R", std::nullopt, {Child("n0"), Child("n1")})};
  c.virtual_clusters = {Vc("vc0", {{"R", 1}})};
  ManualClock clock;
  auto s = MakeScheduler(c, &clock);
  ASSERT_NE(s, nullptr);
  // g0 (lazy, priority 0): vc0/0/0/0/0 -> R -> n0, leaf 0.
  auto g0 = Spec("vc0", 0, "G", 1, "g0");
  g0.lazy_preemption_enable = true;
  RunPod(*s, "g0", g0, "n0", {0});
  // n1 turns bad inside the bound rack: n1 is bound to vc0/0/1 (8.1).
  ASSERT_TRUE(s->SetNodeHealth("n1", false).ok());
  ASSERT_EQ(VCell(*s, "vc0", "vc0/0/1").bound.at(0).cell_address, "0/n1");
  // g2 = 2 x 4 at priority 1: pass -1 fails (the second pod would need the
  // bad vc0/0/1); pass 1 puts both pods on vc0/0/0, the first one on
  // [vc0/0/0/0/1..3, vc0/0/0/0/0] (the first whole-switch combination,
  // 6.3), which holds g0's leaf -> g0 is lazily preempted (6.4). Releasing
  // g0's leaf releases the (bad) rack; the bind rule dooms it again and
  // binds bad n1 to the first unbound child, now vc0/0/0 -- the node g2's
  // placement is on. HiveD would bind g2 to bad n1; Apiary fails the
  // mapping, and g0 stays lazily preempted.
  auto g2 = Spec("vc0", 1, "G", 4, "g2", {{2, 4}});
  ScheduleResult r = s->Schedule(Pod("g2"), g2, nullptr, SchedulingPhase::kFiltering);
  EXPECT_EQ(r.kind, Kind::kWait) << Describe(r);
  EXPECT_EQ(r.message.rfind("Mapping the virtual placement would need to use at least one bad "
                            "node (virtual placement : ",
                            0),
            0u)
      << r.message;
  EXPECT_EQ(s->CheckInvariants(), "");
  auto g = s->AffinityGroup("g0");
  ASSERT_TRUE(g.ok());
  ASSERT_TRUE(g->lazy_preemption.has_value());
  EXPECT_EQ(g->lazy_preemption->preemptor, "g2");
  EXPECT_EQ(VCell(*s, "vc0", "vc0/0/0").bound.at(0).cell_address, "0/n1");
  // The next try sees vc0/0/0 as bad (bound to n1) and ranks the unbound
  // vc0/0/1 first; it maps onto n0. Matching sorts n0's switches by fewest
  // opportunistic leaves: switch 1 (4..7) first, then switch 0 with leaves
  // 1, 2, 3 before g0's opportunistic leaf 0 -- which makes g0 the victim
  // (7.3).
  r = s->Schedule(Pod("g2"), g2, nullptr, SchedulingPhase::kFiltering);
  ASSERT_EQ(r.kind, Kind::kPreempt) << Describe(r);
  ASSERT_EQ(r.victims.size(), 1u);
  EXPECT_EQ(r.victims[0].pod.uid, "uid-g0");
  ASSERT_EQ(r.placement.size(), 1u);
  EXPECT_EQ(r.placement[0].first, "n0");
  EXPECT_EQ(r.placement[0].second, (std::vector<int32_t>{4, 5, 6, 7, 1, 2, 3, 0}));
  EXPECT_EQ(s->CheckInvariants(), "");
}

// ---------------------------------------------------------------------------
// A doomed cell in use whose node heals (engine fix, see ReleaseLeaf).
//   R = 2 x N (node level), N = 2 x S, S = 2 x G; racks "0" = [n0, n1],
//   "1" = [n2, n3 (pinned pin0)]; vc1: R x1 (vc1/0) + pin0 (vc1/1).
// After construction the pinned n3 split rack "1": free[4] = ["0"],
// free[3] = [n2]; startup heals back to that.
TEST(SchedulerDoomedInUseTest, HealedDoomedCellIsReleasedWhenItsUseEnds) {
  Config c;
  c.cell_types = {CellType("R", "N", 2), CellType("N", "S", 2, true), CellType("S", "G", 2)};
  c.physical_cells = {PCell("R", std::nullopt, {Child("n0"), Child("n1")}),
                      PCell("R", std::nullopt, {Child("n2"), Child("n3", "pin0")})};
  c.virtual_clusters = {Vc("vc1", {{"R", 1}}, {"pin0"})};
  ManualClock clock;
  auto s = MakeScheduler(c, &clock);
  ASSERT_NE(s, nullptr);
  const std::string initial = DumpCluster(*s);
  // n0 bad: rack "0" enters badFree[4]; healthy(4) = 1 - 1 = 0 < vcFree = 1
  // -> vc1/0 is doomed to rack "0" and n0 bound to vc1/0/0 (8.1, 8.2).
  ASSERT_TRUE(s->SetNodeHealth("n0", false).ok());
  EXPECT_EQ(VCell(*s, "vc1", "vc1/0").bound.at(0).cell_address, "0");
  // vc1's TAS ranks the healthy unbound vc1/0/1 first; it maps under the
  // doomed rack onto n1 (6.5 step 3): the doomed cell is now in use.
  RunPod(*s, "g1", Spec("vc1", 0, "G", 4, "g1"), "n1", {0, 1, 2, 3});
  // Healing n0 leaves the rack doomed: it is in use (8.1, priority >= 0).
  ASSERT_TRUE(s->SetNodeHealth("n0", true).ok());
  EXPECT_EQ(s->CheckInvariants(), "");
  // g1 ends: the bottom-up unbinding reaches the rack; it must be released
  // (vcFree restored) rather than left unbound in the doomed list.
  ASSERT_TRUE(s->DeleteAllocatedPod("uid-g1").ok());
  EXPECT_EQ(s->CheckInvariants(), "");
  EXPECT_EQ(DumpCluster(*s), initial);
  // And the quota is usable again: vc1/0 -> rack "0" -> n0.
  ExpectBind(*s, "g2", Spec("vc1", 0, "G", 8, "g2", {{2, 4}}), "n0", {0, 1, 2, 3});
}

// ---------------------------------------------------------------------------
// A 4 x 8 gang over two racks (VC owns the whole chain).
Config TwoRackConfig() {
  Config c;
  c.cell_types = {CellType("RACK", "NODE8", 2), CellType("NODE8", "SW4", 2, true),
                  CellType("SW4", "GPU", 4)};
  c.physical_cells = {
      PCell("RACK", std::nullopt, {Child("n0"), Child("n1")}),
      PCell("RACK", std::nullopt, {Child("n2"), Child("n3")}),
  };
  c.virtual_clusters = {Vc("big", {{"RACK", 2}})};
  return c;
}

TEST(SchedulerGangTest, FourByEightAcrossRacks) {
  // Startup: doomed big/0 -> R0 (when n0 goes bad, healthy(4) = 1 < 2) and
  // big/1 -> R1; healing releases R0 then R1: free[4] = [R0, R1].
  // TAS nodes: big/0/0, big/0/1, big/1/0, big/1/1 (node level). Pods [8,8,8,8]
  // one per node; big/0 -> R0, big/1 -> R1.
  ManualClock clock;
  auto s = MakeScheduler(TwoRackConfig(), &clock);
  ASSERT_NE(s, nullptr);
  auto gang = Spec("big", 0, "GPU", 8, "g", {{4, 8}});
  ScheduleResult r = ExpectBind(*s, "p0", gang, "n0", Seq(0, 7));
  const auto& pl = r.bind_info.affinity_group_bind_info.at(0).pod_placements;
  ASSERT_EQ(pl.size(), 4u);
  EXPECT_EQ(pl[1].physical_node, "n1");
  EXPECT_EQ(pl[2].physical_node, "n2");
  EXPECT_EQ(pl[3].physical_node, "n3");
  EXPECT_EQ(pl[3].preassigned_cell_types, std::vector<std::string>(8, "RACK"));
  ASSERT_TRUE(s->AddAllocatedPod(Pod("p0"), gang, r.bind_info).ok());
  RunPod(*s, "p1", gang, "n1", Seq(0, 7));
  RunPod(*s, "p2", gang, "n2", Seq(0, 7));
  RunPod(*s, "p3", gang, "n3", Seq(0, 7));
  auto g = s->AffinityGroup("g");
  ASSERT_TRUE(g.ok());
  ASSERT_EQ(g->virtual_placement.size(), 2u);
  EXPECT_EQ(g->virtual_placement[0].first, "big/0");
  EXPECT_EQ(g->virtual_placement[1].first, "big/1");
  ExpectWait(*s, "x", Spec("big", 0, "GPU", 1, "x"),
             "insufficient capacity when scheduling in VC big");
}

// ---------------------------------------------------------------------------
// V27: the initial fit check (hived.md 3's example).
TEST(SchedulerConfigTest, InitialAssignmentMustFit) {
  Config c;
  c.cell_types = {CellType("N8", "GPU", 8, true)};
  c.physical_cells = {PCell("N8", "n0"), PCell("N8", "n1"), PCell("N8", "n2")};
  c.virtual_clusters = {Vc("a", {{"N8", 3}}), Vc("b", {{"N8.GPU", 1}})};
  ManualClock clock;
  auto r = Scheduler::Create(c, &clock);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("Illegal initial VC assignment: Insufficient physical "
                                      "cells at chain N8 level 1"),
            std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find("1 needed, 0 available"), std::string::npos);
  c.virtual_clusters = {Vc("a", {{"N8", 2}}), Vc("b", {{"N8.GPU", 8}})};
  EXPECT_TRUE(Scheduler::Create(c, &clock).ok());
}

}  // namespace
}  // namespace apiary::cell
