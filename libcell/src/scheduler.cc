// The scheduling engine. hived.md is the specification; section numbers in
// comments refer to it. The code is organised as: construction; free lists
// and quota counters (5.4, 5.5); health and doomed cells (8); leaf
// allocation and binding (5.1, 7.1); topology-aware placement (6.3, 6.6);
// mapping virtual to physical (6.5); scheduling (6.1, 6.2); commit, deletion
// and preemption (7); recovery (9); inspection (11).
#include "scheduler_impl.h"

#include "apiary/cell/config_derived.h"
#include "apiary/cell/feasibility.h"

#include <charconv>
#include <cstdio>
#include <ctime>
#include <functional>

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

std::string LastSegment(const std::string& address) {
  auto pos = address.rfind('/');
  return pos == std::string::npos ? address : address.substr(pos + 1);
}

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

template <typename T>
void SwapRemoveValue(std::vector<T>& v, const T& x) {
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] == x) {
      v[i] = v.back();
      v.pop_back();
      return;
    }
  }
}

}  // namespace

// ---------------------------------------------------------------------------
// Construction
// ---------------------------------------------------------------------------

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
    for (CellId c = 0; c < static_cast<CellId>(pcells_.size()); ++c)
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
  for (VcId v = 0; v < static_cast<VcId>(vcs_.size()); ++v) {
    for (size_t ch = 0; ch < chains_.size(); ++ch) {
      ChainVc& cv = vcs_[v].chains[ch];
      if (!cv.has_nonpinned) continue;
      cv.tas = NewTas(true, true, static_cast<ChainId>(ch), cv.full);
    }
    for (PinnedVc& p : vcs_[v].pinned)
      p.tas = NewTas(true, true, vcells_[p.vtop].chain, p.full);
  }
  opp_tas_.resize(chains_.size());
  for (size_t ch = 0; ch < chains_.size(); ++ch)
    opp_tas_[ch] = NewTas(false, false, static_cast<ChainId>(ch), chains_[ch].full);
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

int32_t SchedulerImpl::NewTas(bool is_virtual, bool cross_priority_pack,
                              ChainId chain,
                              const std::vector<std::vector<int32_t>>& full) {
  // The node view (6.3): the lowest level whose first cell is at or above
  // node level gives the nodes; below it, every cell whose nearest
  // at-or-above-node ancestor (else its top) is not yet a node becomes one.
  Tas t;
  t.is_virtual = is_virtual;
  t.cross_priority_pack = cross_priority_pack;
  t.chain = chain;
  int32_t top = static_cast<int32_t>(full.size()) - 1;
  int32_t start = top + 1;
  for (int32_t l = 1; l <= top; ++l) {
    if (full[l].empty()) continue;
    bool above = is_virtual ? vcells_[full[l][0]].at_or_above_node
                            : pcells_[full[l][0]].at_or_above_node;
    if (above) {
      start = l;
      break;
    }
  }
  std::unordered_set<int32_t> in_view;
  for (int32_t l = std::min(start, top); l >= 1; --l) {
    if (start > top && l > top) continue;
    for (int32_t c : full[l]) {
      int32_t a = c;
      if (is_virtual) {
        while (!vcells_[a].at_or_above_node && vcells_[a].parent != kNone)
          a = vcells_[a].parent;
      } else {
        while (!pcells_[a].at_or_above_node && pcells_[a].parent != kNone)
          a = pcells_[a].parent;
      }
      if (in_view.insert(a).second) {
        TasNode n;
        n.cell = a;
        t.nodes.push_back(n);
      }
    }
  }
  const int32_t index = static_cast<int32_t>(tas_.size());
  for (size_t i = 0; i < t.nodes.size(); ++i) {
    const int32_t c = t.nodes[i].cell;
    t.nodes[i].ord = static_cast<int32_t>(i);
    (is_virtual ? vcells_[c].tas : pcells_[c].tas) = index;
    (is_virtual ? vcells_[c].tas_ord : pcells_[c].tas_ord) = static_cast<int32_t>(i);
  }
  t.dirty_flag.assign(t.nodes.size(), 0);
  t.pos.assign(t.nodes.size(), 0);
  tas_.push_back(std::move(t));
  return index;
}

// ---------------------------------------------------------------------------
// Free lists and quota counters (5.4, 5.5)
// ---------------------------------------------------------------------------

// Every cell list of 5.4 (free lists, bad-free lists, doomed lists) appends
// at the end and removes by moving the last element into the hole; each cell
// remembers its position in the one list of each kind it can be in.
void SchedulerImpl::ListAppend(std::vector<CellId>& list, int32_t PCell::*pos, CellId c) {
  pcells_[c].*pos = static_cast<int32_t>(list.size());
  list.push_back(c);
}

void SchedulerImpl::ListRemove(std::vector<CellId>& list, int32_t PCell::*pos, CellId c) {
  int32_t at = pcells_[c].*pos;
  if (at == kNone) return;
  CellId last = list.back();
  list[at] = last;
  pcells_[last].*pos = at;
  list.pop_back();
  pcells_[c].*pos = kNone;
}

void SchedulerImpl::FreeAppend(CellId c) {
  ListAppend(free_[pcells_[c].chain][pcells_[c].level], &PCell::free_pos, c);
}

void SchedulerImpl::FreeRemove(CellId c) {
  ListRemove(free_[pcells_[c].chain][pcells_[c].level], &PCell::free_pos, c);
}

void SchedulerImpl::BadFreeAppend(CellId c) {
  ListAppend(bad_free_[pcells_[c].chain][pcells_[c].level], &PCell::bad_free_pos, c);
}

void SchedulerImpl::BadFreeRemove(CellId c) {
  ListRemove(bad_free_[pcells_[c].chain][pcells_[c].level], &PCell::bad_free_pos, c);
}

void SchedulerImpl::DoomedAppend(VcId vc, CellId c) {
  ListAppend(vcs_[vc].chains[pcells_[c].chain].doomed[pcells_[c].level], &PCell::doomed_pos, c);
  pcells_[c].doomed_vc = vc;
}

void SchedulerImpl::DoomedRemove(CellId c) {
  VcId vc = pcells_[c].doomed_vc;
  if (vc == kNone) return;
  ListRemove(vcs_[vc].chains[pcells_[c].chain].doomed[pcells_[c].level], &PCell::doomed_pos, c);
  pcells_[c].doomed_vc = kNone;
}

int32_t SchedulerImpl::Take(CellId c) {
  for (;;) {
    int32_t l = pcells_[c].level;
    CellId p = pcells_[c].parent;
    if (p != kNone && !pcells_[p].split) {
      for (int32_t k = 0; k < pcells_[p].child_count; ++k)
        FreeAppend(pchildren_[pcells_[p].child_begin + k]);
      pcells_[p].split = true;
      FreeRemove(c);
      c = p;
    } else {
      FreeRemove(c);
      return l;
    }
  }
}

int32_t SchedulerImpl::Give(CellId c) {
  for (;;) {
    int32_t l = pcells_[c].level;
    CellId p = pcells_[c].parent;
    bool merge = false;
    if (p != kNone) {
      merge = true;
      for (int32_t k = 0; k < pcells_[p].child_count; ++k) {
        CellId b = pchildren_[pcells_[p].child_begin + k];
        if (b != c && pcells_[b].free_pos == kNone) {
          merge = false;
          break;
        }
      }
    }
    if (merge) {
      for (int32_t k = 0; k < pcells_[p].child_count; ++k) {
        CellId b = pchildren_[pcells_[p].child_begin + k];
        if (b != c) FreeRemove(b);
      }
      pcells_[p].split = false;
      c = p;
    } else {
      FreeAppend(c);
      return l;
    }
  }
}

bool SchedulerImpl::InFreeCellList(CellId c) const {
  for (;;) {
    const PCell& p = pcells_[c];
    if (p.vcell != kNone || p.split) return false;
    if (p.parent == kNone || pcells_[p.parent].split) return true;
    c = p.parent;
  }
}

std::string SchedulerImpl::SafetyCheck(ChainId ch, int32_t l) const {
  if (total_left_[ch][l] < all_vc_free_[ch][l]) {
    return "Adding pod would lead to broken safety: cell type " +
           chains_[ch].type_at_level[l] + ", " +
           std::to_string(total_left_[ch][l]) + " left, " +
           std::to_string(all_vc_free_[ch][l]) + " free cells in all VCs";
  }
  return "";
}

std::string SchedulerImpl::AllocatePreassigned(CellId c, VcId vc, bool doomed) {
  std::string broken;
  ChainId ch = pcells_[c].chain;
  int32_t level = pcells_[c].level;
  vcs_[vc].chains[ch].vc_free[level]--;
  all_vc_free_[ch][level]--;
  total_left_[ch][level]--;
  int32_t split_up_to = Take(c);
  CellId parent = pcells_[c].parent;
  for (int32_t l = level + 1; l <= split_up_to; ++l) {
    total_left_[ch][l]--;
    std::string r = SafetyCheck(ch, l);
    if (!r.empty()) broken = r;
    if (!pcells_[parent].healthy) {
      BadFreeRemove(parent);
    } else {
      TryBindDoomed(ch, l);
    }
    parent = pcells_[parent].parent;
  }
  if (!pcells_[c].healthy) {
    AllocateBadCell(c);
    if (!doomed) TryUnbindDoomed(ch, level);
  } else {
    TryBindDoomed(ch, level);
  }
  int32_t n = pcells_[c].child_count;
  for (int32_t l = level - 1; l >= 1; --l) {
    total_left_[ch][l] -= n;
    std::string r = SafetyCheck(ch, l);
    if (!r.empty()) broken = r;
    if (!doomed) TryBindDoomed(ch, l);
    n *= chains_[ch].child_number_at_level[l];
  }
  return broken;
}

void SchedulerImpl::ReleasePreassigned(CellId c, VcId vc, bool doomed) {
  ChainId ch = pcells_[c].chain;
  int32_t level = pcells_[c].level;
  vcs_[vc].chains[ch].vc_free[level]++;
  all_vc_free_[ch][level]++;
  total_left_[ch][level]++;
  int32_t merge_up_to = Give(c);
  CellId parent = pcells_[c].parent;
  for (int32_t l = level + 1; l <= merge_up_to; ++l) {
    total_left_[ch][l]++;
    if (!pcells_[parent].healthy) {
      BadFreeAppend(parent);
    } else {
      TryUnbindDoomed(ch, l);
    }
    parent = pcells_[parent].parent;
  }
  if (!pcells_[c].healthy) {
    ReleaseBadCell(c);
    if (!doomed) TryBindDoomed(ch, level);
  } else {
    TryUnbindDoomed(ch, level);
  }
  int32_t n = pcells_[c].child_count;
  for (int32_t l = level - 1; l >= 1; --l) {
    total_left_[ch][l] += n;
    if (!doomed) TryUnbindDoomed(ch, l);
    n *= chains_[ch].child_number_at_level[l];
  }
}

// ---------------------------------------------------------------------------
// Health and doomed bad cells (8)
// ---------------------------------------------------------------------------

VCellId SchedulerImpl::FirstUnboundChild(VCellId v) const {
  if (v == kNone) return kNone;
  VCellId first = kNone;
  for (int32_t k = 0; k < vcells_[v].child_count; ++k) {
    VCellId c = vchildren_[vcells_[v].child_begin + k];
    if (vcells_[c].pcell != kNone) continue;
    if (!Claimed(c)) return c;
    if (first == kNone) first = c;
  }
  return first;
}

void SchedulerImpl::BindBadToParentVirtual(CellId c) {
  CellId p = pcells_[c].parent;
  if (p == kNone) return;
  VCellId v = FirstUnboundChild(pcells_[p].vcell);
  if (v == kNone) return;  // cannot happen on consistent state
  pcells_[c].vcell = v;
  SetVPcell(v, c);
}

void SchedulerImpl::AllocateBadCell(CellId c) {
  if (pcells_[c].bad_free_pos != kNone) BadFreeRemove(c);
  if (pcells_[c].vcell == kNone) BindBadToParentVirtual(c);
  for (int32_t k = 0; k < pcells_[c].child_count; ++k) {
    CellId ch = pchildren_[pcells_[c].child_begin + k];
    if (!pcells_[ch].healthy) AllocateBadCell(ch);
  }
}

void SchedulerImpl::ReleaseBadCell(CellId c) {
  BadFreeAppend(c);
  if (VCellId v = pcells_[c].vcell; v != kNone) {
    pcells_[c].vcell = kNone;
    SetVPcell(v, kNone);
  }
  for (int32_t k = 0; k < pcells_[c].child_count; ++k) {
    CellId ch = pchildren_[pcells_[c].child_begin + k];
    if (!pcells_[ch].healthy) ReleaseBadCell(ch);
  }
}

int32_t SchedulerImpl::Healthy(ChainId ch, int32_t l) const {
  return total_left_[ch][l] - static_cast<int32_t>(bad_free_[ch][l].size());
}

void SchedulerImpl::TryBindDoomed(ChainId ch, int32_t l) {
  for (VcId v = 0; v < static_cast<VcId>(vcs_.size()); ++v) {
    ChainVc& cv = vcs_[v].chains[ch];
    if (!cv.has_any) continue;
    while (cv.vc_free[l] > Healthy(ch, l)) {
      if (bad_free_[ch][l].empty()) break;
      CellId pc = bad_free_[ch][l][0];
      // The first unbound cell in list order, passing over cells claimed by
      // the placement being allocated while another is left (see claim_).
      VCellId vc = kNone;
      for (VCellId c : cv.preassigned[l]) {
        if (vcells_[c].pcell != kNone) continue;
        if (!Claimed(c)) {
          vc = c;
          break;
        }
        if (vc == kNone) vc = c;
      }
      if (vc == kNone) break;
      pcells_[pc].vcell = vc;
      SetVPcell(vc, pc);
      DoomedAppend(v, pc);
      AllocatePreassigned(pc, v, /*doomed=*/true);
    }
  }
}

void SchedulerImpl::TryUnbindDoomed(ChainId ch, int32_t l) {
  for (VcId v = 0; v < static_cast<VcId>(vcs_.size()); ++v) {
    ChainVc& cv = vcs_[v].chains[ch];
    if (!cv.has_any) continue;
    while (!cv.doomed[l].empty() && cv.vc_free[l] < Healthy(ch, l)) {
      // The first doomed cell in list order (8.2) -- skipping cells in use:
      // a doomed cell can be used by its VC, and releasing it would put a
      // cell with running pods back into the free list (HiveD does).
      CellId pc = kNone;
      for (CellId d : cv.doomed[l]) {
        if (DoomedUnused(d)) {
          pc = d;
          break;
        }
      }
      if (pc == kNone) break;
      ReleaseDoomed(pc);
    }
  }
}

void SchedulerImpl::ReleaseDoomed(CellId pc) {
  const VcId vc = pcells_[pc].doomed_vc;
  if (VCellId v = pcells_[pc].vcell; v != kNone) SetVPcell(v, kNone);
  pcells_[pc].vcell = kNone;
  DoomedRemove(pc);
  ReleasePreassigned(pc, vc, /*doomed=*/true);
}

void SchedulerImpl::SetBadCell(CellId c) {
  if (!pcells_[c].healthy) return;
  pcells_[c].healthy = false;
  BumpHealth(c);
  if (pcells_[c].parent != kNone) SetBadCell(pcells_[c].parent);
  if (InFreeCellList(c)) {
    ChainId ch = pcells_[c].chain;
    int32_t l = pcells_[c].level;
    BadFreeAppend(c);
    if (all_vc_free_[ch][l] > Healthy(ch, l)) TryBindDoomed(ch, l);
  } else if (pcells_[c].vcell == kNone && !pcells_[c].split) {
    BindBadToParentVirtual(c);
  }
}

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

void SchedulerImpl::SetNodeBad(NodeId n) {
  if (node_bad_[n]) return;
  node_bad_[n] = true;
  for (CellId leaf : node_leaves_[n]) SetBadCell(leaf);
}

void SchedulerImpl::SetNodeHealthy(NodeId n) {
  if (!node_bad_[n]) return;
  node_bad_[n] = false;
  for (CellId leaf : node_leaves_[n]) SetHealthyCell(leaf);
}

// ---------------------------------------------------------------------------
// Priorities, usage, states, binding (5.1, 5.2)
// ---------------------------------------------------------------------------

void SchedulerImpl::SetPPriority(CellId c, int32_t p) {
  pcells_[c].priority = p;
  for (CellId a = pcells_[c].parent; a != kNone; a = pcells_[a].parent) {
    int32_t m = kFreePriority;
    for (int32_t k = 0; k < pcells_[a].child_count; ++k)
      m = std::max(m, pcells_[pchildren_[pcells_[a].child_begin + k]].priority);
    if (pcells_[a].priority == m) break;
    pcells_[a].priority = m;
  }
}

void SchedulerImpl::SetVPriority(VCellId c, int32_t p) {
  vcells_[c].priority = p;
  for (VCellId a = vcells_[c].parent; a != kNone; a = vcells_[a].parent) {
    int32_t m = kFreePriority;
    for (int32_t k = 0; k < vcells_[a].child_count; ++k)
      m = std::max(m, vcells_[vchildren_[vcells_[a].child_begin + k]].priority);
    if (vcells_[a].priority == m) break;
    vcells_[a].priority = m;
  }
}

// Inlined: every usage, binding or health change of a cell goes through it.
__attribute__((always_inline)) inline void SchedulerImpl::TouchTasNode(bool is_virtual, int32_t c) {
  const int32_t ti = is_virtual ? vcells_[c].tas : pcells_[c].tas;
  if (ti == kNone) return;
  Tas& t = tas_[ti];
  const int32_t ord = is_virtual ? vcells_[c].tas_ord : pcells_[c].tas_ord;
  if (!t.dirty_flag[ord]) {
    t.dirty_flag[ord] = 1;
    t.dirty.push_back(ord);
  }
}

void SchedulerImpl::AddPUsage(CellId c, int32_t p, int32_t delta) {
  for (CellId a = c; a != kNone; a = pcells_[a].parent) {
    pcells_[a].used.Add(p, delta);
    TouchTasNode(false, a);
    ++pcells_[a].version;
  }
}

void SchedulerImpl::AddVUsage(VCellId c, int32_t p, int32_t delta) {
  for (VCellId a = c; a != kNone; a = vcells_[a].parent) {
    vcells_[a].used.Add(p, delta);
    TouchTasNode(true, a);
    ++vcells_[a].version;
  }
}

void SchedulerImpl::SetVPcell(VCellId v, CellId p) {
  vcells_[v].pcell = p;
  TouchTasNode(true, v);
  ++vcells_[v].version;
}

void SchedulerImpl::BumpHealth(CellId c) {
  TouchTasNode(false, c);
  ++pcells_[c].version;
  if (VCellId v = pcells_[c].vcell; v != kNone) {
    TouchTasNode(true, v);
    ++vcells_[v].version;
  }
}


void SchedulerImpl::SetCellState(CellId c, CellState s) {
  pcells_[c].state = s;
  CellId p = pcells_[c].parent;
  if (p == kNone) return;
  bool propagate = (s == CellState::kUsed);
  if (!propagate) {
    propagate = true;
    for (int32_t k = 0; k < pcells_[p].child_count; ++k) {
      if (pcells_[pchildren_[pcells_[p].child_begin + k]].state != s) {
        propagate = false;
        break;
      }
    }
  }
  if (propagate) SetCellState(p, s);
}

void SchedulerImpl::BindCell(CellId p, VCellId v) {
  while (vcells_[v].pcell == kNone) {
    pcells_[p].vcell = v;
    SetVPcell(v, p);
    if (vcells_[v].parent == kNone) break;
    v = vcells_[v].parent;
    p = pcells_[p].parent;
  }
}

void SchedulerImpl::UnbindCell(CellId c) {
  VCellId v = pcells_[c].vcell;
  while (v != kNone && !pcells_[vcells_[v].pcell].pinned) {
    CellId p = vcells_[v].pcell;
    pcells_[p].vcell = kNone;
    SetVPcell(v, kNone);
    VCellId parent = vcells_[v].parent;
    if (parent == kNone) return;
    for (int32_t k = 0; k < vcells_[parent].child_count; ++k)
      if (vcells_[vchildren_[vcells_[parent].child_begin + k]].pcell != kNone) return;
    v = parent;
  }
}

std::string SchedulerImpl::AllocateLeaf(CellId pleaf, VCellId vleaf, int32_t p,
                                        VcId vc) {
  std::string broken;
  if (vleaf != kNone) {
    SetVPriority(vleaf, p);
    AddVUsage(vleaf, p, +1);
    SetPPriority(pleaf, p);
    AddPUsage(pleaf, p, +1);
    VCellId pac = vcells_[vleaf].preassigned;
    bool newly_bound = vcells_[pac].pcell == kNone;
    if (pcells_[pleaf].vcell == kNone) BindCell(pleaf, vleaf);
    if (newly_bound && vcells_[pac].pcell != kNone)
      broken = AllocatePreassigned(vcells_[pac].pcell, vc, /*doomed=*/false);
  } else {
    SetPPriority(pleaf, kOpportunisticPriority);
    AddPUsage(pleaf, kOpportunisticPriority, +1);
    pcells_[pleaf].opp_vc = vc;
    if (vc != kNone) vcs_[vc].opp_cells.push_back(pleaf);
  }
  return broken;
}

void SchedulerImpl::ReleaseLeaf(CellId pleaf, VcId vc) {
  // A leaf is released the way it was allocated: guaranteed (and reserved)
  // leaves carry a priority >= 0, opportunistic ones -1. An opportunistic
  // leaf can be bound to a virtual cell only because its node went bad
  // inside a bound preassigned cell (8.1); that binding is not its use, so
  // it is released as opportunistic (its fake cell leaves the VC status,
  // 11.3) and the bad binding stays until the node heals (8.1). HiveD looks
  // only at the binding here and would leave the fake cell behind and count
  // a release at priority -2 on the free virtual leaf.
  VCellId vleaf = pcells_[pleaf].vcell;
  if (pcells_[pleaf].priority < kMinGuaranteedPriority) vleaf = kNone;
  if (vleaf != kNone) {
    AddVUsage(vleaf, vcells_[vleaf].priority, -1);
    SetVPriority(vleaf, kFreePriority);
    VCellId pac = vcells_[vleaf].preassigned;
    CellId pac_phys = vcells_[pac].pcell;
    if (pcells_[pleaf].healthy) UnbindCell(pleaf);
    if (pac_phys != kNone && !pcells_[pac_phys].pinned &&
        vcells_[pac].priority < kMinGuaranteedPriority) {
      if (pcells_[pac_phys].doomed_vc != vcells_[pac].vc) {
        ReleasePreassigned(pac_phys, vcells_[pac].vc, /*doomed=*/false);
      } else if (vcells_[pac].pcell == kNone) {
        // A doomed cell (8.2) may be used; if its node healed meanwhile, 8.1
        // left it doomed (it was in use). Its last use just ended and the
        // bottom-up unbinding (5.1) unbound it, so it is no longer bound
        // because bad: release it as the heal would have (8.1), instead of
        // leaving an unbound cell in the doomed list with its quota lost, as
        // HiveD does.
        DoomedRemove(pac_phys);
        ReleasePreassigned(pac_phys, vcells_[pac].vc, /*doomed=*/true);
      }
    }
  } else {
    VcId owner = pcells_[pleaf].opp_vc;
    if (owner != kNone) {
      auto& cells = vcs_[owner].opp_cells;
      auto it = std::find(cells.begin(), cells.end(), pleaf);
      if (it != cells.end()) cells.erase(it);
    }
    pcells_[pleaf].opp_vc = kNone;
  }
  AddPUsage(pleaf, pcells_[pleaf].priority, -1);
  SetPPriority(pleaf, kFreePriority);
}

// Hands a guaranteed leaf, bound to `v`, to another user of the same virtual
// leaf (a preemptor taking a victim's leaf, 7.3, or a victim getting it back,
// 7.4) without unbinding it. Used instead of release + allocate only when
// the leaf's preassigned physical cell is bad: releasing it there can let the
// doomed-cell bind rule (8.2) re-bind the cell and its bad descendants onto
// the very virtual cells about to be re-allocated, which HiveD then corrupts.
// With a healthy preassigned cell no rebinding can intervene, and the
// release + allocate of 5.3 (with its free-list reordering) is kept.
bool SchedulerImpl::TransferInBadCell(CellId c, VCellId v) const {
  if (v == kNone || pcells_[c].vcell != v || vcells_[v].pcell != c) return false;
  CellId pac_phys = vcells_[vcells_[v].preassigned].pcell;
  return pac_phys != kNone && !pcells_[pac_phys].healthy;
}

void SchedulerImpl::TransferLeaf(CellId c, VCellId v, int32_t p) {
  AddVUsage(v, vcells_[v].priority, -1);
  SetVPriority(v, p);
  AddVUsage(v, p, +1);
  AddPUsage(c, pcells_[c].priority, -1);
  SetPPriority(c, p);
  AddPUsage(c, p, +1);
}

// ---------------------------------------------------------------------------
// Topology-aware placement (6.3, 6.6)
// ---------------------------------------------------------------------------

bool SchedulerImpl::NodeSuggested(NodeId n, const SuggestedSet* s) const {
  return s == nullptr || (n != kNone && s->count(n) > 0);
}

NodeId SchedulerImpl::FirstNodeOf(CellId c) const {
  if (pcells_[c].node != kNone) return pcells_[c].node;
  return pcells_[c].nodes.empty() ? kNone : pcells_[c].nodes[0];
}

int32_t SchedulerImpl::CellLevel(bool is_virtual, int32_t c) const {
  return is_virtual ? vcells_[c].level : pcells_[c].level;
}

int32_t SchedulerImpl::CellParent(bool is_virtual, int32_t c) const {
  return is_virtual ? vcells_[c].parent : pcells_[c].parent;
}

int32_t SchedulerImpl::Lca(bool is_virtual, int32_t a, int32_t b) const {
  while (a != kNone && b != kNone && a != b) {
    int32_t la = CellLevel(is_virtual, a), lb = CellLevel(is_virtual, b);
    if (la <= lb) a = CellParent(is_virtual, a);
    if (lb <= la) b = CellParent(is_virtual, b);
  }
  return (a == b) ? a : kNone;
}

void SchedulerImpl::CollectNodeLeaves(bool is_virtual, int32_t c, int32_t p,
                                      std::vector<int32_t>& free_leaves,
                                      std::vector<int32_t>& preemptible) const {
  if (CellLevel(is_virtual, c) == 1) {
    int32_t prio = is_virtual ? vcells_[c].priority : pcells_[c].priority;
    if (prio == kFreePriority) {
      free_leaves.push_back(c);
    } else if (prio < p) {
      preemptible.push_back(c);
    }
    return;
  }
  int32_t begin = is_virtual ? vcells_[c].child_begin : pcells_[c].child_begin;
  int32_t count = is_virtual ? vcells_[c].child_count : pcells_[c].child_count;
  for (int32_t k = 0; k < count; ++k) {
    int32_t ch = is_virtual ? vchildren_[begin + k] : pchildren_[begin + k];
    CollectNodeLeaves(is_virtual, ch, p, free_leaves, preemptible);
  }
}

void SchedulerImpl::SnapshotTasNode(const Tas& t, TasNode& n, uint32_t version) const {
  n.seen_version = version;
  const UsedLeaves& used = t.is_virtual ? vcells_[n.cell].used : pcells_[n.cell].used;
  n.total = t.is_virtual ? vcells_[n.cell].total_leaves : pcells_[n.cell].total_leaves;
  n.used_count = 0;
  for (const auto& e : used.entries()) {
    if (e.second == 0) continue;
    if (n.used_count == n.used.size()) {
      n.used_count = TasNode::kManyPriorities;
      break;
    }
    n.used[n.used_count++] = e;
  }
  n.phys = t.is_virtual ? vcells_[n.cell].pcell : n.cell;
  n.phys_healthy = n.phys == kNone || pcells_[n.phys].healthy;
  n.first_node = n.phys == kNone ? kNone : FirstNodeOf(n.phys);
}

// Inlined into the refresh loops: per node it is a handful of adds, and the
// call itself showed as a fifth of a full refresh.
__attribute__((always_inline)) inline void SchedulerImpl::ComputeTasNode(
    const Tas& t, TasNode& n, int32_t p, const SuggestedSet* suggested, bool ignore_suggested) const {
  int32_t at = 0, above = 0, total_used = 0;
  if (n.used_count != TasNode::kManyPriorities) {
    for (uint8_t k = 0; k < n.used_count; ++k) {
      const auto& [prio, leaves] = n.used[k];
      total_used += leaves;
      if (prio == p) at += leaves;
      else if (prio > p) above += leaves;
    }
  } else {
    const UsedLeaves& used = t.is_virtual ? vcells_[n.cell].used : pcells_[n.cell].used;
    at = used.At(p);
    above = used.Above(p);
    total_used = used.Total();
  }
  if (t.cross_priority_pack) {
    n.used_same = total_used;
    n.used_higher = 0;
  } else {
    n.used_same = at;
    n.used_higher = above;
  }
  n.free_at_priority = n.total - (at + above);
  if (n.phys == kNone) {
    n.healthy = true;
    n.suggested = true;
  } else {
    n.healthy = n.phys_healthy;
    n.suggested = ignore_suggested || NodeSuggested(n.first_node, suggested);
  }
}

namespace {

// The node order of 6.3: healthy, suggested, then most used at the
// priority (packing), then least used above it.
bool TasLess(const TasNode& a, const TasNode& b) {
  if (a.healthy != b.healthy) return a.healthy;
  if (a.suggested != b.suggested) return a.suggested;
  if (a.used_same != b.used_same) return a.used_same > b.used_same;
  return a.used_higher < b.used_higher;
}

// Suggested-node modes whose node values do not depend on the call: 1 =
// suggestions ignored, 2 = no suggestion list (every node suggested); 0 =
// a list, which may differ from call to call.
int8_t SuggestionMode(const SuggestedSet* suggested, bool ignore_suggested) {
  return ignore_suggested ? 1 : suggested == nullptr ? 2 : 0;
}

}  // namespace

void SchedulerImpl::RefreshTas(Tas& t, int32_t p, const SuggestedSet* suggested,
                               bool ignore_suggested) {
  const int8_t mode = SuggestionMode(suggested, ignore_suggested);
  // With many changed nodes (a gang just placed or freed) the full pass is
  // cheaper than locating each one.
  if (t.sorted_valid && mode != 0 && t.sorted_p == p && t.sorted_mode == mode &&
      t.dirty.size() * 128 <= t.nodes.size()) {
    RefreshTasIncremental(t, p, tas_scratch_);
  } else {
    RefreshTasFull(t, p, suggested, ignore_suggested);
  }
}

void SchedulerImpl::RefreshTasFull(Tas& t, int32_t p, const SuggestedSet* suggested,
                                   bool ignore_suggested) const {
  for (TasNode& n : t.nodes) {
    const uint32_t version = CellVersion(t.is_virtual, n.cell);
    if (version != n.seen_version) SnapshotTasNode(t, n, version);
    ComputeTasNode(t, n, p, suggested, ignore_suggested);
  }
  // A stable sort, in place. Between two calls only the nodes touched since
  // then change rank, so the array is nearly sorted and an insertion sort is
  // linear in practice; it gives exactly std::stable_sort's order and needs
  // no buffer.
  for (size_t i = 1; i < t.nodes.size(); ++i) {
    if (!TasLess(t.nodes[i], t.nodes[i - 1])) continue;
    TasNode x = t.nodes[i];
    size_t j = i;
    do {
      t.nodes[j] = t.nodes[j - 1];
      --j;
    } while (j > 0 && TasLess(x, t.nodes[j - 1]));
    t.nodes[j] = x;
  }
  for (int32_t ord : t.dirty) t.dirty_flag[ord] = 0;
  t.dirty.clear();
  // Positions are rebuilt by the next incremental refresh, if any: the
  // preemption path alternates priorities and only ever refreshes in full.
  t.pos_valid = false;
  t.sorted_p = p;
  t.sorted_mode = SuggestionMode(suggested, ignore_suggested);
  t.sorted_valid = t.sorted_mode != 0;
}

// The same result as RefreshTasFull for the same p and mode, touching only
// the dirty nodes and the range they move across. RefreshTasFull's order is
// a stable sort of the previous order by the new values, i.e. sorted by
// (new value, previous index). The clean nodes keep their values and are
// in that order already; each dirty node x goes after the q(x) clean nodes
// that precede it by that order: those with a smaller value, and those with
// an equal value and a smaller previous index.
void SchedulerImpl::RefreshTasIncremental(Tas& t, int32_t p, TasScratch& scratch) const {
  if (t.dirty.empty()) return;
  if (!t.pos_valid) {
    for (size_t i = 0; i < t.nodes.size(); ++i) t.pos[t.nodes[i].ord] = static_cast<int32_t>(i);
    t.pos_valid = true;
  }
  std::vector<int32_t>& prev = scratch.prev;  // the dirty nodes' indices, ascending
  prev.clear();
  for (int32_t ord : t.dirty) {
    prev.push_back(t.pos[ord]);
    t.dirty_flag[ord] = 0;
  }
  t.dirty.clear();
  std::sort(prev.begin(), prev.end());
  for (int32_t i : prev) {
    TasNode& n = t.nodes[i];
    const uint32_t version = CellVersion(t.is_virtual, n.cell);
    if (version != n.seen_version) SnapshotTasNode(t, n, version);
    // Cacheable modes: the suggestion does not depend on the call.
    ComputeTasNode(t, n, p, nullptr, t.sorted_mode == 1);
  }
  const int32_t size = static_cast<int32_t>(t.nodes.size());
  const int32_t d = static_cast<int32_t>(prev.size());
  auto is_dirty = [&](int32_t i) { return std::binary_search(prev.begin(), prev.end(), i); };
  // The number of clean nodes for which `pred` holds, given that it holds
  // for a prefix of them (the clean nodes are sorted). Binary search over
  // the whole array, stepping over dirty entries.
  auto clean_prefix = [&](auto&& pred) {
    int32_t lo = 0, hi = size;
    while (lo < hi) {
      const int32_t mid = lo + (hi - lo) / 2;
      int32_t m = mid;
      while (m < hi && is_dirty(m)) ++m;
      if (m == hi) {
        hi = mid;
      } else if (pred(t.nodes[m])) {
        lo = m + 1;
      } else {
        hi = m;
      }
    }
    return lo - static_cast<int32_t>(std::lower_bound(prev.begin(), prev.end(), lo) - prev.begin());
  };
  std::vector<TasMove>& moves = scratch.moves;
  moves.clear();
  for (int32_t k = 0; k < d; ++k) {
    const TasNode& x = t.nodes[prev[k]];
    const int32_t before = clean_prefix([&](const TasNode& e) { return TasLess(e, x); });
    const int32_t not_after = clean_prefix([&](const TasNode& e) { return !TasLess(x, e); });
    // Clean nodes ahead of x in the array are exactly those with a smaller
    // previous index: prev[k] - k of them.
    const int32_t q = std::clamp(prev[k] - k, before, not_after);
    moves.push_back({q, prev[k], x});
  }
  std::sort(moves.begin(), moves.end(), [](const TasMove& a, const TasMove& b) {
    if (a.q != b.q) return a.q < b.q;
    if (TasLess(a.node, b.node)) return true;
    if (TasLess(b.node, a.node)) return false;
    return a.prev < b.prev;
  });
  // Dirty node k (in the new order) lands at q + k. Only [lo, hi] changes:
  // outside it, a clean node has as many dirty nodes before it as before.
  int32_t lo = std::min(prev.front(), moves.front().q);
  int32_t hi = std::max(prev.back(), moves.back().q + d - 1);
  std::vector<TasNode>& range = scratch.range;
  range.clear();
  int32_t a = lo;  // next array index to take a clean node from
  size_t pi = std::lower_bound(prev.begin(), prev.end(), lo) - prev.begin();
  int32_t k = 0;
  for (int32_t g = lo; g <= hi; ++g) {
    if (k < d && moves[k].q + k == g) {
      range.push_back(moves[k++].node);
      continue;
    }
    while (pi < prev.size() && prev[pi] == a) {
      ++pi;
      ++a;
    }
    range.push_back(t.nodes[a++]);
  }
  for (int32_t g = lo; g <= hi; ++g) {
    t.nodes[g] = range[g - lo];
    t.pos[t.nodes[g].ord] = g;
  }
}

std::string SchedulerImpl::TasNodeAddress(const Tas& t, const TasNode& n) const {
  CellId phys = t.is_virtual ? vcells_[n.cell].pcell : n.cell;
  if (phys != kNone) return pcells_[phys].address;
  return vcells_[n.cell].address;
}

bool SchedulerImpl::FindNodesForPods(const Tas& t, const std::vector<int32_t>& pods,
                                     std::vector<int32_t>& picked,
                                     std::string& reason) const {
  picked.assign(pods.size(), kNone);
  size_t pod = 0;
  int32_t taken = 0;
  for (size_t i = 0; i < t.nodes.size();) {
    const TasNode& n = t.nodes[i];
    if (n.free_at_priority - taken >= pods[pod]) {
      if (!n.healthy) {
        reason = "have to use at least one bad node " + TasNodeAddress(t, n);
        return false;
      }
      if (!n.suggested) {
        reason = "have to use at least one non-suggested node " + TasNodeAddress(t, n);
        return false;
      }
      picked[pod] = static_cast<int32_t>(i);
      taken += pods[pod];
      if (++pod == pods.size()) return true;
    } else {
      taken = 0;
      ++i;
    }
  }
  reason = "insufficient capacity";
  return false;
}

std::vector<int32_t> SchedulerImpl::FindLeavesInNode(const Tas& t, int32_t need,
                                                     std::vector<int32_t>& avail) const {
  const Chain& chain = chains_[t.chain];
  int32_t optimal = chain.top_level;
  for (int32_t l = 1; l <= chain.top_level; ++l) {
    if (chain.leaves_at_level[l] >= need) {
      optimal = l;
      break;
    }
  }
  constexpr int32_t kHighest = 1 << 30;
  int32_t best = kHighest;
  std::vector<int32_t> cur(need, 0), best_idx(need, 0);
  std::vector<int32_t> lca(need, kNone);
  int32_t ai = 0, si = 0;
  const int32_t n = static_cast<int32_t>(avail.size());
  bool done = false;
  while (!done) {
    while (ai < n) {
      cur[si] = ai;
      if (si == 0) {
        lca[0] = avail[ai];
      } else {
        lca[si] = Lca(t.is_virtual, avail[ai], lca[si - 1]);
        int32_t lvl = lca[si] == kNone ? kHighest : CellLevel(t.is_virtual, lca[si]);
        if ((lca[si] == kNone && best < kHighest) ||
            (lca[si] != kNone && lvl > best)) {
          ++ai;
          continue;
        }
      }
      if (si == need - 1) {
        int32_t lvl = lca[si] == kNone ? kHighest : CellLevel(t.is_virtual, lca[si]);
        if (lvl < best) {
          best = lvl;
          best_idx = cur;
          if (lvl == optimal) {
            done = true;
            break;
          }
        }
      } else {
        ++si;
      }
      ++ai;
    }
    if (done) break;
    --si;
    if (si < 0) break;
    ai = cur[si] + 1;
  }
  std::vector<int32_t> picked;
  picked.reserve(need);
  for (int32_t i : best_idx) picked.push_back(avail[i]);
  // Remove the picked leaves, keeping the order of the rest.
  std::vector<int32_t> rest;
  rest.reserve(avail.size());
  size_t bi = 0;
  for (int32_t i = 0; i < n; ++i) {
    if (bi < best_idx.size() && best_idx[bi] == i) {
      ++bi;
      continue;
    }
    rest.push_back(avail[i]);
  }
  avail.swap(rest);
  return picked;
}

bool SchedulerImpl::TasSchedule(int32_t tas_index, const std::vector<int32_t>& pods,
                                int32_t priority, const SuggestedSet* suggested,
                                bool ignore_suggested,
                                std::vector<std::vector<int32_t>>& out,
                                std::string& reason) {
  Tas& t = tas_[tas_index];
  std::vector<int32_t> picked;
  int32_t p = kOpportunisticPriority;
  RefreshTas(t, p, suggested, ignore_suggested);
  bool ok = FindNodesForPods(t, pods, picked, reason);
  if (!ok && priority > kOpportunisticPriority) {
    p = priority;
    RefreshTas(t, p, suggested, ignore_suggested);
    ok = FindNodesForPods(t, pods, picked, reason);
  }
  if (!ok) return false;
  std::map<int32_t, std::vector<int32_t>> node_avail;  // node cell -> candidates
  out.clear();
  for (size_t i = 0; i < pods.size(); ++i) {
    int32_t node_cell = t.nodes[picked[i]].cell;
    auto it = node_avail.find(node_cell);
    if (it == node_avail.end()) {
      std::vector<int32_t> fr, pre;
      CollectNodeLeaves(t.is_virtual, node_cell, p, fr, pre);
      fr.insert(fr.end(), pre.begin(), pre.end());
      it = node_avail.emplace(node_cell, std::move(fr)).first;
    }
    out.push_back(FindLeavesInNode(t, pods[i], it->second));
  }
  return true;
}

// ---------------------------------------------------------------------------
// Mapping a virtual placement to physical cells (6.5)
// ---------------------------------------------------------------------------

bool SchedulerImpl::Usable(CellId c, const MapCtx& ctx) const {
  const PCell& p = pcells_[c];
  if (p.vcell != kNone) return false;
  if (!p.healthy && p.node != kNone) return false;
  if (ctx.ignore_suggested || ctx.suggested == nullptr) return true;
  if (p.node != kNone) return ctx.suggested->count(p.node) > 0;
  for (NodeId n : p.nodes)
    if (ctx.suggested->count(n) > 0) return true;
  return false;
}

void SchedulerImpl::UsableSorted(std::span<const CellId> list, const MapCtx& ctx,
                                 std::vector<CellId>& out) const {
  out.clear();
  bool any_opportunistic = false;
  for (CellId c : list) {
    if (!Usable(c, ctx)) continue;
    out.push_back(c);
    any_opportunistic |= pcells_[c].used.At(kOpportunisticPriority) != 0;
  }
  // Usually no candidate holds opportunistic pods and the order stands.
  if (!any_opportunistic) return;
  std::stable_sort(out.begin(), out.end(), [&](CellId a, CellId b) {
    return pcells_[a].used.At(kOpportunisticPriority) <
           pcells_[b].used.At(kOpportunisticPriority);
  });
}

bool SchedulerImpl::Match(std::span<const VCellId> vcells,
                          std::span<const CellId> candidates, MapCtx& ctx,
                          CellId* picked_first, size_t depth) {
  const size_t n = vcells.size();
  MapCtx::Scratch& scratch = ctx.match_scratch[depth];
  std::vector<CellId>& cand = scratch.cand;
  UsableSorted(candidates, ctx, cand);
  if (cand.size() < n || n == 0) return false;
  std::vector<size_t>& start = scratch.start;
  std::vector<char>& taken = scratch.taken;
  start.assign(n, 0);
  taken.assign(cand.size(), 0);
  int64_t i = 0;
  while (i >= 0) {
    bool found = false;
    for (size_t j = start[i]; j < cand.size(); ++j) {
      if (taken[j]) continue;
      bool ok;
      if (pcells_[cand[j]].level == 1) {
        ctx.Bind(vcells[i], cand[j]);
        ok = true;
      } else {
        const PCell& pc = pcells_[cand[j]];
        std::span<const CellId> kids(pchildren_.data() + pc.child_begin,
                                     static_cast<size_t>(pc.child_count));
        ok = Match(ctx.FindChildrenToBind(vcells[i]), kids, ctx, nullptr, depth + 1);
      }
      if (ok) {
        start[i] = j;
        taken[j] = 1;
        found = true;
        break;
      }
    }
    if (found) {
      if (i == static_cast<int64_t>(n) - 1) {
        if (picked_first) *picked_first = cand[start[0]];
        return true;
      }
      ++i;
    } else {
      --i;
      if (i >= 0) {
        taken[start[i]] = 0;
        start[i]++;
      }
    }
  }
  return false;
}

bool SchedulerImpl::BuddyDown(VCellId v, int32_t L, int32_t l, MapCtx& ctx) {
  if (l == L) {
    CellId picked = kNone;
    bool ok = Match(std::span<const VCellId>(&v, 1), ctx.Get(L), ctx, &picked, 0);
    if (ok) SwapRemoveValue(ctx.Mut(L), picked);
    return ok;
  }
  std::vector<CellId>& cands = ctx.buddy_scratch[l];
  UsableSorted(ctx.Get(l), ctx, cands);
  for (CellId c : cands) {
    std::vector<CellId>& below = ctx.Mut(l - 1);
    for (int32_t k = 0; k < pcells_[c].child_count; ++k)
      below.push_back(pchildren_[pcells_[c].child_begin + k]);
    if (BuddyDown(v, L, l - 1, ctx)) {
      SwapRemoveValue(ctx.Mut(l), c);
      return true;
    }
    ctx.Mut(l - 1).clear();
  }
  return false;
}

bool SchedulerImpl::BuddyAlloc(VCellId v, int32_t L, MapCtx& ctx, bool& safety_broken) {
  int32_t top = chains_[ctx.chain].top_level;
  int32_t start = kNone;
  for (int32_t l = L; l <= top; ++l) {
    if (!ctx.Get(l).empty()) {
      start = l;
      break;
    }
  }
  if (start == kNone) {
    safety_broken = true;
    return false;
  }
  return BuddyDown(v, L, start, ctx);
}

bool SchedulerImpl::RelaxedBuddyAlloc(VCellId v, int32_t L, MapCtx& ctx,
                                      bool& safety_broken) {
  const Chain& chain = chains_[ctx.chain];
  int32_t top = chain.top_level;
  // Rare path: work on full copies of every level.
  for (int32_t l = 1; l <= top; ++l) ctx.Mut(l);
  auto& free = ctx.copy;
  std::vector<int64_t> splittable(top + 2, 0);
  splittable[top] = static_cast<int64_t>(free[top].size()) - ctx.vc_free[top];
  for (int32_t l = top - 1; l > L; --l) {
    splittable[l] = static_cast<int64_t>(free[l].size()) - ctx.vc_free[l] +
                    splittable[l + 1] * chain.child_number_at_level[l + 1];
  }
  for (int32_t l = top; l > L; --l) {
    if (splittable[l] < 0) {
      safety_broken = true;
      return false;
    }
  }
  for (int32_t l = L + 1; l <= top; ++l) {
    int64_t k = std::min<int64_t>(static_cast<int64_t>(free[l].size()), splittable[l]);
    if (k <= 0) continue;
    std::vector<CellId> s;
    for (int64_t i = 0; i < k; ++i) {
      CellId x = free[l][0];
      free[l][0] = free[l].back();
      free[l].pop_back();
      s.push_back(x);
    }
    for (int32_t lev = l; lev > L; --lev) {
      std::vector<CellId> next;
      for (CellId x : s)
        for (int32_t c = 0; c < pcells_[x].child_count; ++c)
          next.push_back(pchildren_[pcells_[x].child_begin + c]);
      s.swap(next);
    }
    s.insert(s.end(), free[L].begin(), free[L].end());
    free[L].swap(s);
    CellId picked = kNone;
    if (Match(std::span<const VCellId>(&v, 1), free[L], ctx, &picked, 0)) {
      SwapRemoveValue(free[L], picked);
      return true;
    }
  }
  return false;
}

bool SchedulerImpl::MapVirtualToPhysical(ChainId chain, const GroupCells& vplace,
                                         const SuggestedSet* suggested,
                                         bool ignore_suggested, GroupCells& pplace,
                                         bool& safety_broken) {
  MapCtx& ctx = map_ctx_;
  ctx.chain = chain;
  ctx.suggested = suggested;
  ctx.ignore_suggested = ignore_suggested;
  size_t levels = 1;
  if (chain != kNone) {
    ctx.orig = &free_[chain];
    levels = free_[chain].size();
    ctx.vc_free.assign(all_vc_free_[chain].begin(), all_vc_free_[chain].end());
  } else {
    ctx.orig = nullptr;
    ctx.vc_free.clear();
  }
  if (ctx.copy.size() < levels) ctx.copy.resize(levels);
  ctx.copied.assign(levels, chain == kNone ? 1 : 0);
  if (chain == kNone)
    for (auto& l : ctx.copy) l.clear();
  if (ctx.buddy_scratch.size() < levels) ctx.buddy_scratch.resize(levels);
  size_t max_depth = 2;
  for (const Chain& c : chains_) max_depth = std::max(max_depth, static_cast<size_t>(c.top_level) + 2);
  if (ctx.match_scratch.size() < max_depth) ctx.match_scratch.resize(max_depth);
  if (ctx.bind_epoch.size() < vcells_.size()) {
    ctx.ctb_epoch.resize(vcells_.size(), 0);
    ctx.ctb_slot.resize(vcells_.size(), 0);
    ctx.bind_epoch.resize(vcells_.size(), 0);
    ctx.binding.resize(vcells_.size(), kNone);
    ctx.collected_epoch.resize(vcells_.size(), 0);
  }
  if (++ctx.epoch == 0) {  // wrapped: clear the stamps once
    std::fill(ctx.ctb_epoch.begin(), ctx.ctb_epoch.end(), 0);
    std::fill(ctx.bind_epoch.begin(), ctx.bind_epoch.end(), 0);
    std::fill(ctx.collected_epoch.begin(), ctx.collected_epoch.end(), 0);
    ctx.epoch = 1;
  }
  ctx.ctb_used = 0;
  ctx.bound_groups_used = 0;
  ctx.preassigned_to_place.clear();
  // Step 1: binding paths.
  for (const auto& member : vplace) {
    for (const auto& pod : member) {
      for (VCellId leaf : pod) {
        if (vcells_[leaf].pcell != kNone) {
          ctx.Bind(leaf, vcells_[leaf].pcell);
          continue;
        }
        VCellId c = leaf;
        for (;;) {
          ctx.Collect(c);
          VCellId p = vcells_[c].parent;
          if (p == kNone) {
            ctx.preassigned_to_place.push_back(c);
            break;
          }
          if (vcells_[p].pcell != kNone) {
            int32_t g = 0;
            while (g < ctx.bound_groups_used && ctx.bound_groups[g].first != p) ++g;
            if (g == ctx.bound_groups_used) {
              if (g == static_cast<int32_t>(ctx.bound_groups.size())) ctx.bound_groups.emplace_back();
              ctx.bound_groups[g].first = p;
              ctx.bound_groups[g].second.clear();
              ++ctx.bound_groups_used;
            }
            ctx.bound_groups[g].second.push_back(c);
            break;
          }
          ctx.ChildrenToBind(p).push_back(c);
          if (ctx.Collected(p)) break;
          c = p;
        }
      }
    }
  }
  if (chain == kNone && !ctx.preassigned_to_place.empty()) return false;
  // Step 2: buddy allocation of each unbound preassigned cell.
  for (VCellId v : ctx.preassigned_to_place) {
    int32_t L = vcells_[v].level;
    bool ok = BuddyAlloc(v, L, ctx, safety_broken);
    if (ok) {
      ctx.vc_free[L]--;
    } else {
      if (safety_broken) return false;
      ok = RelaxedBuddyAlloc(v, L, ctx, safety_broken);
      if (!ok) return false;
    }
  }
  // Step 3: cells under an already bound parent.
  for (int32_t g = 0; g < ctx.bound_groups_used; ++g) {
    CellId pp = vcells_[ctx.bound_groups[g].first].pcell;
    std::span<const CellId> kids(pchildren_.data() + pcells_[pp].child_begin,
                                 static_cast<size_t>(pcells_[pp].child_count));
    if (!Match(ctx.bound_groups[g].second, kids, ctx, nullptr, 0)) return false;
  }
  pplace.assign(vplace.size(), {});
  for (size_t m = 0; m < vplace.size(); ++m) {
    pplace[m].resize(vplace[m].size());
    for (size_t s = 0; s < vplace[m].size(); ++s) {
      for (VCellId leaf : vplace[m][s]) {
        CellId p = ctx.BindingOf(leaf);
        if (p == kNone) return false;
        pplace[m][s].push_back(p);
      }
    }
  }
  return true;
}

// ---------------------------------------------------------------------------
// Lazy preemption (6.4)
// ---------------------------------------------------------------------------

template <typename F>
void ForEachLeaf(const GroupCells& cells, F&& f) {
  for (size_t m = 0; m < cells.size(); ++m)
    for (size_t s = 0; s < cells[m].size(); ++s)
      for (size_t i = 0; i < cells[m][s].size(); ++i) f(m, s, i, cells[m][s][i]);
}

GroupCells SchedulerImpl::VirtOf(const Group& g) const {
  GroupCells out(g.members.size());
  for (size_t m = 0; m < g.members.size(); ++m) out[m] = g.members[m].virt;
  return out;
}

GroupCells SchedulerImpl::PhysOf(const Group& g) const {
  GroupCells out(g.members.size());
  for (size_t m = 0; m < g.members.size(); ++m) out[m] = g.members[m].phys;
  return out;
}

void SchedulerImpl::LazyPreemptGroup(GroupId gid, const std::string& preemptor) {
  Group& g = groups_[gid];
  if (g.has_virtual) {
    for (size_t m = 0; m < g.members.size(); ++m) {
      for (size_t s = 0; s < g.members[m].virt.size(); ++s) {
        for (size_t i = 0; i < g.members[m].virt[s].size(); ++i) {
          VCellId v = g.members[m].virt[s][i];
          if (v == kNone) continue;
          // The group's own leaf, and only while the group holds it: a leaf
          // a preemptor has reserved (Reserving) is allocated to that
          // preemptor, not to this group (7.3).
          CellId p = g.members[m].phys[s][i];
          if (p == kNone || vcells_[v].pcell != p || pcells_[p].using_group != gid ||
              pcells_[p].state != CellState::kUsed)
            continue;
          ReleaseLeaf(p, g.vc);
          AllocateLeaf(p, kNone, kOpportunisticPriority, g.vc);
        }
      }
    }
  }
  for (auto& member : g.members)
    for (auto& slot : member.virt) std::fill(slot.begin(), slot.end(), kNone);
  g.has_virtual = false;
  g.lazy = LazyPreemptionMark{preemptor, clock_->NowUnixSeconds()};
}

void SchedulerImpl::RevertLazyPreempt(GroupId gid, const GroupCells& virt) {
  Group& g = groups_[gid];
  // 6.4 reverts by re-allocating each leaf with its old virtual leaf. That
  // is only possible while each old virtual leaf is unbound or still bound
  // to its own physical leaf. Releasing the group's last leaf in a bad
  // preassigned cell releases that cell, and the doomed-cell bind rule
  // (8.2) may bind it again at once, re-binding its bad descendants to the
  // first unbound virtual children -- possibly the group's old ones. HiveD
  // then re-allocates on a virtual leaf bound elsewhere and corrupts its
  // bindings; Apiary leaves such a group lazily preempted (it keeps running
  // as an opportunistic group, a consistent state).
  for (size_t m = 0; m < g.members.size(); ++m)
    for (size_t s = 0; s < g.members[m].phys.size(); ++s)
      for (size_t i = 0; i < g.members[m].phys[s].size(); ++i) {
        CellId p = g.members[m].phys[s][i];
        VCellId v = virt[m][s][i];
        if (p == kNone || v == kNone) continue;
        if ((vcells_[v].pcell != kNone && vcells_[v].pcell != p) ||
            (pcells_[p].vcell != kNone && pcells_[p].vcell != v))
          return;
      }
  for (size_t m = 0; m < g.members.size(); ++m) {
    for (size_t s = 0; s < g.members[m].phys.size(); ++s) {
      for (size_t i = 0; i < g.members[m].phys[s].size(); ++i) {
        CellId p = g.members[m].phys[s][i];
        if (p == kNone) continue;
        VCellId v = virt[m][s][i];
        ReleaseLeaf(p, g.vc);
        AllocateLeaf(p, v, v == kNone ? kOpportunisticPriority : g.priority, g.vc);
      }
    }
  }
  for (size_t m = 0; m < g.members.size(); ++m) g.members[m].virt = virt[m];
  g.has_virtual = true;
  g.lazy.reset();
}

std::vector<std::pair<GroupId, GroupCells>> SchedulerImpl::TryLazyPreempt(
    const GroupCells& vplace, const std::string& preemptor) {
  std::vector<std::pair<GroupId, GroupCells>> preempted;
  ForEachLeaf(vplace, [&](size_t, size_t, size_t, int32_t v) {
    CellId p = vcells_[v].pcell;
    if (p == kNone) return;
    if (pcells_[p].state != CellState::kUsed) return;
    GroupId u = pcells_[p].using_group;
    if (u == kNone || !groups_[u].lazy_enable) return;
    GroupCells original = VirtOf(groups_[u]);
    LazyPreemptGroup(u, preemptor);
    preempted.emplace_back(u, std::move(original));
  });
  return preempted;
}

void SchedulerImpl::LazyPreemptCell(VCellId v, const std::string& preemptor) {
  if (vcells_[v].level == 1) {
    CellId p = vcells_[v].pcell;
    if (p != kNone && pcells_[p].state == CellState::kUsed &&
        pcells_[p].using_group != kNone) {
      LazyPreemptGroup(pcells_[p].using_group, preemptor);
    }
  }
  for (int32_t k = 0; k < vcells_[v].child_count; ++k)
    LazyPreemptCell(vchildren_[vcells_[v].child_begin + k], preemptor);
}

// ---------------------------------------------------------------------------
// Scheduling (6.1, 6.2)
// ---------------------------------------------------------------------------

std::vector<int32_t> Request::SortedPods() const {
  std::vector<int32_t> pods;
  for (size_t m = 0; m < leaf_counts.size(); ++m)
    for (int32_t k = 0; k < pod_numbers[m]; ++k) pods.push_back(leaf_counts[m]);
  return pods;  // leaf_counts is ascending
}

GroupCells Request::ToGroupCells(const std::vector<std::vector<int32_t>>& per_pod) const {
  GroupCells out(leaf_counts.size());
  size_t i = 0;
  for (size_t m = 0; m < leaf_counts.size(); ++m)
    for (int32_t k = 0; k < pod_numbers[m]; ++k) out[m].push_back(per_pod[i++]);
  return out;
}

std::string SchedulerImpl::FormatVirtualPlacement(const Request& req,
                                                  const GroupCells& v) const {
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

bool SchedulerImpl::ScheduleGuaranteed(const Request& req, ChainId chain,
                                       const SuggestedSet* suggested, Placement& out,
                                       std::string& reason) {
  const Vc& vc = vcs_[req.vc];
  int32_t tas = kNone;
  if (!req.pinned_id.empty()) {
    for (const PinnedVc& p : vc.pinned)
      if (p.id == req.pinned_id) tas = p.tas;
  } else {
    tas = vc.chains[chain].tas;
  }
  std::vector<std::vector<int32_t>> per_pod;
  std::string r;
  if (tas == kNone ||
      !TasSchedule(tas, req.SortedPods(), req.priority, suggested,
                   req.ignore_suggested, per_pod, r)) {
    reason = r + " when scheduling in VC " + vc.name;
    return false;
  }
  GroupCells vplace = req.ToGroupCells(per_pod);
  auto lazy = TryLazyPreempt(vplace, req.group_name);
  // The intra-VC scheduler only picks healthy nodes, so a virtual leaf of the
  // placement is bound to a bad physical leaf only when the lazy preemption
  // just re-bound it: releasing the victim's preassigned cell, which
  // contains a bad node, lets the doomed-cell bind rule (8.2) bind that
  // cell again with its bad descendants on the first unbound virtual
  // children. 6.5 step 1 takes bound leaves as they are, so HiveD would
  // place the new group on the bad node. Apiary treats this as a failed
  // mapping (new pods avoid bad nodes, section 8).
  bool bound_to_bad = false;
  if (!lazy.empty()) {
    ForEachLeaf(vplace, [&](size_t, size_t, size_t, int32_t v) {
      CellId p = vcells_[v].pcell;
      if (p != kNone && !pcells_[p].healthy) bound_to_bad = true;
    });
  }
  GroupCells pplace;
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

bool SchedulerImpl::ScheduleOpportunistic(const Request& req, ChainId chain,
                                          const SuggestedSet* suggested, Placement& out,
                                          std::string& reason) {
  std::vector<std::vector<int32_t>> per_pod;
  std::string r;
  if (!TasSchedule(opp_tas_[chain], req.SortedPods(), kOpportunisticPriority, suggested,
                   req.ignore_suggested, per_pod, r)) {
    reason = r + " when scheduling in physical cluster";
    return false;
  }
  out.phys = req.ToGroupCells(per_pod);
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

std::vector<int32_t> SchedulerImpl::LeafIndices(const std::vector<CellId>& leaves) const {
  std::vector<int32_t> out;
  out.reserve(leaves.size());
  for (CellId c : leaves) out.push_back(c == kNone ? -1 : pcells_[c].leaf_index);
  return out;
}

const std::string& SchedulerImpl::NodeNameOf(CellId c) const {
  static const std::string kEmpty;
  NodeId n = c == kNone ? kNone : FirstNodeOf(c);
  return n == kNone ? kEmpty : node_names_[n];
}

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

void SchedulerImpl::CollectVictims(const GroupCells& pplace, std::vector<Victim>& victims,
                                   std::vector<GroupId>& preemptors) const {
  std::unordered_set<GroupId> seen_victim_groups;
  ForEachLeaf(pplace, [&](size_t, size_t, size_t, int32_t c) {
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

void SchedulerImpl::FillPreemptResult(const GroupCells& pplace, std::vector<Victim> victims,
                                      ScheduleResult& r) const {
  r.kind = ScheduleResult::Kind::kPreempt;
  r.victims = std::move(victims);
  std::map<std::string, std::vector<int32_t>> by_node;
  ForEachLeaf(pplace, [&](size_t, size_t, size_t, int32_t c) {
    if (c != kNone) by_node[NodeNameOf(c)].push_back(pcells_[c].leaf_index);
  });
  r.placement.assign(by_node.begin(), by_node.end());
}

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
      GroupCells pplace = PhysOf(g);
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
  Request req;
  req.group_name = spec.affinity_group_name;
  req.vc = vit->second;
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
    // A cancellation that releases a bad preassigned cell lets the doomed-
    // cell bind rule (8.2) bind it again, its bad descendants on the first
    // unbound virtual children -- possibly virtual leaves of this placement,
    // which can then no longer be bound to their physical leaves. HiveD
    // would allocate them anyway and corrupt its bindings; Apiary waits and
    // lets the next call compute a fresh placement.
    bool bindable = true;
    if (pl.has_virtual && !preemptors.empty()) {
      ForEachLeaf(pl.phys, [&](size_t m, size_t s, size_t i, int32_t c) {
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

// ---------------------------------------------------------------------------
// Commit, deletion, preemption (7)
// ---------------------------------------------------------------------------

int32_t Group::MemberOf(int32_t leaf_count) const {
  for (size_t m = 0; m < members.size(); ++m)
    if (members[m].leaf_count == leaf_count) return static_cast<int32_t>(m);
  return kNone;
}

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
    ForEachLeaf(pl.virt, [&](size_t, size_t, size_t, int32_t v) {
      for (; v != kNone && vcells_[v].pcell == kNone && claim_[v] != claim_epoch_;
           v = vcells_[v].parent)
        claim_[v] = claim_epoch_;
    });
  }
  ForEachLeaf(pl.phys, [&](size_t m, size_t s, size_t i, int32_t c) {
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

void SchedulerImpl::CancelPreemption(GroupId gid) {
  GroupCells pplace = PhysOf(groups_[gid]);
  VcId vc = groups_[gid].vc;
  const std::string preemptor = groups_[gid].name;
  std::vector<GroupId> degraded;  // victims that could not get their cells back
  ForEachLeaf(pplace, [&](size_t, size_t, size_t, int32_t c) {
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
      // Releasing the preemptor's last leaf in a bad preassigned cell
      // releases that cell, and the doomed-cell bind rule (8.2) may bind it
      // again at once with its bad descendants on the first unbound virtual
      // children -- possibly the victim's old virtual leaf. HiveD then
      // re-allocates on a virtual leaf bound elsewhere and corrupts its
      // bindings. Apiary gives the leaf back at -1 instead and lets the
      // victim continue lazily preempted (6.4), a consistent state.
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

void SchedulerImpl::AllocatePreemptingGroup(GroupId gid) {
  Group& g = groups_[gid];
  ForEachLeaf(PhysOf(g), [&](size_t, size_t, size_t, int32_t c) {
    if (c == kNone) return;
    pcells_[c].reserving_group = kNone;
    pcells_[c].using_group = gid;
    SetCellState(c, CellState::kUsed);
  });
  g.state = GroupState::kAllocated;
  for (const auto& p : g.preempting_pods) preempting_pod_groups_.erase(p.uid);
  g.preempting_pods.clear();
}

void SchedulerImpl::DeleteAllocatedGroup(GroupId gid) {
  Group& g = groups_[gid];
  ForEachLeaf(PhysOf(g), [&](size_t, size_t, size_t, int32_t c) {
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

VCellId SchedulerImpl::LowestPriorityVirtual(const VCellId* cells, size_t n,
                                             int32_t p) const {
  VCellId best = kNone;
  int32_t best_p = p;
  for (size_t i = 0; i < n; ++i) {
    const VCell& v = vcells_[cells[i]];
    if (v.priority == kFreePriority) {
      if (v.pcell == kNone) return cells[i];
      continue;
    }
    if (v.priority < best_p) {
      best = cells[i];
      best_p = v.priority;
    }
  }
  return best;
}

VCellId SchedulerImpl::VAncestorAt(VCellId v, int32_t level) const {
  while (v != kNone && vcells_[v].level < level) v = vcells_[v].parent;
  return v != kNone && vcells_[v].level == level ? v : kNone;
}

VCellId SchedulerImpl::VirtualHint(const PodBindInfo& info, size_t flat, const Group& g,
                                   ChainId ch) const {
  if (flat >= info.virtual_leaf_cells.size() || info.virtual_leaf_cells[flat].empty())
    return kNone;
  if (vcell_by_address_.empty()) {
    vcell_by_address_.reserve(vcells_.size());
    for (VCellId v = 0; v < static_cast<VCellId>(vcells_.size()); ++v)
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

VCellId SchedulerImpl::MapPhysicalToVirtual(CellId c,
                                            const std::vector<std::vector<VCellId>>& vccl,
                                            int32_t level, int32_t p,
                                            std::string& message, VCellId hint) const {
  if (pcells_[c].vcell != kNone) return pcells_[c].vcell;
  auto free_unbound = [&](VCellId v) {
    return v != kNone && vcells_[v].priority == kFreePriority && vcells_[v].pcell == kNone;
  };
  if (pcells_[c].level == level) {
    // Apiary: the physical cell must be free to become this preassigned
    // cell's image. HiveD does not check and, when the cell is split by other
    // preassigned (e.g. doomed) cells or lies inside another bound cell,
    // takes it out of a free list it is not in and corrupts its counters.
    // Failing here lazily preempts the group instead (7.1 step 2).
    if (!InFreeCellList(c)) {
      message = "physical cell " + pcells_[c].address +
                " is not free at the preassigned level (" + std::to_string(level) + ")";
      return kNone;
    }
    const auto& list = level < static_cast<int32_t>(vccl.size()) ? vccl[level]
                                                                  : std::vector<VCellId>{};
    VCellId want = VAncestorAt(hint, level);
    if (free_unbound(want) && std::find(list.begin(), list.end(), want) != list.end())
      return want;
    VCellId v = LowestPriorityVirtual(list.data(), list.size(), p);
    if (v == kNone)
      message = "insufficient free cell in the VC at the preassigned level (" +
                std::to_string(level) + ")";
    return v;
  }
  if (pcells_[c].parent == kNone) {
    message = "physical and virtual cell hierarchies not match (cannot reach the "
              "preassigned level " + std::to_string(level) + " in physical)";
    return kNone;
  }
  VCellId pv = MapPhysicalToVirtual(pcells_[c].parent, vccl, level, p, message, hint);
  if (pv == kNone) return kNone;
  VCellId want = VAncestorAt(hint, pcells_[c].level);
  if (free_unbound(want) && vcells_[want].parent == pv) return want;
  VCellId v = LowestPriorityVirtual(&vchildren_[vcells_[pv].child_begin],
                                    vcells_[pv].child_count, p);
  if (v == kNone) message = "no suitable virtual child cell of " + vcells_[pv].address;
  return v;
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
  const std::vector<std::vector<VCellId>>* vccl = nullptr;
  if (!g.pinned_id.empty()) {
    for (const PinnedVc& p : vc.pinned)
      if (p.id == g.pinned_id) vccl = &p.full;
  } else if (vc.chains[ch].has_nonpinned) {
    vccl = &vc.chains[ch].preassigned;
  }
  if (vccl == nullptr) {
    lazy = 1;
    return;
  }
  vleaf = MapPhysicalToVirtual(pleaf, *vccl, level, g.priority, message, hint);
  // Apiary: a leaf bound to another VC's cell (a doomed binding made while
  // its node was bad) cannot carry this group's guaranteed use.
  if (vleaf != kNone && vcells_[vleaf].vc != g.vc) vleaf = kNone;
  if (vleaf == kNone) lazy = 1;
}

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
  Request req;
  req.group_name = spec.affinity_group_name;
  auto vit = vc_index_.find(spec.virtual_cluster);
  req.vc = vit == vc_index_.end() ? kNone : vit->second;
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
  const bool has_types = true;
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
      bool types_present = has_types && !pp.preassigned_cell_types.empty();
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
    if (all_vc_free_[ch][l] > Healthy(ch, l)) TryBindDoomed(ch, l);
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

void SchedulerImpl::FinishRecovery() {
  struct DropIndex {
    std::unordered_map<std::string, VCellId>& index;
    ~DropIndex() { std::unordered_map<std::string, VCellId>().swap(index); }
  } drop{vcell_by_address_};
  for (GroupId gid = 0; gid < static_cast<GroupId>(groups_.size()); ++gid) {
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
          CellId pac_phys = vcells_[vcells_[vleaf].preassigned].pcell;
          if (consistent && pac_phys != kNone) {
            consistent = false;
            for (CellId a = pleaf; a != kNone; a = pcells_[a].parent)
              if (a == pac_phys) consistent = true;
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

// ---------------------------------------------------------------------------
// Inspection (11)
// ---------------------------------------------------------------------------

std::string SchedulerImpl::EmitIndices(const std::vector<int32_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s + "]";
}

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
  for (CellId c = 0; c < static_cast<CellId>(pcells_.size()); ++c)
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

std::vector<AffinityGroupStatus> SchedulerImpl::AffinityGroups() const {
  std::vector<AffinityGroupStatus> out;
  for (const auto& [name, gid] : group_index_) out.push_back(GroupStatus(gid));
  return out;
}

// ---------------------------------------------------------------------------
// Invariants (for tests) and usage
// ---------------------------------------------------------------------------

std::string SchedulerImpl::CheckInvariants() const {
  auto fail = [](const std::string& m) { return m; };
  // Each leaf held by at most one user and one reserver, and they agree with
  // the groups' placements.
  std::vector<int32_t> holders(pcells_.size(), 0);
  for (GroupId gid = 0; gid < static_cast<GroupId>(groups_.size()); ++gid) {
    const Group& g = groups_[gid];
    if (!g.live) continue;
    for (const auto& m : g.members)
      for (const auto& slot : m.phys)
        for (CellId c : slot) {
          if (c == kNone) continue;
          if (g.state == GroupState::kPreempting) {
            if (pcells_[c].reserving_group != gid)
              return fail("leaf " + pcells_[c].address + " of preempting group " + g.name +
                          " is not reserved by it");
          } else if (pcells_[c].using_group != gid) {
            return fail("leaf " + pcells_[c].address + " of group " + g.name +
                        " is used by another group");
          } else {
            holders[c]++;
          }
        }
  }
  for (size_t c = 0; c < pcells_.size(); ++c) {
    if (holders[c] > 1) return fail("leaf " + pcells_[c].address + " given twice");
    const PCell& p = pcells_[c];
    if (p.level != 1) continue;
    bool busy = p.using_group != kNone || p.reserving_group != kNone;
    if (busy != (p.priority != kFreePriority))
      return fail("leaf " + p.address + " priority " + std::to_string(p.priority) +
                  " disagrees with its users");
  }
  // Usage counters equal a recount from the leaves.
  for (size_t c = 0; c < pcells_.size(); ++c) {
    const PCell& p = pcells_[c];
    if (p.level != 1) continue;
    int32_t expect = p.priority == kFreePriority ? 0 : 1;
    if (p.used.Total() != expect)
      return fail("leaf " + p.address + " usage counter is " + std::to_string(p.used.Total()));
  }
  for (size_t c = 0; c < pcells_.size(); ++c) {
    const PCell& p = pcells_[c];
    if (p.level == 1) continue;
    int32_t sum = 0;
    for (int32_t k = 0; k < p.child_count; ++k)
      sum += pcells_[pchildren_[p.child_begin + k]].used.Total();
    if (sum != p.used.Total()) return fail("cell " + p.address + " usage counter mismatch");
  }
  // The same for virtual cells: a virtual leaf counts one use exactly when
  // it has a priority, and a parent counts what its children count.
  for (size_t v = 0; v < vcells_.size(); ++v) {
    const VCell& c = vcells_[v];
    int32_t expect = 0;
    if (c.level == 1) {
      expect = c.priority == kFreePriority ? 0 : 1;
      if (c.used.At(c.priority) != expect)
        return fail("virtual leaf " + c.address + " usage counter mismatch");
      // A used virtual leaf is bound to the physical leaf it is used on.
      if (c.priority != kFreePriority &&
          (c.pcell == kNone || pcells_[c.pcell].priority != c.priority))
        return fail("virtual leaf " + c.address + " is used at priority " +
                    std::to_string(c.priority) + " but not bound to a leaf used so");
    } else {
      for (int32_t k = 0; k < c.child_count; ++k)
        expect += vcells_[vchildren_[c.child_begin + k]].used.Total();
    }
    if (c.used.Total() != expect)
      return fail("virtual cell " + c.address + " usage counter is " +
                  std::to_string(c.used.Total()) + ", expected " + std::to_string(expect));
  }
  // Opportunistic fake cells (11.3): exactly the leaves used at -1 by a VC.
  for (size_t c = 0; c < pcells_.size(); ++c) {
    const PCell& p = pcells_[c];
    if (p.level != 1) continue;
    bool listed = p.opp_vc != kNone &&
                  std::count(vcs_[p.opp_vc].opp_cells.begin(), vcs_[p.opp_vc].opp_cells.end(),
                             static_cast<CellId>(c)) == 1;
    if ((p.priority == kOpportunisticPriority) != listed)
      return fail("leaf " + p.address + " opportunistic use and VC status disagree");
  }
  for (const Vc& vc : vcs_)
    for (CellId c : vc.opp_cells)
      if (pcells_[c].priority != kOpportunisticPriority)
        return fail("VC " + vc.name + " lists a fake cell for unused leaf " + pcells_[c].address);
  // Free lists: members are free, unsplit, under a split parent or on top.
  for (size_t ch = 0; ch < chains_.size(); ++ch) {
    const Chain& chain = chains_[ch];
    std::vector<int64_t> left(chain.top_level + 1, 0);
    for (int32_t l = chain.top_level; l >= 1; --l) {
      for (size_t i = 0; i < free_[ch][l].size(); ++i) {
        CellId c = free_[ch][l][i];
        const PCell& p = pcells_[c];
        if (p.free_pos != static_cast<int32_t>(i) || p.split || p.vcell != kNone ||
            (p.parent != kNone && !pcells_[p.parent].split))
          return fail("free list of chain " + chain.name + " level " + std::to_string(l) +
                      " holds a cell that is not free: " + p.address);
      }
      int64_t from_above = l < chain.top_level ? left[l + 1] * chain.child_number_at_level[l + 1] : 0;
      left[l] = static_cast<int64_t>(free_[ch][l].size()) + from_above;
      if (left[l] != total_left_[ch][l])
        return fail("totalLeft of chain " + chain.name + " level " + std::to_string(l) +
                    " is " + std::to_string(total_left_[ch][l]) + ", recount " +
                    std::to_string(left[l]));
    }
    // Quota: vcFree equals the unbound preassigned cells; never negative.
    for (int32_t l = 1; l <= chain.top_level; ++l) {
      int32_t all = 0;
      for (const Vc& vc : vcs_) {
        const ChainVc& cv = vc.chains[ch];
        int32_t unbound = 0;
        for (VCellId v : cv.preassigned[l]) unbound += vcells_[v].pcell == kNone;
        for (const PinnedVc& p : vc.pinned)
          if (vcells_[p.vtop].chain == static_cast<ChainId>(ch) && vcells_[p.vtop].level == l)
            unbound += vcells_[p.vtop].pcell == kNone;
        if (cv.vc_free[l] != unbound || cv.vc_free[l] < 0)
          return fail("vcFree of VC " + vc.name + " chain " + chain.name + " level " +
                      std::to_string(l) + " is " + std::to_string(cv.vc_free[l]) +
                      ", unbound preassigned cells " + std::to_string(unbound));
        all += cv.vc_free[l];
      }
      if (all != all_vc_free_[ch][l]) return fail("allVcFree mismatch in chain " + chain.name);
    }
  }
  // A VC's guaranteed leaves never exceed its quota.
  for (const Vc& vc : vcs_) {
    int64_t quota = 0, used = 0;
    for (VCellId v : vc.status_cells) {
      quota += vcells_[v].total_leaves;
      used += vcells_[v].used.AtOrAbove(kMinGuaranteedPriority);
    }
    if (used > quota) return fail("VC " + vc.name + " uses more than its quota");
  }
  // Bindings are symmetric.
  for (size_t c = 0; c < pcells_.size(); ++c)
    if (pcells_[c].vcell != kNone && vcells_[pcells_[c].vcell].pcell != static_cast<CellId>(c))
      return fail("binding of " + pcells_[c].address + " is not symmetric");
  for (size_t v = 0; v < vcells_.size(); ++v)
    if (vcells_[v].pcell != kNone && pcells_[vcells_[v].pcell].vcell != static_cast<VCellId>(v))
      return fail("binding of " + vcells_[v].address + " is not symmetric");
  // Topology-aware node arrays: the position index is right, every node
  // whose counter moved is listed dirty, and an incremental refresh gives
  // exactly what a full one gives (values and order).
  for (size_t ti = 0; ti < tas_.size(); ++ti) {
    const Tas& t = tas_[ti];
    const std::string name = "node array " + std::to_string(ti);
    size_t flagged = 0;
    for (uint8_t f : t.dirty_flag) flagged += f;
    if (flagged != t.dirty.size()) return fail(name + ": dirty list and flags disagree");
    for (size_t i = 0; i < t.nodes.size(); ++i) {
      const TasNode& n = t.nodes[i];
      const int32_t of = t.is_virtual ? vcells_[n.cell].tas : pcells_[n.cell].tas;
      const int32_t ord = t.is_virtual ? vcells_[n.cell].tas_ord : pcells_[n.cell].tas_ord;
      if (of != static_cast<int32_t>(ti) || ord != n.ord)
        return fail(name + ": cell index of node " + std::to_string(i) + " is wrong");
      if (t.pos_valid && t.pos[n.ord] != static_cast<int32_t>(i))
        return fail(name + ": position of node " + std::to_string(i) + " is wrong");
      if (t.sorted_valid && CellVersion(t.is_virtual, n.cell) != n.seen_version && !t.dirty_flag[n.ord])
        return fail(name + ": a changed node is not listed dirty");
    }
    if (!t.sorted_valid) continue;
    Tas full = t, incremental = t;
    RefreshTasFull(full, t.sorted_p, nullptr, t.sorted_mode == 1);
    TasScratch scratch;  // not the scheduler's: const calls may run concurrently
    RefreshTasIncremental(incremental, t.sorted_p, scratch);
    for (size_t i = 0; i < t.nodes.size(); ++i) {
      const TasNode& a = full.nodes[i];
      const TasNode& b = incremental.nodes[i];
      if (a.cell != b.cell || a.free_at_priority != b.free_at_priority || a.used_same != b.used_same ||
          a.used_higher != b.used_higher || a.healthy != b.healthy || a.suggested != b.suggested)
        return fail(name + ": incremental refresh differs from a full one at index " + std::to_string(i));
      if (incremental.pos_valid && incremental.pos[b.ord] != static_cast<int32_t>(i))
        return fail(name + ": incremental refresh left a wrong position");
    }
  }
  return "";
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

// ---------------------------------------------------------------------------
// Public wrapper
// ---------------------------------------------------------------------------

Result<std::unique_ptr<Scheduler>> Scheduler::Create(const Config& config,
                                                     const Clock* clock,
                                                     bool start_healthy) {
  Diagnostics diagnostics;
  if (!ValidateConfig(config, &diagnostics))
    return Status::Invalid(diagnostics.Format(Diagnostic::Severity::kError));
  auto impl = std::make_unique<SchedulerImpl>(clock);
  Status st = impl->Build(config);
  if (!st.ok()) return st;
  if (start_healthy)
    for (NodeId n = 0; n < static_cast<NodeId>(impl->node_names_.size()); ++n)
      impl->SetNodeHealthy(n);
  auto derived = DeriveConfig(config);
  if (!derived.ok()) return derived.status();
  std::unique_ptr<Scheduler> s(new Scheduler(std::move(impl)));
  s->feasibility_ =
      std::make_unique<const FeasibilityIndex>(FeasibilityIndex::Build(config, *derived));
  return s;
}

Scheduler::Scheduler(std::unique_ptr<SchedulerImpl> impl) : impl_(std::move(impl)) {}
Scheduler::~Scheduler() = default;

ScheduleResult Scheduler::Schedule(const PodRef& pod, const PodSchedulingSpec& spec,
                                   const std::vector<std::string>* suggested_nodes,
                                   SchedulingPhase phase) {
  ScheduleResult r = impl_->Schedule(pod, spec, suggested_nodes, phase);
  if (r.kind == ScheduleResult::Kind::kWait) {
    if (std::string why = feasibility_->NeverFits(spec); !why.empty()) r.message += "; " + why;
  }
  return r;
}

Status Scheduler::AddAllocatedPod(const PodRef& pod, const PodSchedulingSpec& spec,
                                  const PodBindInfo& bind_info,
                                  const std::optional<LazyPreemptionMark>& mark) {
  return impl_->AddAllocatedPod(pod, spec, bind_info, mark);
}

void Scheduler::FinishRecovery() { impl_->FinishRecovery(); }

Status Scheduler::DeleteAllocatedPod(std::string_view uid) {
  return impl_->DeleteAllocatedPod(uid);
}

bool Scheduler::DeleteUnallocatedPod(std::string_view uid) {
  return impl_->DeleteUnallocatedPod(uid);
}

bool Scheduler::IsAllocatedPod(std::string_view uid) const {
  return impl_->pod_locs_.count(std::string(uid)) > 0;
}

Status Scheduler::SetNodeHealth(std::string_view node, bool healthy) {
  auto it = impl_->node_index_.find(std::string(node));
  if (it == impl_->node_index_.end())
    return Status::NotFound("node " + std::string(node) + " is not in the configuration");
  if (healthy) {
    impl_->SetNodeHealthy(it->second);
  } else {
    impl_->SetNodeBad(it->second);
  }
  return Status::Ok();
}

bool Scheduler::HasNode(std::string_view node) const {
  return impl_->node_index_.count(std::string(node)) > 0;
}

std::vector<std::string> Scheduler::Nodes() const { return impl_->node_names_; }

std::optional<LazyPreemptionMark> Scheduler::LazyMarkOfPod(std::string_view uid) const {
  auto it = impl_->pod_locs_.find(std::string(uid));
  if (it == impl_->pod_locs_.end()) return std::nullopt;
  return impl_->groups_[it->second.group].lazy;
}

std::vector<std::string> Scheduler::VirtualLeafCellsOfPod(std::string_view uid) const {
  auto it = impl_->pod_locs_.find(std::string(uid));
  if (it == impl_->pod_locs_.end()) return {};
  return impl_->VirtualLeafCellsOf(impl_->groups_[it->second.group]);
}

std::vector<AffinityGroupStatus> Scheduler::AffinityGroups() const {
  return impl_->AffinityGroups();
}

Result<AffinityGroupStatus> Scheduler::AffinityGroup(std::string_view name) const {
  auto it = impl_->group_index_.find(std::string(name));
  if (it == impl_->group_index_.end())
    return Status::NotFound("Affinity group " + std::string(name) +
                            " does not exist since it is not allocated or preempting");
  return impl_->GroupStatus(it->second);
}

std::vector<CellStatus> Scheduler::PhysicalCluster() const {
  return impl_->PhysicalCluster();
}

Result<std::vector<CellStatus>> Scheduler::VirtualCluster(std::string_view vc) const {
  auto it = impl_->vc_index_.find(std::string(vc));
  if (it == impl_->vc_index_.end())
    return Status::NotFound("VC " + std::string(vc) + " not found");
  return impl_->VirtualClusterStatus(it->second);
}

std::vector<std::string> Scheduler::VirtualClusterNames() const {
  std::vector<std::string> out;
  for (const Vc& vc : impl_->vcs_) out.push_back(vc.name);
  return out;
}

std::string Scheduler::CheckInvariants() const { return impl_->CheckInvariants(); }
Scheduler::Usage Scheduler::GetUsage() const { return impl_->GetUsage(); }

}  // namespace apiary::cell
