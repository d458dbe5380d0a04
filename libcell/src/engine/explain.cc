// Explaining a decision (issue 15, docs/explain.md): why a pod waits or
// preempts, in the engine's own terms. Everything here is const: the
// explanation reads the state a decision is made on (before it, so that a
// preemption's reservation does not hide the shortage it solved) and runs
// the decision's own capacity checks (RefreshNodeArrayFull, FindNodesForPods)
// on copies of the node arrays. An explanation therefore never changes a
// decision, and a call that does not ask for one never reaches this file.
#include <set>

#include "apiary/cell/explain.h"
#include "scheduler_impl.h"

namespace apiary::cell {

namespace {

std::string Gpus(int64_t n) { return std::to_string(n) + (n == 1 ? " GPU" : " GPUs"); }

std::string JoinNames(const std::vector<std::string>& names, size_t max) {
  std::string s;
  for (size_t i = 0; i < names.size() && i < max; ++i) s += (i ? ", " : "") + names[i];
  if (names.size() > max) s += " and " + std::to_string(names.size() - max) + " more";
  return s;
}

std::string HolderList(const std::vector<ExplainHolder>& hs, size_t max) {
  std::vector<std::string> names;
  for (const ExplainHolder& h : hs)
    names.push_back(h.group + " (" + (h.vc.empty() ? "" : "VC " + h.vc + ", ") + "priority " +
                    std::to_string(h.priority) + ", " + Gpus(h.leaves) + ")");
  return JoinNames(names, max);
}

void SortHolders(std::vector<ExplainHolder>& hs) {
  std::sort(hs.begin(), hs.end(), [](const ExplainHolder& a, const ExplainHolder& b) {
    if (a.leaves != b.leaves) return a.leaves > b.leaves;
    return a.group < b.group;
  });
}

}  // namespace

// The cells a request's pods need in chain `ch`: per pod, the smallest cell
// type that holds its leaves.
std::vector<ExplainCellCount> SchedulerImpl::ExplainNeeded(const Request& req, ChainId ch) const {
  const Chain& chain = chains_[ch];
  std::vector<ExplainCellCount> out;
  for (int32_t pod : req.SortedPods()) {
    int32_t level = chain.top_level;
    for (int32_t l = 1; l <= chain.top_level; ++l)
      if (chain.leaves_at_level[l] >= pod) {
        level = l;
        break;
      }
    auto it = std::find_if(out.begin(), out.end(),
                           [&](const ExplainCellCount& c) { return c.level == level; });
    if (it == out.end()) out.push_back({chain.type_at_level[level], level, 1});
    else it->count++;
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.level > b.level; });
  return out;
}

// One chain of a request, analysed on the current state with the decision's
// own node order and greedy pass (hived.md 6.3), at the request's priority
// (the pass that may preempt).
ExplainChain SchedulerImpl::ExplainChainOf(const Request& req, ChainId ch, int32_t pinned,
                                           const SuggestedSet* suggested) const {
  const Chain& chain = chains_[ch];
  const Vc& vc = vcs_[req.vc];
  const bool guaranteed = req.priority >= kMinGuaranteedPriority;
  ExplainChain e;
  e.leaf_cell_type = chain.leaf_type;
  e.chain = chain.name;
  e.priority = req.priority;
  e.needed = ExplainNeeded(req, ch);
  const std::vector<int32_t> pods = req.SortedPods();
  for (int32_t p : pods) e.needed_leaves += p;
  int32_t node_array = kNone;
  if (!guaranteed) {
    e.scope = "physical cluster";
    node_array = opp_node_arrays_[ch];
  } else if (pinned != kNone) {
    e.scope = "VC " + vc.name + " pinned cell " + vc.pinned[pinned].id;
    node_array = vc.pinned[pinned].node_array;
  } else {
    e.scope = "VC " + vc.name;
    node_array = vc.chains[ch].node_array;
  }
  if (node_array == kNone) {
    e.rule = ExplainChain::kQuotaUsedUp;
    e.message = e.scope + " has no cells in chain " + chain.name;
    return e;
  }
  NodeArray t = node_arrays_[node_array];
  RefreshNodeArrayFull(t, req.priority, suggested, req.ignore_suggested);
  std::vector<int32_t> picked;
  std::string reason;
  bool fits = FindNodesForPods(t, pods, picked, reason);
  if (!fits && req.priority > kOpportunisticPriority) {
    // The decision's first pass, on free cells only (6.3 "Two passes"): its
    // node order differs, so it may succeed where the second pass's did not.
    NodeArray first = node_arrays_[node_array];
    RefreshNodeArrayFull(first, kOpportunisticPriority, suggested, req.ignore_suggested);
    std::string unused;
    fits = FindNodesForPods(first, pods, picked, unused);
  }

  // Leaves by kind over the array's nodes; the largest piece a pod could get.
  int32_t largest = 0;
  std::vector<std::string> bad_nodes, pieces;
  std::vector<int32_t> avail;  // healthy nodes' leaves at the priority
  for (const NodeArrayEntry& n : t.nodes) {
    const UsedLeaves& used = t.is_virtual ? vcells_[n.cell].used : pcells_[n.cell].used;
    const int32_t free = n.total - used.Total();
    if (!n.healthy) {
      e.doomed_leaves += free;
      if (free > 0) bad_nodes.push_back(EntryAddress(t, n));
      continue;
    }
    e.free_leaves += free;
    e.preemptible_leaves += n.free_at_priority - free;
    if (n.free_at_priority > 0) {
      avail.push_back(n.free_at_priority);
      largest = std::max(largest, n.free_at_priority);
      std::string addr = t.is_virtual ? vcells_[n.cell].address : pcells_[n.cell].address;
      if (t.is_virtual && vcells_[n.cell].pcell != kNone)
        addr += " on " + pcells_[vcells_[n.cell].pcell].address;
      pieces.push_back(addr + " (" + std::to_string(n.free_at_priority) + " free of " +
                       std::to_string(n.total) + ")");
    }
  }
  // Free cells by level, each counted once at its largest free ancestor.
  // `cells` is pcells_ or vcells_, `full` the matching per-level lists.
  auto count_free = [&](const auto& full, const auto& cells, auto is_free) {
    for (size_t l = full.size(); l-- > 1;) {
      int32_t count = 0;
      for (auto c : full[l]) {
        if (!is_free(cells[c])) continue;
        if (cells[c].parent != kNone && is_free(cells[cells[c].parent])) continue;
        ++count;
      }
      if (count > 0)
        e.free.push_back({chain.type_at_level[l], static_cast<int32_t>(l), count});
    }
  };
  auto virtual_free = [](const auto& v) { return v.used.Total() == 0; };
  auto physical_free = [](const auto& p) { return p.used.Total() == 0 && p.healthy; };
  if (!guaranteed) count_free(chain.full, pcells_, physical_free);
  else if (pinned != kNone) count_free(vc.pinned[pinned].full, vcells_, virtual_free);
  else count_free(vc.chains[ch].full, vcells_, virtual_free);

  if (fits) {
    e.rule = ExplainChain::kFits;
    e.message = e.scope + " has room for the group in chain " + chain.name + " (" +
                Gpus(e.free_leaves) + " free, " + Gpus(e.preemptible_leaves) +
                " held by lower-priority pods)";
    return e;
  }
  const std::string needs = "the group needs " + Gpus(e.needed_leaves);
  const bool bad_reason = reason.rfind("have to use at least one bad node", 0) == 0;
  // The rules in order: not enough leaves even counting those on bad nodes
  // (quota used up; held by other pods), then bad nodes, suggestions, and
  // last the shape (fragmentation).
  const int32_t usable = e.free_leaves + e.preemptible_leaves;
  // How many of the group's largest pods the usable pieces hold.
  const int32_t max_pod = pods.back();
  int32_t big_pods = 0, big_fit = 0;
  for (int32_t p : pods) big_pods += p == max_pod;
  for (int32_t a : avail) big_fit += a / max_pod;
  auto fragmented = [&](const std::string& where) {
    e.rule = ExplainChain::kFragmented;
    e.cells = pieces;
    std::string shape =
        big_fit < big_pods
            ? "room for " + std::to_string(big_fit) + " of its " + std::to_string(big_pods) +
                  " pods of " + Gpus(max_pod) + "; the largest free piece is " +
                  std::to_string(largest)
            : "its pods of " + Gpus(max_pod) + " and less do not pack into the pieces";
    e.message = where + " has " + Gpus(usable) + " in chain " + chain.name +
                " but not in the shape the group needs (" + shape + "): " + JoinNames(pieces, 4);
  };
  if (guaranteed) {
    if (e.needed_leaves > usable + e.doomed_leaves ||
        (e.needed_leaves > usable && e.doomed_leaves == 0)) {
      e.rule = ExplainChain::kQuotaUsedUp;
      for (const Group& grp : groups_) {
        if (!grp.live || grp.vc != req.vc || grp.pinned_id != req.pinned_id) continue;
        int32_t leaves = 0;
        for (const auto& m : grp.members)
          for (const auto& slot : m.virt)
            for (VCellId v : slot)
              if (v != kNone && vcells_[v].chain == ch) ++leaves;
        if (leaves > 0) e.holders.push_back({grp.name, grp.vc_name, grp.priority, leaves});
      }
      SortHolders(e.holders);
      e.message = e.scope + "'s quota in chain " + chain.name + " is used up: " + needs + ", " +
                  Gpus(e.free_leaves) + " free" +
                  (e.preemptible_leaves ? " and " + Gpus(e.preemptible_leaves) +
                                              " held by lower-priority groups"
                                        : "") +
                  (e.doomed_leaves ? " (" + Gpus(e.doomed_leaves) + " more on bad nodes)" : "") +
                  (e.holders.empty() ? "" : "; held by " + HolderList(e.holders, 4));
      return e;
    }
    if (bad_reason || e.needed_leaves > usable) {
      e.rule = ExplainChain::kDoomed;
      e.cells = bad_nodes;
      e.message = e.scope + "'s free cells in chain " + chain.name +
                  " are bound to bad nodes (doomed): " + needs + ", " + Gpus(usable) +
                  " usable on healthy nodes, " + Gpus(e.doomed_leaves) + " on bad nodes " +
                  JoinNames(bad_nodes, 4);
      return e;
    }
  }
  if (reason.rfind("have to use at least one non-suggested node", 0) == 0) {
    e.rule = ExplainChain::kNotSuggested;
    e.message = "in " + e.scope + " chain " + chain.name + " " + needs +
                " and the cells that would fit are on nodes kube-scheduler did not suggest (" +
                reason.substr(reason.find("node ") + 5) + ")";
    return e;
  }
  if (guaranteed) {
    fragmented(e.scope);
    return e;
  }
  // Opportunistic: who holds the physical cells.
  std::map<GroupId, int32_t> held;
  int32_t opp_held = 0;
  for (CellId c : chain.full[1]) {
    const PCell& p = pcells_[c];
    if (p.using_group == kNone || p.used.Total() == 0) continue;
    held[p.using_group]++;
    if (groups_[p.using_group].priority < kMinGuaranteedPriority) ++opp_held;
  }
  for (auto [g, leaves] : held)
    e.holders.push_back({groups_[g].name, groups_[g].vc_name, groups_[g].priority, leaves});
  SortHolders(e.holders);
  if (e.needed_leaves > e.free_leaves + e.doomed_leaves) {
    const bool opp = e.needed_leaves <= e.free_leaves + e.doomed_leaves + opp_held;
    e.rule = opp ? ExplainChain::kHeldByOpportunistic : ExplainChain::kHeldByGuaranteed;
    std::vector<ExplainHolder> shown;
    for (const ExplainHolder& h : e.holders)
      if ((h.priority < kMinGuaranteedPriority) == opp) shown.push_back(h);
    e.message = "in chain " + chain.name + " " + needs + ", " + Gpus(e.free_leaves) +
                " are free; the rest are held by " +
                (opp ? "other opportunistic pods (they finish or get preempted by guaranteed "
                       "ones): "
                     : "guaranteed pods: ") +
                HolderList(shown, 4);
    return e;
  }
  if (bad_reason || e.needed_leaves > e.free_leaves) {
    e.rule = ExplainChain::kBadNodes;
    e.cells = bad_nodes;
    e.message = "in chain " + chain.name + " " + needs + ", " + Gpus(e.free_leaves) +
                " free on healthy nodes; the free cells that would fit are on bad nodes " +
                JoinNames(bad_nodes, 4);
    return e;
  }
  fragmented("the physical cluster");
  return e;
}

// Where the request would fit now: another VC with the same leaf type
// whose cells hold the group ("fits in VC b"), or fewer leaves per pod.
std::string SchedulerImpl::ExplainSuggestion(const Request& req, const ExplainChain& e,
                                             ChainId ch, const SuggestedSet* suggested) const {
  if (e.rule == ExplainChain::kFragmented && !e.needed.empty()) {
    const std::vector<int32_t> pods = req.SortedPods();
    const int32_t max_pod = pods.back();
    // The largest pod size below max_pod that packs the group's leaves into
    // the free pieces as they stand.
    if (req.priority >= kMinGuaranteedPriority && !req.pinned_id.empty()) return "";
    NodeArray t = node_arrays_[req.priority >= kMinGuaranteedPriority
                                   ? vcs_[req.vc].chains[ch].node_array
                                   : opp_node_arrays_[ch]];
    RefreshNodeArrayFull(t, req.priority, suggested, req.ignore_suggested);
    for (int32_t s = max_pod - 1; s >= 1; --s) {
      int32_t room = 0;
      for (const NodeArrayEntry& n : t.nodes)
        if (n.healthy) room += (n.free_at_priority / s) * s;
      if (room >= e.needed_leaves && e.needed_leaves % s == 0)
        return "fits as " + std::to_string(e.needed_leaves / s) + " pods with " + Gpus(s) +
               " per pod";
    }
    return "";
  }
  if (req.priority < kMinGuaranteedPriority || !req.pinned_id.empty()) return "";
  if (e.rule != ExplainChain::kQuotaUsedUp && e.rule != ExplainChain::kDoomed) return "";
  std::vector<std::string> fits_in;
  const std::vector<int32_t> pods = req.SortedPods();
  const Vc& own = vcs_[req.vc];
  for (const Vc& other : vcs_) {  // ascending name
    if (&other == &own) continue;
    const ChainVc& cv = other.chains[ch];
    if (!cv.has_nonpinned || cv.node_array == kNone) continue;
    NodeArray t = node_arrays_[cv.node_array];
    RefreshNodeArrayFull(t, req.priority, suggested, req.ignore_suggested);
    std::vector<int32_t> picked;
    std::string reason;
    if (FindNodesForPods(t, pods, picked, reason)) fits_in.push_back(other.name);
  }
  if (fits_in.empty()) return "";
  return "fits in VC " + JoinNames(fits_in, 3) + " now";
}

// Before the decision: every chain the request would try, in the order
// Schedule tries them (6.1 step 3).
Explanation SchedulerImpl::ExplainRequest(const PodSchedulingSpec& spec,
                                          const std::vector<std::string>* suggested_nodes) const {
  Explanation out;
  auto git = group_index_.find(spec.affinity_group_name);
  if (git != group_index_.end()) return out;  // an existing group: victims only
  auto vit = vc_index_.find(spec.virtual_cluster);
  if (vit == vc_index_.end()) return out;
  const Request req = Request::FromSpec(spec, vit->second);
  if (req.SortedPods().empty()) return out;
  SuggestedSet local;
  const SuggestedSet* suggested = nullptr;
  if (suggested_nodes && !spec.ignore_k8s_suggested_nodes) {
    local.Reset(node_names_.size());
    for (const auto& n : *suggested_nodes)
      if (auto it = node_index_.find(n); it != node_index_.end()) local.Insert(it->second);
    suggested = &local;
  }
  const Vc& vc = vcs_[req.vc];
  auto add = [&](ChainId ch, int32_t pinned) {
    out.chains.push_back(ExplainChainOf(req, ch, pinned, suggested));
    if (out.suggestion.empty() && out.chains.back().rule != ExplainChain::kFits)
      out.suggestion = ExplainSuggestion(req, out.chains.back(), ch, suggested);
  };
  if (!req.pinned_id.empty()) {
    for (size_t i = 0; i < vc.pinned.size(); ++i)
      if (vc.pinned[i].id == req.pinned_id)
        add(pcells_[vc.pinned[i].pcell].chain, static_cast<int32_t>(i));
    return out;
  }
  auto try_type = [&](const std::vector<ChainId>& chains) {
    for (ChainId ch : chains) {
      if (req.priority >= kMinGuaranteedPriority && !vc.chains[ch].has_nonpinned) continue;
      add(ch, kNone);
      if (out.chains.back().rule == ExplainChain::kFits) return true;
    }
    return false;
  };
  if (!spec.leaf_cell_type.empty()) {
    if (auto it = chains_by_leaf_.find(spec.leaf_cell_type); it != chains_by_leaf_.end())
      try_type(it->second);
  } else {
    for (auto it = chains_by_leaf_.rbegin(); it != chains_by_leaf_.rend(); ++it)
      if (try_type(it->second)) break;
  }
  return out;
}

// After the decision: the outcome, the victims and why, the summary.
void SchedulerImpl::ExplainResult(const PodSchedulingSpec& spec, const ScheduleResult& r,
                                  Explanation& e) const {
  e.outcome = r.kind == ScheduleResult::Kind::kPreempt ? "preempt" : "wait";
  if (r.kind == ScheduleResult::Kind::kWait) {
    // A chain whose VC cells fit but whose mapping to physical cells failed
    // (6.5): the engine's reason says why.
    for (ExplainChain& c : e.chains)
      if (c.rule == ExplainChain::kFits) {
        c.rule = ExplainChain::kMapping;
        c.cells = {r.message};
        c.message = c.scope + "'s cells in chain " + c.chain +
                    " hold the group, but mapping them to physical cells failed: " + r.message;
      }
    if (!e.chains.empty()) {
      e.summary = e.chains.back().message;
    } else {
      e.summary = r.message;
    }
    if (!e.suggestion.empty()) e.summary += "; " + e.suggestion;
    return;
  }
  // Preempt: the groups on the placement.
  std::set<std::pair<std::string, int32_t>> on_placement;
  for (const auto& [node, leaves] : r.placement)
    for (int32_t l : leaves) on_placement.insert({node, l});
  std::map<std::string, ExplainVictim> by_group;
  for (const Victim& v : r.victims) {
    auto loc = pod_locs_.find(v.pod.uid);
    if (loc == pod_locs_.end()) continue;
    const Group& g = groups_[loc->second.group];
    ExplainVictim& ev = by_group[g.name];
    if (ev.group.empty()) {
      ev.group = g.name;
      ev.vc = g.vc_name;
      ev.priority = g.priority;
      for (const auto& m : g.members)
        for (const auto& slot : m.phys)
          for (CellId c : slot)
            if (c != kNone && on_placement.count({NodeNameOf(c), pcells_[c].leaf_index})) ++ev.leaves;
      if (g.priority < kMinGuaranteedPriority) {
        ev.why = "opportunistic pods (priority -1) of VC " + g.vc_name +
                 " on the physical cells the placement needs; any guaranteed pod preempts them";
      } else {
        ev.why = "priority " + std::to_string(g.priority) + " is below the preemptor's " +
                 std::to_string(spec.priority) + " in VC " + g.vc_name +
                 ", on the VC cells the placement needs";
      }
    }
    ev.pods.push_back(v.pod.FullName());
  }
  for (auto& [name, v] : by_group) {
    std::sort(v.pods.begin(), v.pods.end());
    e.victims.push_back(std::move(v));
  }
  const ExplainChain* placed = nullptr;
  for (const ExplainChain& c : e.chains)
    if (c.rule == ExplainChain::kFits) placed = &c;
  if (placed == nullptr) {
    e.victims_rule =
        "the group already holds a reservation of these cells (hived.md 7.3); the pods on "
        "them are still running";
  } else if (placed->free_leaves >= placed->needed_leaves &&
             placed->scope != "physical cluster") {
    e.victims_rule =
        placed->scope + "'s quota in chain " + placed->chain + " is free (" +
        Gpus(placed->free_leaves) + " for the group's " + Gpus(placed->needed_leaves) +
        "), but the physical cells it binds to are held by opportunistic pods, which any "
        "guaranteed pod preempts; among the physical cells the mapping prefers those with the "
        "fewest opportunistic pods (hived.md 6.5)";
  } else {
    e.victims_rule =
        "free cells first: " + placed->scope + " has " + Gpus(placed->free_leaves) +
        " free in chain " + placed->chain + " for the group's " + Gpus(placed->needed_leaves) +
        ", so it takes cells held by lower-priority pods; nodes are ranked by hived.md 6.3 "
        "(healthy, suggested, most used at the same priority, least used above it), inside "
        "a node free leaves come first, then the lowest-priority ones; no pod of priority " +
        std::to_string(spec.priority) + " or above is preempted";
  }
  std::vector<std::string> names;
  for (const ExplainVictim& v : e.victims) names.push_back(v.group + " (VC " + v.vc + ", priority " +
                                                           std::to_string(v.priority) + ")");
  e.summary = "preempts " + std::to_string(r.victims.size()) + " pod" +
              (r.victims.size() == 1 ? "" : "s") + " of " + JoinNames(names, 4) +
              (placed ? " to place the group in " + placed->scope + " chain " + placed->chain : "");
}

std::string FormatExplanation(const Explanation& e) {
  std::string s = e.outcome + ": " + e.summary + "\n";
  if (!e.never_fits.empty()) s += "  " + e.never_fits + "\n";
  for (const ExplainChain& c : e.chains) {
    s += "  chain " + c.chain + " (" + c.leaf_cell_type + ") in " + c.scope + ": " + c.rule + "\n";
    s += "    needs:";
    for (const auto& n : c.needed) s += " " + std::to_string(n.count) + " x " + n.cell_type;
    s += " (" + Gpus(c.needed_leaves) + ")\n    free:";
    if (c.free.empty()) s += " none";
    for (const auto& n : c.free) s += " " + std::to_string(n.count) + " x " + n.cell_type;
    s += " (" + Gpus(c.free_leaves) + " free, " + Gpus(c.preemptible_leaves) +
         " preemptible, " + Gpus(c.doomed_leaves) + " on bad nodes)\n";
    s += "    " + c.message + "\n";
  }
  if (!e.victims_rule.empty()) s += "  victims: " + e.victims_rule + "\n";
  for (const ExplainVictim& v : e.victims)
    s += "    " + v.group + " (VC " + v.vc + ", priority " + std::to_string(v.priority) + ", " +
         Gpus(v.leaves) + "): " + v.why + "\n";
  if (!e.suggestion.empty()) s += "  suggestion: " + e.suggestion + "\n";
  return s;
}

}  // namespace apiary::cell
