// A small fake Kubernetes API server for the extender's tests: pods, nodes,
// events and coordination.k8s.io Leases in memory, speaking the real JSON
// (lists with resourceVersion, watches as chunked streams of watch events,
// 410 Gone for compacted history, the binding / eviction subresources, JSON
// merge patches, UID preconditions, optimistic concurrency on leases) and
// enough discovery (/api, /apis, /api/v1, /version) for kubectl.
//
// Test hooks under /fake/: compact the watch history (the next watch from an
// old resourceVersion gets 410), inject failures on a path, close every
// watch, and count requests. Optionally (RequireBearerToken) requests must
// carry a given bearer token, and (EnableTls) the server speaks HTTPS and can
// require client certificates.
//
// Thread safety: all methods may be called concurrently.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

namespace httplib {
class Server;
}

namespace apiary::testing {

class FakeApiServer {
 public:
  using Json = nlohmann::ordered_json;

  FakeApiServer();
  ~FakeApiServer();

  // Serve HTTPS with this certificate chain and key (PEM files) instead of
  // plain HTTP. With a `client_ca_file`, client certificates are asked for
  // (never required by the handshake, as kube-apiserver does) and a request
  // is then authenticated by one that verifies against that CA, or by the
  // bearer token of RequireBearerToken; otherwise it gets 401. Call before
  // Start.
  void EnableTls(std::string cert_file, std::string key_file, std::string client_ca_file = "");
  // Binds 127.0.0.1:port (0 = any) and serves on a background thread.
  // Returns the port, or -1 (also when the TLS files cannot be loaded).
  int Start(int port = 0, const std::string& host = "127.0.0.1");
  void Stop();
  int port() const { return port_; }

  // In-process access (the same operations as over HTTP).
  Json CreatePod(Json pod);   // fills uid, resourceVersion, creationTimestamp
  Json CreateNode(Json node);
  bool DeletePod(const std::string& ns, const std::string& name);
  Json GetPod(const std::string& ns, const std::string& name);  // null when absent
  std::vector<Json> Pods();
  void SetNodeReady(const std::string& name, bool ready);
  // Drops the watch history: watches from older resourceVersions get 410.
  void Compact();
  // Closes every open watch stream (clients must reconnect).
  void CloseWatches();
  // The next `count` requests whose "METHOD path" contains `match` answer
  // `code` with a Status body; its message padded with `pad_bytes` more
  // bytes (an oversized answer).
  void InjectFailure(const std::string& match, int code, int count, size_t pad_bytes = 0);
  int64_t RequestCount(const std::string& match);
  // Authentication (off by default: every request is accepted). With a
  // non-empty `token`, requests other than the /fake/ hooks must carry
  // "Authorization: Bearer <token>", else they get 401 Unauthorized; "" turns
  // the check off again.
  void RequireBearerToken(const std::string& token);
  // The bearer token of every request so far, in order ("" = none).
  std::vector<std::string> BearerTokens();
  // The client certificate of every request so far: its CN when it verified
  // against the client CA, "unverified:<CN>" when not, "" for none.
  std::vector<std::string> ClientCertificates();

 private:
  struct Event {
    int64_t rv;
    std::string resource;  // "pods", "nodes", "leases"
    std::string type;      // ADDED, MODIFIED, DELETED
    std::string ns;        // metadata.namespace of the object
    // The watch line, serialized once when the event is recorded and shared
    // by every watcher.
    std::shared_ptr<const std::string> line;
  };
  struct Failure {
    std::string match;
    int code;
    int count;
    size_t pad_bytes = 0;
  };

  std::string NextRv();  // under mu_
  // Records a watch event (under mu_); returns the object as the API
  // serializes it (with kind and apiVersion), for the reply.
  std::shared_ptr<const std::string> Emit(const std::string& resource, const std::string& type,
                                          const Json& obj);
  void Routes();

  std::unique_ptr<httplib::Server> server_;
  std::string tls_cert_, tls_key_, tls_client_ca_;  // tls_cert_ empty: plain HTTP
  std::thread thread_;
  int port_ = -1;

  std::mutex mu_;
  std::condition_variable cv_;
  int64_t rv_ = 100;
  int64_t uid_seq_ = 0;
  std::map<std::string, Json> pods_;    // ns/name
  std::map<std::string, Json> nodes_;   // name
  std::map<std::string, Json> leases_;  // ns/name
  std::vector<Json> events_;
  std::deque<Event> history_;
  int64_t compacted_rv_ = 0;  // watches from rv < this get 410
  uint64_t watch_epoch_ = 0;  // CloseWatches bumps it
  bool stopping_ = false;
  std::vector<Failure> failures_;
  std::vector<std::string> request_log_;
  std::string required_token_;             // "" = no authentication
  std::vector<std::string> bearer_tokens_;  // one per request
  std::vector<std::string> client_certs_;   // one per request
};

}  // namespace apiary::testing
