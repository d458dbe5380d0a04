// What is validated is what is built: a scheduler's physical trees (as its
// inspect view shows them) and its node list agree with the configuration's
// DeriveConfig / ForEachPhysicalCell view, cell by cell.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "apiary/cell/config_derived.h"
#include "apiary/cell/config_loader.h"
#include "apiary/cell/scheduler.h"
#include "scheduler_test_util.h"

#ifdef APIARY_HAVE_RAPIDCHECK
#include <rapidcheck/gtest.h>
#endif

namespace apiary::cell {
namespace {

using testing::CellType;
using testing::PCell;

// One physical cell as both views can state it.
struct CellRow {
  std::string address;
  std::string cell_type;
  int32_t level = 0;
  bool node_level = false;
  bool operator==(const CellRow&) const = default;
};

std::string Show(const CellRow& r) {
  return r.address + " " + r.cell_type + " L" + std::to_string(r.level) +
         (r.node_level ? " node" : "");
}

struct View {
  std::vector<CellRow> cells;  // construction order
  std::vector<std::string> nodes;
  std::vector<std::string> top_leaf_types;  // per top cell
  std::map<std::pair<int32_t, int32_t>, int64_t> count_per_chain_level;
};

View DerivedView(const Config& config, const DerivedConfig& d) {
  View v;
  ForEachPhysicalCell(config, d, [&](const PhysicalCellVisit& c) {
    const DerivedCellType& t = d.cell_types[c.cell_type];
    v.cells.push_back({std::string(c.address), t.name, c.level, t.node_level});
    if (t.node_level) {
      std::string node(c.node);
      if (std::find(v.nodes.begin(), v.nodes.end(), node) == v.nodes.end()) v.nodes.push_back(node);
    }
    if (c.parent < 0) v.top_leaf_types.push_back(d.chains[c.chain].leaf_cell_type);
    ++v.count_per_chain_level[{c.chain, c.level}];
  });
  return v;
}

void AppendEngineCell(const CellStatus& c, int32_t chain, int32_t level, View& v) {
  v.cells.push_back({c.cell_address, c.cell_type, level, c.is_node_level});
  ++v.count_per_chain_level[{chain, level}];
  for (const CellStatus& child : c.cell_children) AppendEngineCell(child, chain, level - 1, v);
}

View EngineView(const Scheduler& s, const DerivedConfig& d) {
  View v;
  for (const CellStatus& top : s.PhysicalCluster()) {
    // The engine does not print levels: the top's level is its chain's.
    const int32_t chain = d.FindChain(top.cell_type);
    EXPECT_GE(chain, 0) << "top cell " << top.cell_address << " of unknown type " << top.cell_type;
    if (chain < 0) return v;
    AppendEngineCell(top, chain, d.chains[chain].top_level, v);
    v.top_leaf_types.push_back(top.leaf_cell_type);
  }
  v.nodes = s.Nodes();
  return v;
}

// Checks every agreement; returns the first disagreement ("" = none).
std::string Disagreement(const Config& config) {
  Result<DerivedConfig> d = DeriveConfig(config);
  if (!d.ok()) return "invalid config: " + d.status().message();
  ManualClock clock;
  Result<std::unique_ptr<Scheduler>> s = Scheduler::Create(config, &clock);
  if (!s.ok()) return "Create failed: " + s.status().message();
  const View want = DerivedView(config, *d);
  const View got = EngineView(**s, *d);
  if (got.cells.size() != want.cells.size())
    return "cell count " + std::to_string(got.cells.size()) + " != derived " +
           std::to_string(want.cells.size());
  for (size_t i = 0; i < want.cells.size(); ++i)
    if (!(got.cells[i] == want.cells[i]))
      return "cell " + std::to_string(i) + ": built " + Show(got.cells[i]) + ", derived " +
             Show(want.cells[i]);
  if (got.nodes != want.nodes) return "node lists differ";
  if (got.top_leaf_types != want.top_leaf_types) return "leaf types of the top cells differ";
  // Counts per chain and level, as DeriveConfig states them.
  for (int32_t c = 0; c < static_cast<int32_t>(d->chains.size()); ++c) {
    const DerivedChain& ch = d->chains[c];
    for (int32_t l = 1; l <= ch.top_level; ++l) {
      int64_t built = 0;
      auto it = got.count_per_chain_level.find({c, l});
      if (it != got.count_per_chain_level.end()) built = it->second;
      if (built != ch.level_cell_counts[l - 1])
        return "chain " + ch.name + " level " + std::to_string(l) + ": built " +
               std::to_string(built) + " cells, derived " +
               std::to_string(ch.level_cell_counts[l - 1]);
    }
  }
  return "";
}

TEST(BuildFromDerivedConfig, BundledConfigsAgreeCellByCell) {
  const std::string root = APIARY_SOURCE_DIR;
  for (const std::string& path :
       {root + "/examples/configs/hived-basic.yaml",
        root + "/examples/configs/openpai-services-configuration.yaml",
        root + "/tests/data/hived-basic-prod-shrunk.yaml",
        root + "/tests/data/hived-commit-rederive.yaml",
        root + "/tests/data/openpai/services-configuration.yaml"}) {
    Result<LoadedConfig> r = LoadConfigFile(path);
    ASSERT_TRUE(r.ok()) << path << ": " << r.status().message();
    EXPECT_EQ(Disagreement(r->config), "") << path;
  }
}

TEST(BuildFromDerivedConfig, MultiNodeCellsAndExplicitLeavesAgree) {
  // A rack of two nodes (a multi-node cell), a node with explicit leaf
  // addresses out of order, and a second chain of generated cells.
  Config c;
  c.cell_types = {CellType("NODE", "GPU", 4, true), CellType("RACK", "NODE", 2),
                  CellType("K-NODE", "K80", 2, true)};
  c.physical_cells = {
      PCell("RACK", "r0", {PCell("", "n0"), PCell("", "n1", {PCell("", "3"), PCell("", "1"),
                                                            PCell("", "0"), PCell("", "2")})}),
      PCell("K-NODE", "k0"), PCell("NODE", "n2")};
  EXPECT_EQ(Disagreement(c), "");
}

// A random valid configuration: 1-3 chains of a leaf type, each with an
// optional switch level below the node and an optional rack above it; node
// children generated or listed with shuffled leaf addresses.
Config RandomConfig(uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint64_t>(n)); };
  Config c;
  int node_counter = 0;
  const int chains = 1 + pick(3);
  for (int ch = 0; ch < chains; ++ch) {
    const std::string p = "C" + std::to_string(ch);
    const std::string leaf = pick(2) ? "GPU-A" : "GPU-B";
    const bool sw = pick(2), rack = pick(2);
    const int64_t leaves_per_sw = 1 + pick(3), sws = 1 + pick(3), nodes_per_rack = 1 + pick(3);
    std::string below_node = leaf;
    int64_t node_children = leaves_per_sw * sws;
    if (sw) {
      c.cell_types.push_back(CellType(p + "-SW", leaf, leaves_per_sw));
      below_node = p + "-SW";
      node_children = sws;
    }
    c.cell_types.push_back(CellType(p + "-NODE", below_node, node_children, true));
    if (rack) c.cell_types.push_back(CellType(p + "-RACK", p + "-NODE", nodes_per_rack));
    auto node = [&](bool top) {
      PhysicalCellSpec n = PCell(top ? p + "-NODE" : "", "n" + std::to_string(node_counter++));
      if (!sw && pick(2)) {  // explicit leaves, addresses a random permutation
        std::vector<int64_t> idx(node_children);
        for (int64_t k = 0; k < node_children; ++k) idx[k] = k;
        std::shuffle(idx.begin(), idx.end(), rng);
        for (int64_t k : idx) n.cell_children.push_back(PCell("", std::to_string(k)));
      }
      return n;
    };
    const int tops = 1 + pick(2);
    for (int t = 0; t < tops; ++t) {
      if (rack) {
        PhysicalCellSpec r = PCell(p + "-RACK", p + "-r" + std::to_string(t));
        for (int64_t k = 0; k < nodes_per_rack; ++k) r.cell_children.push_back(node(false));
        c.physical_cells.push_back(std::move(r));
      } else {
        c.physical_cells.push_back(node(true));
      }
    }
  }
  return c;
}

#ifdef APIARY_HAVE_RAPIDCHECK
RC_GTEST_PROP(BuildFromDerivedConfig, RandomConfigsAgreeCellByCell, ()) {
  const uint64_t seed = *rc::gen::inRange<uint64_t>(0, 1000000);
  const Config c = RandomConfig(seed);
  RC_ASSERT(DeriveConfig(c).ok());
  const std::string why = Disagreement(c);
  RC_ASSERT(why == "");
}
#else
TEST(BuildFromDerivedConfig, RandomConfigsAgreeCellByCell) {
  for (uint64_t seed = 0; seed < 200; ++seed) {
    const Config c = RandomConfig(seed);
    ASSERT_TRUE(DeriveConfig(c).ok()) << seed;
    EXPECT_EQ(Disagreement(c), "") << "seed " << seed;
  }
}
#endif

}  // namespace
}  // namespace apiary::cell
