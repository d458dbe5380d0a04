// Allocating and releasing one leaf (hived.md 5.1, 7.1), and handing a
// guaranteed leaf over to another user without unbinding it (7.3, 7.4).
#include "scheduler_impl.h"

namespace apiary::cell {

// hived.md 7.1: allocates physical leaf pleaf at priority p, bound to
// virtual leaf vleaf (guaranteed; allocating the preassigned cell when it
// gets bound, 5.5) or opportunistic (vleaf = kNone). Returns the
// broken-safety message, if any.
std::string SchedulerImpl::AllocateLeaf(CellId pleaf, VCellId vleaf, int32_t p,
                                        VcId vc) {
  std::string broken;
  if (vleaf != kNone) {
    SetVPriority(vleaf, p);
    AddVUsage(vleaf, p, +1);
    SetPPriority(pleaf, p);
    AddPUsage(pleaf, p, +1);
    VCellId preassigned = vcells_[vleaf].preassigned;
    bool newly_bound = vcells_[preassigned].pcell == kNone;
    if (pcells_[pleaf].vcell == kNone) BindCell(pleaf, vleaf);
    if (newly_bound && vcells_[preassigned].pcell != kNone)
      broken = AllocatePreassigned(vcells_[preassigned].pcell, vc, /*doomed=*/false);
  } else {
    SetPPriority(pleaf, kOpportunisticPriority);
    AddPUsage(pleaf, kOpportunisticPriority, +1);
    pcells_[pleaf].opp_vc = vc;
    if (vc != kNone) vcs_[vc].opp_cells.push_back(pleaf);
  }
  return broken;
}

// hived.md 7.2: the mirror image of AllocateLeaf.
void SchedulerImpl::ReleaseLeaf(CellId pleaf, VcId vc) {
  // A leaf is released the way it was allocated: guaranteed (and reserved)
  // leaves carry a priority >= 0, opportunistic ones -1. An opportunistic
  // leaf can be bound to a virtual cell only because its node went bad
  // inside a bound preassigned cell (8.1); that binding is not its use, so
  // it is released as opportunistic (its fake cell leaves the VC status,
  // 11.3) and the bad binding stays until the node heals (8.1). HiveD looks
  // only at the binding here and would leave the fake cell behind and count
  // a release at priority -2 on the free virtual leaf.
  VCellId vleaf = pcells_[pleaf].vcell;
  if (pcells_[pleaf].priority < kMinGuaranteedPriority) vleaf = kNone;
  if (vleaf != kNone) {
    AddVUsage(vleaf, vcells_[vleaf].priority, -1);
    SetVPriority(vleaf, kFreePriority);
    VCellId preassigned = vcells_[vleaf].preassigned;
    CellId preassigned_phys = vcells_[preassigned].pcell;
    if (pcells_[pleaf].healthy) UnbindCell(pleaf);
    if (preassigned_phys != kNone && !pcells_[preassigned_phys].pinned &&
        vcells_[preassigned].priority < kMinGuaranteedPriority) {
      if (pcells_[preassigned_phys].doomed_vc != vcells_[preassigned].vc) {
        ReleasePreassigned(preassigned_phys, vcells_[preassigned].vc, /*doomed=*/false);
      } else if (vcells_[preassigned].pcell == kNone) {
        // A doomed cell (8.2) may be used; if its node healed meanwhile, 8.1
        // left it doomed (it was in use). Its last use just ended and the
        // bottom-up unbinding (5.1) unbound it, so it is no longer bound
        // because bad: release it as the heal would have (8.1), instead of
        // leaving an unbound cell in the doomed list with its quota lost, as
        // HiveD does.
        DoomedRemove(preassigned_phys);
        ReleasePreassigned(preassigned_phys, vcells_[preassigned].vc, /*doomed=*/true);
      }
    }
  } else {
    VcId owner = pcells_[pleaf].opp_vc;
    if (owner != kNone) {
      auto& cells = vcs_[owner].opp_cells;
      auto it = std::find(cells.begin(), cells.end(), pleaf);
      if (it != cells.end()) cells.erase(it);
    }
    pcells_[pleaf].opp_vc = kNone;
  }
  AddPUsage(pleaf, pcells_[pleaf].priority, -1);
  SetPPriority(pleaf, kFreePriority);
}

// Hands a guaranteed leaf, bound to `v`, to another user of the same virtual
// leaf (a preemptor taking a victim's leaf, 7.3, or a victim getting it back,
// 7.4) without unbinding it. Used instead of release + allocate only when
// the leaf's preassigned physical cell is bad, where a release lets the
// doomed-cell rule re-bind it (see TryBindDoomed, quota.cc). With a healthy
// preassigned cell no rebinding can intervene, and the release + allocate
// of 5.3 (with its free-list reordering) is kept.
bool SchedulerImpl::TransferInBadCell(CellId c, VCellId v) const {
  if (v == kNone || pcells_[c].vcell != v || vcells_[v].pcell != c) return false;
  CellId preassigned_phys = vcells_[vcells_[v].preassigned].pcell;
  return preassigned_phys != kNone && !pcells_[preassigned_phys].healthy;
}

// See TransferInBadCell: v (and c) go to priority p without unbinding.
void SchedulerImpl::TransferLeaf(CellId c, VCellId v, int32_t p) {
  AddVUsage(v, vcells_[v].priority, -1);
  SetVPriority(v, p);
  AddVUsage(v, p, +1);
  AddPUsage(c, pcells_[c].priority, -1);
  SetPPriority(c, p);
  AddPUsage(c, p, +1);
}

}  // namespace apiary::cell
