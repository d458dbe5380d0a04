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

std::optional<Rfc3339Time> ParseRfc3339(std::string_view t) {
  auto num = [&](size_t pos, size_t len) -> std::optional<int64_t> {
    if (pos + len > t.size()) return std::nullopt;
    int64_t v = 0;
    for (size_t i = pos; i < pos + len; ++i) {
      if (t[i] < '0' || t[i] > '9') return std::nullopt;
      v = v * 10 + (t[i] - '0');
    }
    return v;
  };
  if (t.size() < 20 || t[4] != '-' || t[7] != '-' || (t[10] != 'T' && t[10] != 't') ||
      t[13] != ':' || t[16] != ':')
    return std::nullopt;
  auto y = num(0, 4), mo = num(5, 2), d = num(8, 2), h = num(11, 2), mi = num(14, 2),
       s = num(17, 2);
  if (!y || !mo || !d || !h || !mi || !s || *mo < 1 || *mo > 12 || *d < 1 || *d > 31 ||
      *h > 23 || *mi > 59 || *s > 60)
    return std::nullopt;
  size_t i = 19;
  int64_t nanos = 0;
  if (i < t.size() && t[i] == '.') {
    ++i;
    int digits = 0;
    while (i < t.size() && t[i] >= '0' && t[i] <= '9') {
      if (digits < 9) nanos = nanos * 10 + (t[i] - '0');
      ++digits;
      ++i;
    }
    if (digits == 0) return std::nullopt;
    for (int k = digits; k < 9; ++k) nanos *= 10;
  }
  int64_t offset = 0;  // seconds east of UTC
  if (i < t.size() && (t[i] == 'Z' || t[i] == 'z')) {
    ++i;
  } else if (i < t.size() && (t[i] == '+' || t[i] == '-')) {
    auto oh = num(i + 1, 2), om = num(i + 4, 2);
    if (!oh || !om || i + 3 >= t.size() || t[i + 3] != ':' || *oh > 23 || *om > 59) return std::nullopt;
    offset = (*oh * 60 + *om) * 60 * (t[i] == '+' ? 1 : -1);
    i += 6;
  } else {
    return std::nullopt;
  }
  if (i != t.size()) return std::nullopt;
  // Days from 1970-01-01 in the proleptic Gregorian calendar: count from
  // March so that the leap day ends the year.
  const int64_t yy = *y - (*mo <= 2 ? 1 : 0);
  const int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
  const int64_t yoe = yy - era * 400;
  const int64_t mp = (*mo + 9) % 12;
  const int64_t doy = (153 * mp + 2) / 5 + *d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const int64_t days = era * 146097 + doe - 719468;
  return Rfc3339Time{days * 86400 + *h * 3600 + *mi * 60 + *s - offset, static_cast<int32_t>(nanos)};
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
