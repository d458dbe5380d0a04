#include "replay.h"

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <regex>
#include <set>

#include "apiary/cell/annotations.h"
#include "apiary/cell/config_loader.h"
#include "apiary/cell/recovery.h"
#include "apiary/cell/text.h"
#include "apiary/wire/explain_json.h"
#include "apiary/wire/inspect_json.h"

namespace apiary::cli {

using Json = nlohmann::ordered_json;
using cell::ScheduleResult;
using cell::Status;

namespace {

Json ErrorResult(Json out, const std::string& message) {
  out["result"] = "error";
  out["code"] = 400;
  out["message"] = message;
  return out;
}

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

// The known VCs and the nearest name, when `vc` is not one of them.
std::string VcHint(const cell::Scheduler& scheduler, const std::string& vc) {
  if (vc.empty()) return "";
  return cell::UnknownNameHint(vc, scheduler.VirtualClusterNames(), "VCs");
}

std::string FullName(const std::string& name) {
  return name.find('/') == std::string::npos ? "default/" + name : name;
}

}  // namespace

cell::Result<std::unique_ptr<Replayer>> Replayer::Create(const std::string& config_path,
                                                         bool line_numbers) {
  auto loaded = cell::LoadConfigFile(config_path);
  if (!loaded.ok()) return loaded.status();
  std::unique_ptr<Replayer> r(new Replayer(config_path));
  r->line_numbers_ = line_numbers;
  r->clock_.Set(0);
  auto sched = cell::Scheduler::Create(loaded->config, &r->clock_, /*start_healthy=*/true);
  if (!sched.ok()) return sched.status();
  r->scheduler_ = std::move(sched).value();
  return r;
}

void Replayer::Run(std::istream& in, std::ostream& out) {
  std::string line;
  int64_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    std::string result = HandleLine(line, n);
    if (!result.empty()) out << result << '\n';
  }
  out.flush();
}

namespace {

// Best effort, for error lines that did not parse: the "op" written in the
// raw text, so that the result still says which event failed.
Json OpOfText(const std::string& text) {
  static const std::regex kOp(R"re("op"\s*:\s*"([A-Za-z_-]{1,40})")re");
  std::smatch m;
  if (std::regex_search(text, m, kOp)) return Json(m[1].str());
  return Json(nullptr);
}

// The keys each op reads; any other key is reported (a misspelt "comit"
// would otherwise silently leave the default in place).
const std::map<std::string, std::vector<std::string>>& KnownEventKeys() {
  static const std::map<std::string, std::vector<std::string>> kKeys = {
      {"schedule", {"op", "pod", "phase", "suggestedNodes", "commit", "explain"}},
      {"allocated", {"op", "pod"}},
      {"delete", {"op", "pod"}},
      {"node", {"op", "node", "healthy"}},
      {"inspect", {"op", "what", "name"}},
      {"restart", {"op", "config"}}};
  return kKeys;
}

}  // namespace

std::string Replayer::HandleLine(const std::string& raw, int64_t line_number) {
  std::string line = Trim(raw);
  if (line.empty() || line[0] == '#') return "";
  clock_.Set(line_number);
  warnings_.clear();
  const std::string where = "line " + std::to_string(line_number);
  std::string problem;
  nlohmann::json event;
  // nlohmann's parser takes a NUL byte for the end of the input, so that
  // `{"op":"delete",...}<NUL>garbage` would parse and run: refuse it first.
  if (size_t nul = raw.find('\0'); nul != std::string::npos) {
    problem = where + ": NUL byte at byte offset " + std::to_string(nul);
  } else if (Status utf8 = cell::CheckUtf8(raw, where); !utf8.ok()) {
    problem = utf8.message();
  } else {
    // The path of the value being read, for numbers out of range.
    std::vector<std::string> path;
    auto track = [&path](int, nlohmann::json::parse_event_t ev, nlohmann::json& parsed) {
      using E = nlohmann::json::parse_event_t;
      if (ev == E::object_start) path.emplace_back();
      else if (ev == E::array_start) path.emplace_back("[]");
      else if ((ev == E::object_end || ev == E::array_end) && !path.empty()) path.pop_back();
      else if (ev == E::key && !path.empty()) path.back() = parsed.get<std::string>();
      return true;
    };
    try {
      event = nlohmann::json::parse(line, track);
    } catch (const nlohmann::json::out_of_range& e) {
      std::string field;
      for (const std::string& k : path)
        if (!k.empty()) field += (field.empty() || k == "[]" ? "" : ".") + k;
      problem = where + ": " + (field.empty() ? std::string("a number") : field) +
                ": number out of range (" + e.what() + ")";
    } catch (const nlohmann::json::exception& e) {
      problem = where + ": invalid JSON: " + e.what();
    }
  }
  Json out;
  if (!problem.empty()) {
    out["op"] = OpOfText(line);
    out = ErrorResult(std::move(out), problem + "; the event was not executed");
  } else {
    out = Handle(event);
  }
  if (!warnings_.empty()) out["warnings"] = warnings_;
  if (line_numbers_) {
    Json numbered;
    numbered["op"] = out["op"];
    numbered["line"] = line_number;
    for (auto it = out.begin(); it != out.end(); ++it)
      if (it.key() != "op") numbered[it.key()] = std::move(it.value());
    out = std::move(numbered);
  }
  return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void Replayer::NoteUnknownPodKeys(const nlohmann::json& pod) {
  // Only the short form is checked: a Kubernetes Pod object has many more
  // keys (kind, spec, status, ...), all legitimately unread here.
  if (!pod.is_object() || pod.contains("metadata")) return;
  static const std::vector<std::string> kKeys = {"name", "namespace", "uid", "annotations"};
  for (auto it = pod.begin(); it != pod.end(); ++it)
    if (std::find(kKeys.begin(), kKeys.end(), it.key()) == kKeys.end())
      warnings_.push_back("pod: unknown key \"" + it.key() + "\" is ignored" +
                          cell::DidYouMean(it.key(), kKeys));
}

std::vector<std::string> Replayer::UnknownKeys(const std::string& op,
                                               const nlohmann::json& event) const {
  std::vector<std::string> out;
  auto known = KnownEventKeys().find(op);
  if (known == KnownEventKeys().end()) return out;
  for (auto it = event.begin(); it != event.end(); ++it) {
    const std::vector<std::string>& keys = known->second;
    if (std::find(keys.begin(), keys.end(), it.key()) != keys.end()) continue;
    out.push_back("unknown key \"" + it.key() + "\" is ignored" +
                  cell::DidYouMean(it.key(), keys));
  }
  return out;
}

Json Replayer::Handle(const nlohmann::json& event) {
  Json out;
  if (!event.is_object()) {
    out["op"] = nullptr;
    return ErrorResult(std::move(out), "event: must be a JSON object");
  }
  auto op_it = event.find("op");
  if (op_it == event.end() || !op_it->is_string()) {
    out["op"] = op_it == event.end() ? Json(nullptr) : Json(*op_it);
    return ErrorResult(std::move(out), "op: missing or not a string");
  }
  const std::string op = op_it->get<std::string>();
  out["op"] = op;
  warnings_ = UnknownKeys(op, event);
  try {
    if (op == "schedule") return Schedule(event, std::move(out));
    if (op == "allocated") return Allocated(event, std::move(out));
    if (op == "delete") return Delete(event, std::move(out));
    if (op == "node") return Node(event, std::move(out));
    if (op == "inspect") return Inspect(event, std::move(out));
    if (op == "restart") return Restart(event, std::move(out));
  } catch (const nlohmann::json::exception& e) {
    return ErrorResult(std::move(out), std::string("malformed event: ") + e.what());
  }
  std::vector<std::string> ops;
  for (const auto& [name, keys] : KnownEventKeys()) ops.push_back(name);
  return ErrorResult(std::move(out), "op: unknown operation \"" + op + "\"" +
                                         cell::DidYouMean(op, ops) +
                                         " (expected schedule, allocated, delete, node, "
                                         "inspect or restart)");
}

Json Replayer::Schedule(const nlohmann::json& event, Json out) {
  auto pit = event.find("pod");
  if (pit == event.end()) return ErrorResult(std::move(out), "pod: missing");
  NoteUnknownPodKeys(*pit);
  auto pod = wire::PodFromJson(*pit);
  if (!pod.ok()) return ErrorResult(std::move(out), pod.status().message());
  out["pod"] = pod->ref.FullName();

  cell::SchedulingPhase phase = cell::SchedulingPhase::kPreempting;
  if (auto it = event.find("phase"); it != event.end() && !it->is_null()) {
    if (!it->is_string() || (*it != "filtering" && *it != "preempting"))
      return ErrorResult(std::move(out), "phase: must be \"filtering\" or \"preempting\"");
    if (*it == "filtering") phase = cell::SchedulingPhase::kFiltering;
  }
  std::vector<std::string> suggested;
  bool has_suggested = false;
  if (auto it = event.find("suggestedNodes"); it != event.end() && !it->is_null()) {
    if (!it->is_array()) return ErrorResult(std::move(out), "suggestedNodes: must be an array or null");
    for (const auto& n : *it) {
      if (!n.is_string())
        return ErrorResult(std::move(out), "suggestedNodes: every entry must be a string");
      suggested.push_back(n.get<std::string>());
    }
    has_suggested = true;
  }
  bool commit = false;
  if (auto it = event.find("commit"); it != event.end() && !it->is_null()) {
    if (!it->is_boolean()) return ErrorResult(std::move(out), "commit: must be true or false");
    commit = it->get<bool>();
  }
  bool explain = false;
  if (auto it = event.find("explain"); it != event.end() && !it->is_null()) {
    if (!it->is_boolean()) return ErrorResult(std::move(out), "explain: must be true or false");
    explain = it->get<bool>();
  }
  std::vector<std::string> spec_warnings;
  auto spec = cell::ParsePodSchedulingSpec(
      pod->Annotation(cell::kAnnotationPodSchedulingSpec), pod->ref.ns, pod->ref.name,
      &spec_warnings);
  if (!spec.ok()) return ErrorResult(std::move(out), spec.status().message());
  for (const std::string& w : spec_warnings)
    warnings_.push_back(std::string(cell::kAnnotationPodSchedulingSpec) + ": " + w);

  const std::string name = pod->ref.FullName();
  auto rit = pods_.find(name);
  if (rit == pods_.end() || !rit->second.allocated) {
    PodRecord record;
    record.pod = *pod;
    record.spec = *spec;
    rit = pods_.insert_or_assign(name, std::move(record)).first;
  }
  ScheduleResult r = scheduler_->Schedule(pod->ref, *spec, has_suggested ? &suggested : nullptr,
                                          phase, explain);
  switch (r.kind) {
    case ScheduleResult::Kind::kBind: {
      if (commit) {
        PodRecord& record = rit->second;
        record.pod = *pod;
        record.spec = *spec;
        Status st = Commit(record, r.bind_info);
        if (!st.ok()) return ErrorResult(std::move(out), "commit failed: " + st.message());
      }
      out["result"] = "bind";
      out["node"] = r.node;
      out["leafCells"] = r.leaf_cells;
      out["cellChain"] = r.cell_chain;
      out["bindInfo"] = cell::EmitPodBindInfo(r.bind_info);
      Json gp = Json::array();
      for (const auto& m : r.group_placement) {
        Json pods = Json::array();
        for (const auto& p : m.pods) {
          Json pj;
          pj["node"] = p.node;
          pj["leafCells"] = p.leaf_cells;
          pods.push_back(pj);
        }
        Json mj;
        mj["leafCellNumber"] = m.leaf_cell_number;
        mj["pods"] = pods;
        gp.push_back(mj);
      }
      out["groupPlacement"] = gp;
      return out;
    }
    case ScheduleResult::Kind::kPreempt: {
      out["result"] = "preempt";
      Json victims = Json::array();
      for (const auto& v : r.victims) {
        Json vj;
        vj["pod"] = v.pod.FullName();
        vj["uid"] = v.pod.uid;
        vj["node"] = v.node;
        victims.push_back(vj);
      }
      out["victims"] = victims;
      Json placement = Json::object();
      for (const auto& [node, leaves] : r.placement) placement[node] = leaves;
      out["placement"] = placement;
      if (r.explanation) out["explanation"] = wire::ExplanationToJson(*r.explanation);
      return out;
    }
    case ScheduleResult::Kind::kWait:
      out["result"] = "wait";
      out["reason"] = r.message;
      if (r.explanation) out["explanation"] = wire::ExplanationToJson(*r.explanation);
      return out;
    case ScheduleResult::Kind::kError:
      return ErrorResult(std::move(out), r.message + VcHint(*scheduler_, spec->virtual_cluster));
  }
  return out;
}

cell::Result<Json> Replayer::ExplainPod(const std::string& full_name) const {
  auto it = pods_.find(full_name);
  if (it == pods_.end())
    return Status::NotFound("pod " + full_name + ": no schedule event names it");
  const PodRecord& record = it->second;
  if (record.allocated) {
    ScheduleResult bound;
    bound.kind = ScheduleResult::Kind::kBind;
    bound.node = record.bind_info.node;
    return wire::ExplainAnswerToJson(full_name, "Bound", bound);
  }
  ScheduleResult r = scheduler_->Explain(record.pod.ref, record.spec, nullptr,
                                         cell::SchedulingPhase::kPreempting);
  if (r.kind == ScheduleResult::Kind::kError) return Status::Invalid(r.message);
  return wire::ExplainAnswerToJson(full_name, "Waiting", r);
}

Status Replayer::Commit(PodRecord& record, const cell::PodBindInfo& info) {
  Status st = scheduler_->AddAllocatedPod(record.pod.ref, record.spec, info);
  if (!st.ok()) return st;
  if (!record.allocated) record.allocated_seq = ++next_seq_;
  record.allocated = true;
  record.bind_info = info;
  return Status::Ok();
}

Json Replayer::Allocated(const nlohmann::json& event, Json out) {
  auto pit = event.find("pod");
  if (pit == event.end()) return ErrorResult(std::move(out), "pod: missing");
  NoteUnknownPodKeys(*pit);
  auto pod = wire::PodFromJson(*pit);
  if (!pod.ok()) return ErrorResult(std::move(out), pod.status().message());
  out["pod"] = pod->ref.FullName();
  auto spec = cell::ParsePodSchedulingSpec(
      pod->Annotation(cell::kAnnotationPodSchedulingSpec), pod->ref.ns, pod->ref.name);
  if (!spec.ok()) return ErrorResult(std::move(out), spec.status().message());
  std::string text = pod->Annotation(cell::kAnnotationPodBindInfo);
  if (text.empty())
    return ErrorResult(std::move(out), std::string("pod ") + pod->ref.FullName() +
                                           ": annotation " + cell::kAnnotationPodBindInfo +
                                           " is missing or empty");
  auto info = cell::ParsePodBindInfo(text);
  if (!info.ok())
    return ErrorResult(std::move(out), std::string("annotation ") + cell::kAnnotationPodBindInfo +
                                           ": " + info.status().message());
  // Apiary's persisted virtual leaf cells, when the pod carries them (the
  // extender writes them at bind; a restart then keeps each group's cells).
  if (std::string cells = pod->Annotation(cell::kAnnotationVirtualLeafCells); !cells.empty()) {
    Status st = cell::ApplyVirtualLeafCells(cells, *info);
    if (!st.ok()) return ErrorResult(std::move(out), st.message());
  }
  const std::string name = pod->ref.FullName();
  PodRecord candidate;
  auto it = pods_.find(name);
  if (it != pods_.end()) candidate = it->second;
  candidate.pod = *pod;
  candidate.spec = *spec;
  Status st = Commit(candidate, *info);
  if (!st.ok()) return ErrorResult(std::move(out), st.message());
  pods_[name] = std::move(candidate);
  out["result"] = "ok";
  return out;
}

Json Replayer::Delete(const nlohmann::json& event, Json out) {
  auto pit = event.find("pod");
  if (pit == event.end()) return ErrorResult(std::move(out), "pod: missing");
  std::string name;
  if (pit->is_string()) {
    name = FullName(pit->get<std::string>());
  } else {
    NoteUnknownPodKeys(*pit);
  auto pod = wire::PodFromJson(*pit);
    if (!pod.ok()) return ErrorResult(std::move(out), pod.status().message());
    name = pod->ref.FullName();
  }
  out["pod"] = name;
  auto it = pods_.find(name);
  if (it == pods_.end()) return ErrorResult(std::move(out), "pod " + name + " is not known");
  if (it->second.allocated) {
    // A pod whose cells vanished in a reconfiguration is not held by the
    // scheduler any more; deleting it is still fine.
    (void)scheduler_->DeleteAllocatedPod(it->second.pod.ref.uid);
  } else {
    scheduler_->DeleteUnallocatedPod(it->second.pod.ref.uid);
  }
  pods_.erase(it);
  out["result"] = "ok";
  return out;
}

Json Replayer::Node(const nlohmann::json& event, Json out) {
  auto nit = event.find("node");
  if (nit == event.end() || !nit->is_string())
    return ErrorResult(std::move(out), "node: missing or not a string");
  out["node"] = *nit;
  auto hit = event.find("healthy");
  if (hit == event.end() || !hit->is_boolean())
    return ErrorResult(std::move(out), "healthy: missing or not true/false");
  Status st = scheduler_->SetNodeHealth(nit->get<std::string>(), hit->get<bool>());
  if (!st.ok()) return ErrorResult(std::move(out), st.message());
  out["result"] = "ok";
  return out;
}

Json Replayer::Inspect(const nlohmann::json& event, Json out) {
  auto wit = event.find("what");
  if (wit == event.end() || !wit->is_string())
    return ErrorResult(std::move(out), "what: missing (groups, group, vc or physical)");
  const std::string what = wit->get<std::string>();
  std::string name;
  if (auto it = event.find("name"); it != event.end() && it->is_string()) name = *it;
  Json value;
  if (what == "groups") {
    value = wire::AffinityGroupListToJson(scheduler_->AffinityGroups());
  } else if (what == "group") {
    if (name.empty()) return ErrorResult(std::move(out), "name: missing for what=group");
    auto g = scheduler_->AffinityGroup(name);
    if (!g.ok()) return ErrorResult(std::move(out), g.status().message());
    value = wire::AffinityGroupToJson(*g);
  } else if (what == "vc") {
    if (name.empty()) return ErrorResult(std::move(out), "name: missing for what=vc");
    auto v = scheduler_->VirtualCluster(name);
    if (!v.ok()) return ErrorResult(std::move(out), v.status().message() + VcHint(*scheduler_, name));
    value = wire::CellListToJson(*v, false);
  } else if (what == "physical") {
    value = wire::CellListToJson(scheduler_->PhysicalCluster(), true);
  } else {
    return ErrorResult(std::move(out), "what: unknown view \"" + what +
                                           "\" (expected groups, group, vc or physical)");
  }
  out["result"] = "ok";
  out["value"] = std::move(value);
  return out;
}

std::string Replayer::ResolveConfigPath(const std::string& path) const {
  namespace fs = std::filesystem;
  if (fs::path(path).is_absolute() || fs::exists(path)) return path;
  fs::path relative = fs::path(config_path_).parent_path() / path;
  if (fs::exists(relative)) return relative.string();
  return path;
}

Json Replayer::Restart(const nlohmann::json& event, Json out) {
  std::string path = config_path_;
  if (auto it = event.find("config"); it != event.end() && !it->is_null()) {
    if (!it->is_string()) return ErrorResult(std::move(out), "config: must be a path or null");
    path = ResolveConfigPath(it->get<std::string>());
  }
  auto loaded = cell::LoadConfigFile(path);
  if (!loaded.ok()) return ErrorResult(std::move(out), loaded.status().message());
  auto fresh = cell::Scheduler::Create(loaded->config, &clock_, /*start_healthy=*/true);
  if (!fresh.ok()) return ErrorResult(std::move(out), fresh.status().message());
  // Every allocated pod, in the order it was allocated; its lazy mark and the
  // virtual cells its group holds now, as the extender keeps them in the
  // pods' apiary.io/virtual-leaf-cells annotation.
  std::vector<cell::PodToRecover> pods;
  for (auto& [name, record] : pods_) {
    if (!record.allocated) continue;
    cell::PodToRecover p{record.pod.ref, record.spec, record.bind_info,
                         scheduler_->LazyMarkOfPod(record.pod.ref.uid), record.allocated_seq};
    p.bind_info.virtual_leaf_cells = scheduler_->VirtualLeafCellsOfPod(record.pod.ref.uid);
    pods.push_back(std::move(p));
  }
  // Every pod to recover is known here, so a lazy mark survives only when
  // its preemptor is recovered too (hived.md Q19).
  const int64_t recovered =
      cell::RecoverPods(**fresh, pods, {.drop_marks_of_absent_preemptors = true}).recovered;
  scheduler_ = std::move(fresh).value();
  config_path_ = path;
  out["result"] = "ok";
  out["recovered"] = recovered;
  return out;
}

}  // namespace apiary::cli
