// Bad cells (hived.md 8.1): a bad cell stays bound to a virtual cell while
// it is allocated, and the count of healthy cells per level that the doomed
// rule (quota.cc) compares a VC's free quota with.
#include "scheduler_impl.h"

namespace apiary::cell {

VCellId SchedulerImpl::FirstUnboundChild(VCellId v) const {
  if (v == kNone) return kNone;
  VCellId first = kNone;
  for (int32_t k = 0; k < vcells_[v].child_count; ++k) {
    VCellId c = vchildren_[vcells_[v].child_begin + k];
    if (vcells_[c].pcell != kNone) continue;
    if (!Claimed(c)) return c;
    if (first == kNone) first = c;
  }
  return first;
}

// hived.md 8.1: binds bad cell c to the first unbound virtual child of its
// parent's virtual cell, so the VC sees the failure.
void SchedulerImpl::BindBadToParentVirtual(CellId c) {
  CellId p = pcells_[c].parent;
  if (p == kNone) return;
  VCellId v = FirstUnboundChild(pcells_[p].vcell);
  if (v == kNone) return;  // cannot happen on consistent state
  pcells_[c].vcell = v;
  SetVPcell(v, c);
}

// hived.md 8.2 (allocation at level L, step 2): c and its bad descendants
// leave badFree and get bound to virtual cells.
void SchedulerImpl::AllocateBadCell(CellId c) {
  if (pcells_[c].bad_free_pos != kNone) BadFreeRemove(c);
  if (pcells_[c].vcell == kNone) BindBadToParentVirtual(c);
  for (int32_t k = 0; k < pcells_[c].child_count; ++k) {
    CellId ch = pchildren_[pcells_[c].child_begin + k];
    if (!pcells_[ch].healthy) AllocateBadCell(ch);
  }
}

// hived.md 8.2 (release, mirror image): c and its bad descendants re-enter
// badFree and are unbound.
void SchedulerImpl::ReleaseBadCell(CellId c) {
  BadFreeAppend(c);
  if (VCellId v = pcells_[c].vcell; v != kNone) {
    pcells_[c].vcell = kNone;
    SetVPcell(v, kNone);
  }
  for (int32_t k = 0; k < pcells_[c].child_count; ++k) {
    CellId ch = pchildren_[pcells_[c].child_begin + k];
    if (!pcells_[ch].healthy) ReleaseBadCell(ch);
  }
}

// hived.md 8.2: healthy(l) = totalLeft[l] - |badFree[l]|, the healthy
// free cells at (chain, level) a VC could still be given.
int32_t SchedulerImpl::HealthyFreeCount(ChainId ch, int32_t l) const {
  return total_left_[ch][l] - static_cast<int32_t>(bad_free_[ch][l].size());
}

}  // namespace apiary::cell
