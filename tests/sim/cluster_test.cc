// Clusters from node lists and quotas, and from hand-written HiveD configs.
#include <gtest/gtest.h>

#include "apiary/cell/config_loader.h"
#include "apiary/cell/scheduler.h"
#include "apiary/sim/scenario.h"
#include "sim_test_util.h"

namespace apiary::sim {
namespace {

using testing::SourcePath;

TEST(SimCluster, PhillyLikeFromHeliosQuotas) {
  ScenarioOptions o;
  o.trace_paths = {SourcePath("traces/data/philly/philly_jobs_pollux.csv")};
  o.workload.max_jobs = 100;
  o.vc_quotas_path = SourcePath("traces/data/philly/philly_vc_nodes_helios.csv");
  o.gpus_per_node = 8;
  auto sc = LoadScenario(o);
  ASSERT_TRUE(sc.ok()) << sc.status().message();
  const ClusterModel& c = sc->cluster;
  EXPECT_EQ(c.nodes.size(), 352u);
  EXPECT_EQ(c.TotalGpus(), 352 * 8);
  ASSERT_EQ(c.groups.size(), 1u);
  EXPECT_EQ(c.groups[0].rack_nodes, 4);
  EXPECT_EQ(c.skus[0].name, "P40");
  EXPECT_EQ(c.vcs.size(), 11u);
  EXPECT_EQ(c.VcGpus(c.FindVc("6214e9")), 64 * 8);
  EXPECT_EQ(c.VcGpus(c.FindVc("ed69ec")), 8 * 8);
  // The config is a valid HiveD config the production engine accepts.
  cell::ManualClock clock;
  auto s = cell::Scheduler::Create(c.hived, &clock);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ((*s)->GetUsage().total_leaves, 352 * 8);
  EXPECT_EQ(c.hived.virtual_clusters[0].virtual_cells[0].cell_type, "P40-RACK.P40-NODE");
}

TEST(SimCluster, CellHierarchyPerNodeSize) {
  std::vector<NodeSpec> nodes = {{"a", "V100", 8}, {"b", "V100", 8}, {"c", "T4", 3}};
  auto c = BuildCluster(nodes, {{"x", "V100", 2}, {"y", "T4", 1}}, {});
  ASSERT_TRUE(c.ok()) << c.status().message();
  ASSERT_EQ(c->groups.size(), 2u);
  EXPECT_EQ(c->groups[0].level_types,
            (std::vector<std::string>{"V100", "V100-X2", "V100-X4", "V100-NODE", "V100-RACK"}));
  EXPECT_EQ(c->groups[1].level_types, (std::vector<std::string>{"T4", "T4-NODE"}));
  EXPECT_EQ(c->VcGpus(c->FindVc("x")), 16);
  EXPECT_EQ(c->VcGpus(c->FindVc("y")), 3);
}

TEST(SimCluster, QuotasThatDoNotFitAreAClearError) {
  auto c = BuildCluster(GenerateNodes(4, "V100", 8), {{"x", "", 3}, {"y", "", 2}}, {});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("VC y: quota of 2 node cells does not fit"),
            std::string::npos)
      << c.status().message();
  auto d = BuildCluster(GenerateNodes(4, "V100", 8), {{"x", "A100", 1}}, {});
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("A100"), std::string::npos);
}

TEST(SimCluster, RackLevelQuotas) {
  ClusterOptions o;
  o.quota_level = QuotaLevel::kRack;
  o.rack_nodes = 4;
  auto c = BuildCluster(GenerateNodes(8, "P40", 8), {{"x", "", 1}, {"y", "", 1}}, o);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->VcGpus(0), 32);
  EXPECT_EQ(c->hived.virtual_clusters[0].virtual_cells[0].cell_type, "P40-RACK");
}

TEST(SimCluster, FromHandWrittenHivedConfig) {
  auto loaded = cell::LoadConfigFile(SourcePath("examples/configs/hived-basic.yaml"));
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  auto c = ClusterFromHivedConfig(loaded->config, "V100");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->nodes.size(), 7u);  // 4 DGX-like V100 nodes + 3 K80 nodes
  EXPECT_EQ(c->TotalGpus(), 4 * 8 + 3 * 4);
  // prod: 2 V100 nodes + the pinned dgx-04; research: 2 switches + 2 K80 nodes.
  EXPECT_EQ(c->VcGpus(c->FindVc("prod")), 24);
  EXPECT_EQ(c->VcGpus(c->FindVc("research")), 16);
  EXPECT_EQ(c->VcGpus(c->FindVc("default")), 4);
}

TEST(SimScenario, DerivedQuotasCoverTheCluster) {
  ScenarioOptions o;
  o.trace_paths = {SourcePath("traces/data/philly/philly_jobs_pollux.csv")};
  o.nodes = 100;
  auto sc = LoadScenario(o);
  ASSERT_TRUE(sc.ok()) << sc.status().message();
  int64_t total = 0;
  for (size_t v = 0; v < sc->cluster.vcs.size(); ++v)
    total += sc->cluster.VcGpus(static_cast<int32_t>(v));
  EXPECT_EQ(total, 800);
  EXPECT_EQ(sc->cluster.skus[0].name, "P40");
}

TEST(SimScenario, ErrorsNameTheProblem) {
  ScenarioOptions o;
  o.trace_paths = {"/nonexistent/trace.csv"};
  o.nodes = 4;
  auto sc = LoadScenario(o);
  ASSERT_FALSE(sc.ok());
  EXPECT_NE(sc.status().message().find("/nonexistent/trace.csv"), std::string::npos);
  o.trace_paths = {SourcePath("traces/data/philly/philly_jobs_pollux.csv")};
  o.nodes = 0;
  sc = LoadScenario(o);
  ASSERT_FALSE(sc.ok());
  EXPECT_NE(sc.status().message().find("--nodes"), std::string::npos);
}

}  // namespace
}  // namespace apiary::sim
