// The extender's HTTP(S) server: cpp-httplib in front of Extender::Handle.
// Every method and path goes to Extender::Handle; errors httplib produces
// itself (oversized body 413, bad request line 400, URI too long 414) get a
// JSON string body naming the problem. Keep-alive connections are served for
// as long as kube-scheduler keeps them (extender.md 2).
//
// Thread safety: Listen() blocks on one thread; Stop() from any.
#pragma once

#include <memory>
#include <string>

#include "apiary/cell/status.h"
#include "apiary/extender/extender.h"

namespace httplib {
class Server;
}

namespace apiary::extender {

struct ServerOptions {
  std::string host = "0.0.0.0";
  int port = 9096;  // 0 = any free port (see port())
  // TLS: both set = HTTPS. client_ca set = clients must present a
  // certificate signed by it.
  std::string tls_cert_file, tls_key_file, tls_client_ca_file;
  size_t max_body_bytes = 64u << 20;
  int read_timeout_ms = 10000;
  int write_timeout_ms = 10000;
  int idle_timeout_s = 30;  // keep-alive idle timeout (an idle connection holds a thread)
  int threads = 128;        // one per concurrent connection
};

// "host:port", ":port" or "port" to (host, port); host "" = all interfaces.
cell::Status ParseListenAddress(const std::string& address, std::string* host, int* port);

class HttpServer {
 public:
  HttpServer(Extender* extender, ServerOptions options);
  ~HttpServer();

  // Binds the socket (so port() is known) without serving yet.
  cell::Status Bind();
  // Serves until Stop(). Returns false if it failed to serve.
  bool Listen();
  void Stop();
  bool running() const;
  int port() const { return port_; }

 private:
  Extender* extender_;
  ServerOptions options_;
  std::unique_ptr<httplib::Server> server_;
  int port_ = 0;
};

}  // namespace apiary::extender
