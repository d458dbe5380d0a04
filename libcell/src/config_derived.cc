// Derived configuration structures (config_derived.h) and the human-readable
// summary printed by `apiary validate`.
#include "apiary/cell/config_derived.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "apiary/cell/config.h"
#include "config_internal.h"

namespace apiary::cell {

using internal::CellVisit;
using internal::TypeGraph;
using internal::TypeNode;

const DerivedCellType* DerivedConfig::FindCellType(
    std::string_view name) const {
  for (const DerivedCellType& t : cell_types) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

int32_t DerivedConfig::FindChain(std::string_view name) const {
  for (size_t i = 0; i < chains.size(); ++i) {
    if (chains[i].name == name) return static_cast<int32_t>(i);
  }
  return -1;
}

std::vector<int32_t> DerivedConfig::ChainsOfLeafType(
    std::string_view leaf_type) const {
  std::vector<int32_t> out;
  for (size_t i = 0; i < chains.size(); ++i) {
    if (chains[i].leaf_cell_type == leaf_type) {
      out.push_back(static_cast<int32_t>(i));
    }
  }
  // Descending byte-wise order (std::string compares chars as unsigned).
  std::sort(out.begin(), out.end(), [this](int32_t a, int32_t b) {
    return chains[b].name < chains[a].name;
  });
  return out;
}

namespace {

// Walks every walkable top of `config` in list order; `chain_of_top` maps a
// top to its DerivedConfig chain (-1 = skip).
template <typename Fn>
void WalkAll(const Config& config, const TypeGraph& graph,
             const std::vector<int32_t>& chain_of_top, Fn&& fn) {
  int64_t next_index = 0;
  int64_t total = 0;
  for (size_t i = 0; i < config.physical_cells.size(); ++i) {
    const PhysicalCellSpec& spec = config.physical_cells[i];
    int t = graph.Find(spec.cell_type);
    if (chain_of_top[i] < 0 || t < 0 || !graph.nodes[t].ok() ||
        graph.nodes[t].is_leaf()) {
      continue;
    }
    int64_t cells = internal::CountTreeCells(graph, spec, t);
    if (cells > kMaxPhysicalCells - total) continue;
    total += cells;
    const int32_t chain = chain_of_top[i];
    auto visit = [&](const CellVisit& v) { fn(v, chain); };
    internal::TreeWalker<decltype(visit)> walker(graph, static_cast<int>(i),
                                                 &next_index, visit);
    walker.Walk(spec, t,
                "physicalCluster.physicalCells[" + std::to_string(i) + "]");
  }
}

std::vector<int32_t> ChainOfTop(const Config& config,
                                const DerivedConfig& derived) {
  std::vector<int32_t> out(config.physical_cells.size(), -1);
  for (size_t c = 0; c < derived.chains.size(); ++c) {
    for (int32_t top : derived.chains[c].top_cells) {
      if (top >= 0 && static_cast<size_t>(top) < out.size()) {
        out[top] = static_cast<int32_t>(c);
      }
    }
  }
  return out;
}

}  // namespace

Result<DerivedConfig> DeriveConfig(const Config& config) {
  Diagnostics diagnostics;
  if (!ValidateConfig(config, &diagnostics)) {
    return Status::Invalid(diagnostics.Format(Diagnostic::Severity::kError));
  }
  TypeGraph graph = internal::BuildTypeGraph(config);
  DerivedConfig d;
  d.cell_types.reserve(graph.nodes.size());
  for (const TypeNode& n : graph.nodes) {
    DerivedCellType t;
    t.name = n.name;
    t.is_leaf = n.is_leaf();
    if (n.child >= 0) t.child_cell_type = graph.nodes[n.child].name;
    t.child_cell_number = n.is_leaf() ? 0 : n.child_number;
    if (n.ok()) {
      t.level = n.level;
      t.leaf_cell_number = n.leaf_cell_number;
      t.leaf_cell_type = graph.nodes[n.leaf].name;
      t.at_or_above_node = n.at_or_above_node;
      t.multi_node = n.multi_node;
      t.node_level = n.node_level;
    }
    d.cell_types.push_back(std::move(t));
  }
  for (size_t i = 0; i < config.physical_cells.size(); ++i) {
    const std::string& name = config.physical_cells[i].cell_type;
    int32_t c = d.FindChain(name);
    if (c < 0) {
      int t = graph.Find(name);
      if (t < 0 || !graph.nodes[t].ok() || graph.nodes[t].is_leaf()) continue;
      const TypeNode& top = graph.nodes[t];
      DerivedChain chain;
      chain.name = name;
      chain.leaf_cell_type = graph.nodes[top.leaf].name;
      chain.top_level = top.level;
      chain.level_cell_types.resize(top.level);
      chain.level_leaf_cell_numbers.resize(top.level);
      chain.level_cell_counts.assign(top.level, 0);
      for (int x = t; x >= 0; x = graph.nodes[x].child) {
        const TypeNode& n = graph.nodes[x];
        chain.level_cell_types[n.level - 1] = n.name;
        chain.level_leaf_cell_numbers[n.level - 1] = n.leaf_cell_number;
        if (n.node_level) chain.node_level = n.level;
        if (n.is_leaf()) break;
      }
      c = static_cast<int32_t>(d.chains.size());
      d.chains.push_back(std::move(chain));
    }
    d.chains[c].top_cells.push_back(static_cast<int32_t>(i));
  }
  WalkAll(
      config, graph, ChainOfTop(config, d),
      [&](const CellVisit& v, int32_t chain) {
        auto& counts = d.chains[chain].level_cell_counts;
        if (v.level >= 1 && v.level <= static_cast<int32_t>(counts.size())) {
          ++counts[v.level - 1];
        }
      });
  return d;
}

void ForEachPhysicalCell(
    const Config& config, const DerivedConfig& derived,
    const std::function<void(const PhysicalCellVisit&)>& visit) {
  TypeGraph graph = internal::BuildTypeGraph(config);
  WalkAll(config, graph, ChainOfTop(config, derived),
          [&](const CellVisit& v, int32_t chain) {
            PhysicalCellVisit p;
            p.index = v.index;
            p.parent = v.parent;
            p.top = v.top;
            p.chain = chain;
            p.cell_type = v.type;
            p.level = v.level;
            p.address = *v.address;
            p.default_number = v.default_number;
            p.node = v.node;
            if (v.level == 1) {
              int32_t index;
              if (internal::ParseLeafIndex(v.segment, &index)) {
                p.leaf_index = index;
              }
            }
            if (v.spec) p.pinned_cell_id = v.spec->pinned_cell_id;
            p.spec = v.spec;
            visit(p);
          });
}

namespace {

// "37.5%" from integers, rounded half up; no floating point.
std::string Percent(int64_t part, int64_t whole) {
  if (whole <= 0) return "-";
  int64_t tenths = (part * 1000 + whole / 2) / whole;
  return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10) + "%";
}

std::string PadRight(std::string s, size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s;
}

std::string PadLeft(std::string s, size_t width) {
  if (s.size() < width) s.insert(0, width - s.size(), ' ');
  return s;
}

std::string Plural(int64_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

}  // namespace

std::string SummarizeConfig(const Config& config) {
  Result<DerivedConfig> derived = DeriveConfig(config);
  if (!derived.ok()) {
    return "invalid configuration:\n" + derived.status().message() + "\n";
  }
  const DerivedConfig& d = *derived;

  // One walk: nodes per chain and overall, pinned cells' chain and level.
  std::vector<std::set<std::string>> chain_nodes(d.chains.size());
  std::set<std::string> all_nodes;
  struct Pinned {
    int32_t chain;
    int32_t level;
  };
  std::unordered_map<std::string, Pinned> pinned;
  ForEachPhysicalCell(config, d, [&](const PhysicalCellVisit& c) {
    const DerivedCellType& t = d.cell_types[c.cell_type];
    if (t.node_level) {
      chain_nodes[c.chain].emplace(c.node);
      all_nodes.emplace(c.node);
    }
    if (!c.pinned_cell_id.empty()) {
      pinned[std::string(c.pinned_cell_id)] = Pinned{c.chain, c.level};
    }
  });

  auto chain_leaves = [&](size_t c) {
    const DerivedChain& ch = d.chains[c];
    return ch.level_cell_counts.empty() ? int64_t{0} : ch.level_cell_counts[0];
  };
  int64_t total_leaves = 0;
  for (size_t c = 0; c < d.chains.size(); ++c) total_leaves += chain_leaves(c);

  std::string out;
  out += "Physical cluster: " + Plural(d.chains.size(), "chain", "chains") +
         ", " + Plural(total_leaves, "leaf cell", "leaf cells") + ", " +
         Plural(all_nodes.size(), "node", "nodes") + "\n";
  for (size_t c = 0; c < d.chains.size(); ++c) {
    const DerivedChain& ch = d.chains[c];
    out += "  chain " + ch.name + " (leaf type " + ch.leaf_cell_type +
           "): " + Plural(ch.top_cells.size(), "top cell", "top cells") + ", " +
           Plural(chain_leaves(c), "leaf cell", "leaf cells") + ", " +
           Plural(chain_nodes[c].size(), "node", "nodes") + "\n";
    size_t name_width = 0;
    for (const std::string& n : ch.level_cell_types) {
      name_width = std::max(name_width, n.size());
    }
    size_t leaves_width =
        std::to_string(ch.level_leaf_cell_numbers.empty()
                           ? 0
                           : ch.level_leaf_cell_numbers.back())
            .size();
    size_t count_width =
        std::to_string(ch.level_cell_counts.empty() ? 0
                                                    : ch.level_cell_counts[0])
            .size();
    for (int32_t level = ch.top_level; level >= 1; --level) {
      const int64_t leaves = ch.level_leaf_cell_numbers[level - 1];
      const int64_t cells = ch.level_cell_counts[level - 1];
      out += "    level " + PadLeft(std::to_string(level), 2) + "  " +
             PadRight(ch.level_cell_types[level - 1], name_width) + "  " +
             PadLeft(std::to_string(leaves), leaves_width) +
             (leaves == 1 ? " leaf/cell   " : " leaves/cell ") +
             PadLeft(std::to_string(cells), count_width) +
             (cells == 1 ? " cell" : " cells") +
             (level == ch.node_level ? "  (node level)" : "") + "\n";
    }
  }

  // Leaf types in order of first appearance among chains.
  out += "Leaf cell types:\n";
  std::vector<std::string> leaf_types;
  for (const DerivedChain& ch : d.chains) {
    if (std::find(leaf_types.begin(), leaf_types.end(), ch.leaf_cell_type) ==
        leaf_types.end()) {
      leaf_types.push_back(ch.leaf_cell_type);
    }
  }
  for (const std::string& leaf : leaf_types) {
    int64_t n = 0;
    std::string names;
    for (int32_t c : d.ChainsOfLeafType(leaf)) {
      n += chain_leaves(c);
      names += (names.empty() ? "" : ", ") + d.chains[c].name;
    }
    out += "  " + leaf + ": " + Plural(n, "leaf cell", "leaf cells") +
           " (chains " + names + ")\n";
  }

  // Quotas: per VC and chain, leaves and the preassigned cells that make them.
  std::vector<int64_t> assigned(d.chains.size(), 0);
  out += "Virtual clusters: " + std::to_string(config.virtual_clusters.size()) +
         "\n";
  for (const VirtualClusterSpec& vc : config.virtual_clusters) {
    // chain -> (leaves, descriptions), in order of first use.
    std::vector<int32_t> order;
    std::map<int32_t, std::pair<int64_t, std::vector<std::string>>> per_chain;
    auto add = [&](int32_t chain, int64_t leaves, std::string what) {
      if (!per_chain.count(chain)) order.push_back(chain);
      auto& e = per_chain[chain];
      e.first += leaves;
      e.second.push_back(std::move(what));
    };
    for (const VirtualCellSpec& cell : vc.virtual_cells) {
      if (cell.cell_number <= 0) continue;
      std::string_view path = cell.cell_type;
      std::string_view chain_name = path.substr(0, path.find('.'));
      std::string_view type_name = path.substr(path.rfind('.') + 1);
      int32_t chain = d.FindChain(chain_name);
      const DerivedCellType* t = d.FindCellType(type_name);
      if (chain < 0 || !t) continue;
      add(chain, cell.cell_number * t->leaf_cell_number,
          std::to_string(cell.cell_number) + " x " + std::string(type_name));
    }
    for (const std::string& id : vc.pinned_cell_ids) {
      auto it = pinned.find(id);
      if (it == pinned.end()) continue;
      const DerivedChain& ch = d.chains[it->second.chain];
      const int32_t level = it->second.level;
      add(it->second.chain, ch.level_leaf_cell_numbers[level - 1],
          "pinned " + id + " (" + ch.level_cell_types[level - 1] + ")");
    }
    int64_t vc_leaves = 0;
    for (const auto& [chain, e] : per_chain) vc_leaves += e.first;
    out += "  " + vc.name + ": " +
           Plural(vc_leaves, "leaf cell", "leaf cells") + "\n";
    for (int32_t chain : order) {
      const auto& [leaves, items] = per_chain[chain];
      assigned[chain] += leaves;
      std::string list;
      for (const std::string& s : items) list += (list.empty() ? "" : ", ") + s;
      out += "    chain " + d.chains[chain].name + ": " +
             std::to_string(leaves) + " of " +
             std::to_string(chain_leaves(chain)) + " leaves (" +
             Percent(leaves, chain_leaves(chain)) + "): " + list + "\n";
    }
  }
  out += "Unassigned (opportunistic pods only):\n";
  bool any = false;
  for (size_t c = 0; c < d.chains.size(); ++c) {
    int64_t left = chain_leaves(c) - assigned[c];
    if (left <= 0) continue;
    any = true;
    out += "  chain " + d.chains[c].name + ": " + std::to_string(left) +
           " of " + std::to_string(chain_leaves(c)) + " leaves (" +
           Percent(left, chain_leaves(c)) + ")\n";
  }
  if (!any) out += "  none\n";
  return out;
}

}  // namespace apiary::cell
