#include "apiary/extender/server.h"

#include <httplib.h>

#include <thread>

#include "apiary/extender/json_doc.h"
#include "apiary/extender/log.h"

namespace apiary::extender {

cell::Status ParseListenAddress(const std::string& address, std::string* host, int* port) {
  std::string a = address;
  std::string h, p;
  if (!a.empty() && a[0] == '[') {
    auto close = a.find(']');
    if (close == std::string::npos) return cell::Status::Invalid("listen address " + address + ": unclosed [");
    h = a.substr(1, close - 1);
    if (close + 1 < a.size() && a[close + 1] == ':') p = a.substr(close + 2);
  } else if (auto colon = a.rfind(':'); colon != std::string::npos) {
    h = a.substr(0, colon);
    p = a.substr(colon + 1);
  } else {
    p = a;
  }
  if (p.empty() || p.find_first_not_of("0123456789") != std::string::npos || p.size() > 5)
    return cell::Status::Invalid("listen address " + address + ": expected [host]:port");
  int n = std::stoi(p);
  if (n > 65535) return cell::Status::Invalid("listen address " + address + ": port out of range");
  *host = h.empty() ? "0.0.0.0" : h;
  *port = n;
  return cell::Status::Ok();
}

HttpServer::HttpServer(Extender* extender, ServerOptions options)
    : extender_(extender), options_(std::move(options)) {}

HttpServer::~HttpServer() { Stop(); }

cell::Status HttpServer::Bind() {
  if (!options_.tls_cert_file.empty() || !options_.tls_key_file.empty()) {
    if (options_.tls_cert_file.empty() || options_.tls_key_file.empty())
      return cell::Status::Invalid("TLS needs both --tls-cert-file and --tls-key-file");
    auto ssl = std::make_unique<httplib::SSLServer>(
        options_.tls_cert_file.c_str(), options_.tls_key_file.c_str(),
        options_.tls_client_ca_file.empty() ? nullptr : options_.tls_client_ca_file.c_str());
    if (!ssl->is_valid())
      return cell::Status::Invalid("TLS: cannot load certificate " + options_.tls_cert_file + ", key " +
                                   options_.tls_key_file +
                                   (options_.tls_client_ca_file.empty() ? "" : ", client CA " + options_.tls_client_ca_file));
    server_ = std::move(ssl);
  } else {
    server_ = std::make_unique<httplib::Server>();
  }
  httplib::Server& s = *server_;
  const int threads = std::max(4, options_.threads);
  s.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  s.set_payload_max_length(options_.max_body_bytes);
  s.set_read_timeout(options_.read_timeout_ms / 1000, (options_.read_timeout_ms % 1000) * 1000);
  s.set_write_timeout(options_.write_timeout_ms / 1000, (options_.write_timeout_ms % 1000) * 1000);
  s.set_keep_alive_timeout(options_.idle_timeout_s);
  s.set_keep_alive_max_count(1u << 30);
  s.set_tcp_nodelay(true);

  auto handler = [this](const httplib::Request& req, httplib::Response& res) {
    HttpRequest r;
    r.method = req.method;
    r.path = req.path;
    r.body = req.body;
    HttpResponse out = extender_->Handle(r);
    // The wait throttle (hived.md Q14): outside every lock, this request only.
    if (out.delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(out.delay_ms));
    res.status = out.status;
    for (auto& [k, v] : out.headers) res.set_header(k, v);
    res.set_content(std::move(out.body), out.content_type.c_str());
  };
  // Answers are a few hundred bytes: compressing them (kube-scheduler sends
  // Accept-Encoding: gzip) costs more than it saves, and extender.md allows
  // ignoring the header. cpp-httplib compresses whenever the request asks, so
  // drop the header before routing. (The Request object is not const; the
  // pre-routing hook only sees it through a const reference.)
  s.set_pre_routing_handler([](const httplib::Request& req, httplib::Response&) {
    const_cast<httplib::Request&>(req).headers.erase("Accept-Encoding");
    return httplib::Server::HandlerResponse::Unhandled;
  });
  const char* all = R"(.*)";
  s.Get(all, handler);
  s.Post(all, handler);
  s.Put(all, handler);
  s.Patch(all, handler);
  s.Delete(all, handler);
  s.Options(all, handler);
  size_t max_body = options_.max_body_bytes;
  httplib::Server::HandlerWithResponse on_error = [max_body](const httplib::Request& req,
                                                            httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    std::string msg;
    switch (res.status) {
      case 413: msg = "request body larger than the limit of " + std::to_string(max_body) + " bytes"; break;
      case 414: msg = "request URI too long"; break;
      case 400: msg = "malformed HTTP request (or unsupported method " + req.method + ")"; break;
      case 404: msg = "path " + req.path + " not found"; break;
      default: msg = "HTTP error " + std::to_string(res.status); break;
    }
    res.set_content(JsonQuote("Code: " + std::to_string(res.status) + ", Message: hivedscheduler: User Error: " + msg),
                    "application/json");
    return httplib::Server::HandlerResponse::Handled;
  };
  s.set_error_handler(on_error);
  s.set_exception_handler([](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "unknown exception";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    LogError("http_exception", {{"path", req.path}, {"error", what}});
    res.status = 500;
    res.set_content(JsonQuote("Code: 500, Message: hivedscheduler: Platform Error: " + what), "application/json");
  });

  if (options_.port == 0) {
    port_ = s.bind_to_any_port(options_.host);
    if (port_ <= 0) return cell::Status::Invalid("cannot bind " + options_.host + ":0");
  } else {
    if (!s.bind_to_port(options_.host, options_.port))
      return cell::Status::Invalid("cannot bind " + options_.host + ":" + std::to_string(options_.port) +
                                   " (in use, or not permitted)");
    port_ = options_.port;
  }
  return cell::Status::Ok();
}

bool HttpServer::Listen() {
  if (!server_) return false;
  return server_->listen_after_bind();
}

bool HttpServer::running() const { return server_ && server_->is_running(); }

void HttpServer::Stop() {
  if (server_) server_->stop();
}

}  // namespace apiary::extender
