// A minimal Kubernetes API client over cpp-httplib: authentication from the
// in-cluster service account or a kubeconfig file (token, token file, client
// certificate, or an exec credential plugin whose token or client
// certificate is cached until it expires or the API server answers 401),
// plain requests through a small
// connection pool, and line-delimited watch streams. Implements ClusterApi
// (bindings, annotation patches, evictions, deletions, events).
//
// Thread safety: every method may be called concurrently; each request uses
// its own pooled connection. Requests that need a new exec credential wait
// for one plugin run (at most ExecConfig::timeout).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "apiary/cell/status.h"
#include "apiary/extender/cluster_api.h"

namespace httplib {
class ClientImpl;
}

namespace apiary::extender {

// A kubeconfig `users[].user.exec` credential plugin (client-go's
// ExecCredential protocol, client.authentication.k8s.io/v1 and v1beta1).
// The plugin runs without a shell, never interactively, with stdin from
// /dev/null and KUBERNETES_EXEC_INFO set; its stdout is an ExecCredential
// whose status.token becomes the bearer token and/or whose
// status.clientCertificateData + clientKeyData (PEM) become the TLS client
// certificate of new connections.
struct ExecConfig {
  std::string user;         // the kubeconfig user, for messages
  std::string command;      // a bare name (looked up in PATH) or a path (made
                            // absolute against the kubeconfig's directory)
  std::vector<std::string> args;
  std::vector<std::pair<std::string, std::string>> env;  // added to the process environment
  std::string api_version;  // client.authentication.k8s.io/v1 or /v1beta1
  std::string install_hint; // shown when the command cannot be run
  bool provide_cluster_info = false;  // spec.cluster in KUBERNETES_EXEC_INFO
  std::chrono::milliseconds timeout{30000};  // then the plugin (its process group) is killed
  size_t max_output_bytes = 1 << 20;         // larger stdout is an error
  // After a failed run, requests go without a token (and get 401) for this
  // long before the plugin is run again.
  std::chrono::milliseconds failure_backoff{5000};
};

struct KubeConfig {
  std::string server;  // "https://10.0.0.1:443" or "http://127.0.0.1:8080"
  std::string ca_pem;  // trusted CAs; empty = the system's
  bool insecure = false;
  std::string client_cert_pem, client_key_pem;
  std::string token;       // bearer token
  std::string token_file;  // re-read every minute (bound service-account tokens rotate)
  // A credential plugin (kubeconfig only; exclusive with token/token_file).
  // Its token is cached until a little before its expirationTimestamp or,
  // without one, until the API server answers 401.
  std::optional<ExecConfig> exec;
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
// certificate, exec credential plugin). Errors name the file and the field.
// auth-provider plugins are not supported (named in the error), nor are exec
// plugins with apiVersion v1alpha1 or interactiveMode Always.
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

struct ExecCredential {
  std::string token;  // may be empty when a client certificate is given
  std::string client_cert_pem, client_key_pem;  // both or neither
  // status.expirationTimestamp; nullopt = valid until the API server says 401.
  std::optional<std::chrono::system_clock::time_point> expiry;
};

// Runs `config.exec` once (see ExecConfig) and decodes its ExecCredential.
// Blocks for at most exec->timeout (less when `cancel` becomes true); the
// child is always reaped. Errors name
// the kubeconfig user and say what went wrong: the command not found (with
// the install hint), a non-zero exit (with the trimmed stderr), a timeout,
// output that is not an ExecCredential of the configured apiVersion, neither
// status.token nor a client certificate, a certificate without its key (or
// the other way round), PEM that does not parse or a key that does not match
// the certificate, an unparsable status.expirationTimestamp.
cell::Result<ExecCredential> RunExecPlugin(const KubeConfig& config,
                                           const std::atomic<bool>* cancel = nullptr);

// A TLS client identity (PEM); `gen` tells identities apart, so pooled
// connections made with an older one are not reused.
struct ClientIdentity {
  std::string cert_pem, key_pem;
  uint64_t gen = 0;
};

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
  // `on_open`, if set, is called with the status once the response headers
  // are in (the stream is open).
  HttpResult Stream(const std::string& path, const std::function<bool(std::string_view)>& on_line,
                    std::chrono::milliseconds read_timeout, const std::function<void(int)>& on_open = {});

  // Bounds on what the API server may send (issue #16, the client side): a
  // response body larger than `response_bytes` (a list page, or the object
  // a POST, PUT, PATCH or DELETE answers with) and a watch event (one line)
  // larger than `event_bytes` end the call with an error naming the method,
  // the path and the limit instead of growing memory without end. Defaults
  // 256 MiB and 16 MiB (Kubernetes caps one object at about 1.5 MiB in etcd
  // and list pages at 500 items here). Set before use.
  void SetResponseLimits(size_t response_bytes, size_t event_bytes) {
    max_response_bytes_ = response_bytes;
    max_event_bytes_ = event_bytes;
  }

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
  // What a request authenticates with.
  struct Credential {
    std::string token;  // "" = no Authorization header
    std::shared_ptr<const ClientIdentity> identity;  // null = no client certificate
    uint64_t exec_seq = 0;  // the exec plugin run it came from; 0 = none
  };
  std::unique_ptr<httplib::ClientImpl> NewClient(std::chrono::milliseconds read_timeout,
                                                 const ClientIdentity* identity);
  std::unique_ptr<httplib::ClientImpl> Acquire(const Credential& cred);
  void Release(std::unique_ptr<httplib::ClientImpl> c, const Credential& cred);
  Credential Credentials();
  void RefreshExec();  // under token_mu_
  // After a 401: forget the exec credential of run `exec_seq` (unless it has
  // been replaced already).
  void Unauthorized(uint64_t exec_seq);

  KubeConfig config_;
  std::string user_agent_;
  std::chrono::milliseconds timeout_;
  size_t max_response_bytes_ = 256u << 20;
  size_t max_event_bytes_ = 16u << 20;
  std::string scheme_host_port_;
  std::string host_;
  int port_ = 0;
  bool https_ = false;
  // The configured CA as a file (an anonymous memfd): see the constructor.
  int ca_fd_ = -1;
  std::string ca_path_;

  std::mutex pool_mu_;
  // Idle keep-alive connections with the identity generation they were made
  // with.
  std::vector<std::pair<uint64_t, std::unique_ptr<httplib::ClientImpl>>> pool_;
  std::set<httplib::ClientImpl*> streams_;
  std::atomic<bool> stopped_{false};

  // Held while a token file is read or an exec plugin runs: other requests
  // wait for the same credential instead of running the plugin again.
  std::mutex token_mu_;
  std::string token_;
  std::chrono::steady_clock::time_point token_read_{};
  // Exec plugins: the cached token is used until token_refresh_ (max() = no
  // expiry), then the plugin runs again; if that fails, the old token is
  // used until token_expiry_ and the plugin is not rerun before exec_retry_.
  bool exec_valid_ = false;
  std::chrono::steady_clock::time_point token_refresh_{};
  std::chrono::steady_clock::time_point token_expiry_{};  // the old token is kept until then
  std::chrono::steady_clock::time_point exec_retry_{};
  uint64_t exec_seq_ = 0;  // successful plugin runs
  // The kubeconfig's client certificate, or the exec plugin's latest one.
  std::shared_ptr<const ClientIdentity> identity_;
};

// "/api/v1/namespaces/<ns>/pods/<name>" with each segment escaped.
std::string PodPath(const cell::PodRef& pod);
std::string PathEscape(std::string_view s);
// Now as a Kubernetes MicroTime: "2024-05-01T10:00:00.123456Z".
std::string KubeMicroTime();

}  // namespace apiary::extender
