// Internal state of the scheduler (not installed). See scheduler.h for the
// contract and hived.md for the semantics every function here reproduces.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "apiary/cell/scheduler.h"
#include "ids.h"
#include "node_array.h"

namespace apiary::cell {


// The nodes kube-scheduler suggested, as a bitmap by node id. Reused across
// calls, so building it does not allocate in steady state.
class SuggestedSet {
 public:
  void Reset(size_t nodes) { bits_.assign(nodes, 0); }
  void Insert(NodeId n) { bits_[n] = 1; }
  size_t count(NodeId n) const {
    return n >= 0 && static_cast<size_t>(n) < bits_.size() && bits_[n] ? 1 : 0;
  }

 private:
  std::vector<char> bits_;
};
// A group's cells: [member (leaf count ascending)][slot][leaf].
template <typename IdT>
using GroupCellsOf = std::vector<std::vector<std::vector<IdT>>>;
using PhysCells = GroupCellsOf<CellId>;
using VirtCells = GroupCellsOf<VCellId>;

template <typename IdT, typename F>
void ForEachLeaf(const GroupCellsOf<IdT>& cells, F&& f) {
  for (size_t m = 0; m < cells.size(); ++m)
    for (size_t s = 0; s < cells[m].size(); ++s)
      for (size_t i = 0; i < cells[m][s].size(); ++i) f(m, s, i, cells[m][s][i]);
}

// CellState: apiary/cell/cell_tree.h (public, for TreeView).

// Leaves in use below a cell, per priority. Few distinct priorities occur, so
// a small vector of (priority, leaves) in order of first use (not sorted)
// beats a map; it never shrinks its capacity, so steady state churn does not
// allocate.
class UsedLeaves {
 public:
  void Add(int32_t priority, int32_t delta) {
    for (auto& e : entries_) {
      if (e.first == priority) {
        e.second += delta;
        return;
      }
    }
    entries_.emplace_back(priority, delta);
  }
  int32_t At(int32_t p) const {
    for (const auto& e : entries_)
      if (e.first == p) return e.second;
    return 0;
  }
  int32_t Total() const {
    int32_t s = 0;
    for (const auto& e : entries_) s += e.second;
    return s;
  }
  int32_t AtOrAbove(int32_t p) const {
    int32_t s = 0;
    for (const auto& e : entries_)
      if (e.first >= p) s += e.second;
    return s;
  }
  int32_t Above(int32_t p) const {
    int32_t s = 0;
    for (const auto& e : entries_)
      if (e.first > p) s += e.second;
    return s;
  }
  const std::vector<std::pair<int32_t, int32_t>>& entries() const { return entries_; }

 private:
  std::vector<std::pair<int32_t, int32_t>> entries_;
};

struct PCell {
  ChainId chain = kNone;
  int32_t level = 0;
  CellId parent = kNone;
  int32_t child_begin = 0;  // into SchedulerImpl::pchildren_
  int32_t child_count = 0;
  bool at_or_above_node = false;
  bool node_level = false;  // effective node level
  bool healthy = true;
  bool split = false;
  bool pinned = false;
  CellState state = CellState::kFree;
  int32_t priority = kFreePriority;
  int32_t total_leaves = 1;
  int32_t free_pos = kNone;      // position in free_[chain][level]
  int32_t bad_free_pos = kNone;  // position in bad_free_[chain][level]
  int32_t doomed_pos = kNone;    // position in its VC's doomed list
  VcId doomed_vc = kNone;
  VCellId vcell = kNone;  // bound virtual cell
  GroupId using_group = kNone;
  GroupId reserving_group = kNone;
  VcId opp_vc = kNone;  // VC of the opportunistic user (leaves)
  NodeId node = kNone;  // node-level and below
  int32_t leaf_index = -1;
  // Change counter (bumped on usage, binding and health changes; NodeArrayEntry
  // snapshots), and for a node of a topology-aware node array its NodeArray and
  // ord there (fixed once built). Next to `used`, which every bump touches.
  uint32_t version = 0;
  int32_t node_array = kNone;
  int32_t node_array_ord = kNone;
  UsedLeaves used;
  std::string address;
  std::vector<NodeId> nodes;  // multi-node cells: every node below
};

struct VCell {
  VcId vc = kNone;
  ChainId chain = kNone;
  int32_t level = 0;
  VCellId parent = kNone;
  int32_t child_begin = 0;  // into SchedulerImpl::vchildren_
  int32_t child_count = 0;
  bool at_or_above_node = false;
  bool node_level = false;
  int32_t priority = kFreePriority;
  int32_t total_leaves = 1;
  VCellId preassigned = kNone;  // top ancestor
  CellId pcell = kNone;         // bound physical cell
  int32_t pinned_index = kNone; // index into Vc::pinned when in a pinned tree
  uint32_t version = 0;          // as PCell's
  int32_t node_array = kNone;
  int32_t node_array_ord = kNone;
  UsedLeaves used;
  std::string address;
};

struct Chain {
  std::string name;  // the top cell type
  std::string leaf_type;
  int32_t top_level = 0;
  std::vector<std::string> type_at_level;     // [level], index 0 unused
  std::vector<int32_t> child_number_at_level; // [level]: children per cell
  std::vector<int32_t> leaves_at_level;       // [level]: leaves per cell
  std::vector<char> at_or_above_node_at_level;  // [level]
  std::vector<char> node_level_at_level;        // [level]: effective node level
  std::vector<std::vector<CellId>> full;      // [level], construction order
  std::vector<CellId> tops;
};

struct ChainVc {
  bool has_nonpinned = false;
  bool has_any = false;  // non-pinned or pinned cells in this chain
  std::vector<std::vector<VCellId>> full;         // [level], non-pinned
  std::vector<std::vector<VCellId>> preassigned;  // [level], non-pinned
  std::vector<int32_t> vc_free;                   // [level]
  std::vector<std::vector<CellId>> doomed;        // [level]
  int32_t node_array = kNone;                     // index into SchedulerImpl::node_arrays_
};

struct PinnedVc {
  std::string id;
  CellId pcell = kNone;
  VCellId vtop = kNone;
  std::vector<std::vector<VCellId>> full;  // [level] of the pinned tree
  int32_t node_array = kNone;
};

struct Vc {
  std::string name;
  std::vector<ChainVc> chains;  // [chain]
  std::vector<PinnedVc> pinned;
  std::vector<VCellId> status_cells;  // preassigned cells, address order
  std::vector<CellId> opp_cells;      // leaves of opportunistic use, in order
};

enum class GroupState : uint8_t { kAllocated, kPreempting, kBeingPreempted };

struct GroupMember {
  int32_t leaf_count = 0;
  int32_t pod_number = 0;
  std::vector<std::optional<PodRef>> pods;  // slots
  std::vector<std::string> pod_nodes;       // node of each allocated pod
  std::vector<std::vector<CellId>> phys;    // [slot][i], kNone = missing
  std::vector<std::vector<VCellId>> virt;   // [slot][i], kNone = none
};

struct Group {
  bool live = false;
  std::string name;
  VcId vc = kNone;
  std::string vc_name;
  int32_t priority = 0;
  bool lazy_enable = false;
  bool ignore_suggested = true;
  std::string pinned_id;
  GroupState state = GroupState::kAllocated;
  std::vector<GroupMember> members;  // leaf count ascending
  bool has_virtual = false;
  std::vector<PodRef> preempting_pods;
  std::optional<LazyPreemptionMark> lazy;
  bool lazy_pending_check = false;  // restored mark awaiting FinishRecovery
  PodBindInfo original_bind_info;   // for leaves missing after reconfig

  // The whole group's bind info, built once and reused by every later pod of
  // the group while the placement it was built from (the fingerprint) stands.
  struct BindCache {
    bool valid = false;
    std::vector<int32_t> fingerprint;
    PodBindInfo info;
    std::vector<MemberPlacement> group_placement;
  };
  BindCache bind_cache;

  int32_t MemberOf(int32_t leaf_count) const;
};

struct PodLocation {
  GroupId group = kNone;
  int32_t member = 0;
  int32_t slot = 0;
};

// Read-only references to the cell trees SchedulerImpl owns (what the Mapper,
// engine/mapper.h, and TreeView read). Cheap to make: make one per use rather
// than keep one, so that a copy of the owner never reads another's trees.
struct CellTrees {
  const IdVector<CellIdTag, PCell>& pcells;
  const std::vector<CellId>& pchildren;
  const IdVector<VCellIdTag, VCell>& vcells;
  const std::vector<VCellId>& vchildren;
  const IdVector<ChainIdTag, Chain>& chains;

  std::span<const CellId> Children(CellId c) const {
    return {pchildren.data() + pcells[c].child_begin, static_cast<size_t>(pcells[c].child_count)};
  }
  std::span<const VCellId> Children(VCellId v) const {
    return {vchildren.data() + vcells[v].child_begin, static_cast<size_t>(vcells[v].child_count)};
  }
  // hived.md 5.4, 8.1: c is in a free list: it and its ancestors up to the
  // nearest split one (or the root) are unbound and unsplit.
  bool InFreeCellList(CellId c) const {
    for (;;) {
      const PCell& p = pcells[c];
      if (p.vcell != kNone || p.split) return false;
      if (p.parent == kNone || pcells[p.parent].split) return true;
      c = p.parent;
    }
  }
};

}  // namespace apiary::cell
