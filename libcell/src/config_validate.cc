// Configuration validation (hived.md section 3, checks V3..V32 except the
// YAML-level V1, V2 and V29 done by the loader), and the cell-type graph the
// validator and the derived-structure builder share (config_internal.h).
//
// Robustness is the point of this file: it must finish, quickly and without
// crashing, on any Config a user or a program can produce. Hence:
//  - the type graph is analysed with Boost.Graph's (non-recursive) DFS before
//    anything follows childCellType links, and broken types (cycles, bad
//    numbers, too deep, too many leaves) are never descended into;
//  - physical trees are counted arithmetically before they are walked, and
//    the walk recurses at most kMaxCellLevels deep;
//  - a check that depends on a structure already reported broken is skipped,
//    so one mistake gives one error rather than a cascade.
#include <algorithm>
#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/depth_first_search.hpp>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "apiary/cell/config.h"
#include "apiary/cell/config_derived.h"
#include "apiary/cell/text.h"
#include "config_internal.h"

namespace apiary::cell {
namespace internal {
namespace {

using Graph = boost::adjacency_list<boost::vecS, boost::vecS, boost::directedS>;

// Records back edges (each closes one cycle: every type has one child, so
// each cycle yields exactly one) and the finish order (children before
// parents along tree, forward and cross edges).
class TypeDfsVisitor : public boost::default_dfs_visitor {
 public:
  TypeDfsVisitor(std::vector<std::pair<int, int>>* back_edges,
                 std::vector<int>* finish_order)
      : back_edges_(back_edges), finish_order_(finish_order) {}
  template <typename Edge, typename G>
  void back_edge(Edge e, const G& g) {
    back_edges_->emplace_back(static_cast<int>(boost::source(e, g)),
                              static_cast<int>(boost::target(e, g)));
  }
  template <typename Vertex, typename G>
  void finish_vertex(Vertex v, const G&) {
    finish_order_->push_back(static_cast<int>(v));
  }

 private:
  std::vector<std::pair<int, int>>* back_edges_;
  std::vector<int>* finish_order_;
};

}  // namespace

TypeGraph BuildTypeGraph(const Config& config) {
  TypeGraph g;
  // Cell types first, in config order; a repeated name keeps the first.
  std::vector<int> spec_node(config.cell_types.size(), -1);
  for (size_t i = 0; i < config.cell_types.size(); ++i) {
    const CellTypeSpec& s = config.cell_types[i];
    if (g.by_name.count(s.name)) {
      g.duplicate_specs.push_back(static_cast<int>(i));
      continue;
    }
    TypeNode n;
    n.name = s.name;
    n.spec = static_cast<int>(i);
    n.child_number = s.child_cell_number;
    n.is_node_level_flag = s.is_node_level;
    spec_node[i] = static_cast<int>(g.nodes.size());
    g.by_name.emplace(s.name, spec_node[i]);
    g.nodes.push_back(std::move(n));
  }
  // Then leaf types (childCellTypes that are not keys), in first appearance.
  for (size_t i = 0; i < config.cell_types.size(); ++i) {
    int v = spec_node[i];
    if (v < 0) continue;
    const CellTypeSpec& s = config.cell_types[i];
    if (s.child_cell_type.empty()) {
      g.nodes[v].problem = TypeProblem::kNoChild;
      continue;
    }
    int c = g.Find(s.child_cell_type);
    if (c < 0) {
      TypeNode leaf;
      leaf.name = s.child_cell_type;
      c = static_cast<int>(g.nodes.size());
      g.by_name.emplace(leaf.name, c);
      g.nodes.push_back(std::move(leaf));
    }
    g.nodes[v].child = c;
    if (s.child_cell_number < 1 || s.child_cell_number > kMaxLeafCellsPerCell) {
      g.nodes[v].problem = TypeProblem::kBadChildNumber;
    }
  }

  const int n = static_cast<int>(g.nodes.size());
  Graph graph(n);
  for (int v = 0; v < n; ++v) {
    if (g.nodes[v].child >= 0) boost::add_edge(v, g.nodes[v].child, graph);
  }
  std::vector<std::pair<int, int>> back_edges;
  std::vector<int> finish_order;
  finish_order.reserve(n);
  if (n > 0) {
    boost::depth_first_search(
        graph, boost::visitor(TypeDfsVisitor(&back_edges, &finish_order)));
  }

  for (const auto& [u, v] : back_edges) {
    // The cycle is v -> child(v) -> ... -> u -> v; list it from its member
    // first in config order.
    std::vector<int> cycle;
    int x = v;
    for (int steps = 0; steps <= n; ++steps) {
      cycle.push_back(x);
      x = g.nodes[x].child;
      if (x == v || x < 0) break;
    }
    auto first = std::min_element(cycle.begin(), cycle.end());
    std::rotate(cycle.begin(), first, cycle.end());
    for (int m : cycle) g.nodes[m].problem = TypeProblem::kOnCycle;
    g.cycles.push_back(std::move(cycle));
  }
  // Cycles in config order of their first member.
  std::sort(g.cycles.begin(), g.cycles.end(),
            [](const auto& a, const auto& b) { return a[0] < b[0]; });

  // Finish order visits every child before its parent unless the edge closes
  // a cycle (both ends are then already marked kOnCycle).
  for (int v : finish_order) {
    TypeNode& t = g.nodes[v];
    if (!t.ok()) continue;
    if (t.is_leaf()) {
      t.level = 1;
      t.leaf_cell_number = 1;
      t.subtree_cells = 1;
      t.leaf = v;
      continue;
    }
    const TypeNode& c = g.nodes[t.child];
    if (!c.ok()) {
      t.problem = TypeProblem::kBelowBroken;
      continue;
    }
    if (t.is_node_level_flag && c.node_type >= 0) {
      t.problem = TypeProblem::kTwoNodeLevels;
      continue;
    }
    if (c.level >= kMaxCellLevels) {
      t.problem = TypeProblem::kTooDeep;
      continue;
    }
    int64_t leaves = SatMul(c.leaf_cell_number, t.child_number);
    if (leaves > kMaxLeafCellsPerCell) {
      t.problem = TypeProblem::kTooManyLeaves;
      continue;
    }
    t.level = c.level + 1;
    t.leaf_cell_number = leaves;
    t.subtree_cells = SatAdd(1, SatMul(t.child_number, c.subtree_cells));
    t.leaf = c.leaf;
    t.node_type = t.is_node_level_flag ? v : c.node_type;
    t.at_or_above_node = t.node_type >= 0;
    t.multi_node = c.at_or_above_node;
    t.node_level = t.at_or_above_node && !t.multi_node;
  }
  return g;
}

int64_t CountTreeCells(const TypeGraph& graph, const PhysicalCellSpec& spec,
                       int type) {
  const TypeNode& t = graph.nodes[type];
  if (t.is_leaf() || spec.cell_children.empty() || t.child < 0) {
    return t.subtree_cells;
  }
  int64_t n = 1;
  for (const PhysicalCellSpec& child : spec.cell_children) {
    n = SatAdd(n, CountTreeCells(graph, child, t.child));
    if (n > kMaxPhysicalCells) break;
  }
  return n;
}

bool ParseLeafIndex(std::string_view s, int32_t* out) {
  if (s.empty() || s.size() > 10) return false;
  int64_t v = 0;
  for (char ch : s) {
    if (ch < '0' || ch > '9') return false;
    v = v * 10 + (ch - '0');
  }
  if (v > 2147483647) return false;
  *out = static_cast<int32_t>(v);
  return true;
}

}  // namespace internal

namespace {

using internal::CellVisit;
using internal::SatAdd;
using internal::SatMul;
using internal::TypeGraph;
using internal::TypeNode;
using internal::TypeProblem;

constexpr char kPhysicalCells[] = "physicalCluster.physicalCells";
constexpr char kCellTypes[] = "physicalCluster.cellTypes";
constexpr char kSkuTypes[] = "physicalCluster.skuTypes";
constexpr char kVirtualClusters[] = "virtualClusters";

bool IsLowerAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

// [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63 characters.
bool IsDns1123Label(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  if (!IsLowerAlnum(s.front()) || !IsLowerAlnum(s.back())) return false;
  for (char c : s) {
    if (!IsLowerAlnum(c) && c != '-') return false;
  }
  return true;
}

// Dot-separated DNS-1123 labels, at most 253 characters (Kubernetes node
// names).
bool IsDns1123Subdomain(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    std::string_view label =
        s.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (!IsDns1123Label(label)) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
         c == '\v';
}

bool HasSpace(std::string_view s) {
  return std::any_of(s.begin(), s.end(), IsSpace);
}

bool IsBlank(std::string_view s) {
  return std::all_of(s.begin(), s.end(), IsSpace);
}

std::vector<std::string_view> SplitDots(std::string_view s) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    if (dot == std::string_view::npos) {
      parts.push_back(s.substr(start));
      return parts;
    }
    parts.push_back(s.substr(start, dot - start));
    start = dot + 1;
  }
}

std::string Str(std::string_view s) { return std::string(s); }

// A chain as the validator sees it.
struct ChainState {
  std::string name;
  int type = -1;        // TypeGraph node of the top type
  bool usable = false;  // type ok and at or above node level: fit-checkable
  bool used = false;    // some VC has preassigned cells in it
  std::vector<int> tops;
  // Per level (index level - 1): demand from VCs and every entry asking
  // (path, cells), in config order: a failed fit is reported at the entry
  // asking most and lists them all.
  std::vector<int64_t> demand;
  std::vector<std::vector<std::pair<std::string, int64_t>>> askers;
};

struct PinnedInfo {
  std::string path;  // ...pinnedCellId of the physical cell
  int chain = -1;    // -1 when its tree could not be walked
  int32_t level = 0;
};

class Validator {
 public:
  Validator(const Config& config, Diagnostics* diagnostics)
      : config_(config),
        out_(diagnostics),
        graph_(internal::BuildTypeGraph(config)) {}

  bool Run() {
    size_t errors_before = CountErrors();
    CollectChains();
    CheckTopLevel();
    CheckSkuTypes();
    CheckCellTypes();
    CheckPhysicalCells();
    CheckVirtualClusters();
    CheckFit();
    CheckChainUse();
    return CountErrors() == errors_before;
  }

 private:
  size_t CountErrors() const {
    return static_cast<size_t>(std::count_if(
        out_->items.begin(), out_->items.end(), [](const Diagnostic& d) {
          return d.severity == Diagnostic::Severity::kError;
        }));
  }
  void Error(std::string path, std::string message, std::string check = "") {
    out_->Error(std::move(path), std::move(message), std::move(check));
  }
  void Warning(std::string path, std::string message, std::string check = "") {
    out_->Warning(std::move(path), std::move(message), std::move(check));
  }

  // Chains = distinct top cell types that are cellTypes keys, in order of
  // first appearance. Known before anything is reported so that every
  // section can refer to them.
  void CollectChains() {
    for (size_t i = 0; i < config_.physical_cells.size(); ++i) {
      const std::string& name = config_.physical_cells[i].cell_type;
      int t = graph_.Find(name);
      if (name.empty() || t < 0 || graph_.nodes[t].is_leaf()) continue;
      auto [it, inserted] =
          chain_by_name_.emplace(name, static_cast<int>(chains_.size()));
      if (inserted) {
        ChainState c;
        c.name = name;
        c.type = t;
        const TypeNode& tn = graph_.nodes[t];
        c.usable = tn.ok() && tn.at_or_above_node;
        if (tn.ok()) {
          c.demand.assign(tn.level, 0);
          c.askers.resize(tn.level);
        }
        chains_.push_back(std::move(c));
      }
      chains_[it->second].tops.push_back(static_cast<int>(i));
    }
  }

  int FindChain(std::string_view name) const {
    auto it = chain_by_name_.find(Str(name));
    return it == chain_by_name_.end() ? -1 : it->second;
  }

  // V28.
  void CheckTopLevel() {
    if (config_.force_pod_bind_threshold < 1) {
      Error("forcePodBindThreshold",
            "must be at least 1, got " +
                std::to_string(config_.force_pod_bind_threshold),
            "V28");
    }
    if (config_.waiting_pod_scheduling_block_milli_sec < 0) {
      Error("waitingPodSchedulingBlockMilliSec",
            "must not be negative, got " +
                std::to_string(config_.waiting_pod_scheduling_block_milli_sec),
            "V28");
    }
  }

  // V30 (and duplicate names, which only a program can produce: the loader
  // reports duplicate YAML keys itself).
  void CheckSkuTypes() {
    std::unordered_set<std::string> seen;
    for (const SkuType& sku : config_.sku_types) {
      std::string path = std::string(kSkuTypes) + "." + sku.name;
      if (!seen.insert(sku.name).second) {
        Error(path, "duplicate skuTypes entry " + sku.name);
        continue;
      }
      int t = graph_.Find(sku.name);
      if (t < 0 || !graph_.nodes[t].is_leaf()) {
        Warning(path, sku.name +
                          " is not a leaf cell type (a childCellType that is "
                          "not a cellTypes key); this entry is unused");
      }
    }
    // Leaf types of chains without an entry, in chain order.
    std::set<int> reported;
    for (const ChainState& c : chains_) {
      const TypeNode& t = graph_.nodes[c.type];
      if (!t.ok() || reported.count(t.leaf)) continue;
      reported.insert(t.leaf);
      const std::string& leaf = graph_.nodes[t.leaf].name;
      if (!seen.count(leaf)) {
        Warning(kSkuTypes, "leaf cell type " + leaf +
                               " has no skuTypes entry (OpenPAI needs one to "
                               "size jobs of this type)");
      }
    }
  }

  // V3, V4, V5, V6 and the size limits, per cell type in config order.
  void CheckCellTypes() {
    std::set<int> duplicates(graph_.duplicate_specs.begin(),
                             graph_.duplicate_specs.end());
    std::unordered_map<int, const std::vector<int>*> cycle_start;
    for (const auto& cycle : graph_.cycles) cycle_start[cycle[0]] = &cycle;

    for (size_t i = 0; i < config_.cell_types.size(); ++i) {
      const CellTypeSpec& s = config_.cell_types[i];
      std::string path = std::string(kCellTypes) + "." + s.name;
      if (s.name.empty()) {
        Error(kCellTypes, "a cell type has an empty name");
      }
      if (duplicates.count(static_cast<int>(i))) {
        Error(path, "duplicate cell type " + s.name);
        continue;
      }
      if (s.name.find('.') != std::string::npos) {
        Warning(path, "cell type name " + s.name +
                          " contains '.', the separator of virtualCells "
                          "paths; no VC can name it");
      }
      if (s.child_cell_type.empty()) {
        Error(path + ".childCellType", "childCellType is missing or empty");
      }
      if (s.child_cell_number < 1) {
        Error(path + ".childCellNumber",
              "childCellNumber must be at least 1, got " +
                  std::to_string(s.child_cell_number));
      } else if (s.child_cell_number > kMaxLeafCellsPerCell) {
        Error(path + ".childCellNumber",
              "childCellNumber must be at most " +
                  std::to_string(kMaxLeafCellsPerCell) + ", got " +
                  std::to_string(s.child_cell_number));
      }
      CheckChildIsMeant(s, path);
      int v = graph_.Find(s.name);
      if (v < 0) continue;
      const TypeNode& t = graph_.nodes[v];
      switch (t.problem) {
        case TypeProblem::kOnCycle: {
          auto it = cycle_start.find(v);
          if (it == cycle_start.end()) break;  // reported at its first member
          std::string text = "cycle";
          for (size_t k = 0; k < it->second->size(); ++k) {
            text += (k == 0 ? " " : " -> ");
            text += graph_.nodes[(*it->second)[k]].name;
          }
          text += " -> " + t.name;
          Error(path + ".childCellType", text);
          break;
        }
        case TypeProblem::kTwoNodeLevels: {
          const TypeNode& c = graph_.nodes[t.child];
          const std::string& below = graph_.nodes[c.node_type].name;
          Error(path + ".isNodeLevel",
                s.name + " and " + below +
                    " are both node-level on one chain (" + below +
                    " is below " + s.name +
                    "); at most one level of a chain can be node-level");
          break;
        }
        case TypeProblem::kTooDeep:
          Error(path, "the chain of cell types below " + s.name +
                          " has more than " + std::to_string(kMaxCellLevels) +
                          " levels");
          break;
        case TypeProblem::kTooManyLeaves:
          Error(path + ".childCellNumber",
                "a " + s.name + " cell would have more than " +
                    std::to_string(kMaxLeafCellsPerCell) + " leaf cells");
          break;
        default:
          break;
      }
    }
  }

  // A childCellType that is no cellTypes key is a leaf type (a GPU) in
  // HiveD. When it is no skuTypes entry either and one edit or two away from
  // a cellTypes key, it is most likely a misspelt key: the errors it causes
  // surface far away (at a VC whose cellType path stops matching), so the
  // cause is named here.
  void CheckChildIsMeant(const CellTypeSpec& s, const std::string& path) {
    int c = graph_.Find(s.child_cell_type);
    if (c < 0 || !graph_.nodes[c].is_leaf()) return;
    for (const SkuType& sku : config_.sku_types)
      if (sku.name == s.child_cell_type) return;
    std::vector<std::string> keys;
    for (const CellTypeSpec& other : config_.cell_types)
      if (other.name != s.name) keys.push_back(other.name);
    std::string hint = DidYouMean(s.child_cell_type, keys);
    if (hint.empty()) return;
    Warning(path + ".childCellType",
            "childCellType " + s.child_cell_type +
                " is not a cellTypes key, so it is taken as a leaf cell type "
                "(one GPU)" + hint);
  }

  // Records pinned ids of a tree that cannot be walked, so that VCs naming
  // them get no second, misleading "not found" error.
  void ScanPinned(const PhysicalCellSpec& spec, const std::string& path,
                  int depth) {
    if (depth > 2 * kMaxCellLevels) return;
    if (!spec.pinned_cell_id.empty() && !pinned_.count(spec.pinned_cell_id)) {
      pinned_[spec.pinned_cell_id] = PinnedInfo{path + ".pinnedCellId", -1, 0};
    }
    for (size_t i = 0; i < spec.cell_children.size(); ++i) {
      ScanPinned(spec.cell_children[i],
                 path + ".cellChildren[" + std::to_string(i) + "]", depth + 1);
    }
  }

  // V7..V18, V31, per top cell in list order, each tree depth first.
  void CheckPhysicalCells() {
    std::vector<std::unordered_map<std::string, std::string>> top_addresses(
        chains_.size());
    node_paths_.assign(chains_.size(), {});
    int64_t total_cells = 0;
    int64_t next_index = 0;
    for (size_t i = 0; i < config_.physical_cells.size(); ++i) {
      const PhysicalCellSpec& spec = config_.physical_cells[i];
      std::string path =
          std::string(kPhysicalCells) + "[" + std::to_string(i) + "]";
      int t = graph_.Find(spec.cell_type);
      if (spec.cell_type.empty()) {
        Error(path + ".cellType", "cellType is missing or empty");
        ScanPinned(spec, path, 0);
        continue;
      }
      if (t < 0 || graph_.nodes[t].is_leaf()) {
        std::string msg =
            "physicalCells contains unknown cellType: " + spec.cell_type;
        if (t >= 0) {
          msg += " (" + spec.cell_type +
                 " is a leaf cell type; a top cell needs a cellTypes key)";
        }
        Error(path + ".cellType", msg);
        ScanPinned(spec, path, 0);
        continue;
      }
      const TypeNode& tn = graph_.nodes[t];
      if (!tn.ok()) {  // reported under cellTypes
        ScanPinned(spec, path, 0);
        continue;
      }
      const int chain = FindChain(spec.cell_type);
      if (!tn.at_or_above_node) {
        Error(path + ".cellType",
              "top cell must be node-level or above: " + spec.cell_type);
      }
      int64_t cells = internal::CountTreeCells(graph_, spec, t);
      if (cells > kMaxPhysicalCells - total_cells) {
        Error(path, "the physical cluster is too large: this tree alone has " +
                        (cells > kMaxPhysicalCells
                             ? "more than " + std::to_string(kMaxPhysicalCells)
                             : std::to_string(cells)) +
                        " cells, and at most " +
                        std::to_string(kMaxPhysicalCells) +
                        " are supported in all");
        ScanPinned(spec, path, 0);
        continue;
      }
      total_cells += cells;

      // V14 for top cells: addresses unique within the chain.
      std::string address =
          spec.cell_address ? *spec.cell_address : std::to_string(i);
      bool duplicate_top = false;
      auto [it, inserted] = top_addresses[chain].emplace(address, path);
      if (!inserted) {
        duplicate_top = true;
        Error(spec.cell_address ? path + ".cellAddress" : path,
              "address " + address + " is already used by " + it->second +
                  " in chain " + spec.cell_type);
      }
      WalkTree(spec, t, chain, static_cast<int>(i), path, duplicate_top,
               &next_index);
    }
  }

  void WalkTree(const PhysicalCellSpec& spec, int type, int chain, int top,
                const std::string& path, bool duplicate_top,
                int64_t* next_index) {
    // Depth-first state. A subtree ends when a cell at the same or a higher
    // level is visited, which is how "inside" is tracked without a stack.
    int32_t suppress_level = duplicate_top ? kMaxCellLevels + 1 : 0;
    int32_t pinned_level = 0;
    std::string pinned_outer;                  // "<id> (<path>)"
    std::unordered_set<int32_t> leaf_indices;  // of the current node
    std::string current_node_path;
    const std::string* warned_generated = nullptr;
    std::unordered_set<std::string> duplicate_addresses;

    auto visit = [&](const CellVisit& v) {
      const TypeNode& t = graph_.nodes[v.type];
      const PhysicalCellSpec* s = v.spec;
      const std::string& sp = *v.spec_path;
      if (suppress_level != 0 && v.level >= suppress_level) suppress_level = 0;
      if (suppress_level == 0 && duplicate_addresses.count(*v.address)) {
        suppress_level = v.level;
      }
      const bool suppressed = suppress_level != 0;
      if (pinned_level != 0 && v.level >= pinned_level) pinned_level = 0;

      if (s) {
        // V9: an explicit child cellType must be the parent's childCellType.
        if (v.parent >= 0 && !s->cell_type.empty() && s->cell_type != t.name) {
          Error(sp + ".cellType", "cellType " + s->cell_type +
                                      " does not match the parent's "
                                      "childCellType " +
                                      t.name);
        }
        if (s->cell_address) {
          const std::string& a = *s->cell_address;
          if (IsBlank(a)) {
            Error(sp + ".cellAddress", "cellAddress is empty");  // V13
          } else if (a.find('/') != std::string::npos) {
            Error(sp + ".cellAddress",
                  "cellAddress " + a + " contains '/'");  // V13
          } else if (t.is_leaf()) {
            int32_t index;
            if (!internal::ParseLeafIndex(a, &index)) {  // V12
              Error(sp + ".cellAddress",
                    "leaf cell address must be a device index (an integer "
                    "0..2147483647), got " +
                        a);
            }
          } else if (t.node_level && !IsDns1123Subdomain(a)) {  // V31
            Warning(sp + ".cellAddress",
                    "node name " + a +
                        " is not a valid Kubernetes node name (a lower-case "
                        "DNS-1123 subdomain); it can never match a node and "
                        "will stay bad");
          }
        } else if (t.node_level) {  // V16
          Warning(sp, "node-level cell has no cellAddress; its node is named " +
                          std::string(v.segment) +
                          " (its default number), which must then be the "
                          "Kubernetes node name");
        }
      } else if (t.node_level && warned_generated != v.spec_path) {  // V16
        warned_generated = v.spec_path;
        Warning(sp,
                "cellChildren not given: the node-level cells generated "
                "below have no cellAddress and their nodes are named by "
                "default numbers (the first is " +
                    std::string(v.segment) + ")");
      }

      // V15: node names once per chain, leaf indices once per node.
      const std::string& where =
          s && s->cell_address ? sp + ".cellAddress" : sp;
      if (t.node_level) {
        leaf_indices.clear();
        current_node_path = where;
        if (!suppressed) {
          auto [it, inserted] =
              node_paths_[chain].emplace(Str(v.segment), where);
          if (!inserted) {
            Error(where, "node " + Str(v.segment) +
                             " appears more than once in chain " +
                             chains_[chain].name + " (first at " + it->second +
                             ")");
          }
        }
      } else if (t.is_leaf() && !v.node.empty() && !suppressed) {
        int32_t index;
        if (internal::ParseLeafIndex(v.segment, &index) &&
            !leaf_indices.insert(index).second) {
          Error(where, "leaf index " + std::to_string(index) +
                           " appears more than once in node " + Str(v.node) +
                           " of chain " + chains_[chain].name);
        }
      }

      // V17, V18.
      if (s && !s->pinned_cell_id.empty()) {
        const std::string& id = s->pinned_cell_id;
        std::string pin_path = sp + ".pinnedCellId";
        auto [it, inserted] =
            pinned_.emplace(id, PinnedInfo{pin_path, chain, v.level});
        if (!inserted) {
          Error(pin_path, "pinnedCellId " + id + " is already used by " +
                              it->second.path);
        }
        if (pinned_level != 0) {
          Error(pin_path, "pinned cell " + id + " is inside pinned cell " +
                              pinned_outer + "; pinned cells must not nest");
        } else {
          pinned_level = v.level;
          pinned_outer = id + " (" + pin_path + ")";
        }
      }

      // V10, V11, V14 on explicit children.
      if (s && !s->cell_children.empty()) {
        if (t.is_leaf()) {
          Error(sp + ".cellChildren",
                "leaf cell (type " + t.name + ") cannot have cellChildren");
        } else {
          const int64_t n = static_cast<int64_t>(s->cell_children.size());
          if (n != t.child_number) {
            Error(sp + ".cellChildren",
                  "has " + std::to_string(n) + " children, type " + t.name +
                      " requires " + std::to_string(t.child_number) +
                      ": list " + std::to_string(t.child_number) +
                      " cellChildren or set its childCellNumber: " +
                      std::to_string(n));
          }
          std::unordered_map<std::string, int64_t> segments;
          for (int64_t k = 0; k < n; ++k) {
            const PhysicalCellSpec& c = s->cell_children[k];
            std::string seg =
                c.cell_address
                    ? *c.cell_address
                    : std::to_string(internal::ChildDefaultNumber(
                          v.default_number, t.node_level, t.child_number, k));
            auto [it, inserted] = segments.emplace(seg, k);
            if (!inserted) {
              std::string child_path =
                  sp + ".cellChildren[" + std::to_string(k) + "]";
              Error(c.cell_address ? child_path + ".cellAddress" : child_path,
                    "address " + *v.address + "/" + seg +
                        " is already used by " + sp + ".cellChildren[" +
                        std::to_string(it->second) + "]");
              duplicate_addresses.insert(*v.address + "/" + seg);
            }
          }
        }
      }
    };
    internal::TreeWalker<decltype(visit)> walker(graph_, top, next_index,
                                                 visit);
    walker.Walk(spec, type, path);
  }

  // V19..V26, per VC in config order.
  void CheckVirtualClusters() {
    std::unordered_set<std::string> names;
    std::unordered_map<std::string, std::string> pinned_uses;
    for (const VirtualClusterSpec& vc : config_.virtual_clusters) {
      std::string vpath = std::string(kVirtualClusters) + "." + vc.name;
      if (!names.insert(vc.name).second) {
        Error(vpath, "duplicate virtual cluster " + vc.name);
        continue;
      }
      if (vc.name.empty()) {  // V19
        Error(vpath, "virtual cluster name is empty", "V19");
      } else if (vc.name.find('/') != std::string::npos) {
        Error(vpath, "virtual cluster name " + vc.name + " contains '/'", "V19");
      } else if (HasSpace(vc.name)) {
        Error(vpath,
              "virtual cluster name \"" + vc.name + "\" contains whitespace", "V19");
      } else if (!IsDns1123Label(vc.name)) {  // V20
        Warning(vpath, "virtual cluster name " + vc.name +
                           " is not a DNS-1123 label (lower-case letters, "
                           "digits and '-', at most 63 characters); OpenPAI "
                           "derives Kubernetes object names from it",
                "V20");
      }
      for (size_t k = 0; k < vc.virtual_cells.size(); ++k) {
        CheckVirtualCell(vc.virtual_cells[k],
                         vpath + ".virtualCells[" + std::to_string(k) + "]");
      }
      for (size_t k = 0; k < vc.pinned_cell_ids.size(); ++k) {
        const std::string& id = vc.pinned_cell_ids[k];
        std::string p =
            vpath + ".pinnedCells[" + std::to_string(k) + "].pinnedCellId";
        if (id.empty()) {
          Error(p, "pinnedCellId is empty");
          continue;
        }
        auto pin = pinned_.find(id);
        if (pin == pinned_.end()) {  // V25
          Error(p, "pinned cell not found in physicalCells: VC: " + vc.name +
                       ", ID: " + id,
                "V25");
          continue;
        }
        auto [use, inserted] = pinned_uses.emplace(id, p);
        if (!inserted) {  // V26
          Error(p, "pinned cell " + id + " is already used by " + use->second, "V26");
          continue;
        }
        const PinnedInfo& info = pin->second;
        if (info.chain >= 0) {
          chains_[info.chain].used = true;
          AddDemand(info.chain, info.level, 1, p);
        }
      }
    }
  }

  void CheckVirtualCell(const VirtualCellSpec& cell, const std::string& p) {
    bool bad = false;
    int chain = -1;
    int last = -1;
    const std::string tpath = p + ".cellType";
    if (cell.cell_type.empty()) {  // V21
      Error(tpath, "cellType is empty", "V21");
      bad = true;
    } else {
      std::vector<std::string_view> parts = SplitDots(cell.cell_type);
      if (std::any_of(parts.begin(), parts.end(),
                      [](std::string_view x) { return x.empty(); })) {
        Error(tpath, "cellType " + cell.cell_type + " has an empty component");
        bad = true;
      } else {
        chain = FindChain(parts[0]);
        if (chain < 0) {  // V21
          Error(tpath, "Illegal initial VC assignment: Chain " + Str(parts[0]) +
                           " does not exists in physical cluster" +
                           ChainHint(parts[0]),
                "V21");
          bad = true;
        }
        last = graph_.Find(parts.back());
        // A chain whose types are broken (reported under cellTypes) cannot
        // be checked against; its entries are skipped.
        const bool chain_ok =
            chain >= 0 && graph_.nodes[chains_[chain].type].ok();
        if (chain >= 0 && !chain_ok) {
          bad = true;
        } else if (last < 0) {  // V22
          Error(tpath, "unknown cell type " + Str(parts.back()), "V22");
          bad = true;
        } else if (chain >= 0) {
          // V23: each component is the childCellType of the previous one.
          for (size_t j = 1; j < parts.size(); ++j) {
            int prev = graph_.Find(parts[j - 1]);
            int cur = graph_.Find(parts[j]);
            if (cur < 0) {
              Error(tpath, "unknown cell type " + Str(parts[j]), "V22");
              bad = true;
              break;
            }
            if (prev < 0 || graph_.nodes[prev].child != cur) {
              std::string cause;
              if (prev >= 0 && graph_.nodes[prev].spec >= 0 && graph_.nodes[prev].child >= 0)
                cause = " (" + std::string(kCellTypes) + "." + Str(parts[j - 1]) +
                        ".childCellType is " + graph_.nodes[graph_.nodes[prev].child].name +
                        ")";
              Error(tpath, Str(parts[j]) + " is not the child type of " +
                               Str(parts[j - 1]) + cause,
                    "V23");
              bad = true;
              break;
            }
          }
        }
      }
    }
    if (cell.cell_number < 0) {  // V24
      Error(p + ".cellNumber",
            "cellNumber must not be negative, got " + std::to_string(cell.cell_number), "V24");
      bad = true;
    } else if (cell.cell_number == 0) {
      Warning(p + ".cellNumber", "cellNumber is 0: this entry adds no cells", "V24");
    }
    if (chain >= 0 && cell.cell_number > 0) chains_[chain].used = true;
    if (bad || chain < 0 || cell.cell_number <= 0) return;
    const TypeNode& t = graph_.nodes[last];
    if (!t.ok()) return;
    AddDemand(chain, t.level, cell.cell_number, p);
  }

  // " (did you mean P.T?)" when T is a type inside some chain P.
  std::string ChainHint(std::string_view type) const {
    int t = graph_.Find(type);
    if (t < 0) return "";
    for (const ChainState& c : chains_) {
      const TypeNode& top = graph_.nodes[c.type];
      if (!top.ok()) continue;
      std::string path = c.name;
      for (int x = top.child; x >= 0; x = graph_.nodes[x].child) {
        path += "." + graph_.nodes[x].name;
        if (x == t)
          return "; " + Str(type) + " is a cell type in chain " + c.name +
                 ": write " + path;
      }
    }
    return "";
  }

  void AddDemand(int chain, int32_t level, int64_t n, const std::string& path) {
    ChainState& c = chains_[chain];
    if (level < 1 || level > static_cast<int32_t>(c.demand.size())) return;
    c.demand[level - 1] = SatAdd(c.demand[level - 1], n);
    c.askers[level - 1].emplace_back(path, n);
  }

  // V27, per chain, top level down (hived.md 3, "the initial fit check").
  void CheckFit() {
    for (ChainState& c : chains_) {
      if (!c.usable) continue;
      const TypeNode& top = graph_.nodes[c.type];
      int64_t available = static_cast<int64_t>(c.tops.size());
      int x = c.type;
      for (int32_t level = top.level; level >= 1 && x >= 0; --level) {
        const TypeNode& t = graph_.nodes[x];
        int64_t demand = c.demand[level - 1];
        if (demand > available) {
          // HiveD's message plus the cell type, with every entry that asks.
          // Reported at the likely cause: a virtualCells count before a
          // pinned cell (one fixed cell rarely is the mistake), the largest
          // count first, and among equals the last (the one that no longer
          // fits).
          const auto& askers = c.askers[level - 1];
          auto rank = [](const std::pair<std::string, int64_t>& a) {
            const std::string_view pin = ".pinnedCellId";
            bool pinned = a.first.size() >= pin.size() &&
                          a.first.compare(a.first.size() - pin.size(), pin.size(), pin) == 0;
            return std::make_pair(pinned ? 0 : 1, a.second);
          };
          size_t most = 0;
          for (size_t k = 1; k < askers.size(); ++k)
            if (rank(askers[k]) >= rank(askers[most])) most = k;
          std::string asked;
          for (size_t k = 0; k < askers.size(); ++k) {
            if (k == 8) {
              asked += ", ... (" + std::to_string(askers.size() - k) + " more)";
              break;
            }
            asked += (k ? ", " : "") + askers[k].first + " (" +
                     std::to_string(askers[k].second) + ")";
          }
          Error(askers.empty() ? std::string(kVirtualClusters) : askers[most].first,
                "Illegal initial VC assignment: Insufficient physical cells "
                "at chain " +
                    c.name + " level " + std::to_string(level) +
                    " (cell type " + t.name + "): " + std::to_string(demand) +
                    " needed, " + std::to_string(available) +
                    " available; asked for by " + asked,
                "V27");
          break;
        }
        available = SatMul(available - demand, t.child_number);
        x = t.child;
      }
    }
  }

  // V32.
  void CheckChainUse() {
    for (const ChainState& c : chains_) {
      if (c.used || !graph_.nodes[c.type].ok()) continue;
      Warning(std::string(kPhysicalCells) + "[" + std::to_string(c.tops[0]) +
                  "].cellType",
              "chain " + c.name +
                  " has no VC cells; only opportunistic pods can use it",
              "V32");
    }
  }

  const Config& config_;
  Diagnostics* out_;
  TypeGraph graph_;
  std::vector<ChainState> chains_;
  std::unordered_map<std::string, int> chain_by_name_;
  std::unordered_map<std::string, PinnedInfo> pinned_;
  // Per chain: node name -> where it was first seen.
  std::vector<std::unordered_map<std::string, std::string>> node_paths_;
};

}  // namespace

bool ValidateConfig(const Config& config, Diagnostics* diagnostics) {
  Validator v(config, diagnostics);
  return v.Run();
}

}  // namespace apiary::cell
