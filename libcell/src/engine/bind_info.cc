// Bind info (hived.md 7.1): the bind result a scheduled pod carries, built
// once per group and reused, and the group's virtual leaf cells.
#include "scheduler_impl.h"

namespace apiary::cell {

const std::string& SchedulerImpl::NodeNameOf(CellId c) const {
  static const std::string kEmpty;
  NodeId n = c == kNone ? kNone : FirstNodeOf(c);
  return n == kNone ? kEmpty : node_names_[n];
}

// hived.md 10: the bind result of pod (member, slot) of a placement.
void SchedulerImpl::FillBindResult(const Group* g, const Request& req, const Placement& pl,
                                   int32_t member, int32_t slot, ScheduleResult& r) const {
  r.kind = ScheduleResult::Kind::kBind;
  PodBindInfo info;
  r.group_placement.clear();
  for (size_t m = 0; m < pl.phys.size(); ++m) {
    AffinityGroupMemberBindInfo mbi;
    MemberPlacement mp;
    mp.leaf_cell_number = req.leaf_counts[m];
    for (size_t s = 0; s < pl.phys[m].size(); ++s) {
      PodPlacementInfo ppi;
      const auto& leaves = pl.phys[m][s];
      const PodPlacementInfo* original = nullptr;
      if (g) {
        for (const auto& om : g->original_bind_info.affinity_group_bind_info) {
          if (!om.pod_placements.empty() &&
              static_cast<int32_t>(om.pod_placements[0].physical_leaf_cell_indices.size()) ==
                  req.leaf_counts[m] &&
              s < om.pod_placements.size()) {
            original = &om.pod_placements[s];
          }
        }
      }
      ppi.physical_node = leaves.empty() || leaves[0] == kNone
                              ? (original ? original->physical_node : "")
                              : NodeNameOf(leaves[0]);
      for (size_t i = 0; i < leaves.size(); ++i) {
        int32_t idx = leaves[i] != kNone ? pcells_[leaves[i]].leaf_index
                      : (original && i < original->physical_leaf_cell_indices.size())
                          ? original->physical_leaf_cell_indices[i]
                          : -1;
        ppi.physical_leaf_cell_indices.push_back(idx);
        std::string type;
        if (pl.has_virtual && m < pl.virt.size() && s < pl.virt[m].size() &&
            i < pl.virt[m][s].size() && pl.virt[m][s][i] != kNone) {
          const VCell& v = vcells_[pl.virt[m][s][i]];
          const VCell& pa = vcells_[v.preassigned];
          type = chains_[pa.chain].type_at_level[pa.level];
          // The decision's bind info carries types, not virtual addresses,
          // as HiveD's does: a fresh commit re-derives the virtual cells
          // from the physical leaves (hived.md 7.1 step 2), which need not
          // be the cells chosen here. The caller writes
          // apiary.io/virtual-leaf-cells from VirtualLeafCellsOfPod after
          // the commit.
        } else if (!pl.has_virtual && original &&
                   i < original->preassigned_cell_types.size() && g && g->lazy) {
          type = "";
        }
        ppi.preassigned_cell_types.push_back(type);
      }
      mp.pods.push_back({ppi.physical_node, ppi.physical_leaf_cell_indices});
      mbi.pod_placements.push_back(std::move(ppi));
    }
    info.affinity_group_bind_info.push_back(std::move(mbi));
    r.group_placement.push_back(std::move(mp));
  }
  const PodPlacementInfo& mine = info.affinity_group_bind_info[member].pod_placements[slot];
  info.node = mine.physical_node;
  info.leaf_cell_isolation = mine.physical_leaf_cell_indices;
  CellId first = pl.phys[member][slot].empty() ? kNone : pl.phys[member][slot][0];
  info.cell_chain = first != kNone ? chains_[pcells_[first].chain].name
                    : g ? g->original_bind_info.cell_chain
                        : "";
  r.node = info.node;
  r.leaf_cells = info.leaf_cell_isolation;
  r.cell_chain = info.cell_chain;
  r.bind_info = std::move(info);
}

void SchedulerImpl::FillBindResultCached(Group& g, int32_t member, int32_t slot,
                                         ScheduleResult& r) {
  std::vector<int32_t>& fp = fingerprint_scratch_;
  fp.clear();
  fp.push_back(g.has_virtual ? 1 : 0);
  for (const auto& m : g.members) {
    for (size_t s = 0; s < m.phys.size(); ++s) {
      fp.insert(fp.end(), m.phys[s].begin(), m.phys[s].end());
      if (g.has_virtual) fp.insert(fp.end(), m.virt[s].begin(), m.virt[s].end());
    }
  }
  Group::BindCache& cache = g.bind_cache;
  if (!cache.valid || cache.fingerprint != fp) {
    ScheduleResult full;
    FillBindResult(&g, RequestOf(g), PlacementOf(g), 0, 0, full);
    cache.info = std::move(full.bind_info);
    cache.group_placement = std::move(full.group_placement);
    cache.fingerprint = fp;
    cache.valid = true;
  }
  r.kind = ScheduleResult::Kind::kBind;
  r.bind_info = cache.info;
  r.group_placement = cache.group_placement;
  const PodPlacementInfo& mine = r.bind_info.affinity_group_bind_info[member].pod_placements[slot];
  r.bind_info.node = mine.physical_node;
  r.bind_info.leaf_cell_isolation = mine.physical_leaf_cell_indices;
  CellId first = g.members[member].phys[slot].empty() ? kNone : g.members[member].phys[slot][0];
  r.bind_info.cell_chain = first != kNone ? chains_[pcells_[first].chain].name
                                          : g.original_bind_info.cell_chain;
  r.node = r.bind_info.node;
  r.leaf_cells = r.bind_info.leaf_cell_isolation;
  r.cell_chain = r.bind_info.cell_chain;
}

std::vector<std::string> SchedulerImpl::VirtualLeafCellsOf(const Group& g) const {
  std::vector<std::string> out;
  if (!g.has_virtual) return out;
  bool any = false;
  auto add = [&](int32_t m, size_t s, size_t i) {
    VCellId v = kNone;
    if (m != kNone && s < g.members[m].virt.size() && i < g.members[m].virt[s].size())
      v = g.members[m].virt[s][i];
    out.push_back(v == kNone ? std::string() : vcells_[v].address);
    any = any || v != kNone;
  };
  if (!g.original_bind_info.affinity_group_bind_info.empty()) {
    // The order of the bind info the pods carry (HiveD may have written its
    // members in another order than Apiary's ascending leaf counts).
    for (const auto& mbi : g.original_bind_info.affinity_group_bind_info) {
      if (mbi.pod_placements.empty()) continue;
      const int32_t m = g.MemberOf(
          static_cast<int32_t>(mbi.pod_placements[0].physical_leaf_cell_indices.size()));
      for (size_t s = 0; s < mbi.pod_placements.size(); ++s)
        for (size_t i = 0; i < mbi.pod_placements[s].physical_leaf_cell_indices.size(); ++i)
          add(m, s, i);
    }
  } else {
    for (size_t m = 0; m < g.members.size(); ++m)
      for (size_t s = 0; s < g.members[m].phys.size(); ++s)
        for (size_t i = 0; i < g.members[m].phys[s].size(); ++i)
          add(static_cast<int32_t>(m), s, i);
  }
  if (!any) out.clear();
  return out;
}

Placement SchedulerImpl::PlacementOf(const Group& g) const {
  Placement pl;
  pl.phys = PhysOf(g);
  pl.has_virtual = g.has_virtual;
  if (g.has_virtual) pl.virt = VirtOf(g);
  return pl;
}

Request SchedulerImpl::RequestOf(const Group& g) const {
  Request r;
  r.group_name = g.name;
  r.vc = g.vc;
  r.priority = g.priority;
  r.pinned_id = g.pinned_id;
  r.ignore_suggested = g.ignore_suggested;
  r.lazy_enable = g.lazy_enable;
  for (const auto& m : g.members) {
    r.leaf_counts.push_back(m.leaf_count);
    r.pod_numbers.push_back(m.pod_number);
  }
  return r;
}

std::vector<std::string> SchedulerImpl::VirtualLeafCellsOfPod(std::string_view uid) const {
  auto it = pod_locs_.find(std::string(uid));
  if (it == pod_locs_.end()) return {};
  return VirtualLeafCellsOf(groups_[it->second.group]);
}

}  // namespace apiary::cell
