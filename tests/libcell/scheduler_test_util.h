// Helpers shared by the scheduler scenario and property tests: building
// configurations and pod specs as plain structs (no YAML), driving gangs
// through Schedule + AddAllocatedPod, and serialising inspect output so that
// two states can be compared exactly.
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

}  // namespace apiary::cell::testing
