// Scenarios as `apiary-sim run` loads them, one regression test per defect of
// issue #11: SKU speed on every kind of cluster, unknown SKUs, derived
// quotas on SKUs with several node sizes, jobs no policy can ever place, and
// what the readers kept, dropped and changed.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "apiary/sim/report.h"
#include "apiary/sim/scenario.h"
#include "apiary/sim/stats.h"
#include "apiary/traces/gpu_sku.h"
#include "sim_test_util.h"

namespace apiary::sim {
namespace {

using testing::RunSim;
using testing::SourcePath;

using testing::WriteTemp;

// One job of 3,600 s at P40 speed per listed GPU model (any model when "").
std::string OneHourJobs(const std::vector<std::string>& models) {
  std::string t = "# reference_sku: P40\nid,submit_time_s,duration_s,num_pods,gpus_per_pod,vc,"
                  "priority,gpu_model\n";
  for (size_t i = 0; i < models.size(); ++i)
    t += "j" + std::to_string(i) + ",0,3600,1,1,a,0," + models[i] + "\n";
  return WriteTemp("jobs" + std::to_string(models.size()) + ".csv", t);
}

ScenarioOptions Canonical(const std::string& trace) {
  ScenarioOptions o;
  o.trace_paths = {trace};
  o.trace_format = "canonical";
  o.gpus_per_node = 1;
  return o;
}

int64_t At(const std::string& sku) {
  return traces::ScaleDuration(3600, *traces::RelativeSpeed(sku, "P40"));
}

// Defect 1: generated nodes of a faster SKU run the job faster, exactly as a
// HiveD config of the same nodes does.
TEST(SimScenarioSku, GeneratedNodesScaleBySkuSpeed) {
  ASSERT_LT(At("V100"), 3600);
  for (const std::string sku : {"V100", "H100", "P40"}) {
    ScenarioOptions o = Canonical(OneHourJobs({""}));
    o.nodes = 1;
    o.sku = sku;
    auto sc = LoadScenario(o);
    ASSERT_TRUE(sc.ok()) << sc.status().message();
    for (PolicyKind p : {PolicyKind::kHived, PolicyKind::kStatic, PolicyKind::kQuota}) {
      SimResult r = RunSim(sc->cluster, sc->workload, p);
      EXPECT_EQ(r.jobs[0].finish_s, At(sku)) << sku << " " << PolicyName(p);
    }
  }
  const std::string config = WriteTemp("v100.yaml", R"(physicalCluster:
  skuTypes:
    V100: {gpu: 1, cpu: 4, memory: 16Gi}
  cellTypes:
    V100-NODE: {childCellType: V100, childCellNumber: 1, isNodeLevel: true}
  physicalCells:
  - {cellType: V100-NODE, cellAddress: n0}
virtualClusters:
  a:
    virtualCells:
    - {cellType: V100-NODE, cellNumber: 1}
)");
  ScenarioOptions o = Canonical(OneHourJobs({""}));
  o.hived_config = config;
  auto sc = LoadScenario(o);
  ASSERT_TRUE(sc.ok()) << sc.status().message();
  EXPECT_EQ(RunSim(sc->cluster, sc->workload, PolicyKind::kHived).jobs[0].finish_s, At("V100"));
}

// Defect 1: a mixed inventory runs each job at the speed of the SKU it got.
TEST(SimScenarioSku, MixedInventoryScalesPerSku) {
  const std::string inv = WriteTemp("mixed_nodes.csv",
                                    "hostname,gpu_model,gpu_count\np0,P40,1\nv0,V100,1\n");
  ScenarioOptions o = Canonical(OneHourJobs({"P40", "V100"}));
  o.inventory_path = inv;
  auto sc = LoadScenario(o);
  ASSERT_TRUE(sc.ok()) << sc.status().message();
  for (PolicyKind p : {PolicyKind::kHived, PolicyKind::kQuota}) {
    SimResult r = RunSim(sc->cluster, sc->workload, p);
    EXPECT_EQ(r.jobs[0].finish_s, 3600) << PolicyName(p);
    EXPECT_EQ(r.jobs[1].finish_s, At("V100")) << PolicyName(p);
  }
}

// Defect 2: a misspelt SKU is an error naming the known SKUs; an opaque SKU
// only when declared, then at the reference speed.
TEST(SimScenarioSku, UnknownSkuIsAnErrorUnlessDeclaredOpaque) {
  for (const std::string bad : {"NOSUCHGPU", "P40,V100"}) {
    ScenarioOptions o = Canonical(OneHourJobs({""}));
    o.nodes = 1;
    o.sku = bad;
    auto sc = LoadScenario(o);
    ASSERT_FALSE(sc.ok()) << bad;
    EXPECT_NE(sc.status().message().find("unknown GPU SKU \"" + bad + "\""), std::string::npos);
    EXPECT_NE(sc.status().message().find("V100"), std::string::npos);
    EXPECT_NE(sc.status().message().find("--opaque-sku"), std::string::npos);
  }
  ScenarioOptions o = Canonical(OneHourJobs({""}));
  o.nodes = 1;
  o.sku = "NOSUCHGPU";
  o.opaque_skus = {"NOSUCHGPU"};
  auto sc = LoadScenario(o);
  ASSERT_TRUE(sc.ok()) << sc.status().message();
  EXPECT_EQ(RunSim(sc->cluster, sc->workload, PolicyKind::kHived).jobs[0].finish_s, 3600);

  // The same rule for inventories and HiveD configs.
  ScenarioOptions inv = Canonical(OneHourJobs({""}));
  inv.inventory_path =
      WriteTemp("odd_nodes.csv", "hostname,gpu_model,gpu_count\nx0,FancyGPU,1\n");
  auto bad_inv = LoadScenario(inv);
  ASSERT_FALSE(bad_inv.ok());
  EXPECT_NE(bad_inv.status().message().find("node x0"), std::string::npos);
  inv.opaque_skus = {"FancyGPU"};
  EXPECT_TRUE(LoadScenario(inv).ok());

  ScenarioOptions hc = Canonical(OneHourJobs({""}));
  hc.hived_config = SourcePath("examples/configs/openpai-services-configuration.yaml");
  auto bad_hc = LoadScenario(hc);
  ASSERT_FALSE(bad_hc.ok());
  EXPECT_NE(bad_hc.status().message().find("skuTypes.k80x4"), std::string::npos);
}

// Defect 3: a SKU with nodes of several sizes keeps all of its capacity in
// derived quotas (one chain per node size).
TEST(SimScenarioQuotas, DerivedQuotasKeepEveryNodeSize) {
  const std::string inv = WriteTemp(
      "sizes.csv", "hostname,gpu_model,gpu_count\na,T4,1\nb,T4,2\nc,T4,4\nd,T4,8\ne,T4,8\n"
                   "f,V100,8\ng,V100,4\n");
  const std::string trace = WriteTemp(
      "two_vcs.csv", "id,submit_time_s,duration_s,num_pods,gpus_per_pod,vc\n"
                     "x,0,100,1,1,a\ny,0,300,1,1,b\n");
  for (QuotaLevel level : {QuotaLevel::kNode, QuotaLevel::kGpu, QuotaLevel::kRack}) {
    ScenarioOptions o = Canonical(trace);
    o.inventory_path = inv;
    o.cluster.quota_level = level;
    auto sc = LoadScenario(o);
    ASSERT_TRUE(sc.ok()) << sc.status().message();
    int64_t total = 0;
    for (size_t v = 0; v < sc->cluster.vcs.size(); ++v)
      total += sc->cluster.VcGpus(static_cast<int32_t>(v));
    EXPECT_EQ(total, 1 + 2 + 4 + 8 + 8 + 8 + 4) << QuotaLevelName(level);
  }
  // The openb inventory: every GPU node's GPUs are someone's quota.
  ScenarioOptions o = Canonical(trace);
  o.inventory_path = SourcePath("traces/data/openb/openb_node_list_all_node.csv");
  o.inventory_format = "openb";
  auto sc = LoadScenario(o);
  ASSERT_TRUE(sc.ok()) << sc.status().message();
  int64_t total = 0, t4 = 0;
  for (size_t v = 0; v < sc->cluster.vcs.size(); ++v) {
    total += sc->cluster.VcGpus(static_cast<int32_t>(v));
    for (size_t g = 0; g < sc->cluster.groups.size(); ++g)
      if (sc->cluster.skus[sc->cluster.groups[g].sku].name == "T4")
        t4 += sc->cluster.vc_group_gpus[v][g];
  }
  EXPECT_EQ(total, sc->cluster.TotalGpus());
  int64_t t4_nodes_gpus = 0;
  for (const NodeInfo& n : sc->cluster.nodes)
    if (sc->cluster.skus[n.sku].name == "T4") t4_nodes_gpus += n.gpus;
  EXPECT_EQ(t4, t4_nodes_gpus);
}

// Defect 4: with 1-GPU quota cells HiveD can never place a multi-GPU pod of a
// guaranteed job: rejected with the reason, and said so next to the waits.
TEST(SimScenarioRejections, PodsLargerThanEveryVcCellAreRejected) {
  const std::string trace = WriteTemp(
      "gangs.csv", "id,submit_time_s,duration_s,num_pods,gpus_per_pod,vc\n"
                   "big_pod,0,100,1,2,a\ngang,0,100,2,1,a\nsmall,0,100,1,1,a\n");
  ScenarioOptions o = Canonical(trace);
  o.nodes = 2;
  o.gpus_per_node = 4;
  o.cluster.quota_level = QuotaLevel::kGpu;
  auto sc = LoadScenario(o);
  ASSERT_TRUE(sc.ok()) << sc.status().message();
  SimResult r = RunSim(sc->cluster, sc->workload, PolicyKind::kHived);
  EXPECT_EQ(r.jobs[0].outcome, JobOutcome::kRejected);
  EXPECT_EQ(r.jobs[1].outcome, JobOutcome::kDone);
  EXPECT_EQ(r.jobs[2].outcome, JobOutcome::kDone);
  ASSERT_EQ(r.reject_reasons.size(), 1u);
  EXPECT_NE(r.reject_reasons[0].first.find("virtual cell"), std::string::npos);
  PolicySummary s = Summarize(r, sc->workload, sc->cluster);
  EXPECT_EQ(s.rejected, 1);
  const std::string printed = FormatExclusions({s});
  EXPECT_NE(printed.find("1 rejected"), std::string::npos) << printed;
  EXPECT_NE(printed.find("virtual cell"), std::string::npos) << printed;

  // At node level the same pod fits.
  o.cluster.quota_level = QuotaLevel::kNode;
  sc = LoadScenario(o);
  ASSERT_TRUE(sc.ok());
  r = RunSim(sc->cluster, sc->workload, PolicyKind::kHived);
  for (const JobRecord& j : r.jobs) EXPECT_EQ(j.outcome, JobOutcome::kDone);
}

// Defect 5: every reader says what it kept, dropped and changed.
TEST(SimScenarioReaders, ReportsWhatWasDroppedAndChanged) {
  ScenarioOptions o;
  o.trace_paths = {SourcePath("traces/data/openb/openb_pod_list_default.head500.csv")};
  o.trace_format = "openb";
  o.inventory_path = SourcePath("traces/data/openb/openb_node_list_all_node.csv");
  o.inventory_format = "openb";
  auto sc = LoadScenario(o);
  ASSERT_TRUE(sc.ok()) << sc.status().message();
  ASSERT_GE(sc->readers.size(), 3u);
  const ReaderReport& trace = sc->readers[0];
  EXPECT_EQ(trace.what, "trace");
  int64_t dropped = 0, rounded = 0;
  for (const auto& [k, n] : trace.dropped) dropped += n;
  for (const auto& [k, n] : trace.adjusted)
    if (k == "fractional_gpu_rounded_up") rounded = n;
  EXPECT_EQ(trace.rows, trace.kept + dropped);
  EXPECT_GT(rounded, 0);
  EXPECT_GT(trace.added_gpu_seconds, 0);
  const std::string line = trace.Format();
  EXPECT_NE(line.find("given a whole GPU"), std::string::npos) << line;
  EXPECT_NE(line.find("% GPU-seconds of demand"), std::string::npos) << line;
  bool inventory = false;
  for (const ReaderReport& r : sc->readers)
    if (r.what == "inventory") {
      inventory = true;
      EXPECT_NE(r.Format().find("CPU-only"), std::string::npos) << r.Format();
    }
  EXPECT_TRUE(inventory);
}

// Defect 5: rows skipped as malformed are counted and the first is named.
TEST(SimScenarioReaders, SkippedRowsAreNamed) {
  ScenarioOptions o = Canonical(WriteTemp(
      "bad_row.csv", "id,submit_time_s,duration_s,num_pods,gpus_per_pod,vc\n"
                     "x,0,100,1,1,a\ny,zero,100,1,1,a\n"));
  o.nodes = 1;
  o.skip_bad_rows = true;
  auto sc = LoadScenario(o);
  ASSERT_TRUE(sc.ok()) << sc.status().message();
  const std::string line = sc->readers[0].Format();
  EXPECT_NE(line.find("1 malformed rows skipped (first: "), std::string::npos) << line;
  EXPECT_NE(line.find("bad_row.csv:3:"), std::string::npos) << line;
}

// Defect 5: --vc-quotas takes the Helios daily quota file, by date.
TEST(SimScenarioReaders, HeliosDailyQuotaFile) {
  const std::string trace = WriteTemp(
      "venus.csv", "id,submit_time_s,duration_s,num_pods,gpus_per_pod,vc\n"
                   "x,0,100,1,1,vcvGl\ny,0,300,1,1,vcJsw\n");
  ScenarioOptions o = Canonical(trace);
  o.gpus_per_node = 8;
  o.vc_quotas_path = SourcePath("traces/data/helios/Venus_cluster_gpu_number.csv");
  auto sc = LoadScenario(o);
  ASSERT_TRUE(sc.ok()) << sc.status().message();
  EXPECT_EQ(sc->cluster.VcGpus(sc->cluster.FindVc("vcvGl")), 80);  // 2020-04-01
  EXPECT_LT(sc->cluster.FindVc("vcJsw"), 0);                       // 0 GPUs that day
  EXPECT_EQ(sc->cluster.TotalGpus(), 968);
  o.vc_quotas_date = "2020-08-16";
  sc = LoadScenario(o);
  ASSERT_TRUE(sc.ok()) << sc.status().message();
  EXPECT_EQ(sc->cluster.VcGpus(sc->cluster.FindVc("vcvGl")), 160);
  EXPECT_EQ(sc->cluster.VcGpus(sc->cluster.FindVc("vcJsw")), 200);
  o.vc_quotas_date = "1999-01-01";
  EXPECT_FALSE(LoadScenario(o).ok());
}

}  // namespace
}  // namespace apiary::sim

namespace apiary::sim {
namespace {

// Item 9: every job records the nodes it ran on and the level they span.
TEST(SimPlacementRecord, JobsRecordTheirNodesAndSpan) {
  Workload w = testing::MakeJobs({{"one", "a", 0, 1, 2, 100}, {"two", "a", 0, 2, 2, 100}});
  ClusterModel c = testing::MakeCluster(4, 2, {{"a", "", 4}}, /*rack_nodes=*/2);
  for (PolicyKind p : {PolicyKind::kHived, PolicyKind::kStatic, PolicyKind::kQuota}) {
    SimResult r = RunSim(c, w, p);
    const std::vector<int32_t> one = r.NodesOf(0), two = r.NodesOf(1);
    ASSERT_EQ(one.size(), 1u) << PolicyName(p);
    EXPECT_EQ(c.SpanOf(one), "node");
    ASSERT_EQ(two.size(), 2u) << PolicyName(p);
    EXPECT_NE(two[0], one[0]);
    EXPECT_NE(two[1], one[0]);
    // First-fit takes the next free nodes, across the rack boundary. (HiveD
    // with node-level quota cells has no rack affinity inside the VC either.)
    if (p != PolicyKind::kHived) EXPECT_EQ(c.SpanOf(two), "multi-rack");
  }
  EXPECT_EQ(c.SpanOf({0, 1}), "rack");
  EXPECT_EQ(c.SpanOf({1, 2}), "multi-rack");
  EXPECT_EQ(c.SpanOf({}), "");
}

}  // namespace
}  // namespace apiary::sim
