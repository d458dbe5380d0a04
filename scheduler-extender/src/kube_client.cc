#include "apiary/extender/kube_client.h"

#include <httplib.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "apiary/extender/json_doc.h"
#include "apiary/extender/log.h"

namespace apiary::extender {

using cell::Result;
using cell::Status;

namespace {

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Invalid(path + ": cannot read");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Result<std::string> Base64Decode(std::string_view in, const std::string& what) {
  static const std::string kChars =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  uint32_t buf = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=' || c == '\n' || c == '\r' || c == ' ') continue;
    size_t v = kChars.find(c);
    if (v == std::string::npos) return Status::Invalid(what + ": invalid base64");
    buf = (buf << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buf >> bits) & 0xFF));
    }
  }
  return out;
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

// Finds list[i] with .name == name and returns list[i][field].
YAML::Node Named(const YAML::Node& list, const std::string& name, const char* field) {
  if (!list || !list.IsSequence()) return YAML::Node();
  for (const auto& item : list)
    if (item["name"] && item["name"].as<std::string>() == name) return item[field];
  return YAML::Node();
}

std::string Resolve(const std::string& base_dir, const std::string& path) {
  if (path.empty() || path[0] == '/') return path;
  return (std::filesystem::path(base_dir) / path).string();
}

std::string RfcNow() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

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


Result<KubeConfig> InClusterConfig(const std::string& root) {
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
  if (!host || !*host || !port || !*port)
    return Status::Invalid(
        "no Kubernetes API server configured: not in a cluster (KUBERNETES_SERVICE_HOST/PORT unset); "
        "pass --kubeconfig or --master, or set kubeConfigFilePath / kubeApiServerAddress");
  KubeConfig c;
  std::string h = host;
  if (h.find(':') != std::string::npos) h = "[" + h + "]";  // IPv6
  c.server = "https://" + h + ":" + port;
  c.token_file = root + "/token";
  auto tok = ReadFile(c.token_file);
  if (!tok.ok()) return Status::Invalid("in-cluster: " + tok.status().message());
  auto ca = ReadFile(root + "/ca.crt");
  if (!ca.ok()) return Status::Invalid("in-cluster: " + ca.status().message());
  c.ca_pem = *ca;
  if (auto ns = ReadFile(root + "/namespace"); ns.ok()) c.ns = Trim(*ns);
  c.source = "in-cluster";
  return c;
}

Result<KubeConfig> LoadKubeconfig(const std::string& path, const std::string& context_name) {
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  const std::string dir = std::filesystem::path(path).parent_path().string();
  KubeConfig c;
  c.source = "kubeconfig " + path;
  try {
    YAML::Node root = YAML::Load(*text);
    std::string ctx = context_name;
    if (ctx.empty() && root["current-context"]) ctx = root["current-context"].as<std::string>();
    YAML::Node context = Named(root["contexts"], ctx, "context");
    if (!context) return Status::Invalid(path + ": context \"" + ctx + "\" not found");
    std::string cluster_name = context["cluster"] ? context["cluster"].as<std::string>() : "";
    std::string user_name = context["user"] ? context["user"].as<std::string>() : "";
    if (context["namespace"]) c.ns = context["namespace"].as<std::string>();
    YAML::Node cluster = Named(root["clusters"], cluster_name, "cluster");
    if (!cluster) return Status::Invalid(path + ": cluster \"" + cluster_name + "\" not found");
    if (!cluster["server"]) return Status::Invalid(path + ": clusters[" + cluster_name + "].cluster.server: missing");
    c.server = cluster["server"].as<std::string>();
    if (cluster["insecure-skip-tls-verify"]) c.insecure = cluster["insecure-skip-tls-verify"].as<bool>();
    if (cluster["certificate-authority-data"]) {
      auto d = Base64Decode(cluster["certificate-authority-data"].as<std::string>(),
                            path + ": certificate-authority-data");
      if (!d.ok()) return d.status();
      c.ca_pem = *d;
    } else if (cluster["certificate-authority"]) {
      auto d = ReadFile(Resolve(dir, cluster["certificate-authority"].as<std::string>()));
      if (!d.ok()) return d.status();
      c.ca_pem = *d;
    }
    YAML::Node user = Named(root["users"], user_name, "user");
    if (user) {
      if (user["exec"] || user["auth-provider"])
        return Status::Invalid(path + ": users[" + user_name +
                               "]: exec and auth-provider credential plugins are not supported; "
                               "use a token, tokenFile or client certificate");
      if (user["token"]) c.token = user["token"].as<std::string>();
      if (user["tokenFile"]) c.token_file = Resolve(dir, user["tokenFile"].as<std::string>());
      if (user["client-certificate-data"]) {
        auto d = Base64Decode(user["client-certificate-data"].as<std::string>(), path + ": client-certificate-data");
        if (!d.ok()) return d.status();
        c.client_cert_pem = *d;
      } else if (user["client-certificate"]) {
        auto d = ReadFile(Resolve(dir, user["client-certificate"].as<std::string>()));
        if (!d.ok()) return d.status();
        c.client_cert_pem = *d;
      }
      if (user["client-key-data"]) {
        auto d = Base64Decode(user["client-key-data"].as<std::string>(), path + ": client-key-data");
        if (!d.ok()) return d.status();
        c.client_key_pem = *d;
      } else if (user["client-key"]) {
        auto d = ReadFile(Resolve(dir, user["client-key"].as<std::string>()));
        if (!d.ok()) return d.status();
        c.client_key_pem = *d;
      }
    }
  } catch (const YAML::Exception& e) {
    return Status::Invalid(path + ": " + e.what());
  }
  return c;
}

Result<KubeConfig> ResolveKubeConfig(const std::string& master, const std::string& kubeconfig) {
  if (!kubeconfig.empty()) {
    auto c = LoadKubeconfig(kubeconfig);
    if (!c.ok()) return c;
    if (!master.empty()) {
      c->server = master;
      c->source += " (server overridden by the API server address)";
    }
    return c;
  }
  if (!master.empty()) {
    KubeConfig c;
    c.server = master;
    c.source = "API server address " + master;
    return c;
  }
  return InClusterConfig();
}

std::string StatusMessage(const HttpResult& r) {
  if (r.status == 0) return r.error;
  auto doc = JsonDoc::Parse(r.body);
  if (doc.ok()) {
    JsonRef m = doc->root().Find("message");
    if (m.IsString()) return std::string(m.str());
  }
  std::string b = r.body.substr(0, 512);
  return b.empty() ? "HTTP " + std::to_string(r.status) : b;
}

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

// ---------------------------------------------------------------------------

KubeClient::KubeClient(KubeConfig config, std::string user_agent, std::chrono::milliseconds timeout)
    : config_(std::move(config)), user_agent_(std::move(user_agent)), timeout_(timeout) {
  std::string s = config_.server;
  while (!s.empty() && s.back() == '/') s.pop_back();
  https_ = s.rfind("https://", 0) == 0;
  std::string rest = s;
  if (auto p = rest.find("://"); p != std::string::npos) rest = rest.substr(p + 3);
  if (auto slash = rest.find('/'); slash != std::string::npos) rest = rest.substr(0, slash);
  port_ = https_ ? 443 : 80;
  std::string host = rest;
  if (!rest.empty() && rest[0] == '[') {
    auto close = rest.find(']');
    host = rest.substr(1, close == std::string::npos ? std::string::npos : close - 1);
    if (close != std::string::npos && close + 1 < rest.size() && rest[close + 1] == ':')
      port_ = std::atoi(rest.c_str() + close + 2);
  } else if (auto colon = rest.rfind(':'); colon != std::string::npos) {
    host = rest.substr(0, colon);
    port_ = std::atoi(rest.c_str() + colon + 1);
  }
  host_ = host;
  token_ = config_.token;
}

KubeClient::~KubeClient() { Stop(); }

std::string KubeClient::Token() {
  if (config_.token_file.empty()) return config_.token;
  std::lock_guard lock(token_mu_);
  auto now = std::chrono::steady_clock::now();
  if (token_.empty() || now - token_read_ > std::chrono::minutes(1)) {
    auto t = ReadFile(config_.token_file);
    if (t.ok()) token_ = Trim(*t);
    else LogWarn("token_read_failed", {{"file", config_.token_file}, {"error", t.status().message()}});
    token_read_ = now;
  }
  return token_;
}

std::unique_ptr<httplib::ClientImpl> KubeClient::NewClient(std::chrono::milliseconds read_timeout) {
  std::unique_ptr<httplib::ClientImpl> c;
  if (https_) {
    X509* cert = nullptr;
    EVP_PKEY* key = nullptr;
    if (!config_.client_cert_pem.empty() && !config_.client_key_pem.empty()) {
      BIO* b = BIO_new_mem_buf(config_.client_cert_pem.data(), static_cast<int>(config_.client_cert_pem.size()));
      cert = PEM_read_bio_X509(b, nullptr, nullptr, nullptr);
      BIO_free(b);
      b = BIO_new_mem_buf(config_.client_key_pem.data(), static_cast<int>(config_.client_key_pem.size()));
      key = PEM_read_bio_PrivateKey(b, nullptr, nullptr, nullptr);
      BIO_free(b);
      if (!cert || !key) LogError("client_certificate_unreadable", {{"source", config_.source}});
    }
    auto ssl = std::make_unique<httplib::SSLClient>(host_, port_, cert, key);
    if (cert) X509_free(cert);
    if (key) EVP_PKEY_free(key);
    if (!config_.ca_pem.empty()) {
      X509_STORE* store = X509_STORE_new();
      BIO* b = BIO_new_mem_buf(config_.ca_pem.data(), static_cast<int>(config_.ca_pem.size()));
      while (X509* ca = PEM_read_bio_X509(b, nullptr, nullptr, nullptr)) {
        X509_STORE_add_cert(store, ca);
        X509_free(ca);
      }
      BIO_free(b);
      ssl->set_ca_cert_store(store);
    }
    ssl->enable_server_certificate_verification(!config_.insecure);
    c = std::move(ssl);
  } else {
    c = std::make_unique<httplib::ClientImpl>(host_, port_);
  }
  c->set_keep_alive(true);
  c->set_tcp_nodelay(true);
  // No Accept-Encoding: the API server does not compress watches anyway, and
  // this keeps cpp-httplib's compression paths (unneeded here) out of play.
  c->set_decompress(false);
  c->set_connection_timeout(std::chrono::duration_cast<std::chrono::seconds>(timeout_).count(),
                            (timeout_.count() % 1000) * 1000);
  c->set_read_timeout(read_timeout.count() / 1000, (read_timeout.count() % 1000) * 1000);
  c->set_write_timeout(timeout_.count() / 1000, (timeout_.count() % 1000) * 1000);
  return c;
}

std::unique_ptr<httplib::ClientImpl> KubeClient::Acquire() {
  {
    std::lock_guard lock(pool_mu_);
    if (!pool_.empty()) {
      auto c = std::move(pool_.back());
      pool_.pop_back();
      return c;
    }
  }
  return NewClient(timeout_);
}

void KubeClient::Release(std::unique_ptr<httplib::ClientImpl> c) {
  std::lock_guard lock(pool_mu_);
  if (pool_.size() < 16) pool_.push_back(std::move(c));
}

HttpResult KubeClient::Do(const std::string& method, const std::string& path, const std::string& body,
                          const std::string& content_type) {
  auto c = Acquire();
  httplib::Headers headers = {{"User-Agent", user_agent_}, {"Accept", "application/json"}};
  std::string token = Token();
  if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
  httplib::Result r(nullptr, httplib::Error::Unknown);
  if (method == "GET") r = c->Get(path.c_str(), headers);
  else if (method == "POST") r = c->Post(path.c_str(), headers, body, content_type.c_str());
  else if (method == "PUT") r = c->Put(path.c_str(), headers, body, content_type.c_str());
  else if (method == "PATCH") r = c->Patch(path.c_str(), headers, body, content_type.c_str());
  else if (method == "DELETE") r = c->Delete(path.c_str(), headers, body, content_type.c_str());
  HttpResult out;
  if (!r) {
    out.error = method + " " + path + ": " + httplib::to_string(r.error());
    // The connection may be broken; do not pool it.
    return out;
  }
  out.status = r->status;
  out.body = std::move(r->body);
  Release(std::move(c));
  return out;
}

HttpResult KubeClient::Stream(const std::string& path,
                              const std::function<bool(std::string_view)>& on_line,
                              std::chrono::milliseconds read_timeout) {
  HttpResult out;
  auto c = NewClient(read_timeout);
  {
    // Checked under the lock Stop() takes, so a stream is either stopped by
    // Stop() or never starts.
    std::lock_guard lock(pool_mu_);
    if (stopped_) {
      out.error = "client stopped";
      return out;
    }
    streams_.insert(c.get());
  }
  httplib::Headers headers = {{"User-Agent", user_agent_}, {"Accept", "application/json"}};
  std::string token = Token();
  if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
  std::string buffer;
  bool ok_status = false;
  auto r = c->Get(
      path.c_str(), headers,
      [&](const httplib::Response& resp) {
        out.status = resp.status;
        ok_status = resp.status >= 200 && resp.status < 300;
        return true;
      },
      [&](const char* data, size_t len) {
        if (stopped_) return false;
        if (!ok_status) {
          if (out.body.size() < 65536) out.body.append(data, len);
          return true;
        }
        buffer.append(data, len);
        size_t start = 0;
        for (;;) {
          size_t nl = buffer.find('\n', start);
          if (nl == std::string::npos) break;
          std::string_view line(buffer.data() + start, nl - start);
          start = nl + 1;
          if (line.empty()) continue;
          if (!on_line(line)) return false;
        }
        buffer.erase(0, start);
        return true;
      });
  {
    std::lock_guard lock(pool_mu_);
    streams_.erase(c.get());
  }
  if (!r && out.status == 0) out.error = httplib::to_string(r.error());
  if (ok_status && !buffer.empty()) on_line(buffer);  // a final line without '\n'
  return out;
}

void KubeClient::Stop() {
  std::lock_guard lock(pool_mu_);
  stopped_ = true;
  for (auto* c : streams_) c->stop();
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
  // 1. The annotations first (the brief of extender.md 4.2: the pod carries
  //    its placement even if the binding reply is lost).
  AnnotationPatch patch;
  for (const auto& [k, v] : req.annotations) patch.emplace_back(k, v);
  ApiStatus st = PatchPodAnnotations(req.pod, patch);
  if (!st.ok()) return st;
  // 2. The binding, UID-checked; the API server also merges its annotations.
  std::string body = "{\"kind\":\"Binding\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":" +
                     JsonQuote(req.pod.name) + ",\"namespace\":" + JsonQuote(req.pod.ns) +
                     ",\"uid\":" + JsonQuote(req.pod.uid) + ",\"annotations\":" +
                     AnnotationsJson(req.annotations) + "},\"target\":{\"kind\":\"Node\",\"apiVersion\":\"v1\",\"name\":" +
                     JsonQuote(req.node) + "}}";
  HttpResult r = Do("POST", PodPath(req.pod) + "/binding", body);
  st = ToStatus(r);
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
  std::string now = RfcNow();
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
