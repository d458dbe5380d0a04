// Helpers shared by the scheduler scenario and property tests: building
// configurations and pod specs as plain structs (no YAML), driving gangs
// through Schedule + AddAllocatedPod, and serialising inspect output (and
// the read-only tree view, in the same text) so that two states can be
// compared exactly.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "apiary/cell/config.h"
#include "apiary/cell/pod_spec.h"
#include "apiary/cell/scheduler.h"

namespace apiary::cell::testing {

// ---- configuration builders -------------------------------------------------

inline CellTypeSpec CellType(std::string name, std::string child, int64_t n,
                             bool node_level = false) {
  CellTypeSpec t;
  t.name = std::move(name);
  t.child_cell_type = std::move(child);
  t.child_cell_number = n;
  t.is_node_level = node_level;
  return t;
}

// A physical cell; `type` may be empty for children (implied by the parent).
inline PhysicalCellSpec PCell(std::string type, std::optional<std::string> address = std::nullopt,
                              std::vector<PhysicalCellSpec> children = {},
                              std::string pinned = "") {
  PhysicalCellSpec c;
  c.cell_type = std::move(type);
  c.cell_address = std::move(address);
  c.cell_children = std::move(children);
  c.pinned_cell_id = std::move(pinned);
  return c;
}

// A child with only an address (type implied, children generated).
inline PhysicalCellSpec Child(std::string address, std::string pinned = "") {
  return PCell("", std::move(address), {}, std::move(pinned));
}

inline VirtualClusterSpec Vc(std::string name,
                             std::vector<std::pair<std::string, int64_t>> cells,
                             std::vector<std::string> pinned = {}) {
  VirtualClusterSpec v;
  v.name = std::move(name);
  for (auto& [type, n] : cells) v.virtual_cells.push_back({type, n});
  v.pinned_cell_ids = std::move(pinned);
  return v;
}

// ---- pod specs ---------------------------------------------------------------

inline PodRef Pod(const std::string& name) { return PodRef{"uid-" + name, "ns", name}; }

// members: {podNumber, leafCellNumber}; empty = a group of one pod.
inline PodSchedulingSpec Spec(const std::string& vc, int32_t priority,
                              const std::string& leaf_type, int32_t leaves,
                              const std::string& group,
                              std::vector<std::pair<int32_t, int32_t>> members = {}) {
  PodSchedulingSpec s;
  s.virtual_cluster = vc;
  s.priority = priority;
  s.leaf_cell_type = leaf_type;
  s.leaf_cell_number = leaves;
  s.affinity_group_name = group;
  if (members.empty()) members.push_back({1, leaves});
  for (auto [pods, n] : members) s.affinity_group_members.push_back({pods, n});
  return s;
}

inline std::unique_ptr<Scheduler> MakeScheduler(const Config& config, const Clock* clock) {
  auto r = Scheduler::Create(config, clock);
  EXPECT_TRUE(r.ok()) << r.status().message();
  if (!r.ok()) return nullptr;
  return std::move(r).value();
}

inline const char* KindName(ScheduleResult::Kind k) {
  switch (k) {
    case ScheduleResult::Kind::kBind: return "bind";
    case ScheduleResult::Kind::kPreempt: return "preempt";
    case ScheduleResult::Kind::kWait: return "wait";
    case ScheduleResult::Kind::kError: return "error";
  }
  return "?";
}

inline std::string Describe(const ScheduleResult& r) {
  std::string s = KindName(r.kind);
  s += " node=" + r.node + " leaves=[";
  for (size_t i = 0; i < r.leaf_cells.size(); ++i)
    s += (i ? "," : "") + std::to_string(r.leaf_cells[i]);
  s += "] msg=" + r.message;
  for (const auto& v : r.victims) s += " victim=" + v.pod.FullName() + "@" + v.node;
  return s;
}

// ---- inspect serialisation -----------------------------------------------------

inline void AppendCell(const CellStatus& c, std::string& out, int depth) {
  out.append(static_cast<size_t>(depth) * 2, ' ');
  out += c.cell_address + " type=" + c.cell_type;
  if (!c.leaf_cell_type.empty()) out += " leaf=" + c.leaf_cell_type;
  if (c.is_node_level) out += " node";
  out += " " + c.cell_state + " " + c.cell_healthiness + " p=" +
         std::to_string(c.cell_priority);
  if (!c.vc.empty()) out += " vc=" + c.vc;
  for (const auto& b : c.bound) {
    out += " bound={" + b.cell_address + " " + b.cell_state + " " + b.cell_healthiness +
           " p=" + std::to_string(b.cell_priority);
    if (!b.vc.empty()) out += " vc=" + b.vc;
    out += "}";
  }
  out += "\n";
  for (const auto& ch : c.cell_children) AppendCell(ch, out, depth + 1);
}

inline std::string Serialize(const std::vector<CellStatus>& cells) {
  std::string out;
  for (const auto& c : cells) AppendCell(c, out, 0);
  return out;
}

// The whole inspect output: physical cluster, then every VC.
inline std::string DumpCluster(const Scheduler& s) {
  std::string out = "physical:\n" + Serialize(s.PhysicalCluster());
  for (const auto& vc : s.VirtualClusterNames()) {
    auto v = s.VirtualCluster(vc);
    out += "vc " + vc + ":\n" + (v.ok() ? Serialize(*v) : v.status().message() + "\n");
  }
  return out;
}

// The whole inspect output: every cell of the physical cluster and of every
// VC (states, priorities, health, bindings), then every affinity group.
inline std::string InspectOutput(const Scheduler& s) {
  std::string out = DumpCluster(s);
  for (const auto& g : s.AffinityGroups()) {
    out += "group " + g.name + " vc=" + g.vc + " p=" + std::to_string(g.priority) + " " +
           g.state + (g.lazy_preemption ? " lazy-by=" + g.lazy_preemption->preemptor : "") +
           "\n";
    for (const auto& [node, leaves] : g.physical_placement) {
      out += "  " + node + ":";
      for (int32_t l : leaves) out += " " + std::to_string(l);
      out += "\n";
    }
    for (const auto& [cell, leaves] : g.virtual_placement) {
      out += "  " + cell + ":";
      for (const auto& l : leaves) out += " " + l;
      out += "\n";
    }
    for (const auto& p : g.allocated_pods) out += "  pod " + p + "\n";
  }
  return out;
}

// Finds a cell by address in a status tree (nullptr when absent).
inline const CellStatus* FindCell(const std::vector<CellStatus>& cells,
                                  const std::string& address) {
  for (const auto& c : cells) {
    if (c.cell_address == address) return &c;
    if (const CellStatus* r = FindCell(c.cell_children, address)) return r;
  }
  return nullptr;
}

// ---- the read-only tree view (cell_tree.h) -------------------------------------

inline const char* StateName(CellState s) {
  switch (s) {
    case CellState::kFree: return "Free";
    case CellState::kUsed: return "Used";
    case CellState::kReserving: return "Reserving";
    case CellState::kReserved: return "Reserved";
  }
  return "?";
}

// A physical cell and its subtree from the view, in the text of Serialize.
inline void AppendViewCell(const TreeView& t, CellId c, std::string& out, int depth) {
  PhysicalCellView p = t.Physical(c);
  out.append(static_cast<size_t>(depth) * 2, ' ');
  out += std::string(p.address) + " type=" + std::string(p.cell_type);
  if (!p.parent.valid()) out += " leaf=" + std::string(t.LeafCellType(p.chain));
  if (p.node_level) out += " node";
  out += std::string(" ") + StateName(p.state) + " " + (p.healthy ? "Healthy" : "Bad") +
         " p=" + std::to_string(p.priority);
  if (p.vc.valid()) out += " vc=" + std::string(t.VcName(p.vc));
  if (p.bound.valid()) {
    VirtualCellView v = t.Virtual(p.bound);
    out += " bound={" + std::string(v.address) + " " + StateName(p.state) + " " +
           (p.healthy ? "Healthy" : "Bad") + " p=" + std::to_string(v.priority) + "}";
  }
  out += "\n";
  for (CellId ch : p.children) AppendViewCell(t, ch, out, depth + 1);
}

// A virtual cell and its subtree from the view, in the text of Serialize.
inline void AppendViewCell(const TreeView& t, VCellId v, std::string& out, int depth) {
  VirtualCellView c = t.Virtual(v);
  const bool free = !c.bound.valid();
  PhysicalCellView p = free ? PhysicalCellView{} : t.Physical(c.bound);
  const char* state = free ? "Free" : StateName(p.state);
  const char* health = free || p.healthy ? "Healthy" : "Bad";
  out.append(static_cast<size_t>(depth) * 2, ' ');
  out += std::string(c.address) + " type=" + std::string(c.cell_type);
  if (!c.parent.valid()) out += " leaf=" + std::string(t.LeafCellType(c.chain));
  if (c.node_level) out += " node";
  out += std::string(" ") + state + " " + health + " p=" + std::to_string(c.priority);
  if (!free) {
    out += " bound={" + std::string(p.address) + " " + state + " " + health +
           " p=" + std::to_string(p.priority);
    if (p.vc.valid()) out += " vc=" + std::string(t.VcName(p.vc));
    out += "}";
  }
  out += "\n";
  for (VCellId ch : c.children) AppendViewCell(t, ch, out, depth + 1);
}

// The physical trees as Serialize(PhysicalCluster()) shows them.
inline std::string SerializePhysicalView(const TreeView& t) {
  std::string out;
  for (CellId top : t.PhysicalTops()) AppendViewCell(t, top, out, 0);
  return out;
}

// A VC's virtual trees as Serialize(VirtualCluster(vc)) shows them, less the
// opportunistic leaves inspect lists after them ("-opp"; no virtual cells).
inline std::string SerializeVirtualView(const TreeView& t, VcId vc) {
  std::string out;
  for (VCellId top : t.VirtualTops(vc)) AppendViewCell(t, top, out, 0);
  return out;
}
inline std::string SerializeWithoutOpportunistic(const std::vector<CellStatus>& cells) {
  std::vector<CellStatus> kept;
  for (const CellStatus& c : cells)
    if (!c.cell_address.ends_with("-opp")) kept.push_back(c);
  return Serialize(kept);
}

// The buddy discipline of cell_tree.h: a cell is in its (chain, level) free
// list, once, exactly when it is unbound and unsplit under a split parent
// (or on top). Returns the first breach, or "".
inline std::string FreeListProblem(const TreeView& t) {
  std::vector<int> listed(static_cast<size_t>(t.PhysicalCellCount()), 0);
  for (ChainId ch{0}; ch < ChainId(t.ChainCount()); ++ch) {
    for (int32_t l = 1; l <= t.TopLevel(ch); ++l) {
      for (CellId c : t.FreeList(ch, l)) {
        PhysicalCellView p = t.Physical(c);
        if (p.chain != ch || p.level != l)
          return std::string(p.address) + " is in the free list of another chain or level";
        if (listed[c]++) return std::string(p.address) + " is listed twice";
      }
    }
  }
  for (CellId c{0}; c < CellId(t.PhysicalCellCount()); ++c) {
    PhysicalCellView p = t.Physical(c);
    const bool whole_free =
        !p.bound.valid() && !p.split && (!p.parent.valid() || t.Physical(p.parent).split);
    if (whole_free != (listed[c] == 1))
      return std::string(p.address) + (whole_free ? " is free but not listed" : " is listed but not free");
  }
  return "";
}

}  // namespace apiary::cell::testing
