#include "apiary/wire/inspect_json.h"

#include <ctime>

namespace apiary::wire {

Json CellStatusToJson(const cell::CellStatus& s, bool physical) {
  Json j;
  if (!s.leaf_cell_type.empty()) j["leafCellType"] = s.leaf_cell_type;
  j["cellType"] = s.cell_type;
  if (s.is_node_level) j["isNodeLevel"] = true;
  j["cellAddress"] = s.cell_address;
  j["cellState"] = s.cell_state;
  j["cellHealthiness"] = s.cell_healthiness;
  j["cellPriority"] = s.cell_priority;
  // Leaves have no "cellChildren" at all: OpenPAI tests the field for
  // truthiness (hived.md 11.4).
  if (!s.cell_children.empty()) j["cellChildren"] = CellListToJson(s.cell_children, physical);
  if (!s.vc.empty()) j["vc"] = s.vc;
  if (!s.bound.empty())
    j[physical ? "virtualCell" : "physicalCell"] = CellStatusToJson(s.bound[0], !physical);
  return j;
}

Json CellListToJson(const std::vector<cell::CellStatus>& cells, bool physical) {
  Json a = Json::array();
  for (const auto& c : cells) a.push_back(CellStatusToJson(c, physical));
  return a;
}

std::string FormatRfc3339(int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Json AffinityGroupToJson(const cell::AffinityGroupStatus& g) {
  Json status;
  status["vc"] = g.vc;
  status["priority"] = g.priority;
  status["state"] = g.state;
  if (!g.physical_placement.empty()) {
    Json p = Json::object();
    for (const auto& [node, leaves] : g.physical_placement) p[node] = leaves;
    status["physicalPlacement"] = p;
  }
  if (!g.virtual_placement.empty()) {
    Json v = Json::object();
    for (const auto& [cell, leaves] : g.virtual_placement) v[cell] = leaves;
    status["virtualPlacement"] = v;
  }
  if (!g.allocated_pods.empty()) status["allocatedPods"] = g.allocated_pods;
  if (!g.preempting_pods.empty()) status["preemptingPods"] = g.preempting_pods;
  if (g.lazy_preemption) {
    Json l;
    l["preemptor"] = g.lazy_preemption->preemptor;
    l["preemptionTime"] = FormatRfc3339(g.lazy_preemption->preemption_time);
    status["lazyPreemptionStatus"] = l;
  }
  Json j;
  j["metadata"] = Json{{"name", g.name}};
  j["status"] = status;
  return j;
}

Json AffinityGroupListToJson(const std::vector<cell::AffinityGroupStatus>& groups) {
  Json items = Json::array();
  for (const auto& g : groups) items.push_back(AffinityGroupToJson(g));
  Json j;
  j["items"] = items;
  return j;
}

}  // namespace apiary::wire
