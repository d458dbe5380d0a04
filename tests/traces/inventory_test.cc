#include <gtest/gtest.h>

#include <map>

#include "apiary/traces/readers.h"
#include "test_util.h"

namespace apiary::traces {
namespace {

using testing::DataPath;
using testing::WriteTemp;

std::map<std::string, int64_t> GpusBySku(const Inventory& inv) {
  std::map<std::string, int64_t> out;
  for (const NodeInventory& n : inv.nodes) out[n.sku] += n.gpu_count;
  return out;
}

TEST(Inventory, OpenbNodeList) {
  Result<Inventory> inv = ReadOpenbNodes(DataPath("openb/openb_node_list_all_node.csv"));
  ASSERT_TRUE(inv.ok()) << inv.status().message();
  ASSERT_EQ(inv->nodes.size(), 1523u);
  EXPECT_EQ(inv->nodes[0],
            (NodeInventory{"openb-node-0000", "", "", 0, 32000, 262144}));
  EXPECT_EQ(inv->nodes[400],
            (NodeInventory{"openb-node-0400", "V100M16", "V100", 4, 32000, 131072}));
  EXPECT_EQ(inv->nodes[1522].sku, "G2");
  EXPECT_EQ(GpusBySku(*inv), (std::map<std::string, int64_t>{{"", 0},
                                                             {"A10", 2},
                                                             {"G2", 4392},
                                                             {"G3", 312},
                                                             {"P100", 265},
                                                             {"T4", 842},
                                                             {"V100", 195},
                                                             {"V100-32GB", 204}}));
  EXPECT_TRUE(inv->stats.adjusted.empty());
}

TEST(Inventory, PaiMachineSpec) {
  Result<Inventory> inv = ReadPaiMachineSpec(DataPath("pai/pai_machine_spec.csv"));
  ASSERT_TRUE(inv.ok()) << inv.status().message();
  ASSERT_EQ(inv->nodes.size(), 1897u);
  // 7399a758eb02bae1a3621236,CPU,96,512,0
  EXPECT_EQ(inv->nodes[0], (NodeInventory{"7399a758eb02bae1a3621236", "CPU", "", 0, 96000,
                                          512 * 1024}));
  // bd1aca1d83c79643a177a7c4,T4,96,512,2
  EXPECT_EQ(inv->nodes[100], (NodeInventory{"bd1aca1d83c79643a177a7c4", "T4", "T4", 2, 96000,
                                            512 * 1024}));
  EXPECT_EQ(GpusBySku(*inv), (std::map<std::string, int64_t>{{"", 0},
                                                             {"MISC", 2240},
                                                             {"P100", 1596},
                                                             {"T4", 994},
                                                             {"V100", 832},
                                                             {"V100-32GB", 1080}}));
}

TEST(Inventory, SpotGpuNodeList) {
  Result<Inventory> inv = ReadSpotGpuNodes(DataPath("spot/node_info_df.csv"));
  ASSERT_TRUE(inv.ok()) << inv.status().message();
  ASSERT_EQ(inv->nodes.size(), 4278u);
  // A100-SXM4-80GB,8,128,3
  EXPECT_EQ(inv->nodes[3], (NodeInventory{"3", "A100-SXM4-80GB", "A100-80GB", 8, 128000, 0}));
  EXPECT_EQ(GpusBySku(*inv), (std::map<std::string, int64_t>{{"A10", 2494},
                                                             {"A100-80GB", 3456},
                                                             {"A800", 176},
                                                             {"GPU-series-1", 1558},
                                                             {"GPU-series-2", 976},
                                                             {"H800", 1752}}));
}

TEST(Inventory, CanonicalExampleAndRoundTrip) {
  Result<Inventory> inv = ReadCanonicalNodes(DataPath("canonical/nodes.example.csv"));
  ASSERT_TRUE(inv.ok()) << inv.status().message();
  ASSERT_EQ(inv->nodes.size(), 4u);
  EXPECT_EQ(inv->nodes[2], (NodeInventory{"node-t4-0", "T4", "T4", 2, 64000, 262144}));
  EXPECT_EQ(inv->nodes[3], (NodeInventory{"cpu-0", "", "", 0, 32000, 131072}));

  Result<Inventory> spot = ReadSpotGpuNodes(DataPath("spot/node_info_df.csv"));
  ASSERT_TRUE(spot.ok());
  const std::string path = WriteTemp("nodes.csv", "");
  ASSERT_TRUE(WriteCanonicalNodes(*spot, path).ok());
  Result<Inventory> back = ReadCanonicalNodes(path);
  ASSERT_TRUE(back.ok()) << back.status().message();
  ASSERT_EQ(back->nodes.size(), spot->nodes.size());
  for (size_t i = 0; i < back->nodes.size(); ++i) {
    EXPECT_EQ(back->nodes[i].sku, spot->nodes[i].sku);
    EXPECT_EQ(back->nodes[i].gpu_count, spot->nodes[i].gpu_count);
    EXPECT_EQ(back->nodes[i].hostname, spot->nodes[i].hostname);
  }
}

TEST(Inventory, UnknownModelsKeepTheirSpelling) {
  const std::string path =
      WriteTemp("n.csv", "hostname,gpu_model,gpu_count\nn1,Radeon-X,4\nn2,,2\n");
  Result<Inventory> inv = ReadCanonicalNodes(path);
  ASSERT_TRUE(inv.ok()) << inv.status().message();
  EXPECT_EQ(inv->nodes[0].sku, "Radeon-X");
  EXPECT_EQ(inv->nodes[1].sku, "");
  EXPECT_EQ(inv->stats.adjusted.at("unknown_gpu_model"), 1);
  EXPECT_EQ(inv->stats.adjusted.at("gpu_model_missing"), 1);
}

TEST(Inventory, MalformedRows) {
  std::string path = WriteTemp("n.csv", "sn,cpu_milli,memory_mib,gpu,model\n"
                                        "a,1000,1024,8,T4\n"
                                        "a,1000,1024,8,T4\n");
  Result<Inventory> inv = ReadOpenbNodes(path);
  ASSERT_FALSE(inv.ok());
  EXPECT_EQ(inv.status().message(), path + ":3:1: duplicate hostname \"a\"");

  path = WriteTemp("m.csv", "m1,T4,96,512,2\nm2,T4,96,lots,2\nm3,T4,96,512\n");
  inv = ReadPaiMachineSpec(path);
  ASSERT_FALSE(inv.ok());
  EXPECT_EQ(inv.status().message(), path + ":2:10: field 'cap_mem': expected a number, got \"lots\"");
  ReadOptions o;
  o.skip_bad_rows = true;
  inv = ReadPaiMachineSpec(path, o);
  ASSERT_TRUE(inv.ok());
  EXPECT_EQ(inv->nodes.size(), 1u);
  EXPECT_EQ(inv->stats.skipped, 2);
  EXPECT_EQ(inv->stats.errors[1], path + ":3:13: expected 5 fields, got 4");

  path = WriteTemp("s.csv", "gpu_model,gpu_capacity_num,cpu_num,node_name\nA10,-1,128,0\n");
  inv = ReadSpotGpuNodes(path);
  ASSERT_FALSE(inv.ok());
  EXPECT_EQ(inv.status().message(),
            path + ":2:5: field 'gpu_capacity_num': -1 is out of range [0, 2147483647]");
}

TEST(Inventory, FormatDispatch) {
  Result<InventoryFormat> f = ParseInventoryFormat("spot");
  ASSERT_TRUE(f.ok());
  Result<Inventory> inv = ReadInventory(*f, DataPath("spot/node_info_df.csv"));
  ASSERT_TRUE(inv.ok());
  EXPECT_EQ(inv->nodes.size(), 4278u);
  EXPECT_FALSE(ParseInventoryFormat("yaml").ok());
}

}  // namespace
}  // namespace apiary::traces
