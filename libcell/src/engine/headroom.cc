// Guarantee headroom (apiary/cell/headroom.h): per VC and chain, a dry run
// of buddy allocation (hived.md 5.4, 6.5) for the VC's cells still to
// place, on a private copy of the chain's healthy free cells. Reads the
// engine's trees and lists only: nothing here writes SchedulerImpl.
#include "headroom.h"

#include "scheduler_impl.h"

namespace apiary::cell {

// A friend of SchedulerImpl (read-only use).
class HeadroomPass {
 public:
  explicit HeadroomPass(const SchedulerImpl& s) : s_(s), taken_(s.pcells_.size(), 0) {}

  // One VC's guarantee in one chain (at_risk left false); `*short_cells`:
  // how many of its cells to place found no healthy cell.
  VcGuarantee Run(VcId vc, ChainId ch, int64_t* short_cells);

  // A dry run of buddy allocation for the cells to place of `vcs` in chain
  // `ch` (in that order, largest level first) on a fresh copy of the
  // chain's free cells; adds the healthy cells they get (or fall back to)
  // per level to `placeable`. Returns how many found no healthy cell.
  int64_t Place(ChainId ch, const std::vector<VcId>& vcs, std::vector<int64_t>& placeable);

  // Whether the VC has a cell to place (unbound, or doomed and unused) in `ch`.
  bool HasCellsToPlace(VcId vc, ChainId ch) const {
    const ChainVc& cv = s_.vcs_[vc].chains[ch];
    for (size_t l = 1; l < cv.preassigned.size(); ++l)
      for (VCellId pre : cv.preassigned[l]) {
        CellId fallback;
        if (Held(pre, &fallback) == kNone) return true;
      }
    return false;
  }

 private:
  CellId Held(VCellId pre, CellId* fallback) const;

  // Free cell c (unbound, unsplit, from the chain's free lists): healthy,
  // it joins the supply at its level; bad, it joins the bad cells of its
  // level and its children are looked at the same way (a bad rack still
  // has healthy nodes, hived.md 8.1).
  void AddFree(CellId c) {
    const PCell& p = s_.pcells_[c];
    if (p.healthy) {
      supply_[p.level].push_back(c);
      return;
    }
    bad_[p.level].push_back(c);
    for (int32_t k = 0; k < p.child_count; ++k) AddFree(s_.pchildren_[p.child_begin + k]);
  }

  // Neither c nor an ancestor was taken as a fallback in this pass (the
  // only cells marked taken: healthy cells leave the supply when taken).
  bool Available(CellId c) const {
    for (; c != kNone; c = s_.pcells_[c].parent)
      if (taken_[c] == epoch_) return false;
    return true;
  }

  // hived.md 6.5 buddy(v, L) on the healthy supply: the lowest level >= L
  // with a cell, split down to L (the other children stay in the supply).
  CellId TakeHealthy(int32_t level) {
    for (int32_t l = level; l < static_cast<int32_t>(supply_.size()); ++l) {
      std::vector<CellId>& list = supply_[l];
      while (!list.empty() && !Available(list.back())) list.pop_back();
      if (list.empty()) continue;
      CellId c = list.back();
      list.pop_back();
      while (s_.pcells_[c].level > level) {
        const PCell& p = s_.pcells_[c];
        for (int32_t k = p.child_count - 1; k >= 1; --k)
          supply_[p.level - 1].push_back(s_.pchildren_[p.child_begin + k]);
        c = s_.pchildren_[p.child_begin];
      }
      return c;
    }
    return kNone;
  }

  // Adds c's healthy cells, per level, to `out`.
  void CountHealthy(CellId c, std::vector<int64_t>& out) const {
    const PCell& p = s_.pcells_[c];
    if (p.healthy) out[p.level]++;
    for (int32_t k = 0; k < p.child_count; ++k) CountHealthy(s_.pchildren_[p.child_begin + k], out);
  }

  int64_t HealthyLeaves(CellId c) const {
    const PCell& p = s_.pcells_[c];
    if (p.healthy) return p.total_leaves;
    int64_t n = 0;
    for (int32_t k = 0; k < p.child_count; ++k) n += HealthyLeaves(s_.pchildren_[p.child_begin + k]);
    return n;
  }

  // The free bad cell of `level` with the most healthy leaves (first in
  // list order among equals) still available; kNone when there is none.
  CellId TakeBestBad(int32_t level) {
    CellId best = kNone;
    int64_t best_leaves = -1;
    for (CellId c : bad_[level]) {
      if (!Available(c)) continue;
      int64_t n = HealthyLeaves(c);
      if (n > best_leaves) {
        best = c;
        best_leaves = n;
      }
    }
    if (best != kNone) taken_[best] = epoch_;
    return best;
  }

  const SchedulerImpl& s_;
  uint32_t epoch_ = 0;
  std::vector<uint32_t> taken_;               // [cell]: == epoch_ when taken as a fallback
  std::vector<std::vector<CellId>> supply_;   // [level]: healthy free cells
  std::vector<std::vector<CellId>> bad_;      // [level]: bad free cells
};

// A preassigned cell's physical cell when it stays where it is (held: in
// use or reserved, or bound and not doomed), kNone when it is to place;
// `fallback` the bad cell an unused doomed cell keeps if no healthy one can
// be had.
CellId HeadroomPass::Held(VCellId pre, CellId* fallback) const {
  *fallback = kNone;
  CellId p = s_.vcells_[pre].pcell;
  if (p == kNone) return kNone;
  if (s_.pcells_[p].doomed_vc != kNone && s_.DoomedUnused(p)) {
    *fallback = p;
    return kNone;
  }
  return p;
}

int64_t HeadroomPass::Place(ChainId ch, const std::vector<VcId>& vcs, std::vector<int64_t>& placeable) {
  ++epoch_;
  const int32_t top = s_.chains_[ch].top_level;
  supply_.assign(top + 1, {});
  bad_.assign(top + 1, {});
  for (int32_t l = 1; l <= top; ++l)
    for (CellId c : s_.free_[ch][l]) AddFree(c);
  int64_t short_cells = 0;
  std::vector<CellId> failed;
  // Largest level first: buddy allocation serves the big cells before their
  // buddies are split for small ones.
  for (int32_t l = top; l >= 1; --l) {
    failed.clear();
    for (VcId vc : vcs) {
      const ChainVc& cv = s_.vcs_[vc].chains[ch];
      if (l >= static_cast<int32_t>(cv.preassigned.size())) continue;
      for (VCellId pre : cv.preassigned[l]) {
        CellId fallback;
        if (Held(pre, &fallback) != kNone) continue;
        CellId c = TakeHealthy(l);
        if (c == kNone) {
          failed.push_back(fallback);
          continue;
        }
        CountHealthy(c, placeable);
        // Its doomed bad cell would be released: what is healthy in it is
        // free for smaller cells.
        if (fallback != kNone) AddFree(fallback);
      }
    }
    short_cells += static_cast<int64_t>(failed.size());
    for (CellId fallback : failed) {
      CellId c = fallback != kNone ? fallback : TakeBestBad(l);
      if (c != kNone) CountHealthy(c, placeable);
    }
  }
  return short_cells;
}

VcGuarantee HeadroomPass::Run(VcId vc, ChainId ch, int64_t* short_cells) {
  const Chain& chain = s_.chains_[ch];
  const Vc& v = s_.vcs_[vc];
  const ChainVc& cv = v.chains[ch];
  const int32_t top = chain.top_level;
  std::vector<int64_t> guaranteed(top + 1, 0), placeable(top + 1, 0);
  for (int32_t l = 1; l <= top; ++l)
    if (l < static_cast<int32_t>(cv.full.size())) guaranteed[l] += static_cast<int64_t>(cv.full[l].size());
  for (const PinnedVc& p : v.pinned) {
    if (s_.pcells_[p.pcell].chain != ch) continue;
    for (size_t l = 1; l < p.full.size(); ++l) guaranteed[l] += static_cast<int64_t>(p.full[l].size());
    CountHealthy(p.pcell, placeable);  // pinned cells never move
  }
  bool to_place = false;
  for (size_t l = 1; l < cv.preassigned.size(); ++l)
    for (VCellId pre : cv.preassigned[l]) {
      CellId fallback;
      if (CellId p = Held(pre, &fallback); p != kNone) {
        CountHealthy(p, placeable);
      } else {
        to_place = true;
      }
    }
  *short_cells = to_place ? Place(ch, {vc}, placeable) : 0;

  VcGuarantee out;
  out.vc = v.name;
  out.chain = chain.name;
  out.broken = top >= 1 && placeable[1] < guaranteed[1];
  for (int32_t l = top; l >= 1; --l) {
    if (out.levels.empty() && guaranteed[l] == 0) continue;
    GuaranteeLevel g;
    g.level = l;
    g.cell_type = l == 1 ? chain.leaf_type : chain.type_at_level[l];
    g.guaranteed = guaranteed[l];
    g.placeable = placeable[l];
    if (l < static_cast<int32_t>(cv.doomed.size())) g.doomed = static_cast<int64_t>(cv.doomed[l].size());
    out.levels.push_back(std::move(g));
  }
  return out;
}


std::vector<VcGuarantee> ComputeGuaranteeHeadroom(const SchedulerImpl& s) {
  HeadroomPass pass(s);
  std::vector<VcGuarantee> out;
  std::vector<int64_t> alone(s.chains_.size(), 0);  // [chain]: cells short, each VC alone
  for (VcId vc{0}; vc < static_cast<VcId>(s.vcs_.size()); ++vc)
    for (ChainId ch{0}; ch < static_cast<ChainId>(s.chains_.size()); ++ch) {
      if (!s.vcs_[vc].chains[ch].has_any) continue;
      int64_t short_cells = 0;
      out.push_back(pass.Run(vc, ch, &short_cells));
      alone[ch] += short_cells;
    }
  // Per chain: the same pass for every VC's cells to place at once (VCs in
  // ascending name, as the doomed rule takes them). Cells short beyond those
  // short for their VC alone are short because VCs compete for the healthy
  // free cells: every VC with cells to place there is at risk.
  std::vector<char> chain_short(s.chains_.size(), 0);
  for (ChainId ch{0}; ch < static_cast<ChainId>(s.chains_.size()); ++ch) {
    std::vector<VcId> vcs;
    for (VcId vc{0}; vc < static_cast<VcId>(s.vcs_.size()); ++vc)
      if (s.vcs_[vc].chains[ch].has_any) vcs.push_back(vc);
    std::vector<int64_t> ignored(s.chains_[ch].top_level + 1, 0);
    chain_short[ch] = pass.Place(ch, vcs, ignored) > alone[ch];
  }
  size_t k = 0;  // `out` holds the (VC, chain) pairs in this order
  for (VcId vc{0}; vc < static_cast<VcId>(s.vcs_.size()); ++vc)
    for (ChainId ch{0}; ch < static_cast<ChainId>(s.chains_.size()); ++ch) {
      if (!s.vcs_[vc].chains[ch].has_any) continue;
      VcGuarantee& g = out[k++];
      g.at_risk = !g.broken && chain_short[ch] && pass.HasCellsToPlace(vc, ch);
    }
  return out;
}

}  // namespace apiary::cell
