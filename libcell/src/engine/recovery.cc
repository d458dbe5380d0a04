// Recovery (hived.md 9): re-adding an allocated pod from its bind info after
// a restart, and settling restored lazy-preemption marks once every pod is
// back.
#include "scheduler_impl.h"

namespace apiary::cell {

// hived.md 7.1: commits a pod from its bind info (the whole gang's leaves
// at its first pod); recovery after a restart is the same call (9).
Status SchedulerImpl::AddAllocatedPod(const PodRef& pod, const PodSchedulingSpec& spec,
                                      const PodBindInfo& info,
                                      const std::optional<LazyPreemptionMark>& mark) {
  if (info.leaf_cell_isolation.empty())
    return Status::Invalid("pod " + pod.FullName() + ": bind info has no leafCellIsolation");
  const int32_t leaf_num = spec.leaf_cell_number;
  // The slot named by the bind info (7.1).
  int32_t slot = kNone;
  for (const auto& mbi : info.affinity_group_bind_info) {
    if (mbi.pod_placements.empty()) continue;
    if (static_cast<int32_t>(mbi.pod_placements[0].physical_leaf_cell_indices.size()) !=
        leaf_num)
      continue;
    for (size_t s = 0; s < mbi.pod_placements.size() && slot == kNone; ++s) {
      const auto& pp = mbi.pod_placements[s];
      if (pp.physical_node == info.node &&
          std::find(pp.physical_leaf_cell_indices.begin(), pp.physical_leaf_cell_indices.end(),
                    info.leaf_cell_isolation[0]) != pp.physical_leaf_cell_indices.end())
        slot = static_cast<int32_t>(s);
    }
  }
  auto git = group_index_.find(spec.affinity_group_name);
  if (git != group_index_.end()) {
    GroupId gid = git->second;
    Group& g = groups_[gid];
    int32_t member = g.MemberOf(leaf_num);
    if (slot == kNone || member == kNone ||
        slot >= static_cast<int32_t>(g.members[member].pods.size())) {
      return Status::Invalid("pod " + pod.FullName() + ": placement not found in group " +
                             g.name + ": node " + info.node + ", leaf cells " +
                             EmitIndices(info.leaf_cell_isolation));
    }
    if (g.state == GroupState::kPreempting) AllocatePreemptingGroup(gid);
    SetPodSlot(gid, member, slot, pod, info.node);
    return Status::Ok();
  }
  // A new group: check the bind info against the configuration before any
  // state changes, so bad input leaves the state as it was.
  auto vit = vc_index_.find(spec.virtual_cluster);
  Request req = Request::FromSpec(spec, vit == vc_index_.end() ? kNone : vit->second);
  int found = 0;
  std::unordered_set<CellId> seen;
  // A Filtering-phase bind cancels nothing (6.1 step 4), so its placement
  // may cover cells Reserved by a lower-priority Preempting group (its
  // victims already gone). HiveD then allocates those cells twice. Apiary
  // cancels such a preemption when the bind is committed, as a higher-
  // priority placement overlapping it does in the Preempting phase (7.4),
  // in the order the preemptors are first met in the bind info.
  std::vector<GroupId> overlapped_preemptors;
  for (const auto& mbi : info.affinity_group_bind_info) {
    for (const auto& pp : mbi.pod_placements) {
      for (int32_t idx : pp.physical_leaf_cell_indices) {
        CellId c = FindPhysicalLeaf(info.cell_chain, pp.physical_node, idx);
        if (c == kNone) continue;
        ++found;
        if (!seen.insert(c).second)
          return Status::Invalid("pod " + pod.FullName() + ": bind info names leaf cell " +
                                 std::to_string(idx) + " on node " + pp.physical_node +
                                 " twice");
        GroupId reserver = pcells_[c].reserving_group;
        if (pcells_[c].using_group == kNone && reserver != kNone &&
            groups_[reserver].state == GroupState::kPreempting &&
            groups_[reserver].priority < spec.priority) {
          if (std::find(overlapped_preemptors.begin(), overlapped_preemptors.end(),
                        reserver) == overlapped_preemptors.end())
            overlapped_preemptors.push_back(reserver);
          continue;
        }
        if (pcells_[c].using_group != kNone || pcells_[c].reserving_group != kNone) {
          GroupId other = pcells_[c].using_group != kNone ? pcells_[c].using_group
                                                          : pcells_[c].reserving_group;
          return Status::Invalid("pod " + pod.FullName() + ": leaf cell " +
                                 std::to_string(idx) + " on node " + pp.physical_node +
                                 " is already held by affinity group " +
                                 groups_[other].name);
        }
      }
    }
  }
  if (found == 0)
    return Status::Invalid("pod " + pod.FullName() +
                           ": bind info matches no leaf cell of the configuration (node " +
                           info.node + ")");
  for (GroupId p : overlapped_preemptors) CancelPreemption(p);

  GroupId gid = NewGroup(req, GroupState::kAllocated);
  groups_[gid].original_bind_info = info;
  bool should_lazy = false;
  if (mark) {
    // A restored lazy preemption (Q19): every leaf at -1, no virtual cells.
    groups_[gid].has_virtual = false;
  }
  size_t flat = 0;  // index of the leaf in bind-info order
  // Levels where a doomed binding moved (FreeDoomedBindingFor): the bind rule
  // runs there once the group holds its cells.
  std::vector<std::pair<ChainId, int32_t>> doomed_rebind;
  for (const auto& mbi : info.affinity_group_bind_info) {
    if (mbi.pod_placements.empty()) continue;
    int32_t lc = static_cast<int32_t>(mbi.pod_placements[0].physical_leaf_cell_indices.size());
    int32_t member = groups_[gid].MemberOf(lc);
    for (size_t s = 0; s < mbi.pod_placements.size(); ++s) {
      const PodPlacementInfo& pp = mbi.pod_placements[s];
      bool types_present = !pp.preassigned_cell_types.empty();
      for (size_t i = 0; i < pp.physical_leaf_cell_indices.size(); ++i, ++flat) {
        const CellId pleaf = FindPhysicalLeaf(info.cell_chain, pp.physical_node,
                                              pp.physical_leaf_cell_indices[i]);
        if (pleaf == kNone) continue;
        // The persisted virtual leaf, while the group is still being mapped.
        VCellId hint = kNone;
        if (!mark && !should_lazy && groups_[gid].has_virtual && types_present) {
          hint = VirtualHint(info, flat, groups_[gid], pcells_[pleaf].chain);
          if (hint != kNone) FreeDoomedBindingFor(hint, pleaf, doomed_rebind);
        }
        VCellId vleaf = kNone;
        int lazy = 0;
        MapAllocatedLeaf(pleaf, hint, pp, i, types_present || mark.has_value(), should_lazy,
                         groups_[gid], vleaf, lazy);
        Group& g = groups_[gid];
        // Leaves beyond the group's declared members cannot be tracked; they
        // are skipped as HiveD skips leaves it cannot find.
        if (member == kNone || s >= g.members[member].phys.size() ||
            i >= g.members[member].phys[s].size())
          continue;
        g.members[member].phys[s][i] = pleaf;
        if (lazy == 2) {
          g.has_virtual = false;
          for (auto& mm : g.members)
            for (auto& sl : mm.virt) std::fill(sl.begin(), sl.end(), kNone);
        } else if (vleaf != kNone) {
          g.members[member].virt[s][i] = vleaf;
          if (InFreeCellList(pleaf) &&
              vcells_[vcells_[vleaf].preassigned].priority > kFreePriority) {
            LazyPreemptCell(vcells_[vleaf].preassigned, g.name);
          }
          // Apiary: a virtual leaf still used by another group, or bound to
          // another physical leaf, cannot take this one (step 3 ran only if
          // the physical leaf was free). HiveD would use the virtual leaf
          // twice; Apiary lazily preempts this group instead.
          const VCell& vl = vcells_[vleaf];
          if (vl.priority != kFreePriority || (vl.pcell != kNone && vl.pcell != pleaf)) {
            g.members[member].virt[s][i] = kNone;
            vleaf = kNone;
            should_lazy = true;
          }
        } else {
          should_lazy = should_lazy || lazy == 1;
        }
        std::string broken =
            AllocateLeaf(pleaf, vleaf, groups_[gid].priority, groups_[gid].vc);
        pcells_[pleaf].using_group = gid;
        SetCellState(pleaf, CellState::kUsed);
        if (!broken.empty()) should_lazy = true;
      }
    }
  }
  for (const auto& [ch, l] : doomed_rebind)
    if (all_vc_free_[ch][l] > HealthyFreeCount(ch, l)) TryBindDoomed(ch, l);
  Group& g = groups_[gid];
  if (mark) {
    g.lazy = *mark;
    g.lazy_pending_check = true;
  } else if (should_lazy) {
    LazyPreemptGroup(gid, g.name);
  }
  group_index_[g.name] = gid;
  int32_t member = g.MemberOf(leaf_num);
  // The pod takes the slot its bind info names (pods may be recovered in any
  // order: the group's first recovered pod need not be its first pod).
  if (member != kNone)
    SetPodSlot(gid, member,
               slot != kNone && slot < static_cast<int32_t>(g.members[member].pods.size()) ? slot
                                                                                          : 0,
               pod, info.node);
  return Status::Ok();
}

// hived.md 9: after every pod is back, settles restored lazy-preemption
// marks.
void SchedulerImpl::FinishRecovery() {
  struct DropIndex {
    std::unordered_map<std::string, VCellId>& index;
    ~DropIndex() { std::unordered_map<std::string, VCellId>().swap(index); }
  } drop{vcell_by_address_};
  for (GroupId gid{0}; gid < static_cast<GroupId>(groups_.size()); ++gid) {
    Group& g = groups_[gid];
    if (!g.live || !g.lazy_pending_check) continue;
    g.lazy_pending_check = false;
    auto pit = group_index_.find(g.lazy->preemptor);
    bool keep = pit != group_index_.end() && pit->second != gid &&
                groups_[pit->second].state != GroupState::kPreempting;
    if (keep) continue;
    // The preemptor never bound: recover the group as guaranteed (Q19).
    g.lazy.reset();
    if (g.priority < kMinGuaranteedPriority) continue;
    g.has_virtual = true;
    bool lazy_again = false;
    std::vector<std::tuple<size_t, size_t, size_t>> order;
    for (size_t m = 0; m < g.members.size(); ++m)
      for (size_t s = 0; s < g.members[m].phys.size(); ++s)
        for (size_t i = 0; i < g.members[m].phys[s].size(); ++i)
          if (g.members[m].phys[s][i] != kNone) order.emplace_back(m, s, i);
    for (auto [m, s, i] : order) {
      CellId pleaf = groups_[gid].members[m].phys[s][i];
      VCellId vleaf = kNone;
      if (!lazy_again) {
        const Group& cg = groups_[gid];
        // The leaf's placement in the bind info the group was recovered
        // from, and its index in bind-info order (for the persisted cell).
        const PodPlacementInfo* pp = nullptr;
        size_t at = 0, flat = 0;
        for (const auto& mbi : cg.original_bind_info.affinity_group_bind_info) {
          if (!mbi.pod_placements.empty() &&
              mbi.pod_placements[0].physical_leaf_cell_indices.size() ==
                  static_cast<size_t>(cg.members[m].leaf_count) &&
              s < mbi.pod_placements.size()) {
            pp = &mbi.pod_placements[s];
            at = flat;
            for (size_t k = 0; k < s; ++k)
              at += mbi.pod_placements[k].physical_leaf_cell_indices.size();
          }
          for (const auto& p : mbi.pod_placements) flat += p.physical_leaf_cell_indices.size();
        }
        if (pp) {
          const VCellId hint =
              VirtualHint(cg.original_bind_info, at + i, cg, pcells_[pleaf].chain);
          int lazy = 0;
          MapAllocatedLeaf(pleaf, hint, *pp, i, /*has_types=*/true, /*lazy_so_far=*/false, cg,
                           vleaf, lazy);
        }
        // The re-derived virtual leaf must be consistent with the bindings
        // recovered meanwhile: its VC, and a preassigned cell that is either
        // unbound or bound to an ancestor of this leaf. Otherwise the group
        // stays lazily preempted rather than bind across another group's
        // cells (7.1 step 3 is not run here: it would preempt a group that
        // was recovered correctly).
        if (vleaf != kNone) {
          bool consistent = vcells_[vleaf].vc == cg.vc;
          CellId preassigned_phys = vcells_[vcells_[vleaf].preassigned].pcell;
          if (consistent && preassigned_phys != kNone) {
            consistent = false;
            for (CellId a = pleaf; a != kNone; a = pcells_[a].parent)
              if (a == preassigned_phys) consistent = true;
          }
          if (!consistent) vleaf = kNone;
        }
        if (vleaf == kNone) lazy_again = true;
      }
      ReleaseLeaf(pleaf, groups_[gid].vc);
      std::string broken = AllocateLeaf(pleaf, vleaf,
                                        vleaf == kNone ? kOpportunisticPriority
                                                       : groups_[gid].priority,
                                        groups_[gid].vc);
      groups_[gid].members[m].virt[s][i] = vleaf;
      if (!broken.empty()) lazy_again = true;
    }
    if (lazy_again) LazyPreemptGroup(gid, groups_[gid].name);
  }
}

std::string SchedulerImpl::EmitIndices(const std::vector<int32_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s + "]";
}

}  // namespace apiary::cell
