// The recovery driver (apiary/cell/recovery.h): bind order, recovery of
// pods given in any order, and pods whose bind info no longer fits.
#include "apiary/cell/recovery.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "scheduler_test_util.h"

namespace apiary::cell {
namespace {

using testing::CellType;
using testing::Child;
using testing::Describe;
using testing::MakeScheduler;
using testing::PCell;
using testing::Pod;
using testing::Spec;
using testing::Vc;

// The test cluster; `without` names a T4 node left out of it.
Config Cluster(const std::string& without = "") {
  Config c;
  c.cell_types = {CellType("V100-QUAD", "V100", 4), CellType("DGX2", "V100-QUAD", 4, true),
                  CellType("K80-SW", "K80", 4), CellType("K80-NODE", "K80-SW", 2, true),
                  CellType("K80-RACK", "K80-NODE", 2), CellType("T4-NODE", "T4", 4, true)};
  c.physical_cells = {PCell("DGX2", "dgx-0"), PCell("DGX2", "dgx-1"),
                      PCell("K80-RACK", std::nullopt, {Child("k80-0"), Child("k80-1")}),
                      PCell("T4-NODE", "t4-0"), PCell("T4-NODE", "t4-1")};
  std::erase_if(c.physical_cells,
                [&](const PhysicalCellSpec& p) { return p.cell_address == without; });
  c.virtual_clusters = {Vc("vc-a", {{"DGX2", 1}, {"K80-RACK.K80-NODE", 2}}),
                        Vc("vc-b", {{"DGX2.V100-QUAD", 2}, {"T4-NODE", 1}}), Vc("vc-c", {})};
  return c;
}

// Everything a restart must restore: cells, bindings, groups, lazy marks.
std::string State(const Scheduler& s) { return testing::InspectOutput(s); }

class RecoveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    s_ = MakeScheduler(Cluster(), &clock_);
    ASSERT_NE(s_, nullptr);
    // Order matters here: the gang's and the vc-b pods' virtual cells, and
    // the opportunistic pod's leaves, depend on what was bound before.
    Bind("g1", Spec("vc-a", 0, "K80", 4, "gang", {{2, 4}}));
    Bind("b1", Spec("vc-b", 0, "V100", 2, "b1"));
    Bind("o1", Spec("vc-c", -1, "K80", 2, "o1"));
    Bind("g2", Spec("vc-a", 0, "K80", 4, "gang", {{2, 4}}));
    Bind("b2", Spec("vc-b", 0, "V100", 4, "b2"));
    Bind("a2", Spec("vc-a", 0, "K80", 2, "a2"));
    Bind("a1", Spec("vc-a", 0, "V100", 1, "a1"));
    Bind("t1", Spec("vc-b", 1, "T4", 2, "t1"));
    Bind("t2", Spec("vc-c", -1, "T4", 1, "t2"));
    want_ = State(*s_);
  }

  void Bind(const std::string& name, const PodSchedulingSpec& spec) {
    ScheduleResult r = s_->Schedule(Pod(name), spec, nullptr, SchedulingPhase::kFiltering);
    ASSERT_EQ(r.kind, ScheduleResult::Kind::kBind) << name << ": " << Describe(r);
    ASSERT_TRUE(s_->AddAllocatedPod(Pod(name), spec, r.bind_info).ok()) << name;
    pods_.push_back({Pod(name), spec, r.bind_info, std::nullopt,
                     static_cast<int64_t>(pods_.size()) * 10});
  }

  std::string Recovered(const std::vector<PodToRecover>& pods, RecoveryReport* report = nullptr,
                        const Config& config = Cluster()) {
    auto fresh = MakeScheduler(config, &clock_);
    if (!fresh) return "";
    RecoveryReport r = RecoverPods(*fresh, pods);
    EXPECT_EQ(fresh->CheckInvariants(), "");
    if (report) *report = r;
    return State(*fresh);
  }

  ManualClock clock_{1000};
  std::unique_ptr<Scheduler> s_;
  std::vector<PodToRecover> pods_;  // in bind order
  std::string want_;
};

TEST_F(RecoveryTest, PodsInBindOrderRecoverTheState) {
  RecoveryReport report;
  EXPECT_EQ(Recovered(pods_, &report), want_);
  EXPECT_EQ(report.recovered, static_cast<int64_t>(pods_.size()));
  for (size_t i = 0; i < pods_.size(); ++i) EXPECT_EQ(report.order[i], i);
}

TEST_F(RecoveryTest, PodsGivenOutOfOrderRecoverTheSameState) {
  std::vector<PodToRecover> pods = pods_;
  std::reverse(pods.begin(), pods.end());
  EXPECT_EQ(Recovered(pods), want_) << "reversed";
  std::mt19937_64 rng(7);
  for (int round = 0; round < 20; ++round) {
    std::shuffle(pods.begin(), pods.end(), rng);
    RecoveryReport report;
    EXPECT_EQ(Recovered(pods, &report), want_) << "round " << round;
    // The report's order is the bind order, as indices into what was given.
    for (size_t k = 1; k < report.order.size(); ++k)
      EXPECT_LT(*pods[report.order[k - 1]].bind_order, *pods[report.order[k]].bind_order);
  }
}

TEST_F(RecoveryTest, OutOfOrderWithoutTheBindOrderIsADifferentState) {
  // The driver's order is what makes the shuffles above pass: recovering
  // the pods as given, with no order key, loses the state for this input.
  std::vector<PodToRecover> pods = pods_;
  std::reverse(pods.begin(), pods.end());
  for (PodToRecover& p : pods) p.bind_order.reset();
  // Without keys the order is namespace/name: a1, a2, b1, b2, g1, g2, o1, t1, t2.
  std::vector<std::string> names;
  for (size_t i : BindOrder(pods)) names.push_back(pods[i].pod.name);
  EXPECT_EQ(names, (std::vector<std::string>{"a1", "a2", "b1", "b2", "g1", "g2", "o1", "t1", "t2"}));
  EXPECT_NE(Recovered(pods), want_);
}

TEST(RecoveryBindOrder, KeyedPodsFirstAscendingThenByNamespaceAndName) {
  auto pod = [](std::string ns, std::string name, std::optional<int64_t> key) {
    PodToRecover p;
    p.pod = PodRef{"uid-" + ns + "-" + name, ns, name};
    p.bind_order = key;
    return p;
  };
  std::vector<PodToRecover> pods = {pod("b", "x", std::nullopt), pod("a", "z", 5),
                                    pod("a", "y", std::nullopt), pod("b", "a", 5),
                                    pod("a", "w", 2)};
  std::vector<std::string> got;
  for (size_t i : BindOrder(pods)) got.push_back(pods[i].pod.FullName());
  EXPECT_EQ(got, (std::vector<std::string>{"a/w", "a/z", "b/a", "a/y", "b/x"}));
}

TEST_F(RecoveryTest, APodWhoseBindInfoNoLongerFitsIsReportedAndTheRestRecovered) {
  // The node t1 is bound to leaves the configuration: every pod bound there
  // is reported with the scheduler's reason, every other pod is recovered.
  std::string node;
  for (const PodToRecover& p : pods_)
    if (p.pod.name == "t1") node = p.bind_info.node;
  ASSERT_FALSE(node.empty());
  RecoveryReport report;
  std::string state = Recovered(pods_, &report, Cluster(/*without=*/node));
  EXPECT_FALSE(state.empty());
  int64_t on_node = 0;
  for (size_t i = 0; i < pods_.size(); ++i) {
    const bool gone = pods_[i].bind_info.node == node;
    on_node += gone;
    EXPECT_EQ(report.status[i].ok(), !gone) << pods_[i].pod.name << ": "
                                             << report.status[i].message();
    if (gone) {
      EXPECT_NE(report.status[i].message().find(node), std::string::npos)
          << report.status[i].message();
    }
  }
  EXPECT_EQ(report.recovered, static_cast<int64_t>(pods_.size()) - on_node);
}

TEST_F(RecoveryTest, MarksOfAbsentPreemptorsAreDroppedWhenAsked) {
  // b2 carries a lazy mark by a group that is not among the pods.
  std::vector<PodToRecover> pods = pods_;
  for (PodToRecover& p : pods)
    if (p.pod.name == "b2") p.lazy_mark = LazyPreemptionMark{"no-such-group", 5};
  auto fresh = MakeScheduler(Cluster(), &clock_);
  ASSERT_NE(fresh, nullptr);
  RecoverPods(*fresh, pods, {.drop_marks_of_absent_preemptors = true});
  EXPECT_EQ(State(*fresh), want_);
  EXPECT_FALSE(fresh->LazyMarkOfPod("uid-b2").has_value());
  // A mark by a preemptor that is among the pods survives either way.
  for (PodToRecover& p : pods)
    if (p.pod.name == "b2") p.lazy_mark = LazyPreemptionMark{"gang", 5};
  auto kept = MakeScheduler(Cluster(), &clock_);
  ASSERT_NE(kept, nullptr);
  RecoverPods(*kept, pods, {.drop_marks_of_absent_preemptors = true});
  ASSERT_TRUE(kept->LazyMarkOfPod("uid-b2").has_value());
  EXPECT_EQ(kept->LazyMarkOfPod("uid-b2")->preemptor, "gang");
}

}  // namespace
}  // namespace apiary::cell
