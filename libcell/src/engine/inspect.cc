// Inspection (hived.md 11): the physical and virtual cluster views, the
// affinity groups, and usage counts.
#include "scheduler_impl.h"

namespace apiary::cell {

namespace {

const char* StateName(CellState s) {
  switch (s) {
    case CellState::kFree: return "Free";
    case CellState::kUsed: return "Used";
    case CellState::kReserving: return "Reserving";
    case CellState::kReserved: return "Reserved";
  }
  return "Free";
}

const char* GroupStateName(GroupState s) {
  switch (s) {
    case GroupState::kAllocated: return "Allocated";
    case GroupState::kPreempting: return "Preempting";
    case GroupState::kBeingPreempted: return "BeingPreempted";
  }
  return "Allocated";
}

}  // namespace

// hived.md 11.3: a physical cell's status.
CellStatus SchedulerImpl::PStatus(CellId c, bool children, bool bound) const {
  const PCell& p = pcells_[c];
  const Chain& chain = chains_[p.chain];
  CellStatus s;
  if (p.parent == kNone) s.leaf_cell_type = chain.leaf_type;
  s.cell_type = p.level == 1 ? chain.leaf_type : chain.type_at_level[p.level];
  s.is_node_level = p.node_level;
  s.cell_address = p.address;
  s.cell_state = StateName(p.state);
  s.cell_healthiness = p.healthy ? "Healthy" : "Bad";
  s.cell_priority = p.priority;
  if (p.vcell != kNone) {
    s.vc = vcs_[vcells_[p.vcell].vc].name;
  } else if (p.opp_vc != kNone) {
    s.vc = vcs_[p.opp_vc].name;
  }
  if (children)
    for (int32_t k = 0; k < p.child_count; ++k)
      s.cell_children.push_back(PStatus(pchildren_[p.child_begin + k], true, bound));
  if (bound && p.vcell != kNone) s.bound.push_back(VStatus(p.vcell, false, false));
  return s;
}

// hived.md 11.3: a virtual cell's status.
CellStatus SchedulerImpl::VStatus(VCellId v, bool children, bool bound) const {
  const VCell& c = vcells_[v];
  const Chain& chain = chains_[c.chain];
  CellStatus s;
  if (c.parent == kNone) s.leaf_cell_type = chain.leaf_type;
  s.cell_type = c.level == 1 ? chain.leaf_type : chain.type_at_level[c.level];
  s.is_node_level = c.node_level;
  s.cell_address = c.address;
  s.cell_state = c.pcell == kNone ? "Free" : StateName(pcells_[c.pcell].state);
  s.cell_healthiness = c.pcell == kNone || pcells_[c.pcell].healthy ? "Healthy" : "Bad";
  s.cell_priority = c.priority;
  if (children)
    for (int32_t k = 0; k < c.child_count; ++k)
      s.cell_children.push_back(VStatus(vchildren_[c.child_begin + k], true, bound));
  if (bound && c.pcell != kNone) s.bound.push_back(PStatus(c.pcell, false, false));
  return s;
}

std::vector<CellStatus> SchedulerImpl::PhysicalCluster() const {
  std::vector<CellStatus> out;
  for (CellId c{0}; c < static_cast<CellId>(pcells_.size()); ++c)
    if (pcells_[c].parent == kNone) out.push_back(PStatus(c, true, true));
  return out;
}

std::vector<CellStatus> SchedulerImpl::VirtualClusterStatus(VcId vid) const {
  std::vector<CellStatus> out;
  const Vc& vc = vcs_[vid];
  for (VCellId v : vc.status_cells) out.push_back(VStatus(v, true, true));
  for (CellId leaf : vc.opp_cells) {
    const PCell& p = pcells_[leaf];
    CellStatus s;
    s.cell_type = chains_[p.chain].leaf_type;
    s.cell_address = p.address + "-opp";
    s.cell_state = "Used";
    s.cell_healthiness = p.healthy ? "Healthy" : "Bad";
    s.cell_priority = kOpportunisticPriority;
    s.bound.push_back(PStatus(leaf, false, false));
    out.push_back(std::move(s));
  }
  return out;
}

// hived.md 11.2.
AffinityGroupStatus SchedulerImpl::GroupStatus(GroupId gid) const {
  const Group& g = groups_[gid];
  AffinityGroupStatus s;
  s.name = g.name;
  s.vc = g.vc_name;
  s.priority = g.priority;
  s.state = GroupStateName(g.state);
  std::map<std::string, std::vector<int32_t>> phys;
  std::map<std::string, std::vector<std::string>> virt;
  for (const auto& m : g.members) {
    for (size_t slot = 0; slot < m.phys.size(); ++slot) {
      for (size_t i = 0; i < m.phys[slot].size(); ++i) {
        CellId c = m.phys[slot][i];
        if (c != kNone) phys[NodeNameOf(c)].push_back(pcells_[c].leaf_index);
        if (g.has_virtual && m.virt[slot][i] != kNone) {
          VCellId v = m.virt[slot][i];
          virt[vcells_[vcells_[v].preassigned].address].push_back(vcells_[v].address);
        }
      }
    }
    for (const auto& p : m.pods)
      if (p) s.allocated_pods.push_back(p->uid);
  }
  s.physical_placement.assign(phys.begin(), phys.end());
  s.virtual_placement.assign(virt.begin(), virt.end());
  for (const auto& p : g.preempting_pods) s.preempting_pods.push_back(p.uid);
  s.lazy_preemption = g.lazy;
  return s;
}

Result<AffinityGroupStatus> SchedulerImpl::AffinityGroup(std::string_view name) const {
  auto it = group_index_.find(std::string(name));
  if (it == group_index_.end())
    return Status::NotFound("Affinity group " + std::string(name) +
                            " does not exist since it is not allocated or preempting");
  return GroupStatus(it->second);
}

Result<std::vector<CellStatus>> SchedulerImpl::VirtualCluster(std::string_view vc) const {
  auto it = vc_index_.find(std::string(vc));
  if (it == vc_index_.end()) return Status::NotFound("VC " + std::string(vc) + " not found");
  return VirtualClusterStatus(it->second);
}

std::vector<std::string> SchedulerImpl::VirtualClusterNames() const {
  std::vector<std::string> out;
  for (const Vc& vc : vcs_) out.push_back(vc.name);
  return out;
}

std::vector<AffinityGroupStatus> SchedulerImpl::AffinityGroups() const {
  std::vector<AffinityGroupStatus> out;
  for (const auto& [name, gid] : group_index_) out.push_back(GroupStatus(gid));
  return out;
}

Scheduler::Usage SchedulerImpl::GetUsage() const {
  Scheduler::Usage u;
  for (const PCell& p : pcells_) {
    if (p.level != 1) continue;
    u.total_leaves++;
    if (p.state == CellState::kUsed || p.state == CellState::kReserving) u.used_leaves++;
    if (p.state == CellState::kReserved) u.reserved_leaves++;
    if (!p.healthy) u.bad_leaves++;
    if (p.priority == kOpportunisticPriority) u.opportunistic_leaves++;
  }
  return u;
}

}  // namespace apiary::cell
