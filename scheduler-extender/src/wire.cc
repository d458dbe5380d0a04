#include "apiary/extender/wire.h"

#include <algorithm>
#include <cstring>

#include "apiary/cell/text.h"
#include "apiary/wire/inspect_json.h"

namespace apiary::extender {

using cell::Result;
using cell::Status;

namespace {

std::string TypeError(const std::string& path, const char* expected, JsonRef v) {
  return path + ": expected " + expected + ", got " + v.TypeName();
}

// Reads an optional string member: absent/null leaves `out` untouched.
Status GetString(JsonRef obj, std::string_view key, const std::string& path,
                 std::string* out) {
  JsonRef v = obj.Find(key);
  if (v.IsNull()) return Status::Ok();
  if (!v.IsString()) return Status::Invalid(TypeError(path + "." + std::string(key), "a string", v));
  out->assign(v.str());
  return Status::Ok();
}

// An optional object member: absent/null gives an absent ref.
Status GetObject(JsonRef obj, std::string_view key, const std::string& path, JsonRef* out) {
  JsonRef v = obj.Find(key);
  *out = JsonRef();
  if (v.IsNull()) return Status::Ok();
  if (!v.IsObject()) return Status::Invalid(TypeError(path + "." + std::string(key), "an object", v));
  *out = v;
  return Status::Ok();
}

Status GetArray(JsonRef obj, std::string_view key, const std::string& path, JsonRef* out) {
  JsonRef v = obj.Find(key);
  *out = JsonRef();
  if (v.IsNull()) return Status::Ok();
  if (!v.IsArray()) return Status::Invalid(TypeError(path + "." + std::string(key), "an array", v));
  *out = v;
  return Status::Ok();
}

#define APIARY_RETURN_IF_ERROR(expr) \
  do {                               \
    Status _st = (expr);             \
    if (!_st.ok()) return _st;       \
  } while (0)

// Does this container list limit the managed resource to > 0?
Status ContainersEnabled(JsonRef list, const std::string& path, bool* enabled) {
  if (!list.present()) return Status::Ok();
  uint32_t i = 0;
  for (JsonRef c : list) {
    std::string cpath = path + "[" + std::to_string(i++) + "]";
    if (c.IsNull()) continue;
    if (!c.IsObject()) return Status::Invalid(TypeError(cpath, "an object", c));
    JsonRef res, limits;
    APIARY_RETURN_IF_ERROR(GetObject(c, "resources", cpath, &res));
    if (!res.present()) continue;
    APIARY_RETURN_IF_ERROR(GetObject(res, "limits", cpath + ".resources", &limits));
    if (!limits.present()) continue;
    // Resource names are case-sensitive map keys, not struct fields.
    for (JsonRef q : limits) {
      if (q.Key() != kResourcePodSchedulingEnable) continue;
      if (q.IsString()) {
        if (QuantityPositive(q.str())) *enabled = true;
      } else if (q.IsNumber()) {
        if (QuantityPositive(q.str())) *enabled = true;
      } else if (!q.IsNull()) {
        return Status::Invalid(TypeError(cpath + ".resources.limits[" +
                                             std::string(kResourcePodSchedulingEnable) + "]",
                                         "a quantity string", q));
      }
    }
  }
  return Status::Ok();
}

}  // namespace

std::optional<int64_t> ParseRfc3339(std::string_view s) {
  auto t = wire::ParseRfc3339(s);
  if (!t) return std::nullopt;
  return t->seconds;
}

bool QuantityPositive(std::string_view q) {
  size_t i = 0;
  bool negative = false;
  if (i < q.size() && (q[i] == '+' || q[i] == '-')) negative = q[i++] == '-';
  bool nonzero = false, digits = false;
  while (i < q.size() && q[i] >= '0' && q[i] <= '9') {
    digits = true;
    nonzero |= q[i++] != '0';
  }
  if (i < q.size() && q[i] == '.') {
    ++i;
    while (i < q.size() && q[i] >= '0' && q[i] <= '9') {
      digits = true;
      nonzero |= q[i++] != '0';
    }
  }
  if (!digits) return false;
  std::string_view suffix = q.substr(i);
  static const char* kSuffixes[] = {"",  "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "n",
                                    "u", "m",  "k",  "M",  "G",  "T",  "P",  "E"};
  bool ok = false;
  for (const char* s : kSuffixes) ok |= suffix == s;
  if (!ok && !suffix.empty() && (suffix[0] == 'e' || suffix[0] == 'E')) {
    size_t j = 1;
    if (j < suffix.size() && (suffix[j] == '+' || suffix[j] == '-')) ++j;
    ok = j < suffix.size();
    for (; j < suffix.size(); ++j) ok &= suffix[j] >= '0' && suffix[j] <= '9';
  }
  return ok && nonzero && !negative;
}

Result<PodInfo> DecodePod(JsonRef pod, const std::string& path, bool require_uid) {
  if (pod.IsNull()) return Status::Invalid(path + ": required, got " + pod.TypeName());
  if (!pod.IsObject()) return Status::Invalid(TypeError(path, "an object", pod));
  PodInfo info;
  JsonRef meta;
  APIARY_RETURN_IF_ERROR(GetObject(pod, "metadata", path, &meta));
  if (!meta.present()) return Status::Invalid(path + ".metadata: required");
  const std::string mpath = path + ".metadata";
  APIARY_RETURN_IF_ERROR(GetString(meta, "name", mpath, &info.ref.name));
  APIARY_RETURN_IF_ERROR(GetString(meta, "namespace", mpath, &info.ref.ns));
  APIARY_RETURN_IF_ERROR(GetString(meta, "uid", mpath, &info.ref.uid));
  APIARY_RETURN_IF_ERROR(GetString(meta, "resourceVersion", mpath, &info.resource_version));
  if (info.ref.name.empty()) return Status::Invalid(mpath + ".name: required, missing or empty");
  if (info.ref.ns.empty()) info.ref.ns = "default";
  if (info.ref.uid.empty()) {
    if (require_uid) return Status::Invalid(mpath + ".uid: required, missing or empty");
    info.ref.uid = info.ref.ns + "/" + info.ref.name;
  }
  JsonRef del = meta.Find("deletionTimestamp");
  if (!del.IsNull()) {
    if (!del.IsString()) return Status::Invalid(TypeError(mpath + ".deletionTimestamp", "a string", del));
    info.deleting = true;
  }
  JsonRef ann;
  APIARY_RETURN_IF_ERROR(GetObject(meta, "annotations", mpath, &ann));
  std::optional<std::string> legacy_isolation;
  for (JsonRef a : ann) {
    std::string_view k = a.Key();
    if (!a.IsString()) {
      if (a.IsNull()) continue;
      return Status::Invalid(TypeError(mpath + ".annotations[" + std::string(k) + "]", "a string", a));
    }
    // Annotation keys are map keys: exact, case-sensitive.
    if (k == cell::kAnnotationPodSchedulingSpec) info.spec_annotation = std::string(a.str());
    else if (k == cell::kAnnotationPodBindInfo) info.bind_info_annotation = std::string(a.str());
    else if (k == cell::kAnnotationPodLeafCellIsolation) info.isolation_annotation = std::string(a.str());
    else if (k == cell::kAnnotationPodGpuIsolationLegacy) legacy_isolation = std::string(a.str());
    else if (k == cell::kAnnotationLazyPreemptor) info.lazy_preemptor_annotation = std::string(a.str());
    else if (k == kAnnotationLazyPreemptionTime) info.lazy_time_annotation = std::string(a.str());
    else if (k == cell::kAnnotationVirtualLeafCells) info.virtual_cells_annotation = std::string(a.str());
  }
  if (!info.isolation_annotation) info.isolation_annotation = std::move(legacy_isolation);

  JsonRef spec;
  APIARY_RETURN_IF_ERROR(GetObject(pod, "spec", path, &spec));
  if (spec.present()) {
    const std::string spath = path + ".spec";
    APIARY_RETURN_IF_ERROR(GetString(spec, "schedulerName", spath, &info.scheduler_name));
    APIARY_RETURN_IF_ERROR(GetString(spec, "nodeName", spath, &info.node_name));
    JsonRef containers, init;
    APIARY_RETURN_IF_ERROR(GetArray(spec, "containers", spath, &containers));
    APIARY_RETURN_IF_ERROR(GetArray(spec, "initContainers", spath, &init));
    APIARY_RETURN_IF_ERROR(ContainersEnabled(containers, spath + ".containers", &info.enabled));
    APIARY_RETURN_IF_ERROR(ContainersEnabled(init, spath + ".initContainers", &info.enabled));
  }
  JsonRef status;
  APIARY_RETURN_IF_ERROR(GetObject(pod, "status", path, &status));
  if (status.present()) {
    const std::string stpath = path + ".status";
    APIARY_RETURN_IF_ERROR(GetString(status, "phase", stpath, &info.phase));
    JsonRef conds;
    APIARY_RETURN_IF_ERROR(GetArray(status, "conditions", stpath, &conds));
    uint32_t i = 0;
    for (JsonRef c : conds) {
      std::string cpath = stpath + ".conditions[" + std::to_string(i++) + "]";
      if (c.IsNull()) continue;
      if (!c.IsObject()) return Status::Invalid(TypeError(cpath, "an object", c));
      std::string type, st, when;
      APIARY_RETURN_IF_ERROR(GetString(c, "type", cpath, &type));
      APIARY_RETURN_IF_ERROR(GetString(c, "status", cpath, &st));
      APIARY_RETURN_IF_ERROR(GetString(c, "lastTransitionTime", cpath, &when));
      if (type == "PodScheduled" && st == "True") {
        if (auto t = ParseRfc3339(when)) info.scheduled_time = *t;
      }
    }
  }
  return info;
}

Result<NodeInfo> DecodeNode(JsonRef node, const std::string& path) {
  if (!node.IsObject()) return Status::Invalid(TypeError(path, "an object", node));
  NodeInfo info;
  JsonRef meta;
  APIARY_RETURN_IF_ERROR(GetObject(node, "metadata", path, &meta));
  if (!meta.present()) return Status::Invalid(path + ".metadata: required");
  APIARY_RETURN_IF_ERROR(GetString(meta, "name", path + ".metadata", &info.name));
  APIARY_RETURN_IF_ERROR(GetString(meta, "resourceVersion", path + ".metadata", &info.resource_version));
  if (info.name.empty()) return Status::Invalid(path + ".metadata.name: required, missing or empty");
  JsonRef spec;
  APIARY_RETURN_IF_ERROR(GetObject(node, "spec", path, &spec));
  if (spec.present()) {
    JsonRef u = spec.Find("unschedulable");
    if (!u.IsNull()) {
      if (!u.IsBool()) return Status::Invalid(TypeError(path + ".spec.unschedulable", "a boolean", u));
      info.unschedulable = u.type() == JsonType::kTrue;
    }
  }
  JsonRef status;
  APIARY_RETURN_IF_ERROR(GetObject(node, "status", path, &status));
  if (status.present()) {
    JsonRef conds;
    APIARY_RETURN_IF_ERROR(GetArray(status, "conditions", path + ".status", &conds));
    uint32_t i = 0;
    for (JsonRef c : conds) {
      std::string cpath = path + ".status.conditions[" + std::to_string(i++) + "]";
      if (c.IsNull()) continue;
      if (!c.IsObject()) return Status::Invalid(TypeError(cpath, "an object", c));
      std::string type, st;
      APIARY_RETURN_IF_ERROR(GetString(c, "type", cpath, &type));
      APIARY_RETURN_IF_ERROR(GetString(c, "status", cpath, &st));
      if (type == "Ready") info.ready = st == "True";
    }
  }
  return info;
}

// ---- requests ----------------------------------------------------------------

namespace {

Result<JsonDoc> ParseEnvelope(std::string_view body, const char* type) {
  if (body.empty()) return Status::Invalid(std::string(type) + ": empty request body");
  auto doc = JsonDoc::Parse(body);
  if (!doc.ok()) return Status::Invalid(std::string(type) + ": " + doc.status().message());
  return doc;
}

Status CheckInt(JsonRef v, const std::string& path) {
  if (v.IsNull()) return Status::Ok();
  int64_t x;
  if (!v.GetInt64(&x)) return Status::Invalid(TypeError(path, "an integer", v) +
                                              (v.IsNumber() ? " (not an integer)" : ""));
  return Status::Ok();
}

// Checks one victims map (full or meta form) and collects its keys.
Status VictimsMap(JsonRef map, const std::string& path, bool meta, std::vector<std::string>* nodes) {
  if (map.IsNull()) return Status::Ok();
  if (!map.IsObject()) return Status::Invalid(TypeError(path, "an object or null", map));
  for (JsonRef v : map) {
    std::string vpath = path + "[" + std::string(v.Key()) + "]";
    nodes->emplace_back(v.Key());
    if (v.IsNull()) continue;
    if (!v.IsObject()) return Status::Invalid(TypeError(vpath, "an object or null", v));
    JsonRef pods;
    APIARY_RETURN_IF_ERROR(GetArray(v, "Pods", vpath, &pods));
    uint32_t i = 0;
    for (JsonRef p : pods) {
      std::string ppath = vpath + ".Pods[" + std::to_string(i++) + "]";
      if (p.IsNull()) continue;
      if (!p.IsObject()) return Status::Invalid(TypeError(ppath, "an object", p));
      if (meta) {
        std::string uid;
        APIARY_RETURN_IF_ERROR(GetString(p, "UID", ppath, &uid));
      }
    }
    APIARY_RETURN_IF_ERROR(CheckInt(v.Find("NumPDBViolations"), vpath + ".NumPDBViolations"));
  }
  return Status::Ok();
}

}  // namespace

bool FilterArgs::Offers(std::string_view node) const {
  for (std::string_view n : node_names)
    if (n == node) return true;
  return false;
}

std::vector<std::string> FilterArgs::NodeNameStrings() const {
  return std::vector<std::string>(node_names.begin(), node_names.end());
}

namespace {

// Go's field matching for one envelope key: exact beats case-insensitive;
// among equals the later key wins. Returns true when `key` should replace the
// current choice (`rank`: 0 none, 1 folded, 2 exact).
// The JSON type of a (valid) value from its first byte.
const char* TypeOfFirst(char c) {
  switch (c) {
    case '{': return "object";
    case '[': return "array";
    case '"': return "string";
    case 't':
    case 'f': return "boolean";
    case 'n': return "null";
    default: return "number";
  }
}

bool Better(std::string_view key, const char* field, int* rank) {
  int r = key == field ? 2 : EqualsFold(key, field) ? 1 : 0;
  if (r == 0 || r < *rank) return false;
  *rank = r;
  return true;
}

}  // namespace

namespace {

// A request that failed to decode and is not valid UTF-8 says where the
// first bad byte is, as every other input the tools read does; a valid body
// pays nothing for the check.
template <typename T>
Result<T> WithUtf8Check(Result<T> decoded, std::string_view body) {
  if (decoded.ok()) return decoded;
  if (Status utf8 = cell::CheckUtf8(body, "request body"); !utf8.ok()) return utf8;
  return decoded;
}

}  // namespace

namespace {
Result<FilterArgs> DecodeFilterArgsUnchecked(std::string_view body) {
  if (body.empty()) return Status::Invalid("ExtenderArgs: empty request body");
  JsonScanner scan(body);
  auto syntax = [&] { return Status::Invalid("ExtenderArgs: " + scan.ErrorMessage()); };
  if (scan.Peek() != '{') {
    // Not an object: report the JSON error if there is one, else the type.
    auto doc = JsonDoc::Parse(body);
    if (!doc.ok()) return Status::Invalid("ExtenderArgs: " + doc.status().message());
    return Status::Invalid(TypeError("ExtenderArgs", "an object", doc->root()));
  }
  scan.Consume('{');
  FilterArgs args;
  std::string_view pod_span, nodes_span;
  int pod_rank = 0, names_rank = 0, nodes_rank = 0;
  bool names_null = true;
  std::vector<std::string_view> names;
  std::deque<std::string> names_storage;
  std::string names_error;
  if (!scan.Consume('}')) {
    for (;;) {
      std::string_view key;
      std::deque<std::string> key_storage;
      if (scan.Peek() != '"') {
        scan.Fail(scan.AtEnd() ? "unterminated object" : "expected a string key");
        return syntax();
      }
      if (!scan.ReadString(&key, &key_storage)) return syntax();
      if (!scan.Consume(':')) {
        scan.Fail("expected ':' after object key");
        return syntax();
      }
      scan.SkipSpace();
      const char* vstart = scan.cursor();
      int rank = names_rank;
      if (Better(key, "NodeNames", &rank)) {
        names_rank = rank;
        names.clear();
        names.reserve(body.size() / 12 + 16);  // no reallocation for typical name lengths
        names_storage.clear();
        names_error.clear();
        names_null = scan.ConsumeNull();
        if (!names_null) {
          if (scan.Peek() != '[') {
            // Wrong type: validate the value, report the type below.
            char t = scan.Peek();
            if (!scan.SkipValue(1)) return syntax();
            names_error = "ExtenderArgs.NodeNames: expected an array of strings or null, got " + std::string(TypeOfFirst(t));
          } else {
            scan.Consume('[');
            if (!scan.Consume(']')) {
              for (;;) {
                if (scan.Peek() != '"') {
                  char t = scan.Peek();
                  if (!scan.SkipValue(2)) return syntax();
                  if (names_error.empty())
                    names_error = "ExtenderArgs.NodeNames[" + std::to_string(names.size()) +
                                  "]: expected a string, got " + std::string(TypeOfFirst(t));
                  names.emplace_back();
                } else {
                  std::string_view n;
                  if (!scan.ReadString(&n, &names_storage)) return syntax();
                  names.push_back(n);
                }
                if (scan.Consume(',')) continue;
                if (scan.Consume(']')) break;
                scan.Fail(scan.AtEnd() ? "unterminated array" : "expected ',' or ']' in array");
                return syntax();
              }
            }
          }
        }
      } else {
        if (!scan.SkipValue(1)) return syntax();
        std::string_view span(vstart, static_cast<size_t>(scan.cursor() - vstart));
        int r = pod_rank;
        if (Better(key, "Pod", &r)) {
          pod_rank = r;
          pod_span = span;
        } else {
          r = nodes_rank;
          if (Better(key, "Nodes", &r)) {
            nodes_rank = r;
            nodes_span = span;
          }
        }
      }
      if (scan.Consume(',')) continue;
      if (scan.Consume('}')) break;
      scan.Fail(scan.AtEnd() ? "unterminated object" : "expected ',' or '}' in object");
      return syntax();
    }
  }
  scan.SkipSpace();
  if (!scan.AtEnd()) {
    scan.Fail("unexpected data after the JSON value");
    return syntax();
  }
  // The pod: a small DOM.
  {
    auto doc = JsonDoc::Parse(pod_span.empty() ? std::string_view("null") : pod_span);
    if (!doc.ok()) return Status::Invalid("ExtenderArgs.Pod: " + doc.status().message());
    auto pod = DecodePod(doc->root(), "ExtenderArgs.Pod");
    if (!pod.ok()) return pod.status();
    args.pod = std::move(pod).value();
  }
  if (!names_error.empty()) return Status::Invalid(names_error);
  args.node_names = std::move(names);
  args.storage = std::move(names_storage);
  if (names_null && !nodes_span.empty() && nodes_span != "null") {
    auto doc = JsonDoc::Parse(nodes_span);
    if (!doc.ok()) return Status::Invalid("ExtenderArgs.Nodes: " + doc.status().message());
    JsonRef nodes = doc->root();
    if (!nodes.IsObject())
      return Status::Invalid(TypeError("ExtenderArgs.Nodes", "a NodeList object or null", nodes));
    JsonRef items;
    APIARY_RETURN_IF_ERROR(GetArray(nodes, "items", "ExtenderArgs.Nodes", &items));
    args.full_nodes = true;
    uint32_t i = 0;
    for (JsonRef n : items) {
      std::string npath = "ExtenderArgs.Nodes.items[" + std::to_string(i++) + "]";
      if (!n.IsObject()) return Status::Invalid(TypeError(npath, "an object", n));
      JsonRef meta;
      APIARY_RETURN_IF_ERROR(GetObject(n, "metadata", npath, &meta));
      std::string name;
      if (meta.present()) APIARY_RETURN_IF_ERROR(GetString(meta, "name", npath + ".metadata", &name));
      if (name.empty()) return Status::Invalid(npath + ".metadata.name: required, missing or empty");
      args.node_names.push_back(args.storage.emplace_back(std::move(name)));
      args.node_objects.push_back(n.raw());  // a view of nodes_span, i.e. of the body
    }
  }
  return args;
}
}  // namespace

Result<FilterArgs> DecodeFilterArgs(std::string_view body) {
  return WithUtf8Check(DecodeFilterArgsUnchecked(body), body);
}

namespace {
Result<BindArgs> DecodeBindArgsUnchecked(std::string_view body) {
  auto doc = ParseEnvelope(body, "ExtenderBindingArgs");
  if (!doc.ok()) return doc.status();
  JsonRef root = doc->root();
  if (!root.IsObject()) return Status::Invalid(TypeError("ExtenderBindingArgs", "an object", root));
  BindArgs args;
  struct Field {
    const char* key;
    std::string* out;
  } fields[] = {{"PodName", &args.pod_name},
                {"PodNamespace", &args.pod_namespace},
                {"PodUID", &args.pod_uid},
                {"Node", &args.node}};
  for (const Field& f : fields) {
    APIARY_RETURN_IF_ERROR(GetString(root, f.key, "ExtenderBindingArgs", f.out));
  }
  for (const Field& f : fields) {
    if (f.out->empty())
      return Status::Invalid(std::string("ExtenderBindingArgs.") + f.key + ": required, missing or empty");
  }
  return args;
}
}  // namespace

Result<BindArgs> DecodeBindArgs(std::string_view body) {
  return WithUtf8Check(DecodeBindArgsUnchecked(body), body);
}

namespace {
Result<PreemptArgs> DecodePreemptArgsUnchecked(std::string_view body) {
  auto doc = ParseEnvelope(body, "ExtenderPreemptionArgs");
  if (!doc.ok()) return doc.status();
  JsonRef root = doc->root();
  if (!root.IsObject()) return Status::Invalid(TypeError("ExtenderPreemptionArgs", "an object", root));
  PreemptArgs args;
  auto pod = DecodePod(root.Find("Pod"), "ExtenderPreemptionArgs.Pod");
  if (!pod.ok()) return pod.status();
  args.pod = std::move(pod).value();
  JsonRef full = root.Find("NodeNameToVictims");
  JsonRef meta = root.Find("NodeNameToMetaVictims");
  APIARY_RETURN_IF_ERROR(VictimsMap(full, "ExtenderPreemptionArgs.NodeNameToVictims", false,
                                    &args.candidate_nodes));
  APIARY_RETURN_IF_ERROR(VictimsMap(meta, "ExtenderPreemptionArgs.NodeNameToMetaVictims", true,
                                    &args.candidate_nodes));
  args.meta = !meta.IsNull() || full.IsNull();
  std::sort(args.candidate_nodes.begin(), args.candidate_nodes.end());
  args.candidate_nodes.erase(std::unique(args.candidate_nodes.begin(), args.candidate_nodes.end()),
                             args.candidate_nodes.end());
  return args;
}
}  // namespace

Result<PreemptArgs> DecodePreemptArgs(std::string_view body) {
  return WithUtf8Check(DecodePreemptArgsUnchecked(body), body);
}

std::string BestEffortPodKey(std::string_view body) {
  auto doc = JsonDoc::Parse(body);
  if (!doc.ok()) return "";
  JsonRef meta = doc->root().Find("Pod").Find("metadata");
  if (!meta.IsObject()) return "";
  JsonRef name = meta.Find("name"), ns = meta.Find("namespace"), uid = meta.Find("uid");
  if (!name.IsString() || !uid.IsString()) return "";
  std::string n = ns.IsString() && !ns.str().empty() ? std::string(ns.str()) : "default";
  return std::string(uid.str()) + "(" + n + "/" + std::string(name.str()) + ")";
}

// ---- results ----------------------------------------------------------------

namespace {

void AppendStringMap(std::string* out, const std::vector<std::pair<std::string, std::string>>& m) {
  if (m.empty()) {
    out->append("null");
    return;
  }
  out->push_back('{');
  bool first = true;
  for (const auto& [k, v] : m) {
    if (!first) out->push_back(',');
    first = false;
    AppendJsonString(out, k);
    out->push_back(':');
    AppendJsonString(out, v);
  }
  out->push_back('}');
}

}  // namespace

std::string EncodeFilterResult(const FilterResult& r) {
  std::string out;
  out.reserve(256);
  out.append("{\"Nodes\":");
  if (r.node_objects) {
    out.append("{\"metadata\":{},\"items\":[");
    bool first = true;
    for (const auto& n : *r.node_objects) {
      if (!first) out.push_back(',');
      first = false;
      out.append(n);
    }
    out.append("]}");
  } else {
    out.append("null");
  }
  out.append(",\"NodeNames\":");
  if (r.node_names) {
    out.push_back('[');
    bool first = true;
    for (const auto& n : *r.node_names) {
      if (!first) out.push_back(',');
      first = false;
      AppendJsonString(&out, n);
    }
    out.push_back(']');
  } else {
    out.append("null");
  }
  out.append(",\"FailedNodes\":");
  AppendStringMap(&out, r.failed_nodes);
  out.append(",\"FailedAndUnresolvableNodes\":");
  AppendStringMap(&out, r.failed_unresolvable);
  out.append(",\"Error\":");
  AppendJsonString(&out, r.error);
  out.push_back('}');
  return out;
}

std::string EncodeBindResult(std::string_view error) {
  std::string out = "{\"Error\":";
  AppendJsonString(&out, error);
  out.push_back('}');
  return out;
}

std::string EncodePreemptResult(const std::vector<std::pair<std::string, MetaVictims>>& nodes) {
  if (nodes.empty()) return "{\"NodeNameToMetaVictims\":null}";
  std::string out = "{\"NodeNameToMetaVictims\":{";
  bool first = true;
  for (const auto& [node, v] : nodes) {
    if (!first) out.push_back(',');
    first = false;
    AppendJsonString(&out, node);
    out.append(":{\"Pods\":[");
    bool f2 = true;
    for (const auto& uid : v.uids) {
      if (!f2) out.push_back(',');
      f2 = false;
      out.append("{\"UID\":");
      AppendJsonString(&out, uid);
      out.push_back('}');
    }
    out.append("],\"NumPDBViolations\":");
    out.append(std::to_string(v.num_pdb_violations));
    out.push_back('}');
  }
  out.append("}}");
  return out;
}

}  // namespace apiary::extender
