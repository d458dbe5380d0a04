#include "apiary/wire/explain_json.h"

#include <string>

namespace apiary::wire {

namespace {

using OJson = nlohmann::ordered_json;

OJson Counts(const std::vector<cell::ExplainCellCount>& v) {
  OJson a = OJson::array();
  for (const auto& c : v) a.push_back({{"cellType", c.cell_type}, {"level", c.level}, {"count", c.count}});
  return a;
}

// Reads field `key` of object `j` (at `path`) into `out`; absent keeps the
// default. Throws std::string naming the field when the type is wrong.
template <typename T>
void Read(const nlohmann::json& j, const char* key, const std::string& path, T& out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return;
  try {
    out = it->get<T>();
  } catch (const nlohmann::json::exception&) {
    throw path + "." + key + ": has the wrong type (" + it->type_name() + ")";
  }
}

const nlohmann::json& ArrayAt(const nlohmann::json& j, const char* key, const std::string& path) {
  static const nlohmann::json kEmpty = nlohmann::json::array();
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return kEmpty;
  if (!it->is_array()) throw path + "." + key + ": must be an array";
  return *it;
}

void CheckObject(const nlohmann::json& j, const std::string& path) {
  if (!j.is_object()) throw path + ": must be an object";
}

std::vector<cell::ExplainCellCount> ReadCounts(const nlohmann::json& j, const char* key,
                                               const std::string& path) {
  std::vector<cell::ExplainCellCount> out;
  const auto& a = ArrayAt(j, key, path);
  for (size_t i = 0; i < a.size(); ++i) {
    const std::string p = path + "." + key + "[" + std::to_string(i) + "]";
    CheckObject(a[i], p);
    cell::ExplainCellCount c;
    Read(a[i], "cellType", p, c.cell_type);
    Read(a[i], "level", p, c.level);
    Read(a[i], "count", p, c.count);
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace

OJson ExplanationToJson(const cell::Explanation& e) {
  OJson j;
  j["outcome"] = e.outcome;
  j["summary"] = e.summary;
  j["neverFits"] = e.never_fits;
  j["suggestion"] = e.suggestion;
  OJson chains = OJson::array();
  for (const auto& c : e.chains) {
    OJson cj;
    cj["leafCellType"] = c.leaf_cell_type;
    cj["chain"] = c.chain;
    cj["scope"] = c.scope;
    cj["priority"] = c.priority;
    cj["rule"] = c.rule;
    cj["message"] = c.message;
    cj["needed"] = Counts(c.needed);
    cj["neededLeaves"] = c.needed_leaves;
    cj["free"] = Counts(c.free);
    cj["freeLeaves"] = c.free_leaves;
    cj["preemptibleLeaves"] = c.preemptible_leaves;
    cj["doomedLeaves"] = c.doomed_leaves;
    OJson holders = OJson::array();
    for (const auto& h : c.holders)
      holders.push_back(
          {{"group", h.group}, {"vc", h.vc}, {"priority", h.priority}, {"leaves", h.leaves}});
    cj["holders"] = holders;
    cj["cells"] = c.cells;
    chains.push_back(cj);
  }
  j["chains"] = chains;
  j["victimsRule"] = e.victims_rule;
  OJson victims = OJson::array();
  for (const auto& v : e.victims) {
    OJson vj;
    vj["group"] = v.group;
    vj["vc"] = v.vc;
    vj["priority"] = v.priority;
    vj["leaves"] = v.leaves;
    vj["pods"] = v.pods;
    vj["why"] = v.why;
    victims.push_back(vj);
  }
  j["victims"] = victims;
  return j;
}

OJson ExplainAnswerToJson(const std::string& pod, const std::string& state,
                          const cell::ScheduleResult& r) {
  OJson j;
  j["pod"] = pod;
  j["state"] = state;
  switch (r.kind) {
    case cell::ScheduleResult::Kind::kPreempt: {
      j["result"] = "preempt";
      OJson victims = OJson::array();
      for (const auto& v : r.victims) victims.push_back({{"pod", v.pod.FullName()}, {"node", v.node}});
      j["victims"] = victims;
      break;
    }
    case cell::ScheduleResult::Kind::kWait:
      j["result"] = "wait";
      j["reason"] = r.message;
      break;
    default:
      j["result"] = "bind";
      j["node"] = r.node;
      break;
  }
  j["explanation"] = r.explanation ? ExplanationToJson(*r.explanation) : OJson(nullptr);
  return j;
}

cell::Result<cell::Explanation> ExplanationFromJson(const nlohmann::json& j) {
  cell::Explanation e;
  try {
    const std::string root = "explanation";
    CheckObject(j, root);
    Read(j, "outcome", root, e.outcome);
    Read(j, "summary", root, e.summary);
    Read(j, "neverFits", root, e.never_fits);
    Read(j, "suggestion", root, e.suggestion);
    Read(j, "victimsRule", root, e.victims_rule);
    const auto& chains = ArrayAt(j, "chains", root);
    for (size_t i = 0; i < chains.size(); ++i) {
      const std::string p = root + ".chains[" + std::to_string(i) + "]";
      const auto& cj = chains[i];
      CheckObject(cj, p);
      cell::ExplainChain c;
      Read(cj, "leafCellType", p, c.leaf_cell_type);
      Read(cj, "chain", p, c.chain);
      Read(cj, "scope", p, c.scope);
      Read(cj, "priority", p, c.priority);
      Read(cj, "rule", p, c.rule);
      Read(cj, "message", p, c.message);
      c.needed = ReadCounts(cj, "needed", p);
      Read(cj, "neededLeaves", p, c.needed_leaves);
      c.free = ReadCounts(cj, "free", p);
      Read(cj, "freeLeaves", p, c.free_leaves);
      Read(cj, "preemptibleLeaves", p, c.preemptible_leaves);
      Read(cj, "doomedLeaves", p, c.doomed_leaves);
      const auto& holders = ArrayAt(cj, "holders", p);
      for (size_t k = 0; k < holders.size(); ++k) {
        const std::string hp = p + ".holders[" + std::to_string(k) + "]";
        CheckObject(holders[k], hp);
        cell::ExplainHolder h;
        Read(holders[k], "group", hp, h.group);
        Read(holders[k], "vc", hp, h.vc);
        Read(holders[k], "priority", hp, h.priority);
        Read(holders[k], "leaves", hp, h.leaves);
        c.holders.push_back(std::move(h));
      }
      Read(cj, "cells", p, c.cells);
      e.chains.push_back(std::move(c));
    }
    const auto& victims = ArrayAt(j, "victims", root);
    for (size_t i = 0; i < victims.size(); ++i) {
      const std::string p = root + ".victims[" + std::to_string(i) + "]";
      CheckObject(victims[i], p);
      cell::ExplainVictim v;
      Read(victims[i], "group", p, v.group);
      Read(victims[i], "vc", p, v.vc);
      Read(victims[i], "priority", p, v.priority);
      Read(victims[i], "leaves", p, v.leaves);
      Read(victims[i], "pods", p, v.pods);
      Read(victims[i], "why", p, v.why);
      e.victims.push_back(std::move(v));
    }
  } catch (const std::string& why) {
    return cell::Status::Invalid(why);
  }
  return e;
}

}  // namespace apiary::wire
