#include "apiary/wire/pod_list.h"

#include <algorithm>
#include <utility>

#include "apiary/cell/annotations.h"
#include "apiary/wire/inspect_json.h"

namespace apiary::wire {

std::string PodList::Note(const std::string& name) const {
  std::string note = std::to_string(items) + " pods in " + name + ": " +
                     std::to_string(bound.size()) + " bound (with bind info)";
  if (completed) note += ", " + std::to_string(completed) + " completed (skipped)";
  if (!unbound.empty())
    note += ", " + std::to_string(unbound.size()) + " without bind info (skipped)";
  return note;
}

cell::Result<PodList> ReadPodList(const std::string& text, const std::string& name) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    return cell::Status::Invalid(name + ": invalid JSON: " + e.what() + "\n");
  }
  const nlohmann::json* items = nullptr;
  nlohmann::json single = nlohmann::json::array();
  if (j.is_array()) {
    items = &j;
  } else if (j.is_object() && j.contains("items")) {
    if (!j["items"].is_array() && !j["items"].is_null())
      return cell::Status::Invalid(name + ": items: must be a list of pods\n");
    if (j["items"].is_null()) j["items"] = nlohmann::json::array();
    items = &j["items"];
  } else if (j.is_object() && j.contains("metadata")) {
    single.push_back(j);
    items = &single;
  } else {
    return cell::Status::Invalid(
        name + ": not a pod list: expected the output of `kubectl get pods -A -o json`\n");
  }
  PodList out;
  out.items = static_cast<int64_t>(items->size());
  for (size_t i = 0; i < items->size(); ++i) {
    const nlohmann::json& item = (*items)[i];
    const std::string where = name + ": items[" + std::to_string(i) + "]";
    auto pod = PodFromJson(item);
    if (!pod.ok()) return cell::Status::Invalid(where + ": " + pod.status().message() + "\n");
    const std::string full = pod->ref.FullName();
    const nlohmann::json* status = item.contains("status") && item["status"].is_object()
                                       ? &item["status"]
                                       : nullptr;
    if (status && status->contains("phase") && (*status)["phase"].is_string()) {
      const std::string phase = (*status)["phase"];
      if (phase == "Succeeded" || phase == "Failed") {
        ++out.completed;
        continue;
      }
    }
    const std::string bind_text = pod->Annotation(cell::kAnnotationPodBindInfo);
    if (bind_text.empty()) {
      UnboundPod u;
      u.has_spec = !pod->Annotation(cell::kAnnotationPodSchedulingSpec).empty();
      u.pod = std::move(pod).value();
      u.where = where;
      out.unbound.push_back(std::move(u));
      continue;
    }
    BoundPod b;
    b.where = where;
    auto spec = cell::ParsePodSchedulingSpec(pod->Annotation(cell::kAnnotationPodSchedulingSpec),
                                             pod->ref.ns, pod->ref.name);
    if (!spec.ok()) {
      out.warnings.push_back("pod " + full + " skipped: " + spec.status().message());
      continue;
    }
    auto info = cell::ParsePodBindInfo(bind_text);
    if (!info.ok()) {
      out.warnings.push_back("pod " + full + " skipped: annotation " +
                             cell::kAnnotationPodBindInfo + ": " + info.status().message());
      continue;
    }
    b.spec = std::move(spec).value();
    b.bind_info = std::move(info).value();
    if (std::string cells = pod->Annotation(cell::kAnnotationVirtualLeafCells); !cells.empty()) {
      // Only a preference at recovery: without it the cells are re-derived.
      cell::Status st = cell::ApplyVirtualLeafCells(cells, b.bind_info);
      if (!st.ok()) out.warnings.push_back("pod " + full + ": " + st.message() + " (ignored)");
    }
    if (std::string p = pod->Annotation(cell::kAnnotationLazyPreemptor); !p.empty())
      b.mark = cell::LazyPreemptionMark{p, 0};
    if (status && status->contains("conditions") && (*status)["conditions"].is_array()) {
      const auto& conds = (*status)["conditions"];
      for (size_t c = 0; c < conds.size(); ++c) {
        if (!conds[c].is_object() || conds[c].value("type", "") != "PodScheduled") continue;
        const std::string field =
            "status.conditions[" + std::to_string(c) + "].lastTransitionTime";
        auto t = conds[c].find("lastTransitionTime");
        if (t == conds[c].end() || t->is_null()) break;
        std::optional<Rfc3339Time> parsed;
        if (t->is_string()) parsed = ParseRfc3339(t->get<std::string>());
        std::optional<int64_t> nanos = parsed ? parsed->UnixNanos() : std::nullopt;
        if (!nanos)
          return cell::Status::Invalid(where + " (pod " + full + "): " + field +
                                       ": not an RFC 3339 time: " + t->dump() + "\n");
        b.has_time = true;
        b.scheduled_nanos = *nanos;
        break;
      }
    }
    b.pod = std::move(pod).value();
    out.bound.push_back(std::move(b));
  }
  std::stable_sort(out.bound.begin(), out.bound.end(), [](const BoundPod& a, const BoundPod& b) {
    if (a.has_time != b.has_time) return a.has_time;
    if (a.has_time && a.scheduled_nanos != b.scheduled_nanos)
      return a.scheduled_nanos < b.scheduled_nanos;
    return std::pair(a.pod.ref.ns, a.pod.ref.name) < std::pair(b.pod.ref.ns, b.pod.ref.name);
  });
  return out;
}

}  // namespace apiary::wire
