// The Kubernetes client's transport (kube_client.h): credentials (token
// file, exec plugin, client certificate), a pool of keep-alive connections,
// bounded requests and watch streams. The calls of the ClusterApi are in
// cluster_api.cc, where the settings come from in kubeconfig.cc.
#include "apiary/extender/kube_client.h"

#include <httplib.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <ctime>

#include "apiary/extender/json_doc.h"
#include "apiary/extender/log.h"
#include "apiary/wire/inspect_json.h"
#include "kube_internal.h"

namespace apiary::extender {

using kube_internal::FreeAll;
using kube_internal::ReadFile;
using kube_internal::ReadPemCertificates;
using kube_internal::ReadPemKey;
using kube_internal::Trim;

std::string StatusMessage(const HttpResult& r) {
  if (r.status == 0 || !r.error.empty()) return r.error;  // (a 2xx stream can end in an error)
  auto doc = JsonDoc::Parse(r.body);
  if (doc.ok()) {
    JsonRef m = doc->root().Find("message");
    if (m.IsString()) return std::string(m.str());
  }
  std::string b = r.body.substr(0, 512);
  return b.empty() ? "HTTP " + std::to_string(r.status) : b;
}

namespace {

// cpp-httplib's name for a failed request, with what an operator checks.
std::string TransportError(httplib::Error e, bool https) {
  std::string m = httplib::to_string(e);
  if (e == httplib::Error::SSLServerVerification)
    m += " (the API server's certificate is not signed by the configured certificate authority, or does not "
         "name the server's host; check certificate-authority(-data) and server)";
  else if (e == httplib::Error::SSLConnection)
    m += " (TLS handshake failed: the server does not speak TLS there, or a proxy in front of it refused "
         "this client's certificate)";
  else if ((e == httplib::Error::Read || e == httplib::Error::Write) && https)
    m += " (the connection was closed, or no answer came within the timeout)";
  return m;
}

}  // namespace

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
  if (https_ && !config_.ca_pem.empty() && !config_.insecure) {
    // cpp-httplib adds the system's CAs to an in-memory CA store it is given,
    // but trusts only the file when given a CA file; kubectl trusts only the
    // configured CA. So the CA goes into an anonymous in-memory file, read
    // through /proc/self/fd by every new connection.
    ca_fd_ = memfd_create("apiary-api-ca", MFD_CLOEXEC);
    if (ca_fd_ >= 0) {
      size_t done = 0;
      while (done < config_.ca_pem.size()) {
        ssize_t n = write(ca_fd_, config_.ca_pem.data() + done, config_.ca_pem.size() - done);
        if (n <= 0) break;
        done += static_cast<size_t>(n);
      }
      if (done == config_.ca_pem.size()) {
        ca_path_ = "/proc/self/fd/" + std::to_string(ca_fd_);
      } else {
        close(ca_fd_);
        ca_fd_ = -1;
      }
    }
    if (ca_path_.empty())
      LogWarn("ca_file_unavailable", {{"source", config_.source},
                                      {"detail", "memfd_create failed; the system's CAs are trusted too"}});
  }
  if (!config_.client_cert_pem.empty() && !config_.client_key_pem.empty())
    identity_ = std::make_shared<const ClientIdentity>(
        ClientIdentity{config_.client_cert_pem, config_.client_key_pem, /*gen=*/0});
}

KubeClient::~KubeClient() {
  Stop();
  // Pooled connections read the CA file only when they connect; none is
  // left now.
  pool_.clear();
  if (ca_fd_ >= 0) close(ca_fd_);
}

KubeClient::Credential KubeClient::Credentials() {
  Credential c;
  if (config_.exec) {
    std::lock_guard lock(token_mu_);
    RefreshExec();
    c.token = token_;
    c.identity = identity_;
    c.exec_seq = exec_valid_ ? exec_seq_ : 0;
    return c;
  }
  c.identity = identity_;  // fixed for the client's life without a plugin
  if (config_.token_file.empty()) {
    c.token = config_.token;
    return c;
  }
  std::lock_guard lock(token_mu_);
  auto now = std::chrono::steady_clock::now();
  if (token_.empty() || now - token_read_ > std::chrono::minutes(1)) {
    auto t = ReadFile(config_.token_file);
    if (t.ok()) token_ = Trim(*t);
    else LogWarn("token_read_failed", {{"file", config_.token_file}, {"error", t.status().message()}});
    token_read_ = now;
  }
  c.token = token_;
  return c;
}

void KubeClient::RefreshExec() {
  const ExecConfig& e = *config_.exec;
  auto now = std::chrono::steady_clock::now();
  if (exec_valid_ && now >= token_expiry_) {
    exec_valid_ = false;
    token_.clear();
    identity_.reset();
  }
  if (exec_valid_ && now < token_refresh_) return;
  // Expired, about to expire, rejected with 401, or never fetched. After a
  // failure, wait out the backoff (with the old credential while it is valid).
  if (now < exec_retry_) return;
  auto cred = RunExecPlugin(config_, &stopped_);
  now = std::chrono::steady_clock::now();
  if (!cred.ok()) {
    LogError("exec_credential_failed",
             {{"source", config_.source}, {"user", e.user}, {"error", cred.status().message()}});
    exec_retry_ = now + e.failure_backoff;
    return;
  }
  token_ = std::move(cred->token);
  if (cred->client_cert_pem.empty()) {
    identity_.reset();
  } else if (!identity_ || identity_->cert_pem != cred->client_cert_pem || identity_->key_pem != cred->client_key_pem) {
    // A new identity: pooled connections made with the old one are dropped.
    identity_ = std::make_shared<const ClientIdentity>(
        ClientIdentity{std::move(cred->client_cert_pem), std::move(cred->client_key_pem), exec_seq_ + 1});
    if (!https_)
      LogWarn("exec_client_certificate_unused",
              {{"source", config_.source}, {"user", e.user}, {"detail", "the API server address is not https"}});
  }
  exec_valid_ = true;
  ++exec_seq_;
  exec_retry_ = {};
  std::string expires = "never (until the API server answers 401)";
  if (cred->expiry) {
    // Refresh a little before the expiry: a fifth of the lifetime, at most 10 s.
    auto left = std::chrono::duration_cast<std::chrono::steady_clock::duration>(*cred->expiry -
                                                                                std::chrono::system_clock::now());
    if (left.count() < 0) left = left.zero();
    auto margin = std::min<std::chrono::steady_clock::duration>(std::chrono::seconds(10), left / 5);
    token_expiry_ = now + left;
    token_refresh_ = token_expiry_ - margin;
    expires = wire::FormatRfc3339(std::chrono::system_clock::to_time_t(*cred->expiry));
  } else {
    token_expiry_ = token_refresh_ = std::chrono::steady_clock::time_point::max();
  }
  std::string kind = token_.empty() ? "client certificate" : identity_ ? "token and client certificate" : "token";
  LogInfo("exec_credential", {{"source", config_.source}, {"user", e.user}, {"kind", kind}, {"expires", expires}});
}

void KubeClient::Unauthorized(uint64_t exec_seq) {
  if (!config_.exec || exec_seq == 0) return;
  std::lock_guard lock(token_mu_);
  if (!exec_valid_ || exec_seq_ != exec_seq) return;  // already replaced
  exec_valid_ = false;
  token_.clear();
  identity_.reset();
  LogWarn("exec_credential_rejected", {{"source", config_.source}, {"user", config_.exec->user}});
}

std::unique_ptr<httplib::ClientImpl> KubeClient::NewClient(std::chrono::milliseconds read_timeout,
                                                           const ClientIdentity* identity) {
  std::unique_ptr<httplib::ClientImpl> c;
  if (https_) {
    // The client certificate (checked when loaded from the kubeconfig or
    // received from the exec plugin), then any intermediates.
    std::vector<X509*> certs;
    EVP_PKEY* key = nullptr;
    if (identity) {
      certs = ReadPemCertificates(identity->cert_pem);
      key = ReadPemKey(identity->key_pem);
      ERR_clear_error();
      if (certs.empty() || !key) LogError("client_certificate_unreadable", {{"source", config_.source}});
    }
    auto ssl = std::make_unique<httplib::SSLClient>(host_, port_, certs.empty() ? nullptr : certs[0], key);
    // The whole chain is sent, as client-go does (the context takes its own
    // references).
    for (size_t i = 1; i < certs.size(); ++i) SSL_CTX_add1_chain_cert(ssl->ssl_context(), certs[i]);
    FreeAll(certs);
    if (key) EVP_PKEY_free(key);
    if (!ca_path_.empty()) {
      ssl->set_ca_cert_path(ca_path_.c_str());
    } else if (!config_.ca_pem.empty()) {
      X509_STORE* store = X509_STORE_new();
      std::vector<X509*> cas = ReadPemCertificates(config_.ca_pem);
      for (X509* ca : cas) X509_STORE_add_cert(store, ca);
      FreeAll(cas);
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

std::unique_ptr<httplib::ClientImpl> KubeClient::Acquire(const Credential& cred) {
  const uint64_t gen = cred.identity ? cred.identity->gen : 0;
  std::vector<std::unique_ptr<httplib::ClientImpl>> stale;  // closed outside the lock
  {
    std::lock_guard lock(pool_mu_);
    // Exec identities get increasing generations (0: none, or the
    // kubeconfig's fixed one). A connection of an older identity is stale;
    // one of a newer identity belongs to requests that already hold the
    // newer credential and is left for them.
    for (size_t i = pool_.size(); i-- > 0;) {
      const uint64_t g = pool_[i].first;
      if (g == gen) {
        auto c = std::move(pool_[i].second);
        pool_.erase(pool_.begin() + static_cast<std::ptrdiff_t>(i));
        return c;
      }
      if (g < gen || gen == 0) {
        stale.push_back(std::move(pool_[i].second));
        pool_.erase(pool_.begin() + static_cast<std::ptrdiff_t>(i));
      }
    }
  }
  return NewClient(timeout_, cred.identity.get());
}

void KubeClient::Release(std::unique_ptr<httplib::ClientImpl> c, const Credential& cred) {
  std::lock_guard lock(pool_mu_);
  if (pool_.size() < 16) pool_.emplace_back(cred.identity ? cred.identity->gen : 0, std::move(c));
}

HttpResult KubeClient::Do(const std::string& method, const std::string& path, const std::string& body,
                          const std::string& content_type) {
  const Credential cred = Credentials();
  auto c = Acquire(cred);
  httplib::Headers headers = {{"User-Agent", user_agent_}, {"Accept", "application/json"}};
  if (!cred.token.empty()) headers.emplace("Authorization", "Bearer " + cred.token);
  // Every answer is read into a bounded body instead of httplib's, whatever
  // the method: a list page, and also the object a POST, PATCH or DELETE
  // echoes back (issue #16, the client side).
  httplib::Request req;
  req.method = method;
  req.path = path;
  req.headers = std::move(headers);
  if (method != "GET") {
    if (!content_type.empty()) req.headers.emplace("Content-Type", content_type);
    req.body = body;
  }
  HttpResult out;
  bool too_large = false;
  req.content_receiver = [&](const char* data, size_t len, uint64_t, uint64_t) {
    if (out.body.size() + len > max_response_bytes_) {
      too_large = true;
      return false;
    }
    out.body.append(data, len);
    return true;
  };
  httplib::Result r(nullptr, httplib::Error::Unknown);
  if (method == "GET" || method == "POST" || method == "PUT" || method == "PATCH" || method == "DELETE")
    r = c->send(req);
  if (too_large) {
    out.body.clear();
    out.error = method + " " + path + ": response larger than the limit of " + std::to_string(max_response_bytes_) +
                " bytes";
    return out;  // the connection is mid-body: not pooled
  }
  if (!r) {
    out.error = method + " " + path + ": " + TransportError(r.error(), https_);
    // The connection may be broken; do not pool it.
    return out;
  }
  out.status = r->status;
  Release(std::move(c), cred);
  if (out.status == 401) Unauthorized(cred.exec_seq);
  return out;
}

HttpResult KubeClient::Stream(const std::string& path,
                              const std::function<bool(std::string_view)>& on_line,
                              std::chrono::milliseconds read_timeout, const std::function<void(int)>& on_open) {
  HttpResult out;
  const Credential cred = Credentials();
  auto c = NewClient(read_timeout, cred.identity.get());
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
  if (!cred.token.empty()) headers.emplace("Authorization", "Bearer " + cred.token);
  std::string buffer;
  bool ok_status = false;
  auto r = c->Get(
      path.c_str(), headers,
      [&](const httplib::Response& resp) {
        out.status = resp.status;
        ok_status = resp.status >= 200 && resp.status < 300;
        if (on_open) on_open(resp.status);
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
        if (buffer.size() > max_event_bytes_) {
          out.error = "watch event larger than the limit of " + std::to_string(max_event_bytes_) + " bytes";
          buffer.clear();
          return false;
        }
        return true;
      });
  {
    std::lock_guard lock(pool_mu_);
    streams_.erase(c.get());
  }
  if (!r && out.status == 0 && out.error.empty()) out.error = TransportError(r.error(), https_);
  if (out.status == 401) Unauthorized(cred.exec_seq);
  if (ok_status && !buffer.empty()) on_line(buffer);  // a final line without '\n'
  return out;
}

void KubeClient::Stop() {
  std::lock_guard lock(pool_mu_);
  stopped_ = true;
  for (auto* c : streams_) c->stop();
}

}  // namespace apiary::extender
