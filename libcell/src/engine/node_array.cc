// The topology-aware schedulers' node arrays (hived.md 6.3): building them,
// snapshotting each node's sort inputs, and the stable re-sort on every pass
// (full, or incremental over the nodes whose cells changed).
#include "scheduler_impl.h"

namespace apiary::cell {

namespace {

// Suggested-node modes whose node values do not depend on the call: 1 =
// suggestions ignored, 2 = no suggestion list (every node suggested); 0 =
// a list, which may differ from call to call.
int8_t SuggestionMode(const SuggestedSet* suggested, bool ignore_suggested) {
  return ignore_suggested ? 1 : suggested == nullptr ? 2 : 0;
}

}  // namespace

// hived.md 6.3 "Node view": a node array over the cells `full` lists by
// level.
int32_t SchedulerImpl::NewNodeArray(bool is_virtual, bool cross_priority_pack, ChainId chain,
                                    const std::vector<std::vector<int32_t>>& full) {
  // The node view (6.3): the lowest level whose first cell is at or above
  // node level gives the nodes; below it, every cell whose nearest
  // at-or-above-node ancestor (else its top) is not yet a node becomes one.
  NodeArray t;
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
        NodeArrayEntry n;
        n.cell = a;
        t.nodes.push_back(n);
      }
    }
  }
  const int32_t index = static_cast<int32_t>(node_arrays_.size());
  for (size_t i = 0; i < t.nodes.size(); ++i) {
    const int32_t c = t.nodes[i].cell;
    t.nodes[i].ord = static_cast<int32_t>(i);
    (is_virtual ? vcells_[c].node_array : pcells_[c].node_array) = index;
    (is_virtual ? vcells_[c].node_array_ord : pcells_[c].node_array_ord) = static_cast<int32_t>(i);
  }
  t.dirty_flag.assign(t.nodes.size(), 0);
  t.pos.assign(t.nodes.size(), 0);
  node_arrays_.push_back(std::move(t));
  return index;
}

// hived.md 8.3: a node is suggested when there is no list or it is on it.
bool SchedulerImpl::NodeSuggested(NodeId n, const SuggestedSet* s) const {
  return s == nullptr || (n != kNone && s->count(n) > 0);
}

NodeId SchedulerImpl::FirstNodeOf(CellId c) const {
  if (pcells_[c].node != kNone) return pcells_[c].node;
  return pcells_[c].nodes.empty() ? kNone : pcells_[c].nodes[0];
}

// Copies the sort inputs of entry n's cell (usage, bound physical cell,
// health, first node) into n, seen at change counter `version`.
void SchedulerImpl::SnapshotEntry(const NodeArray& t, NodeArrayEntry& n, uint32_t version) const {
  n.seen_version = version;
  const UsedLeaves& used = t.is_virtual ? vcells_[n.cell].used : pcells_[n.cell].used;
  n.total = t.is_virtual ? vcells_[n.cell].total_leaves : pcells_[n.cell].total_leaves;
  n.used_count = 0;
  for (const auto& e : used.entries()) {
    if (e.second == 0) continue;
    if (n.used_count == n.used.size()) {
      n.used_count = NodeArrayEntry::kManyPriorities;
      break;
    }
    n.used[n.used_count++] = e;
  }
  n.phys = t.is_virtual ? vcells_[n.cell].pcell : CellId(n.cell);
  n.phys_healthy = n.phys == kNone || pcells_[n.phys].healthy;
  n.first_node = n.phys == kNone ? kNone : FirstNodeOf(n.phys);
}

// Inlined into the refresh loops: per node it is a handful of adds, and the
// call itself showed as a fifth of a full refresh.
__attribute__((always_inline)) inline void SchedulerImpl::ComputeEntry(
    const NodeArray& t, NodeArrayEntry& n, int32_t p, const SuggestedSet* suggested,
    bool ignore_suggested) const {
  int32_t at = 0, above = 0, total_used = 0;
  if (n.used_count != NodeArrayEntry::kManyPriorities) {
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

void SchedulerImpl::RefreshNodeArray(NodeArray& t, int32_t p, const SuggestedSet* suggested,
                                     bool ignore_suggested) {
  const int8_t mode = SuggestionMode(suggested, ignore_suggested);
  // With many changed nodes (a gang just placed or freed) the full pass is
  // cheaper than locating each one.
  if (t.sorted_valid && mode != 0 && t.sorted_p == p && t.sorted_mode == mode &&
      t.dirty.size() * 128 <= t.nodes.size()) {
    RefreshNodeArrayIncremental(t, p, refresh_scratch_);
  } else {
    RefreshNodeArrayFull(t, p, suggested, ignore_suggested);
  }
}

// hived.md 6.3 "Ranking": recomputes every entry and stably sorts.
void SchedulerImpl::RefreshNodeArrayFull(NodeArray& t, int32_t p, const SuggestedSet* suggested,
                                         bool ignore_suggested) const {
  for (NodeArrayEntry& n : t.nodes) {
    const uint32_t version = CellVersion(t.is_virtual, n.cell);
    if (version != n.seen_version) SnapshotEntry(t, n, version);
    ComputeEntry(t, n, p, suggested, ignore_suggested);
  }
  t.SortStable();
  for (int32_t ord : t.dirty) t.dirty_flag[ord] = 0;
  t.dirty.clear();
  // Positions are rebuilt by the next incremental refresh, if any: the
  // preemption path alternates priorities and only ever refreshes in full.
  t.pos_valid = false;
  t.sorted_p = p;
  t.sorted_mode = SuggestionMode(suggested, ignore_suggested);
  t.sorted_valid = t.sorted_mode != 0;
}

// The same result as RefreshNodeArrayFull for the same p and mode, touching
// only the dirty nodes and the range they move across (NodeArray::Reposition).
void SchedulerImpl::RefreshNodeArrayIncremental(NodeArray& t, int32_t p,
                                                RefreshScratch& scratch) const {
  if (t.dirty.empty()) return;
  std::vector<int32_t>& prev = scratch.prev;  // the dirty nodes' indices, ascending
  t.TakeDirty(prev);
  for (int32_t i : prev) {
    NodeArrayEntry& n = t.nodes[i];
    const uint32_t version = CellVersion(t.is_virtual, n.cell);
    if (version != n.seen_version) SnapshotEntry(t, n, version);
    // Cacheable modes: the suggestion does not depend on the call.
    ComputeEntry(t, n, p, nullptr, t.sorted_mode == 1);
  }
  t.Reposition(scratch);
}

// A stable sort, in place. Between two calls only the nodes touched since
// then change rank, so the array is nearly sorted and an insertion sort is
// linear in practice; it gives exactly std::stable_sort's order and needs
// no buffer.
void NodeArray::SortStable() {
  for (size_t i = 1; i < nodes.size(); ++i) {
    if (!NodeOrderLess(nodes[i], nodes[i - 1])) continue;
    NodeArrayEntry x = nodes[i];
    size_t j = i;
    do {
      nodes[j] = nodes[j - 1];
      --j;
    } while (j > 0 && NodeOrderLess(x, nodes[j - 1]));
    nodes[j] = x;
  }
}

void NodeArray::TakeDirty(std::vector<int32_t>& prev) {
  if (!pos_valid) {
    for (size_t i = 0; i < nodes.size(); ++i) pos[nodes[i].ord] = static_cast<int32_t>(i);
    pos_valid = true;
  }
  prev.clear();
  for (int32_t ord : dirty) {
    prev.push_back(pos[ord]);
    dirty_flag[ord] = 0;
  }
  dirty.clear();
  std::sort(prev.begin(), prev.end());
}

// SortStable's order is a stable sort of the previous order by the new
// values, i.e. sorted by (new value, previous index). The clean nodes keep
// their values and are in that order already; each dirty node x goes after
// the q(x) clean nodes that precede it by that order: those with a smaller
// value, and those with an equal value and a smaller previous index.
void NodeArray::Reposition(Scratch& scratch) {
  const std::vector<int32_t>& prev = scratch.prev;
  if (prev.empty()) return;
  const int32_t size = static_cast<int32_t>(nodes.size());
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
      } else if (pred(nodes[m])) {
        lo = m + 1;
      } else {
        hi = m;
      }
    }
    return lo - static_cast<int32_t>(std::lower_bound(prev.begin(), prev.end(), lo) - prev.begin());
  };
  std::vector<Move>& moves = scratch.moves;
  moves.clear();
  for (int32_t k = 0; k < d; ++k) {
    const NodeArrayEntry& x = nodes[prev[k]];
    const int32_t before =
        clean_prefix([&](const NodeArrayEntry& e) { return NodeOrderLess(e, x); });
    const int32_t not_after =
        clean_prefix([&](const NodeArrayEntry& e) { return !NodeOrderLess(x, e); });
    // Clean nodes ahead of x in the array are exactly those with a smaller
    // previous index: prev[k] - k of them.
    const int32_t q = std::clamp(prev[k] - k, before, not_after);
    moves.push_back({q, prev[k], x});
  }
  std::sort(moves.begin(), moves.end(), [](const Move& a, const Move& b) {
    if (a.q != b.q) return a.q < b.q;
    if (NodeOrderLess(a.node, b.node)) return true;
    if (NodeOrderLess(b.node, a.node)) return false;
    return a.prev < b.prev;
  });
  // Dirty node k (in the new order) lands at q + k. Only [lo, hi] changes:
  // outside it, a clean node has as many dirty nodes before it as before.
  int32_t lo = std::min(prev.front(), moves.front().q);
  int32_t hi = std::max(prev.back(), moves.back().q + d - 1);
  std::vector<NodeArrayEntry>& range = scratch.range;
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
    range.push_back(nodes[a++]);
  }
  for (int32_t g = lo; g <= hi; ++g) {
    nodes[g] = range[g - lo];
    pos[nodes[g].ord] = g;
  }
}

std::string SchedulerImpl::EntryAddress(const NodeArray& t, const NodeArrayEntry& n) const {
  CellId phys = t.is_virtual ? vcells_[n.cell].pcell : CellId(n.cell);
  if (phys != kNone) return pcells_[phys].address;
  return vcells_[n.cell].address;
}

}  // namespace apiary::cell
