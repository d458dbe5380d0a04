// Affinity groups and their lifecycle (hived.md 5.3, 7): creating, preempting,
// cancelling and deleting groups, and their pods' slots.
#include "scheduler_impl.h"

namespace apiary::cell {

int32_t Group::MemberOf(int32_t leaf_count) const {
  for (size_t m = 0; m < members.size(); ++m)
    if (members[m].leaf_count == leaf_count) return static_cast<int32_t>(m);
  return kNone;
}

// hived.md 5.3: a new group with empty pod slots per member.
GroupId SchedulerImpl::NewGroup(const Request& req, GroupState state) {
  GroupId gid;
  if (!free_group_ids_.empty()) {
    gid = free_group_ids_.back();
    free_group_ids_.pop_back();
    groups_[gid] = Group();
  } else {
    gid = static_cast<GroupId>(groups_.size());
    groups_.emplace_back();
  }
  Group& g = groups_[gid];
  g.live = true;
  g.name = req.group_name;
  g.vc = req.vc;
  g.vc_name = req.vc == kNone ? "" : vcs_[req.vc].name;
  g.priority = req.priority;
  g.lazy_enable = req.lazy_enable;
  g.ignore_suggested = req.ignore_suggested;
  g.pinned_id = req.pinned_id;
  g.state = state;
  for (size_t m = 0; m < req.leaf_counts.size(); ++m) {
    GroupMember gm;
    gm.leaf_count = req.leaf_counts[m];
    gm.pod_number = req.pod_numbers[m];
    gm.pods.assign(gm.pod_number, std::nullopt);
    gm.pod_nodes.assign(gm.pod_number, "");
    gm.phys.assign(gm.pod_number, std::vector<CellId>(gm.leaf_count, kNone));
    gm.virt.assign(gm.pod_number, std::vector<VCellId>(gm.leaf_count, kNone));
    g.members.push_back(std::move(gm));
  }
  g.has_virtual = req.priority >= kMinGuaranteedPriority;
  return gid;
}

// Drops group gid and its indexes; its id is reused.
void SchedulerImpl::RemoveGroup(GroupId gid) {
  Group& g = groups_[gid];
  for (auto& m : g.members)
    for (auto& p : m.pods)
      if (p) pod_locs_.erase(p->uid);
  for (const auto& p : g.preempting_pods) preempting_pod_groups_.erase(p.uid);
  auto it = group_index_.find(g.name);
  if (it != group_index_.end() && it->second == gid) group_index_.erase(it);
  g = Group();
  free_group_ids_.push_back(gid);
}

// hived.md 7.3: reserves the placement for a new Preempting group.
void SchedulerImpl::CreatePreemptingGroup(const Request& req, const Placement& pl,
                                          const PodRef& pod) {
  GroupId gid = NewGroup(req, GroupState::kPreempting);
  {
    Group& g = groups_[gid];
    for (size_t m = 0; m < g.members.size(); ++m) {
      g.members[m].phys = pl.phys[m];
      if (pl.has_virtual) g.members[m].virt = pl.virt[m];
    }
    g.has_virtual = pl.has_virtual;
  }
  // Claim the placement's unbound virtual cells up to their preassigned
  // cells before any leaf is allocated (see claim_).
  if (pl.has_virtual) {
    if (claim_.size() != vcells_.size()) claim_.assign(vcells_.size(), 0);
    claim_epoch_ = ++last_claim_epoch_;
    if (claim_epoch_ == 0) {  // wrapped: start the marks afresh
      std::fill(claim_.begin(), claim_.end(), 0);
      claim_epoch_ = last_claim_epoch_ = 1;
    }
    ForEachLeaf(pl.virt, [&](size_t, size_t, size_t, VCellId v) {
      for (; v != kNone && vcells_[v].pcell == kNone && claim_[v] != claim_epoch_;
           v = vcells_[v].parent)
        claim_[v] = claim_epoch_;
    });
  }
  ForEachLeaf(pl.phys, [&](size_t m, size_t s, size_t i, CellId c) {
    VCellId v = pl.has_virtual ? pl.virt[m][s][i] : kNone;
    bool was_used = pcells_[c].state == CellState::kUsed;
    bool transfer = false;
    if (was_used) {
      GroupId u = pcells_[c].using_group;
      transfer = TransferInBadCell(c, v);
      if (!transfer) ReleaseLeaf(c, groups_[u].vc);
      groups_[u].state = GroupState::kBeingPreempted;
    }
    if (transfer) {
      TransferLeaf(c, v, req.priority);
    } else {
      AllocateLeaf(c, v, req.priority, req.vc);
    }
    pcells_[c].reserving_group = gid;
    SetCellState(c, was_used ? CellState::kReserving : CellState::kReserved);
  });
  claim_epoch_ = 0;
  Group& g = groups_[gid];
  g.preempting_pods.push_back(pod);
  preempting_pod_groups_[pod.uid] = g.name;
  group_index_[g.name] = gid;
}

// hived.md 7.4: releases a Preempting group's reservations and gives the
// victims their cells back.
void SchedulerImpl::CancelPreemption(GroupId gid) {
  PhysCells pplace = PhysOf(groups_[gid]);
  VcId vc = groups_[gid].vc;
  const std::string preemptor = groups_[gid].name;
  std::vector<GroupId> degraded;  // victims that could not get their cells back
  ForEachLeaf(pplace, [&](size_t, size_t, size_t, CellId c) {
    if (c == kNone) return;
    if (pcells_[c].state == CellState::kReserving) {
      // The victim gets its leaf back on the same virtual leaf.
      GroupId u = pcells_[c].using_group;
      VCellId back = kNone;
      if (u != kNone && groups_[u].has_virtual)
        for (const auto& m : groups_[u].members)
          for (size_t s = 0; s < m.phys.size(); ++s)
            for (size_t i = 0; i < m.phys[s].size(); ++i)
              if (m.phys[s][i] == c) back = m.virt[s][i];
      if (back != kNone && back == pcells_[c].vcell && TransferInBadCell(c, back)) {
        pcells_[c].reserving_group = kNone;
        SetCellState(c, CellState::kUsed);
        TransferLeaf(c, back, groups_[u].priority);
        return;
      }
    }
    ReleaseLeaf(c, vc);
    pcells_[c].reserving_group = kNone;
    if (pcells_[c].state == CellState::kReserving) {
      SetCellState(c, CellState::kUsed);
      GroupId u = pcells_[c].using_group;
      if (u == kNone) return;
      Group& ug = groups_[u];
      VCellId v = kNone;
      VCellId* slot = nullptr;
      if (ug.has_virtual) {
        for (auto& m : ug.members)
          for (size_t s = 0; s < m.phys.size(); ++s)
            for (size_t i = 0; i < m.phys[s].size(); ++i)
              if (m.phys[s][i] == c) {
                v = m.virt[s][i];
                slot = &m.virt[s][i];
              }
      }
      // The victim's old virtual leaf may have been re-bound by the
      // doomed-cell rule (see TryBindDoomed, quota.cc): Apiary gives the leaf
      // back at -1 and lets the victim continue lazily preempted (6.4).
      if (v != kNone && ((vcells_[v].pcell != kNone && vcells_[v].pcell != c) ||
                         (pcells_[c].vcell != kNone && pcells_[c].vcell != v))) {
        *slot = kNone;
        v = kNone;
        if (std::find(degraded.begin(), degraded.end(), u) == degraded.end())
          degraded.push_back(u);
      }
      AllocateLeaf(c, v, v == kNone ? kOpportunisticPriority : ug.priority, ug.vc);
    } else {
      SetCellState(c, CellState::kFree);
    }
  });
  RemoveGroup(gid);
  for (GroupId u : degraded)
    if (groups_[u].live && groups_[u].has_virtual) LazyPreemptGroup(u, preemptor);
}

// hived.md 7.3: a Preempting group whose victims are gone becomes
// Allocated.
void SchedulerImpl::AllocatePreemptingGroup(GroupId gid) {
  Group& g = groups_[gid];
  ForEachLeaf(PhysOf(g), [&](size_t, size_t, size_t, CellId c) {
    if (c == kNone) return;
    pcells_[c].reserving_group = kNone;
    pcells_[c].using_group = gid;
    SetCellState(c, CellState::kUsed);
  });
  g.state = GroupState::kAllocated;
  for (const auto& p : g.preempting_pods) preempting_pod_groups_.erase(p.uid);
  g.preempting_pods.clear();
}

// hived.md 7.2: releases every leaf the group uses and removes it.
void SchedulerImpl::DeleteAllocatedGroup(GroupId gid) {
  Group& g = groups_[gid];
  ForEachLeaf(PhysOf(g), [&](size_t, size_t, size_t, CellId c) {
    if (c == kNone || pcells_[c].using_group != gid) return;
    pcells_[c].using_group = kNone;
    if (pcells_[c].state == CellState::kUsed) {
      ReleaseLeaf(c, g.vc);
      SetCellState(c, CellState::kFree);
    } else {
      SetCellState(c, CellState::kReserved);
    }
  });
  RemoveGroup(gid);
}

void SchedulerImpl::SetPodSlot(GroupId gid, int32_t member, int32_t slot, const PodRef& pod,
                               const std::string& node) {
  Group& g = groups_[gid];
  auto& cur = g.members[member].pods[slot];
  if (cur && cur->uid != pod.uid) pod_locs_.erase(cur->uid);
  // A pod recorded elsewhere before (a retried commit) moves here.
  auto old = pod_locs_.find(pod.uid);
  if (old != pod_locs_.end() &&
      (old->second.group != gid || old->second.member != member || old->second.slot != slot)) {
    Group& og = groups_[old->second.group];
    if (og.live) og.members[old->second.member].pods[old->second.slot].reset();
  }
  cur = pod;
  g.members[member].pod_nodes[slot] = node;
  pod_locs_[pod.uid] = PodLocation{gid, member, slot};
}

// hived.md 7.2: the group is deleted with its last pod.
Status SchedulerImpl::DeleteAllocatedPod(std::string_view uid) {
  auto it = pod_locs_.find(std::string(uid));
  if (it == pod_locs_.end())
    return Status::NotFound("pod " + std::string(uid) + " is not allocated");
  PodLocation loc = it->second;
  pod_locs_.erase(it);
  Group& g = groups_[loc.group];
  g.members[loc.member].pods[loc.slot].reset();
  g.members[loc.member].pod_nodes[loc.slot].clear();
  for (const auto& m : g.members)
    for (const auto& p : m.pods)
      if (p) return Status::Ok();
  DeleteAllocatedGroup(loc.group);
  return Status::Ok();
}

// hived.md 7.4: a preempting pod goes away; the preemption is cancelled
// with the group's last one.
bool SchedulerImpl::DeleteUnallocatedPod(std::string_view uid) {
  auto it = preempting_pod_groups_.find(std::string(uid));
  if (it == preempting_pod_groups_.end()) return false;
  std::string name = it->second;
  preempting_pod_groups_.erase(it);
  auto git = group_index_.find(name);
  if (git == group_index_.end()) return true;
  Group& g = groups_[git->second];
  if (g.state != GroupState::kPreempting) return true;
  g.preempting_pods.erase(std::remove_if(g.preempting_pods.begin(), g.preempting_pods.end(),
                                         [&](const PodRef& p) { return p.uid == uid; }),
                          g.preempting_pods.end());
  if (g.preempting_pods.empty()) CancelPreemption(git->second);
  return true;
}

bool SchedulerImpl::IsAllocatedPod(std::string_view uid) const {
  return pod_locs_.count(std::string(uid)) > 0;
}

std::optional<LazyPreemptionMark> SchedulerImpl::LazyMarkOfPod(std::string_view uid) const {
  auto it = pod_locs_.find(std::string(uid));
  if (it == pod_locs_.end()) return std::nullopt;
  return groups_[it->second.group].lazy;
}

}  // namespace apiary::cell
