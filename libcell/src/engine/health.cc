// Node and cell health (hived.md 8): marking cells bad or healthy up the
// tree, which moves free cells between the free and bad-free lists and runs
// the doomed-cell rule.
#include "scheduler_impl.h"

namespace apiary::cell {

// hived.md 8.1: c turns bad, and every ancestor with it.
void SchedulerImpl::SetBadCell(CellId c) {
  if (!pcells_[c].healthy) return;
  pcells_[c].healthy = false;
  BumpHealth(c);
  if (pcells_[c].parent != kNone) SetBadCell(pcells_[c].parent);
  if (InFreeCellList(c)) {
    ChainId ch = pcells_[c].chain;
    int32_t l = pcells_[c].level;
    BadFreeAppend(c);
    if (all_vc_free_[ch][l] > HealthyFreeCount(ch, l)) TryBindDoomed(ch, l);
  } else if (pcells_[c].vcell == kNone && !pcells_[c].split) {
    BindBadToParentVirtual(c);
  }
}

// hived.md 8.1: c turns healthy, and each ancestor whose children all are.
void SchedulerImpl::SetHealthyCell(CellId c) {
  if (pcells_[c].healthy) return;
  pcells_[c].healthy = true;
  BumpHealth(c);
  if (InFreeCellList(c)) {
    BadFreeRemove(c);
    TryUnbindDoomed(pcells_[c].chain, pcells_[c].level);
  } else if (VCellId v = pcells_[c].vcell; v != kNone) {
    if (!pcells_[c].pinned && pcells_[c].priority < kMinGuaranteedPriority) {
      pcells_[c].vcell = kNone;
      SetVPcell(v, kNone);
      if (vcells_[v].parent == kNone) {
        VcId vc = vcells_[v].vc;
        DoomedRemove(c);
        ReleasePreassigned(c, vc, /*doomed=*/true);
      }
    }
  }
  CellId p = pcells_[c].parent;
  if (p == kNone) return;
  for (int32_t k = 0; k < pcells_[p].child_count; ++k)
    if (!pcells_[pchildren_[pcells_[p].child_begin + k]].healthy) return;
  SetHealthyCell(p);
}

// hived.md 8.1: a node turns bad: each of its leaves does.
void SchedulerImpl::SetNodeBad(NodeId n) {
  if (node_bad_[n]) return;
  node_bad_[n] = true;
  for (CellId leaf : node_leaves_[n]) SetBadCell(leaf);
}

// hived.md 8.1: a node turns healthy: each of its leaves does.
void SchedulerImpl::SetNodeHealthy(NodeId n) {
  if (!node_bad_[n]) return;
  node_bad_[n] = false;
  for (CellId leaf : node_leaves_[n]) SetHealthyCell(leaf);
}

// Startup (hived.md 9): every configured node heals, in configuration order.
void SchedulerImpl::SetAllNodesHealthy() {
  for (NodeId n{0}; n < static_cast<NodeId>(node_names_.size()); ++n) SetNodeHealthy(n);
}

Status SchedulerImpl::SetNodeHealth(std::string_view node, bool healthy) {
  auto it = node_index_.find(std::string(node));
  if (it == node_index_.end())
    return Status::NotFound("node " + std::string(node) + " is not in the configuration");
  if (healthy) {
    SetNodeHealthy(it->second);
  } else {
    SetNodeBad(it->second);
  }
  return Status::Ok();
}

bool SchedulerImpl::HasNode(std::string_view node) const {
  return node_index_.count(std::string(node)) > 0;
}

}  // namespace apiary::cell
