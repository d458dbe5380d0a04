// Mapping physical cells back to virtual ones on recovery (hived.md 7.1
// step 2, 9): finding a bind info's physical leaves, the persisted virtual
// leaf hint, releasing doomed bindings that stand in a recovered group's
// way, and choosing the virtual cells a recovered leaf maps through for
// Mapper::PhysicalToVirtual (engine/mapper.h).
#include "scheduler_impl.h"

namespace apiary::cell {

// hived.md 7.1 step 1: the physical leaf (node, index) in `chain`, else
// in another chain; kNone when it is nowhere.
CellId SchedulerImpl::FindPhysicalLeaf(const std::string& chain, const std::string& node,
                                       int32_t index) const {
  auto nit = node_index_.find(node);
  if (nit == node_index_.end()) return kNone;
  auto cit = chain_index_.find(chain);
  ChainId preferred = cit == chain_index_.end() ? kNone : cit->second;
  CellId fallback = kNone;
  std::string fallback_chain;
  for (CellId leaf : node_leaves_[nit->second]) {
    if (pcells_[leaf].leaf_index != index) continue;
    if (pcells_[leaf].chain == preferred) return leaf;
    const std::string& name = chains_[pcells_[leaf].chain].name;
    if (fallback == kNone || name > fallback_chain) {
      fallback = leaf;
      fallback_chain = name;
    }
  }
  return fallback;
}

VCellId SchedulerImpl::VirtualHint(const PodBindInfo& info, size_t flat, const Group& g,
                                   ChainId ch) const {
  if (flat >= info.virtual_leaf_cells.size() || info.virtual_leaf_cells[flat].empty())
    return kNone;
  if (vcell_by_address_.empty()) {
    vcell_by_address_.reserve(vcells_.size());
    for (VCellId v{0}; v < static_cast<VCellId>(vcells_.size()); ++v)
      vcell_by_address_.emplace(vcells_[v].address, v);
  }
  auto it = vcell_by_address_.find(info.virtual_leaf_cells[flat]);
  if (it == vcell_by_address_.end()) return kNone;
  const VCell& v = vcells_[it->second];
  if (v.vc != g.vc || v.chain != ch || v.level != 1) return kNone;
  // In the group's pinned cell, or outside every pinned cell.
  int32_t pin = kNone;
  if (!g.pinned_id.empty() && g.vc != kNone) {
    const auto& pinned = vcs_[g.vc].pinned;
    for (size_t k = 0; k < pinned.size(); ++k)
      if (pinned[k].id == g.pinned_id) pin = static_cast<int32_t>(k);
  }
  if (v.pinned_index != pin) return kNone;
  return it->second;
}

void SchedulerImpl::FreeDoomedBindingFor(VCellId hint, CellId pleaf,
                                         std::vector<std::pair<ChainId, int32_t>>& rebind) {
  const VCellId wp = vcells_[hint].preassigned;
  const int32_t level = vcells_[wp].level;
  CellId a = pleaf;
  while (a != kNone && pcells_[a].level < level) a = pcells_[a].parent;
  if (a == kNone || pcells_[a].level != level || vcells_[wp].pcell == a) return;
  auto doomed_unused = [&](CellId c) {
    return c != kNone && pcells_[c].doomed_pos != kNone && DoomedUnused(c);
  };
  const CellId d = vcells_[wp].pcell;
  // Only doomed bindings move: the preassigned cell must be unbound or
  // doomed elsewhere, and the group's own cell free or doomed (unused).
  if (d != kNone && !doomed_unused(d)) return;
  const bool a_doomed = doomed_unused(a) && pcells_[a].vcell != kNone &&
                        vcells_[pcells_[a].vcell].parent == kNone;
  if (!a_doomed && !InFreeCellList(a)) return;
  auto release = [&](CellId c) {
    ReleaseDoomed(c);
    rebind.emplace_back(pcells_[c].chain, pcells_[c].level);
  };
  if (d != kNone) release(d);
  if (a_doomed) release(a);
}

// lazy: 0 = false, 1 = true, 2 = nil (opportunistic leaf).
void SchedulerImpl::MapAllocatedLeaf(CellId pleaf, VCellId hint, const PodPlacementInfo& ppi,
                                     size_t index, bool has_types, bool lazy_so_far,
                                     const Group& g, VCellId& vleaf, int& lazy) const {
  vleaf = kNone;
  lazy = 0;
  if (!has_types || index >= ppi.preassigned_cell_types.size()) {
    lazy = 1;
    return;
  }
  if (!g.has_virtual || lazy_so_far) return;
  const std::string& type = ppi.preassigned_cell_types[index];
  if (type.empty()) {
    lazy = 2;
    return;
  }
  ChainId ch = pcells_[pleaf].chain;
  // The persisted virtual leaf, when there is one, also says at which level
  // the group's preassigned cell is: it is kept in sync with the group,
  // while the bind info's types are those of the first placement (a
  // re-derivation may have mapped the leaf through another preassigned cell).
  int32_t level = hint != kNone ? vcells_[vcells_[hint].preassigned].level : LevelOfType(ch, type);
  std::string message;
  if (level == kNone || g.vc == kNone) {
    lazy = 1;
    return;
  }
  const Vc& vc = vcs_[g.vc];
  const std::vector<std::vector<VCellId>>* vc_cells_by_level = nullptr;
  if (!g.pinned_id.empty()) {
    for (const PinnedVc& p : vc.pinned)
      if (p.id == g.pinned_id) vc_cells_by_level = &p.full;
  } else if (vc.chains[ch].has_nonpinned) {
    vc_cells_by_level = &vc.chains[ch].preassigned;
  }
  if (vc_cells_by_level == nullptr) {
    lazy = 1;
    return;
  }
  vleaf = Mapper::PhysicalToVirtual(Trees(), pleaf, *vc_cells_by_level, level, g.priority,
                                     message, hint);
  // Apiary: a leaf bound to another VC's cell (a doomed binding made while
  // its node was bad) cannot carry this group's guaranteed use.
  if (vleaf != kNone && vcells_[vleaf].vc != g.vc) vleaf = kNone;
  if (vleaf == kNone) lazy = 1;
}

}  // namespace apiary::cell
