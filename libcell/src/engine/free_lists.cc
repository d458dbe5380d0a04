// Free cell lists and buddy split/merge (hived.md 5.4): the free, bad-free
// and doomed lists, and splitting a free cell down to a level (and merging
// buddies back up) as cells are taken and given back.
#include "scheduler_impl.h"

namespace apiary::cell {

// Every cell list of 5.4 (free lists, bad-free lists, doomed lists) appends
// at the end and removes by moving the last element into the hole; each cell
// remembers its position in the one list of each kind it can be in.
void SchedulerImpl::ListAppend(std::vector<CellId>& list, int32_t PCell::*pos, CellId c) {
  pcells_[c].*pos = static_cast<int32_t>(list.size());
  list.push_back(c);
}

// hived.md 5.4: swap-remove (the last element moves into the hole).
void SchedulerImpl::ListRemove(std::vector<CellId>& list, int32_t PCell::*pos, CellId c) {
  int32_t at = pcells_[c].*pos;
  if (at == kNone) return;
  CellId last = list.back();
  list[at] = last;
  pcells_[last].*pos = at;
  list.pop_back();
  pcells_[c].*pos = kNone;
}

void SchedulerImpl::FreeAppend(CellId c) {
  ListAppend(free_[pcells_[c].chain][pcells_[c].level], &PCell::free_pos, c);
}

void SchedulerImpl::FreeRemove(CellId c) {
  ListRemove(free_[pcells_[c].chain][pcells_[c].level], &PCell::free_pos, c);
}

void SchedulerImpl::BadFreeAppend(CellId c) {
  ListAppend(bad_free_[pcells_[c].chain][pcells_[c].level], &PCell::bad_free_pos, c);
}

void SchedulerImpl::BadFreeRemove(CellId c) {
  ListRemove(bad_free_[pcells_[c].chain][pcells_[c].level], &PCell::bad_free_pos, c);
}

void SchedulerImpl::DoomedAppend(VcId vc, CellId c) {
  ListAppend(vcs_[vc].chains[pcells_[c].chain].doomed[pcells_[c].level], &PCell::doomed_pos, c);
  pcells_[c].doomed_vc = vc;
}

void SchedulerImpl::DoomedRemove(CellId c) {
  VcId vc = pcells_[c].doomed_vc;
  if (vc == kNone) return;
  ListRemove(vcs_[vc].chains[pcells_[c].chain].doomed[pcells_[c].level], &PCell::doomed_pos, c);
  pcells_[c].doomed_vc = kNone;
}

// hived.md 5.4 take(c): takes c out of the free lists, splitting unsplit
// ancestors (their children join the list at their level, c then leaves
// it); returns the highest level touched (S in 5.5).
int32_t SchedulerImpl::SplitOutOfFreeList(CellId c) {
  for (;;) {
    int32_t l = pcells_[c].level;
    CellId p = pcells_[c].parent;
    if (p != kNone && !pcells_[p].split) {
      for (int32_t k = 0; k < pcells_[p].child_count; ++k)
        FreeAppend(pchildren_[pcells_[p].child_begin + k]);
      pcells_[p].split = true;
      FreeRemove(c);
      c = p;
    } else {
      FreeRemove(c);
      return l;
    }
  }
}

// hived.md 5.4 give(c): returns c to the free lists, merging it with its
// buddies while all of them are free; returns the level where merging
// stopped (M in 8.2).
int32_t SchedulerImpl::MergeIntoFreeList(CellId c) {
  for (;;) {
    int32_t l = pcells_[c].level;
    CellId p = pcells_[c].parent;
    bool merge = false;
    if (p != kNone) {
      merge = true;
      for (int32_t k = 0; k < pcells_[p].child_count; ++k) {
        CellId b = pchildren_[pcells_[p].child_begin + k];
        if (b != c && pcells_[b].free_pos == kNone) {
          merge = false;
          break;
        }
      }
    }
    if (merge) {
      for (int32_t k = 0; k < pcells_[p].child_count; ++k) {
        CellId b = pchildren_[pcells_[p].child_begin + k];
        if (b != c) FreeRemove(b);
      }
      pcells_[p].split = false;
      c = p;
    } else {
      FreeAppend(c);
      return l;
    }
  }
}

// hived.md 5.4, 8.1: c is in a free list: it and its ancestors up to the
// nearest split one (or the root) are unbound and unsplit.
bool SchedulerImpl::InFreeCellList(CellId c) const { return Trees().InFreeCellList(c); }

}  // namespace apiary::cell
