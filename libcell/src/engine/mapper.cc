// The Mapper (mapper.h). Virtual to physical (hived.md 6.5): the matching
// search over candidates, buddy allocation on copies of the free lists,
// and the relaxed buddy allocation. Physical to virtual (7.1 step 2): the
// walk up to the preassigned level and down again.
#include "mapper.h"

#include <algorithm>

namespace apiary::cell {

namespace {

template <typename T>
void SwapRemoveValue(std::vector<T>& v, const T& x) {
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] == x) {
      v[i] = v.back();
      v.pop_back();
      return;
    }
  }
}

}  // namespace

// hived.md 6.5 "Usable candidates": unbound, healthy (or above node
// level), and suggested when suggestions count.
bool Mapper::Usable(CellId c) const {
  const PCell& p = t_->pcells[c];
  if (p.vcell != kNone) return false;
  if (!p.healthy && p.node != kNone) return false;
  if (ctx_.ignore_suggested || ctx_.suggested == nullptr) return true;
  if (p.node != kNone) return ctx_.suggested->count(p.node) > 0;
  for (NodeId n : p.nodes)
    if (ctx_.suggested->count(n) > 0) return true;
  return false;
}

// hived.md 6.5 usable(list): the usable cells in list order, stably
// sorted by opportunistic usage ascending.
void Mapper::UsableSorted(std::span<const CellId> list,
                                 std::vector<CellId>& out) const {
  out.clear();
  bool any_opportunistic = false;
  for (CellId c : list) {
    if (!Usable(c)) continue;
    out.push_back(c);
    any_opportunistic |= t_->pcells[c].used.At(kOpportunisticPriority) != 0;
  }
  // Usually no candidate holds opportunistic pods and the order stands.
  if (!any_opportunistic) return;
  std::stable_sort(out.begin(), out.end(), [&](CellId a, CellId b) {
    return t_->pcells[a].used.At(kOpportunisticPriority) <
           t_->pcells[b].used.At(kOpportunisticPriority);
  });
}

// hived.md 6.5 "Matching": maps vcells onto distinct candidates in order,
// recursing into children, backtracking as HiveD does (non-exhaustive).
bool Mapper::Match(std::span<const VCellId> vcells,
                          std::span<const CellId> candidates,
                          CellId* picked_first, size_t depth) {
  const size_t n = vcells.size();
  Ctx::Scratch& scratch = ctx_.match_scratch[depth];
  std::vector<CellId>& cand = scratch.cand;
  UsableSorted(candidates, cand);
  if (cand.size() < n || n == 0) return false;
  std::vector<size_t>& start = scratch.start;
  std::vector<char>& taken = scratch.taken;
  start.assign(n, 0);
  taken.assign(cand.size(), 0);
  int64_t i = 0;
  while (i >= 0) {
    bool found = false;
    for (size_t j = start[i]; j < cand.size(); ++j) {
      if (taken[j]) continue;
      bool ok;
      if (t_->pcells[cand[j]].level == 1) {
        ctx_.Bind(vcells[i], cand[j]);
        ok = true;
      } else {
        const PCell& pc = t_->pcells[cand[j]];
        std::span<const CellId> kids(t_->pchildren.data() + pc.child_begin,
                                     static_cast<size_t>(pc.child_count));
        ok = Match(ctx_.FindChildrenToBind(vcells[i]), kids, nullptr, depth + 1);
      }
      if (ok) {
        start[i] = j;
        taken[j] = 1;
        found = true;
        break;
      }
    }
    if (found) {
      if (i == static_cast<int64_t>(n) - 1) {
        if (picked_first) *picked_first = cand[start[0]];
        return true;
      }
      ++i;
    } else {
      --i;
      if (i >= 0) {
        taken[start[i]] = 0;
        start[i]++;
      }
    }
  }
  return false;
}

// hived.md 6.5 step 2: buddy allocation from level l down to L on the
// working copies of the free lists.
bool Mapper::BuddyDown(VCellId v, int32_t L, int32_t l) {
  if (l == L) {
    CellId picked = kNone;
    bool ok = Match(std::span<const VCellId>(&v, 1), ctx_.Get(L), &picked, 0);
    if (ok) SwapRemoveValue(ctx_.Mut(L), picked);
    return ok;
  }
  std::vector<CellId>& cands = ctx_.buddy_scratch[l];
  UsableSorted(ctx_.Get(l), cands);
  for (CellId c : cands) {
    std::vector<CellId>& below = ctx_.Mut(l - 1);
    for (int32_t k = 0; k < t_->pcells[c].child_count; ++k)
      below.push_back(t_->pchildren[t_->pcells[c].child_begin + k]);
    if (BuddyDown(v, L, l - 1)) {
      SwapRemoveValue(ctx_.Mut(l), c);
      return true;
    }
    ctx_.Mut(l - 1).clear();
  }
  return false;
}

// hived.md 6.5 step 2: buddy allocation for preassigned virtual cell v at
// level L, starting at the lowest non-empty level at or above L.
bool Mapper::BuddyAlloc(VCellId v, int32_t L, bool& safety_broken) {
  int32_t top = t_->chains[ctx_.chain].top_level;
  int32_t start = kNone;
  for (int32_t l = L; l <= top; ++l) {
    if (!ctx_.Get(l).empty()) {
      start = l;
      break;
    }
  }
  if (start == kNone) {
    safety_broken = true;
    return false;
  }
  return BuddyDown(v, L, start);
}

// hived.md 6.5 step 2, safe relaxed buddy allocation (when buddy
// allocation fails): takes cells above L that no VC's free quota needs and
// matches v among their level-L descendants.
bool Mapper::RelaxedBuddyAlloc(VCellId v, int32_t L,
                                      bool& safety_broken) {
  const Chain& chain = t_->chains[ctx_.chain];
  int32_t top = chain.top_level;
  // Rare path: work on full copies of every level.
  for (int32_t l = 1; l <= top; ++l) ctx_.Mut(l);
  auto& free = ctx_.copy;
  std::vector<int64_t> splittable(top + 2, 0);
  splittable[top] = static_cast<int64_t>(free[top].size()) - ctx_.vc_free[top];
  for (int32_t l = top - 1; l > L; --l) {
    splittable[l] = static_cast<int64_t>(free[l].size()) - ctx_.vc_free[l] +
                    splittable[l + 1] * chain.child_number_at_level[l + 1];
  }
  for (int32_t l = top; l > L; --l) {
    if (splittable[l] < 0) {
      safety_broken = true;
      return false;
    }
  }
  for (int32_t l = L + 1; l <= top; ++l) {
    int64_t k = std::min<int64_t>(static_cast<int64_t>(free[l].size()), splittable[l]);
    if (k <= 0) continue;
    std::vector<CellId> s;
    for (int64_t i = 0; i < k; ++i) {
      CellId x = free[l][0];
      free[l][0] = free[l].back();
      free[l].pop_back();
      s.push_back(x);
    }
    for (int32_t lev = l; lev > L; --lev) {
      std::vector<CellId> next;
      for (CellId x : s)
        for (int32_t c = 0; c < t_->pcells[x].child_count; ++c)
          next.push_back(t_->pchildren[t_->pcells[x].child_begin + c]);
      s.swap(next);
    }
    s.insert(s.end(), free[L].begin(), free[L].end());
    free[L].swap(s);
    CellId picked = kNone;
    if (Match(std::span<const VCellId>(&v, 1), free[L], &picked, 0)) {
      SwapRemoveValue(free[L], picked);
      return true;
    }
  }
  return false;
}

// hived.md 6.5: maps the virtual placement to physical cells (binding
// paths, preassigned cells by buddy allocation, the rest by matching).
bool Mapper::VirtualToPhysical(const CellTrees& trees, ChainId chain,
                               const std::vector<std::vector<CellId>>* free_lists,
                               const std::vector<int32_t>* vc_free, const VirtCells& vplace,
                               const SuggestedSet* suggested, bool ignore_suggested,
                               PhysCells& pplace, bool& safety_broken) {
  t_ = &trees;
  struct Reading {  // the trees are read during this call only
    Mapper* m;
    ~Reading() { m->t_ = nullptr; }
  } reading{this};
  ctx_.chain = chain;
  ctx_.suggested = suggested;
  ctx_.ignore_suggested = ignore_suggested;
  size_t levels = 1;
  if (chain != kNone) {
    ctx_.orig = free_lists;
    levels = free_lists->size();
    ctx_.vc_free.assign(vc_free->begin(), vc_free->end());
  } else {
    ctx_.orig = nullptr;
    ctx_.vc_free.clear();
  }
  if (ctx_.copy.size() < levels) ctx_.copy.resize(levels);
  ctx_.copied.assign(levels, chain == kNone ? 1 : 0);
  if (chain == kNone)
    for (auto& l : ctx_.copy) l.clear();
  if (ctx_.buddy_scratch.size() < levels) ctx_.buddy_scratch.resize(levels);
  size_t max_depth = 2;
  for (const Chain& c : t_->chains) max_depth = std::max(max_depth, static_cast<size_t>(c.top_level) + 2);
  if (ctx_.match_scratch.size() < max_depth) ctx_.match_scratch.resize(max_depth);
  if (ctx_.bind_epoch.size() < t_->vcells.size()) {
    ctx_.children_to_bind_epoch.resize(t_->vcells.size(), 0);
    ctx_.children_to_bind_slot.resize(t_->vcells.size(), 0);
    ctx_.bind_epoch.resize(t_->vcells.size(), 0);
    ctx_.binding.resize(t_->vcells.size(), kNone);
    ctx_.collected_epoch.resize(t_->vcells.size(), 0);
  }
  if (++ctx_.epoch == 0) {  // wrapped: clear the stamps once
    std::fill(ctx_.children_to_bind_epoch.begin(), ctx_.children_to_bind_epoch.end(), 0);
    std::fill(ctx_.bind_epoch.begin(), ctx_.bind_epoch.end(), 0);
    std::fill(ctx_.collected_epoch.begin(), ctx_.collected_epoch.end(), 0);
    ctx_.epoch = 1;
  }
  ctx_.children_to_bind_used = 0;
  ctx_.bound_groups_used = 0;
  ctx_.preassigned_to_place.clear();
  // Step 1: binding paths.
  for (const auto& member : vplace) {
    for (const auto& pod : member) {
      for (VCellId leaf : pod) {
        if (t_->vcells[leaf].pcell != kNone) {
          ctx_.Bind(leaf, t_->vcells[leaf].pcell);
          continue;
        }
        VCellId c = leaf;
        for (;;) {
          ctx_.Collect(c);
          VCellId p = t_->vcells[c].parent;
          if (p == kNone) {
            ctx_.preassigned_to_place.push_back(c);
            break;
          }
          if (t_->vcells[p].pcell != kNone) {
            int32_t g = 0;
            while (g < ctx_.bound_groups_used && ctx_.bound_groups[g].first != p) ++g;
            if (g == ctx_.bound_groups_used) {
              if (g == static_cast<int32_t>(ctx_.bound_groups.size())) ctx_.bound_groups.emplace_back();
              ctx_.bound_groups[g].first = p;
              ctx_.bound_groups[g].second.clear();
              ++ctx_.bound_groups_used;
            }
            ctx_.bound_groups[g].second.push_back(c);
            break;
          }
          ctx_.ChildrenToBind(p).push_back(c);
          if (ctx_.Collected(p)) break;
          c = p;
        }
      }
    }
  }
  if (chain == kNone && !ctx_.preassigned_to_place.empty()) return false;
  // Step 2: buddy allocation of each unbound preassigned cell.
  for (VCellId v : ctx_.preassigned_to_place) {
    int32_t L = t_->vcells[v].level;
    bool ok = BuddyAlloc(v, L, safety_broken);
    if (ok) {
      ctx_.vc_free[L]--;
    } else {
      if (safety_broken) return false;
      ok = RelaxedBuddyAlloc(v, L, safety_broken);
      if (!ok) return false;
    }
  }
  // Step 3: cells under an already bound parent.
  for (int32_t g = 0; g < ctx_.bound_groups_used; ++g) {
    CellId pp = t_->vcells[ctx_.bound_groups[g].first].pcell;
    std::span<const CellId> kids(t_->pchildren.data() + t_->pcells[pp].child_begin,
                                 static_cast<size_t>(t_->pcells[pp].child_count));
    if (!Match(ctx_.bound_groups[g].second, kids, nullptr, 0)) return false;
  }
  pplace.assign(vplace.size(), {});
  for (size_t m = 0; m < vplace.size(); ++m) {
    pplace[m].resize(vplace[m].size());
    for (size_t s = 0; s < vplace[m].size(); ++s) {
      for (VCellId leaf : vplace[m][s]) {
        CellId p = ctx_.BindingOf(leaf);
        if (p == kNone) return false;
        pplace[m][s].push_back(p);
      }
    }
  }
  return true;
}

VCellId Mapper::LowestPriorityVirtual(const CellTrees& t, std::span<const VCellId> cells,
                                      int32_t p) {
  VCellId best = kNone;
  int32_t best_p = p;
  for (VCellId c : cells) {
    const VCell& v = t.vcells[c];
    if (v.priority == kFreePriority) {
      if (v.pcell == kNone) return c;
      continue;
    }
    if (v.priority < best_p) {
      best = c;
      best_p = v.priority;
    }
  }
  return best;
}

VCellId Mapper::AncestorAt(const CellTrees& t, VCellId v, int32_t level) {
  while (v != kNone && t.vcells[v].level < level) v = t.vcells[v].parent;
  return v != kNone && t.vcells[v].level == level ? v : kNone;
}

VCellId Mapper::PhysicalToVirtual(const CellTrees& t, CellId c,
                                  const std::vector<std::vector<VCellId>>& vc_cells_by_level,
                                  int32_t level, int32_t p, std::string& message, VCellId hint) {
  const PCell& pc = t.pcells[c];
  if (pc.vcell != kNone) return pc.vcell;
  auto free_unbound = [&](VCellId v) {
    return v != kNone && t.vcells[v].priority == kFreePriority && t.vcells[v].pcell == kNone;
  };
  if (pc.level == level) {
    // Apiary: the physical cell must be free to become this preassigned
    // cell's image. HiveD does not check and, when the cell is split by other
    // preassigned (e.g. doomed) cells or lies inside another bound cell,
    // takes it out of a free list it is not in and corrupts its counters.
    // Failing here lazily preempts the group instead (7.1 step 2).
    if (!t.InFreeCellList(c)) {
      message = "physical cell " + pc.address + " is not free at the preassigned level (" +
                std::to_string(level) + ")";
      return kNone;
    }
    std::span<const VCellId> list;
    if (level < static_cast<int32_t>(vc_cells_by_level.size())) list = vc_cells_by_level[level];
    VCellId want = AncestorAt(t, hint, level);
    if (free_unbound(want) && std::find(list.begin(), list.end(), want) != list.end())
      return want;
    VCellId v = LowestPriorityVirtual(t, list, p);
    if (v == kNone)
      message = "insufficient free cell in the VC at the preassigned level (" +
                std::to_string(level) + ")";
    return v;
  }
  if (pc.parent == kNone) {
    message = "physical and virtual cell hierarchies not match (cannot reach the "
              "preassigned level " + std::to_string(level) + " in physical)";
    return kNone;
  }
  VCellId pv = PhysicalToVirtual(t, pc.parent, vc_cells_by_level, level, p, message, hint);
  if (pv == kNone) return kNone;
  VCellId want = AncestorAt(t, hint, pc.level);
  if (free_unbound(want) && t.vcells[want].parent == pv) return want;
  VCellId v = LowestPriorityVirtual(t, t.Children(pv), p);
  if (v == kNone) message = "no suitable virtual child cell of " + t.vcells[pv].address;
  return v;
}

}  // namespace apiary::cell
