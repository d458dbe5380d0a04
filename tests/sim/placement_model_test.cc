// The placement model: medians computed from the bundled measurements match
// the figures the sources publish, lookups say where each number comes from,
// the class draw is deterministic, and a job the topology-blind baseline
// spreads runs slower than the same job packed by hived.
#include "apiary/sim/placement_model.h"

#include <gtest/gtest.h>

#include <array>
#include <cmath>

#include "apiary/traces/calibration.h"
#include "apiary/traces/gpu_sku.h"
#include "sim_test_util.h"

namespace apiary::sim {
namespace {

using testing::IndexOf;
using testing::J;
using testing::MakeCluster;
using testing::MakeJobs;
using testing::RunSim;
using testing::SourcePath;

const PlacementModel& Model() { return testing::CalibratedModel(); }

constexpr int kR18 = 0, kR50 = 1, kTransformer = 2, kLm = 3, kAll = -1;

TEST(PlacementModel, ConsolidationMediansMatchGavel) {
  // Gavel PROVENANCE.md: median unconsolidated / consolidated over every
  // multi-GPU job type: 0.425 (V100, 57), 0.676 (P100, 57), 1.039 (K80, 51).
  int n = 0;
  EXPECT_NEAR(Model().MeasuredFactor(kAll, "V100", &n), 0.425, 0.0015);
  EXPECT_EQ(n, 57);
  EXPECT_NEAR(Model().MeasuredFactor(kAll, "P100", &n), 0.676, 0.0015);
  EXPECT_EQ(n, 57);
  EXPECT_NEAR(Model().MeasuredFactor(kAll, "K80", &n), 1.039, 0.0015);
  EXPECT_EQ(n, 51);
  // By model on V100 (R18 / R50 / Transformer / LM): 0.38 / 0.94 / 0.54 / 0.23.
  EXPECT_NEAR(Model().MeasuredFactor(kR18, "V100"), 0.38, 0.005);
  EXPECT_NEAR(Model().MeasuredFactor(kR50, "V100"), 0.94, 0.005);
  EXPECT_NEAR(Model().MeasuredFactor(kTransformer, "V100"), 0.54, 0.005);
  EXPECT_NEAR(Model().MeasuredFactor(kLm, "V100"), 0.23, 0.005);
  // By GPU count over all models: V100 0.50 (2 GPUs), 0.52 (4), 0.30 (8);
  // P100 0.69, 0.66, 0.71; K80 1.01, 1.04, 1.04 (19, 19, 19 and 17 each).
  EXPECT_NEAR(Model().MeasuredFactor(kAll, "V100", &n, 2), 0.50, 0.005);
  EXPECT_EQ(n, 19);
  EXPECT_NEAR(Model().MeasuredFactor(kAll, "V100", &n, 4), 0.52, 0.005);
  EXPECT_NEAR(Model().MeasuredFactor(kAll, "V100", &n, 8), 0.30, 0.005);
  EXPECT_NEAR(Model().MeasuredFactor(kAll, "P100", &n, 2), 0.69, 0.005);
  EXPECT_NEAR(Model().MeasuredFactor(kAll, "P100", &n, 8), 0.71, 0.005);
  EXPECT_NEAR(Model().MeasuredFactor(kAll, "K80", &n, 2), 1.01, 0.005);
  EXPECT_EQ(n, 17);
  // 8-GPU language models on V100: five measurements, 0.105 .. 0.207,
  // median 0.118 (the "about 0.10" is the low end).
  EXPECT_NEAR(Model().MeasuredFactor(kLm, "V100", &n, 8), 0.118, 0.001);
  EXPECT_EQ(n, 5);
  // Nothing measured on the P40.
  EXPECT_TRUE(std::isnan(Model().MeasuredFactor(kLm, "P40", &n)));
  EXPECT_EQ(n, 0);
}

TEST(PlacementModel, PolluxT4MediansFromOneNodePairsOnly) {
  // ResNet-50 (imagenet) barely cares; BERT loses about half (Pollux
  // PROVENANCE.md medians 0.91 / 0.98 / 0.97 / 0.76 and 0.51 / 0.61 / 0.57 /
  // 0.35 over the 2/11, 3/111, 4/1111, 4/22 pairs).
  auto pairs = traces::ReadPolluxPairs(SourcePath("traces/data/calibration/pollux/spread_vs_packed.csv"));
  ASSERT_TRUE(pairs.ok());
  std::vector<double> imagenet;
  for (const auto& p : *pairs)
    if (p.model == "imagenet" && p.PackedOnOneNode()) imagenet.push_back(p.Ratio());
  int n = 0;
  EXPECT_DOUBLE_EQ(Model().MeasuredFactor(kR50, "T4", &n), traces::Median(imagenet));
  EXPECT_EQ(n, static_cast<int>(imagenet.size()));
  EXPECT_GT(Model().MeasuredFactor(kR50, "T4"), 0.85);
  EXPECT_LT(Model().MeasuredFactor(kTransformer, "T4"), 0.6);
  // Pollux measured no LSTM language model.
  EXPECT_TRUE(std::isnan(Model().MeasuredFactor(kLm, "T4")));
}

TEST(PlacementModel, SkuSpeedMediansMatchGavel) {
  // Gavel PROVENANCE.md, single GPU, all 26 job types: V100/K80 4.05,
  // P100/K80 3.32, V100/P100 1.23; per model V100/K80: ResNet-18 6.75,
  // ResNet-50 6.70, LM 3.93, Transformer 3.48.
  EXPECT_NEAR(Model().SkuSpeed(kAll, "V100", "K80").value, 4.05, 0.01);
  EXPECT_NEAR(Model().SkuSpeed(kAll, "P100", "K80").value, 3.32, 0.01);
  EXPECT_NEAR(Model().SkuSpeed(kAll, "V100", "P100").value, 1.23, 0.01);
  EXPECT_NEAR(Model().SkuSpeed(kR18, "V100", "K80").value, 6.75, 0.01);
  EXPECT_NEAR(Model().SkuSpeed(kR50, "V100", "K80").value, 6.70, 0.01);
  EXPECT_NEAR(Model().SkuSpeed(kLm, "V100", "K80").value, 3.93, 0.01);
  EXPECT_NEAR(Model().SkuSpeed(kTransformer, "V100", "K80").value, 3.48, 0.01);
  EXPECT_EQ(Model().SkuSpeed(kLm, "V100", "K80").provenance, Provenance::kMeasured);
  // The other direction is the median of the inverses.
  EXPECT_NEAR(Model().SkuSpeed(kR50, "K80", "V100").value, 1 / 6.70, 0.001);
}

TEST(PlacementModel, SkuSpeedFallsBackToTheDatasheet) {
  const ModelValue a100 = Model().SkuSpeed(kR50, "A100", "V100");
  EXPECT_EQ(a100.provenance, Provenance::kDatasheet);
  EXPECT_DOUBLE_EQ(a100.value, *traces::RelativeSpeed("A100", "V100"));
  const ModelValue p40 = Model().SkuSpeed(kLm, "V100", "P40");
  EXPECT_EQ(p40.provenance, Provenance::kDatasheet);
  EXPECT_EQ(Model().SkuSpeed(kLm, "G2", "V100").provenance, Provenance::kIdentity);
  EXPECT_EQ(Model().SkuSpeed(kLm, "V100", "").value, 1.0);  // no reference: no scaling
}

TEST(PlacementModel, FactorLookups) {
  // Within a node is the reference; rack and beyond the cross-node median.
  EXPECT_EQ(Model().Factor(kLm, "V100", Spread::kSwitch).value, 1.0);
  EXPECT_EQ(Model().Factor(kLm, "V100", Spread::kNode).value, 1.0);
  const ModelValue v = Model().Factor(kLm, "V100", Spread::kBeyond);
  EXPECT_EQ(v.provenance, Provenance::kMeasured);
  EXPECT_DOUBLE_EQ(v.value, Model().MeasuredFactor(kLm, "V100"));
  EXPECT_DOUBLE_EQ(Model().Factor(kLm, "V100", Spread::kRack).value, v.value);
  // Per job size: an 8-GPU LM loses more than a 2-GPU one; a 6-GPU job is in
  // the 5+ bucket (Gavel's 8-GPU measurements).
  EXPECT_DOUBLE_EQ(Model().Factor(kLm, "V100", Spread::kBeyond, 6).value,
                   Model().MeasuredFactor(kLm, "V100", nullptr, 8));
  EXPECT_LT(Model().Factor(kLm, "V100", Spread::kBeyond, 8).value,
            Model().Factor(kLm, "V100", Spread::kBeyond, 2).value);
  // Too few measurements in a bucket (K80 ResNet-50 at 8 GPUs: 2): the
  // all-size median.
  int n = 0;
  Model().MeasuredFactor(kR50, "K80", &n, 8);
  ASSERT_EQ(n, 2);
  EXPECT_DOUBLE_EQ(Model().Factor(kR50, "K80", Spread::kBeyond, 8).value,
                   Model().MeasuredFactor(kR50, "K80"));
  // Pollux has no one-node placement of more than 4 GPUs: T4 at 8 GPUs takes
  // the all-size median, at 2 GPUs the 2-vs-11 pairs.
  EXPECT_DOUBLE_EQ(Model().Factor(kR50, "T4", Spread::kBeyond, 8).value,
                   Model().MeasuredFactor(kR50, "T4"));
  EXPECT_DOUBLE_EQ(Model().Factor(kR50, "T4", Spread::kBeyond, 2).value,
                   Model().MeasuredFactor(kR50, "T4", nullptr, 2));
  // P40 (12.0 FP32 TFLOPS): nearest measured is P100 (9.3), not V100 (15.7).
  const ModelValue p40 = Model().Factor(kLm, "P40", Spread::kBeyond);
  EXPECT_EQ(p40.provenance, Provenance::kNearestSku);
  EXPECT_EQ(p40.sku, "P100");
  EXPECT_DOUBLE_EQ(p40.value, Model().MeasuredFactor(kLm, "P100"));
  // T4 is measured for ResNet-50 (Pollux) but not for LM: nearest is P100.
  EXPECT_EQ(Model().Factor(kR50, "T4", Spread::kBeyond).provenance, Provenance::kMeasured);
  EXPECT_EQ(Model().Factor(kLm, "T4", Spread::kBeyond).sku, "P100");
  // A100 (19.5): V100.
  EXPECT_EQ(Model().Factor(kTransformer, "A100", Spread::kBeyond).sku, "V100");
  // An SKU without figures: the median over the measured SKUs.
  const ModelValue g2 = Model().Factor(kLm, "G2", Spread::kBeyond);
  EXPECT_EQ(g2.provenance, Provenance::kNearestSku);
  EXPECT_DOUBLE_EQ(g2.value, traces::Median({Model().MeasuredFactor(kLm, "K80"),
                                             Model().MeasuredFactor(kLm, "P100"),
                                             Model().MeasuredFactor(kLm, "V100")}));
}

TEST(PlacementModel, ClassNames) {
  EXPECT_EQ(FindJobClass("lm"), kLm);
  EXPECT_EQ(FindJobClass("ResNet-50"), kR50);
  EXPECT_EQ(FindJobClass("TRANSFORMER"), kTransformer);
  EXPECT_EQ(FindJobClass("bert"), -1);
  EXPECT_EQ(JobClassNames(), "resnet18, resnet50, transformer, lm");
}

TEST(PlacementModel, ClassDrawIsDeterministicAndUniform) {
  std::array<int, kJobClasses> counts{};
  int changed_by_seed = 0;
  for (int i = 0; i < 8000; ++i) {
    const std::string id = "job-" + std::to_string(i);
    const int c = DrawJobClass(id, 1);
    ASSERT_GE(c, 0);
    ASSERT_LT(c, kJobClasses);
    EXPECT_EQ(DrawJobClass(id, 1), c);
    ++counts[c];
    changed_by_seed += DrawJobClass(id, 2) != c;
  }
  for (int c : counts) {
    EXPECT_GT(c, 8000 / 4 - 200);
    EXPECT_LT(c, 8000 / 4 + 200);
  }
  EXPECT_GT(changed_by_seed, 8000 / 2);  // ~3/4 of draws differ under another seed

  // A job keeps its class whatever else is in the workload.
  const ClusterModel c = MakeCluster(2, 8, {{"a", "", 2}});
  Workload w1 = MakeJobs({J("x", "a", 0, 1, 1, 10), J("y", "a", 5, 1, 1, 10)});
  Workload w2 = MakeJobs({J("y", "a", 5, 1, 1, 10)});
  auto b1 = BindPlacementModel(Model(), c, w1, 7);
  auto b2 = BindPlacementModel(Model(), c, w2, 7);
  ASSERT_TRUE(b1.ok() && b2.ok());
  EXPECT_EQ(b1->job_class[1], b2->job_class[0]);
  EXPECT_EQ(b1->job_class[1], DrawJobClass("y", 7));
}

TEST(PlacementModel, TraceClassesWinAndUnknownOnesAreErrors) {
  const ClusterModel c = MakeCluster(2, 8, {{"a", "", 2}});
  Workload w = MakeJobs({J("x", "a", 0, 1, 1, 10)});
  w.jobs[0].model_class = "ResNet-18";
  auto b = BindPlacementModel(Model(), c, w, 1);
  ASSERT_TRUE(b.ok()) << b.status().message();
  EXPECT_EQ(b->job_class[0], kR18);
  w.jobs[0].model_class = "bert";
  auto bad = BindPlacementModel(Model(), c, w, 1);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("job x: field 'model_class': unknown class \"bert\""),
            std::string::npos)
      << bad.status().message();
  EXPECT_NE(bad.status().message().find("resnet18, resnet50, transformer, lm"), std::string::npos);
}

TEST(PlacementModel, SpreadOfAPlacement) {
  // 4 nodes of 8 GPUs in racks of 2.
  const ClusterModel c = MakeCluster(4, 8, {{"a", "", 4}}, 2);
  Workload w = MakeJobs({J("x", "a", 0, 1, 1, 10)});
  auto b = BindPlacementModel(Model(), c, w, 1);
  ASSERT_TRUE(b.ok());
  using V = std::vector<int32_t>;
  EXPECT_EQ(b->SpreadOf(c, V{0}, V{5}, 1), Spread::kSwitch);
  EXPECT_EQ(b->SpreadOf(c, V{0}, V{4, 5, 6, 7}, 4), Spread::kSwitch);  // one half
  EXPECT_EQ(b->SpreadOf(c, V{0}, V{3, 4}, 2), Spread::kNode);          // straddles
  EXPECT_EQ(b->SpreadOf(c, V{0, 0}, V{}, 2), Spread::kNode);           // GPUs unknown
  EXPECT_EQ(b->SpreadOf(c, V{0, 1}, V{}, 2), Spread::kRack);
  EXPECT_EQ(b->SpreadOf(c, V{1, 2}, V{}, 2), Spread::kBeyond);
  // The tightest spread a size allows.
  EXPECT_EQ(b->Ideal(c, 0, 4), Spread::kSwitch);
  EXPECT_EQ(b->Ideal(c, 0, 8), Spread::kNode);
  EXPECT_EQ(b->Ideal(c, 0, 16), Spread::kRack);
  EXPECT_EQ(b->Ideal(c, 0, 24), Spread::kBeyond);
}

// Two V100 nodes. A 4-GPU job and then a 6-GPU language model arrive
// together. The topology-blind baselines fill node 0 GPU by GPU, so the
// 6-GPU job gets 4 GPUs there and 2 on node 1 and runs at the measured
// cross-node factor for its size; hived puts it on node 1 whole and it runs
// at full speed.
TEST(PlacementModel, SpreadJobRunsSlowerUnderTheBaselineThanPackedUnderHived) {
  const ClusterModel c = MakeCluster(2, 8, {{"a", "", 2}});
  Workload w = MakeJobs({J("small", "a", 0, 1, 4, 1000), J("big", "a", 0, 1, 6, 1000)});
  for (SimJob& j : w.jobs) j.model_class = "lm";
  SimOptions o;
  o.placement = &Model();
  const size_t big = IndexOf(w, "big");
  const double f = Model().Factor(kLm, "V100", Spread::kBeyond, 6).value;
  ASSERT_LT(f, 0.2);

  const SimResult hived = RunSim(c, w, PolicyKind::kHived, o);
  ASSERT_TRUE(hived.placement_model);
  EXPECT_EQ(hived.jobs[big].spread, static_cast<int8_t>(Spread::kNode));
  EXPECT_DOUBLE_EQ(hived.jobs[big].placement_factor, 1.0);
  EXPECT_EQ(hived.jobs[big].finish_s, 1000);

  for (PolicyKind p : {PolicyKind::kQuota, PolicyKind::kStatic}) {
    SCOPED_TRACE(std::string(PolicyName(p)));
    const SimResult r = RunSim(c, w, p, o);
    EXPECT_EQ(r.jobs[big].spread, static_cast<int8_t>(Spread::kBeyond));
    EXPECT_DOUBLE_EQ(r.jobs[big].placement_factor, f);
    EXPECT_DOUBLE_EQ(r.jobs[big].speed, f);  // no reference SKU: SKU speed 1
    EXPECT_EQ(r.jobs[big].jct_s(), traces::ScaleDuration(1000, f));
    EXPECT_GT(r.jobs[big].jct_s(), hived.jobs[big].jct_s());
    // Without the model the baseline keeps the pod on one node, at full speed.
    const SimResult off = RunSim(c, w, p);
    EXPECT_FALSE(off.placement_model);
    EXPECT_EQ(off.jobs[big].spread, -1);
    EXPECT_EQ(off.jobs[big].finish_s, 1000);
  }
  const std::vector<SimResult> both = {hived, RunSim(c, w, PolicyKind::kQuota, o)};
  const std::string summary = FormatPlacementSummary(both);
  EXPECT_NE(summary.find("hived    no job ran more spread"), std::string::npos) << summary;
  EXPECT_NE(summary.find("quota    1 jobs ran more spread"), std::string::npos) << summary;
  // The big job: 1000 s packed under hived.
  EXPECT_NE(summary.find("(the same jobs under hived: 0.3h)"), std::string::npos) << summary;
  const std::string md = PlacementMarkdown(both);
  EXPECT_EQ(md.find("## Placement decides speed"), 0u);
  EXPECT_NE(md.find(summary), std::string::npos);
}

// A measured SKU pair scales by the class's measured ratio, not the
// datasheet: V100 jobs on a K80 reference.
TEST(PlacementModel, MeasuredSkuSpeedSetsTheDuration) {
  const ClusterModel c = MakeCluster(1, 8, {{"a", "", 1}}, 1, "V100", "K80");
  Workload w = MakeJobs({J("r50", "a", 0, 1, 1, 6700), J("lm", "a", 0, 1, 1, 3930)}, "K80");
  w.jobs[0].model_class = "resnet50";
  w.jobs[1].model_class = "lm";
  SimOptions o;
  o.placement = &Model();
  const SimResult r = RunSim(c, w, PolicyKind::kHived, o);
  EXPECT_EQ(r.jobs[0].finish_s,
            traces::ScaleDuration(6700, Model().SkuSpeed(kR50, "V100", "K80").value));
  EXPECT_NEAR(static_cast<double>(r.jobs[0].finish_s), 1000, 5);
  EXPECT_NEAR(static_cast<double>(r.jobs[1].finish_s), 1000, 5);
}

}  // namespace
}  // namespace apiary::sim
