// A scheduler's cell trees, read-only (hived.md 2, 5): how they are laid out,
// the buddy free-list discipline they keep, and TreeView, the view a library
// user or the simulator walks them with (Scheduler::Trees()). Mutable state
// stays behind the Scheduler; nothing here changes it.
//
// Layout. Every physical cell and every virtual cell is numbered densely
// (CellId / VCellId, apiary/cell/ids.h) in build order: physical cells
// chain by chain in configuration order, each cell before its children;
// virtual cells VC by VC in ascending VC name. A cell's children are a
// contiguous range of one children array, so `children` is a span in
// address order. Levels count up from the leaf: level 1 is a leaf cell (a
// GPU of the chain's leaf cell type), the chain's top cell type has level
// `TopLevel(chain)`. A chain is a top-level cell type and the types below
// it; its cell type at each level is `CellTypeAt(chain, level)`. Nodes
// (NodeId) are numbered in configuration order; a cell at or below node
// level has one node, a cell above it spans several (node kNone here).
//
// Buddy free lists (hived.md 5.4). For each (chain, level) a free list holds
// the cells that are free as a whole: unbound to a virtual cell and not
// split, under a split parent (or a top cell). Taking a cell of level l for
// a virtual cell takes the first usable cell of the lowest non-empty level
// at or above l; a larger cell is split, its children joining the list one
// level down (appended, in child order). Giving a cell back merges it with
// its buddies: when every child of a split cell is free again, the children
// leave their list and the parent returns to its own. Lists append at the
// end and remove by moving the last cell into the hole (HiveD's order, which
// decides its tie-breaks), so `FreeList` is in that order, not sorted. Bad
// free cells (hived.md 8) stay in the lists; whether a cell is healthy is
// the cell's own field.
//
// Thread safety and lifetime: a TreeView reads the Scheduler it came from.
// Like the Scheduler's other const calls it may run concurrently with other
// const calls only; the view, and every span and string_view it returns,
// is valid until the next non-const call on that Scheduler.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "apiary/cell/ids.h"

namespace apiary::cell {

class SchedulerImpl;

// What a physical cell is doing (hived.md 5.1, 7.3): free; used by a group;
// reserving: used by a group and reserved by a preempting group that waits
// for it; reserved: held for a preempting group, nobody using it.
enum class CellState : uint8_t { kFree, kUsed, kReserving, kReserved };

struct PhysicalCellView {
  CellId id;
  CellId parent;  // kNone for a top cell
  ChainId chain;
  int32_t level = 0;           // 1 = leaf
  std::string_view cell_type;  // the leaf cell type at level 1
  std::string_view address;  // the path from the top, "/"-separated (as inspect)
  std::span<const CellId> children;  // empty for a leaf
  bool node_level = false;           // the cell is one node
  NodeId node;                       // at or below node level; else kNone
  int32_t leaf_index = -1;           // a leaf's index in its node (bind info)
  bool healthy = true;
  bool split = false;  // its children are in the free lists (or below)
  CellState state = CellState::kFree;
  int32_t priority = 0;  // highest priority using it; kFreePriority when none
  VCellId bound;         // the virtual cell bound to it, if any
  VcId vc;               // VC of the bound virtual cell, else of an opportunistic user
  GroupId group;         // a leaf: the group using it, if any
};

struct VirtualCellView {
  VCellId id;
  VCellId parent;       // kNone for a preassigned (top) cell
  VCellId preassigned;  // the top cell of its tree
  VcId vc;
  ChainId chain;
  int32_t level = 0;
  std::string_view cell_type;
  std::string_view address;
  std::span<const VCellId> children;
  bool node_level = false;
  int32_t priority = 0;  // highest priority using it; kFreePriority when none
  CellId bound;          // the physical cell bound to it, if any
};

class TreeView {
 public:
  // Chains (configuration's top-level cell types), each with its levels.
  int32_t ChainCount() const;
  std::string_view ChainName(ChainId chain) const;
  std::string_view LeafCellType(ChainId chain) const;
  int32_t TopLevel(ChainId chain) const;
  std::string_view CellTypeAt(ChainId chain, int32_t level) const;
  // The chain's free list at `level` (1..TopLevel), in list order.
  std::span<const CellId> FreeList(ChainId chain, int32_t level) const;

  // Physical cells: ids 0..PhysicalCellCount()-1; the top cells in
  // configuration order.
  int32_t PhysicalCellCount() const;
  std::vector<CellId> PhysicalTops() const;
  PhysicalCellView Physical(CellId c) const;

  // Virtual clusters, ascending name, and their cells.
  int32_t VcCount() const;
  std::string_view VcName(VcId vc) const;
  VcId FindVc(std::string_view name) const;  // kNone when unknown
  // A VC's preassigned cells (its virtual trees' tops), by address.
  std::span<const VCellId> VirtualTops(VcId vc) const;
  int32_t VirtualCellCount() const;
  VirtualCellView Virtual(VCellId v) const;

  // Nodes, configuration order.
  int32_t NodeCount() const;
  std::string_view NodeName(NodeId node) const;
  bool NodeHealthy(NodeId node) const;

  // The name of a group a cell names (PhysicalCellView::group).
  std::string_view GroupName(GroupId group) const;

 private:
  friend class Scheduler;
  explicit TreeView(const SchedulerImpl* impl) : impl_(impl) {}
  const SchedulerImpl* impl_;
};

}  // namespace apiary::cell
