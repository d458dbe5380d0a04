// VC sizing on a small case with a known answer, locally and sharded.
#include <gtest/gtest.h>

#include "apiary/sim/sizing.h"
#include "sim_test_util.h"

namespace apiary::sim {
namespace {

using testing::J;
using testing::MakeJobs;

// VC a: three whole-node jobs at once; VC b: one 1-GPU job. With p95 wait
// <= 0, a needs 3 nodes; with <= 100 s, 2 (waits 0, 0, 100); b needs 1.
Scenario SmallScenario() {
  Scenario sc;
  sc.workload = MakeJobs({{"a0", "a", 0, 1, 8, 100},
                          {"a1", "a", 0, 1, 8, 100},
                          {"a2", "a", 0, 1, 8, 100},
                          {"b0", "b", 5, 1, 1, 50}});
  sc.node_sku = "V100";
  sc.node_gpus = 8;
  return sc;
}

int64_t CellsOf(const SizingResult& r, const std::string& vc) {
  for (const VcSizing& v : r.vcs)
    if (v.vc == vc) return v.cells;
  ADD_FAILURE() << "no VC " << vc;
  return -1;
}

TEST(SimSizing, BoundsFromLargestJobAndPeakDemand) {
  SizingOptions o;
  auto b = ComputeBounds(SmallScenario(), o);
  ASSERT_TRUE(b.ok()) << b.status().message();
  EXPECT_EQ(b->lo, (std::vector<int64_t>{1, 1}));
  EXPECT_EQ(b->hi, (std::vector<int64_t>{3, 1}));
  EXPECT_EQ(b->unit_gpus, 8);
}

TEST(SimSizing, KnownAnswerLocalSearch) {
  for (int threads : {1, 2, 3}) {
    SizingOptions o;
    o.threads = threads;
    o.max_wait_s = 0;
    auto r = SizeVcs(SmallScenario(), o);
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(CellsOf(*r, "a"), 3) << threads;
    EXPECT_EQ(CellsOf(*r, "b"), 1);
    EXPECT_TRUE(r->all_met);
    EXPECT_EQ(r->total_cells, 4);

    o.max_wait_s = 100;
    r = SizeVcs(SmallScenario(), o);
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(CellsOf(*r, "a"), 2) << threads;
    EXPECT_EQ(r->vcs[0].wait_s, 100);
    EXPECT_EQ(CellsOf(*r, "b"), 1);
  }
}

TEST(SimSizing, LargerSearchRangeAndStaticPolicy) {
  Scenario sc = SmallScenario();
  SizingOptions o;
  o.max_cells = 9;  // search 1..9 for both VCs
  o.max_wait_s = 99;
  o.policy = PolicyKind::kStatic;
  auto r = SizeVcs(sc, o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(CellsOf(*r, "a"), 3);
  EXPECT_EQ(CellsOf(*r, "b"), 1);
}

TEST(SimSizing, ShardedSweepMergesToTheSameAnswer) {
  Scenario sc = SmallScenario();
  SizingOptions o;
  o.max_cells = 5;
  o.max_wait_s = 100;
  auto bounds = ComputeBounds(sc, o);
  ASSERT_TRUE(bounds.ok());
  std::vector<std::string> texts, names;
  for (int64_t k = 0; k < 3; ++k) {
    auto pts = RunSweepShard(sc, o, k, 3);
    ASSERT_TRUE(pts.ok()) << pts.status().message();
    texts.push_back(ShardJson(sc, o, *bounds, k, 3, *pts));
    names.push_back("shard-" + std::to_string(k));
  }
  auto r = MergeShards(texts, names);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(CellsOf(*r, "a"), 2);
  EXPECT_EQ(CellsOf(*r, "b"), 1);
  EXPECT_EQ(r->simulations, 5);
  // A missing shard is named.
  texts.pop_back();
  names.pop_back();
  auto bad = MergeShards(texts, names);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("missing"), std::string::npos);
}

TEST(SimSizing, QuotaPolicyCannotBeSized) {
  SizingOptions o;
  o.policy = PolicyKind::kQuota;
  auto r = SizeVcs(SmallScenario(), o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("independently"), std::string::npos);
}

}  // namespace
}  // namespace apiary::sim
