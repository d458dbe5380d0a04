// Mapping a virtual placement to physical cells (hived.md 6.5): the
// matching search over candidates, buddy allocation on copies of the free
// lists, and the relaxed buddy allocation.
#include "scheduler_impl.h"

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
bool SchedulerImpl::Usable(CellId c, const MapCtx& ctx) const {
  const PCell& p = pcells_[c];
  if (p.vcell != kNone) return false;
  if (!p.healthy && p.node != kNone) return false;
  if (ctx.ignore_suggested || ctx.suggested == nullptr) return true;
  if (p.node != kNone) return ctx.suggested->count(p.node) > 0;
  for (NodeId n : p.nodes)
    if (ctx.suggested->count(n) > 0) return true;
  return false;
}

// hived.md 6.5 usable(list): the usable cells in list order, stably
// sorted by opportunistic usage ascending.
void SchedulerImpl::UsableSorted(std::span<const CellId> list, const MapCtx& ctx,
                                 std::vector<CellId>& out) const {
  out.clear();
  bool any_opportunistic = false;
  for (CellId c : list) {
    if (!Usable(c, ctx)) continue;
    out.push_back(c);
    any_opportunistic |= pcells_[c].used.At(kOpportunisticPriority) != 0;
  }
  // Usually no candidate holds opportunistic pods and the order stands.
  if (!any_opportunistic) return;
  std::stable_sort(out.begin(), out.end(), [&](CellId a, CellId b) {
    return pcells_[a].used.At(kOpportunisticPriority) <
           pcells_[b].used.At(kOpportunisticPriority);
  });
}

// hived.md 6.5 "Matching": maps vcells onto distinct candidates in order,
// recursing into children, backtracking as HiveD does (non-exhaustive).
bool SchedulerImpl::Match(std::span<const VCellId> vcells,
                          std::span<const CellId> candidates, MapCtx& ctx,
                          CellId* picked_first, size_t depth) {
  const size_t n = vcells.size();
  MapCtx::Scratch& scratch = ctx.match_scratch[depth];
  std::vector<CellId>& cand = scratch.cand;
  UsableSorted(candidates, ctx, cand);
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
      if (pcells_[cand[j]].level == 1) {
        ctx.Bind(vcells[i], cand[j]);
        ok = true;
      } else {
        const PCell& pc = pcells_[cand[j]];
        std::span<const CellId> kids(pchildren_.data() + pc.child_begin,
                                     static_cast<size_t>(pc.child_count));
        ok = Match(ctx.FindChildrenToBind(vcells[i]), kids, ctx, nullptr, depth + 1);
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
bool SchedulerImpl::BuddyDown(VCellId v, int32_t L, int32_t l, MapCtx& ctx) {
  if (l == L) {
    CellId picked = kNone;
    bool ok = Match(std::span<const VCellId>(&v, 1), ctx.Get(L), ctx, &picked, 0);
    if (ok) SwapRemoveValue(ctx.Mut(L), picked);
    return ok;
  }
  std::vector<CellId>& cands = ctx.buddy_scratch[l];
  UsableSorted(ctx.Get(l), ctx, cands);
  for (CellId c : cands) {
    std::vector<CellId>& below = ctx.Mut(l - 1);
    for (int32_t k = 0; k < pcells_[c].child_count; ++k)
      below.push_back(pchildren_[pcells_[c].child_begin + k]);
    if (BuddyDown(v, L, l - 1, ctx)) {
      SwapRemoveValue(ctx.Mut(l), c);
      return true;
    }
    ctx.Mut(l - 1).clear();
  }
  return false;
}

// hived.md 6.5 step 2: buddy allocation for preassigned virtual cell v at
// level L, starting at the lowest non-empty level at or above L.
bool SchedulerImpl::BuddyAlloc(VCellId v, int32_t L, MapCtx& ctx, bool& safety_broken) {
  int32_t top = chains_[ctx.chain].top_level;
  int32_t start = kNone;
  for (int32_t l = L; l <= top; ++l) {
    if (!ctx.Get(l).empty()) {
      start = l;
      break;
    }
  }
  if (start == kNone) {
    safety_broken = true;
    return false;
  }
  return BuddyDown(v, L, start, ctx);
}

// hived.md 6.5 step 2, safe relaxed buddy allocation (when buddy
// allocation fails): takes cells above L that no VC's free quota needs and
// matches v among their level-L descendants.
bool SchedulerImpl::RelaxedBuddyAlloc(VCellId v, int32_t L, MapCtx& ctx,
                                      bool& safety_broken) {
  const Chain& chain = chains_[ctx.chain];
  int32_t top = chain.top_level;
  // Rare path: work on full copies of every level.
  for (int32_t l = 1; l <= top; ++l) ctx.Mut(l);
  auto& free = ctx.copy;
  std::vector<int64_t> splittable(top + 2, 0);
  splittable[top] = static_cast<int64_t>(free[top].size()) - ctx.vc_free[top];
  for (int32_t l = top - 1; l > L; --l) {
    splittable[l] = static_cast<int64_t>(free[l].size()) - ctx.vc_free[l] +
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
        for (int32_t c = 0; c < pcells_[x].child_count; ++c)
          next.push_back(pchildren_[pcells_[x].child_begin + c]);
      s.swap(next);
    }
    s.insert(s.end(), free[L].begin(), free[L].end());
    free[L].swap(s);
    CellId picked = kNone;
    if (Match(std::span<const VCellId>(&v, 1), free[L], ctx, &picked, 0)) {
      SwapRemoveValue(free[L], picked);
      return true;
    }
  }
  return false;
}

// hived.md 6.5: maps the virtual placement to physical cells (binding
// paths, preassigned cells by buddy allocation, the rest by matching).
bool SchedulerImpl::MapVirtualToPhysical(ChainId chain, const VirtCells& vplace,
                                         const SuggestedSet* suggested,
                                         bool ignore_suggested, PhysCells& pplace,
                                         bool& safety_broken) {
  MapCtx& ctx = map_ctx_;
  ctx.chain = chain;
  ctx.suggested = suggested;
  ctx.ignore_suggested = ignore_suggested;
  size_t levels = 1;
  if (chain != kNone) {
    ctx.orig = &free_[chain];
    levels = free_[chain].size();
    ctx.vc_free.assign(all_vc_free_[chain].begin(), all_vc_free_[chain].end());
  } else {
    ctx.orig = nullptr;
    ctx.vc_free.clear();
  }
  if (ctx.copy.size() < levels) ctx.copy.resize(levels);
  ctx.copied.assign(levels, chain == kNone ? 1 : 0);
  if (chain == kNone)
    for (auto& l : ctx.copy) l.clear();
  if (ctx.buddy_scratch.size() < levels) ctx.buddy_scratch.resize(levels);
  size_t max_depth = 2;
  for (const Chain& c : chains_) max_depth = std::max(max_depth, static_cast<size_t>(c.top_level) + 2);
  if (ctx.match_scratch.size() < max_depth) ctx.match_scratch.resize(max_depth);
  if (ctx.bind_epoch.size() < vcells_.size()) {
    ctx.children_to_bind_epoch.resize(vcells_.size(), 0);
    ctx.children_to_bind_slot.resize(vcells_.size(), 0);
    ctx.bind_epoch.resize(vcells_.size(), 0);
    ctx.binding.resize(vcells_.size(), kNone);
    ctx.collected_epoch.resize(vcells_.size(), 0);
  }
  if (++ctx.epoch == 0) {  // wrapped: clear the stamps once
    std::fill(ctx.children_to_bind_epoch.begin(), ctx.children_to_bind_epoch.end(), 0);
    std::fill(ctx.bind_epoch.begin(), ctx.bind_epoch.end(), 0);
    std::fill(ctx.collected_epoch.begin(), ctx.collected_epoch.end(), 0);
    ctx.epoch = 1;
  }
  ctx.children_to_bind_used = 0;
  ctx.bound_groups_used = 0;
  ctx.preassigned_to_place.clear();
  // Step 1: binding paths.
  for (const auto& member : vplace) {
    for (const auto& pod : member) {
      for (VCellId leaf : pod) {
        if (vcells_[leaf].pcell != kNone) {
          ctx.Bind(leaf, vcells_[leaf].pcell);
          continue;
        }
        VCellId c = leaf;
        for (;;) {
          ctx.Collect(c);
          VCellId p = vcells_[c].parent;
          if (p == kNone) {
            ctx.preassigned_to_place.push_back(c);
            break;
          }
          if (vcells_[p].pcell != kNone) {
            int32_t g = 0;
            while (g < ctx.bound_groups_used && ctx.bound_groups[g].first != p) ++g;
            if (g == ctx.bound_groups_used) {
              if (g == static_cast<int32_t>(ctx.bound_groups.size())) ctx.bound_groups.emplace_back();
              ctx.bound_groups[g].first = p;
              ctx.bound_groups[g].second.clear();
              ++ctx.bound_groups_used;
            }
            ctx.bound_groups[g].second.push_back(c);
            break;
          }
          ctx.ChildrenToBind(p).push_back(c);
          if (ctx.Collected(p)) break;
          c = p;
        }
      }
    }
  }
  if (chain == kNone && !ctx.preassigned_to_place.empty()) return false;
  // Step 2: buddy allocation of each unbound preassigned cell.
  for (VCellId v : ctx.preassigned_to_place) {
    int32_t L = vcells_[v].level;
    bool ok = BuddyAlloc(v, L, ctx, safety_broken);
    if (ok) {
      ctx.vc_free[L]--;
    } else {
      if (safety_broken) return false;
      ok = RelaxedBuddyAlloc(v, L, ctx, safety_broken);
      if (!ok) return false;
    }
  }
  // Step 3: cells under an already bound parent.
  for (int32_t g = 0; g < ctx.bound_groups_used; ++g) {
    CellId pp = vcells_[ctx.bound_groups[g].first].pcell;
    std::span<const CellId> kids(pchildren_.data() + pcells_[pp].child_begin,
                                 static_cast<size_t>(pcells_[pp].child_count));
    if (!Match(ctx.bound_groups[g].second, kids, ctx, nullptr, 0)) return false;
  }
  pplace.assign(vplace.size(), {});
  for (size_t m = 0; m < vplace.size(); ++m) {
    pplace[m].resize(vplace[m].size());
    for (size_t s = 0; s < vplace[m].size(); ++s) {
      for (VCellId leaf : vplace[m][s]) {
        CellId p = ctx.BindingOf(leaf);
        if (p == kNone) return false;
        pplace[m][s].push_back(p);
      }
    }
  }
  return true;
}

}  // namespace apiary::cell
