// Kubernetes pod objects (or the short form {name, namespace, uid,
// annotations}) as the front doors receive them.
#pragma once

#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "apiary/cell/pod_spec.h"
#include "apiary/cell/status.h"

namespace apiary::wire {

struct PodObject {
  cell::PodRef ref;  // namespace defaults to "default", uid to "ns/name"
  std::map<std::string, std::string> annotations;
  std::string node_name;  // spec.nodeName when present

  // The annotation's text, or empty.
  std::string Annotation(const std::string& key) const {
    auto it = annotations.find(key);
    return it == annotations.end() ? std::string() : it->second;
  }
};

// Reads a pod from JSON; errors name the offending field ("pod.metadata.name:
// missing", "pod.annotations.x: not a string").
cell::Result<PodObject> PodFromJson(const nlohmann::json& j);

}  // namespace apiary::wire
