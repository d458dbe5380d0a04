// The ClusterApi over the Kubernetes client (kube_client.h): bindings,
// annotation patches, evictions, deletions and events, and the paths and
// times they use.
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <ctime>

#include "apiary/extender/json_doc.h"
#include "apiary/extender/kube_client.h"
#include "apiary/extender/log.h"
#include "apiary/wire/inspect_json.h"

namespace apiary::extender {

std::string PathEscape(std::string_view s) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string PodPath(const cell::PodRef& pod) {
  return "/api/v1/namespaces/" + PathEscape(pod.ns) + "/pods/" + PathEscape(pod.name);
}

std::string KubeMicroTime() {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count() % 1000000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[80];
  std::snprintf(out, sizeof out, "%s.%06lldZ", buf, static_cast<long long>(us));
  return out;
}



// ---------------------------------------------------------------------------
// ClusterApi

namespace {

ApiStatus ToStatus(const HttpResult& r) {
  ApiStatus s;
  s.code = r.status;
  if (r.status < 200 || r.status >= 300) s.message = StatusMessage(r);
  return s;
}

std::string AnnotationsJson(const std::vector<std::pair<std::string, std::string>>& a) {
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : a) {
    if (!first) out.push_back(',');
    first = false;
    AppendJsonString(&out, k);
    out.push_back(':');
    AppendJsonString(&out, v);
  }
  out.push_back('}');
  return out;
}

}  // namespace

ApiStatus KubeClient::PatchPodAnnotations(const cell::PodRef& pod, const AnnotationPatch& patch) {
  // A JSON merge patch; metadata.uid makes it fail (immutable field) if the
  // name now belongs to another pod.
  std::string body = "{\"metadata\":{\"uid\":" + JsonQuote(pod.uid) + ",\"annotations\":{";
  bool first = true;
  for (const auto& [k, v] : patch) {
    if (!first) body.push_back(',');
    first = false;
    AppendJsonString(&body, k);
    body.push_back(':');
    if (v) AppendJsonString(&body, *v);
    else body += "null";
  }
  body += "}}}";
  return ToStatus(Do("PATCH", PodPath(pod), body, "application/merge-patch+json"));
}

ApiStatus KubeClient::CreateBinding(const BindingRequest& req) {
  // One call (extender.md 4.2): the API server merges the Binding's
  // annotations into the pod in the same write that sets spec.nodeName, so a
  // pod never carries a placement without its node or a node without its
  // placement, and a bind costs one round trip. metadata.uid is a
  // precondition: a recreated pod of the same name is never bound.
  std::string body = "{\"kind\":\"Binding\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":" +
                     JsonQuote(req.pod.name) + ",\"namespace\":" + JsonQuote(req.pod.ns) +
                     ",\"uid\":" + JsonQuote(req.pod.uid) + ",\"annotations\":" +
                     AnnotationsJson(req.annotations) + "},\"target\":{\"kind\":\"Node\",\"apiVersion\":\"v1\",\"name\":" +
                     JsonQuote(req.node) + "}}";
  HttpResult r = Do("POST", PodPath(req.pod) + "/binding", body);
  ApiStatus st = ToStatus(r);
  if (r.status == 409) {
    // "pod X is already assigned to node \"N\"": a retry after a lost reply
    // is a success when N is the decided node.
    static const std::string kMarker = "already assigned to node \"";
    auto p = st.message.find(kMarker);
    if (p != std::string::npos) {
      auto e = st.message.find('"', p + kMarker.size());
      if (e != std::string::npos) st.assigned_node = st.message.substr(p + kMarker.size(), e - p - kMarker.size());
    }
    if (st.assigned_node.empty()) {
      HttpResult g = Do("GET", PodPath(req.pod));
      if (g.status == 200) {
        auto doc = JsonDoc::Parse(g.body);
        if (doc.ok()) {
          JsonRef uid = doc->root().Find("metadata").Find("uid");
          JsonRef node = doc->root().Find("spec").Find("nodeName");
          if (uid.IsString() && uid.str() == req.pod.uid && node.IsString())
            st.assigned_node = std::string(node.str());
        }
      }
    }
  }
  return st;
}

ApiStatus KubeClient::EvictPod(const cell::PodRef& pod) {
  std::string body = "{\"apiVersion\":\"policy/v1\",\"kind\":\"Eviction\",\"metadata\":{\"name\":" +
                     JsonQuote(pod.name) + ",\"namespace\":" + JsonQuote(pod.ns) +
                     "},\"deleteOptions\":{\"preconditions\":{\"uid\":" + JsonQuote(pod.uid) + "}}}";
  return ToStatus(Do("POST", PodPath(pod) + "/eviction", body));
}

ApiStatus KubeClient::DeletePod(const cell::PodRef& pod) {
  std::string body = "{\"kind\":\"DeleteOptions\",\"apiVersion\":\"v1\",\"preconditions\":{\"uid\":" +
                     JsonQuote(pod.uid) + "}}";
  return ToStatus(Do("DELETE", PodPath(pod), body));
}

void KubeClient::RecordEvent(const cell::PodRef& pod, const std::string& type, const std::string& reason,
                             const std::string& message) {
  std::string now = wire::FormatRfc3339(std::time(nullptr));
  std::string body =
      "{\"apiVersion\":\"v1\",\"kind\":\"Event\",\"metadata\":{\"generateName\":" + JsonQuote(pod.name + ".") +
      ",\"namespace\":" + JsonQuote(pod.ns) + "},\"involvedObject\":{\"apiVersion\":\"v1\",\"kind\":\"Pod\","
      "\"name\":" + JsonQuote(pod.name) + ",\"namespace\":" + JsonQuote(pod.ns) + ",\"uid\":" + JsonQuote(pod.uid) +
      "},\"reason\":" + JsonQuote(reason) + ",\"message\":" + JsonQuote(message) + ",\"type\":" + JsonQuote(type) +
      ",\"source\":{\"component\":\"apiary-extender\"},\"reportingComponent\":\"apiary-extender\","
      "\"firstTimestamp\":" + JsonQuote(now) + ",\"lastTimestamp\":" + JsonQuote(now) +
      ",\"count\":1}";
  HttpResult r = Do("POST", "/api/v1/namespaces/" + PathEscape(pod.ns) + "/events", body);
  if (r.status < 200 || r.status >= 300)
    LogDebug("event_failed", {{"pod", pod.FullName()}, {"error", StatusMessage(r)}});
}

}  // namespace apiary::extender
