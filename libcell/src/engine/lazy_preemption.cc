// Lazy preemption (hived.md 6.4): downgrading a group's virtual cells to
// opportunistic use instead of evicting it, and reverting that.
#include "scheduler_impl.h"

namespace apiary::cell {

VirtCells SchedulerImpl::VirtOf(const Group& g) const {
  VirtCells out(g.members.size());
  for (size_t m = 0; m < g.members.size(); ++m) out[m] = g.members[m].virt;
  return out;
}

PhysCells SchedulerImpl::PhysOf(const Group& g) const {
  PhysCells out(g.members.size());
  for (size_t m = 0; m < g.members.size(); ++m) out[m] = g.members[m].phys;
  return out;
}

// hived.md 6.4: downgrades group gid's leaves to opportunistic ones and
// marks it lazily preempted by `preemptor`.
void SchedulerImpl::LazyPreemptGroup(GroupId gid, const std::string& preemptor) {
  Group& g = groups_[gid];
  if (g.has_virtual) {
    for (size_t m = 0; m < g.members.size(); ++m) {
      for (size_t s = 0; s < g.members[m].virt.size(); ++s) {
        for (size_t i = 0; i < g.members[m].virt[s].size(); ++i) {
          VCellId v = g.members[m].virt[s][i];
          if (v == kNone) continue;
          // The group's own leaf, and only while the group holds it: a leaf
          // a preemptor has reserved (Reserving) is allocated to that
          // preemptor, not to this group (7.3).
          CellId p = g.members[m].phys[s][i];
          if (p == kNone || vcells_[v].pcell != p || pcells_[p].using_group != gid ||
              pcells_[p].state != CellState::kUsed)
            continue;
          ReleaseLeaf(p, g.vc);
          AllocateLeaf(p, kNone, kOpportunisticPriority, g.vc);
        }
      }
    }
  }
  for (auto& member : g.members)
    for (auto& slot : member.virt) std::fill(slot.begin(), slot.end(), kNone);
  g.has_virtual = false;
  g.lazy = LazyPreemptionMark{preemptor, clock_->NowUnixSeconds()};
}

// hived.md 6.4: undoes LazyPreemptGroup when the preemptor did not fit.
void SchedulerImpl::RevertLazyPreempt(GroupId gid, const VirtCells& virt) {
  Group& g = groups_[gid];
  // 6.4 reverts by re-allocating each leaf with its old virtual leaf. That
  // is only possible while each old virtual leaf is unbound or still bound
  // to its own physical leaf; the doomed-cell rule may have re-bound them
  // (see TryBindDoomed, quota.cc). Apiary then leaves the group lazily
  // preempted (it keeps running as an opportunistic group).
  for (size_t m = 0; m < g.members.size(); ++m)
    for (size_t s = 0; s < g.members[m].phys.size(); ++s)
      for (size_t i = 0; i < g.members[m].phys[s].size(); ++i) {
        CellId p = g.members[m].phys[s][i];
        VCellId v = virt[m][s][i];
        if (p == kNone || v == kNone) continue;
        if ((vcells_[v].pcell != kNone && vcells_[v].pcell != p) ||
            (pcells_[p].vcell != kNone && pcells_[p].vcell != v))
          return;
      }
  for (size_t m = 0; m < g.members.size(); ++m) {
    for (size_t s = 0; s < g.members[m].phys.size(); ++s) {
      for (size_t i = 0; i < g.members[m].phys[s].size(); ++i) {
        CellId p = g.members[m].phys[s][i];
        if (p == kNone) continue;
        VCellId v = virt[m][s][i];
        ReleaseLeaf(p, g.vc);
        AllocateLeaf(p, v, v == kNone ? kOpportunisticPriority : g.priority, g.vc);
      }
    }
  }
  for (size_t m = 0; m < g.members.size(); ++m) g.members[m].virt = virt[m];
  g.has_virtual = true;
  g.lazy.reset();
}

// hived.md 6.4: lazily preempts each lazy-enabled group using a cell of
// the virtual placement; returns them with their old virtual cells.
std::vector<std::pair<GroupId, VirtCells>> SchedulerImpl::TryLazyPreempt(
    const VirtCells& vplace, const std::string& preemptor) {
  std::vector<std::pair<GroupId, VirtCells>> preempted;
  ForEachLeaf(vplace, [&](size_t, size_t, size_t, VCellId v) {
    CellId p = vcells_[v].pcell;
    if (p == kNone) return;
    if (pcells_[p].state != CellState::kUsed) return;
    GroupId u = pcells_[p].using_group;
    if (u == kNone || !groups_[u].lazy_enable) return;
    VirtCells original = VirtOf(groups_[u]);
    LazyPreemptGroup(u, preemptor);
    preempted.emplace_back(u, std::move(original));
  });
  return preempted;
}

// hived.md 7.1 step 3: lazily preempts every group using a leaf below v
// (depth-first, in child order).
void SchedulerImpl::LazyPreemptCell(VCellId v, const std::string& preemptor) {
  if (vcells_[v].level == 1) {
    CellId p = vcells_[v].pcell;
    if (p != kNone && pcells_[p].state == CellState::kUsed &&
        pcells_[p].using_group != kNone) {
      LazyPreemptGroup(pcells_[p].using_group, preemptor);
    }
  }
  for (int32_t k = 0; k < vcells_[v].child_count; ++k)
    LazyPreemptCell(vchildren_[vcells_[v].child_begin + k], preemptor);
}

}  // namespace apiary::cell
