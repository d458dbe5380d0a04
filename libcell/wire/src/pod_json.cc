#include "apiary/wire/pod_json.h"

namespace apiary::wire {

namespace {

cell::Status ReadString(const nlohmann::json& obj, const char* key, const std::string& path,
                        std::string* out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return cell::Status::Ok();
  if (!it->is_string())
    return cell::Status::Invalid(path + "." + key + ": must be a string");
  *out = it->get<std::string>();
  return cell::Status::Ok();
}

}  // namespace

cell::Result<PodObject> PodFromJson(const nlohmann::json& j) {
  if (!j.is_object()) return cell::Status::Invalid("pod: must be an object");
  PodObject pod;
  const nlohmann::json* meta = &j;
  std::string path = "pod";
  if (auto it = j.find("metadata"); it != j.end()) {
    if (!it->is_object()) return cell::Status::Invalid("pod.metadata: must be an object");
    meta = &*it;
    path = "pod.metadata";
  }
  cell::Status st;
  if (!(st = ReadString(*meta, "name", path, &pod.ref.name)).ok()) return st;
  if (!(st = ReadString(*meta, "namespace", path, &pod.ref.ns)).ok()) return st;
  if (!(st = ReadString(*meta, "uid", path, &pod.ref.uid)).ok()) return st;
  if (pod.ref.name.empty()) return cell::Status::Invalid(path + ".name: missing or empty");
  if (pod.ref.ns.empty()) pod.ref.ns = "default";
  if (pod.ref.uid.empty()) pod.ref.uid = pod.ref.ns + "/" + pod.ref.name;
  if (auto it = meta->find("annotations"); it != meta->end() && !it->is_null()) {
    if (!it->is_object())
      return cell::Status::Invalid(path + ".annotations: must be an object");
    for (auto a = it->begin(); a != it->end(); ++a) {
      if (!a.value().is_string())
        return cell::Status::Invalid(path + ".annotations." + a.key() + ": must be a string");
      pod.annotations[a.key()] = a.value().get<std::string>();
    }
  }
  if (auto it = j.find("spec"); it != j.end() && it->is_object()) {
    if (!(st = ReadString(*it, "nodeName", "pod.spec", &pod.node_name)).ok()) return st;
  }
  return pod;
}

}  // namespace apiary::wire
