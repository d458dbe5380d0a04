// The Mapper on its own (libcell/src/engine/mapper.h), on hand-built trees:
// one chain RACK (level 3) of two NODEs (level 2, node level) of two GPUs
// (level 1); a VC with one preassigned NODE cell of two virtual GPUs.
// Virtual to physical: buddy splits, bound (preassigned) cells kept, bad and
// non-suggested nodes avoided, opportunistic use sorted last, safety broken;
// physical to virtual: the walk through the preassigned level, the hint.
#include "engine/mapper.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace apiary::cell {
namespace {

class MapperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Chain chain;
    chain.name = "RACK";
    chain.leaf_type = "GPU";
    chain.top_level = 3;
    chain.child_number_at_level = {0, 0, 2, 2};
    chain.leaves_at_level = {0, 1, 2, 4};
    chains_.push_back(chain);
    rack_ = AddP(3, kNone, "rack");
    node_[0] = pchildren_[pcells_[rack_].child_begin];
    node_[1] = pchildren_[pcells_[rack_].child_begin + 1];
    for (int n = 0; n < 2; ++n)
      for (int g = 0; g < 2; ++g) gpu_[n][g] = pchildren_[pcells_[node_[n]].child_begin + g];
    vnode_ = AddV(2, kNone, "vc/0");
    vgpu_[0] = vchildren_[vcells_[vnode_].child_begin];
    vgpu_[1] = vchildren_[vcells_[vnode_].child_begin + 1];
    free_.assign(4, {});
    free_[3] = {rack_};
    vc_free_ = {0, 0, 1, 0};  // the VC's NODE cell is not bound yet
  }

  // A physical cell and its subtree (children contiguous in pchildren_).
  CellId AddP(int32_t level, CellId parent, const std::string& address) {
    CellId id(pcells_.size());
    pcells_.emplace_back();
    PCell& p = pcells_.back();
    p.chain = ChainId{0};
    p.level = level;
    p.parent = parent;
    p.address = address;
    p.total_leaves = chains_[0].leaves_at_level[level];
    if (level == 2) p.node = NodeId(next_node_++);
    if (level == 1) p.node = pcells_[parent].node;
    if (level == 1) return id;
    int32_t begin = static_cast<int32_t>(pchildren_.size());
    pcells_[id].child_begin = begin;
    pcells_[id].child_count = 2;
    pchildren_.resize(pchildren_.size() + 2);
    for (int32_t k = 0; k < 2; ++k) {
      CellId child = AddP(level - 1, id, address + "/" + std::to_string(k));
      pchildren_[begin + k] = child;
      if (level == 3) pcells_[id].nodes.push_back(pcells_[child].node);
    }
    return id;
  }

  VCellId AddV(int32_t level, VCellId parent, const std::string& address) {
    VCellId id(vcells_.size());
    vcells_.emplace_back();
    VCell& v = vcells_.back();
    v.vc = VcId{0};
    v.chain = ChainId{0};
    v.level = level;
    v.parent = parent;
    v.address = address;
    v.preassigned = parent == kNone ? id : vcells_[parent].preassigned;
    if (level == 1) return id;
    int32_t begin = static_cast<int32_t>(vchildren_.size());
    vcells_[id].child_begin = begin;
    vcells_[id].child_count = 2;
    vchildren_.resize(vchildren_.size() + 2);
    for (int32_t k = 0; k < 2; ++k)
      vchildren_[begin + k] = AddV(level - 1, id, address + "/" + std::to_string(k));
    return id;
  }

  CellTrees Trees() const { return {pcells_, pchildren_, vcells_, vchildren_, chains_}; }

  // Binds virtual cell v to physical cell p (as SchedulerImpl::BindCell
  // would leave the two trees).
  void Bind(VCellId v, CellId p) {
    vcells_[v].pcell = p;
    pcells_[p].vcell = v;
  }
  void SetNodeBad(int n) {
    pcells_[node_[n]].healthy = false;
    for (CellId g : gpu_[n]) pcells_[g].healthy = false;
    pcells_[rack_].healthy = false;  // an ancestor of a bad cell is bad
  }

  // Maps the placement {one pod: both virtual GPUs} in the chain.
  bool MapBothGpus(PhysCells& out, bool& safety_broken, const SuggestedSet* suggested = nullptr,
                   bool ignore_suggested = true) {
    VirtCells vplace = {{{vgpu_[0], vgpu_[1]}}};
    safety_broken = false;
    return mapper_.VirtualToPhysical(Trees(), ChainId{0}, &free_, &vc_free_, vplace, suggested,
                                     ignore_suggested, out, safety_broken);
  }

  IdVector<CellIdTag, PCell> pcells_;
  std::vector<CellId> pchildren_;
  IdVector<VCellIdTag, VCell> vcells_;
  std::vector<VCellId> vchildren_;
  IdVector<ChainIdTag, Chain> chains_;
  std::vector<std::vector<CellId>> free_;
  std::vector<int32_t> vc_free_;
  int32_t next_node_ = 0;
  CellId rack_;
  CellId node_[2];
  CellId gpu_[2][2];
  VCellId vnode_;
  VCellId vgpu_[2];
  Mapper mapper_;
};

TEST_F(MapperTest, BuddySplitsTheLowestNonEmptyLevelAndLeavesTheListsAlone) {
  PhysCells out;
  bool safety_broken;
  ASSERT_TRUE(MapBothGpus(out, safety_broken));
  // The RACK splits; its first NODE becomes the preassigned cell's image.
  EXPECT_EQ(out, (PhysCells{{{gpu_[0][0], gpu_[0][1]}}}));
  // A proposal only: the free lists and the trees are untouched.
  EXPECT_EQ(free_[3], std::vector<CellId>{rack_});
  EXPECT_TRUE(free_[2].empty());
  EXPECT_FALSE(pcells_[rack_].split);
  EXPECT_EQ(vcells_[vnode_].pcell, kNone);
  // The same call gives the same answer (the reused working state is reset).
  PhysCells again;
  ASSERT_TRUE(MapBothGpus(again, safety_broken));
  EXPECT_EQ(again, out);
}

TEST_F(MapperTest, TakesAFreeCellAtTheLevelBeforeSplittingALargerOne) {
  // The second NODE is free on its own (the RACK split before): buddy
  // allocation starts at the lowest non-empty level at or above the cell's.
  pcells_[rack_].split = true;
  free_[3].clear();
  free_[2] = {node_[1]};
  PhysCells out;
  bool safety_broken;
  ASSERT_TRUE(MapBothGpus(out, safety_broken));
  EXPECT_EQ(out, (PhysCells{{{gpu_[1][0], gpu_[1][1]}}}));
}

TEST_F(MapperTest, AvoidsBadNodes) {
  SetNodeBad(0);
  PhysCells out;
  bool safety_broken;
  ASSERT_TRUE(MapBothGpus(out, safety_broken));
  EXPECT_EQ(out, (PhysCells{{{gpu_[1][0], gpu_[1][1]}}}));
  SetNodeBad(1);
  EXPECT_FALSE(MapBothGpus(out, safety_broken));
  EXPECT_FALSE(safety_broken);  // cells are free, only unusable
}

TEST_F(MapperTest, AvoidsNonSuggestedNodesUnlessTold) {
  SuggestedSet suggested;
  suggested.Reset(2);
  suggested.Insert(pcells_[node_[1]].node);
  PhysCells out;
  bool safety_broken;
  ASSERT_TRUE(MapBothGpus(out, safety_broken, &suggested, /*ignore_suggested=*/false));
  EXPECT_EQ(out, (PhysCells{{{gpu_[1][0], gpu_[1][1]}}}));
  ASSERT_TRUE(MapBothGpus(out, safety_broken, &suggested, /*ignore_suggested=*/true));
  EXPECT_EQ(out, (PhysCells{{{gpu_[0][0], gpu_[0][1]}}}));
}

TEST_F(MapperTest, PrefersCellsWithoutOpportunisticPods) {
  pcells_[node_[0]].used.Add(kOpportunisticPriority, 1);
  pcells_[gpu_[0][0]].used.Add(kOpportunisticPriority, 1);
  PhysCells out;
  bool safety_broken;
  ASSERT_TRUE(MapBothGpus(out, safety_broken));
  EXPECT_EQ(out, (PhysCells{{{gpu_[1][0], gpu_[1][1]}}}));
}

TEST_F(MapperTest, BoundPreassignedCellKeepsItsImageAndBoundLeavesTheirs) {
  pcells_[rack_].split = true;
  free_[3].clear();
  free_[2] = {node_[0]};
  Bind(vnode_, node_[1]);
  Bind(vgpu_[0], gpu_[1][1]);
  PhysCells out;
  bool safety_broken;
  ASSERT_TRUE(MapBothGpus(out, safety_broken));
  // vgpu 0 stays on its leaf; vgpu 1 takes the other leaf under the NODE.
  EXPECT_EQ(out, (PhysCells{{{gpu_[1][1], gpu_[1][0]}}}));
}

TEST_F(MapperTest, NoFreeCellAtOrAboveTheLevelBreaksSafety) {
  pcells_[rack_].split = true;
  free_[3].clear();
  free_[1] = {gpu_[0][0], gpu_[0][1]};  // only leaves are free
  PhysCells out;
  bool safety_broken;
  EXPECT_FALSE(MapBothGpus(out, safety_broken));
  EXPECT_TRUE(safety_broken);
}

TEST_F(MapperTest, APinnedPlacementNeedsItsCellsBound) {
  VirtCells vplace = {{{vgpu_[0]}}};
  PhysCells out;
  bool safety_broken = false;
  EXPECT_FALSE(mapper_.VirtualToPhysical(Trees(), kNone, nullptr, nullptr, vplace, nullptr, true,
                                         out, safety_broken));
  EXPECT_FALSE(safety_broken);
  Bind(vnode_, node_[0]);
  ASSERT_TRUE(mapper_.VirtualToPhysical(Trees(), kNone, nullptr, nullptr, vplace, nullptr, true,
                                        out, safety_broken));
  EXPECT_EQ(out, (PhysCells{{{gpu_[0][0]}}}));
}

TEST_F(MapperTest, PhysicalToVirtualWalksThroughThePreassignedLevel) {
  std::vector<std::vector<VCellId>> preassigned(3);
  preassigned[2] = {vnode_};
  std::string message;
  // Free unbound cells: the first free virtual child at each level...
  EXPECT_EQ(Mapper::PhysicalToVirtual(Trees(), gpu_[1][1], preassigned, 2, 0, message),
            vgpu_[0]);
  // ...unless the hint (a persisted virtual leaf) is free.
  EXPECT_EQ(Mapper::PhysicalToVirtual(Trees(), gpu_[1][1], preassigned, 2, 0, message, vgpu_[1]),
            vgpu_[1]);
  EXPECT_TRUE(message.empty());
  // A bound physical cell maps to its virtual cell.
  Bind(vgpu_[1], gpu_[0][0]);
  EXPECT_EQ(Mapper::PhysicalToVirtual(Trees(), gpu_[0][0], preassigned, 2, 0, message), vgpu_[1]);
  // A physical cell that is not free at the preassigned level does not map.
  pcells_[rack_].split = true;
  pcells_[node_[1]].split = true;
  EXPECT_EQ(Mapper::PhysicalToVirtual(Trees(), gpu_[1][0], preassigned, 2, 0, message), kNone);
  EXPECT_EQ(message, "physical cell rack/1 is not free at the preassigned level (2)");
}

TEST_F(MapperTest, LowestPriorityVirtualTakesAFreeCellElseTheStrictlyLowest) {
  std::vector<VCellId> cells = {vgpu_[0], vgpu_[1]};
  vcells_[vgpu_[0]].priority = 5;
  vcells_[vgpu_[1]].priority = 3;
  EXPECT_EQ(Mapper::LowestPriorityVirtual(Trees(), cells, 10), vgpu_[1]);
  EXPECT_EQ(Mapper::LowestPriorityVirtual(Trees(), cells, 3), kNone);  // none below 3
  vcells_[vgpu_[0]].priority = kFreePriority;
  EXPECT_EQ(Mapper::LowestPriorityVirtual(Trees(), cells, 10), vgpu_[0]);
  EXPECT_EQ(Mapper::AncestorAt(Trees(), vgpu_[1], 2), vnode_);
  EXPECT_EQ(Mapper::AncestorAt(Trees(), vgpu_[1], 3), kNone);
}

}  // namespace
}  // namespace apiary::cell
