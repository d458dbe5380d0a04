// What a configuration implies beyond what it spells out (hived.md 2.3, 2.4,
// 2.6): per cell type its level, leaf count, leaf type and node-levelness;
// per chain the cell type and leaves per cell at every level; and every
// physical cell (explicit or generated) with its full address, node and leaf
// index. Computed from a Config that passed ValidateConfig; the validator uses
// the same code, so what is validated is exactly what is built.
//
// All functions here are pure and thread-compatible (no shared state).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "apiary/cell/config.h"
#include "apiary/cell/status.h"

namespace apiary::cell {

// Limits the validator enforces so that no configuration can make us build
// (or even enumerate) an absurd structure. A cell type chain may have at most
// kMaxCellLevels levels, a cell at most kMaxLeafCellsPerCell leaves (HiveD
// counts in int32), and all physical trees together at most kMaxPhysicalCells
// cells, generated children included.
inline constexpr int32_t kMaxCellLevels = 64;
inline constexpr int64_t kMaxLeafCellsPerCell = 2147483647;
inline constexpr int64_t kMaxPhysicalCells = int64_t{1} << 22;

// One cell type (a cellTypes key) or leaf cell type (hived.md 2.3).
struct DerivedCellType {
  std::string name;
  bool is_leaf = false;           // not a cellTypes key
  std::string child_cell_type;    // "" for leaf types
  int64_t child_cell_number = 0;  // 0 for leaf types
  int32_t level = 0;              // leaf = 1
  int64_t leaf_cell_number = 0;   // leaves in one cell of this type
  std::string leaf_cell_type;     // the leaf type at the bottom
  bool at_or_above_node = false;  // this type or one below is node-level
  bool multi_node = false;        // the child type is at or above node level
  bool node_level = false;        // effective: at_or_above_node && !multi_node
};

// One chain: the physical trees whose top cell has type `name` (hived.md 2.6).
struct DerivedChain {
  std::string name;  // = the top cell type
  std::string leaf_cell_type;
  int32_t top_level = 0;
  int32_t node_level = 0;  // level of the node-level type
  // Indexed by level - 1: [0] is the leaf type, [top_level - 1] is `name`.
  std::vector<std::string> level_cell_types;
  std::vector<int64_t> level_leaf_cell_numbers;
  // Physical cells per level (generated children included), same indexing.
  std::vector<int64_t> level_cell_counts;
  // Indices into Config::physical_cells of this chain's top cells, in order.
  std::vector<int32_t> top_cells;
};

struct DerivedConfig {
  // Config::cell_types order, then leaf types in order of first appearance
  // as a childCellType (in cellTypes order).
  std::vector<DerivedCellType> cell_types;
  // In order of first appearance in physicalCells.
  std::vector<DerivedChain> chains;

  // Linear lookups by name; nullptr / -1 when absent. O(types) / O(chains).
  const DerivedCellType* FindCellType(std::string_view name) const;
  int32_t FindChain(std::string_view name) const;
  // hived.md 2.6 chainsOf(leafType): the chains of this leaf type, in
  // descending byte-wise order of chain name (the order chains are tried).
  std::vector<int32_t> ChainsOfLeafType(std::string_view leaf_type) const;
};

// Validates `config` and derives the structures above. Fails with
// kInvalidArgument (message = the formatted errors) when ValidateConfig finds
// an error. O(types + physical cells).
Result<DerivedConfig> DeriveConfig(const Config& config);

// One physical cell as ForEachPhysicalCell reports it (hived.md 2.4).
struct PhysicalCellVisit {
  int64_t index = 0;      // construction order over all of physicalCells
  int64_t parent = -1;    // index of the parent cell; -1 for a top cell
  int32_t top = 0;        // index into Config::physical_cells of its tree
  int32_t chain = 0;      // index into DerivedConfig::chains
  int32_t cell_type = 0;  // index into DerivedConfig::cell_types
  int32_t level = 0;
  std::string_view address;  // full "/"-joined address
  int64_t default_number = 0;
  std::string_view node;    // node name at and below node level; else empty
  int32_t leaf_index = -1;  // device index for leaf cells; else -1
  std::string_view pinned_cell_id;         // "" unless pinned
  const PhysicalCellSpec* spec = nullptr;  // nullptr for generated cells
};

// Calls `visit` once per physical cell, in construction order: physicalCells
// list order, depth first, children in order, generated children (absent,
// null or [] cellChildren) included. `derived` must come from
// DeriveConfig(config). The string_views live only during the call.
// O(physical cells); recursion depth <= kMaxCellLevels.
void ForEachPhysicalCell(
    const Config& config, const DerivedConfig& derived,
    const std::function<void(const PhysicalCellVisit&)>& visit);

// A readable, deterministic report for `apiary validate` / `config check`:
// chains with their levels (cell type, leaves per cell, cells), leaves per
// leaf type, node count, and per VC its quota in leaves and as a share of
// each chain it uses, plus what no VC owns. For an invalid config, the
// errors instead.
std::string SummarizeConfig(const Config& config);

}  // namespace apiary::cell
