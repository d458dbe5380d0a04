#include "fake_apiserver.h"

#include <httplib.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <random>
#include <sstream>

namespace apiary::testing {

using Json = FakeApiServer::Json;

namespace {

std::string Now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string NewUid() {
  static std::mutex mu;
  static std::mt19937_64 rng(std::random_device{}());
  std::lock_guard lock(mu);
  uint64_t a = rng(), b = rng();
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-%04x-4%03x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xFFFF), static_cast<unsigned>(a & 0xFFF),
                static_cast<unsigned>(0x8000 | ((b >> 48) & 0x3FFF)),
                static_cast<unsigned long long>(b & 0xFFFFFFFFFFFFULL));
  return buf;
}

Json StatusJson(int code, const std::string& reason, const std::string& message) {
  Json s;
  s["kind"] = "Status";
  s["apiVersion"] = "v1";
  s["metadata"] = Json::object();
  s["status"] = code < 300 ? "Success" : "Failure";
  if (code >= 300) {
    s["message"] = message;
    s["reason"] = reason;
  }
  s["code"] = code;
  return s;
}

void ReplyText(httplib::Response& res, int code, const std::string& json) {
  res.status = code;
  res.set_content(json, "application/json");
}

void Reply(httplib::Response& res, int code, const Json& body) { ReplyText(res, code, body.dump()); }

void ReplyStatus(httplib::Response& res, int code, const std::string& reason, const std::string& message) {
  Reply(res, code, StatusJson(code, reason, message));
}

std::vector<std::string> Split(const std::string& path) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : path) {
    if (c == '/') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

// RFC 7386 JSON merge patch.
void MergePatch(Json& target, const Json& patch) {
  if (!patch.is_object()) {
    target = patch;
    return;
  }
  if (!target.is_object()) target = Json::object();
  for (auto it = patch.begin(); it != patch.end(); ++it) {
    if (it.value().is_null()) target.erase(it.key());
    else MergePatch(target[it.key()], it.value());
  }
}

// Single objects and watch events carry kind/apiVersion; list items do not
// (as the real API server encodes them).
Json Typed(Json obj, const std::string& kind, const std::string& api_version) {
  Json out = Json::object();
  out["kind"] = kind;
  out["apiVersion"] = api_version;
  for (auto it = obj.begin(); it != obj.end(); ++it)
    if (it.key() != "kind" && it.key() != "apiVersion") out[it.key()] = std::move(it.value());
  return out;
}

Json Untyped(Json obj) {
  obj.erase("kind");
  obj.erase("apiVersion");
  return obj;
}

std::string KindOf(const std::string& resource) {
  return resource == "pods" ? "Pod" : resource == "nodes" ? "Node" : resource == "leases" ? "Lease" : "Event";
}
std::string ApiVersionOf(const std::string& resource) {
  return resource == "leases" ? "coordination.k8s.io/v1" : "v1";
}

std::string RvOf(const Json& obj) {
  if (obj.contains("metadata") && obj["metadata"].contains("resourceVersion") &&
      obj["metadata"]["resourceVersion"].is_string())
    return obj["metadata"]["resourceVersion"].get<std::string>();
  return "";
}

}  // namespace

FakeApiServer::FakeApiServer() = default;

FakeApiServer::~FakeApiServer() { Stop(); }

std::string FakeApiServer::NextRv() { return std::to_string(++rv_); }

std::shared_ptr<const std::string> FakeApiServer::Emit(const std::string& resource,
                                                       const std::string& type, const Json& obj) {
  std::string ns;
  if (auto m = obj.find("metadata"); m != obj.end() && m->is_object()) ns = m->value("namespace", "");
  auto text = std::make_shared<const std::string>(
      Typed(obj, KindOf(resource), ApiVersionOf(resource)).dump());
  // {"type":..,"object":..} as nlohmann writes it, without a second DOM.
  auto line = std::make_shared<const std::string>("{\"type\":" + Json(type).dump() + ",\"object\":" +
                                                  *text + "}\n");
  history_.push_back({rv_, resource, type, std::move(ns), std::move(line)});
  while (history_.size() > 100000) {
    compacted_rv_ = history_.front().rv;
    history_.pop_front();
  }
  cv_.notify_all();
  return text;
}

Json FakeApiServer::CreatePod(Json pod) {
  pod = Untyped(std::move(pod));
  std::lock_guard lock(mu_);
  auto& m = pod["metadata"];
  if (!m.contains("namespace")) m["namespace"] = "default";
  if (!m.contains("uid")) m["uid"] = NewUid();
  m["creationTimestamp"] = Now();
  m["resourceVersion"] = NextRv();
  if (!pod.contains("spec")) pod["spec"] = Json::object();
  if (!pod["spec"].contains("schedulerName")) pod["spec"]["schedulerName"] = "default-scheduler";
  if (!pod.contains("status")) pod["status"] = Json::object();
  if (!pod["status"].contains("phase")) pod["status"]["phase"] = "Pending";
  // `m` may dangle now: adding spec or status grew the ordered map under it.
  const Json& meta = pod["metadata"];
  pods_[meta["namespace"].get<std::string>() + "/" + meta["name"].get<std::string>()] = pod;
  Emit("pods", "ADDED", pod);
  return pod;
}

Json FakeApiServer::CreateNode(Json node) {
  node = Untyped(std::move(node));
  std::lock_guard lock(mu_);
  auto& m = node["metadata"];
  if (!m.contains("uid")) m["uid"] = NewUid();
  m["creationTimestamp"] = Now();
  m["resourceVersion"] = NextRv();
  nodes_[m["name"].get<std::string>()] = node;
  Emit("nodes", "ADDED", node);
  return node;
}

bool FakeApiServer::DeletePod(const std::string& ns, const std::string& name) {
  std::lock_guard lock(mu_);
  auto it = pods_.find(ns + "/" + name);
  if (it == pods_.end()) return false;
  Json obj = it->second;
  obj["metadata"]["resourceVersion"] = NextRv();
  pods_.erase(it);
  Emit("pods", "DELETED", obj);
  return true;
}

Json FakeApiServer::GetPod(const std::string& ns, const std::string& name) {
  std::lock_guard lock(mu_);
  auto it = pods_.find(ns + "/" + name);
  return it == pods_.end() ? Json() : it->second;
}

std::vector<Json> FakeApiServer::Pods() {
  std::lock_guard lock(mu_);
  std::vector<Json> out;
  for (const auto& [k, v] : pods_) out.push_back(v);
  return out;
}

void FakeApiServer::SetNodeReady(const std::string& name, bool ready) {
  std::lock_guard lock(mu_);
  auto it = nodes_.find(name);
  if (it == nodes_.end()) return;
  Json& n = it->second;
  Json cond = {{"type", "Ready"}, {"status", ready ? "True" : "False"}, {"lastTransitionTime", Now()},
               {"reason", ready ? "KubeletReady" : "KubeletNotReady"}};
  Json conds = Json::array();
  if (n.contains("status") && n["status"].contains("conditions"))
    for (const auto& c : n["status"]["conditions"])
      if (c.value("type", "") != "Ready") conds.push_back(c);
  conds.push_back(cond);
  n["status"]["conditions"] = conds;
  n["metadata"]["resourceVersion"] = NextRv();
  Emit("nodes", "MODIFIED", n);
}

void FakeApiServer::Compact() {
  std::lock_guard lock(mu_);
  history_.clear();
  compacted_rv_ = ++rv_;
  cv_.notify_all();
}

void FakeApiServer::CloseWatches() {
  std::lock_guard lock(mu_);
  ++watch_epoch_;
  cv_.notify_all();
}

void FakeApiServer::InjectFailure(const std::string& match, int code, int count, size_t pad_bytes) {
  std::lock_guard lock(mu_);
  failures_.push_back({match, code, count, pad_bytes});
}

int64_t FakeApiServer::RequestCount(const std::string& match) {
  std::lock_guard lock(mu_);
  int64_t n = 0;
  for (const auto& r : request_log_)
    if (r.find(match) != std::string::npos) ++n;
  return n;
}

void FakeApiServer::RequireBearerToken(const std::string& token) {
  std::lock_guard lock(mu_);
  required_token_ = token;
}

std::vector<std::string> FakeApiServer::ClientCertificates() {
  std::lock_guard lock(mu_);
  return client_certs_;
}

std::vector<std::string> FakeApiServer::BearerTokens() {
  std::lock_guard lock(mu_);
  return bearer_tokens_;
}

void FakeApiServer::EnableTls(std::string cert_file, std::string key_file, std::string client_ca_file) {
  tls_cert_ = std::move(cert_file);
  tls_key_ = std::move(key_file);
  tls_client_ca_ = std::move(client_ca_file);
}

int FakeApiServer::Start(int port, const std::string& host) {
  if (tls_cert_.empty()) {
    server_ = std::make_unique<httplib::Server>();
  } else {
    // As kube-apiserver does (tls.RequestClientCert, then verification per
    // request): a client certificate is asked for but never fails the
    // handshake; an unverified one just does not authenticate.
    auto ssl = std::make_unique<httplib::SSLServer>([this](SSL_CTX& ctx) {
      if (SSL_CTX_use_certificate_chain_file(&ctx, tls_cert_.c_str()) != 1 ||
          SSL_CTX_use_PrivateKey_file(&ctx, tls_key_.c_str(), SSL_FILETYPE_PEM) != 1)
        return false;
      if (!tls_client_ca_.empty()) {
        if (SSL_CTX_load_verify_locations(&ctx, tls_client_ca_.c_str(), nullptr) != 1) return false;
        SSL_CTX_set_verify(&ctx, SSL_VERIFY_PEER, [](int, X509_STORE_CTX*) { return 1; });
      }
      return true;
    });
    if (!ssl->is_valid()) return -1;
    server_ = std::move(ssl);
  }
  server_->new_task_queue = [] { return new httplib::ThreadPool(64); };
  server_->set_keep_alive_max_count(1u << 30);
  server_->set_keep_alive_timeout(5);
  server_->set_read_timeout(30, 0);
  server_->set_write_timeout(30, 0);
  server_->set_tcp_nodelay(true);
  // No compression (the real API server never compresses watch streams).
  server_->set_pre_routing_handler([](const httplib::Request& req, httplib::Response&) {
    const_cast<httplib::Request&>(req).headers.erase("Accept-Encoding");
    return httplib::Server::HandlerResponse::Unhandled;
  });
  Routes();
  port_ = port == 0 ? server_->bind_to_any_port(host) : (server_->bind_to_port(host, port) ? port : -1);
  if (port_ <= 0) return -1;
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  // stop() is a no-op until the server runs: wait for it.
  while (!server_->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return port_;
}

void FakeApiServer::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    cv_.notify_all();
  }
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

void FakeApiServer::Routes() {
  auto handler = [this](const httplib::Request& req, httplib::Response& res) {
    const std::string line = req.method + " " + req.path;
    auto seg = Split(req.path);
    {
      std::lock_guard lock(mu_);
      request_log_.push_back(line);
      const std::string auth = req.get_header_value("Authorization");
      const std::string bearer = auth.rfind("Bearer ", 0) == 0 ? auth.substr(7) : "";
      bearer_tokens_.push_back(bearer);
      // The client certificate: its CN if it verifies against the client CA.
      bool cert_ok = false;
      std::string cert_name;
      if (req.ssl) {
        if (X509* peer = SSL_get1_peer_certificate(req.ssl)) {
          char cn[256] = {0};
          X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, cn, sizeof cn);
          cert_ok = SSL_get_verify_result(req.ssl) == X509_V_OK;
          cert_name = cert_ok ? cn : std::string("unverified:") + cn;
          X509_free(peer);
        }
      }
      client_certs_.push_back(cert_name);
      // Authenticated by either (kube-apiserver's union of authenticators).
      const bool auth_on = !required_token_.empty() || !tls_client_ca_.empty();
      const bool authenticated = (!required_token_.empty() && bearer == required_token_) ||
                                 (!tls_client_ca_.empty() && cert_ok);
      if (auth_on && !authenticated && !(!seg.empty() && seg[0] == "fake")) {
        ReplyStatus(res, 401, "Unauthorized", "Unauthorized");
        return;
      }
      for (auto& f : failures_) {
        if (f.count > 0 && line.find(f.match) != std::string::npos) {
          --f.count;
          ReplyStatus(res, f.code, f.code == 429 ? "TooManyRequests" : "InternalError",
                      "injected failure for " + line + std::string(f.pad_bytes, 'x'));
          return;
        }
      }
    }
    // ---- test hooks ----
    if (!seg.empty() && seg[0] == "fake") {
      if (seg.size() == 2 && seg[1] == "compact") Compact();
      else if (seg.size() == 2 && seg[1] == "close-watches") CloseWatches();
      else if (seg.size() == 2 && seg[1] == "fail")
        InjectFailure(req.get_param_value("match"), std::stoi(req.get_param_value("code")),
                      std::stoi(req.get_param_value("count")));
      else if (seg.size() == 2 && seg[1] == "count") {
        Reply(res, 200, Json{{"count", RequestCount(req.get_param_value("match"))}});
        return;
      } else if (seg.size() == 4 && seg[1] == "nodes" && seg[3] == "ready") {
        SetNodeReady(seg[2], req.get_param_value("ready") != "false");
      } else {
        ReplyStatus(res, 404, "NotFound", "unknown hook");
        return;
      }
      Reply(res, 200, Json{{"ok", true}});
      return;
    }
    // ---- discovery ----
    if (req.method == "GET" && (req.path == "/version" || req.path == "/version/")) {
      Reply(res, 200, Json{{"major", "1"}, {"minor", "30"}, {"gitVersion", "v1.30.0-apiary-fake"},
                           {"gitCommit", "0000000"}, {"gitTreeState", "clean"},
                           {"buildDate", "2024-01-01T00:00:00Z"}, {"goVersion", "go1.22"},
                           {"compiler", "gc"}, {"platform", "linux/amd64"}});
      return;
    }
    if (req.method == "GET" && (req.path == "/healthz" || req.path == "/readyz" || req.path == "/livez")) {
      res.set_content("ok", "text/plain");
      return;
    }
    if (req.method == "GET" && req.path == "/api") {
      Reply(res, 200, Json{{"kind", "APIVersions"}, {"versions", {"v1"}},
                           {"serverAddressByClientCIDRs",
                            {{{"clientCIDR", "0.0.0.0/0"}, {"serverAddress", "127.0.0.1:" + std::to_string(port_)}}}}});
      return;
    }
    if (req.method == "GET" && req.path == "/apis") {
      auto group = [](const std::string& name, const std::string& version) {
        Json gv = {{"groupVersion", name + "/" + version}, {"version", version}};
        return Json{{"name", name}, {"versions", Json::array({gv})}, {"preferredVersion", gv}};
      };
      Reply(res, 200, Json{{"kind", "APIGroupList"}, {"apiVersion", "v1"},
                           {"groups", Json::array({group("coordination.k8s.io", "v1"), group("policy", "v1")})}});
      return;
    }
    auto resource = [](const std::string& name, const std::string& kind, bool namespaced,
                       std::vector<std::string> verbs, const std::string& singular) {
      return Json{{"name", name}, {"singularName", singular}, {"namespaced", namespaced}, {"kind", kind},
                  {"verbs", verbs}};
    };
    if (req.method == "GET" && req.path == "/api/v1") {
      Reply(res, 200,
            Json{{"kind", "APIResourceList"}, {"groupVersion", "v1"},
                 {"resources",
                  Json::array({resource("pods", "Pod", true,
                                        {"create", "delete", "get", "list", "patch", "update", "watch"}, "pod"),
                               resource("pods/binding", "Binding", true, {"create"}, ""),
                               resource("pods/eviction", "Eviction", true, {"create"}, ""),
                               resource("pods/status", "Pod", true, {"get", "patch", "update"}, ""),
                               resource("nodes", "Node", false,
                                        {"create", "delete", "get", "list", "patch", "update", "watch"}, "node"),
                               resource("events", "Event", true, {"create", "get", "list"}, "event")})}});
      return;
    }
    if (req.method == "GET" && req.path == "/apis/coordination.k8s.io/v1") {
      Reply(res, 200, Json{{"kind", "APIResourceList"}, {"apiVersion", "v1"}, {"groupVersion", "coordination.k8s.io/v1"},
                           {"resources", Json::array({resource("leases", "Lease", true,
                                                               {"create", "delete", "get", "list", "update"}, "lease")})}});
      return;
    }
    if (req.method == "GET" && req.path == "/apis/policy/v1") {
      Reply(res, 200, Json{{"kind", "APIResourceList"}, {"apiVersion", "v1"}, {"groupVersion", "policy/v1"},
                           {"resources", Json::array()}});
      return;
    }

    // ---- resources ----
    // Normalise to (group prefix, namespace, resource, name, subresource).
    std::string ns, res_name, name, sub;
    size_t i = 0;
    bool core = false, coord = false;
    if (seg.size() >= 2 && seg[0] == "api" && seg[1] == "v1") {
      core = true;
      i = 2;
    } else if (seg.size() >= 3 && seg[0] == "apis" && seg[1] == "coordination.k8s.io" && seg[2] == "v1") {
      coord = true;
      i = 3;
    }
    if (!core && !coord) {
      ReplyStatus(res, 404, "NotFound", "the server could not find the requested resource");
      return;
    }
    if (i + 1 < seg.size() && seg[i] == "namespaces") {
      ns = seg[i + 1];
      i += 2;
    }
    if (i < seg.size()) res_name = seg[i++];
    if (i < seg.size()) name = seg[i++];
    if (i < seg.size()) sub = seg[i++];
    if (res_name.empty() || i < seg.size() || (coord && res_name != "leases") ||
        (core && res_name != "pods" && res_name != "nodes" && res_name != "events")) {
      ReplyStatus(res, 404, "NotFound", "the server could not find the requested resource");
      return;
    }
    Json body;
    if (!req.body.empty()) {
      try {
        body = Json::parse(req.body);
      } catch (const std::exception& e) {
        ReplyStatus(res, 400, "BadRequest", std::string("invalid JSON: ") + e.what());
        return;
      }
    }
    std::map<std::string, Json>* store = res_name == "pods"    ? &pods_
                                         : res_name == "nodes" ? &nodes_
                                         : res_name == "leases" ? &leases_
                                                                : nullptr;
    const std::string kind = res_name == "pods" ? "Pod" : res_name == "nodes" ? "Node" : res_name == "leases" ? "Lease" : "Event";
    const std::string api_version = coord ? "coordination.k8s.io/v1" : "v1";
    auto key_of = [&](const std::string& n) { return res_name == "nodes" ? n : ns + "/" + n; };

    // Events: create and list only.
    if (res_name == "events") {
      std::lock_guard lock(mu_);
      if (req.method == "POST") {
        body["metadata"]["name"] = body["metadata"].value("generateName", std::string("event.")) + NewUid().substr(0, 8);
        body["metadata"]["uid"] = NewUid();
        body["metadata"]["resourceVersion"] = NextRv();
        events_.push_back(body);
        Reply(res, 201, body);
      } else {
        Json list = {{"kind", "EventList"}, {"apiVersion", "v1"}, {"metadata", {{"resourceVersion", std::to_string(rv_)}}},
                     {"items", Json::array()}};
        for (const auto& e : events_) list["items"].push_back(e);
        Reply(res, 200, list);
      }
      return;
    }

    // Collections: list, watch, create.
    if (name.empty()) {
      if (req.method == "GET") {
        bool watch = req.get_param_value("watch") == "true" || req.get_param_value("watch") == "1";
        if (!watch) {
          std::lock_guard lock(mu_);
          Json list = {{"kind", kind + "List"}, {"apiVersion", api_version},
                       {"metadata", {{"resourceVersion", std::to_string(rv_)}}}, {"items", Json::array()}};
          for (const auto& [k, v] : *store)
            if (ns.empty() || v["metadata"].value("namespace", "") == ns) list["items"].push_back(v);
          Reply(res, 200, list);
          return;
        }
        // Watch: a chunked stream of {"type", "object"} lines.
        std::string rv_param = req.get_param_value("resourceVersion");
        int timeout = req.has_param("timeoutSeconds") ? std::stoi(req.get_param_value("timeoutSeconds")) : 1800;
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout);
        struct WatchState {
          int64_t last = 0;
          bool started = false;
          uint64_t epoch = 0;
        };
        auto st = std::make_shared<WatchState>();
        {
          std::lock_guard lock(mu_);
          st->epoch = watch_epoch_;
        }
        const std::string resource_name = res_name;
        const std::string watch_ns = ns;
        res.set_chunked_content_provider(
            "application/json",
            [this, st, rv_param, deadline, resource_name, watch_ns, store](size_t, httplib::DataSink& sink) {
              std::string out;
              {
                std::unique_lock lock(mu_);
                if (!st->started) {
                  st->started = true;
                  if (rv_param.empty() || rv_param == "0") {
                    for (const auto& [k, v] : *store)
                      if (watch_ns.empty() || v["metadata"].value("namespace", "") == watch_ns)
                        out += Json{{"type", "ADDED"}, {"object", Typed(v, KindOf(resource_name), ApiVersionOf(resource_name))}}.dump() + "\n";
                    st->last = rv_;
                  } else {
                    int64_t from = std::atoll(rv_param.c_str());
                    if (from < compacted_rv_) {
                      Json err = {{"type", "ERROR"},
                                  {"object", StatusJson(410, "Expired",
                                                        "too old resource version: " + rv_param + " (" +
                                                            std::to_string(compacted_rv_) + ")")}};
                      lock.unlock();
                      std::string line = err.dump() + "\n";
                      sink.write(line.data(), line.size());
                      sink.done();
                      return true;
                    }
                    st->last = from;
                  }
                }
                if (out.empty()) {
                  auto pending = [&] {
                    if (stopping_ || watch_epoch_ != st->epoch) return true;
                    for (auto it = history_.rbegin(); it != history_.rend() && it->rv > st->last; ++it)
                      if (it->resource == resource_name) return true;
                    return false;
                  };
                  cv_.wait_until(lock, std::min(deadline, std::chrono::steady_clock::now() + std::chrono::seconds(1)),
                                 pending);
                  if (stopping_ || watch_epoch_ != st->epoch || std::chrono::steady_clock::now() >= deadline) {
                    lock.unlock();
                    sink.done();
                    return true;
                  }
                  // Events in order after st->last.
                  // History is in rv order: binary search, not a scan (the
                  // benchmark keeps tens of thousands of events).
                  auto it = std::upper_bound(history_.begin(), history_.end(), st->last,
                                             [](int64_t rv, const Event& e) { return rv < e.rv; });
                  for (; it != history_.end(); ++it) {
                    st->last = it->rv;
                    if (it->resource != resource_name) continue;
                    if (!watch_ns.empty() && it->ns != watch_ns) continue;
                    out += *it->line;
                  }
                }
              }
              if (!out.empty() && !sink.write(out.data(), out.size())) return false;
              if (out.empty() && !sink.is_writable()) return false;
              return true;
            });
        return;
      }
      if (req.method == "POST") {
        if (!body.is_object() || !body.contains("metadata") || !body["metadata"].contains("name")) {
          ReplyStatus(res, 422, "Invalid", "metadata.name: Required value");
          return;
        }
        if (!ns.empty()) body["metadata"]["namespace"] = ns;
        std::string n = body["metadata"]["name"].get<std::string>();
        {
          std::lock_guard lock(mu_);
          if (store->count(key_of(n))) {
            ReplyStatus(res, 409, "AlreadyExists", res_name + " \"" + n + "\" already exists");
            return;
          }
        }
        if (res_name == "pods") Reply(res, 201, Typed(CreatePod(Untyped(body)), kind, api_version));
        else if (res_name == "nodes") Reply(res, 201, Typed(CreateNode(Untyped(body)), kind, api_version));
        else {
          std::lock_guard lock(mu_);
          body = Untyped(body);
          body["metadata"]["uid"] = NewUid();
          body["metadata"]["creationTimestamp"] = Now();
          body["metadata"]["resourceVersion"] = NextRv();
          (*store)[key_of(n)] = body;
          Emit(res_name, "ADDED", body);
          Reply(res, 201, Typed(body, kind, api_version));
        }
        return;
      }
      ReplyStatus(res, 405, "MethodNotAllowed", req.method + " not allowed on " + req.path);
      return;
    }

    std::lock_guard lock(mu_);
    auto it = store->find(key_of(name));
    auto not_found = [&] { ReplyStatus(res, 404, "NotFound", res_name + " \"" + name + "\" not found"); };

    // Subresources of pods.
    if (!sub.empty()) {
      if (res_name != "pods") {
        not_found();
        return;
      }
      if (it == store->end()) {
        not_found();
        return;
      }
      Json& pod = it->second;
      const std::string uid = pod["metadata"]["uid"].get<std::string>();
      if (sub == "binding" && req.method == "POST") {
        std::string want_uid = body.contains("metadata") ? body["metadata"].value("uid", "") : "";
        if (!want_uid.empty() && want_uid != uid) {
          ReplyStatus(res, 409, "Conflict",
                      "Operation cannot be fulfilled on pods/binding \"" + name +
                          "\": Precondition failed: UID in precondition: " + want_uid +
                          ", UID in object meta: " + uid);
          return;
        }
        if (pod["metadata"].contains("deletionTimestamp")) {
          ReplyStatus(res, 409, "Conflict", "pod " + name + " is being deleted, cannot be assigned to a host");
          return;
        }
        std::string current = pod["spec"].value("nodeName", "");
        if (!current.empty()) {
          ReplyStatus(res, 409, "Conflict",
                      "Operation cannot be fulfilled on pods/binding \"" + name + "\": pod " + name +
                          " is already assigned to node \"" + current + "\"");
          return;
        }
        std::string node = body.contains("target") ? body["target"].value("name", "") : "";
        if (node.empty()) {
          ReplyStatus(res, 422, "Invalid", "target.name: Required value");
          return;
        }
        pod["spec"]["nodeName"] = node;
        if (body["metadata"].contains("annotations"))
          for (auto a = body["metadata"]["annotations"].begin(); a != body["metadata"]["annotations"].end(); ++a)
            pod["metadata"]["annotations"][a.key()] = a.value();
        Json conds = Json::array();
        if (pod["status"].contains("conditions"))
          for (const auto& c : pod["status"]["conditions"])
            if (c.value("type", "") != "PodScheduled") conds.push_back(c);
        conds.push_back({{"type", "PodScheduled"}, {"status", "True"}, {"lastProbeTime", nullptr},
                         {"lastTransitionTime", Now()}});
        pod["status"]["conditions"] = conds;
        pod["metadata"]["resourceVersion"] = NextRv();
        Emit("pods", "MODIFIED", pod);
        Reply(res, 201, StatusJson(201, "", ""));
        return;
      }
      if (sub == "eviction" && req.method == "POST") {
        std::string want_uid;
        if (body.contains("deleteOptions") && body["deleteOptions"].contains("preconditions"))
          want_uid = body["deleteOptions"]["preconditions"].value("uid", "");
        if (!want_uid.empty() && want_uid != uid) {
          ReplyStatus(res, 409, "Conflict", "Precondition failed: UID in precondition: " + want_uid +
                                                ", UID in object meta: " + uid);
          return;
        }
        Json obj = pod;
        obj["metadata"]["resourceVersion"] = NextRv();
        store->erase(it);
        Emit("pods", "DELETED", obj);
        Reply(res, 201, StatusJson(201, "", ""));
        return;
      }
      if (sub == "status" && (req.method == "PUT" || req.method == "PATCH")) {
        if (req.method == "PUT") pod["status"] = body.value("status", Json::object());
        else MergePatch(pod, Json{{"status", body.value("status", Json::object())}});
        pod["metadata"]["resourceVersion"] = NextRv();
        Emit("pods", "MODIFIED", pod);
        Reply(res, 200, Typed(pod, kind, api_version));
        return;
      }
      if (sub == "status" && req.method == "GET") {
        Reply(res, 200, Typed(pod, kind, api_version));
        return;
      }
      ReplyStatus(res, 405, "MethodNotAllowed", req.method + " not allowed on " + req.path);
      return;
    }

    if (req.method == "GET") {
      if (it == store->end()) return not_found();
      Reply(res, 200, Typed(it->second, kind, api_version));
      return;
    }
    if (req.method == "DELETE") {
      if (it == store->end()) return not_found();
      std::string want_uid;
      if (body.is_object() && body.contains("preconditions")) want_uid = body["preconditions"].value("uid", "");
      if (!want_uid.empty() && want_uid != it->second["metadata"]["uid"].get<std::string>()) {
        ReplyStatus(res, 409, "Conflict", "Precondition failed: UID in precondition: " + want_uid);
        return;
      }
      Json obj = it->second;
      obj["metadata"]["resourceVersion"] = NextRv();
      store->erase(it);
      Emit(res_name, "DELETED", obj);
      Reply(res, 200, Typed(obj, kind, api_version));
      return;
    }
    if (req.method == "PATCH") {
      if (it == store->end()) return not_found();
      Json patch = Untyped(std::move(body));
      // metadata.uid is immutable: a patch may only repeat it (checked
      // before anything changes, so the stored object is patched in place).
      if (auto m = patch.find("metadata"); m != patch.end() && m->is_object() && m->contains("uid") &&
          (*m)["uid"] != it->second["metadata"]["uid"]) {
        ReplyStatus(res, 422, "Invalid", kind + " \"" + name + "\" is invalid: metadata.uid: Invalid value: field is immutable");
        return;
      }
      MergePatch(it->second, patch);
      it->second["metadata"]["resourceVersion"] = NextRv();
      ReplyText(res, 200, *Emit(res_name, "MODIFIED", it->second));
      return;
    }
    if (req.method == "PUT") {
      if (it == store->end()) return not_found();
      std::string want = RvOf(body);
      if (!want.empty() && want != RvOf(it->second)) {
        ReplyStatus(res, 409, "Conflict",
                    "Operation cannot be fulfilled on " + res_name + " \"" + name +
                        "\": the object has been modified; please apply your changes to the latest version and try again");
        return;
      }
      body = Untyped(body);
      body["metadata"]["uid"] = it->second["metadata"]["uid"];
      body["metadata"]["creationTimestamp"] = it->second["metadata"]["creationTimestamp"];
      if (!ns.empty()) body["metadata"]["namespace"] = ns;
      body["metadata"]["resourceVersion"] = NextRv();
      it->second = body;
      Emit(res_name, "MODIFIED", body);
      Reply(res, 200, Typed(body, kind, api_version));
      return;
    }
    ReplyStatus(res, 405, "MethodNotAllowed", req.method + " not allowed on " + req.path);
  };
  const char* all = R"(.*)";
  server_->Get(all, handler);
  server_->Post(all, handler);
  server_->Put(all, handler);
  server_->Patch(all, handler);
  server_->Delete(all, handler);
}

}  // namespace apiary::testing
