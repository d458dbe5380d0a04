// TreeView (apiary/cell/cell_tree.h), through the public API only: walking
// the view gives what inspect gives, the cell counts the configuration
// implies, the used leaves the bind results name, and free lists that keep
// the buddy discipline the header documents. (The property tests check the
// first and the last after every random step too.)
#include "apiary/cell/cell_tree.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <tuple>
#include <string>
#include <utility>
#include <vector>

#include "apiary/cell/config_loader.h"
#include "apiary/cell/scheduler.h"
#include "scheduler_test_util.h"

namespace apiary::cell {
namespace {

using testing::Pod;
using testing::Spec;

class TreeViewTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loaded = LoadConfigFile(std::string(APIARY_SOURCE_DIR) +
                                 "/examples/configs/hived-basic.yaml");
    ASSERT_TRUE(loaded.ok()) << loaded.status().message();
    config_ = loaded->config;
    sched_ = testing::MakeScheduler(config_, &clock_);
    ASSERT_NE(sched_, nullptr);
  }

  // Schedules and commits one pod; returns its node and leaves.
  std::pair<std::string, std::vector<int32_t>> Bind(const std::string& name,
                                                    const PodSchedulingSpec& spec) {
    ScheduleResult r = sched_->Schedule(Pod(name), spec, nullptr, SchedulingPhase::kFiltering);
    EXPECT_EQ(r.kind, ScheduleResult::Kind::kBind) << testing::Describe(r);
    EXPECT_TRUE(sched_->AddAllocatedPod(Pod(name), spec, r.bind_info).ok());
    return {r.node, r.leaf_cells};
  }

  // Some use: a guaranteed gang in prod, a pod in research, an
  // opportunistic pod, and a bad node.
  void Allocate() {
    Bind("a-0", Spec("prod", 10, "V100", 8, "a", {{2, 8}}));
    Bind("a-1", Spec("prod", 10, "V100", 8, "a", {{2, 8}}));
    Bind("b-0", Spec("research", 5, "V100", 4, "b"));
    Bind("c-0", Spec("default", -1, "K80", 2, "c"));
    ASSERT_TRUE(sched_->SetNodeHealth("k80-03", false).ok());
  }

  void ExpectViewMatchesInspect() {
    TreeView t = sched_->Trees();
    EXPECT_EQ(testing::SerializePhysicalView(t), testing::Serialize(sched_->PhysicalCluster()));
    ASSERT_EQ(t.VcCount(), static_cast<int32_t>(sched_->VirtualClusterNames().size()));
    for (VcId vc{0}; vc < VcId(t.VcCount()); ++vc) {
      std::string name(t.VcName(vc));
      EXPECT_EQ(name, sched_->VirtualClusterNames()[vc]);
      EXPECT_EQ(t.FindVc(name), vc);
      auto inspected = sched_->VirtualCluster(name);
      ASSERT_TRUE(inspected.ok());
      EXPECT_EQ(testing::SerializeVirtualView(t, vc),
                testing::SerializeWithoutOpportunistic(*inspected))
          << name;
    }
    EXPECT_EQ(t.FindVc("no-such-vc"), VcId::None());
  }

  ManualClock clock_;
  Config config_;
  std::unique_ptr<Scheduler> sched_;
};

TEST_F(TreeViewTest, WalkAgreesWithInspectBeforeAndAfterAllocations) {
  ExpectViewMatchesInspect();
  Allocate();
  ExpectViewMatchesInspect();
}

// Cells of each type a configured cell type expands to.
void CountTypes(const Config& config, const std::string& type, int64_t times,
                std::map<std::string, int64_t>& out) {
  out[type] += times;
  for (const CellTypeSpec& t : config.cell_types)
    if (t.name == type) CountTypes(config, t.child_cell_type, times * t.child_cell_number, out);
}

TEST_F(TreeViewTest, CellCountsAreThoseOfTheConfiguration) {
  std::map<std::string, int64_t> want;
  for (const PhysicalCellSpec& p : config_.physical_cells) CountTypes(config_, p.cell_type, 1, want);
  TreeView t = sched_->Trees();
  std::map<std::string, int64_t> got;
  int32_t leaves = 0;
  for (CellId c{0}; c < CellId(t.PhysicalCellCount()); ++c) {
    PhysicalCellView p = t.Physical(c);
    EXPECT_EQ(p.id, c);
    got[std::string(p.cell_type)]++;
    EXPECT_EQ(p.cell_type, t.CellTypeAt(p.chain, p.level));
    if (p.level == 1) ++leaves;
    // Children are one level down and name their parent.
    for (CellId ch : p.children) {
      EXPECT_EQ(t.Physical(ch).parent, c);
      EXPECT_EQ(t.Physical(ch).level, p.level - 1);
    }
    // A node-level cell is the node its address ends with.
    if (p.node_level) {
      EXPECT_EQ(t.NodeName(p.node), p.address.substr(p.address.rfind('/') + 1));
    }
  }
  EXPECT_EQ(got, want);
  EXPECT_EQ(leaves, sched_->GetUsage().total_leaves);
  EXPECT_EQ(t.PhysicalTops().size(), config_.physical_cells.size());
  // Nodes in configuration order.
  ASSERT_EQ(t.NodeCount(), static_cast<int32_t>(sched_->Nodes().size()));
  for (NodeId n{0}; n < NodeId(t.NodeCount()); ++n) {
    EXPECT_EQ(t.NodeName(n), sched_->Nodes()[n]);
    EXPECT_TRUE(t.NodeHealthy(n));
  }
  // Each VC's preassigned cells: its quota (virtualCells) plus its pinned cells.
  for (const VirtualClusterSpec& vc : config_.virtual_clusters) {
    VcId id = t.FindVc(vc.name);
    ASSERT_TRUE(id.valid());
    std::map<std::string, int64_t> quota, held;
    for (const VirtualCellSpec& cell : vc.virtual_cells)
      quota[cell.cell_type.substr(cell.cell_type.rfind('.') + 1)] += cell.cell_number;
    for (VCellId top : t.VirtualTops(id)) {
      VirtualCellView v = t.Virtual(top);
      EXPECT_EQ(v.vc, id);
      EXPECT_EQ(v.preassigned, top);
      held[std::string(v.cell_type)]++;
    }
    int64_t pinned = 0;
    for (auto& [type, n] : held)
      if (quota.count(type) == 0 || n > quota[type]) pinned += n - quota[type];
    EXPECT_EQ(pinned, static_cast<int64_t>(vc.pinned_cell_ids.size())) << vc.name;
    for (auto& [type, n] : quota) EXPECT_GE(held[type], n) << vc.name << " " << type;
  }
}

TEST_F(TreeViewTest, UsedLeavesAreThoseOfTheBindResults) {
  std::set<std::tuple<std::string, int32_t, std::string>> bound;  // node, leaf, group
  auto add = [&](const std::string& group, const std::pair<std::string, std::vector<int32_t>>& b) {
    for (int32_t leaf : b.second) bound.emplace(b.first, leaf, group);
  };
  add("a", Bind("a-0", Spec("prod", 10, "V100", 8, "a", {{2, 8}})));
  add("a", Bind("a-1", Spec("prod", 10, "V100", 8, "a", {{2, 8}})));
  add("b", Bind("b-0", Spec("research", 5, "V100", 4, "b")));
  add("c", Bind("c-0", Spec("default", -1, "K80", 2, "c")));
  TreeView t = sched_->Trees();
  std::set<std::tuple<std::string, int32_t, std::string>> used;
  for (CellId c{0}; c < CellId(t.PhysicalCellCount()); ++c) {
    PhysicalCellView p = t.Physical(c);
    if (p.level != 1 || p.state != CellState::kUsed) continue;
    ASSERT_TRUE(p.group.valid()) << p.address;
    used.emplace(std::string(t.NodeName(p.node)), p.leaf_index, std::string(t.GroupName(p.group)));
    if (t.GroupName(p.group) == "c") {
      EXPECT_EQ(p.priority, kOpportunisticPriority);
      EXPECT_FALSE(p.bound.valid());  // opportunistic: no virtual cell
      EXPECT_EQ(t.VcName(p.vc), "default");
    } else {
      ASSERT_TRUE(p.bound.valid());
      EXPECT_EQ(t.Virtual(p.bound).bound, c);  // bound both ways
    }
  }
  EXPECT_EQ(used, bound);
  EXPECT_EQ(static_cast<int64_t>(used.size()), sched_->GetUsage().used_leaves);
}

TEST_F(TreeViewTest, FreeListsKeepTheBuddyDiscipline) {
  EXPECT_EQ(testing::FreeListProblem(sched_->Trees()), "");
  Allocate();
  TreeView t = sched_->Trees();
  EXPECT_EQ(testing::FreeListProblem(t), "");
  int32_t split = 0;
  for (CellId c{0}; c < CellId(t.PhysicalCellCount()); ++c) split += t.Physical(c).split;
  EXPECT_GT(split, 0);  // the allocations did split something
}

}  // namespace
}  // namespace apiary::cell
