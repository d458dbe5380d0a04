// "Can never fit under the current configuration" (feasibility.h): the named
// cases on the bundled example cluster, and soundness against the engine --
// whatever the index calls impossible, an empty, healthy cluster must not
// place either.
#include "apiary/cell/feasibility.h"

#include <gtest/gtest.h>

#include <string>

#include "apiary/cell/annotations.h"
#include "apiary/cell/config_derived.h"
#include "apiary/cell/config_loader.h"
#include "apiary/cell/scheduler.h"

namespace apiary::cell {
namespace {

// examples/configs/hived-basic.yaml: V100 nodes of 8 (2 switches of 4), a
// rack of 4 with dgx-04 pinned to prod; K80 nodes of 4, a pool of 3.
// prod: 2 V100 nodes + the pinned node; research: 2 V100 switches and 2 K80
// nodes; default: 1 K80 node.
const Config& Basic() {
  static const Config config = [] {
    auto loaded = LoadConfigFile(std::string(APIARY_SOURCE_DIR) + "/examples/configs/hived-basic.yaml");
    EXPECT_TRUE(loaded.ok()) << loaded.status().message();
    return loaded->config;
  }();
  return config;
}

const FeasibilityIndex& Index() {
  static const FeasibilityIndex index = [] {
    auto derived = DeriveConfig(Basic());
    EXPECT_TRUE(derived.ok());
    return FeasibilityIndex::Build(Basic(), *derived);
  }();
  return index;
}

PodSchedulingSpec Parse(const std::string& text) {
  auto spec = ParsePodSchedulingSpec(text, "t", "p");
  EXPECT_TRUE(spec.ok()) << text << ": " << spec.status().message();
  return spec.ok() ? *spec : PodSchedulingSpec{};
}

std::string Why(const std::string& text) { return Index().NeverFits(Parse(text)); }

TEST(FeasibilityTest, MoreGpusPerPodThanAnyNodeHas) {
  EXPECT_EQ(Why("{virtualCluster: prod, priority: 0, leafCellNumber: 9}"),
            "can never fit under the current configuration: 9 GPUs per pod and the largest "
            "node VC prod can use holds 8 (fits with 8 GPUs per pod)");
  EXPECT_EQ(Why("{virtualCluster: prod, priority: -1, leafCellNumber: 9}"),
            "can never fit under the current configuration: 9 GPUs per pod and the largest "
            "node has 8 (fits with 8 GPUs per pod)");
  EXPECT_EQ(Why("{virtualCluster: prod, priority: 0, leafCellNumber: 8}"), "");
}

TEST(FeasibilityTest, VcCellsBelowNodeLevelLimitAPod) {
  // research's V100 quota is two 4-GPU switches: an 8-GPU pod never fits
  // there (HiveD places a pod inside one of the VC's cells), though the
  // nodes have 8.
  EXPECT_EQ(Why("{virtualCluster: research, priority: 0, leafCellType: V100, leafCellNumber: 8}"),
            "can never fit under the current configuration: 8 GPUs per pod and the largest "
            "node of type V100 VC research can use holds 4 (fits with 4 GPUs per pod; fits in "
            "VC prod)");
  EXPECT_EQ(Why("{virtualCluster: research, priority: 0, leafCellType: V100, leafCellNumber: 4,"
                " affinityGroup: {name: g, members: [{podNumber: 2, leafCellNumber: 4}]}}"),
            "");
}

TEST(FeasibilityTest, GroupLargerThanItsVcsQuota) {
  EXPECT_EQ(Why("{virtualCluster: prod, priority: 0, leafCellNumber: 8, affinityGroup: "
                "{name: g, members: [{podNumber: 3, leafCellNumber: 8}]}}"),
            "can never fit under the current configuration: the group needs 24 GPUs and VC "
            "prod's quota is 16 in chain V100-RACK (fits with at most 16 GPUs in the group)");
  // default's one K80 node; research has two.
  EXPECT_EQ(Why("{virtualCluster: default, priority: 0, leafCellNumber: 4, affinityGroup: "
                "{name: g, members: [{podNumber: 2, leafCellNumber: 4}]}}"),
            "can never fit under the current configuration: the group needs 8 GPUs and VC "
            "default's quota is 4 in chain K80-POOL (fits in VC prod, VC research)");
  // A pinned cell is its own quota.
  EXPECT_EQ(Why("{virtualCluster: prod, priority: 0, pinnedCellId: prod-dgx-04, leafCellNumber: "
                "4, affinityGroup: {name: g, members: [{podNumber: 3, leafCellNumber: 4}]}}"),
            "can never fit under the current configuration: the group needs 12 GPUs and pinned "
            "cell prod-dgx-04 of VC prod's quota is 8 in chain V100-RACK (fits with at most "
            "8 GPUs in the group)");
  // Opportunistic groups are bounded by the chain.
  EXPECT_EQ(Why("{virtualCluster: prod, priority: -1, leafCellType: K80, leafCellNumber: 4, "
                "affinityGroup: {name: g, members: [{podNumber: 4, leafCellNumber: 4}]}}"),
            "can never fit under the current configuration: the group needs 16 GPUs and the "
            "largest chain of type K80 that holds its pods has 12 (fits with at most 12 GPUs "
            "in the group)");
}

TEST(FeasibilityTest, SchedulerAppendsTheReasonToHivedsWait) {
  ManualClock clock;
  auto s = Scheduler::Create(Basic(), &clock, /*start_healthy=*/true);
  ASSERT_TRUE(s.ok());
  PodRef pod{"u", "t", "p"};
  auto r = (*s)->Schedule(pod, Parse("{virtualCluster: prod, priority: 0, leafCellNumber: 9}"),
                          nullptr, SchedulingPhase::kPreempting);
  ASSERT_EQ(r.kind, ScheduleResult::Kind::kWait);
  EXPECT_EQ(r.message,
            "insufficient capacity when scheduling in VC prod; can never fit under the current "
            "configuration: 9 GPUs per pod and the largest node VC prod can use holds 8 (fits "
            "with 8 GPUs per pod)");
}

// Soundness: over a grid of requests, whatever the index calls impossible
// must wait on an empty, healthy cluster (the engine agrees it cannot be
// placed now, when nothing else competes); and the index is not vacuous.
TEST(FeasibilityTest, NeverIsNeverWrongOnAnEmptyCluster) {
  int never = 0, placed = 0;
  int uid = 0;
  for (const char* vc : {"prod", "research", "default"})
    for (int priority : {-1, 0})
      for (const char* type : {"", "V100", "K80"})
        for (const char* pin : {"", "prod-dgx-04"})
          for (int leaves : {1, 2, 3, 4, 5, 8, 9})
            for (int pods : {1, 2, 3, 4, 5}) {
              if (*pin && (std::string(vc) != "prod" || priority < 0)) continue;
              std::string text = std::string("{virtualCluster: ") + vc +
                                 ", priority: " + std::to_string(priority) +
                                 ", leafCellNumber: " + std::to_string(leaves);
              if (*type) text += std::string(", leafCellType: ") + type;
              if (*pin) text += std::string(", pinnedCellId: ") + pin;
              text += ", affinityGroup: {name: g" + std::to_string(uid) +
                      ", members: [{podNumber: " + std::to_string(pods) +
                      ", leafCellNumber: " + std::to_string(leaves) + "}]}}";
              auto spec = ParsePodSchedulingSpec(text, "t", "p");
              ASSERT_TRUE(spec.ok()) << text;
              ManualClock clock;
              auto s = Scheduler::Create(Basic(), &clock, true);
              ASSERT_TRUE(s.ok());
              PodRef pod{"u" + std::to_string(uid++), "t", "p"};
              auto r = (*s)->Schedule(pod, *spec, nullptr, SchedulingPhase::kPreempting);
              const std::string why = Index().NeverFits(*spec);
              if (r.kind == ScheduleResult::Kind::kBind) ++placed;
              if (why.empty()) continue;
              ++never;
              EXPECT_EQ(r.kind, ScheduleResult::Kind::kWait) << text << "\n" << why;
              EXPECT_NE(r.message.find(why), std::string::npos) << text << "\n" << r.message;
            }
  EXPECT_GT(never, 50);
  EXPECT_GT(placed, 50);
}

}  // namespace
}  // namespace apiary::cell
