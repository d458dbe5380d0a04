// Quota counters, safety and doomed cells (hived.md 5.5, 8.2): allocating
// and releasing a preassigned cell updates the per-VC and cluster-wide free
// counters at every level and reports when safety is broken; the doomed-cell
// rule binds bad free cells to a VC whose free quota exceeds the healthy
// cells left, and unbinds them again. The two recurse into each other, so
// they live together.
#include "scheduler_impl.h"

namespace apiary::cell {

// hived.md 5.5: the safety invariant totalLeft[l] >= allVcFree[l]; the
// message when it is broken at level l, else "".
std::string SchedulerImpl::SafetyCheck(ChainId ch, int32_t l) const {
  if (total_left_[ch][l] < all_vc_free_[ch][l]) {
    return "Adding pod would lead to broken safety: cell type " +
           chains_[ch].type_at_level[l] + ", " +
           std::to_string(total_left_[ch][l]) + " left, " +
           std::to_string(all_vc_free_[ch][l]) + " free cells in all VCs";
  }
  return "";
}

// hived.md 5.5 and 8.2: allocates preassigned physical cell c to a VC
// (counters, take, the doomed-cell checks along the way); returns the
// broken-safety message, if any.
std::string SchedulerImpl::AllocatePreassigned(CellId c, VcId vc, bool doomed) {
  std::string broken;
  ChainId ch = pcells_[c].chain;
  int32_t level = pcells_[c].level;
  vcs_[vc].chains[ch].vc_free[level]--;
  all_vc_free_[ch][level]--;
  total_left_[ch][level]--;
  int32_t split_up_to = SplitOutOfFreeList(c);
  CellId parent = pcells_[c].parent;
  for (int32_t l = level + 1; l <= split_up_to; ++l) {
    total_left_[ch][l]--;
    std::string r = SafetyCheck(ch, l);
    if (!r.empty()) broken = r;
    if (!pcells_[parent].healthy) {
      BadFreeRemove(parent);
    } else {
      TryBindDoomed(ch, l);
    }
    parent = pcells_[parent].parent;
  }
  if (!pcells_[c].healthy) {
    AllocateBadCell(c);
    if (!doomed) TryUnbindDoomed(ch, level);
  } else {
    TryBindDoomed(ch, level);
  }
  int32_t n = pcells_[c].child_count;
  for (int32_t l = level - 1; l >= 1; --l) {
    total_left_[ch][l] -= n;
    std::string r = SafetyCheck(ch, l);
    if (!r.empty()) broken = r;
    if (!doomed) TryBindDoomed(ch, l);
    n *= chains_[ch].child_number_at_level[l];
  }
  return broken;
}

// hived.md 5.5 and 8.2: the mirror image of AllocatePreassigned (give).
void SchedulerImpl::ReleasePreassigned(CellId c, VcId vc, bool doomed) {
  ChainId ch = pcells_[c].chain;
  int32_t level = pcells_[c].level;
  vcs_[vc].chains[ch].vc_free[level]++;
  all_vc_free_[ch][level]++;
  total_left_[ch][level]++;
  int32_t merge_up_to = MergeIntoFreeList(c);
  CellId parent = pcells_[c].parent;
  for (int32_t l = level + 1; l <= merge_up_to; ++l) {
    total_left_[ch][l]++;
    if (!pcells_[parent].healthy) {
      BadFreeAppend(parent);
    } else {
      TryUnbindDoomed(ch, l);
    }
    parent = pcells_[parent].parent;
  }
  if (!pcells_[c].healthy) {
    ReleaseBadCell(c);
    if (!doomed) TryBindDoomed(ch, level);
  } else {
    TryUnbindDoomed(ch, level);
  }
  int32_t n = pcells_[c].child_count;
  for (int32_t l = level - 1; l >= 1; --l) {
    total_left_[ch][l] += n;
    if (!doomed) TryUnbindDoomed(ch, l);
    n *= chains_[ch].child_number_at_level[l];
  }
}

// hived.md 8.2 bind rule at (ch, l), VCs in ascending name.
//
// The doomed-cell rebinding rule, stated once (other places point here).
// Whenever a VC's free quota at a level exceeds the healthy free cells
// there, the first bad free cell is bound ("doomed") to the VC's first
// unbound preassigned virtual cell, and its bad descendants to the first
// unbound virtual children below. The rule runs inside every release of a
// preassigned cell, so releasing a leaf whose preassigned cell is bad (or
// contains a bad node) can bind that cell again at once -- onto virtual
// cells other than the ones it had, possibly the very virtual leaves the
// caller is about to allocate again (a victim's, a reverted group's, a
// placement's). HiveD then allocates on a virtual leaf bound elsewhere and
// corrupts its bindings. Apiary's answers, where this can happen:
//   - a placement being allocated claims its virtual cells (claim_), and the
//     rule passes over claimed cells while an unclaimed one is left;
//   - a leaf changing hands inside a bad cell is transferred, not released
//     and re-allocated (TransferInBadCell, leaf_allocation.cc);
//   - a victim getting back a leaf whose virtual leaf moved continues lazily
//     preempted at -1 (CancelPreemption, groups.cc), and so does a group whose
//     lazy preemption cannot be reverted (RevertLazyPreempt);
//   - a placement whose virtual leaves the lazy preemption re-bound to bad
//     leaves is a failed mapping (ScheduleGuaranteed), and one that
//     cancelled preemptions broke waits for a fresh placement (Schedule);
//   - recovery releases doomed bindings that stand in a recovered group's way
//     (FreeDoomedBindingFor, recovery_mapping.cc).
void SchedulerImpl::TryBindDoomed(ChainId ch, int32_t l) {
  for (VcId v{0}; v < static_cast<VcId>(vcs_.size()); ++v) {
    ChainVc& cv = vcs_[v].chains[ch];
    if (!cv.has_any) continue;
    while (cv.vc_free[l] > HealthyFreeCount(ch, l)) {
      if (bad_free_[ch][l].empty()) break;
      CellId pc = bad_free_[ch][l][0];
      // The first unbound cell in list order, passing over cells claimed by
      // the placement being allocated while another is left (see claim_).
      VCellId vc = kNone;
      for (VCellId c : cv.preassigned[l]) {
        if (vcells_[c].pcell != kNone) continue;
        if (!Claimed(c)) {
          vc = c;
          break;
        }
        if (vc == kNone) vc = c;
      }
      if (vc == kNone) break;
      pcells_[pc].vcell = vc;
      SetVPcell(vc, pc);
      DoomedAppend(v, pc);
      AllocatePreassigned(pc, v, /*doomed=*/true);
    }
  }
}

// hived.md 8.2 unbind rule at (ch, l), VCs in ascending name.
void SchedulerImpl::TryUnbindDoomed(ChainId ch, int32_t l) {
  for (VcId v{0}; v < static_cast<VcId>(vcs_.size()); ++v) {
    ChainVc& cv = vcs_[v].chains[ch];
    if (!cv.has_any) continue;
    while (!cv.doomed[l].empty() && cv.vc_free[l] < HealthyFreeCount(ch, l)) {
      // The first doomed cell in list order (8.2) -- skipping cells in use:
      // a doomed cell can be used by its VC, and releasing it would put a
      // cell with running pods back into the free list (HiveD does).
      CellId pc = kNone;
      for (CellId d : cv.doomed[l]) {
        if (DoomedUnused(d)) {
          pc = d;
          break;
        }
      }
      if (pc == kNone) break;
      ReleaseDoomed(pc);
    }
  }
}

void SchedulerImpl::ReleaseDoomed(CellId pc) {
  const VcId vc = pcells_[pc].doomed_vc;
  if (VCellId v = pcells_[pc].vcell; v != kNone) SetVPcell(v, kNone);
  pcells_[pc].vcell = kNone;
  DoomedRemove(pc);
  ReleasePreassigned(pc, vc, /*doomed=*/true);
}

}  // namespace apiary::cell
