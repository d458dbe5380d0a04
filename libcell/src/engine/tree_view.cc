// TreeView (apiary/cell/cell_tree.h): the read-only view of SchedulerImpl's
// trees. Every call reads the engine's arrays; nothing is copied or cached.
#include "apiary/cell/cell_tree.h"

#include "scheduler_impl.h"

namespace apiary::cell {

int32_t TreeView::ChainCount() const { return static_cast<int32_t>(impl_->chains_.size()); }

std::string_view TreeView::ChainName(ChainId chain) const { return impl_->chains_[chain].name; }

std::string_view TreeView::LeafCellType(ChainId chain) const {
  return impl_->chains_[chain].leaf_type;
}

int32_t TreeView::TopLevel(ChainId chain) const { return impl_->chains_[chain].top_level; }

std::string_view TreeView::CellTypeAt(ChainId chain, int32_t level) const {
  const Chain& c = impl_->chains_[chain];
  return level == 1 ? c.leaf_type : c.type_at_level[level];
}

std::span<const CellId> TreeView::FreeList(ChainId chain, int32_t level) const {
  return impl_->free_[chain][level];
}

int32_t TreeView::PhysicalCellCount() const {
  return static_cast<int32_t>(impl_->pcells_.size());
}

std::vector<CellId> TreeView::PhysicalTops() const {
  std::vector<CellId> out;
  for (CellId c{0}; c < CellId(impl_->pcells_.size()); ++c)
    if (impl_->pcells_[c].parent == kNone) out.push_back(c);
  return out;
}

PhysicalCellView TreeView::Physical(CellId c) const {
  const PCell& p = impl_->pcells_[c];
  const CellTrees trees = impl_->Trees();
  PhysicalCellView v;
  v.id = c;
  v.parent = p.parent;
  v.chain = p.chain;
  v.level = p.level;
  v.cell_type = CellTypeAt(p.chain, p.level);
  v.address = p.address;
  v.children = trees.Children(c);
  v.node_level = p.node_level;
  v.node = p.node;
  v.leaf_index = p.leaf_index;
  v.healthy = p.healthy;
  v.split = p.split;
  v.state = p.state;
  v.priority = p.priority;
  v.bound = p.vcell;
  v.vc = p.vcell != kNone ? impl_->vcells_[p.vcell].vc : p.opp_vc;
  v.group = p.using_group;
  return v;
}

int32_t TreeView::VcCount() const { return static_cast<int32_t>(impl_->vcs_.size()); }

std::string_view TreeView::VcName(VcId vc) const { return impl_->vcs_[vc].name; }

VcId TreeView::FindVc(std::string_view name) const {
  auto it = impl_->vc_index_.find(std::string(name));
  return it == impl_->vc_index_.end() ? VcId::None() : it->second;
}

std::span<const VCellId> TreeView::VirtualTops(VcId vc) const {
  return impl_->vcs_[vc].status_cells;
}

int32_t TreeView::VirtualCellCount() const {
  return static_cast<int32_t>(impl_->vcells_.size());
}

VirtualCellView TreeView::Virtual(VCellId v) const {
  const VCell& c = impl_->vcells_[v];
  VirtualCellView out;
  out.id = v;
  out.parent = c.parent;
  out.preassigned = c.preassigned;
  out.vc = c.vc;
  out.chain = c.chain;
  out.level = c.level;
  out.cell_type = CellTypeAt(c.chain, c.level);
  out.address = c.address;
  out.children = impl_->Trees().Children(v);
  out.node_level = c.node_level;
  out.priority = c.priority;
  out.bound = c.pcell;
  return out;
}

int32_t TreeView::NodeCount() const { return static_cast<int32_t>(impl_->node_names_.size()); }

std::string_view TreeView::NodeName(NodeId node) const { return impl_->node_names_[node]; }

bool TreeView::NodeHealthy(NodeId node) const { return !impl_->node_bad_[node]; }

std::string_view TreeView::GroupName(GroupId group) const { return impl_->groups_[group].name; }

}  // namespace apiary::cell
