// Building the engine's trees from a validated Config (hived.md 2.6, 5):
// cell types and chains, the physical cells with their nodes, each virtual
// cluster's virtual cells, the free lists and counters of 5.4/5.5 and the
// node arrays of the topology-aware schedulers.
#include "scheduler_impl.h"

#include <charconv>
#include <functional>

namespace apiary::cell {

namespace {

std::string LastSegment(const std::string& address) {
  auto pos = address.rfind('/');
  return pos == std::string::npos ? address : address.substr(pos + 1);
}

// Cells by level as the plain integers a node array holds (it serves
// either kind of cell).
template <typename IdT>
std::vector<std::vector<int32_t>> AsIndexes(const std::vector<std::vector<IdT>>& by_level) {
  std::vector<std::vector<int32_t>> out(by_level.size());
  for (size_t l = 0; l < by_level.size(); ++l) out[l].assign(by_level[l].begin(), by_level[l].end());
  return out;
}

}  // namespace

Status SchedulerImpl::Build(const Config& config) {
  // Cell types and their derived properties (2.3). The config is validated,
  // so the type graph is a forest and every chain has a node level.
  for (const auto& t : config.cell_types) {
    TypeInfo info;
    info.spec = &t;
    types_[t.name] = info;
  }
  std::function<void(const std::string&)> derive = [&](const std::string& name) {
    auto it = types_.find(name);
    if (it == types_.end() || it->second.derived) return;
    TypeInfo& info = it->second;
    const std::string& child = info.spec->child_cell_type;
    auto cit = types_.find(child);
    if (cit == types_.end()) {  // child is a leaf type
      info.level = 2;
      info.leaves = static_cast<int32_t>(info.spec->child_cell_number);
      info.leaf_type = child;
      info.at_or_above_node = info.spec->is_node_level;
      info.node_level = info.spec->is_node_level;
    } else {
      derive(child);
      const TypeInfo& c = cit->second;
      info.level = c.level + 1;
      info.leaves = c.leaves * static_cast<int32_t>(info.spec->child_cell_number);
      info.leaf_type = c.leaf_type;
      bool multi = c.at_or_above_node;
      info.at_or_above_node = info.spec->is_node_level || c.at_or_above_node;
      info.node_level = info.at_or_above_node && !multi;
    }
    info.derived = true;
  };
  for (const auto& t : config.cell_types) derive(t.name);

  // Physical cells (2.4).
  for (size_t i = 0; i < config.physical_cells.size(); ++i) {
    const PhysicalCellSpec& top = config.physical_cells[i];
    auto cid = chain_index_.find(top.cell_type);
    ChainId chain;
    if (cid == chain_index_.end()) {
      chain = static_cast<ChainId>(chains_.size());
      chain_index_[top.cell_type] = chain;
      Chain c;
      c.name = top.cell_type;
      const TypeInfo& ti = types_.at(top.cell_type);
      c.top_level = ti.level;
      c.leaf_type = ti.leaf_type;
      c.type_at_level.assign(ti.level + 1, "");
      c.child_number_at_level.assign(ti.level + 1, 0);
      c.leaves_at_level.assign(ti.level + 1, 1);
      std::string t = top.cell_type;
      for (int32_t l = ti.level; l >= 1; --l) {
        c.type_at_level[l] = t;
        auto it = types_.find(t);
        if (it != types_.end()) {
          c.child_number_at_level[l] =
              static_cast<int32_t>(it->second.spec->child_cell_number);
          c.leaves_at_level[l] = it->second.leaves;
          t = it->second.spec->child_cell_type;
        }
      }
      c.full.assign(ti.level + 1, {});
      chains_.push_back(std::move(c));
      chains_by_leaf_[chains_.back().leaf_type].push_back(chain);
    } else {
      chain = cid->second;
    }
    std::string address = top.cell_address ? *top.cell_address : std::to_string(i);
    CellId id = NewPCell(chain, top.cell_type, kNone, address);
    chains_[chain].tops.push_back(id);
    BuildPhysicalSubtree(id, top, static_cast<int64_t>(i));
  }
  // Chains of a leaf type are tried in descending byte-wise name (6.2, Q1).
  for (auto& [leaf, list] : chains_by_leaf_) {
    std::sort(list.begin(), list.end(), [&](ChainId a, ChainId b) {
      return chains_[a].name > chains_[b].name;
    });
  }
  // Full lists per level in construction order: a depth-first walk of each
  // top in list order, filtered by level.
  for (auto& chain : chains_) {
    std::function<void(CellId)> walk = [&](CellId c) {
      chain.full[pcells_[c].level].push_back(c);
      for (int32_t k = 0; k < pcells_[c].child_count; ++k)
        walk(pchildren_[pcells_[c].child_begin + k]);
    };
    for (CellId t : chain.tops) walk(t);
  }
  // Nodes in configuration order: first appearance in a depth-first walk of
  // physicalCells (9).
  {
    std::function<void(CellId)> walk = [&](CellId c) {
      const PCell& p = pcells_[c];
      if (p.level == 1 && p.node != kNone) node_leaves_[p.node].push_back(c);
      for (int32_t k = 0; k < p.child_count; ++k)
        walk(pchildren_[p.child_begin + k]);
    };
    for (CellId c{0}; c < static_cast<CellId>(pcells_.size()); ++c)
      if (pcells_[c].parent == kNone) walk(c);
    // node_leaves_ must list leaves per chain in full-list order; the walk
    // above visits tops in list order, which is that order per chain.
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
  for (VcId v{0}; v < static_cast<VcId>(vcs_.size()); ++v) {
    for (size_t ch = 0; ch < chains_.size(); ++ch) {
      ChainVc& cv = vcs_[v].chains[ch];
      if (!cv.has_nonpinned) continue;
      cv.node_array = NewNodeArray(true, true, static_cast<ChainId>(ch), AsIndexes(cv.full));
    }
    for (PinnedVc& p : vcs_[v].pinned)
      p.node_array = NewNodeArray(true, true, vcells_[p.vtop].chain, AsIndexes(p.full));
  }
  opp_node_arrays_.resize(chains_.size());
  for (size_t ch = 0; ch < chains_.size(); ++ch)
    opp_node_arrays_[ch] =
        NewNodeArray(false, false, static_cast<ChainId>(ch), AsIndexes(chains_[ch].full));
  // The trees are complete: drop the spare capacity the per-cell arrays
  // grew by doubling (up to half of each).
  pcells_.shrink_to_fit();
  vcells_.shrink_to_fit();

  // Pinned cells: VCs in ascending name, pinned cells in list order (9).
  for (VcId v{0}; v < static_cast<VcId>(vcs_.size()); ++v) {
    for (PinnedVc& p : vcs_[v].pinned) {
      AllocatePreassigned(p.pcell, v, /*doomed=*/false);
      BindCell(p.pcell, p.vtop);
    }
  }
  // Every configured node starts bad (9).
  for (NodeId n{0}; n < static_cast<NodeId>(node_names_.size()); ++n)
    SetNodeBad(n);
  return Status::Ok();
}

CellId SchedulerImpl::NewPCell(ChainId chain, const std::string& type,
                               CellId parent, const std::string& address) {
  CellId id = static_cast<CellId>(pcells_.size());
  pcells_.emplace_back();
  PCell& c = pcells_.back();
  c.chain = chain;
  c.parent = parent;
  c.address = address;
  auto it = types_.find(type);
  if (it == types_.end()) {  // a leaf
    c.level = 1;
    c.total_leaves = 1;
    c.at_or_above_node = false;
  } else {
    c.level = it->second.level;
    c.total_leaves = it->second.leaves;
    c.at_or_above_node = it->second.at_or_above_node;
    c.node_level = it->second.node_level;
  }
  return id;
}

void SchedulerImpl::BuildPhysicalSubtree(CellId id, const PhysicalCellSpec& spec,
                                         int64_t default_number) {
  PCell* c = &pcells_[id];
  if (!spec.pinned_cell_id.empty()) {
    pinned_cells_[spec.pinned_cell_id] = id;
    c->pinned = true;
  }
  if (c->node_level) {
    std::string name = LastSegment(c->address);
    auto it = node_index_.find(name);
    NodeId n;
    if (it == node_index_.end()) {
      n = static_cast<NodeId>(node_names_.size());
      node_index_[name] = n;
      node_names_.push_back(name);
      node_leaves_.emplace_back();
      node_bad_.push_back(false);
    } else {
      n = it->second;
    }
    c->node = n;
  } else if (c->parent != kNone && pcells_[c->parent].node != kNone) {
    c->node = pcells_[c->parent].node;
  }
  if (c->level == 1) {
    int64_t v = 0;
    std::string seg = LastSegment(c->address);
    auto r = std::from_chars(seg.data(), seg.data() + seg.size(), v);
    c->leaf_index = (r.ec == std::errc() ? static_cast<int32_t>(v) : -1);
    return;
  }
  const TypeInfo& ti = types_.at(chains_[c->chain].type_at_level[c->level]);
  const std::string& child_type = ti.spec->child_cell_type;
  int32_t n_children = static_cast<int32_t>(ti.spec->child_cell_number);
  int64_t base = c->node_level ? 0 : default_number;
  int32_t begin = static_cast<int32_t>(pchildren_.size());
  pchildren_.resize(pchildren_.size() + n_children, kNone);
  std::vector<CellId> kids(n_children);
  for (int32_t k = 0; k < n_children; ++k) {
    int64_t dn = base * n_children + k;
    const PhysicalCellSpec* cs =
        k < static_cast<int32_t>(spec.cell_children.size()) ? &spec.cell_children[k]
                                                             : nullptr;
    std::string seg = (cs && cs->cell_address) ? *cs->cell_address : std::to_string(dn);
    std::string addr = pcells_[id].address + "/" + seg;
    kids[k] = NewPCell(pcells_[id].chain, child_type, id, addr);
    pchildren_[begin + k] = kids[k];
  }
  pcells_[id].child_begin = begin;
  pcells_[id].child_count = n_children;
  static const PhysicalCellSpec kEmpty;
  for (int32_t k = 0; k < n_children; ++k) {
    const PhysicalCellSpec& cs =
        k < static_cast<int32_t>(spec.cell_children.size()) ? spec.cell_children[k] : kEmpty;
    BuildPhysicalSubtree(kids[k], cs, base * n_children + k);
  }
  // Multi-node cells list every node below them, in tree order.
  PCell& self = pcells_[id];
  if (self.node == kNone) {
    for (int32_t k = 0; k < n_children; ++k) {
      const PCell& ch = pcells_[kids[k]];
      if (ch.node != kNone) {
        self.nodes.push_back(ch.node);
      } else {
        self.nodes.insert(self.nodes.end(), ch.nodes.begin(), ch.nodes.end());
      }
    }
  }
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
    const TypeInfo& ti = types_.at(chains_[chain].type_at_level[level]);
    v.total_leaves = ti.leaves;
    v.at_or_above_node = ti.at_or_above_node;
    v.node_level = ti.node_level;
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
