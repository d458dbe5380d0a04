// A topology-aware scheduler's node array (hived.md 6.3): its entries, the
// node order and the two ways of re-sorting it (not installed). The entries'
// values are computed by SchedulerImpl (engine/node_array.cc), which reads
// the cells; this class only orders them.
#pragma once

#include <array>
#include <cstdint>
#include <utility>
#include <vector>

#include "ids.h"

namespace apiary::cell {

// One entry (a node) of a NodeArray: the sort keys of hived.md 6.3 and the
// snapshot they are computed from.
struct NodeArrayEntry {
  int32_t cell = kNone;  // VCellId or CellId
  int32_t ord = 0;       // fixed index of this node (NodeArray::pos, NodeArray::dirty)
  int32_t free_at_priority = 0;
  int32_t used_same = 0;
  int32_t used_higher = 0;
  bool healthy = true;
  bool suggested = true;

  // A snapshot of what the values above are computed from, taken when the
  // cell's version (PCell::version / VCell::version) changed, so that a
  // refresh reads this array only instead of every node's cells.
  static constexpr uint8_t kManyPriorities = 0xFF;
  uint32_t seen_version = UINT32_MAX;
  int32_t total = 0;
  CellId phys = kNone;  // the physical cell (bound one, for virtual nodes)
  NodeId first_node = kNone;
  bool phys_healthy = true;
  uint8_t used_count = 0;  // entries in `used`, or kManyPriorities
  std::array<std::pair<int32_t, int32_t>, 3> used{};  // (priority, leaves > 0)
};

// The node order of 6.3: healthy, suggested, then most used at the
// priority (packing), then least used above it.
inline bool NodeOrderLess(const NodeArrayEntry& a, const NodeArrayEntry& b) {
  if (a.healthy != b.healthy) return a.healthy;
  if (a.suggested != b.suggested) return a.suggested;
  if (a.used_same != b.used_same) return a.used_same > b.used_same;
  return a.used_higher < b.used_higher;
}

// A topology-aware scheduler's persistent node array (hived.md 6.3).
struct NodeArray {
  bool is_virtual = true;
  bool cross_priority_pack = true;
  ChainId chain = kNone;
  std::vector<NodeArrayEntry> nodes;

  // Incremental refresh (SchedulerImpl::RefreshNodeArray). While `sorted_valid`,
  // `nodes` holds the values and the order of the last refresh, made for
  // priority `sorted_p` and suggested-node mode `sorted_mode`, except for the
  // nodes listed in `dirty` (by ord, each once: `dirty_flag`) whose cells
  // changed since. A refresh for the same priority and mode then recomputes
  // and moves only those. `pos[ord]` is a node's index in `nodes`, kept only
  // while `pos_valid` (incremental refreshes; a full one drops it).
  bool sorted_valid = false;
  int32_t sorted_p = 0;
  int8_t sorted_mode = 0;
  bool pos_valid = false;
  std::vector<int32_t> dirty;
  std::vector<uint8_t> dirty_flag;
  std::vector<int32_t> pos;

  // Scratch of Reposition: the scheduler's own, reused by decisions;
  // CheckInvariants (const, may run concurrently with other const calls)
  // brings a local one.
  struct Move {
    int32_t q = 0;     // non-dirty nodes before it in the new order
    int32_t prev = 0;  // its index before the refresh
    NodeArrayEntry node;
  };
  struct Scratch {
    std::vector<int32_t> prev;
    std::vector<Move> moves;
    std::vector<NodeArrayEntry> range;
  };

  // The full pass: sorts `nodes` stably by NodeOrderLess (their values must
  // be current), in place.
  void SortStable();
  // The incremental pass, step 1: moves the dirty nodes' indices in `nodes`
  // to `prev` (ascending) and clears the dirty list. The caller then brings
  // those nodes' values up to date.
  void TakeDirty(std::vector<int32_t>& prev);
  // Step 2: puts the nodes at scratch.prev (from TakeDirty, values now
  // current) where SortStable would, touching only the range they move
  // across. Every other node must be clean and in order.
  void Reposition(Scratch& scratch);
};

}  // namespace apiary::cell
