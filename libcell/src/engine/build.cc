// Building the engine's trees from a Config and its DerivedConfig (hived.md
// 2.6, 5): the chains and physical cells exactly as DeriveConfig and
// ForEachPhysicalCell report them (what is validated is what is built; the
// engine derives no cell type itself), the nodes, each virtual
// cluster's virtual cells, the free lists and counters of 5.4/5.5 and the
// node arrays of the topology-aware schedulers.
#include "scheduler_impl.h"

#include <charconv>

namespace apiary::cell {

namespace {

std::string LastSegment(const std::string& address) {
  auto pos = address.rfind('/');
  return pos == std::string::npos ? address : address.substr(pos + 1);
}

}  // namespace

Status SchedulerImpl::Build(const Config& config, const DerivedConfig& derived) {
  // Chains (2.6), from the validated derivation: ChainId = index into
  // derived.chains (first appearance in physicalCells). Every per-level
  // property a cell needs is the property of its chain's type at that level.
  for (const DerivedChain& d : derived.chains) {
    Chain c;
    c.name = d.name;
    c.leaf_type = d.leaf_cell_type;
    c.top_level = d.top_level;
    c.type_at_level.assign(d.top_level + 1, "");
    c.child_number_at_level.assign(d.top_level + 1, 0);
    c.leaves_at_level.assign(d.top_level + 1, 1);
    c.at_or_above_node_at_level.assign(d.top_level + 1, 0);
    c.node_level_at_level.assign(d.top_level + 1, 0);
    for (int32_t l = 2; l <= d.top_level; ++l) {
      const DerivedCellType* t = derived.FindCellType(d.level_cell_types[l - 1]);
      c.type_at_level[l] = t->name;
      c.child_number_at_level[l] = static_cast<int32_t>(t->child_cell_number);
      c.leaves_at_level[l] = static_cast<int32_t>(t->leaf_cell_number);
      c.at_or_above_node_at_level[l] = t->at_or_above_node;
      c.node_level_at_level[l] = t->node_level;
    }
    c.type_at_level[1] = d.level_cell_types[0];
    c.full.assign(d.top_level + 1, {});
    chain_index_[c.name] = static_cast<ChainId>(chains_.size());
    chains_.push_back(std::move(c));
  }
  // Chains of a leaf type are tried in descending byte-wise name (6.2, Q1).
  for (const DerivedChain& d : derived.chains) {
    if (chains_by_leaf_.count(d.leaf_cell_type)) continue;
    for (int32_t ch : derived.ChainsOfLeafType(d.leaf_cell_type))
      chains_by_leaf_[d.leaf_cell_type].push_back(static_cast<ChainId>(ch));
  }

  // Physical cells (2.4), exactly as the validator walked them: physicalCells
  // in list order, depth first. Cells get ids in that order, so a parent's id
  // precedes its children's; its children range in pchildren_ is reserved
  // when the parent is made and filled as the children arrive. Nodes get ids
  // in order of first appearance, the configuration order of hived.md 9; each
  // chain's full lists and each node's leaves come out in construction order.
  std::vector<CellId> id_of_visit;
  std::vector<int32_t> children_seen;  // [cell]
  ForEachPhysicalCell(config, derived, [&](const PhysicalCellVisit& v) {
    const ChainId chain = static_cast<ChainId>(v.chain);
    const CellId parent = v.parent < 0 ? kNone : id_of_visit[v.parent];
    CellId id = NewPCell(chain, v.level, parent, std::string(v.address));
    id_of_visit.push_back(id);
    children_seen.push_back(0);
    PCell& c = pcells_[id];
    if (!v.pinned_cell_id.empty()) {
      pinned_cells_[std::string(v.pinned_cell_id)] = id;
      c.pinned = true;
    }
    if (c.node_level) {
      auto [it, inserted] =
          node_index_.emplace(std::string(v.node), static_cast<NodeId>(node_names_.size()));
      if (inserted) {
        node_names_.emplace_back(v.node);
        node_leaves_.emplace_back();
        node_bad_.push_back(false);
      }
      c.node = it->second;
    } else if (parent != kNone) {
      c.node = pcells_[parent].node;
    }
    if (c.level == 1) {
      c.leaf_index = v.leaf_index;
      if (c.node != kNone) node_leaves_[c.node].push_back(id);
    } else {
      c.child_begin = static_cast<int32_t>(pchildren_.size());
      c.child_count = chains_[chain].child_number_at_level[c.level];
      pchildren_.resize(pchildren_.size() + c.child_count, kNone);
    }
    if (parent == kNone) {
      chains_[chain].tops.push_back(id);
    } else {
      pchildren_[pcells_[parent].child_begin + children_seen[parent]++] = id;
    }
    chains_[chain].full[c.level].push_back(id);
  });
  // Multi-node cells list every node below them, in tree order; children
  // have larger ids than their parent, so descending ids see them first.
  for (size_t i = pcells_.size(); i-- > 0;) {
    PCell& self = pcells_[i];
    if (self.level == 1 || self.node != kNone) continue;
    for (int32_t k = 0; k < self.child_count; ++k) {
      const PCell& ch = pcells_[pchildren_[self.child_begin + k]];
      if (ch.node != kNone) {
        self.nodes.push_back(ch.node);
      } else {
        self.nodes.insert(self.nodes.end(), ch.nodes.begin(), ch.nodes.end());
      }
    }
  }

  // Free lists, bad lists, counters (2.6, 5.5).
  free_.resize(chains_.size());
  bad_free_.resize(chains_.size());
  all_vc_free_.resize(chains_.size());
  total_left_.resize(chains_.size());
  for (size_t ch = 0; ch < chains_.size(); ++ch) {
    const Chain& c = chains_[ch];
    free_[ch].assign(c.top_level + 1, {});
    bad_free_[ch].assign(c.top_level + 1, {});
    all_vc_free_[ch].assign(c.top_level + 1, 0);
    total_left_[ch].assign(c.top_level + 1, 0);
    for (CellId t : c.tops) FreeAppend(t);
    total_left_[ch][c.top_level] = static_cast<int32_t>(c.tops.size());
    for (int32_t l = c.top_level; l > 1; --l)
      total_left_[ch][l - 1] = total_left_[ch][l] * c.child_number_at_level[l];
  }

  // Virtual clusters (2.5), VC ids in ascending name so that every "for each
  // VC" loop runs in ascending name order (8.2, 9).
  std::vector<const VirtualClusterSpec*> vc_specs;
  for (const auto& v : config.virtual_clusters) vc_specs.push_back(&v);
  std::sort(vc_specs.begin(), vc_specs.end(),
            [](auto* a, auto* b) { return a->name < b->name; });
  for (const VirtualClusterSpec* spec : vc_specs) {
    VcId vid = static_cast<VcId>(vcs_.size());
    vc_index_[spec->name] = vid;
    Vc vc;
    vc.name = spec->name;
    vc.chains.resize(chains_.size());
    for (size_t ch = 0; ch < chains_.size(); ++ch) {
      int32_t top = chains_[ch].top_level;
      vc.chains[ch].full.assign(top + 1, {});
      vc.chains[ch].preassigned.assign(top + 1, {});
      vc.chains[ch].vc_free.assign(top + 1, 0);
      vc.chains[ch].doomed.assign(top + 1, {});
    }
    vcs_.push_back(std::move(vc));
    int32_t number = 0;
    for (const auto& vcell : spec->virtual_cells) {
      std::string path = vcell.cell_type;
      std::string chain_name = path.substr(0, path.find('.'));
      std::string type_name = LastSegment(path.find('.') == std::string::npos
                                              ? path
                                              : path.substr(path.rfind('.') + 1));
      ChainId ch = chain_index_.at(chain_name);
      int32_t level = LevelOfType(ch, type_name);
      for (int64_t k = 0; k < vcell.cell_number; ++k) {
        std::string addr = spec->name + "/" + std::to_string(number++);
        VCellId v = NewVCell(vid, ch, level, kNone, addr, kNone);
        BuildVirtualSubtree(v);
        ChainVc& cv = vcs_[vid].chains[ch];
        cv.has_nonpinned = cv.has_any = true;
        cv.preassigned[level].push_back(v);
        cv.vc_free[level]++;
        AppendVirtualFull(v, cv.full);
        vcs_[vid].status_cells.push_back(v);
      }
    }
    for (const auto& pid : spec->pinned_cell_ids) {
      CellId pc = pinned_cells_.at(pid);
      const PCell& p = pcells_[pc];
      std::string addr = spec->name + "/" + std::to_string(number++);
      int32_t pin_index = static_cast<int32_t>(vcs_[vid].pinned.size());
      VCellId v = NewVCell(vid, p.chain, p.level, kNone, addr, pin_index);
      BuildVirtualSubtree(v);
      PinnedVc pinned;
      pinned.id = pid;
      pinned.pcell = pc;
      pinned.vtop = v;
      pinned.full.assign(p.level + 1, {});
      AppendVirtualFull(v, pinned.full);
      vcs_[vid].pinned.push_back(std::move(pinned));
      ChainVc& cv = vcs_[vid].chains[p.chain];
      cv.has_any = true;
      cv.vc_free[p.level]++;
      vcs_[vid].status_cells.push_back(v);
    }
  }
  for (const Vc& vc : vcs_)
    for (size_t ch = 0; ch < chains_.size(); ++ch)
      for (size_t l = 0; l < vc.chains[ch].vc_free.size(); ++l)
        all_vc_free_[ch][l] += vc.chains[ch].vc_free[l];

  // Topology-aware schedulers (6.3, 6.6).
  for (VcId v = 0; v < static_cast<VcId>(vcs_.size()); ++v) {
    for (size_t ch = 0; ch < chains_.size(); ++ch) {
      ChainVc& cv = vcs_[v].chains[ch];
      if (!cv.has_nonpinned) continue;
      cv.node_array = NewNodeArray(true, true, static_cast<ChainId>(ch), cv.full);
    }
    for (PinnedVc& p : vcs_[v].pinned)
      p.node_array = NewNodeArray(true, true, vcells_[p.vtop].chain, p.full);
  }
  opp_node_arrays_.resize(chains_.size());
  for (size_t ch = 0; ch < chains_.size(); ++ch)
    opp_node_arrays_[ch] = NewNodeArray(false, false, static_cast<ChainId>(ch), chains_[ch].full);
  // The trees are complete: drop the spare capacity the per-cell arrays
  // grew by doubling (up to half of each).
  pcells_.shrink_to_fit();
  vcells_.shrink_to_fit();

  // Pinned cells: VCs in ascending name, pinned cells in list order (9).
  for (VcId v = 0; v < static_cast<VcId>(vcs_.size()); ++v) {
    for (PinnedVc& p : vcs_[v].pinned) {
      AllocatePreassigned(p.pcell, v, /*doomed=*/false);
      BindCell(p.pcell, p.vtop);
    }
  }
  // Every configured node starts bad (9).
  for (NodeId n = 0; n < static_cast<NodeId>(node_names_.size()); ++n)
    SetNodeBad(n);
  return Status::Ok();
}

CellId SchedulerImpl::NewPCell(ChainId chain, int32_t level, CellId parent,
                               std::string address) {
  CellId id = static_cast<CellId>(pcells_.size());
  pcells_.emplace_back();
  PCell& c = pcells_.back();
  const Chain& ch = chains_[chain];
  c.chain = chain;
  c.parent = parent;
  c.address = std::move(address);
  c.level = level;
  c.total_leaves = ch.leaves_at_level[level];
  c.at_or_above_node = ch.at_or_above_node_at_level[level];
  c.node_level = ch.node_level_at_level[level];
  return id;
}

VCellId SchedulerImpl::NewVCell(VcId vc, ChainId chain, int32_t level,
                                VCellId parent, const std::string& address,
                                int32_t pinned_index) {
  VCellId id = static_cast<VCellId>(vcells_.size());
  vcells_.emplace_back();
  VCell& v = vcells_.back();
  v.vc = vc;
  v.chain = chain;
  v.level = level;
  v.parent = parent;
  v.address = address;
  v.pinned_index = pinned_index;
  v.preassigned = parent == kNone ? id : vcells_[parent].preassigned;
  if (level > 1) {
    const Chain& ch = chains_[chain];
    v.total_leaves = ch.leaves_at_level[level];
    v.at_or_above_node = ch.at_or_above_node_at_level[level];
    v.node_level = ch.node_level_at_level[level];
  }
  return id;
}

void SchedulerImpl::BuildVirtualSubtree(VCellId id) {
  int32_t level = vcells_[id].level;
  if (level == 1) return;
  ChainId chain = vcells_[id].chain;
  int32_t n = chains_[chain].child_number_at_level[level];
  // Children of a preassigned cell are numbered 0..c-1; below that, the
  // children of ".../m" are m*c .. m*c+c-1 (2.5).
  int64_t m = 0;
  if (vcells_[id].parent != kNone) {
    std::string seg = LastSegment(vcells_[id].address);
    std::from_chars(seg.data(), seg.data() + seg.size(), m);
  }
  int32_t begin = static_cast<int32_t>(vchildren_.size());
  vchildren_.resize(vchildren_.size() + n, kNone);
  std::vector<VCellId> kids(n);
  for (int32_t k = 0; k < n; ++k) {
    std::string addr = vcells_[id].address + "/" + std::to_string(m * n + k);
    kids[k] = NewVCell(vcells_[id].vc, chain, level - 1, id, addr,
                       vcells_[id].pinned_index);
    vchildren_[begin + k] = kids[k];
  }
  vcells_[id].child_begin = begin;
  vcells_[id].child_count = n;
  for (VCellId k : kids) BuildVirtualSubtree(k);
}

void SchedulerImpl::AppendVirtualFull(VCellId v,
                                      std::vector<std::vector<VCellId>>& full) {
  full[vcells_[v].level].push_back(v);
  for (int32_t k = 0; k < vcells_[v].child_count; ++k)
    AppendVirtualFull(vchildren_[vcells_[v].child_begin + k], full);
}

int32_t SchedulerImpl::LevelOfType(ChainId chain, const std::string& type) const {
  const Chain& c = chains_[chain];
  for (int32_t l = 1; l <= c.top_level; ++l)
    if (c.type_at_level[l] == type) return l;
  return kNone;
}

}  // namespace apiary::cell
