// Cell state (hived.md 5.1, 5.2): priorities and usage propagated along the
// leaf-to-root path, change counters (which flag node-array nodes dirty),
// cell states and the binding of physical to virtual cells.
#include "scheduler_impl.h"

namespace apiary::cell {

// hived.md 5.2: sets c's priority; each ancestor takes the maximum over
// its children (stops where that does not change).
void SchedulerImpl::SetPPriority(CellId c, int32_t p) {
  pcells_[c].priority = p;
  for (CellId a = pcells_[c].parent; a != kNone; a = pcells_[a].parent) {
    int32_t m = kFreePriority;
    for (int32_t k = 0; k < pcells_[a].child_count; ++k)
      m = std::max(m, pcells_[pchildren_[pcells_[a].child_begin + k]].priority);
    if (pcells_[a].priority == m) break;
    pcells_[a].priority = m;
  }
}

// hived.md 5.2, for a virtual cell.
void SchedulerImpl::SetVPriority(VCellId c, int32_t p) {
  vcells_[c].priority = p;
  for (VCellId a = vcells_[c].parent; a != kNone; a = vcells_[a].parent) {
    int32_t m = kFreePriority;
    for (int32_t k = 0; k < vcells_[a].child_count; ++k)
      m = std::max(m, vcells_[vchildren_[vcells_[a].child_begin + k]].priority);
    if (vcells_[a].priority == m) break;
    vcells_[a].priority = m;
  }
}

// Inlined: every usage, binding or health change of a cell goes through it.
__attribute__((always_inline)) inline void SchedulerImpl::TouchNodeArrayEntry(bool is_virtual,
                                                                              int32_t c) {
  const int32_t ti = is_virtual ? vcells_[c].node_array : pcells_[c].node_array;
  if (ti == kNone) return;
  NodeArray& t = node_arrays_[ti];
  const int32_t ord = is_virtual ? vcells_[c].node_array_ord : pcells_[c].node_array_ord;
  if (!t.dirty_flag[ord]) {
    t.dirty_flag[ord] = 1;
    t.dirty.push_back(ord);
  }
}

// hived.md 5.1: usedLeaves[p] += delta on c and every ancestor.
void SchedulerImpl::AddPUsage(CellId c, int32_t p, int32_t delta) {
  for (CellId a = c; a != kNone; a = pcells_[a].parent) {
    pcells_[a].used.Add(p, delta);
    TouchNodeArrayEntry(false, a);
    ++pcells_[a].version;
  }
}

// hived.md 5.1, for a virtual cell.
void SchedulerImpl::AddVUsage(VCellId c, int32_t p, int32_t delta) {
  for (VCellId a = c; a != kNone; a = vcells_[a].parent) {
    vcells_[a].used.Add(p, delta);
    TouchNodeArrayEntry(true, a);
    ++vcells_[a].version;
  }
}

void SchedulerImpl::SetVPcell(VCellId v, CellId p) {
  vcells_[v].pcell = p;
  TouchNodeArrayEntry(true, v);
  ++vcells_[v].version;
}

void SchedulerImpl::BumpHealth(CellId c) {
  TouchNodeArrayEntry(false, c);
  ++pcells_[c].version;
  if (VCellId v = pcells_[c].vcell; v != kNone) {
    TouchNodeArrayEntry(true, v);
    ++vcells_[v].version;
  }
}

// hived.md 5.2: records state s and propagates it up: a parent is Used if
// any child is, else takes s only when all its children have it.
void SchedulerImpl::SetCellState(CellId c, CellState s) {
  pcells_[c].state = s;
  CellId p = pcells_[c].parent;
  if (p == kNone) return;
  bool propagate = (s == CellState::kUsed);
  if (!propagate) {
    propagate = true;
    for (int32_t k = 0; k < pcells_[p].child_count; ++k) {
      if (pcells_[pchildren_[pcells_[p].child_begin + k]].state != s) {
        propagate = false;
        break;
      }
    }
  }
  if (propagate) SetCellState(p, s);
}

// hived.md 5.1: binds p to v, then each unbound virtual ancestor to the
// physical ancestor at its level, stopping at the first one already bound.
void SchedulerImpl::BindCell(CellId p, VCellId v) {
  while (vcells_[v].pcell == kNone) {
    pcells_[p].vcell = v;
    SetVPcell(v, p);
    if (vcells_[v].parent == kNone) break;
    v = vcells_[v].parent;
    p = pcells_[p].parent;
  }
}

// hived.md 5.1: unbinds bottom-up while no sibling is still bound, never a
// pinned physical cell or anything above it.
void SchedulerImpl::UnbindCell(CellId c) {
  VCellId v = pcells_[c].vcell;
  while (v != kNone && !pcells_[vcells_[v].pcell].pinned) {
    CellId p = vcells_[v].pcell;
    pcells_[p].vcell = kNone;
    SetVPcell(v, kNone);
    VCellId parent = vcells_[v].parent;
    if (parent == kNone) return;
    for (int32_t k = 0; k < vcells_[parent].child_count; ++k)
      if (vcells_[vchildren_[vcells_[parent].child_begin + k]].pcell != kNone) return;
    v = parent;
  }
}

}  // namespace apiary::cell
