// Configuration loading and validation (hived.md sections 2 and 3).
#include "apiary/cell/config.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "apiary/cell/config_derived.h"
#include "apiary/cell/config_loader.h"

namespace apiary::cell {
namespace {

// The worked example of hived.md 2.4 (ROW = 2 x RACK, RACK = 2 x NODE,
// NODE = 4 x A100), with VCs that fit exactly and use every chain.
constexpr char kWorkedExample[] = R"(
physicalCluster:
  skuTypes:
    A100: {gpu: 1, cpu: 8, memory: 65536Mi}
  cellTypes:
    NODE: {childCellType: A100, childCellNumber: 4, isNodeLevel: true}
    RACK: {childCellType: NODE, childCellNumber: 2}
    ROW: {childCellType: RACK, childCellNumber: 2}
  physicalCells:
  - cellType: NODE            # index 0
    cellAddress: gpu-a
  - cellType: RACK            # index 1, no address -> "1"
    cellChildren:
    - cellAddress: gpu-b
    - cellAddress: gpu-c
      cellChildren: [{cellAddress: 7}, {}, {}, {}]
  - cellType: ROW             # index 2 -> "2"
    cellChildren:
    - cellChildren: [{cellAddress: gpu-d}, {cellAddress: gpu-e}]   # "2/4"
    - cellChildren: [{cellAddress: gpu-f}, {cellAddress: gpu-g}]   # "2/5"
virtualClusters:
  vc-blue:
    virtualCells:
    - {cellType: ROW.RACK, cellNumber: 1}
    - {cellType: RACK.NODE, cellNumber: 2}
  vc-red:
    virtualCells:
    - {cellType: NODE, cellNumber: 1}
    - {cellType: ROW.RACK.NODE.A100, cellNumber: 4}
)";

// Paths in the worked example.
constexpr char kRackCells[] = "physicalCluster.physicalCells[1]";
constexpr char kGpuC[] = "physicalCluster.physicalCells[1].cellChildren[1]";

std::string Dump(const Diagnostics& d) {
  std::string s;
  for (const Diagnostic& x : d.items) {
    s += (x.severity == Diagnostic::Severity::kError ? "E " : "W ");
    s += x.path + ": " + x.message + "\n";
  }
  return s.empty() ? "(no findings)\n" : s;
}

Config LoadOk(const std::string& text) {
  Result<LoadedConfig> r = LoadConfigText(text, "test.yaml");
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? r->config : Config{};
}

Config Worked() { return LoadOk(kWorkedExample); }

Diagnostics Check(const Config& config) {
  Diagnostics d;
  d.file = "test.yaml";
  ValidateConfig(config, &d);
  return d;
}

// Counts findings of `severity` whose path is exactly `path` and whose
// message contains `text`.
int Count(const Diagnostics& d, Diagnostic::Severity severity,
          const std::string& path, const std::string& text) {
  int n = 0;
  for (const Diagnostic& x : d.items) {
    if (x.severity == severity && x.path == path &&
        x.message.find(text) != std::string::npos) {
      ++n;
    }
  }
  return n;
}

int NumErrors(const Diagnostics& d) {
  int n = 0;
  for (const Diagnostic& x : d.items) {
    n += x.severity == Diagnostic::Severity::kError;
  }
  return n;
}

#define EXPECT_ERROR(d, path, text) \
  EXPECT_EQ(Count(d, Diagnostic::Severity::kError, path, text), 1) << Dump(d)
#define EXPECT_WARNING(d, path, text) \
  EXPECT_EQ(Count(d, Diagnostic::Severity::kWarning, path, text), 1) << Dump(d)

// Loads `text`; expects failure and returns the error message.
std::string LoadError(const std::string& text,
                      const std::string& file = "test.yaml") {
  Result<LoadedConfig> r = LoadConfigText(text, file);
  EXPECT_FALSE(r.ok());
  return r.ok() ? "" : r.status().message();
}

// address -> (node, leaf index) of every physical cell.
std::map<std::string, std::pair<std::string, int32_t>> Cells(
    const Config& config) {
  std::map<std::string, std::pair<std::string, int32_t>> out;
  Result<DerivedConfig> d = DeriveConfig(config);
  EXPECT_TRUE(d.ok()) << d.status().message();
  if (!d.ok()) return out;
  ForEachPhysicalCell(config, *d, [&](const PhysicalCellVisit& c) {
    out[std::string(c.address)] = {std::string(c.node), c.leaf_index};
  });
  return out;
}

// ---------------------------------------------------------------- loading

TEST(ConfigLoad, WorkedExampleHasNoFindings) {
  Result<LoadedConfig> r = LoadConfigText(kWorkedExample, "hived.yaml");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->diagnostics.items.empty()) << Dump(r->diagnostics);
  EXPECT_EQ(r->diagnostics.file, "hived.yaml");
  const Config& c = r->config;
  ASSERT_EQ(c.cell_types.size(), 3u);
  EXPECT_EQ(c.cell_types[0].name, "NODE");
  EXPECT_TRUE(c.cell_types[0].is_node_level);
  EXPECT_EQ(c.cell_types[2].child_cell_number, 2);
  ASSERT_EQ(c.physical_cells.size(), 3u);
  EXPECT_EQ(c.physical_cells[1].cell_children[1].cell_children[0].cell_address,
            "7");  // a number in YAML
  EXPECT_FALSE(c.physical_cells[1].cell_address.has_value());
  ASSERT_EQ(c.virtual_clusters.size(), 2u);
  EXPECT_EQ(c.virtual_clusters[0].name, "vc-blue");
  EXPECT_EQ(c.virtual_clusters[0].virtual_cells[1].cell_type, "RACK.NODE");
  EXPECT_EQ(c.web_server_address, ":9096");
  EXPECT_EQ(c.force_pod_bind_threshold, 3);
}

TEST(ConfigLoad, WorkedExampleAddresses) {
  auto cells = Cells(Worked());
  // hived.md 2.4's table.
  for (const char* a :
       {"gpu-a", "gpu-a/0", "gpu-a/3", "1", "1/gpu-b", "1/gpu-b/0", "1/gpu-b/3",
        "1/gpu-c", "1/gpu-c/7", "1/gpu-c/1", "1/gpu-c/2", "1/gpu-c/3", "2",
        "2/4", "2/5", "2/4/gpu-d", "2/5/gpu-f", "2/5/gpu-f/0", "2/5/gpu-g/3"}) {
    EXPECT_TRUE(cells.count(a)) << a;
  }
  EXPECT_FALSE(cells.count("1/gpu-c/0"));
  EXPECT_EQ(cells.size(), 1u + 4 + (1 + 2 + 8) + (1 + 2 + 4 + 16));
  EXPECT_EQ(cells["1/gpu-c/7"], std::make_pair(std::string("gpu-c"), 7));
  EXPECT_EQ(cells["1/gpu-c/3"], std::make_pair(std::string("gpu-c"), 3));
  EXPECT_EQ(cells["gpu-a"], std::make_pair(std::string("gpu-a"), -1));
  EXPECT_EQ(cells["2/5"], std::make_pair(std::string(), -1));  // multi-node
}

TEST(ConfigLoad, ConstructionOrderAndParents) {
  Config c = Worked();
  Result<DerivedConfig> d = DeriveConfig(c);
  ASSERT_TRUE(d.ok());
  std::vector<std::string> order;
  std::vector<int64_t> parents;
  ForEachPhysicalCell(c, *d, [&](const PhysicalCellVisit& v) {
    EXPECT_EQ(v.index, static_cast<int64_t>(order.size()));
    order.emplace_back(v.address);
    parents.push_back(v.parent);
  });
  ASSERT_GE(order.size(), 8u);
  EXPECT_EQ(order[0], "gpu-a");
  EXPECT_EQ(order[1], "gpu-a/0");
  EXPECT_EQ(order[5], "1");
  EXPECT_EQ(order[6], "1/gpu-b");
  EXPECT_EQ(order[7], "1/gpu-b/0");
  EXPECT_EQ(parents[0], -1);
  EXPECT_EQ(parents[7], 6);
  EXPECT_EQ(parents[6], 5);
}

TEST(ConfigLoad, DerivedChains) {
  Result<DerivedConfig> r = DeriveConfig(Worked());
  ASSERT_TRUE(r.ok()) << r.status().message();
  const DerivedConfig& d = *r;
  ASSERT_EQ(d.chains.size(), 3u);
  EXPECT_EQ(d.chains[0].name, "NODE");
  EXPECT_EQ(d.chains[2].name, "ROW");
  const DerivedChain& row = d.chains[2];
  EXPECT_EQ(row.top_level, 4);
  EXPECT_EQ(row.node_level, 2);
  EXPECT_EQ(row.leaf_cell_type, "A100");
  EXPECT_EQ(row.level_cell_types,
            (std::vector<std::string>{"A100", "NODE", "RACK", "ROW"}));
  EXPECT_EQ(row.level_leaf_cell_numbers, (std::vector<int64_t>{1, 4, 8, 16}));
  EXPECT_EQ(row.level_cell_counts, (std::vector<int64_t>{16, 4, 2, 1}));
  EXPECT_EQ(row.top_cells, (std::vector<int32_t>{2}));
  // Descending byte-wise chain names.
  EXPECT_EQ(d.ChainsOfLeafType("A100"), (std::vector<int32_t>{2, 1, 0}));
  EXPECT_TRUE(d.ChainsOfLeafType("K80").empty());
  const DerivedCellType* rack = d.FindCellType("RACK");
  ASSERT_NE(rack, nullptr);
  EXPECT_EQ(rack->level, 3);
  EXPECT_EQ(rack->leaf_cell_number, 8);
  EXPECT_TRUE(rack->at_or_above_node);
  EXPECT_TRUE(rack->multi_node);
  EXPECT_FALSE(rack->node_level);
  const DerivedCellType* leaf = d.FindCellType("A100");
  ASSERT_NE(leaf, nullptr);
  EXPECT_TRUE(leaf->is_leaf);
  EXPECT_EQ(leaf->level, 1);
  EXPECT_TRUE(d.FindCellType("NODE")->node_level);
}

TEST(ConfigLoad, EmptyAndNullDocumentsAreValid) {
  for (const char* text :
       {"", "# nothing\n", "{}", "---\n",
        "physicalCluster:\nvirtualClusters:\n",
        "physicalCluster: {cellTypes: , physicalCells: }\n"}) {
    Result<LoadedConfig> r = LoadConfigText(text, "empty.yaml");
    ASSERT_TRUE(r.ok()) << text << ": " << r.status().message();
    EXPECT_TRUE(r->config.physical_cells.empty());
    EXPECT_TRUE(r->diagnostics.items.empty()) << Dump(r->diagnostics);
  }
}

TEST(ConfigLoad, TopLevelScalars) {
  Config c = LoadOk(R"(
kubeApiServerAddress: http://10.0.0.1:8080
kubeConfigFilePath: /etc/kube/config
webServerAddress: ":30096"
forcePodBindThreshold: 5
waitingPodSchedulingBlockMilliSec: 50
)");
  EXPECT_EQ(c.kube_api_server_address, "http://10.0.0.1:8080");
  EXPECT_EQ(c.kube_config_file_path, "/etc/kube/config");
  EXPECT_EQ(c.web_server_address, ":30096");
  EXPECT_EQ(c.force_pod_bind_threshold, 5);
  EXPECT_EQ(c.waiting_pod_scheduling_block_milli_sec, 50);
}

TEST(ConfigLoad, DefaultChildrenWhenAbsentNullOrEmpty) {
  const char* base = R"(
physicalCluster:
  cellTypes:
    NODE: {childCellType: K80, childCellNumber: 2, isNodeLevel: true}
  physicalCells:
  - cellType: NODE
    cellAddress: n1
)";
  for (const char* children :
       {"", "    cellChildren:\n", "    cellChildren: []\n",
        "    cellChildren: ~\n"}) {
    auto cells = Cells(LoadOk(std::string(base) + children));
    EXPECT_EQ(cells.size(), 3u) << children;
    EXPECT_TRUE(cells.count("n1/0") && cells.count("n1/1")) << children;
  }
  // cellAddress as a string or a number means the same.
  auto a = Cells(
      LoadOk(std::string(base) + "    cellChildren: [{cellAddress: 5}, {}]\n"));
  auto b = Cells(LoadOk(std::string(base) +
                        "    cellChildren: [{cellAddress: \"5\"}, {}]\n"));
  EXPECT_EQ(a, b);
  EXPECT_EQ(a["n1/5"].second, 5);
  EXPECT_EQ(a["n1/1"].second, 1);
}

constexpr char kOpenPai[] = R"(cluster:
  common:
    cluster-id: pai
rest-server:
  default-pai-admin-username: admin
hivedscheduler:
  webservice-port: 30096
  config: |
    physicalCluster:
      skuTypes:
        k80x4: {gpu: 1, cpu: 5, memory: 56064Mi}
      cellTypes:
        k80x4-NODE: {childCellType: k80x4, childCellNumber: 4, isNodeLevel: true}
        k80x4-NODE-POOL: {childCellType: k80x4-NODE, childCellNumber: 2}
      physicalCells:
      - cellType: k80x4-NODE-POOL
        cellChildren: [{cellAddress: worker-1}, {cellAddress: worker-2}]
    virtualClusters:
      default: {virtualCells: [{cellType: k80x4-NODE-POOL.k80x4-NODE, cellNumber: 2}]}
)";

TEST(ConfigLoad, OpenPaiStringForm) {
  Result<LoadedConfig> r =
      LoadConfigText(kOpenPai, "services-configuration.yaml");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->diagnostics.items.empty()) << Dump(r->diagnostics);
  const Config& c = r->config;
  EXPECT_EQ(c.web_server_address, ":30096");
  EXPECT_EQ(c.waiting_pod_scheduling_block_milli_sec, 50);
  ASSERT_EQ(c.physical_cells.size(), 1u);
  EXPECT_EQ(c.physical_cells[0].cell_children[1].cell_address, "worker-2");
  ASSERT_EQ(c.virtual_clusters.size(), 1u);
  EXPECT_EQ(c.virtual_clusters[0].virtual_cells[0].cell_number, 2);
  auto cells = Cells(c);
  EXPECT_EQ(cells["0/worker-2/3"], std::make_pair(std::string("worker-2"), 3));
}

TEST(ConfigLoad, OpenPaiErrorsNameTheEmbeddedConfig) {
  // Line 6 of the file is line 2 of the embedded config.
  std::string text =
      "cluster: {}\n"
      "hivedscheduler:\n"
      "  config: |\n"
      "    physicalCluster:\n"
      "      cellTypes: [a,\n"
      "    virtualClusters: {}\n";
  std::string e = LoadError(text, "svc.yaml");
  EXPECT_NE(e.find("svc.yaml: hivedscheduler.config: YAML parse error"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("of the embedded config (line "), std::string::npos) << e;

  e = LoadError("hivedscheduler:\n  webservice-port: 30096\n", "svc.yaml");
  EXPECT_NE(e.find("svc.yaml: hivedscheduler.config: missing"),
            std::string::npos)
      << e;

  // Semantic errors inside the embedded config use config-relative paths.
  std::string bad = kOpenPai;
  bad.replace(bad.find("cellNumber: 2"), 13, "cellNumber: 3");
  e = LoadError(bad, "svc.yaml");
  EXPECT_NE(e.find("svc.yaml: virtualClusters.default.virtualCells[0]: "
                   "Illegal initial VC assignment: Insufficient physical "
                   "cells at chain k80x4-NODE-POOL level 2 (cell type "
                   "k80x4-NODE): 3 needed, 2 available"),
            std::string::npos)
      << e;
}

TEST(ConfigLoad, OpenPaiConfigAsMap) {
  Config c =
      LoadOk("hivedscheduler:\n  config:\n    forcePodBindThreshold: 7\n");
  EXPECT_EQ(c.force_pod_bind_threshold, 7);
}

TEST(ConfigLoad, ExampleFiles) {
  const std::string dir = std::string(APIARY_SOURCE_DIR) + "/examples/configs/";
  for (const char* name :
       {"hived-basic.yaml", "openpai-services-configuration.yaml"}) {
    Result<LoadedConfig> r = LoadConfigFile(dir + name);
    ASSERT_TRUE(r.ok()) << name << ": " << r.status().message();
    EXPECT_TRUE(r->diagnostics.items.empty()) << name << ":\n"
                                              << Dump(r->diagnostics);
    EXPECT_FALSE(r->config.physical_cells.empty());
    EXPECT_EQ(SummarizeConfig(r->config).find("invalid"), std::string::npos);
  }
  Result<LoadedConfig> basic = LoadConfigFile(dir + "hived-basic.yaml");
  ASSERT_TRUE(basic.ok());
  auto cells = Cells(basic->config);
  EXPECT_EQ(cells["0/dgx-04/1/7"], std::make_pair(std::string("dgx-04"), 7));
  EXPECT_EQ(cells["1/k80-03/3"], std::make_pair(std::string("k80-03"), 3));
}

TEST(ConfigLoad, MissingFile) {
  Result<LoadedConfig> r = LoadConfigFile("/nonexistent/hived.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("/nonexistent/hived.yaml: cannot read"),
            std::string::npos);
}

// V1
TEST(ConfigLoad, BrokenYamlReportsLineAndColumn) {
  std::string e = LoadError("physicalCluster:\n  cellTypes: [a, b\nfoo: 1\n",
                            "broken.yaml");
  EXPECT_EQ(e.rfind("broken.yaml: YAML parse error at line ", 0), 0u) << e;
  EXPECT_NE(e.find(", column "), std::string::npos) << e;
  e = LoadError("a:\n  - 1\n b: 2\n", "broken.yaml");
  EXPECT_NE(e.find("line 3, column 2"), std::string::npos) << e;
  e = LoadError("- just\n- a list\n", "list.yaml");
  EXPECT_NE(e.find("list.yaml: expected a map"), std::string::npos) << e;
}

// V2
TEST(ConfigLoad, WrongTypes) {
  std::string text = kWorkedExample;
  text.replace(text.find("childCellNumber: 4"), 18, "childCellNumber: four");
  std::string e = LoadError(text);
  EXPECT_EQ(e,
            "test.yaml: physicalCluster.cellTypes.NODE.childCellNumber: "
            "expected an integer, got four");  // no follow-on V4 error

  text = kWorkedExample;
  text.replace(text.find("cellNumber: 1}"), 14, "cellNumber: 1.5}");
  e = LoadError(text);
  EXPECT_EQ(e,
            "test.yaml: virtualClusters.vc-blue.virtualCells[0].cellNumber: "
            "expected an integer, got 1.5");

  e = LoadError("physicalCluster:\n  physicalCells: {a: 1}\n");
  EXPECT_EQ(e,
            "test.yaml: physicalCluster.physicalCells: expected a list, "
            "got a map");
  e = LoadError("physicalCluster:\n  cellTypes: [a]\n");
  EXPECT_EQ(e,
            "test.yaml: physicalCluster.cellTypes: expected a map, got a "
            "list");
  e = LoadError(
      "physicalCluster:\n  cellTypes:\n    N: {childCellType: G, "
      "childCellNumber: \"4\", isNodeLevel: maybe}\n");
  EXPECT_NE(e.find("N.childCellNumber: expected an integer, got the string "
                   "\"4\""),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("N.isNodeLevel: expected true or false, got maybe"),
            std::string::npos)
      << e;
  e = LoadError("forcePodBindThreshold: 99999999999999999999\n");
  EXPECT_NE(e.find("forcePodBindThreshold: integer out of range"),
            std::string::npos)
      << e;
  e = LoadError("webServerAddress: [1]\n");
  EXPECT_NE(e.find("webServerAddress: expected a string, got a list"),
            std::string::npos)
      << e;
  e = LoadError("virtualClusters:\n  a: {pinnedCells: [x]}\n");
  EXPECT_NE(e.find("virtualClusters.a.pinnedCells[0]: expected a map"),
            std::string::npos)
      << e;
  e = LoadError(
      "physicalCluster: {cellTypes: {A: {childCellNumber: 1}, "
      "A: {childCellNumber: 2}}}\n");
  EXPECT_NE(e.find("physicalCluster.cellTypes.A: duplicate key A"),
            std::string::npos)
      << e;
}

// V29
TEST(ConfigLoad, UnknownKeysAreWarnings) {
  std::string text = kWorkedExample;
  text.replace(text.find("cellChildren: [{cellAddress: 7}"), 12, "cellChilden");
  text += "schedulerName: x\n";
  Result<LoadedConfig> r = LoadConfigText(text, "test.yaml");
  // The misspelt key leaves gpu-c with default children: still valid.
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_WARNING(r->diagnostics, std::string(kGpuC) + ".cellChilden",
                 "unknown key cellChilden is ignored (did you mean "
                 "cellChildren?)");
  EXPECT_WARNING(r->diagnostics, "schedulerName", "unknown key schedulerName");
  std::string w = r->diagnostics.Format(Diagnostic::Severity::kWarning);
  EXPECT_EQ(w.rfind("warning: test.yaml: physicalCluster.physicalCells[1]", 0), 0u) << w;
  EXPECT_TRUE(r->diagnostics.Format(Diagnostic::Severity::kError).empty());
}

TEST(ConfigLoad, AllErrorsInDocumentOrder) {
  // virtualClusters written before physicalCluster: findings follow the file.
  std::string e = LoadError(R"(
virtualClusters:
  vc1:
    virtualCells: [{cellType: NOPE, cellNumber: 1}]
physicalCluster:
  cellTypes:
    NODE: {childCellType: GPU, childCellNumber: 0, isNodeLevel: true}
forcePodBindThreshold: 0
)");
  EXPECT_EQ(e,
            "test.yaml: virtualClusters.vc1.virtualCells[0].cellType: Illegal "
            "initial VC assignment: Chain NOPE does not exists in physical "
            "cluster\n"
            "test.yaml: virtualClusters.vc1.virtualCells[0].cellType: unknown "
            "cell type NOPE\n"
            "test.yaml: physicalCluster.cellTypes.NODE.childCellNumber: "
            "childCellNumber must be at least 1, got 0\n"
            "test.yaml: forcePodBindThreshold: must be at least 1, got 0");
}

TEST(ConfigFormat, Lines) {
  Diagnostics d;
  d.file = "f.yaml";
  d.Error("a.b", "bad");
  d.Warning("c", "meh");
  d.Error("", "no path");
  EXPECT_EQ(d.Format(Diagnostic::Severity::kError),
            "f.yaml: a.b: bad\nf.yaml: no path");
  EXPECT_EQ(d.Format(Diagnostic::Severity::kWarning), "warning: f.yaml: c: meh");
  // Everything in order, as a rejected config's message shows it.
  EXPECT_EQ(d.FormatAll(), "f.yaml: a.b: bad\nwarning: f.yaml: c: meh\nf.yaml: no path");
  d.file.clear();
  EXPECT_EQ(d.Format(Diagnostic::Severity::kWarning), "warning: c: meh");
}

// ------------------------------------------------------------- validation

TEST(ConfigValidate, WorkedExampleIsClean) {
  Diagnostics d = Check(Worked());
  EXPECT_TRUE(d.items.empty()) << Dump(d);
  EXPECT_TRUE(ValidateConfig(Worked(), &d));
}

TEST(ConfigValidate, V3MissingChildCellType) {
  Config c = Worked();
  c.cell_types[1].child_cell_type = "";
  Diagnostics d = Check(c);
  EXPECT_ERROR(d, "physicalCluster.cellTypes.RACK.childCellType",
               "childCellType is missing or empty");
  // Everything built on RACK is skipped, not reported again.
  EXPECT_EQ(NumErrors(d), 1) << Dump(d);
}

TEST(ConfigValidate, V4ChildCellNumber) {
  Config c = Worked();
  c.cell_types[0].child_cell_number = 0;
  c.cell_types[1].child_cell_number = -3;
  Diagnostics d = Check(c);
  EXPECT_ERROR(d, "physicalCluster.cellTypes.NODE.childCellNumber",
               "must be at least 1, got 0");
  EXPECT_ERROR(d, "physicalCluster.cellTypes.RACK.childCellNumber",
               "must be at least 1, got -3");
  EXPECT_EQ(NumErrors(d), 2) << Dump(d);
}

TEST(ConfigValidate, V5Cycles) {
  Config c = Worked();
  c.cell_types[1].child_cell_type = "ROW";  // RACK -> ROW -> RACK
  Diagnostics d = Check(c);
  EXPECT_ERROR(d, "physicalCluster.cellTypes.RACK.childCellType",
               "cycle RACK -> ROW -> RACK");
  EXPECT_EQ(NumErrors(d), 1) << Dump(d);
  std::string e = LoadError(R"(
physicalCluster:
  cellTypes:
    RACK: {childCellType: ROW, childCellNumber: 2}
    ROW: {childCellType: RACK, childCellNumber: 2}
)",
                            "hived.yaml");
  // hived.md 3's example message, verbatim.
  EXPECT_EQ(e,
            "hived.yaml: physicalCluster.cellTypes.RACK.childCellType: "
            "cycle RACK -> ROW -> RACK");

  c = Worked();
  c.cell_types[0].child_cell_type = "NODE";  // its own child
  d = Check(c);
  EXPECT_ERROR(d, "physicalCluster.cellTypes.NODE.childCellType",
               "cycle NODE -> NODE");
  EXPECT_EQ(NumErrors(d), 1) << Dump(d);
}

TEST(ConfigValidate, V6TwoNodeLevels) {
  Config c = Worked();
  c.cell_types[1].is_node_level = true;
  Diagnostics d = Check(c);
  EXPECT_ERROR(d, "physicalCluster.cellTypes.RACK.isNodeLevel",
               "RACK and NODE are both node-level on one chain");
  EXPECT_EQ(NumErrors(d), 1) << Dump(d);
}

TEST(ConfigValidate, V7UnknownTopCellType) {
  Config c = Worked();
  c.physical_cells[0].cell_type = "GPU-X";
  c.physical_cells[1].cell_type = "A100";
  c.physical_cells[2].cell_type = "";
  Diagnostics d = Check(c);
  EXPECT_ERROR(d, "physicalCluster.physicalCells[0].cellType",
               "physicalCells contains unknown cellType: GPU-X");
  EXPECT_ERROR(d, "physicalCluster.physicalCells[1].cellType",
               "physicalCells contains unknown cellType: A100 (A100 is a "
               "leaf cell type");
  EXPECT_ERROR(d, "physicalCluster.physicalCells[2].cellType",
               "cellType is missing");
}

TEST(ConfigValidate, V8TopBelowNodeLevel) {
  Config c = Worked();
  c.cell_types.push_back({"SW", "A100", 2, false});
  PhysicalCellSpec top;
  top.cell_type = "SW";
  c.physical_cells.push_back(top);
  Diagnostics d = Check(c);
  EXPECT_ERROR(d, "physicalCluster.physicalCells[3].cellType",
               "top cell must be node-level or above: SW");
}

TEST(ConfigValidate, V9ChildCellTypeMismatch) {
  Config c = Worked();
  c.physical_cells[1].cell_children[0].cell_type = "RACK";
  c.physical_cells[1].cell_children[1].cell_type = "NODE";  // fine
  Diagnostics d = Check(c);
  EXPECT_ERROR(d, std::string(kRackCells) + ".cellChildren[0].cellType",
               "cellType RACK does not match the parent's childCellType NODE");
  EXPECT_EQ(NumErrors(d), 1) << Dump(d);
}

TEST(ConfigValidate, V10ChildCount) {
  Config c = Worked();
  c.physical_cells[1].cell_children[1].cell_children.pop_back();
  Diagnostics d = Check(c);
  EXPECT_ERROR(d, std::string(kGpuC) + ".cellChildren",
               "has 3 children, type NODE requires 4");
  EXPECT_ERROR(d, std::string(kGpuC) + ".cellChildren",
               "set its childCellNumber: 3");
}

TEST(ConfigValidate, V11LeafWithChildren) {
  Config c = Worked();
  c.physical_cells[1].cell_children[1].cell_children[0].cell_children.resize(2);
  Diagnostics d = Check(c);
  EXPECT_ERROR(d, std::string(kGpuC) + ".cellChildren[0].cellChildren",
               "leaf cell (type A100) cannot have cellChildren");
  EXPECT_EQ(NumErrors(d), 1) << Dump(d);
}

TEST(ConfigValidate, V12LeafAddress) {
  for (const char* bad : {"x", "-1", "4294967296", "1.5", "2147483648"}) {
    Config c = Worked();
    c.physical_cells[1].cell_children[1].cell_children[0].cell_address = bad;
    Diagnostics d = Check(c);
    EXPECT_ERROR(d, std::string(kGpuC) + ".cellChildren[0].cellAddress",
                 "leaf cell address must be a device index");
  }
  Config c = Worked();
  c.physical_cells[1].cell_children[1].cell_children[0].cell_address =
      "2147483647";
  EXPECT_TRUE(Check(c).items.empty());
}

TEST(ConfigValidate, V13AddressSyntax) {
  Config c = Worked();
  c.physical_cells[0].cell_address = "a/b";
  c.physical_cells[1].cell_children[0].cell_address = "  ";
  Diagnostics d = Check(c);
  EXPECT_ERROR(d, "physicalCluster.physicalCells[0].cellAddress",
               "cellAddress a/b contains '/'");
  EXPECT_ERROR(d, std::string(kRackCells) + ".cellChildren[0].cellAddress",
               "cellAddress is empty");
}

TEST(ConfigValidate, V14DuplicateAddresses) {
  Config c = Worked();
  c.physical_cells[1].cell_children[1].cell_address = "gpu-b";
  Diagnostics d = Check(c);
  EXPECT_ERROR(d, std::string(kGpuC) + ".cellAddress",
               "address 1/gpu-b is already used by "
               "physicalCluster.physicalCells[1].cellChildren[0]");
  EXPECT_EQ(NumErrors(d), 1) << Dump(d);  // no V15 cascade below it

  // An explicit address equal to a sibling's default number.
  c = Worked();
  c.physical_cells[1].cell_children[1].cell_children[0].cell_address = "1";
  d = Check(c);
  EXPECT_ERROR(d, std::string(kGpuC) + ".cellChildren[1]",
               "address 1/gpu-c/1 is already used by");
  EXPECT_EQ(NumErrors(d), 1) << Dump(d);

  // Two top cells of one chain with the same address.
  c = Worked();
  c.physical_cells.push_back(c.physical_cells[0]);
  c.virtual_clusters[1].virtual_cells[0].cell_number = 2;
  d = Check(c);
  EXPECT_ERROR(d, "physicalCluster.physicalCells[3].cellAddress",
               "address gpu-a is already used by "
               "physicalCluster.physicalCells[0] in chain NODE");
  EXPECT_EQ(NumErrors(d), 1) << Dump(d);
}

TEST(ConfigValidate, V15NodesAndLeafIndices) {
  Config c = Worked();
  // gpu-d twice in chain ROW (in different racks: addresses differ).
  c.physical_cells[2].cell_children[1].cell_children[0].cell_address = "gpu-d";
  // gpu-a also in chain RACK: a different chain, fine.
  c.physical_cells[1].cell_children[0].cell_address = "gpu-a";
  Diagnostics d = Check(c);
  EXPECT_ERROR(d,
               "physicalCluster.physicalCells[2].cellChildren[1]."
               "cellChildren[0].cellAddress",
               "node gpu-d appears more than once in chain ROW (first at "
               "physicalCluster.physicalCells[2].cellChildren[0]."
               "cellChildren[0].cellAddress)");
  EXPECT_EQ(NumErrors(d), 1) << Dump(d);
}

TEST(ConfigValidate, V15LeafIndexThroughSwitches) {
  Config c;
  c.cell_types = {{"SW", "V100", 2, false}, {"NODE", "SW", 2, true}};
  PhysicalCellSpec node;
  node.cell_type = "NODE";
  node.cell_address = "n1";
  node.cell_children.resize(2);
  node.cell_children[1].cell_children.resize(2);
  node.cell_children[1].cell_children[0].cell_address = "0";  // = n1/0/0's
  c.physical_cells.push_back(node);
  Diagnostics d = Check(c);
  EXPECT_ERROR(d,
               "physicalCluster.physicalCells[0].cellChildren[1]."
               "cellChildren[0].cellAddress",
               "leaf index 0 appears more than once in node n1 of chain NODE");
  EXPECT_EQ(NumErrors(d), 1) << Dump(d);
}

TEST(ConfigValidate, V16NodeWithoutAddress) {
  Config c = Worked();
  c.physical_cells[1].cell_children[0].cell_address.reset();
  c.physical_cells[2].cell_children[0].cell_children.clear();  // generated
  Diagnostics d = Check(c);
  EXPECT_EQ(NumErrors(d), 0) << Dump(d);
  EXPECT_WARNING(d, std::string(kRackCells) + ".cellChildren[0]",
                 "node-level cell has no cellAddress; its node is named 2");
  EXPECT_WARNING(d, "physicalCluster.physicalCells[2].cellChildren[0]",
                 "cellChildren not given: the node-level cells generated "
                 "below have no cellAddress and their nodes are named by "
                 "default numbers (the first is 8)");
}

TEST(ConfigValidate, V17V18PinnedCells) {
  Config c = Worked();
  c.physical_cells[0].pinned_cell_id = "p1";
  c.physical_cells[1].cell_children[0].pinned_cell_id = "p1";
  c.physical_cells[2].cell_children[0].pinned_cell_id = "p2";
  c.physical_cells[2].cell_children[0].cell_children[1].pinned_cell_id = "p3";
  Diagnostics d = Check(c);
  EXPECT_ERROR(d, std::string(kRackCells) + ".cellChildren[0].pinnedCellId",
               "pinnedCellId p1 is already used by "
               "physicalCluster.physicalCells[0].pinnedCellId");
  EXPECT_ERROR(d,
               "physicalCluster.physicalCells[2].cellChildren[0]."
               "cellChildren[1].pinnedCellId",
               "pinned cell p3 is inside pinned cell p2 "
               "(physicalCluster.physicalCells[2].cellChildren[0]."
               "pinnedCellId); pinned cells must not nest");
  EXPECT_EQ(NumErrors(d), 2) << Dump(d);
}

TEST(ConfigValidate, V19V20VcNames) {
  Config c = Worked();
  c.virtual_clusters.push_back({"a/b", {}, {}});
  c.virtual_clusters.push_back({"", {}, {}});
  c.virtual_clusters.push_back({"a b", {}, {}});
  c.virtual_clusters.push_back({"VC_Blue", {}, {}});
  Diagnostics d = Check(c);
  EXPECT_ERROR(d, "virtualClusters.a/b", "contains '/'");
  EXPECT_ERROR(d, "virtualClusters.", "virtual cluster name is empty");
  EXPECT_ERROR(d, "virtualClusters.a b", "contains whitespace");
  EXPECT_WARNING(d, "virtualClusters.VC_Blue", "is not a DNS-1123 label");
  EXPECT_EQ(NumErrors(d), 3) << Dump(d);
}

TEST(ConfigValidate, V21V22V23VirtualCellPaths) {
  Config c = Worked();
  auto& cells = c.virtual_clusters[0].virtual_cells;
  cells.push_back({"GPU.NODE", 1});      // [2] no such chain
  cells.push_back({"ROW.RACK.FOO", 1});  // [3] unknown last type
  cells.push_back({"ROW.NODE", 1});      // [4] NODE is not ROW's child
  cells.push_back({"", 1});              // [5]
  cells.push_back({"ROW..NODE", 1});     // [6]
  Diagnostics d = Check(c);
  const std::string p = "virtualClusters.vc-blue.virtualCells";
  EXPECT_ERROR(d, p + "[2].cellType",
               "Illegal initial VC assignment: Chain GPU does not exists in "
               "physical cluster");
  EXPECT_ERROR(d, p + "[3].cellType", "unknown cell type FOO");
  EXPECT_ERROR(d, p + "[4].cellType", "NODE is not the child type of ROW");
  EXPECT_ERROR(d, p + "[5].cellType", "cellType is empty");
  EXPECT_ERROR(d, p + "[6].cellType", "has an empty component");
  EXPECT_EQ(NumErrors(d), 5) << Dump(d);  // bad entries add no demand
}

TEST(ConfigValidate, V21HintForTypeInsideAChain) {
  Config c;
  c.cell_types = {{"NODE", "K80", 4, true}, {"POOL", "NODE", 2, false}};
  c.physical_cells.resize(1);
  c.physical_cells[0].cell_type = "POOL";
  c.virtual_clusters.push_back({"vc", {{"NODE", 1}}, {}});
  Diagnostics d = Check(c);
  EXPECT_ERROR(d, "virtualClusters.vc.virtualCells[0].cellType",
               "Chain NODE does not exists in physical cluster; NODE is a "
               "cell type in chain POOL: write POOL.NODE");
}

TEST(ConfigValidate, V24CellNumber) {
  Config c = Worked();
  c.virtual_clusters[0].virtual_cells.push_back({"ROW.RACK", -1});
  c.virtual_clusters[0].virtual_cells.push_back({"ROW.RACK", 0});
  Diagnostics d = Check(c);
  const std::string p = "virtualClusters.vc-blue.virtualCells";
  EXPECT_ERROR(d, p + "[2].cellNumber",
               "cellNumber must not be negative, got -1");
  EXPECT_WARNING(d, p + "[3].cellNumber", "cellNumber is 0");
  EXPECT_EQ(NumErrors(d), 1) << Dump(d);
}

TEST(ConfigValidate, V25V26PinnedCellUse) {
  Config c = Worked();
  c.physical_cells[2].cell_children[1].cell_children[1].pinned_cell_id = "pin";
  c.virtual_clusters[0].pinned_cell_ids = {"nope", "pin"};
  c.virtual_clusters[1].pinned_cell_ids = {"pin", ""};
  c.virtual_clusters[1].virtual_cells[1].cell_number = 0;  // make room
  Diagnostics d = Check(c);
  EXPECT_ERROR(d, "virtualClusters.vc-blue.pinnedCells[0].pinnedCellId",
               "pinned cell not found in physicalCells: VC: vc-blue, ID: nope");
  EXPECT_ERROR(d, "virtualClusters.vc-red.pinnedCells[0].pinnedCellId",
               "pinned cell pin is already used by "
               "virtualClusters.vc-blue.pinnedCells[1].pinnedCellId");
  EXPECT_ERROR(d, "virtualClusters.vc-red.pinnedCells[1].pinnedCellId",
               "pinnedCellId is empty");
  EXPECT_EQ(NumErrors(d), 3) << Dump(d);
}

TEST(ConfigValidate, V27FitCheckSpecExample) {
  // hived.md 3: a chain of 3 nodes of 8 GPUs; VC a asks for 3 nodes and VC b
  // for 1 GPU.
  std::string e = LoadError(R"(
physicalCluster:
  cellTypes:
    NODE: {childCellType: V100, childCellNumber: 8, isNodeLevel: true}
    POOL: {childCellType: NODE, childCellNumber: 3}
  physicalCells:
  - cellType: POOL
    cellChildren: [{cellAddress: n1}, {cellAddress: n2}, {cellAddress: n3}]
virtualClusters:
  a: {virtualCells: [{cellType: POOL.NODE, cellNumber: 3}]}
  b: {virtualCells: [{cellType: POOL.NODE.V100, cellNumber: 1}]}
)");
  // The warnings of a rejected config are shown with its errors.
  EXPECT_EQ(e,
            "warning: test.yaml: physicalCluster.skuTypes: leaf cell type V100 has no "
            "skuTypes entry (OpenPAI needs one to size jobs of this type)\n"
            "test.yaml: virtualClusters.b.virtualCells[0]: Illegal initial "
            "VC assignment: Insufficient physical cells at chain POOL "
            "level 1 (cell type V100): 1 needed, 0 available; asked for by "
            "virtualClusters.b.virtualCells[0] (1)");
}

TEST(ConfigValidate, V27PinnedCellsCountAtTheirLevel) {
  Config c = Worked();
  // vc-red's NODE x 1 already takes chain NODE's only node; a pinned gpu-a
  // needs it too.
  c.physical_cells[0].pinned_cell_id = "pin-a";
  c.virtual_clusters[0].pinned_cell_ids = {"pin-a"};
  Diagnostics d = Check(c);
  // VCs in order: vc-blue's pinned cell asks first; vc-red's entry is the
  // one that no longer fits.
  EXPECT_ERROR(d, "virtualClusters.vc-red.virtualCells[0]",
               "Insufficient physical cells at chain NODE level 2 (cell type "
               "NODE): 2 needed, 1 available");
  // hived.md 2.5: {cellType: NODE, cellNumber: 2} means chain NODE.
  c = Worked();
  c.virtual_clusters[1].virtual_cells[0].cell_number = 2;
  d = Check(c);
  EXPECT_ERROR(d, "virtualClusters.vc-red.virtualCells[0]",
               "at chain NODE level 2 (cell type NODE): 2 needed, 1 available");
}

// Tools match a rule by its id, not its wording (apiary diff tells an
// infeasible assignment from other errors this way).
TEST(ConfigValidate, FindingsCarryTheirCheckId) {
  Config c = Worked();
  c.physical_cells[0].pinned_cell_id = "pin-a";
  c.virtual_clusters[0].pinned_cell_ids = {"pin-a"};
  c.force_pod_bind_threshold = 0;
  Diagnostics d = Check(c);
  EXPECT_TRUE(d.Has("V27")) << Dump(d);
  EXPECT_TRUE(d.Has("V28")) << Dump(d);
  for (const Diagnostic& item : d.items) {
    if (item.message.find("Insufficient physical cells") != std::string::npos) {
      EXPECT_EQ(item.check, "V27");
    }
    if (item.path == "forcePodBindThreshold") {
      EXPECT_EQ(item.check, "V28");
    }
  }
  EXPECT_FALSE(Check(Worked()).Has("V27"));
  // The virtual-cluster checks, one finding each.
  c = Worked();
  c.virtual_clusters[0].pinned_cell_ids = {"nope"};
  c.virtual_clusters[1].virtual_cells[0].cell_type = "NOPE";
  d = Check(c);
  EXPECT_TRUE(d.Has("V25")) << Dump(d);
  EXPECT_TRUE(d.Has("V21")) << Dump(d);
  EXPECT_FALSE(d.Has("V26")) << Dump(d);
}

TEST(ConfigValidate, V28SchedulerSettings) {
  Config c = Worked();
  c.force_pod_bind_threshold = 0;
  c.waiting_pod_scheduling_block_milli_sec = -1;
  Diagnostics d = Check(c);
  EXPECT_ERROR(d, "forcePodBindThreshold", "must be at least 1, got 0");
  EXPECT_ERROR(d, "waitingPodSchedulingBlockMilliSec",
               "must not be negative, got -1");
}

TEST(ConfigValidate, V30SkuTypes) {
  Config c = Worked();
  c.sku_types.push_back({"H100", 1, 8, "80Gi"});
  Diagnostics d = Check(c);
  EXPECT_WARNING(d, "physicalCluster.skuTypes.H100",
                 "H100 is not a leaf cell type");
  c.sku_types.clear();
  d = Check(c);
  EXPECT_WARNING(d, "physicalCluster.skuTypes",
                 "leaf cell type A100 has no skuTypes entry");
  EXPECT_EQ(NumErrors(d), 0);
}

TEST(ConfigValidate, V31NodeNames) {
  Config c = Worked();
  c.physical_cells[0].cell_address = "GPU_A";
  Diagnostics d = Check(c);
  EXPECT_WARNING(d, "physicalCluster.physicalCells[0].cellAddress",
                 "node name GPU_A is not a valid Kubernetes node name");
  EXPECT_EQ(NumErrors(d), 0);
  c.physical_cells[0].cell_address = "node-1.example.com";
  EXPECT_TRUE(Check(c).items.empty()) << Dump(Check(c));
}

TEST(ConfigValidate, V32ChainWithoutVcCells) {
  Config c = Worked();
  c.virtual_clusters[1].virtual_cells.erase(
      c.virtual_clusters[1].virtual_cells.begin());
  Diagnostics d = Check(c);
  EXPECT_WARNING(d, "physicalCluster.physicalCells[0].cellType",
                 "chain NODE has no VC cells; only opportunistic pods can use "
                 "it");
  EXPECT_EQ(NumErrors(d), 0);
  EXPECT_TRUE(DeriveConfig(c).ok());  // valid (Q25 fixed)
}

TEST(ConfigValidate, DuplicateNamesFromPrograms) {
  Config c = Worked();
  c.cell_types.push_back(c.cell_types[0]);
  c.virtual_clusters.push_back(c.virtual_clusters[0]);
  c.sku_types.push_back(c.sku_types[0]);
  Diagnostics d = Check(c);
  EXPECT_ERROR(d, "physicalCluster.cellTypes.NODE", "duplicate cell type");
  EXPECT_ERROR(d, "virtualClusters.vc-blue", "duplicate virtual cluster");
  EXPECT_ERROR(d, "physicalCluster.skuTypes.A100", "duplicate skuTypes");
}

TEST(ConfigValidate, DeriveFailsOnErrors) {
  Config c = Worked();
  c.cell_types[0].child_cell_number = 0;
  Result<DerivedConfig> r = DeriveConfig(c);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("NODE.childCellNumber"),
            std::string::npos);
}

// ------------------------------------------------------------- robustness

TEST(ConfigRobust, SelfCycleUsedEverywhere) {
  Config c;
  c.cell_types = {{"A", "A", 2, true}};
  c.physical_cells.resize(1);
  c.physical_cells[0].cell_type = "A";
  c.physical_cells[0].cell_children.resize(2);
  c.virtual_clusters.push_back({"vc", {{"A.A.A", 1}}, {}});
  Diagnostics d = Check(c);
  EXPECT_ERROR(d, "physicalCluster.cellTypes.A.childCellType", "cycle A -> A");
  EXPECT_FALSE(SummarizeConfig(c).empty());
}

TEST(ConfigRobust, LongTypeChains) {
  // 100000 types each the child of the next: no recursion, one error.
  Config c;
  const int n = 100000;
  for (int i = 0; i < n; ++i) {
    c.cell_types.push_back(
        {"T" + std::to_string(i + 1), "T" + std::to_string(i), 1, i == 0});
  }
  c.physical_cells.resize(1);
  c.physical_cells[0].cell_type = "T" + std::to_string(n);
  Diagnostics d = Check(c);
  EXPECT_ERROR(d, "physicalCluster.cellTypes.T64", "has more than 64 levels");
  EXPECT_EQ(NumErrors(d), 1) << Dump(d).substr(0, 2000);

  // A long cycle.
  c.cell_types[0].child_cell_type = "T" + std::to_string(n);
  d = Check(c);
  ASSERT_EQ(NumErrors(d), 1);
  EXPECT_EQ(d.items[0].path, "physicalCluster.cellTypes.T1.childCellType");
  EXPECT_EQ(d.items[0].message.rfind("cycle T1 -> T100000 -> T99999 -> ", 0),
            0u);

  // 63 levels (below the limit) are fine.
  Config ok;
  for (int i = 0; i < 62; ++i) {
    ok.cell_types.push_back(
        {"T" + std::to_string(i + 1), "T" + std::to_string(i), 1, i == 0});
  }
  ok.physical_cells.resize(1);
  ok.physical_cells[0].cell_type = "T62";
  ok.physical_cells[0].cell_address = "n";
  ok.virtual_clusters.push_back({"vc", {{"T62", 1}}, {}});
  Result<DerivedConfig> r = DeriveConfig(ok);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->chains[0].top_level, 63);
}

TEST(ConfigRobust, HugeNumbersAreRefusedNotBuilt) {
  Config c;
  c.cell_types = {{"NODE", "GPU", int64_t{1} << 31, true}};
  c.physical_cells.resize(1);
  c.physical_cells[0].cell_type = "NODE";
  Diagnostics d = Check(c);
  EXPECT_ERROR(d, "physicalCluster.cellTypes.NODE.childCellNumber",
               "must be at most 2147483647, got 2147483648");

  // Just below int32: a legal type, but a tree far too large to enumerate.
  c.cell_types[0].child_cell_number = 2147483647;
  c.physical_cells[0].cell_address = "n";
  d = Check(c);
  EXPECT_ERROR(d, "physicalCluster.physicalCells[0]",
               "the physical cluster is too large");
  EXPECT_EQ(NumErrors(d), 1) << Dump(d);

  // Products overflowing the leaf count.
  c.cell_types = {{"NODE", "GPU", 1 << 20, true},
                  {"POOL", "NODE", 1 << 20, false}};
  c.physical_cells[0].cell_type = "POOL";
  d = Check(c);
  EXPECT_ERROR(d, "physicalCluster.cellTypes.POOL.childCellNumber",
               "a POOL cell would have more than 2147483647 leaf cells");

  // Demand overflow: saturates, reported as a failed fit.
  c.cell_types = {{"NODE", "GPU", 2, true}};
  c.physical_cells[0].cell_type = "NODE";
  c.virtual_clusters = {{"a", {{"NODE", INT64_MAX}, {"NODE", INT64_MAX}}, {}}};
  d = Check(c);
  EXPECT_ERROR(d, "virtualClusters.a.virtualCells[1]",
               "Insufficient physical cells at chain NODE level 2");

  // The same from YAML.
  std::string e = LoadError(R"(
physicalCluster:
  cellTypes:
    NODE: {childCellType: GPU, childCellNumber: 8, isNodeLevel: true}
    POOL: {childCellType: NODE, childCellNumber: 100000000}
  physicalCells: [{cellType: POOL}]
)");
  EXPECT_NE(e.find("physicalCluster.physicalCells[0]: the physical cluster "
                   "is too large"),
            std::string::npos)
      << e;
}

TEST(ConfigRobust, DeepExplicitNesting) {
  // 100000 levels of explicit cellChildren under a 2-level type.
  Config c;
  c.cell_types = {{"NODE", "GPU", 1, true}};
  PhysicalCellSpec root;
  root.cell_type = "NODE";
  root.cell_address = "n";
  PhysicalCellSpec* p = &root;
  for (int i = 0; i < 100000; ++i) {
    p->cell_children.resize(1);
    p = &p->cell_children[0];
  }
  c.physical_cells.push_back(std::move(root));
  Diagnostics d = Check(c);
  EXPECT_ERROR(d,
               "physicalCluster.physicalCells[0].cellChildren[0].cellChildren",
               "leaf cell (type GPU) cannot have cellChildren");
  // Destroying 100000 nested vectors would recurse as deep; unwind it.
  PhysicalCellSpec cur = std::move(c.physical_cells[0]);
  c.physical_cells.clear();
  while (!cur.cell_children.empty()) {
    PhysicalCellSpec next = std::move(cur.cell_children[0]);
    cur = std::move(next);
  }
}

TEST(ConfigRobust, YamlAliasesCannotLoopOrExplode) {
  // A node that contains itself.
  std::string e = LoadError(R"(
physicalCluster:
  cellTypes:
    NODE: {childCellType: GPU, childCellNumber: 1, isNodeLevel: true}
  physicalCells: &cells
  - cellType: NODE
    cellChildren: *cells
)");
  EXPECT_NE(e.find("nested more than 64 levels"), std::string::npos)
      << e.substr(0, 500);
  // Exponential fan-out through aliases: 10^9 entries if expanded.
  std::string bomb =
      "anchors:\n  x0: &x0 [{}, {}, {}, {}, {}, {}, {}, {}, {}, {}]\n";
  for (int i = 1; i <= 8; ++i) {
    bomb += "  x" + std::to_string(i) + ": &x" + std::to_string(i) + " [";
    for (int k = 0; k < 10; ++k) {
      bomb += (k ? ", " : "") + std::string("{cellChildren: *x") +
              std::to_string(i - 1) + "}";
    }
    bomb += "]\n";
  }
  bomb += "physicalCluster:\n  physicalCells: *x8\n";
  e = LoadError(bomb);
  EXPECT_NE(e.find("physical cell entries; the rest are not read"),
            std::string::npos)
      << e.substr(0, 500);
}

TEST(ConfigRobust, DeepYamlNesting) {
  std::string deep(100000, '[');
  deep += std::string(100000, ']');
  std::string e = LoadError("physicalCluster: " + deep + "\n");
  EXPECT_FALSE(e.empty());
}

// Random configurations: whatever the input, validation and the summary
// finish, and valid ones derive.
TEST(ConfigRobust, RandomConfigsNeverCrash) {
  std::mt19937_64 rng(20240601);
  auto pick = [&](int n) { return static_cast<int>(rng() % n); };
  const std::vector<std::string> names = {"A", "B", "C", "D", "G", ""};
  const std::vector<int64_t> numbers = {
      0, 1, 2, 3, 4, -1, 2147483647, int64_t{1} << 31, 50};
  std::function<PhysicalCellSpec(int)> cell = [&](int depth) {
    PhysicalCellSpec s;
    if (pick(3) == 0) s.cell_type = names[pick(names.size())];
    if (pick(2) == 0) {
      const char* addrs[] = {"n1", "n2", "0", "1", "7", "a/b", "", "-3", "N_1"};
      s.cell_address = addrs[pick(9)];
    }
    if (pick(6) == 0) s.pinned_cell_id = "p" + std::to_string(pick(3));
    if (depth < 5 && pick(3) == 0) {
      int n = pick(4);
      for (int i = 0; i < n; ++i) s.cell_children.push_back(cell(depth + 1));
    }
    return s;
  };
  int valid = 0;
  for (int round = 0; round < 3000; ++round) {
    Config c;
    int types = pick(5);
    for (int i = 0; i < types; ++i) {
      c.cell_types.push_back({names[pick(names.size())],
                              names[pick(names.size())],
                              numbers[pick(numbers.size())], pick(2) == 0});
    }
    int tops = pick(4);
    for (int i = 0; i < tops; ++i) {
      PhysicalCellSpec s = cell(0);
      s.cell_type = names[pick(names.size())];
      c.physical_cells.push_back(std::move(s));
    }
    int vcs = pick(3);
    for (int i = 0; i < vcs; ++i) {
      VirtualClusterSpec vc;
      vc.name = "vc" + std::to_string(pick(3));
      for (int k = pick(3); k > 0; --k) {
        std::string path = names[pick(names.size())];
        for (int j = pick(3); j > 0; --j)
          path += "." + names[pick(names.size())];
        vc.virtual_cells.push_back({path, numbers[pick(numbers.size())]});
      }
      if (pick(3) == 0)
        vc.pinned_cell_ids.push_back("p" + std::to_string(pick(3)));
      c.virtual_clusters.push_back(std::move(vc));
    }
    Diagnostics d;
    bool ok = ValidateConfig(c, &d);
    EXPECT_EQ(ok, !d.HasErrors());
    std::string summary = SummarizeConfig(c);
    EXPECT_FALSE(summary.empty());
    if (ok) {
      ++valid;
      Result<DerivedConfig> r = DeriveConfig(c);
      ASSERT_TRUE(r.ok());
      int64_t n = 0;
      ForEachPhysicalCell(c, *r, [&](const PhysicalCellVisit&) { ++n; });
      EXPECT_LE(n, kMaxPhysicalCells);
    }
  }
  EXPECT_GT(valid, 0);
}

// ---------------------------------------------------------------- summary

TEST(ConfigSummary, WorkedExample) {
  std::string s = SummarizeConfig(Worked());
  EXPECT_NE(s.find("Physical cluster: 3 chains, 28 leaf cells, 7 nodes\n"),
            std::string::npos)
      << s;
  EXPECT_NE(s.find("  chain ROW (leaf type A100): 1 top cell, 16 leaf cells, "
                   "4 nodes\n"),
            std::string::npos)
      << s;
  EXPECT_NE(s.find("    level  4  ROW   16 leaves/cell  1 cell\n"),
            std::string::npos)
      << s;
  EXPECT_NE(s.find("    level  2  NODE   4 leaves/cell  4 cells  (node "
                   "level)\n"),
            std::string::npos)
      << s;
  EXPECT_NE(s.find("    level  1  A100   1 leaf/cell   16 cells\n"),
            std::string::npos)
      << s;
  EXPECT_NE(s.find("  A100: 28 leaf cells (chains ROW, RACK, NODE)\n"),
            std::string::npos)
      << s;
  EXPECT_NE(s.find("  vc-blue: 16 leaf cells\n"
                   "    chain ROW: 8 of 16 leaves (50.0%): 1 x RACK\n"
                   "    chain RACK: 8 of 8 leaves (100.0%): 2 x NODE\n"),
            std::string::npos)
      << s;
  EXPECT_NE(s.find("  vc-red: 8 leaf cells\n"
                   "    chain NODE: 4 of 4 leaves (100.0%): 1 x NODE\n"
                   "    chain ROW: 4 of 16 leaves (25.0%): 4 x A100\n"),
            std::string::npos)
      << s;
  EXPECT_NE(s.find("Unassigned (opportunistic pods only):\n"
                   "  chain ROW: 4 of 16 leaves (25.0%)\n"),
            std::string::npos)
      << s;
  EXPECT_EQ(s, SummarizeConfig(Worked()));  // deterministic
}

TEST(ConfigSummary, PinnedCellsAndInvalidConfigs) {
  const std::string dir = std::string(APIARY_SOURCE_DIR) + "/examples/configs/";
  Result<LoadedConfig> r = LoadConfigFile(dir + "hived-basic.yaml");
  ASSERT_TRUE(r.ok()) << r.status().message();
  std::string s = SummarizeConfig(r->config);
  EXPECT_NE(s.find("  prod: 24 leaf cells\n"
                   "    chain V100-RACK: 24 of 32 leaves (75.0%): 2 x "
                   "V100-NODE, pinned prod-dgx-04 (V100-NODE)\n"),
            std::string::npos)
      << s;
  EXPECT_NE(s.find("Physical cluster: 2 chains, 44 leaf cells, 7 nodes\n"),
            std::string::npos)
      << s;

  Config bad = Worked();
  bad.cell_types[0].child_cell_type = "NODE";
  s = SummarizeConfig(bad);
  EXPECT_EQ(s.rfind("invalid configuration:\n", 0), 0u) << s;
  EXPECT_NE(s.find("cycle NODE -> NODE"), std::string::npos) << s;
}

}  // namespace
}  // namespace apiary::cell

namespace apiary::cell {
namespace {

// Issue 17: errors that point at the cause.
TEST(ConfigCause, ANonUtf8FileIsRejectedWithTheByteOffset) {
  std::string text = kWorkedExample;
  size_t at = text.find("gpu-b");
  text[at + 3] = '\xFF';
  std::string e = LoadError(text);
  EXPECT_EQ(e.rfind("test.yaml: not valid UTF-8: byte 0xFF at byte offset " +
                        std::to_string(at + 3) + " (line ",
                    0),
            0u)
      << e;
}

TEST(ConfigCause, ARejectedConfigStillShowsItsWarningsWithTheirHints) {
  std::string text = kWorkedExample;
  text.replace(text.find("childCellNumber: 2}"), 15, "childCellNumbr");
  std::string e = LoadError(text);
  // The error names the cause itself, and the warning follows.
  EXPECT_NE(e.find("test.yaml: physicalCluster.cellTypes.RACK.childCellNumber: "
                   "childCellNumber must be at least 1, got 0 (childCellNumbr is an unknown key: "
                   "did you mean childCellNumber?)"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("warning: test.yaml: physicalCluster.cellTypes.RACK.childCellNumbr: "
                   "unknown key childCellNumbr is ignored (did you mean childCellNumber?)"),
            std::string::npos)
      << e;
}

TEST(ConfigCause, AMisspeltChildCellTypeIsNamedAtTheCellType) {
  std::string text = kWorkedExample;
  text.replace(text.find("childCellType: RACK"), 19, "childCellType: RAKC");
  std::string e = LoadError(text);
  EXPECT_NE(e.find("warning: test.yaml: physicalCluster.cellTypes.ROW.childCellType: "
                   "childCellType RAKC is not a cellTypes key, so it is taken as a leaf "
                   "cell type (one GPU) (did you mean RACK?)"),
            std::string::npos)
      << e;
  // The VC error that follows from it names the cause too.
  EXPECT_NE(e.find("virtualClusters.vc-blue.virtualCells[0].cellType: RACK is not the child "
                   "type of ROW (physicalCluster.cellTypes.ROW.childCellType is RAKC)"),
            std::string::npos)
      << e;
  // A real leaf type (a skuTypes entry) near a cellTypes key is not flagged.
  Config c = Worked();
  c.cell_types.push_back({"NODF", "A100", 1, false});
  Diagnostics d = Check(c);
  EXPECT_EQ(Dump(d).find("is not a cellTypes key"), std::string::npos) << Dump(d);
}

TEST(ConfigCause, AVcAskingTooMuchIsReportedAtItsCountNotAtAPinnedCell) {
  Config c = Worked();
  c.physical_cells[0].pinned_cell_id = "pin-a";
  c.virtual_clusters[1].pinned_cell_ids = {"pin-a"};
  c.virtual_clusters[1].virtual_cells[0].cell_number = 3;  // NODE x 3 + pin-a, 1 node
  Diagnostics d = Check(c);
  EXPECT_ERROR(d, "virtualClusters.vc-red.virtualCells[0]",
               "Insufficient physical cells at chain NODE level 2 (cell type NODE): 4 needed, "
               "1 available; asked for by virtualClusters.vc-red.virtualCells[0] (3), "
               "virtualClusters.vc-red.pinnedCells[0].pinnedCellId (1)");
}

}  // namespace
}  // namespace apiary::cell
