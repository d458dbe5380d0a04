// Shared by the config validator and the derived-structure builder (not a
// public header): the cell-type graph with its derived facts, and the one
// walker that enumerates physical cells and computes their addresses
// (hived.md 2.4). Both are written to be safe on any Config: the graph marks
// broken types instead of recursing into them, and the walker only descends
// through types the graph has proven finite and small.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "apiary/cell/config.h"
#include "apiary/cell/config_derived.h"

namespace apiary::cell::internal {

// Saturating arithmetic on non-negative counts.
inline int64_t SatAdd(int64_t a, int64_t b) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  return a > kMax - b ? kMax : a + b;
}
inline int64_t SatMul(int64_t a, int64_t b) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  if (a == 0 || b == 0) return 0;
  return a > kMax / b ? kMax : a * b;
}

// Why a type cannot be used. Only the first problem found is kept; types
// above a broken one get kBelowBroken so the error is reported once, where
// it is.
enum class TypeProblem : uint8_t {
  kNone,
  kNoChild,         // V3: childCellType missing or empty
  kBadChildNumber,  // V4: childCellNumber < 1 or > kMaxLeafCellsPerCell
  kOnCycle,         // V5
  kTwoNodeLevels,   // V6: node-level, with another node-level type below
  kTooDeep,         // more than kMaxCellLevels levels
  kTooManyLeaves,   // leaf_cell_number > kMaxLeafCellsPerCell
  kBelowBroken,     // a type below this one has a problem
};

struct TypeNode {
  std::string name;
  int spec = -1;   // index into Config::cell_types; -1 for a leaf type
  int child = -1;  // node of childCellType; -1 for leaf types / no child
  int64_t child_number = 0;
  bool is_node_level_flag = false;
  TypeProblem problem = TypeProblem::kNone;
  // Derived; meaningful only when ok().
  int32_t level = 0;
  int64_t leaf_cell_number = 0;
  int64_t subtree_cells = 0;  // cells in one fully generated tree (saturated)
  int leaf = -1;              // node of the leaf type
  int node_type = -1;         // node-level type at or below; -1 when none
  bool at_or_above_node = false;
  bool multi_node = false;
  bool node_level = false;

  bool ok() const { return problem == TypeProblem::kNone; }
  bool is_leaf() const { return spec < 0; }
};

struct TypeGraph {
  // cellTypes in config order (first of each name), then leaf types in order
  // of first appearance. Same order as DerivedConfig::cell_types.
  std::vector<TypeNode> nodes;
  std::unordered_map<std::string, int> by_name;
  // Each cycle lists its nodes in link order, starting with the node first in
  // config order (the message names them in that order).
  std::vector<std::vector<int>> cycles;
  // Config::cell_types indices whose name repeats an earlier entry.
  std::vector<int> duplicate_specs;

  int Find(std::string_view name) const {
    auto it = by_name.find(std::string(name));
    return it == by_name.end() ? -1 : it->second;
  }
};

// Builds the graph with Boost.Graph (cycle detection by depth-first search,
// levels in DFS finish order). O(types); no recursion on the type graph.
TypeGraph BuildTypeGraph(const Config& config);

// Cells in the tree rooted at `spec` of type `type` (which must be ok()),
// explicit and generated, saturating. Recursion depth <= the type's level.
int64_t CountTreeCells(const TypeGraph& graph, const PhysicalCellSpec& spec,
                       int type);

// Leaf index parsing (hived.md 2.4, V12): a non-negative 32-bit decimal.
bool ParseLeafIndex(std::string_view s, int32_t* out);

// One cell as the walker reports it.
struct CellVisit {
  int64_t index = 0;
  int64_t parent = -1;
  int top = 0;
  int type = 0;  // TypeGraph node
  int32_t level = 0;
  const std::string* address = nullptr;
  std::string_view segment;  // last path segment of *address
  int64_t default_number = 0;
  std::string_view node;                   // node name at and below node level
  const PhysicalCellSpec* spec = nullptr;  // nullptr when generated
  // The YAML path of `spec`, or of the nearest explicit ancestor when the
  // cell is generated.
  const std::string* spec_path = nullptr;
  const std::string* parent_address = nullptr;  // nullptr for a top cell
};

// Child default number (hived.md 2.4): d*c + i, with d restarting at 0 below
// a node-level cell.
inline int64_t ChildDefaultNumber(int64_t parent_default,
                                  bool parent_is_node_level, int64_t c,
                                  int64_t i) {
  return SatAdd(SatMul(parent_is_node_level ? 0 : parent_default, c), i);
}

// Walks the tree of physical_cells[top] depth first, children in order,
// generating default children where cellChildren is empty. The top's type
// must be ok(); the caller checks the tree size first (CountTreeCells).
// `next_index` numbers cells across calls. Explicit children of a leaf are
// not visited (the validator reports them, V11).
template <typename Visit>
class TreeWalker {
 public:
  TreeWalker(const TypeGraph& graph, int top, int64_t* next_index, Visit& visit)
      : graph_(graph), top_(top), next_index_(next_index), visit_(visit) {}

  void Walk(const PhysicalCellSpec& spec, int type, const std::string& path) {
    std::string address =
        spec.cell_address ? *spec.cell_address : std::to_string(top_);
    Cell(&spec, path, type, address, 0, top_, -1, {}, nullptr);
  }

 private:
  void Cell(const PhysicalCellSpec* spec, const std::string& spec_path,
            int type, const std::string& address, size_t segment_begin,
            int64_t default_number, int64_t parent, std::string_view node,
            const std::string* parent_address) {
    const TypeNode& t = graph_.nodes[type];
    CellVisit v;
    v.index = (*next_index_)++;
    v.parent = parent;
    v.top = top_;
    v.type = type;
    v.level = t.level;
    v.address = &address;
    v.segment = std::string_view(address).substr(segment_begin);
    v.default_number = default_number;
    if (t.node_level)
      node = v.segment;
    else if (!t.is_leaf() && t.multi_node)
      node = {};
    v.node = node;
    v.spec = spec;
    v.spec_path = &spec_path;
    v.parent_address = parent_address;
    visit_(v);
    if (t.is_leaf() || t.child < 0) return;

    const int64_t c = t.child_number;
    std::string child_address;
    auto visit_child = [&](const PhysicalCellSpec* child_spec,
                           const std::string& child_path, int64_t i) {
      int64_t d = ChildDefaultNumber(default_number, t.node_level, c, i);
      child_address = address;
      child_address += '/';
      size_t begin = child_address.size();
      if (child_spec && child_spec->cell_address) {
        child_address += *child_spec->cell_address;
      } else {
        child_address += std::to_string(d);
      }
      Cell(child_spec, child_path, t.child, child_address, begin, d, v.index,
           node, &address);
    };
    if (spec && !spec->cell_children.empty()) {
      for (size_t i = 0; i < spec->cell_children.size(); ++i) {
        std::string child_path =
            spec_path + ".cellChildren[" + std::to_string(i) + "]";
        visit_child(&spec->cell_children[i], child_path,
                    static_cast<int64_t>(i));
      }
    } else {
      for (int64_t i = 0; i < c; ++i) visit_child(nullptr, spec_path, i);
    }
  }

  const TypeGraph& graph_;
  int top_;
  int64_t* next_index_;
  Visit& visit_;
};

}  // namespace apiary::cell::internal
