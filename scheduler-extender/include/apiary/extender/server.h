// The extender's HTTP(S) front door: an asynchronous HTTP/1.1 server
// (Boost.Beast's parser on Boost.Asio) in front of Extender::Handle.
//
// Two listeners, each with its own I/O thread:
// - the scheduling listener (--listen): every path of extender.md 7, TLS and
//   client-certificate auth when configured;
// - the health listener (--health-listen): GET /healthz, /readyz, /metrics,
//   /version and / only, plain HTTP (HTTPS without client certificates with
//   --health-tls), small limits of its own; probes and Prometheus use it, so
//   a flood of the scheduling port does not fail them.
//
// A connection costs a socket and a small session object, not a thread:
// requests are read and parsed on the listener's I/O thread, and a complete
// request is handed to a pool of handler threads (the engine's calls and the
// API server calls of a bind may block; the I/O thread does not wait on I/O).
// Filter and preempt, which only take the engine's lock, are decided on the
// I/O thread itself when that lock is free (ServerOptions::
// decide_on_io_thread): the hand-off there and back costs as much CPU as the
// decision. Limits,
// all enforced on the bytes actually read:
// - a deadline on the whole request (TLS handshake, headers and body), not per
//   read, so one byte a second does not keep a connection;
// - --max-connections per listener; at the cap a new connection takes the
//   place of the longest-idle one (a keep-alive connection between requests
//   or a connection that has sent nothing; one idle for under 100 ms, such as
//   a client that just connected, comes last), else of the request arriving
//   at the lowest rate (bytes per second so far) among those arriving for
//   longer than slow_grace, else of a connection idle for a moment only,
//   else of the younger request arriving at the lowest rate (a request
//   being sent right now is closed for a newcomer only when every other
//   connection is one too); else it is refused;
// - header bytes and header count (431), body bytes as they arrive, chunked or
//   not (413), Content-Encoding / Transfer-Encoding other than identity and
//   chunked refused (415: kube-scheduler never compresses);
// - --max-inflight-bytes over all requests read and not yet answered, a
//   request counting what it has read and, once its header is in, the whole
//   Content-Length it promises (so an admitted request can finish). Requests
//   larger than an eighth of the cap share seven eighths of it: the last
//   eighth is a lane for small requests (kube-scheduler's usual calls). Past
//   the cap, requests arriving for longer than slow_grace are closed, largest
//   first; if that does not make room the new request gets 503.
// Refusals and deadlines are counted in Metrics (apiary_extender_http_*).
//
// Responses keep cpp-httplib's wire format, which earlier versions used:
// HTTP/1.1 status line, headers in case-insensitive name order (Allow,
// Connection: close, Content-Length, Content-Type, Keep-Alive), the body as
// Extender::Handle produced it.
//
// Thread safety: Listen() blocks on one thread; Stop() from any.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "apiary/cell/status.h"
#include "apiary/extender/extender.h"

namespace apiary::extender {

struct ServerOptions {
  std::string host = "0.0.0.0";
  int port = 9096;  // 0 = any free port (see port())
  // Health listener: port -1 = none (health paths only on the scheduling
  // port); 0 = any free port (see health_port()).
  std::string health_host = "0.0.0.0";
  int health_port = -1;
  // health_port was derived from --listen's port (--health-listen auto):
  // a failure to bind it says so.
  bool health_port_auto = false;
  // The health listener speaks HTTPS with tls_cert_file / tls_key_file
  // (which must be set), never asking for a client certificate: kubelet's
  // probes present none.
  bool health_tls = false;
  // TLS: both set = HTTPS. client_ca set = clients must present a
  // certificate signed by it.
  std::string tls_cert_file, tls_key_file, tls_client_ca_file;
  size_t max_body_bytes = 64u << 20;
  // The whole request: TLS handshake (first request), request line, headers
  // and body must arrive within this many milliseconds of its first byte.
  int read_timeout_ms = 10000;
  int write_timeout_ms = 10000;
  int idle_timeout_s = 30;  // keep-alive idle timeout (and for a new connection's first byte)
  int threads = 32;         // handler threads (engine calls, bind API calls)
  // Filter and preempt decided on the I/O thread when the engine's lock is
  // free (Extender::MayHandleOnIoThread); false = always on a handler thread.
  bool decide_on_io_thread = true;
  size_t max_connections = 1024;
  size_t max_inflight_bytes = 256u << 20;
  size_t max_header_bytes = 64u << 10;  // request line + header fields
  size_t max_header_count = 100;
  // Over --max-inflight-bytes, a request still arriving after this long may
  // be closed to make room (kube-scheduler's arrive in microseconds).
  int slow_grace_ms = 500;
};

// "host:port", ":port" or "port" to (host, port); host "" = all interfaces.
cell::Status ParseListenAddress(const std::string& address, std::string* host, int* port);

class HttpServer {
 public:
  HttpServer(Extender* extender, ServerOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds the sockets (so port() and health_port() are known) without
  // serving yet.
  cell::Status Bind();
  // Serves until Stop(). Returns false if it failed to serve.
  bool Listen();
  void Stop();
  bool running() const { return running_.load(); }
  int port() const { return port_; }
  int health_port() const { return health_port_; }  // -1 = no health listener

  class Impl;

 private:
  Extender* extender_;
  ServerOptions options_;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
  int health_port_ = -1;
  std::atomic<bool> running_{false};
  std::atomic<bool> stop_requested_{false};
};

}  // namespace apiary::extender
