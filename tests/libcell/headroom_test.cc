// Guarantee headroom (apiary/cell/headroom.h): one scenario per rule of the
// definition -- a healthy cluster, bad nodes holding free cells (promise
// kept while other healthy cells exist, fewer placeable and doomed cells when
// not), doomed cells given back when a node heals, opportunistic pods not
// blocking, the VC's own guaranteed pods counted as placed (and a held cell
// on a node that turns bad), pinned cells, multi-level cells and several
// chains; and that computing it changes nothing.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "apiary/cell/headroom.h"
#include "apiary/cell/scheduler.h"
#include "scheduler_test_util.h"

namespace apiary::cell {
namespace {

using testing::CellType;
using testing::Child;
using testing::Describe;
using testing::DumpCluster;
using testing::MakeScheduler;
using testing::PCell;
using testing::Pod;
using testing::Spec;
using testing::Vc;

// Chain RACK: 2 racks x 2 nodes (n0 n1 | n2 n3) x 4 A100. Chain V-NODE: 2
// nodes (m0 m1) x 2 V100. VC a: one rack. VC b: one RACK node and one V100
// node. VC c: node n? pinned ("pin-n3" when `pin`).
Config TwoChains(bool pin = false) {
  Config c;
  c.cell_types = {CellType("NODE", "A100", 4, true), CellType("RACK", "NODE", 2),
                  CellType("V-NODE", "V100", 2, true)};
  c.physical_cells = {PCell("RACK", "r0", {Child("n0"), Child("n1")}),
                      PCell("RACK", "r1", {Child("n2"), Child("n3", pin ? "pin-n3" : "")}),
                      PCell("V-NODE", "m0"), PCell("V-NODE", "m1")};
  c.virtual_clusters = {Vc("a", {{"RACK", 1}}), Vc("b", {{"RACK.NODE", 1}, {"V-NODE", 1}})};
  if (pin) c.virtual_clusters.push_back(Vc("c", {}, {"pin-n3"}));
  return c;
}

const VcGuarantee& Find(const std::vector<VcGuarantee>& all, const std::string& vc,
                        const std::string& chain) {
  for (const auto& g : all)
    if (g.vc == vc && g.chain == chain) return g;
  ADD_FAILURE() << "no headroom entry for VC " << vc << " chain " << chain;
  static const VcGuarantee kEmpty;
  return kEmpty;
}

// "type guaranteed/placeable doomed" per level, top down, then broken.
std::string Show(const VcGuarantee& g) {
  std::string s;
  for (const auto& l : g.levels)
    s += l.cell_type + " " + std::to_string(l.placeable) + "/" + std::to_string(l.guaranteed) +
         (l.doomed ? " doomed " + std::to_string(l.doomed) : "") + "; ";
  return s + (g.broken ? "broken" : g.at_risk ? "at risk" : "kept");
}

std::string Bind(Scheduler& s, const std::string& pod, const PodSchedulingSpec& spec) {
  ScheduleResult r = s.Schedule(Pod(pod), spec, nullptr, SchedulingPhase::kFiltering);
  EXPECT_EQ(r.kind, ScheduleResult::Kind::kBind) << pod << ": " << Describe(r);
  if (r.kind != ScheduleResult::Kind::kBind) return "";
  Status st = s.AddAllocatedPod(Pod(pod), spec, r.bind_info);
  EXPECT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(s.CheckInvariants(), "");
  return r.node;
}

class HeadroomTest : public ::testing::Test {
 protected:
  void Make(const Config& c) { s_ = MakeScheduler(c, &clock_); }
  std::string Of(const std::string& vc, const std::string& chain) {
    return Show(Find(s_->GuaranteeHeadroom(), vc, chain));
  }
  void Bad(const std::string& node) { ASSERT_TRUE(s_->SetNodeHealth(node, false).ok()); }
  void Healthy(const std::string& node) { ASSERT_TRUE(s_->SetNodeHealth(node, true).ok()); }

  ManualClock clock_{1000};
  std::unique_ptr<Scheduler> s_;
};

TEST_F(HeadroomTest, HealthyClusterHasEveryCellPlaceableAtEveryLevel) {
  Make(TwoChains());
  auto all = s_->GuaranteeHeadroom();
  // Every VC in every chain it has cells in, VCs by name, chains in order.
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].vc + "/" + all[0].chain, "a/RACK");
  EXPECT_EQ(all[1].vc + "/" + all[1].chain, "b/RACK");
  EXPECT_EQ(all[2].vc + "/" + all[2].chain, "b/V-NODE");
  EXPECT_EQ(Show(all[0]), "RACK 1/1; NODE 2/2; A100 8/8; kept");
  EXPECT_EQ(Show(all[1]), "NODE 1/1; A100 4/4; kept");
  EXPECT_EQ(Show(all[2]), "V-NODE 1/1; V100 2/2; kept");
  EXPECT_EQ(all[0].levels[0].level, 3);
  EXPECT_EQ(all[0].levels[2].level, 1);
}

TEST_F(HeadroomTest, BadNodeWithFreeCellsKeepsThePromiseWhileOtherCellsExist) {
  Make(TwoChains());
  Bad("n3");  // rack r1 turns bad; a can still have r0, b a node of either
  EXPECT_EQ(Of("a", "RACK"), "RACK 1/1; NODE 2/2; A100 8/8; kept");
  EXPECT_EQ(Of("b", "RACK"), "NODE 1/1; A100 4/4; kept");
}

TEST_F(HeadroomTest, NoHealthyCellLeftDoomsACellAndBreaksThePromise) {
  Make(TwoChains());
  Bad("n3");
  Bad("n1");  // both racks bad: a's rack is doomed (hived.md 8.2)
  // Its doomed rack keeps one healthy node: half of a's nodes and GPUs.
  EXPECT_EQ(Of("a", "RACK"), "RACK 0/1 doomed 1; NODE 1/2; A100 4/8; broken");
  // The rule is per VC: b's one node fits in the other rack's healthy node.
  EXPECT_EQ(Of("b", "RACK"), "NODE 1/1; A100 4/4; kept");
  // A node coming back gives the doomed cell back (the unbind rule).
  Healthy("n1");
  EXPECT_EQ(Of("a", "RACK"), "RACK 1/1; NODE 2/2; A100 8/8; kept");
}

TEST_F(HeadroomTest, EveryNodeBadLeavesNothingPlaceable) {
  Make(TwoChains());
  for (const char* n : {"n0", "n1", "n2", "n3", "m0", "m1"}) Bad(n);
  EXPECT_EQ(Of("a", "RACK"), "RACK 0/1 doomed 1; NODE 0/2; A100 0/8; broken");
  EXPECT_EQ(Of("b", "RACK"), "NODE 0/1 doomed 1; A100 0/4; broken");
  EXPECT_EQ(Of("b", "V-NODE"), "V-NODE 0/1 doomed 1; V100 0/2; broken");
}

TEST_F(HeadroomTest, OpportunisticPodsDoNotBlock) {
  Make(TwoChains());
  // Opportunistic pods of b on every A100 and V100.
  for (int i = 0; i < 4; ++i) Bind(*s_, "opp" + std::to_string(i), Spec("b", -1, "A100", 4, "opp" + std::to_string(i)));
  for (int i = 0; i < 2; ++i) Bind(*s_, "vopp" + std::to_string(i), Spec("b", -1, "V100", 2, "vopp" + std::to_string(i)));
  EXPECT_EQ(s_->GetUsage().opportunistic_leaves, 20);
  EXPECT_EQ(Of("a", "RACK"), "RACK 1/1; NODE 2/2; A100 8/8; kept");
  EXPECT_EQ(Of("b", "RACK"), "NODE 1/1; A100 4/4; kept");
  EXPECT_EQ(Of("b", "V-NODE"), "V-NODE 1/1; V100 2/2; kept");
}

TEST_F(HeadroomTest, TheVcsOwnGuaranteedPodsCountAsPlaced) {
  Make(TwoChains());
  // a runs a whole-rack gang, b its node: every physical A100 is guaranteed.
  Bind(*s_, "a0", Spec("a", 10, "A100", 4, "ga", {{2, 4}}));
  Bind(*s_, "a1", Spec("a", 10, "A100", 4, "ga", {{2, 4}}));
  Bind(*s_, "b0", Spec("b", 10, "A100", 4, "gb"));
  EXPECT_EQ(Of("a", "RACK"), "RACK 1/1; NODE 2/2; A100 8/8; kept");
  EXPECT_EQ(Of("b", "RACK"), "NODE 1/1; A100 4/4; kept");
}

TEST_F(HeadroomTest, HeldCellOnANodeThatTurnsBadIsShortAndBroken) {
  Make(TwoChains());
  const std::string n = Bind(*s_, "b0", Spec("b", 10, "A100", 4, "gb"));
  ASSERT_FALSE(n.empty());
  Bad(n);
  // b's pod keeps its node: the cell stays on bad hardware.
  EXPECT_EQ(Of("b", "RACK"), "NODE 0/1; A100 0/4; broken");
  // a's rack goes to the other, healthy rack.
  EXPECT_EQ(Of("a", "RACK"), "RACK 1/1; NODE 2/2; A100 8/8; kept");
}

TEST_F(HeadroomTest, PinnedCellOnABadNodeCannotMove) {
  Config c = TwoChains(/*pin=*/true);
  c.virtual_clusters[0] = Vc("a", {{"RACK.NODE", 1}});  // the pinned node takes r1's half
  Make(c);
  EXPECT_EQ(Of("c", "RACK"), "NODE 1/1; A100 4/4; kept");
  Bad("n3");
  EXPECT_EQ(Of("c", "RACK"), "NODE 0/1; A100 0/4; broken");
  // a's and b's unbound nodes find healthy ones elsewhere.
  EXPECT_EQ(Of("a", "RACK"), "NODE 1/1; A100 4/4; kept");
  EXPECT_EQ(Of("b", "RACK"), "NODE 1/1; A100 4/4; kept");
}

TEST_F(HeadroomTest, ChainsAreIndependent) {
  Make(TwoChains());
  Bad("m0");
  Bad("m1");
  EXPECT_EQ(Of("b", "V-NODE"), "V-NODE 0/1 doomed 1; V100 0/2; broken");
  EXPECT_EQ(Of("b", "RACK"), "NODE 1/1; A100 4/4; kept");
  EXPECT_EQ(Of("a", "RACK"), "RACK 1/1; NODE 2/2; A100 8/8; kept");
}

TEST_F(HeadroomTest, SmallerCellsAreServedFromWhatBiggerOnesLeave) {
  // One VC with a rack and two nodes over 2 racks: with n0 bad the rack
  // must be r1, and only n1 is left healthy for the two nodes.
  Config c = TwoChains();
  c.virtual_clusters = {Vc("a", {{"RACK", 1}, {"RACK.NODE", 2}})};
  Make(c);
  EXPECT_EQ(Of("a", "RACK"), "RACK 1/1; NODE 4/4; A100 16/16; kept");
  Bad("n0");
  // HiveD's doomed rule counts each level alone (1 healthy rack for 1, 3
  // healthy nodes for 2) and dooms nothing; but once the rack takes r1,
  // only n1 is left for the two nodes: 3 of a's 4 nodes can be healthy.
  EXPECT_EQ(Of("a", "RACK"), "RACK 1/1; NODE 3/4; A100 12/16; broken");
}

TEST_F(HeadroomTest, ComputingHeadroomChangesNoState) {
  Make(TwoChains());
  Bind(*s_, "b0", Spec("b", 10, "A100", 4, "gb"));
  Bind(*s_, "o0", Spec("a", -1, "A100", 2, "go"));
  Bad("n1");
  Bad("n3");
  Bad("m1");
  const std::string before = DumpCluster(*s_);
  const auto groups_before = s_->AffinityGroups().size();
  const auto first = s_->GuaranteeHeadroom();
  const auto second = s_->GuaranteeHeadroom();
  EXPECT_EQ(DumpCluster(*s_), before);
  EXPECT_EQ(s_->AffinityGroups().size(), groups_before);
  EXPECT_EQ(s_->CheckInvariants(), "");
  ASSERT_EQ(first.size(), second.size());
  for (size_t i = 0; i < first.size(); ++i) EXPECT_EQ(Show(first[i]), Show(second[i]));
  // And the scheduler decides the same afterwards as a twin that never
  // computed it.
  ManualClock clock2{1000};
  auto twin = MakeScheduler(TwoChains(), &clock2);
  Bind(*twin, "b0", Spec("b", 10, "A100", 4, "gb"));
  Bind(*twin, "o0", Spec("a", -1, "A100", 2, "go"));
  for (const char* n : {"n1", "n3", "m1"}) ASSERT_TRUE(twin->SetNodeHealth(n, false).ok());
  EXPECT_EQ(DumpCluster(*twin), DumpCluster(*s_));
  auto spec = Spec("a", 10, "A100", 4, "ga2");
  EXPECT_EQ(Describe(twin->Schedule(Pod("x"), spec, nullptr, SchedulingPhase::kPreempting)),
            Describe(s_->Schedule(Pod("x"), spec, nullptr, SchedulingPhase::kPreempting)));
}

}  // namespace
}  // namespace apiary::cell
