// The mapper between virtual and physical cells (hived.md 6.5, 7.1 step 2;
// not installed). It reads the trees and never changes them: a mapping is a
// proposal (virtual leaf -> physical leaf, or back) that SchedulerImpl then
// carries out. Unit test: tests/libcell/mapper_test.cc, on hand-built trees.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "types.h"

namespace apiary::cell {

// Reads the trees through CellTrees (types.h).
class Mapper {
 public:
  // hived.md 6.5: maps the virtual placement `vplace` (leaves of one VC) to
  // physical leaves. Step 1 follows binding paths (a bound leaf keeps its
  // cell; an unbound one climbs to its nearest bound ancestor or its
  // preassigned cell); step 2 places each unbound preassigned cell by buddy
  // allocation on copies of the chain's free lists `free_lists` ([level],
  // HiveD's order), splitting the lowest non-empty level at or above it,
  // and, failing that, by the safe relaxed buddy allocation that spends only
  // cells no VC's free quota `vc_free` ([level]) needs; step 3 matches the
  // rest under their bound parents. A candidate is usable when unbound,
  // healthy below node level (bad nodes are avoided) and, unless
  // `ignore_suggested`, on a `suggested` node; candidates are tried in list
  // order, stably sorted by opportunistic use ascending, with HiveD's
  // non-exhaustive backtracking. `chain` kNone (a pinned cell's placement)
  // has no free lists: every preassigned cell must already be bound.
  // On success fills `pplace` (same shape as `vplace`). On failure,
  // `safety_broken` says that no free cell at or above a preassigned cell's
  // level remained (hived.md 5.5). The trees and free lists are unchanged.
  // No allocation in steady state (the working state is kept and reused).
  bool VirtualToPhysical(const CellTrees& trees, ChainId chain,
                         const std::vector<std::vector<CellId>>* free_lists,
                         const std::vector<int32_t>* vc_free, const VirtCells& vplace,
                         const SuggestedSet* suggested, bool ignore_suggested, PhysCells& pplace,
                         bool& safety_broken);

  // hived.md 7.1 step 2: the virtual cell at `level` for physical cell c:
  // its bound one, or walking up to the preassigned level `level` (where the
  // candidates are `vc_cells_by_level[level]`, the VC's preassigned cells)
  // and down again, at each level the first free unbound virtual cell, else
  // the one of strictly lowest priority below `p` (LowestPriorityVirtual).
  // `hint` (a virtual leaf or kNone): the virtual cells to prefer, when free,
  // at each level on the way up (Apiary's persisted virtual placement).
  // kNone with `message` set when there is none.
  static VCellId PhysicalToVirtual(const CellTrees& trees, CellId c,
                                   const std::vector<std::vector<VCellId>>& vc_cells_by_level,
                                   int32_t level, int32_t p, std::string& message,
                                   VCellId hint = kNone);
  // hived.md 7.1 step 2, the choice among virtual cells: the first free
  // unbound one, else the first with the strictly lowest priority below p.
  static VCellId LowestPriorityVirtual(const CellTrees& trees, std::span<const VCellId> cells,
                                       int32_t p);
  // v's ancestor (or v) at `level`, kNone when there is none.
  static VCellId AncestorAt(const CellTrees& trees, VCellId v, int32_t level);

 private:
  // Working state of one mapping attempt. The free lists are copied
  // lazily, level by level, on first write; the per-virtual-cell tables are
  // stamped with an epoch so they need no clearing.
  struct Ctx {
    ChainId chain = kNone;
    const std::vector<std::vector<CellId>>* orig = nullptr;
    std::vector<std::vector<CellId>> copy;
    std::vector<char> copied;
    std::vector<int32_t> vc_free;
    const SuggestedSet* suggested = nullptr;
    bool ignore_suggested = true;

    uint32_t epoch = 0;
    std::vector<uint32_t> children_to_bind_epoch;  // [vcell]: children_to_bind valid
    std::vector<int32_t> children_to_bind_slot;    // [vcell]: index into children_to_bind_pool
    std::vector<std::vector<VCellId>> children_to_bind_pool;
    int32_t children_to_bind_used = 0;
    std::vector<uint32_t> bind_epoch;  // [vcell]: binding valid
    std::vector<CellId> binding;       // [vcell]: physical cell found
    std::vector<uint32_t> collected_epoch;  // [vcell]
    std::vector<VCellId> preassigned_to_place;
    std::vector<std::pair<VCellId, std::vector<VCellId>>> bound_groups;
    int32_t bound_groups_used = 0;

    struct Scratch {
      std::vector<CellId> cand;
      std::vector<size_t> start;
      std::vector<char> taken;
    };
    std::vector<Scratch> match_scratch;              // by recursion depth
    std::vector<std::vector<CellId>> buddy_scratch;  // by level

    const std::vector<CellId>& Get(int32_t l) const { return copied[l] ? copy[l] : (*orig)[l]; }
    std::vector<CellId>& Mut(int32_t l) {
      if (!copied[l]) {
        copy[l] = (*orig)[l];
        copied[l] = 1;
      }
      return copy[l];
    }
    void Bind(VCellId v, CellId p) {
      bind_epoch[v] = epoch;
      binding[v] = p;
    }
    CellId BindingOf(VCellId v) const { return bind_epoch[v] == epoch ? binding[v] : kNone; }
    bool Collected(VCellId v) const { return collected_epoch[v] == epoch; }
    void Collect(VCellId v) { collected_epoch[v] = epoch; }
    std::vector<VCellId>& ChildrenToBind(VCellId v) {
      if (children_to_bind_epoch[v] != epoch) {
        children_to_bind_epoch[v] = epoch;
        if (children_to_bind_used == static_cast<int32_t>(children_to_bind_pool.size()))
          children_to_bind_pool.emplace_back();
        children_to_bind_slot[v] = children_to_bind_used++;
        children_to_bind_pool[children_to_bind_slot[v]].clear();
      }
      return children_to_bind_pool[children_to_bind_slot[v]];
    }
    std::span<const VCellId> FindChildrenToBind(VCellId v) const {
      if (children_to_bind_epoch[v] != epoch) return {};
      return children_to_bind_pool[children_to_bind_slot[v]];
    }
  };

  bool Usable(CellId c) const;
  void UsableSorted(std::span<const CellId> list, std::vector<CellId>& out) const;
  bool Match(std::span<const VCellId> vcells, std::span<const CellId> candidates,
             CellId* picked_first, size_t depth);
  bool BuddyDown(VCellId v, int32_t L, int32_t l);
  bool BuddyAlloc(VCellId v, int32_t L, bool& safety_broken);
  bool RelaxedBuddyAlloc(VCellId v, int32_t L, bool& safety_broken);

  const CellTrees* t_ = nullptr;  // during VirtualToPhysical only
  Ctx ctx_;
};

}  // namespace apiary::cell
