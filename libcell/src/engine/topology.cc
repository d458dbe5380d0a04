// Topology-aware placement (hived.md 6.3, 6.6): picking nodes for a group's
// pods from a sorted node array, and the leaves within each node that are
// closest to each other.
#include "scheduler_impl.h"

namespace apiary::cell {

int32_t SchedulerImpl::CellLevel(bool is_virtual, int32_t c) const {
  return is_virtual ? vcells_[c].level : pcells_[c].level;
}

int32_t SchedulerImpl::CellParent(bool is_virtual, int32_t c) const {
  return is_virtual ? vcells_[c].parent.value() : pcells_[c].parent.value();
}

// The lowest common ancestor of a and b (kNone across top cells).
int32_t SchedulerImpl::Lca(bool is_virtual, int32_t a, int32_t b) const {
  while (a != kNone && b != kNone && a != b) {
    int32_t la = CellLevel(is_virtual, a), lb = CellLevel(is_virtual, b);
    if (la <= lb) a = CellParent(is_virtual, a);
    if (lb <= la) b = CellParent(is_virtual, b);
  }
  return (a == b) ? a : kNone;
}

// hived.md 6.3 "Picking leaves inside a node": c's free leaves and, apart,
// the leaves used below priority p (preemptible), in child order.
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
    int32_t ch = is_virtual ? vchildren_[begin + k].value() : pchildren_[begin + k].value();
    CollectNodeLeaves(is_virtual, ch, p, free_leaves, preemptible);
  }
}

// hived.md 6.3 "Assigning pods to nodes": greedy over the ranked entries,
// no backtracking; fails on a bad or non-suggested node it would need.
bool SchedulerImpl::FindNodesForPods(const NodeArray& t, const std::vector<int32_t>& pods,
                                     std::vector<int32_t>& picked, std::string& reason) const {
  picked.assign(pods.size(), kNone);
  size_t pod = 0;
  int32_t taken = 0;
  for (size_t i = 0; i < t.nodes.size();) {
    const NodeArrayEntry& n = t.nodes[i];
    if (n.free_at_priority - taken >= pods[pod]) {
      if (!n.healthy) {
        reason = "have to use at least one bad node " + EntryAddress(t, n);
        return false;
      }
      if (!n.suggested) {
        reason = "have to use at least one non-suggested node " + EntryAddress(t, n);
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

// hived.md 6.3 "Picking leaves inside a node": `need` leaves of `avail`
// with the lowest common ancestor (stopping at the optimal level), taken
// out of `avail` keeping the order of the rest.
std::vector<int32_t> SchedulerImpl::FindLeavesInNode(const NodeArray& t, int32_t need,
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

// hived.md 6.3 "Two passes" (and 6.6): places pods on node array `t`,
// first at priority -1, then at the group's priority; out = leaves per pod.
bool SchedulerImpl::ScheduleOnNodeArray(int32_t node_array_index, const std::vector<int32_t>& pods,
                                        int32_t priority, const SuggestedSet* suggested,
                                        bool ignore_suggested,
                                        std::vector<std::vector<int32_t>>& out,
                                        std::string& reason) {
  NodeArray& t = node_arrays_[node_array_index];
  std::vector<int32_t> picked;
  int32_t p = kOpportunisticPriority;
  RefreshNodeArray(t, p, suggested, ignore_suggested);
  bool ok = FindNodesForPods(t, pods, picked, reason);
  if (!ok && priority > kOpportunisticPriority) {
    p = priority;
    RefreshNodeArray(t, p, suggested, ignore_suggested);
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

}  // namespace apiary::cell
