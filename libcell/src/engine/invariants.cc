// The invariant audit (for tests): recounts every cached counter, list and
// binding from the trees and compares.
#include "scheduler_impl.h"

namespace apiary::cell {

std::string SchedulerImpl::CheckInvariants() const {
  auto fail = [](const std::string& m) { return m; };
  // Each leaf held by at most one user and one reserver, and they agree with
  // the groups' placements.
  std::vector<int32_t> holders(pcells_.size(), 0);
  for (GroupId gid{0}; gid < static_cast<GroupId>(groups_.size()); ++gid) {
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
  for (size_t ti = 0; ti < node_arrays_.size(); ++ti) {
    const NodeArray& t = node_arrays_[ti];
    const std::string name = "node array " + std::to_string(ti);
    size_t flagged = 0;
    for (uint8_t f : t.dirty_flag) flagged += f;
    if (flagged != t.dirty.size()) return fail(name + ": dirty list and flags disagree");
    for (size_t i = 0; i < t.nodes.size(); ++i) {
      const NodeArrayEntry& n = t.nodes[i];
      const int32_t of = t.is_virtual ? vcells_[n.cell].node_array : pcells_[n.cell].node_array;
      const int32_t ord =
          t.is_virtual ? vcells_[n.cell].node_array_ord : pcells_[n.cell].node_array_ord;
      if (of != static_cast<int32_t>(ti) || ord != n.ord)
        return fail(name + ": cell index of node " + std::to_string(i) + " is wrong");
      if (t.pos_valid && t.pos[n.ord] != static_cast<int32_t>(i))
        return fail(name + ": position of node " + std::to_string(i) + " is wrong");
      if (t.sorted_valid && CellVersion(t.is_virtual, n.cell) != n.seen_version && !t.dirty_flag[n.ord])
        return fail(name + ": a changed node is not listed dirty");
    }
    if (!t.sorted_valid) continue;
    NodeArray full = t, incremental = t;
    RefreshNodeArrayFull(full, t.sorted_p, nullptr, t.sorted_mode == 1);
    RefreshScratch scratch;  // not the scheduler's: const calls may run concurrently
    RefreshNodeArrayIncremental(incremental, t.sorted_p, scratch);
    for (size_t i = 0; i < t.nodes.size(); ++i) {
      const NodeArrayEntry& a = full.nodes[i];
      const NodeArrayEntry& b = incremental.nodes[i];
      if (a.cell != b.cell || a.free_at_priority != b.free_at_priority || a.used_same != b.used_same ||
          a.used_higher != b.used_higher || a.healthy != b.healthy || a.suggested != b.suggested)
        return fail(name + ": incremental refresh differs from a full one at index " + std::to_string(i));
      if (incremental.pos_valid && incremental.pos[b.ord] != static_cast<int32_t>(i))
        return fail(name + ": incremental refresh left a wrong position");
    }
  }
  return "";
}

}  // namespace apiary::cell
