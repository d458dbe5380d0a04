// The OpenPAI operator tools (cli/openpai_*): layout.yaml reading,
// `apiary generate`, `apiary check-layout` and `apiary diff`, on the fixtures
// taken from the operators' guide (tests/data/openpai/PROVENANCE.md).
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "apiary/cell/config_derived.h"
#include "apiary/cell/config_loader.h"
#include "apiary/wire/inspect_json.h"
#include "openpai_check.h"
#include "openpai_diff.h"
#include "openpai_generate.h"
#include "openpai_layout.h"
#include "replay.h"

namespace apiary::cli::openpai {
namespace {

const std::string kData = std::string(APIARY_TEST_DATA_DIR) + "/openpai/";
const std::string kExamples = std::string(APIARY_SOURCE_DIR) + "/examples/openpai/";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << path;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  size_t pos = s.find(from);
  EXPECT_NE(pos, std::string::npos) << "fixture text changed: " << from;
  if (pos != std::string::npos) s.replace(pos, from.size(), to);
  return s;
}

std::string ReplaceAll(std::string s, const std::string& from, const std::string& to) {
  EXPECT_NE(s.find(from), std::string::npos) << "fixture text changed: " << from;
  for (size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size()))
    s.replace(pos, from.size(), to);
  return s;
}

// A scratch directory per test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = std::filesystem::temp_directory_path() /
            ("apiary-openpai-" + std::string(info->test_suite_name()) + "-" + info->name() +
             "-" + std::to_string(::getpid()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string Write(const std::string& name, const std::string& text) const {
    std::string p = (path_ / name).string();
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }
  std::string Path(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

Layout MustLayout(const std::string& text, const std::string& name = "layout.yaml") {
  auto l = ParseLayoutText(text, name, nullptr);
  EXPECT_TRUE(l.ok()) << l.status().message();
  return l.ok() ? *l : Layout{};
}

Layout MustLayoutFile(const std::string& path) {
  auto l = LoadLayoutFile(path, nullptr);
  EXPECT_TRUE(l.ok()) << l.status().message();
  return l.ok() ? *l : Layout{};
}

cell::Config MustConfig(const std::string& text, const std::string& name = "generated") {
  auto c = cell::LoadConfigText(text, name);
  EXPECT_TRUE(c.ok()) << c.status().message() << "\n" << text;
  return c.ok() ? c->config : cell::Config{};
}

// Node names of a config, in configuration order.
std::vector<std::string> Nodes(const cell::Config& config) {
  std::vector<std::string> nodes;
  auto d = cell::DeriveConfig(config);
  EXPECT_TRUE(d.ok());
  if (!d.ok()) return nodes;
  cell::ForEachPhysicalCell(config, *d, [&](const cell::PhysicalCellVisit& v) {
    if (!v.node.empty() && std::find(nodes.begin(), nodes.end(), v.node) == nodes.end())
      nodes.emplace_back(v.node);
  });
  return nodes;
}

// "chain.type x N" per virtual cell of a VC, and pinned ids.
std::vector<std::string> VcCells(const cell::Config& config, const std::string& vc) {
  std::vector<std::string> out;
  for (const auto& v : config.virtual_clusters) {
    if (v.name != vc) continue;
    for (const auto& c : v.virtual_cells)
      out.push_back(c.cell_type + " x " + std::to_string(c.cell_number));
    for (const auto& p : v.pinned_cell_ids) out.push_back("pinned " + p);
  }
  return out;
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

const std::string kMiniLayout = R"(machine-sku:
  k80x4:
    computing-device: {type: nvidia.com/gpu, model: K80, count: 4}
    mem: 220Gi
    cpu: {vcore: 24}
machine-list:
- {hostname: master, hostip: 10.0.0.1, machine-type: k80x4, pai-master: "true"}
- {hostname: worker-1, hostip: 10.0.0.2, machine-type: k80x4, pai-worker: "true"}
- {hostname: worker-2, hostip: 10.0.0.3, machine-type: k80x4, pai-worker: "true"}
- {hostname: worker-3, hostip: 10.0.0.4, machine-type: k80x4, pai-worker: "true"}
)";

// ---------------------------------------------------------------- layout

TEST(OpenPaiLayoutTest, ReadsTheGuideLayout) {
  Layout l = MustLayoutFile(kData + "layout.yaml");
  ASSERT_EQ(l.skus.size(), 3u);
  EXPECT_EQ(l.skus[0].name, "cpu-master");
  EXPECT_FALSE(l.skus[0].device.has_value());
  ASSERT_TRUE(l.skus[1].device.has_value());
  EXPECT_EQ(l.skus[1].device->model, "K80");
  EXPECT_EQ(l.skus[1].device->count, 4);
  EXPECT_EQ(l.skus[1].mem_mib, 225280);
  EXPECT_EQ(l.skus[1].vcore, 24);
  ASSERT_EQ(l.machines.size(), 4u);
  EXPECT_TRUE(l.machines[0].master);
  EXPECT_FALSE(l.machines[0].worker);
  ASSERT_EQ(l.Workers().size(), 3u);
  EXPECT_EQ(l.Workers()[2]->hostname, "worker-3");
  EXPECT_EQ(l.Workers()[2]->machine_type, "v100x8");
}

TEST(OpenPaiLayoutTest, QuantitiesAndNames) {
  EXPECT_EQ(QuantityToMiB("220Gi"), 225280);
  EXPECT_EQ(QuantityToMiB("512Mi"), 512);
  EXPECT_EQ(QuantityToMiB("1.5Ti"), 1572864);
  EXPECT_EQ(QuantityToMiB("64G"), 61035);  // 64e9 bytes
  EXPECT_EQ(QuantityToMiB("68719476736"), 65536);
  EXPECT_EQ(QuantityToMiB("1e9"), 953);
  EXPECT_FALSE(QuantityToMiB("Gi").has_value());
  EXPECT_FALSE(QuantityToMiB("-1Gi").has_value());
  EXPECT_FALSE(QuantityToMiB("12 GB").has_value());
  EXPECT_TRUE(IsDns1123Subdomain("worker-1.lab.example"));
  EXPECT_FALSE(IsDns1123Subdomain("Worker-1"));
  EXPECT_FALSE(IsDns1123Subdomain("worker_1"));
  EXPECT_FALSE(IsDns1123Subdomain("-worker"));
  EXPECT_TRUE(IsDns1123Label("vc-1"));
  EXPECT_FALSE(IsDns1123Label("vc.1"));
  EXPECT_TRUE(IsIpv4("10.0.0.255"));
  EXPECT_FALSE(IsIpv4("10.0.0.256"));
  EXPECT_FALSE(IsIpv4("10.0.0"));
  EXPECT_FALSE(IsIpv4("10.0.0.01"));
}

TEST(OpenPaiLayoutTest, BadMachinesAreErrorsNamingTheHost) {
  std::string text = kMiniLayout +
                     "- {hostname: worker-1, hostip: 10.0.0.9, machine-type: k80x4, "
                     "pai-worker: \"true\"}\n"
                     "- {hostname: Worker-5, hostip: 10.0.0.5, machine-type: k80x4, "
                     "pai-worker: \"true\"}\n"
                     "- {hostname: worker-6, hostip: 10.0.0.6, machine-type: a100x8, "
                     "pai-worker: \"true\"}\n";
  auto l = ParseLayoutText(text, "layout.yaml", nullptr);
  ASSERT_FALSE(l.ok());
  const std::string& m = l.status().message();
  EXPECT_TRUE(Contains(m, "layout.yaml: machine-list[4] (worker-1): hostname: duplicate hostname "
                          "\"worker-1\", already used by machine-list[1]"))
      << m;
  EXPECT_TRUE(Contains(m, "layout.yaml: machine-list[5] (Worker-5): hostname: \"Worker-5\" has "
                          "upper-case letters"))
      << m;
  EXPECT_TRUE(Contains(m, "rename the machine \"worker-5\"")) << m;
  EXPECT_TRUE(Contains(m, "layout.yaml: machine-list[6] (worker-6): machine-type: unknown "
                          "machine-type \"a100x8\" (machine-sku defines: k80x4)"))
      << m;
}

TEST(OpenPaiLayoutTest, FieldErrorsNameTheField) {
  std::string text = R"(machine-sku:
  k80x4:
    computing-device: {type: nvidia.com/gpu, model: K80, count: 4.5}
    mem: lots
    cpu: {vcore: 24}
machine-list:
- {hostname: worker-1, hostip: 10.0.0.300, machine-type: k80x4, pai-worker: "yes"}
)";
  auto l = ParseLayoutText(text, "layout.yaml", nullptr);
  ASSERT_FALSE(l.ok());
  const std::string& m = l.status().message();
  EXPECT_TRUE(Contains(m, "machine-sku.k80x4.computing-device.count: must be a positive integer"))
      << m;
  EXPECT_TRUE(Contains(m, "got \"4.5\"")) << m;
  EXPECT_TRUE(Contains(m, "machine-sku.k80x4.mem: must be a positive Kubernetes quantity")) << m;
  EXPECT_TRUE(Contains(m, "machine-list[0] (worker-1): hostip: must be an IPv4 address")) << m;
  EXPECT_TRUE(Contains(m, "machine-list[0] (worker-1): pai-worker: must be \"true\" or \"false\""))
      << m;
}

TEST(OpenPaiLayoutTest, NoWorkerIsAnError) {
  auto l = ParseLayoutText(
      "machine-sku: {m: {mem: 60Gi, cpu: {vcore: 24}}}\n"
      "machine-list:\n- {hostname: master, hostip: 10.0.0.1, machine-type: m, pai-master: "
      "\"true\"}\n",
      "layout.yaml", nullptr);
  ASSERT_FALSE(l.ok());
  EXPECT_TRUE(Contains(l.status().message(), "No worker node detected")) << l.status().message();
}

TEST(OpenPaiLayoutTest, YamlSyntaxErrorHasLineAndColumn) {
  auto l = ParseLayoutText("machine-sku:\n  a: [1, 2\nmachine-list: []\n", "layout.yaml", nullptr);
  ASSERT_FALSE(l.ok());
  EXPECT_TRUE(Contains(l.status().message(), "layout.yaml: YAML parse error at line"))
      << l.status().message();
}

// -------------------------------------------------------------- generate

TEST(OpenPaiGenerateTest, GuideLayoutRoundTripsThroughValidate) {
  TempDir tmp;
  GenerateOptions o;
  o.layout_path = kData + "layout.yaml";
  o.output_path = tmp.Path("hived.yaml");
  o.services_path = tmp.Path("services-configuration.yaml");
  std::ostringstream out, err;
  ASSERT_EQ(RunGenerate(o, out, err), 0) << err.str();
  EXPECT_TRUE(Contains(out.str(), "generated 2 chains, 3 nodes, 1 VC")) << out.str();

  // Both files load with `apiary validate`.
  for (const std::string& path : {o.output_path, o.services_path}) {
    std::ostringstream vout, verr;
    EXPECT_EQ(RunValidate(path, /*strict=*/false, vout, verr), 0) << verr.str();
  }
  cell::Config c = MustConfig(ReadFile(o.output_path));
  // Workers only: the master (not pai-worker) and its SKU are left out.
  EXPECT_EQ(Nodes(c), (std::vector<std::string>{"worker-1", "worker-2", "worker-3"}));
  ASSERT_EQ(c.sku_types.size(), 2u);
  // The numbers of openpai.md 3: 24 vcores and 220Gi per K80 x 4 machine,
  // minus OpenPAI's reserve, give 5 CPUs and 56064Mi per GPU.
  EXPECT_EQ(c.sku_types[0].name, "k80x4");
  EXPECT_EQ(c.sku_types[0].gpu, 1);
  EXPECT_EQ(c.sku_types[0].cpu, 5);
  EXPECT_EQ(c.sku_types[0].memory, "56064Mi");
  EXPECT_EQ(c.sku_types[1].name, "v100x8");
  EXPECT_EQ(c.sku_types[1].memory, "31872Mi");
  // Cell types named as OpenPAI's generator names them.
  ASSERT_EQ(c.cell_types.size(), 4u);
  EXPECT_EQ(c.cell_types[0].name, "k80x4-NODE");
  EXPECT_EQ(c.cell_types[0].child_cell_number, 4);
  EXPECT_TRUE(c.cell_types[0].is_node_level);
  EXPECT_EQ(c.cell_types[1].name, "k80x4-NODE-POOL");
  EXPECT_EQ(c.cell_types[1].child_cell_number, 2);
  EXPECT_EQ(c.cell_types[3].name, "v100x8-NODE-POOL");
  // One default VC owning everything.
  ASSERT_EQ(c.virtual_clusters.size(), 1u);
  EXPECT_EQ(VcCells(c, "default"),
            (std::vector<std::string>{"k80x4-NODE-POOL.k80x4-NODE x 2",
                                      "v100x8-NODE-POOL.v100x8-NODE x 1"}));

  // The fragment is the same config inside hivedscheduler.config, and loads
  // with OpenPAI's deployment defaults.
  const std::string fragment = ReadFile(o.services_path);
  EXPECT_TRUE(Contains(fragment, "hivedscheduler:\n  config: |\n    physicalCluster:\n"));
  auto loaded = cell::LoadConfigText(fragment, "fragment");
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_EQ(loaded->config.web_server_address, ":30096");
  EXPECT_EQ(Nodes(loaded->config), Nodes(c));
  EXPECT_EQ(VcCells(loaded->config, "default"), VcCells(c, "default"));
}

TEST(OpenPaiGenerateTest, ConfigGoesToStdoutWhenNoOutputFile) {
  GenerateOptions o;
  o.layout_path = kData + "layout.yaml";
  std::ostringstream out, err;
  ASSERT_EQ(RunGenerate(o, out, err), 0) << err.str();
  MustConfig(out.str());
  EXPECT_TRUE(Contains(err.str(), "generated 2 chains")) << err.str();
}

TEST(OpenPaiGenerateTest, MasterMarkedWorkerIsIncluded) {
  Layout l = MustLayoutFile(kData + "layout-master-worker.yaml");
  auto g = Generate(l, nullptr);
  ASSERT_TRUE(g.ok()) << g.status().message();
  cell::Config c = MustConfig(g->config);
  EXPECT_EQ(Nodes(c), (std::vector<std::string>{"master", "worker-1", "worker-2", "worker-3"}));
  EXPECT_EQ(VcCells(c, "default"),
            (std::vector<std::string>{"k80x4-NODE-POOL.k80x4-NODE x 3",
                                      "v100x8-NODE-POOL.v100x8-NODE x 1"}));
  ASSERT_FALSE(g->warnings.empty());
  EXPECT_TRUE(Contains(g->warnings[0], "machine-list[0] (master): pai-master is also pai-worker"))
      << g->warnings[0];
}

TEST(OpenPaiGenerateTest, NewMachineTypeGetsItsOwnChain) {
  auto g = Generate(MustLayoutFile(kData + "layout-add-2080ti.yaml"), nullptr);
  ASSERT_TRUE(g.ok()) << g.status().message();
  cell::Config c = MustConfig(g->config);
  EXPECT_EQ(Nodes(c).back(), "worker-4");
  EXPECT_EQ(VcCells(c, "default").back(), "2080tix8-NODE-POOL.2080tix8-NODE x 1");
  EXPECT_EQ(c.sku_types.back().memory, "25472Mi");  // (200Gi - 1Gi) / 8
}

TEST(OpenPaiGenerateTest, CpuOnlyWorkersGetOneLeafPerCpu) {
  Layout l = MustLayout(R"(machine-sku:
  cpu-node: {mem: 60Gi, cpu: {vcore: 24}}
machine-list:
- {hostname: cpu-1, hostip: 10.0.0.2, machine-type: cpu-node, pai-worker: "true"}
)");
  auto g = Generate(l, nullptr);
  ASSERT_TRUE(g.ok()) << g.status().message();
  cell::Config c = MustConfig(g->config);
  ASSERT_EQ(c.sku_types.size(), 1u);
  EXPECT_EQ(c.sku_types[0].gpu, 0);
  EXPECT_EQ(c.sku_types[0].cpu, 1);
  // 23.76 CPUs and 60816 MiB remain: 23 leaves of 2560Mi.
  EXPECT_EQ(c.sku_types[0].memory, "2560Mi");
  EXPECT_EQ(c.cell_types[0].child_cell_number, 23);
}

TEST(OpenPaiGenerateTest, VcFileWithSharesCountsLeavesAndPinnedNodes) {
  auto vcs = LoadVcFile(kExamples + "vcs.yaml");
  ASSERT_TRUE(vcs.ok()) << vcs.status().message();
  auto g = Generate(MustLayoutFile(kExamples + "layout.yaml"), &*vcs);
  ASSERT_TRUE(g.ok()) << g.status().message();
  cell::Config c = MustConfig(g->config);
  // 50% + 50% of 3 K80 nodes: 1 each, the odd node to the VC listed first.
  EXPECT_EQ(VcCells(c, "default"),
            (std::vector<std::string>{"k80x4-NODE-POOL.k80x4-NODE x 2",
                                      "v100x8-NODE-POOL.v100x8-NODE x 1"}));
  EXPECT_EQ(VcCells(c, "research"),
            (std::vector<std::string>{"k80x4-NODE-POOL.k80x4-NODE x 1",
                                      "v100x8-NODE-POOL.v100x8-NODE.v100x8 x 4"}));
  EXPECT_EQ(VcCells(c, "vision"),
            (std::vector<std::string>{"v100x8-NODE-POOL.v100x8-NODE.v100x8 x 4",
                                      "pinned worker-6"}));
  EXPECT_TRUE(Contains(g->config, "    - cellAddress: worker-6\n      pinnedCellId: worker-6\n"));
  // What the rounding made of each share, and which leaves serve 1-GPU pods
  // only (research and vision also run bigger pods: whole nodes, a pinned
  // node, or several leaves).
  const std::string f = kExamples + "vcs.yaml: virtualClusters.";
  EXPECT_EQ(g->warnings,
            (std::vector<std::string>{
                f + "default.k80x4: the share is 1.50 of 3 k80x4 nodes; VC default gets 2 nodes "
                    "(a leftover node, by largest remainder)",
                f + "research.k80x4: the share is 1.50 of 3 k80x4 nodes; VC research gets 1 node "
                    "(rounded down)",
                f + "research.v100x8: 4 single v100x8 leaves: 1-GPU pods only (separately "
                    "assigned leaves are never combined for one pod); a pod of 2 or more v100x8 "
                    "GPUs in VC research needs whole nodes ({nodes: N})",
                f + "vision.v100x8: 4 single v100x8 leaves: 1-GPU pods only (separately assigned "
                    "leaves are never combined for one pod); a pod of 2 or more v100x8 GPUs in VC "
                    "vision needs whole nodes ({nodes: N})"}));
}

TEST(OpenPaiGenerateTest, ASingleLeafAloneIsNotFlagged) {
  auto vcs = ParseVcFileText(
      "virtualClusters:\n  default: {k80x4: 3}\n  tiny: {v100x8: {leaves: 1}}\n", "vcs.yaml");
  ASSERT_TRUE(vcs.ok()) << vcs.status().message();
  auto g = Generate(MustLayoutFile(kExamples + "layout.yaml"), &*vcs);
  ASSERT_TRUE(g.ok()) << g.status().message();
  for (const std::string& w : g->warnings) EXPECT_FALSE(Contains(w, "1-GPU pods only")) << w;
}

TEST(OpenPaiGenerateTest, SharesUseLargestRemainder) {
  auto vcs = ParseVcFileText("virtualClusters:\n  a: {k80x4: 25%}\n  b: {k80x4: 75%}\n", "vcs.yaml");
  ASSERT_TRUE(vcs.ok()) << vcs.status().message();
  auto g = Generate(MustLayout(kMiniLayout), &*vcs);
  ASSERT_TRUE(g.ok()) << g.status().message();
  cell::Config c = MustConfig(g->config);
  // 3 nodes: 0.75 and 2.25; floors 0 and 2, the remainder to a (0.75 > 0.25).
  EXPECT_EQ(VcCells(c, "a"), (std::vector<std::string>{"k80x4-NODE-POOL.k80x4-NODE x 1"}));
  EXPECT_EQ(VcCells(c, "b"), (std::vector<std::string>{"k80x4-NODE-POOL.k80x4-NODE x 2"}));
  // OpenPAI sends jobs that name no VC to `default`; the rounding is told.
  ASSERT_EQ(g->warnings.size(), 3u);
  EXPECT_TRUE(Contains(g->warnings[0], "no VC named default")) << g->warnings[0];
  EXPECT_TRUE(Contains(g->warnings[1], "a.k80x4: the share is 0.75 of 3 k80x4 nodes; VC a gets 1 "
                                       "node (a leftover node, by largest remainder)"))
      << g->warnings[1];
  EXPECT_TRUE(Contains(g->warnings[2], "b.k80x4: the share is 2.25 of 3 k80x4 nodes; VC b gets 2 "
                                       "nodes (rounded down)"))
      << g->warnings[2];
}

TEST(OpenPaiGenerateTest, PartialSharesLeaveCapacityInNoVcWithAWarning) {
  auto vcs = ParseVcFileText("virtualClusters:\n  default: {k80x4: 50%}\n", "vcs.yaml");
  ASSERT_TRUE(vcs.ok());
  auto g = Generate(MustLayout(kMiniLayout), &*vcs);
  ASSERT_TRUE(g.ok()) << g.status().message();
  EXPECT_EQ(VcCells(MustConfig(g->config), "default"),
            (std::vector<std::string>{"k80x4-NODE-POOL.k80x4-NODE x 1"}));
  ASSERT_EQ(g->warnings.size(), 2u);
  EXPECT_TRUE(Contains(g->warnings[0], "the share is 1.50 of 3 k80x4 nodes; VC default gets 1 node "
                                       "(rounded down)"))
      << g->warnings[0];
  EXPECT_TRUE(Contains(g->warnings[1], "8 of 12 leaf cells are in no VC")) << g->warnings[1];
}

TEST(OpenPaiGenerateTest, MachineTypeInNoVcIsWarnedAsTheHivedTrap) {
  auto vcs = ParseVcFileText("virtualClusters:\n  default: {k80x4: 2}\n", "vcs.yaml");
  ASSERT_TRUE(vcs.ok());
  auto g = Generate(MustLayoutFile(kData + "layout.yaml"), &*vcs);
  ASSERT_TRUE(g.ok()) << g.status().message();
  ASSERT_EQ(g->warnings.size(), 1u);
  EXPECT_TRUE(Contains(g->warnings[0], "machine-type v100x8 (nodes worker-3) is in no VC"));
  EXPECT_TRUE(Contains(g->warnings[0], "HiveD crashes at start"));
  MustConfig(g->config);  // still valid for Apiary
}

TEST(OpenPaiGenerateTest, VcFileErrorsNameTheEntry) {
  Layout l = MustLayoutFile(kData + "layout.yaml");
  auto over = ParseVcFileText("virtualClusters:\n  a: {k80x4: 2}\n  b: {k80x4: 1}\n", "vcs.yaml");
  ASSERT_TRUE(over.ok());
  auto g = Generate(l, &*over);
  ASSERT_FALSE(g.ok());
  EXPECT_TRUE(Contains(g.status().message(),
                       "vcs.yaml: virtualClusters.*.k80x4: VCs a, b ask for more k80x4 nodes "
                       "than the 2 unpinned workers"))
      << g.status().message();

  auto unknown = ParseVcFileText("virtualClusters:\n  a: {a100: 1, cpu-master: 1}\n", "vcs.yaml");
  ASSERT_TRUE(unknown.ok());
  g = Generate(l, &*unknown);
  ASSERT_FALSE(g.ok());
  EXPECT_TRUE(Contains(g.status().message(),
                       "vcs.yaml: virtualClusters.a.a100: no machine-type \"a100\""))
      << g.status().message();
  EXPECT_TRUE(Contains(g.status().message(),
                       "virtualClusters.a.cpu-master: machine-type cpu-master has no worker"))
      << g.status().message();

  auto pinned = ParseVcFileText("virtualClusters:\n  a: {pinnedNodes: [master]}\n", "vcs.yaml");
  ASSERT_TRUE(pinned.ok());
  g = Generate(l, &*pinned);
  ASSERT_FALSE(g.ok());
  EXPECT_TRUE(Contains(g.status().message(), "\"master\" is not a worker"))
      << g.status().message();

  auto bad = ParseVcFileText(
      "virtualClusters:\n  Research: {k80x4: 1}\n  b: {k80x4: 0.5}\n  c: {k80x4: {gpus: 2}}\n",
      "vcs.yaml");
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(Contains(bad.status().message(), "vcs.yaml: virtualClusters.Research: VC name "
                                               "\"Research\" is not a DNS-1123 label"))
      << bad.status().message();
  EXPECT_TRUE(Contains(bad.status().message(), "virtualClusters.b.k80x4: must be a whole number"))
      << bad.status().message();
  EXPECT_TRUE(Contains(bad.status().message(), "virtualClusters.c.k80x4: unknown key \"gpus\""))
      << bad.status().message();
}

TEST(OpenPaiGenerateTest, BadLayoutExitsTwoNamingTheHost) {
  TempDir tmp;
  GenerateOptions o;
  o.layout_path = tmp.Write("layout.yaml", kMiniLayout +
                                               "- {hostname: GPU-9, hostip: 10.0.0.9, "
                                               "machine-type: k80x4, pai-worker: \"true\"}\n");
  std::ostringstream out, err;
  EXPECT_EQ(RunGenerate(o, out, err), 2);
  EXPECT_TRUE(out.str().empty());
  EXPECT_TRUE(Contains(err.str(), "machine-list[4] (GPU-9): hostname: \"GPU-9\" has upper-case"))
      << err.str();

  o.layout_path = tmp.Path("missing.yaml");
  std::ostringstream out2, err2;
  EXPECT_EQ(RunGenerate(o, out2, err2), 2);
  EXPECT_TRUE(Contains(err2.str(), "missing.yaml: cannot read the file")) << err2.str();
}

TEST(OpenPaiGenerateTest, MachineTypeNamesThatBreakCellPathsAreRefused) {
  Layout l = MustLayout(R"(machine-sku:
  a100.x8: {computing-device: {type: nvidia.com/gpu, model: A100, count: 8}, mem: 1000Gi, cpu: {vcore: 96}}
machine-list:
- {hostname: gpu-1, hostip: 10.0.0.2, machine-type: a100.x8, pai-worker: "true"}
)");
  auto g = Generate(l, nullptr);
  ASSERT_FALSE(g.ok());
  EXPECT_TRUE(Contains(g.status().message(), "machine-sku.a100.x8: the machine-type name becomes "
                                             "a HiveD cell type name and may not contain '.'"))
      << g.status().message();
}

// docs/openpai.md: "Bad input is refused before anything is written, every
// problem at once": a machine-type problem does not hide the VC file's.
TEST(OpenPaiGenerateTest, EveryProblemIsReportedInOnePass) {
  Layout l = MustLayout(R"(machine-sku:
  k80x4: {computing-device: {type: nvidia.com/gpu, model: K80, count: 4}, mem: 220Gi}
  v100x8: {computing-device: {type: nvidia.com/gpu, model: V100, count: 8}, mem: 500Gi, cpu: {vcore: 48}}
machine-list:
- {hostname: worker-1, hostip: 10.0.0.2, machine-type: k80x4, pai-worker: "true"}
- {hostname: worker-2, hostip: 10.0.0.3, machine-type: v100x8, pai-worker: "true"}
)");
  auto vcs = ParseVcFileText(
      "virtualClusters:\n  default: {k80x4: 1, a100: 1, v100x8: 2}\n  b: {pinnedNodes: [gone]}\n",
      "vcs.yaml");
  ASSERT_TRUE(vcs.ok()) << vcs.status().message();
  auto g = Generate(l, &*vcs);
  ASSERT_FALSE(g.ok());
  const std::string& e = g.status().message();
  EXPECT_TRUE(Contains(e, "machine-sku.k80x4.cpu.vcore: missing")) << e;
  EXPECT_TRUE(Contains(e, "vcs.yaml: virtualClusters.default.a100: no machine-type \"a100\"")) << e;
  EXPECT_TRUE(Contains(e, "virtualClusters.b.pinnedNodes: \"gone\" is not a machine")) << e;
  EXPECT_TRUE(Contains(e, "VCs default ask for more v100x8 nodes than the 1 unpinned worker")) << e;

  // A broken layout does not hide a broken VC file either.
  TempDir tmp;
  GenerateOptions o;
  o.layout_path = tmp.Write("layout.yaml", kMiniLayout + "- {hostname: GPU-9}\n");
  o.vcs_path = tmp.Write("vcs.yaml", "virtualClusters:\n  Bad: {k80x4: 1}\n");
  std::ostringstream out, err;
  EXPECT_EQ(RunGenerate(o, out, err), 2);
  EXPECT_TRUE(Contains(err.str(), "layout.yaml: machine-list[4]")) << err.str();
  EXPECT_TRUE(Contains(err.str(), "vcs.yaml: virtualClusters.Bad: VC name")) << err.str();
}

TEST(OpenPaiGenerateTest, InputsThatAreNotUtf8AreRefusedWithTheByteOffset) {
  auto l = ParseLayoutText(kMiniLayout + "# caf\xE9\n", "layout.yaml", nullptr);
  ASSERT_FALSE(l.ok());
  EXPECT_TRUE(Contains(l.status().message(), "layout.yaml: not valid UTF-8: byte 0xE9 at byte offset " +
                                                 std::to_string(kMiniLayout.size() + 5)))
      << l.status().message();
  auto v = ParseVcFileText("virtualClusters:\n  d\xFF: {k80x4: 1}\n", "vcs.yaml");
  ASSERT_FALSE(v.ok());
  EXPECT_TRUE(Contains(v.status().message(), "vcs.yaml: not valid UTF-8: byte 0xFF at byte offset 20 "
                                              "(line 2, column 4)"))
      << v.status().message();
  // `apiary diff` reads YAML and JSON files alike.
  const std::string guide = ReadFile(kData + "services-configuration.yaml");
  TempDir tmp;
  DiffOptions o;
  o.old_path = tmp.Write("old.yaml", guide);
  o.new_path = tmp.Write("new.yaml", guide);
  o.pods_path = tmp.Write("pods.json", std::string("{\"items\":[\"\xC3\"]}"));
  std::ostringstream out, err;
  EXPECT_EQ(RunDiff(o, out, err), 2);
  EXPECT_TRUE(Contains(err.str(), "pods.json: not valid UTF-8: byte 0xC3 at byte offset 11")) << err.str();
}

// The fragment's header and docs/openpai.md ("Applying a change") give the
// same paictl commands.
TEST(OpenPaiGenerateTest, FragmentAndDocsGiveTheSamePaictlCommands) {
  auto g = Generate(MustLayout(kMiniLayout), nullptr);
  ASSERT_TRUE(g.ok()) << g.status().message();
  const std::string docs = ReadFile(std::string(APIARY_SOURCE_DIR) + "/docs/openpai.md");
  std::istringstream lines(g->services);
  int commands = 0;
  for (std::string line; std::getline(lines, line);) {
    const std::string prefix = "#   ./paictl.py ";
    if (line.rfind(prefix, 0) != 0) continue;
    ++commands;
    EXPECT_TRUE(Contains(docs, "\n" + line.substr(4) + "\n")) << line;
  }
  EXPECT_EQ(commands, 7);
}

// ---------------------------------------------------------- check-layout

TEST(OpenPaiCheckLayoutTest, GeneratedConfigAgreesWithItsLayout) {
  TempDir tmp;
  GenerateOptions o;
  o.layout_path = kData + "layout.yaml";
  o.output_path = tmp.Path("hived.yaml");
  std::ostringstream gout, gerr;
  ASSERT_EQ(RunGenerate(o, gout, gerr), 0) << gerr.str();
  std::ostringstream out, err;
  EXPECT_EQ(RunCheckLayout(o.layout_path, o.output_path, out, err), 0) << err.str();
  EXPECT_TRUE(Contains(out.str(), "agree: 3 workers checked")) << out.str();
  EXPECT_TRUE(err.str().empty()) << err.str();
}

TEST(OpenPaiCheckLayoutTest, GuideConfigDoesNotFitGuideLayout) {
  // The guide's hivedscheduler example puts worker-3 in the 4-GPU K80 pool;
  // its layout makes worker-3 a V100 x 8 machine.
  std::ostringstream out, err;
  EXPECT_EQ(RunCheckLayout(kData + "layout.yaml", kData + "services-configuration.yaml", out, err),
            2);
  const std::string e = err.str();
  EXPECT_TRUE(Contains(e, "layout.yaml: machine-list[3] (worker-3): machine-type v100x8: "
                          "computing-device.count is 8 (V100), but "))
      << e;
  EXPECT_TRUE(Contains(e, "gives worker-3 4 device leaf cells: 4 in chain k80x4-NODE-POOL")) << e;
  EXPECT_TRUE(Contains(e, "machine-list[3] (worker-3): machine-type v100x8 (V100) shares chain "
                          "k80x4-NODE-POOL with worker-1 (machine-type k80x4, K80)"))
      << e;
  // Its skuTypes memory (56334Mi x 4) exceeds what a 220Gi machine has.
  EXPECT_TRUE(Contains(e, "warning: ")) << e;
  EXPECT_TRUE(Contains(e, "Insufficient memory")) << e;
  EXPECT_TRUE(Contains(e, "2 errors")) << e;
}

TEST(OpenPaiCheckLayoutTest, MissingAndExtraNodesNameTheHostAndField) {
  Layout with_new = MustLayoutFile(kData + "layout-add-2080ti.yaml");
  Layout base = MustLayoutFile(kData + "layout.yaml");
  auto g_base = Generate(base, nullptr);
  auto g_new = Generate(with_new, nullptr);
  ASSERT_TRUE(g_base.ok() && g_new.ok());

  // A new worker that the config does not have yet.
  LayoutCheck r = CheckLayout(with_new, MustConfig(g_base->config), "hived.yaml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_TRUE(Contains(r.errors[0], "machine-list[4] (worker-4): pai-worker: \"true\", but "
                                    "worker-4 is no node of hived.yaml"))
      << r.errors[0];

  // A config node the layout does not have.
  r = CheckLayout(base, MustConfig(g_new->config), "hived.yaml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_TRUE(Contains(r.errors[0], "hived.yaml: node worker-4 (physicalCells[2], chain "
                                    "2080tix8-NODE-POOL): not in "))
      << r.errors[0];

  // A config node that is in the layout but not a worker.
  auto g_master = Generate(MustLayoutFile(kData + "layout-master-worker.yaml"), nullptr);
  ASSERT_TRUE(g_master.ok());
  r = CheckLayout(base, MustConfig(g_master->config), "hived.yaml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_TRUE(Contains(r.errors[0], "hived.yaml: node master (physicalCells[0], chain "
                                    "k80x4-NODE-POOL): "))
      << r.errors[0];
  EXPECT_TRUE(Contains(r.errors[0], "layout.yaml machine-list[0] (master) is not a worker: "
                                    "pai-worker is not \"true\""))
      << r.errors[0];
}

TEST(OpenPaiCheckLayoutTest, LeafIndexBeyondTheDeviceCount) {
  Layout l = MustLayout(kMiniLayout);
  cell::Config c = MustConfig(R"(physicalCluster:
  skuTypes: {k80x4: {gpu: 1, cpu: 5, memory: 50000Mi}}
  cellTypes:
    k80x4-NODE: {childCellType: k80x4, childCellNumber: 4, isNodeLevel: true}
    k80x4-NODE-POOL: {childCellType: k80x4-NODE, childCellNumber: 3}
  physicalCells:
  - cellType: k80x4-NODE-POOL
    cellChildren:
    - cellAddress: worker-1
    - cellAddress: worker-2
    - cellAddress: worker-3
      cellChildren: [{cellAddress: 0}, {cellAddress: 1}, {cellAddress: 2}, {cellAddress: 7}]
virtualClusters:
  default: {virtualCells: [{cellType: k80x4-NODE-POOL.k80x4-NODE, cellNumber: 3}]}
)");
  LayoutCheck r = CheckLayout(l, c, "hived.yaml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_TRUE(Contains(r.errors[0], "machine-list[3] (worker-3): machine-type k80x4: "
                                    "computing-device.count is 4, but hived.yaml gives worker-3 "
                                    "leaf index 7"))
      << r.errors[0];
}

TEST(OpenPaiCheckLayoutTest, UnreadableInputExitsTwo) {
  std::ostringstream out, err;
  EXPECT_EQ(RunCheckLayout(kData + "nope.yaml", kData + "services-configuration.yaml", out, err),
            2);
  EXPECT_TRUE(Contains(err.str(), "nope.yaml: cannot read the file")) << err.str();
}

// ------------------------------------------------------------------ diff

struct Texts {
  std::string guide = ReadFile(kData + "services-configuration.yaml");
  std::string pods = ReadFile(kData + "pods.json");
};

DiffReport MustDiff(const std::string& old_text, const std::string& new_text,
                    const std::optional<std::string>& pods = std::nullopt) {
  auto r = DiffConfigs(old_text, "old.yaml", new_text, "new.yaml", pods, "pods.json");
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? *r : DiffReport{};
}

std::vector<std::string> GroupNames(const std::vector<GroupImpact>& v) {
  std::vector<std::string> out;
  for (const auto& g : v) out.push_back(g.group);
  return out;
}

// The guide's config with VC default shrunk from 2 nodes to 1.
std::string ShrinkDefault(const std::string& guide) {
  return Replace(guide, "          cellNumber: 2\n", "          cellNumber: 1\n");
}

TEST(OpenPaiDiffTest, IdenticalConfigsHaveNoFindings) {
  Texts t;
  DiffReport r = MustDiff(t.guide, t.guide, t.pods);
  EXPECT_EQ(r.findings, 0) << r.text;
  EXPECT_TRUE(r.nodes_added.empty() && r.nodes_removed.empty() && r.nodes_changed.empty());
  EXPECT_TRUE(r.pods_evaluated);
  EXPECT_TRUE(Contains(r.text, "default: unchanged (k80x4 8)")) << r.text;
  EXPECT_TRUE(Contains(r.text, "no group is affected")) << r.text;
}

TEST(OpenPaiDiffTest, NodesAddedRemovedAndMoved) {
  auto small = Generate(MustLayoutFile(kData + "layout.yaml"), nullptr);
  auto big = Generate(MustLayoutFile(kData + "layout-add-2080ti.yaml"), nullptr);
  ASSERT_TRUE(small.ok() && big.ok());
  DiffReport r = MustDiff(small->config, big->config);
  EXPECT_EQ(r.nodes_added, (std::vector<std::string>{"worker-4"}));
  EXPECT_TRUE(Contains(r.text, "  + worker-4  chain 2080tix8-NODE-POOL (8 leaves)")) << r.text;
  EXPECT_TRUE(Contains(r.text, "default: 2080tix8 0 -> 8, k80x4 8, v100x8 8")) << r.text;
  EXPECT_EQ(r.findings, 0) << r.text;

  r = MustDiff(big->config, small->config);
  EXPECT_EQ(r.nodes_removed, (std::vector<std::string>{"worker-4"}));
  EXPECT_TRUE(Contains(r.text, "  - worker-4  chain 2080tix8-NODE-POOL (8 leaves)")) << r.text;

  // worker-3 moves from the V100 pool into the K80 pool (as the guide's
  // generic hivedscheduler example has it).
  Texts t;
  r = MustDiff(small->config, t.guide);
  ASSERT_EQ(r.nodes_changed.size(), 1u);
  EXPECT_EQ(r.nodes_changed[0].node, "worker-3");
  EXPECT_TRUE(Contains(r.text, "~ worker-3  chain v100x8-NODE-POOL (8 leaves) -> chain "
                               "k80x4-NODE-POOL (4 leaves)"))
      << r.text;
  // VC default lost its V100 quota; VC new appears.
  const VcChange& d = r.vcs[0];
  EXPECT_EQ(d.vc, "default");
  EXPECT_EQ(d.before.leaves.at("v100x8"), 8);
  EXPECT_EQ(d.after.leaves.count("v100x8"), 0u);
  EXPECT_EQ(r.vcs[1].vc, "new");
  EXPECT_FALSE(r.vcs[1].in_old);
  EXPECT_TRUE(Contains(r.text, "new: added: k80x4 4")) << r.text;
}

TEST(OpenPaiDiffTest, VcQuotaBeforeAndAfterAndGrownUnassignedCapacity) {
  Texts t;
  DiffReport r = MustDiff(t.guide, ShrinkDefault(t.guide));
  ASSERT_EQ(r.vcs.size(), 2u);
  const VcChange& d = r.vcs[0];
  EXPECT_EQ(d.before.leaves.at("k80x4"), 8);
  EXPECT_EQ(d.after.leaves.at("k80x4"), 4);
  auto key = std::pair<std::string, int32_t>{"k80x4-NODE-POOL", 2};
  EXPECT_EQ(d.before.cells.at(key), (std::pair<std::string, int64_t>{"k80x4-NODE", 2}));
  EXPECT_EQ(d.after.cells.at(key), (std::pair<std::string, int64_t>{"k80x4-NODE", 1}));
  EXPECT_TRUE(Contains(r.text, "  default: k80x4 8 -> 4\n      chain k80x4-NODE-POOL level 2 "
                               "(k80x4-NODE): 2 -> 1\n"))
      << r.text;
  ASSERT_EQ(r.unassigned.size(), 1u);
  EXPECT_EQ(r.unassigned[0].unassigned_leaves, 4);
  EXPECT_EQ(r.unassigned[0].unassigned_before, 0);
  EXPECT_TRUE(r.unassigned[0].finding);
  EXPECT_EQ(r.findings, 1);
}

TEST(OpenPaiDiffTest, ChainInNoVcIsFlaggedProminently) {
  // The guide's section 5: a 2080Ti machine is added, its pool has no VC yet.
  Texts t;
  std::string added = Replace(t.guide, "      physicalCells:\n",
                              "        2080tix8-NODE:\n"
                              "          childCellType: 2080tix8\n"
                              "          childCellNumber: 8\n"
                              "          isNodeLevel: true\n"
                              "        2080tix8-NODE-POOL:\n"
                              "          childCellType: 2080tix8-NODE\n"
                              "          childCellNumber: 1\n"
                              "      physicalCells:\n");
  added = Replace(added, "    virtualClusters:\n",
                  "      - cellType: 2080tix8-NODE-POOL\n"
                  "        cellChildren:\n"
                  "        - cellAddress: worker-4\n"
                  "    virtualClusters:\n");
  DiffReport r = MustDiff(t.guide, added, t.pods);
  EXPECT_TRUE(r.new_schedulable);  // Apiary accepts it
  ASSERT_EQ(r.unassigned.size(), 1u);
  EXPECT_TRUE(r.unassigned[0].no_vc);
  EXPECT_EQ(r.unassigned[0].nodes, (std::vector<std::string>{"worker-4"}));
  EXPECT_TRUE(Contains(r.text, "!! chain 2080tix8-NODE-POOL (leaf type 2080tix8, 8 leaf cells, "
                               "nodes worker-4): no VC has cells in it."))
      << r.text;
  EXPECT_TRUE(Contains(r.text, "HiveD crashes at start")) << r.text;
  EXPECT_TRUE(Contains(r.text, "Probably unintended")) << r.text;
  EXPECT_TRUE(r.preempted.empty() && r.lost.empty());
  EXPECT_EQ(r.findings, 1);
}

TEST(OpenPaiDiffTest, InfeasibleAssignmentNamesChainLevelNeededAvailable) {
  // worker-3 removed from the pool, VCs unchanged: 3 nodes asked, 2 left.
  Texts t;
  std::string removed = Replace(t.guide, "        - cellAddress: worker-3\n", "");
  removed = Replace(removed, "childCellNumber: 3", "childCellNumber: 2");
  DiffReport r = MustDiff(t.guide, removed, t.pods);
  EXPECT_FALSE(r.new_schedulable);
  EXPECT_EQ(r.nodes_removed, (std::vector<std::string>{"worker-3"}));
  ASSERT_EQ(r.infeasible.size(), 1u);
  const Infeasible& inf = r.infeasible[0];
  EXPECT_EQ(inf.chain, "k80x4-NODE-POOL");
  EXPECT_EQ(inf.level, 2);
  EXPECT_EQ(inf.cell_type, "k80x4-NODE");
  EXPECT_EQ(inf.needed, 3);
  EXPECT_EQ(inf.available, 2);
  EXPECT_EQ(inf.askers, "default 2, new 1");
  EXPECT_FALSE(inf.also_in_old);
  EXPECT_TRUE(Contains(r.text, "!! chain k80x4-NODE-POOL level 2 (k80x4-NODE): 3 needed "
                               "(default 2, new 1), 2 available"))
      << r.text;
  EXPECT_TRUE(Contains(r.text, "!! NEW is refused by the scheduler")) << r.text;
  EXPECT_FALSE(r.pods_evaluated);
  EXPECT_TRUE(Contains(r.pods_note, "not evaluated: the scheduler refuses NEW")) << r.pods_note;
  EXPECT_EQ(r.findings, 1);
}

TEST(OpenPaiDiffTest, InvalidConfigIsBadInput) {
  Texts t;
  std::string broken = Replace(t.guide, "childCellNumber: 3", "childCellNumber: three");
  auto r = DiffConfigs(t.guide, "old.yaml", broken, "new.yaml", std::nullopt, "");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(Contains(r.status().message(), "new.yaml: ")) << r.status().message();
  EXPECT_TRUE(Contains(r.status().message(), "childCellNumber")) << r.status().message();

  // A VC naming a chain that does not exist is not "infeasible": it is an error.
  std::string unknown = Replace(t.guide, "- cellType: k80x4-NODE-POOL.k80x4-NODE\n          "
                                         "cellNumber: 1",
                                "- cellType: v100-POOL.v100-NODE\n          cellNumber: 1");
  r = DiffConfigs(t.guide, "old.yaml", unknown, "new.yaml", std::nullopt, "");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(Contains(r.status().message(), "v100-POOL")) << r.status().message();
}

TEST(OpenPaiDiffTest, ShrinkingAVcPreemptsExactlyTheExpectedGroups) {
  // Recovery order (PodScheduled): alice (VC default, prio 100) at 10:00,
  // carol (VC new) at 10:02, bob (default, 10) at 10:05, dave (default, 10)
  // at 10:07, erin (opportunistic) at 10:10. With default down to one node,
  // alice's node takes it; bob and dave, on the other node, are lazily
  // preempted. carol (another VC) and erin (opportunistic) are untouched; the
  // completed pod of frank, which would have claimed worker-2 first, is
  // skipped.
  Texts t;
  DiffReport r = MustDiff(t.guide, ShrinkDefault(t.guide), t.pods);
  ASSERT_TRUE(r.pods_evaluated) << r.pods_note;
  EXPECT_EQ(r.pods_recovered, 6);
  EXPECT_EQ(r.groups_total, 5);  // frank's completed pod is not recovered
  EXPECT_TRUE(Contains(r.pods_note, "8 pods in pods.json: 6 bound (with bind info), 1 completed "
                                    "(skipped), 1 without bind info (skipped)"))
      << r.pods_note;
  EXPECT_EQ(GroupNames(r.preempted),
            (std::vector<std::string>{"bob~sweep/default", "dave~eval/default"}));
  EXPECT_TRUE(r.lost.empty());
  EXPECT_TRUE(r.warnings.empty()) << r.warnings[0];
  EXPECT_EQ(r.preempted[0].vc, "default");
  EXPECT_EQ(r.preempted[0].priority, 10);
  EXPECT_TRUE(Contains(r.preempted[0].detail, "worker-2: 0,1")) << r.preempted[0].detail;
  EXPECT_TRUE(Contains(r.preempted[0].detail, "its VC has no free quota left"));
  EXPECT_TRUE(Contains(r.text, "!! bob~sweep/default (VC default, priority 10, 1 pod): lazily "
                               "preempted (worker-2: 0,1)"))
      << r.text;
  EXPECT_EQ(r.findings, 3);  // grown unassigned capacity + 2 groups
}

TEST(OpenPaiDiffTest, RecoveryOrderIsThePodScheduledTime) {
  // bob was scheduled first: recovered first, it binds default's only node
  // cell to worker-2; alice (priority 100) then claims that cell and lazily
  // preempts bob; dave finds no cell left.
  Texts t;
  std::string pods = ReplaceAll(t.pods, "\"lastTransitionTime\": \"2024-05-06T10:05:00Z\"",
                             "\"lastTransitionTime\": \"2024-05-06T09:59:59Z\"");
  DiffReport r = MustDiff(t.guide, ShrinkDefault(t.guide), pods);
  EXPECT_EQ(GroupNames(r.preempted),
            (std::vector<std::string>{"bob~sweep/default", "dave~eval/default"}));
  ASSERT_EQ(r.preempted.size(), 2u);
  EXPECT_TRUE(Contains(r.preempted[0].detail, "claimed by alice~train1/default"))
      << r.preempted[0].detail;
  EXPECT_TRUE(Contains(r.preempted[1].detail, "its VC has no free quota left"))
      << r.preempted[1].detail;
}

TEST(OpenPaiDiffTest, RemovedNodeTakesCellsFromItsGroups) {
  // worker-2 removed (and default shrunk to fit): bob, dave and erin ran
  // there.
  Texts t;
  std::string removed = Replace(t.guide, "        - cellAddress: worker-2\n", "");
  removed = Replace(removed, "childCellNumber: 3", "childCellNumber: 2");
  removed = ShrinkDefault(removed);
  DiffReport r = MustDiff(t.guide, removed, t.pods);
  ASSERT_TRUE(r.pods_evaluated) << r.pods_note;
  EXPECT_EQ(GroupNames(r.lost), (std::vector<std::string>{"bob~sweep/default", "dave~eval/default",
                                                          "erin~oppo/default"}));
  EXPECT_TRUE(r.preempted.empty()) << r.text;
  // The node is gone from the config: the machine is going away, and the
  // report says to drain it first.
  EXPECT_TRUE(Contains(r.lost[0].detail,
                       "on removed node worker-2 (worker-2: 0,1): its pods die with the node; "
                       "drain it first (kubectl drain worker-2)"))
      << r.lost[0].detail;
  EXPECT_TRUE(Contains(r.text, "!! erin~oppo/default (VC default, priority -1, 1 pod): on "
                               "removed node worker-2 (worker-2: 3)"))
      << r.text;
  EXPECT_TRUE(Contains(r.text, "  - worker-2  chain k80x4-NODE-POOL (4 leaves)  (pods on it die "
                               "with the node: drain it before applying NEW)"))
      << r.text;
  // The groups the change leaves alone are named, so that "not listed"
  // cannot be mistaken for "not looked at".
  ASSERT_FALSE(r.unaffected.empty()) << r.text;
  for (const std::string& g : r.unaffected) {
    EXPECT_FALSE(Contains(g, "bob~sweep") || Contains(g, "dave~eval") || Contains(g, "erin~oppo"))
        << g;
    EXPECT_TRUE(Contains(r.text, g)) << r.text;
  }
  EXPECT_EQ(static_cast<int64_t>(r.unaffected.size() + r.lost.size()), r.groups_total) << r.text;
  EXPECT_TRUE(Contains(r.text, "  unaffected: " + std::to_string(r.unaffected.size()) + " group"))
      << r.text;
}

TEST(OpenPaiDiffTest, WithoutPodsTheReportSaysRunningPodsWereNotEvaluated) {
  Texts t;
  auto r = DiffConfigs(t.guide, "old.yaml", t.guide, "new.yaml", std::nullopt, "");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(r->pods_evaluated);
  EXPECT_TRUE(Contains(r->text, "Running pods: not evaluated (no --pods)")) << r->text;
  EXPECT_FALSE(Contains(r->text, "no group is affected")) << r->text;
}

TEST(OpenPaiDiffTest, BadPodsDumpIsBadInput) {
  Texts t;
  auto r = DiffConfigs(t.guide, "old.yaml", t.guide, "new.yaml", std::string("{not json"),
                       "pods.json");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(Contains(r.status().message(), "pods.json: invalid JSON")) << r.status().message();

  std::string pods = ReplaceAll(t.pods, "\"lastTransitionTime\": \"2024-05-06T10:05:00Z\"",
                             "\"lastTransitionTime\": \"yesterday\"");
  r = DiffConfigs(t.guide, "old.yaml", t.guide, "new.yaml", pods, "pods.json");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(Contains(r.status().message(),
                       "pods.json: items[1] (pod default/bob-sweep-main-0): "
                       "status.conditions[1].lastTransitionTime: not an RFC 3339 time"))
      << r.status().message();
}

TEST(OpenPaiDiffTest, ExitCodes) {
  TempDir tmp;
  Texts t;
  DiffOptions o;
  o.old_path = kData + "services-configuration.yaml";
  o.new_path = tmp.Write("new.yaml", ShrinkDefault(t.guide));
  o.pods_path = kData + "pods.json";
  std::ostringstream out, err;
  EXPECT_EQ(RunDiff(o, out, err), 0) << err.str();
  EXPECT_TRUE(Contains(out.str(), "3 findings (marked !!)")) << out.str();
  o.fail_on_findings = true;
  std::ostringstream out2, err2;
  EXPECT_EQ(RunDiff(o, out2, err2), 1);
  EXPECT_EQ(out.str(), out2.str());
  o.new_path = o.old_path;
  std::ostringstream out3, err3;
  EXPECT_EQ(RunDiff(o, out3, err3), 0);
  o.new_path = tmp.Path("missing.yaml");
  std::ostringstream out4, err4;
  EXPECT_EQ(RunDiff(o, out4, err4), 2);
  EXPECT_TRUE(Contains(err4.str(), "missing.yaml: cannot read the file")) << err4.str();
}

// The PodScheduled times of `apiary diff --pods` (wire/pod_list.cc) as
// nanoseconds since the epoch.
std::optional<int64_t> ParseRfc3339Nanos(std::string_view t) {
  auto parsed = wire::ParseRfc3339(t);
  return parsed ? parsed->UnixNanos() : std::nullopt;
}

TEST(OpenPaiDiffTest, Rfc3339) {
  EXPECT_EQ(ParseRfc3339Nanos("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(ParseRfc3339Nanos("2024-05-06T18:02:00+08:00"),
            ParseRfc3339Nanos("2024-05-06T10:02:00Z"));
  EXPECT_EQ(*ParseRfc3339Nanos("2000-03-01T00:00:00.5Z") - *ParseRfc3339Nanos("2000-02-28T00:00:00Z"),
            2 * 86400 * 1000000000LL + 500000000LL);  // 2000 is a leap year
  EXPECT_EQ(ParseRfc3339Nanos("2024-05-06T10:00:00.000000001Z").value() % 1000000000, 1);
  EXPECT_FALSE(ParseRfc3339Nanos("2024-05-06 10:00:00Z").has_value());
  EXPECT_FALSE(ParseRfc3339Nanos("2024-05-06T10:00:00").has_value());
  EXPECT_FALSE(ParseRfc3339Nanos("2024-13-06T10:00:00Z").has_value());
}

}  // namespace
}  // namespace apiary::cli::openpai
