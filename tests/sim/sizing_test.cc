// VC sizing on a small case with a known answer, locally and sharded.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "apiary/sim/scenario.h"
#include "apiary/sim/sizing.h"
#include "apiary/sim/stats.h"
#include "apiary/traces/vc_quota.h"
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

TEST(SimSizing, ShardsOfDifferentPlacementModelsDoNotMerge) {
  Scenario sc = SmallScenario();
  SizingOptions off, on;
  off.max_cells = on.max_cells = 5;
  on.sim.placement = &testing::CalibratedModel();
  auto bounds = ComputeBounds(sc, off);
  ASSERT_TRUE(bounds.ok());
  std::vector<std::string> texts, names = {"shard-0", "shard-1"};
  for (int64_t k = 0; k < 2; ++k) {
    const SizingOptions& o = k == 0 ? off : on;
    auto pts = RunSweepShard(sc, o, k, 2);
    ASSERT_TRUE(pts.ok()) << pts.status().message();
    texts.push_back(ShardJson(sc, o, *bounds, k, 2, *pts));
  }
  auto bad = MergeShards(texts, names);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("shard-1: field \"placement_model\" differs"),
            std::string::npos)
      << bad.status().message();
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

// ---- Sizing on every kind of cluster `run` accepts (issue #11 item 8) ----

namespace apiary::sim {
namespace {

using testing::WriteTemp;

// A busy canonical trace: per (VC, GPU model) `n` overlapping jobs of 1-8
// GPUs (deterministic), so that quotas matter.
std::string BusyTrace(const std::vector<std::pair<std::string, std::string>>& vc_models,
                      int n, int max_gpus = 8) {
  std::string t = "# reference_sku: V100\nid,submit_time_s,duration_s,num_pods,gpus_per_pod,vc,"
                  "priority,gpu_model\n";
  int id = 0;
  for (const auto& [vc, model] : vc_models)
    for (int i = 0; i < n; ++i, ++id) {
      const int gpus = std::min(max_gpus, 1 << (id * 7 % 4));  // 1, 2, 4 or 8
      t += "j" + std::to_string(id) + "," + std::to_string(i * 300) + "," +
           std::to_string(1800 + id * 37 % 2400) + ",1," + std::to_string(gpus) + "," + vc +
           ",0," + model + "\n";
    }
  return WriteTemp("busy" + std::to_string(vc_models.size()) + "-" + std::to_string(max_gpus) +
                       ".csv", t);
}

// Sizes `o`'s scenario, feeds the answer's quotas.csv to `run` (generated
// nodes holding exactly those quotas) and checks every sized VC meets the
// target there. Both with the placement model `model` (null = off), as
// `size-vcs` and `run` do with the same --placement-model (on by default).
void ExpectSizingHoldsInRun(ScenarioOptions o, const std::string& tag,
                            const PlacementModel* model) {
  SizingOptions opt;
  opt.max_wait_s = 600;
  opt.threads = 2;
  opt.sim.placement = model;
  o.workload_only = o.inventory_path.empty() && o.hived_config.empty();
  auto sc = LoadScenario(o);
  ASSERT_TRUE(sc.ok()) << tag << ": " << sc.status().message();
  auto r = SizeVcs(*sc, opt);
  ASSERT_TRUE(r.ok()) << tag << ": " << r.status().message();
  ASSERT_TRUE(r->all_met) << tag << "\n" << FormatSizingTable(*r);
  bool some_wait = false;
  for (const VcSizing& v : r->vcs) some_wait = some_wait || v.cells > v.lo;
  EXPECT_TRUE(some_wait) << tag << ": the trace should make quotas matter\n"
                         << FormatSizingTable(*r);

  ScenarioOptions run;
  run.trace_paths = o.trace_paths;
  run.trace_format = o.trace_format;
  run.gpus_per_node = o.gpus_per_node;
  run.sku = o.sku;
  run.vc_quotas_path = WriteTemp(tag + "-quotas.csv", SizingQuotasCsv(*r));
  auto rsc = LoadScenario(run);
  ASSERT_TRUE(rsc.ok()) << tag << ": " << rsc.status().message();
  SimOptions so;
  so.placement = model;
  SimResult res = testing::RunSim(rsc->cluster, rsc->workload, PolicyKind::kHived, so);
  EXPECT_EQ(res.placement_model, model != nullptr);
  std::map<std::string, std::vector<int64_t>> waits;
  for (size_t i = 0; i < res.jobs.size(); ++i) {
    const JobRecord& j = res.jobs[i];
    waits[rsc->workload.vcs[rsc->workload.jobs[i].vc]].push_back(
        j.outcome == JobOutcome::kDone ? j.wait_s : INT64_MAX);
  }
  for (const VcSizing& v : r->vcs) {
    auto& w = waits[v.vc];
    std::sort(w.begin(), w.end());
    EXPECT_LE(Percentile(w, opt.percentile), opt.max_wait_s)
        << tag << ": VC " << v.vc << " misses the target on the sized quotas\n"
        << FormatSizingTable(*r);
  }
}

TEST(SimSizingEveryCluster, GeneratedNodes) {
  ScenarioOptions o;
  o.trace_paths = {BusyTrace({{"a", ""}, {"b", ""}}, 40)};
  o.trace_format = "canonical";
  o.sku = "V100";
  o.gpus_per_node = 8;
  ExpectSizingHoldsInRun(o, "generated", &testing::CalibratedModel());
  ExpectSizingHoldsInRun(o, "generated-model-off", nullptr);
}

TEST(SimSizingEveryCluster, MixedSkuInventory) {
  ScenarioOptions o;
  o.trace_paths = {BusyTrace({{"a", "V100"}, {"a", "T4"}, {"b", ""}}, 30)};
  o.trace_format = "canonical";
  std::string inv = "hostname,gpu_model,gpu_count\n";
  for (int i = 0; i < 6; ++i) inv += "v" + std::to_string(i) + ",V100,8\n";
  for (int i = 0; i < 6; ++i) inv += "t" + std::to_string(i) + ",T4,8\n";
  o.inventory_path = WriteTemp("mixed_nodes.csv", inv);
  // The answer has a quota per VC per SKU.
  auto sc = LoadScenario(o);
  ASSERT_TRUE(sc.ok()) << sc.status().message();
  auto r = SizeVcs(*sc, SizingOptions{});
  ASSERT_TRUE(r.ok()) << r.status().message();
  std::set<std::string> a_skus;
  for (const VcSizing& v : r->vcs)
    if (v.vc == "a") a_skus.insert(v.sku);
  EXPECT_EQ(a_skus, (std::set<std::string>{"T4", "V100"}));
  for (const VcSizing& v : r->vcs) EXPECT_GT(v.current_gpus, 0) << v.vc << " " << v.sku;
  ExpectSizingHoldsInRun(o, "inventory", &testing::CalibratedModel());
}

TEST(SimSizingEveryCluster, HivedConfig) {
  ScenarioOptions o;
  o.trace_paths = {BusyTrace({{"prod", "V100"}, {"research", "K80"}, {"nobody", ""}}, 30, 4)};
  o.trace_format = "canonical";
  o.hived_config = testing::SourcePath("examples/configs/hived-basic.yaml");
  auto sc = LoadScenario(o);
  ASSERT_TRUE(sc.ok()) << sc.status().message();
  auto r = SizeVcs(*sc, SizingOptions{});
  ASSERT_TRUE(r.ok()) << r.status().message();
  // VCs without a quota are not sized unless asked.
  for (const VcSizing& v : r->vcs) EXPECT_NE(v.vc, "nobody");
  ASSERT_FALSE(r->notes.empty());
  SizingOptions all;
  all.all_vcs = true;
  auto r2 = SizeVcs(*sc, all);
  ASSERT_TRUE(r2.ok()) << r2.status().message();
  bool nobody = false;
  for (const VcSizing& v : r2->vcs) nobody = nobody || v.vc == "nobody";
  EXPECT_TRUE(nobody);
  ExpectSizingHoldsInRun(o, "hived-config", &testing::CalibratedModel());
}

// Why size-vcs takes run's --placement-model: ResNet-50 jobs of a V100
// trace run on K80 at 0.150 of V100 by Gavel's measurements (model on), at
// 0.097 by the datasheet rule (model off). One 8-GPU job every 500 s of 120
// reference seconds runs 801 s with the model, 1242 s without: two nodes
// against three. The answers differ, and each holds only in a run with the
// same setting.
TEST(SimSizingEveryCluster, SizingJudgesWithRunsPlacementModel) {
  std::string t = "# reference_sku: V100\nid,submit_time_s,duration_s,num_pods,gpus_per_pod,vc,"
                  "priority,gpu_model,model_class\n";
  for (int i = 0; i < 40; ++i)
    t += "r" + std::to_string(i) + "," + std::to_string(i * 500) + ",120,1,8,a,0,K80,resnet50\n";
  ScenarioOptions o;
  o.trace_paths = {WriteTemp("k80_resnet50.csv", t)};
  o.trace_format = "canonical";
  o.sku = "K80";
  o.gpus_per_node = 8;
  o.workload_only = true;
  auto sc = LoadScenario(o);
  ASSERT_TRUE(sc.ok()) << sc.status().message();
  SizingOptions off, on;
  off.max_wait_s = on.max_wait_s = 600;
  on.sim.placement = &testing::CalibratedModel();
  auto r_off = SizeVcs(*sc, off);
  auto r_on = SizeVcs(*sc, on);
  ASSERT_TRUE(r_off.ok() && r_on.ok());
  ASSERT_EQ(r_off->vcs.size(), 1u);
  ASSERT_EQ(r_on->vcs.size(), 1u);
  EXPECT_EQ(r_off->placement_model, "off");
  EXPECT_EQ(r_on->placement_model, "on (class seed 1)");
  EXPECT_TRUE(r_off->all_met && r_on->all_met);
  EXPECT_EQ(r_off->vcs[0].cells, 3) << FormatSizingTable(*r_off);
  EXPECT_EQ(r_on->vcs[0].cells, 2) << FormatSizingTable(*r_on);
  // The model-on answer, run without the model, misses the target.
  ScenarioOptions run = o;
  run.workload_only = false;
  run.vc_quotas_path = WriteTemp("k80-on-quotas.csv", SizingQuotasCsv(*r_on));
  auto rsc = LoadScenario(run);
  ASSERT_TRUE(rsc.ok()) << rsc.status().message();
  SimResult res = testing::RunSim(rsc->cluster, rsc->workload, PolicyKind::kHived);
  std::vector<int64_t> waits;
  for (const JobRecord& j : res.jobs) waits.push_back(j.wait_s);
  std::sort(waits.begin(), waits.end());
  EXPECT_GT(Percentile(waits, on.percentile), on.max_wait_s);
  // With the same setting it holds.
  o.workload_only = false;
  ExpectSizingHoldsInRun(o, "k80-resnet50", &testing::CalibratedModel());
  ExpectSizingHoldsInRun(o, "k80-resnet50-off", nullptr);
}

TEST(SimSizingEveryCluster, ReportFiles) {
  SizingOptions o;
  o.max_wait_s = 100;
  auto r = SizeVcs(SmallScenario(), o);
  ASSERT_TRUE(r.ok());
  const std::string dir = ::testing::TempDir() + "/sizing_report";
  auto notes = WriteSizingReport(dir, *r, "test", /*plots=*/false);
  ASSERT_TRUE(notes.ok()) << notes.status().message();
  std::ifstream q(dir + "/quotas.csv");
  std::stringstream ss;
  ss << q.rdbuf();
  EXPECT_EQ(ss.str(), "vc,nodes,gpus,gpu_model\na,2,16,\nb,1,8,\n");
  // The quota file reads back as quotas.
  auto read = traces::ReadVcQuotas(dir + "/quotas.csv");
  ASSERT_TRUE(read.ok()) << read.status().message();
  EXPECT_EQ(read->vcs.size(), 2u);
  std::ifstream md(dir + "/report.md");
  EXPECT_TRUE(md.good());
  std::ifstream dat(dir + "/wait_vs_quota-a.dat");
  EXPECT_TRUE(dat.good());
}

}  // namespace
}  // namespace apiary::sim
