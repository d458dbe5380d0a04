// A minimal Kubernetes API client over cpp-httplib: authentication from the
// in-cluster service account or a kubeconfig file, plain requests through a
// small connection pool, and line-delimited watch streams. Implements
// ClusterApi (bindings, annotation patches, evictions, deletions, events).
//
// Thread safety: every method may be called concurrently; each request uses
// its own pooled connection.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "apiary/cell/status.h"
#include "apiary/extender/cluster_api.h"

namespace httplib {
class ClientImpl;
}

namespace apiary::extender {

struct KubeConfig {
  std::string server;  // "https://10.0.0.1:443" or "http://127.0.0.1:8080"
  std::string ca_pem;  // trusted CAs; empty = the system's
  bool insecure = false;
  std::string client_cert_pem, client_key_pem;
  std::string token;       // bearer token
  std::string token_file;  // re-read every minute (bound service-account tokens rotate)
  std::string ns;          // the namespace of the context / service account
  std::string source;      // for logs: "in-cluster", "kubeconfig /path", "--master"
};

// The in-cluster service account (KUBERNETES_SERVICE_HOST/PORT and
// /var/run/secrets/kubernetes.io/serviceaccount/{token,ca.crt,namespace}).
// `root` overrides the secrets directory (tests).
cell::Result<KubeConfig> InClusterConfig(
    const std::string& root = "/var/run/secrets/kubernetes.io/serviceaccount");

// A kubeconfig file: its current context (or `context`), cluster server, CA,
// TLS verification and user credentials (token, tokenFile, client
// certificate). exec and auth-provider plugins are not supported and named in
// the error.
cell::Result<KubeConfig> LoadKubeconfig(const std::string& path, const std::string& context = "");

// hived.md 2.1: `master` alone = an unauthenticated address; with a
// kubeconfig it overrides the kubeconfig's server; neither = in-cluster.
cell::Result<KubeConfig> ResolveKubeConfig(const std::string& master, const std::string& kubeconfig);

struct HttpResult {
  int status = 0;      // 0 = no response
  std::string body;
  std::string error;   // transport error when status == 0
};

// The message of a Kubernetes Status body, else the body (truncated).
std::string StatusMessage(const HttpResult& r);

class KubeClient : public ClusterApi {
 public:
  KubeClient(KubeConfig config, std::string user_agent, std::chrono::milliseconds timeout);
  ~KubeClient() override;

  HttpResult Do(const std::string& method, const std::string& path, const std::string& body = "",
                const std::string& content_type = "application/json");

  // GETs `path` and calls `on_line` for every complete line of the response
  // body as it arrives (watch streams). Returns when the server closes the
  // stream, `on_line` returns false, the read times out, or Stop() is called.
  // The HTTP status is in the result; the body is only kept for non-2xx.
  HttpResult Stream(const std::string& path, const std::function<bool(std::string_view)>& on_line,
                    std::chrono::milliseconds read_timeout);

  // Aborts every running Stream and makes later ones return at once.
  void Stop();
  bool stopped() const { return stopped_; }

  const KubeConfig& config() const { return config_; }

  // ClusterApi
  ApiStatus PatchPodAnnotations(const cell::PodRef& pod, const AnnotationPatch& patch) override;
  ApiStatus CreateBinding(const BindingRequest& req) override;
  ApiStatus EvictPod(const cell::PodRef& pod) override;
  ApiStatus DeletePod(const cell::PodRef& pod) override;
  void RecordEvent(const cell::PodRef& pod, const std::string& type, const std::string& reason,
                   const std::string& message) override;

 private:
  std::unique_ptr<httplib::ClientImpl> NewClient(std::chrono::milliseconds read_timeout);
  std::unique_ptr<httplib::ClientImpl> Acquire();
  void Release(std::unique_ptr<httplib::ClientImpl> c);
  std::string Token();

  KubeConfig config_;
  std::string user_agent_;
  std::chrono::milliseconds timeout_;
  std::string scheme_host_port_;
  std::string host_;
  int port_ = 0;
  bool https_ = false;

  std::mutex pool_mu_;
  std::vector<std::unique_ptr<httplib::ClientImpl>> pool_;
  std::set<httplib::ClientImpl*> streams_;
  std::atomic<bool> stopped_{false};

  std::mutex token_mu_;
  std::string token_;
  std::chrono::steady_clock::time_point token_read_{};
};

// "/api/v1/namespaces/<ns>/pods/<name>" with each segment escaped.
std::string PodPath(const cell::PodRef& pod);
std::string PathEscape(std::string_view s);
// Now as a Kubernetes MicroTime: "2024-05-01T10:00:00.123456Z".
std::string KubeMicroTime();

}  // namespace apiary::extender
