// The schedule decision (hived.md 6.1, 6.2, 7.3): a pod's request, the
// guaranteed and opportunistic paths per leaf type and chain, victims, and
// the Schedule entry point that turns them into a ScheduleResult.
#include "scheduler_impl.h"

namespace apiary::cell {

namespace {

// a.FullName() < b.FullName() without building either string.
bool FullNameLess(const PodRef& a, const PodRef& b) {
  auto at = [](const PodRef& p, size_t i) -> unsigned char {
    if (i < p.ns.size()) return static_cast<unsigned char>(p.ns[i]);
    if (i == p.ns.size()) return '/';
    return static_cast<unsigned char>(p.name[i - p.ns.size() - 1]);
  };
  const size_t la = a.ns.size() + 1 + a.name.size();
  const size_t lb = b.ns.size() + 1 + b.name.size();
  for (size_t i = 0; i < la && i < lb; ++i) {
    unsigned char x = at(a, i), y = at(b, i);
    if (x != y) return x < y;
  }
  return la < lb;
}

}  // namespace

Request Request::FromSpec(const PodSchedulingSpec& spec, VcId vc) {
  Request req;
  req.group_name = spec.affinity_group_name;
  req.vc = vc;
  req.priority = spec.priority;
  req.pinned_id = spec.pinned_cell_id;
  req.ignore_suggested = spec.ignore_k8s_suggested_nodes;
  req.lazy_enable = spec.lazy_preemption_enable;
  {
    std::vector<AffinityGroupMemberSpec> members = spec.affinity_group_members;
    std::stable_sort(members.begin(), members.end(), [](const auto& a, const auto& b) {
      return a.leaf_cell_number < b.leaf_cell_number;
    });
    for (const auto& m : members) {
      req.leaf_counts.push_back(m.leaf_cell_number);
      req.pod_numbers.push_back(m.pod_number);
    }
  }
  return req;
}

std::vector<int32_t> Request::SortedPods() const {
  std::vector<int32_t> pods;
  for (size_t m = 0; m < leaf_counts.size(); ++m)
    for (int32_t k = 0; k < pod_numbers[m]; ++k) pods.push_back(leaf_counts[m]);
  return pods;  // leaf_counts is ascending
}

std::string SchedulerImpl::FormatVirtualPlacement(const Request& req,
                                                  const VirtCells& v) const {
  std::string s = "map[";
  for (size_t m = 0; m < v.size(); ++m) {
    if (m) s += " ";
    s += std::to_string(req.leaf_counts[m]) + ":[";
    for (size_t p = 0; p < v[m].size(); ++p) {
      if (p) s += " ";
      s += "[";
      for (size_t i = 0; i < v[m][p].size(); ++i) {
        if (i) s += " ";
        s += vcells_[v[m][p][i]].address;
      }
      s += "]";
    }
    s += "]";
  }
  return s + "]";
}

// hived.md 6.5 on this scheduler's trees: the chain's free lists and
// quota counters (none for a pinned cell's placement, `chain` kNone).
bool SchedulerImpl::MapVirtualToPhysical(ChainId chain, const VirtCells& vplace,
                                         const SuggestedSet* suggested, bool ignore_suggested,
                                         PhysCells& pplace, bool& safety_broken) {
  const bool pinned = chain == kNone;
  return mapper_.VirtualToPhysical(Trees(), chain, pinned ? nullptr : &free_[chain],
                                   pinned ? nullptr : &all_vc_free_[chain], vplace, suggested,
                                   ignore_suggested, pplace, safety_broken);
}

// hived.md 6.3 to 6.5: the guaranteed path in one chain (virtual
// placement, lazy preemption attempt, mapping to physical cells).
bool SchedulerImpl::ScheduleGuaranteed(const Request& req, ChainId chain,
                                       const SuggestedSet* suggested, Placement& out,
                                       std::string& reason) {
  const Vc& vc = vcs_[req.vc];
  int32_t node_array = kNone;
  if (!req.pinned_id.empty()) {
    for (const PinnedVc& p : vc.pinned)
      if (p.id == req.pinned_id) node_array = p.node_array;
  } else {
    node_array = vc.chains[chain].node_array;
  }
  std::vector<std::vector<int32_t>> per_pod;
  std::string r;
  if (node_array == kNone || !ScheduleOnNodeArray(node_array, req.SortedPods(), req.priority,
                                                  suggested, req.ignore_suggested, per_pod, r)) {
    reason = r + " when scheduling in VC " + vc.name;
    return false;
  }
  VirtCells vplace = req.ToGroupCells<VCellId>(per_pod);
  auto lazy = TryLazyPreempt(vplace, req.group_name);
  // The intra-VC scheduler only picks healthy nodes, so a virtual leaf of the
  // placement is bound to a bad physical leaf only when the lazy preemption
  // just re-bound it by the doomed-cell rule (see TryBindDoomed, quota.cc).
  // 6.5 step 1 takes bound leaves as they are, so HiveD would place the new
  // group on the bad node. Apiary treats this as a failed mapping (new pods
  // avoid bad nodes, section 8).
  bool bound_to_bad = false;
  if (!lazy.empty()) {
    ForEachLeaf(vplace, [&](size_t, size_t, size_t, VCellId v) {
      CellId p = vcells_[v].pcell;
      if (p != kNone && !pcells_[p].healthy) bound_to_bad = true;
    });
  }
  PhysCells pplace;
  bool safety_broken = false;
  ChainId map_chain = req.pinned_id.empty() ? chain : kNone;
  if (!bound_to_bad &&
      MapVirtualToPhysical(map_chain, vplace, suggested, req.ignore_suggested, pplace,
                           safety_broken)) {
    out.phys = std::move(pplace);
    out.virt = std::move(vplace);
    out.has_virtual = true;
    out.chain = chain;
    return true;
  }
  for (auto& [gid, original] : lazy) RevertLazyPreempt(gid, original);
  if (safety_broken) {
    reason = "VC Safety Broken: cannot find free cells for the virtual placement " +
             FormatVirtualPlacement(req, vplace);
    return false;
  }
  reason = std::string("Mapping the virtual placement would need to use at least one ") +
           (req.ignore_suggested ? "bad" : "bad or non-suggested") +
           " node (virtual placement : " + FormatVirtualPlacement(req, vplace) + ")";
  return false;
}

// hived.md 6.6: the opportunistic path in one chain.
bool SchedulerImpl::ScheduleOpportunistic(const Request& req, ChainId chain,
                                          const SuggestedSet* suggested, Placement& out,
                                          std::string& reason) {
  std::vector<std::vector<int32_t>> per_pod;
  std::string r;
  if (!ScheduleOnNodeArray(opp_node_arrays_[chain], req.SortedPods(), kOpportunisticPriority,
                           suggested, req.ignore_suggested, per_pod, r)) {
    reason = r + " when scheduling in physical cluster";
    return false;
  }
  out.phys = req.ToGroupCells<CellId>(per_pod);
  out.virt.clear();
  out.has_virtual = false;
  out.chain = chain;
  return true;
}

// Returns 0 = placed, 1 = not placed (reason), 2 = user error (reason).
int SchedulerImpl::ScheduleForLeafType(const Request& req, const std::string& leaf_type,
                                       bool type_specified, const SuggestedSet* suggested,
                                       Placement& out, std::string& reason,
                                       bool& tried_any) {
  bool vc_has_type = false;
  auto it = chains_by_leaf_.find(leaf_type);
  if (it != chains_by_leaf_.end()) {
    for (ChainId ch : it->second) {
      if (req.priority < kMinGuaranteedPriority || vcs_[req.vc].chains[ch].has_nonpinned) {
        vc_has_type = true;
        tried_any = true;
        std::string r;
        bool ok = req.priority >= kMinGuaranteedPriority
                      ? ScheduleGuaranteed(req, ch, suggested, out, r)
                      : ScheduleOpportunistic(req, ch, suggested, out, r);
        if (ok) return 0;
        reason = r;
      }
    }
  }
  if (type_specified && req.priority >= kMinGuaranteedPriority && !vc_has_type) {
    reason = "Pod requesting leaf cell type " + leaf_type + " which VC " +
             vcs_[req.vc].name + " does not have";
    return 2;
  }
  return 1;
}

// hived.md 7.3: the groups running on the placement (victims) and the
// preemptors that reserved any of its cells.
void SchedulerImpl::CollectVictims(const PhysCells& pplace, std::vector<Victim>& victims,
                                   std::vector<GroupId>& preemptors) const {
  std::unordered_set<GroupId> seen_victim_groups;
  ForEachLeaf(pplace, [&](size_t, size_t, size_t, CellId c) {
    if (c == kNone) return;
    const PCell& p = pcells_[c];
    if ((p.state == CellState::kUsed || p.state == CellState::kReserving) &&
        p.using_group != kNone && seen_victim_groups.insert(p.using_group).second) {
      const Group& u = groups_[p.using_group];
      for (const auto& m : u.members)
        for (size_t s = 0; s < m.pods.size(); ++s)
          if (m.pods[s]) victims.push_back({*m.pods[s], m.pod_nodes[s]});
    }
    if ((p.state == CellState::kReserving || p.state == CellState::kReserved) &&
        p.reserving_group != kNone &&
        std::find(preemptors.begin(), preemptors.end(), p.reserving_group) ==
            preemptors.end()) {
      preemptors.push_back(p.reserving_group);
    }
  });
  // By "namespace/name", compared in place (no string is built).
  std::sort(victims.begin(), victims.end(), [](const Victim& a, const Victim& b) {
    return FullNameLess(a.pod, b.pod);
  });
}

// hived.md 6.1 step 5: a preempt result listing the victims.
void SchedulerImpl::FillPreemptResult(const PhysCells& pplace, std::vector<Victim> victims,
                                      ScheduleResult& r) const {
  r.kind = ScheduleResult::Kind::kPreempt;
  r.victims = std::move(victims);
  std::map<std::string, std::vector<int32_t>> by_node;
  ForEachLeaf(pplace, [&](size_t, size_t, size_t, CellId c) {
    if (c != kNone) by_node[NodeNameOf(c)].push_back(pcells_[c].leaf_index);
  });
  r.placement.assign(by_node.begin(), by_node.end());
}

// hived.md 6.1 step 2: an existing group's placement now uses a bad or
// non-suggested node.
bool SchedulerImpl::PlacementBadOrNotSuggested(const Group& g,
                                               const SuggestedSet* suggested) const {
  bool bad = false;
  for (const auto& m : g.members)
    for (const auto& slot : m.phys)
      for (CellId c : slot) {
        if (c == kNone) continue;
        NodeId n = FirstNodeOf(c);
        if (n == kNone) continue;
        if (node_bad_[n]) bad = true;
        if (!g.ignore_suggested && !NodeSuggested(n, suggested)) bad = true;
      }
  return bad;
}

// hived.md 6.1: the entry point.
ScheduleResult SchedulerImpl::Schedule(const PodRef& pod, const PodSchedulingSpec& spec,
                                       const std::vector<std::string>* suggested_nodes,
                                       SchedulingPhase phase) {
  ScheduleResult r;
  auto git = group_index_.find(spec.affinity_group_name);
  // Suggested nodes only matter to a group that does not ignore them (the
  // default is to ignore them); only then is the node bitmap built.
  const SuggestedSet* suggested = nullptr;
  if (suggested_nodes) {
    bool needed = !spec.ignore_k8s_suggested_nodes ||
                  (git != group_index_.end() && !groups_[git->second].ignore_suggested);
    if (needed) {
      suggested_bits_.Reset(node_names_.size());
      for (const auto& n : *suggested_nodes) {
        auto it = node_index_.find(n);
        if (it != node_index_.end()) suggested_bits_.Insert(it->second);
      }
      suggested = &suggested_bits_;
    }
  }
  auto error = [&](std::string m) {
    r.kind = ScheduleResult::Kind::kError;
    r.message = "[" + pod.uid + "(" + pod.ns + "/" + pod.name + ")]: " + m;
    return r;
  };

  if (git != group_index_.end()) {
    GroupId gid = git->second;
    Group& g = groups_[gid];
    int32_t member = g.MemberOf(spec.leaf_cell_number);
    if (g.state != GroupState::kPreempting) {
      int32_t slot = kNone;
      if (member != kNone) {
        const auto& pods = g.members[member].pods;
        for (size_t s = 0; s < pods.size(); ++s)
          if (!pods[s]) {
            slot = static_cast<int32_t>(s);
            break;
          }
      }
      if (slot == kNone) {
        int32_t total = member == kNone ? 0 : g.members[member].pod_number;
        return error("Requesting more pods than the configured number for " +
                     std::to_string(spec.leaf_cell_number) + " leaf cells (" +
                     std::to_string(total) + " pods) in affinity group " + g.name);
      }
      FillBindResultCached(g, member, slot, r);
      return r;
    }
    // Preempting.
    if (phase == SchedulingPhase::kPreempting && PlacementBadOrNotSuggested(g, suggested)) {
      CancelPreemption(gid);
    } else {
      if (member == kNone) {
        return error("Requesting more pods than the configured number for " +
                     std::to_string(spec.leaf_cell_number) +
                     " leaf cells (0 pods) in affinity group " + g.name);
      }
      std::vector<Victim> victims;
      std::vector<GroupId> preemptors;
      PhysCells pplace = PhysOf(g);
      CollectVictims(pplace, victims, preemptors);
      bool known = false;
      for (const auto& p : g.preempting_pods) known |= (p.uid == pod.uid);
      if (!known) {
        g.preempting_pods.push_back(pod);
        preempting_pod_groups_[pod.uid] = g.name;
      }
      if (!victims.empty()) {
        FillPreemptResult(pplace, std::move(victims), r);
      } else {
        FillBindResultCached(g, member, 0, r);
      }
      return r;
    }
  }

  // A new group (3).
  auto vit = vc_index_.find(spec.virtual_cluster);
  if (vit == vc_index_.end())
    return error("VC " + spec.virtual_cluster + " does not exists!");
  Request req = Request::FromSpec(spec, vit->second);
  const Vc& vc = vcs_[req.vc];
  ChainId pinned_chain = kNone;
  if (!req.pinned_id.empty()) {
    const PinnedVc* pinned = nullptr;
    for (const PinnedVc& p : vc.pinned)
      if (p.id == req.pinned_id) pinned = &p;
    if (!pinned)
      return error("VC " + vc.name + " does not have pinned cell " + req.pinned_id);
    if (req.priority == kOpportunisticPriority)
      return error("opportunistic pod not supported to use pinned cell " + req.pinned_id);
    pinned_chain = pcells_[pinned->pcell].chain;
  }
  Placement pl;
  std::string reason;
  bool placed = false;
  if (pinned_chain != kNone) {
    placed = ScheduleGuaranteed(req, pinned_chain, suggested, pl, reason);
  } else if (!spec.leaf_cell_type.empty()) {
    if (!chains_by_leaf_.count(spec.leaf_cell_type))
      return error("Pod requesting leaf cell type " + spec.leaf_cell_type +
                   " which the whole cluster does not have");
    bool tried = false;
    int rc = ScheduleForLeafType(req, spec.leaf_cell_type, true, suggested, pl, reason,
                                 tried);
    if (rc == 2) return error(reason);
    placed = rc == 0;
    if (!placed && !tried) reason = "VC " + vc.name + " has no cells to schedule on";
  } else {
    bool tried = false;
    for (auto it = chains_by_leaf_.rbegin(); it != chains_by_leaf_.rend() && !placed; ++it) {
      std::string r2;
      int rc = ScheduleForLeafType(req, it->first, false, suggested, pl, r2, tried);
      if (rc == 0) placed = true;
      else if (!r2.empty()) reason = r2;
    }
    if (!placed && !tried) reason = "VC " + vc.name + " has no cells to schedule on";
  }
  if (!placed) {
    r.kind = ScheduleResult::Kind::kWait;
    r.message = reason;
    return r;
  }
  std::vector<Victim> victims;
  std::vector<GroupId> preemptors;
  CollectVictims(pl.phys, victims, preemptors);
  if (phase == SchedulingPhase::kPreempting) {
    for (GroupId p : preemptors)
      if (groups_[p].live && groups_[p].state == GroupState::kPreempting) CancelPreemption(p);
    // The placement is not recomputed after the cancellations (6.1 step 4).
    // A cancellation may have let the doomed-cell rule re-bind virtual
    // leaves of this placement (see TryBindDoomed, quota.cc); HiveD would
    // allocate them anyway. Apiary waits and lets the next call compute a
    // fresh placement.
    bool bindable = true;
    if (pl.has_virtual && !preemptors.empty()) {
      ForEachLeaf(pl.phys, [&](size_t m, size_t s, size_t i, CellId c) {
        VCellId v = pl.virt[m][s][i];
        if ((vcells_[v].pcell != kNone && vcells_[v].pcell != c) ||
            (pcells_[c].vcell != kNone && pcells_[c].vcell != v))
          bindable = false;
      });
    }
    if (!bindable) {
      r.kind = ScheduleResult::Kind::kWait;
      r.message = "Mapping the virtual placement would need to use at least one bad node "
                  "(virtual placement : " + FormatVirtualPlacement(req, pl.virt) + ")";
      return r;
    }
    if (!victims.empty()) CreatePreemptingGroup(req, pl, pod);
  }
  int32_t member = kNone;
  for (size_t m = 0; m < req.leaf_counts.size(); ++m)
    if (req.leaf_counts[m] == spec.leaf_cell_number) member = static_cast<int32_t>(m);
  if (!victims.empty()) {
    FillPreemptResult(pl.phys, std::move(victims), r);
  } else {
    FillBindResult(nullptr, req, pl, member == kNone ? 0 : member, 0, r);
  }
  return r;
}

}  // namespace apiary::cell
