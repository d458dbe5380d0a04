#include "apiary/extender/server.h"

#include <sys/resource.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/status.hpp>
#include <cctype>
#include <list>
#include <optional>
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

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;
using beast::error_code;

// One read from a socket. Small, so that a connection's buffer stays small;
// bodies are appended to the request as they are parsed.
constexpr size_t kReadSize = 16u << 10;
// How often deadlines are checked (one timer per listener, not per request).
constexpr auto kSweepInterval = std::chrono::milliseconds(100);
// After a refusal the rest of the request is read and dropped for a moment
// before closing, so that the client (still sending) sees the answer rather
// than a reset.
constexpr auto kLingerTime = std::chrono::seconds(1);
constexpr size_t kLingerBytes = 8u << 20;
// At the connection cap, an idle connection younger than this is closed only
// after the idle ones and the slow requests.
constexpr auto kFreshGrace = std::chrono::milliseconds(100);

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

bool ILess(const std::string& a, const std::string& b) {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) < std::tolower(static_cast<unsigned char>(y));
  });
}

std::string_view Trim(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

// Every comma-separated token of a Content-Encoding or Transfer-Encoding
// value is one we take as it is (no decompression here).
bool PlainCodings(std::string_view value, bool transfer) {
  while (!value.empty()) {
    size_t comma = value.find(',');
    std::string_view token = Trim(value.substr(0, comma));
    if (auto semi = token.find(';'); semi != std::string_view::npos) token = Trim(token.substr(0, semi));
    if (!token.empty() && !IEquals(token, "identity") && !(transfer && IEquals(token, "chunked"))) return false;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return true;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The request target's path, without the query, %XX decoded (as
// cpp-httplib gave it to Extender::Handle).
std::string DecodePath(std::string_view target) {
  target = target.substr(0, target.find('?'));
  std::string out;
  out.reserve(target.size());
  for (size_t i = 0; i < target.size(); ++i) {
    if (target[i] == '%' && i + 2 < target.size()) {
      int hi = HexValue(target[i + 1]), lo = HexValue(target[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(target[i]);
  }
  return out;
}

// A request parser that keeps only what Extender::Handle needs (method, path,
// body) and enforces the limits that Beast's own parser does not: the number
// of header fields, and the codings. Header bytes and body bytes (chunked or
// not) are limited by basic_parser itself (header_limit, body_limit).
class RequestParser final : public http::basic_parser<true> {
 public:
  enum class Refusal { kNone, kHeaderCount, kEncoding };

  RequestParser(size_t max_header_bytes, size_t max_header_count, size_t max_body)
      : max_header_count_(max_header_count), max_body_(max_body) {
    header_limit(static_cast<std::uint32_t>(std::min<size_t>(max_header_bytes, UINT32_MAX)));
    body_limit(static_cast<std::uint64_t>(max_body));
    eager(true);
  }

  std::string method, target, body;
  bool expect_continue = false;
  Refusal refusal = Refusal::kNone;

 private:
  void on_request_impl(http::verb, beast::string_view method_str, beast::string_view target_str, int,
                       error_code&) override {
    method.assign(method_str.data(), method_str.size());
    target.assign(target_str.data(), target_str.size());
  }
  void on_response_impl(int, beast::string_view, int, error_code& ec) override { ec = http::error::bad_version; }
  void on_field_impl(http::field name, beast::string_view, beast::string_view value, error_code& ec) override {
    if (++fields_ > max_header_count_) {
      refusal = Refusal::kHeaderCount;
      ec = http::error::header_limit;
      return;
    }
    std::string_view v(value.data(), value.size());
    if ((name == http::field::content_encoding && !PlainCodings(v, false)) ||
        (name == http::field::transfer_encoding && !PlainCodings(v, true))) {
      refusal = Refusal::kEncoding;
      ec = http::error::bad_transfer_encoding;
      return;
    }
    if (name == http::field::expect && IEquals(Trim(v), "100-continue")) expect_continue = true;
  }
  void on_header_impl(error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>& length, error_code&) override {
    // Address space only: pages are touched (and count) as bytes arrive.
    if (length && *length <= max_body_) body.reserve(static_cast<size_t>(*length));
  }
  std::size_t on_body_impl(beast::string_view data, error_code&) override {
    body.append(data.data(), data.size());
    return data.size();
  }
  void on_chunk_header_impl(std::uint64_t, beast::string_view, error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view data, error_code&) override {
    body.append(data.data(), data.size());
    return data.size();
  }
  void on_finish_impl(error_code&) override {}

  size_t fields_ = 0;
  size_t max_header_count_;
  size_t max_body_;
};

// The response bytes in cpp-httplib's layout (see server.h).
std::string Serialize(const HttpResponse& r, bool head, bool keep_alive, int idle_timeout_s) {
  std::vector<std::pair<std::string, std::string>> headers = r.headers;
  if (!keep_alive) headers.emplace_back("Connection", "close");
  headers.emplace_back("Content-Length", std::to_string(r.body.size()));
  if (!r.content_type.empty()) headers.emplace_back("Content-Type", r.content_type);
  if (keep_alive) headers.emplace_back("Keep-Alive", "timeout=" + std::to_string(idle_timeout_s) + ", max=1073741824");
  std::stable_sort(headers.begin(), headers.end(), [](const auto& a, const auto& b) { return ILess(a.first, b.first); });
  std::string out;
  out.reserve(128 + (head ? 0 : r.body.size()));
  out += "HTTP/1.1 ";
  out += std::to_string(r.status);
  out += ' ';
  beast::string_view reason = http::obsolete_reason(http::int_to_status(static_cast<unsigned>(r.status)));
  out.append(reason.data(), reason.size());
  out += "\r\n";
  for (const auto& [k, v] : headers) {
    out += k;
    out += ": ";
    out += v;
    out += "\r\n";
  }
  out += "\r\n";
  if (!head) out += r.body;
  return out;
}

HttpResponse ErrorResponse(int status, const std::string& message) {
  HttpResponse r;
  r.status = status;
  r.body = JsonQuote("Code: " + std::to_string(status) + ", Message: hivedscheduler: User Error: " + message);
  return r;
}

struct ListenerConfig {
  HttpListener which = HttpListener::kScheduling;
  size_t max_connections = 1024;
  size_t max_inflight_bytes = 256u << 20;
  size_t max_header_bytes = 64u << 10;
  size_t max_header_count = 100;
  size_t max_body_bytes = 64u << 20;
  std::chrono::milliseconds request_timeout{10000};
  std::chrono::milliseconds write_timeout{10000};
  std::chrono::milliseconds idle_timeout{30000};
  std::chrono::milliseconds slow_grace{1000};
  bool health_only = false;  // serve only the health paths
  bool decide_on_io_thread = false;  // ServerOptions::decide_on_io_thread
};

class Listener;

// One connection. Lives on its listener's I/O thread except while its
// request is with a handler thread (state kHandling), when only the handler
// touches request_ and nothing else touches it.
class Session : public std::enable_shared_from_this<Session> {
 public:
  enum class State { kIdle, kReading, kHandling, kWriting, kLinger, kClosed };
  explicit Session(Listener& listener) : listener_(listener) {}
  virtual ~Session() = default;
  virtual void Start() = 0;
  // Closes the socket now (pending operations end with an error).
  virtual void Close() = 0;

  State state = State::kIdle;
  bool served_one = false;  // kIdle: between requests (vs. before the first)
  SteadyClock::time_point since{}, deadline{};
  size_t reserved = 0;  // request bytes counted in the listener's in-flight total
  size_t read = 0;      // bytes of the current request read so far
  std::list<Session*>::iterator position;

 protected:
  Listener& listener_;
};

class Listener {
 public:
  Listener(Extender* extender, ListenerConfig config, asio::ssl::context* tls, asio::thread_pool* pool)
      : extender_(extender), config_(config), tls_(tls), pool_(pool), io_(std::make_unique<asio::io_context>(1)),
        acceptor_(std::make_unique<tcp::acceptor>(*io_)), sweep_(std::make_unique<asio::steady_timer>(*io_)),
        retry_(std::make_unique<asio::steady_timer>(*io_)) {}
  ~Listener() {
    sessions_.clear();
    retry_.reset();
    sweep_.reset();
    acceptor_.reset();
    io_.reset();  // destroys pending handlers (and the sessions they hold)
  }

  cell::Status Bind(const std::string& host, int port, int* bound_port) {
    error_code ec;
    auto address = asio::ip::make_address(host, ec);
    if (ec) return cell::Status::Invalid("listen address " + host + ": " + ec.message());
    tcp::endpoint endpoint(address, static_cast<uint16_t>(port));
    acceptor_->open(endpoint.protocol(), ec);
    if (!ec) acceptor_->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_->bind(endpoint, ec);
    if (!ec) acceptor_->listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
      return cell::Status::Invalid("cannot bind " + host + ":" + std::to_string(port) + " (" + ec.message() + ")");
    *bound_port = acceptor_->local_endpoint().port();
    return cell::Status::Ok();
  }

  void Run() {
    Accept();
    Sweep();
    io_->run();
  }
  // From any thread: stop accepting, close every connection, return from Run.
  void Stop() {
    asio::post(*io_, [this] {
      error_code ec;
      acceptor_->close(ec);
      sweep_->cancel();
      retry_->cancel();
      for (auto it = sessions_.begin(); it != sessions_.end();) (*it++)->Close();
      io_->stop();
    });
  }

  asio::io_context& io() { return *io_; }
  Extender* extender() const { return extender_; }
  const ListenerConfig& config() const { return config_; }
  asio::thread_pool* pool() const { return pool_; }
  Metrics& metrics() { return extender_->metrics(); }
  void Count(HttpEvent e) { metrics().CountHttp(config_.which, e); }

  void Add(Session* s) {
    s->position = sessions_.insert(sessions_.end(), s);
    metrics().http_open_connections[Index()].store(static_cast<int64_t>(sessions_.size()));
  }
  void Remove(Session* s) {
    Release(s);
    sessions_.erase(s->position);
    metrics().http_open_connections[Index()].store(static_cast<int64_t>(sessions_.size()));
  }

  // Raises `s`'s share of the in-flight total to `total` bytes (what it has
  // read, or at the end of its header what its Content-Length promises).
  // Requests above a small size may use the total only up to the cap less a
  // lane kept for small requests (kube-scheduler's usual calls), so large
  // bodies cannot crowd them out. Over the limit, requests still arriving
  // after slow_grace are closed, largest first, to make room. Returns false
  // (the caller refuses its request with 503) when the bytes do not fit.
  bool Admit(Session* s, size_t total) {
    if (total <= s->reserved) return true;
    const size_t extra = total - s->reserved;
    const size_t lane = config_.max_inflight_bytes / 8;
    const size_t limit = total <= lane ? config_.max_inflight_bytes : config_.max_inflight_bytes - lane;
    auto now = SteadyClock::now();
    while (inflight_ + extra > limit) {
      Session* victim = nullptr;
      for (Session* o : sessions_)
        if (o != s && o->state == Session::State::kReading && o->reserved > 0 &&
            now - o->since >= config_.slow_grace && (!victim || o->reserved > victim->reserved))
          victim = o;
      if (!victim) return false;
      Count(HttpEvent::kBusy);
      LogWarn("http_busy_evicted", {{"listener", HttpListenerName(config_.which)},
                                    {"bytes", std::to_string(victim->reserved)}});
      victim->Close();  // releases its bytes
    }
    s->reserved = total;
    inflight_ += extra;
    Publish();
    return true;
  }
  void Release(Session* s) {
    inflight_ -= s->reserved;
    s->reserved = 0;
    Publish();
  }

 private:
  size_t Index() const { return static_cast<size_t>(config_.which); }
  void Publish() { metrics().http_inflight_bytes[Index()].store(static_cast<int64_t>(inflight_)); }

  void Accept();
  // At the connection cap: close the longest-idle connection, else the
  // request arriving at the lowest rate (bytes per second since its first
  // byte: one byte a second loses to any real client) of those arriving for
  // longer than slow_grace, else the longest-idle of the connections idle
  // for a moment only, else the lowest-rate request of the younger ones.
  // False if none.
  bool MakeRoom() {
    auto now = SteadyClock::now();
    Session* idle = nullptr;
    Session* fresh = nullptr;  // idle, but accepted or answered a moment ago
    // Requests being read, lowest rate first: those arriving for longer than
    // slow_grace, and younger ones (a client sending right now:
    // kube-scheduler's requests arrive in microseconds), closed only when
    // nothing else is left.
    Session* slow = nullptr;
    Session* young = nullptr;
    double slow_rate = 0, young_rate = 0;
    for (Session* s : sessions_) {
      if (s->state == Session::State::kIdle || s->state == Session::State::kLinger) {
        // A connection gets a moment to send its request before it counts as
        // idle: the client that just connected is about to.
        Session*& pick = now - s->since >= kFreshGrace ? idle : fresh;
        if (!pick || s->since < pick->since) pick = s;
      } else if (s->state == Session::State::kReading) {
        double age = std::max(1e-3, std::chrono::duration<double>(now - s->since).count());
        double rate = static_cast<double>(s->read) / age;
        const bool old = now - s->since >= config_.slow_grace;
        Session*& pick = old ? slow : young;
        double& pick_rate = old ? slow_rate : young_rate;
        if (!pick || rate < pick_rate) {
          pick = s;
          pick_rate = rate;
        }
      }
    }
    Session* close = idle ? idle : slow ? slow : fresh ? fresh : young;
    if (!close) return false;
    Count(close->state == Session::State::kReading ? HttpEvent::kEvictedSlow : HttpEvent::kEvictedIdle);
    close->Close();
    return true;
  }
  void Sweep() {
    sweep_->expires_after(kSweepInterval);
    sweep_->async_wait([this](error_code ec) {
      if (ec) return;
      auto now = SteadyClock::now();
      for (auto it = sessions_.begin(); it != sessions_.end();) {
        Session* s = *it++;
        if (s->state == Session::State::kHandling || now < s->deadline) continue;
        if (s->state == Session::State::kIdle) Count(s->served_one ? HttpEvent::kTimeoutIdle : HttpEvent::kTimeoutRequest);
        else if (s->state == Session::State::kReading) Count(HttpEvent::kTimeoutRequest);
        else if (s->state == Session::State::kWriting) Count(HttpEvent::kTimeoutWrite);
        s->Close();
      }
      Sweep();
    });
  }

  Extender* extender_;
  ListenerConfig config_;
  asio::ssl::context* tls_;
  asio::thread_pool* pool_;
  std::unique_ptr<asio::io_context> io_;
  std::unique_ptr<tcp::acceptor> acceptor_;
  std::unique_ptr<asio::steady_timer> sweep_;
  std::unique_ptr<asio::steady_timer> retry_;
  std::list<Session*> sessions_;
  size_t inflight_ = 0;
};

template <bool kTls>
class Connection final : public Session {
 public:
  using Stream = std::conditional_t<kTls, asio::ssl::stream<tcp::socket>, tcp::socket>;

  template <class... Args>
  Connection(Listener& listener, Args&&... args)
      : Session(listener), stream_(std::forward<Args>(args)...),
        buffer_(listener.config().max_header_bytes + 2 * kReadSize) {}

  void Start() override {
    listener_.Add(this);
    since = SteadyClock::now();
    if constexpr (kTls) {
      // Idle (evictable) until the client's first byte; then the handshake
      // is part of the first request's deadline.
      state = State::kIdle;
      deadline = since + listener_.config().request_timeout;
      Socket().async_wait(tcp::socket::wait_read, [self = Self()](error_code ec) {
        if (self->state != State::kIdle) return;
        if (ec) return self->Close();
        self->BeginRequest();
        self->stream_.async_handshake(asio::ssl::stream_base::server, [self](error_code ec) {
          if (self->state == State::kClosed) return;
          if (ec) return self->Close();
          self->WaitRequest();
        });
      });
    } else {
      WaitRequest();
    }
  }

  void Close() override {
    if (state == State::kClosed) return;
    state = State::kClosed;
    error_code ec;
    Socket().shutdown(tcp::socket::shutdown_both, ec);
    Socket().close(ec);
    listener_.Remove(this);
  }

 private:
  std::shared_ptr<Connection> Self() { return std::static_pointer_cast<Connection>(shared_from_this()); }
  tcp::socket& Socket() {
    if constexpr (kTls) return stream_.next_layer();
    else return stream_;
  }
  const ListenerConfig& config() const { return listener_.config(); }

  // Waits for the first byte of the next request. A new connection gets the
  // request deadline, a keep-alive one the idle timeout.
  void WaitRequest() {
    parser_.emplace(config().max_header_bytes, config().max_header_count, config().max_body_bytes);
    continue_sent_ = false;
    admitted_ = false;
    read = buffer_.size();  // pipelined bytes already here
    state = State::kIdle;
    since = SteadyClock::now();
    deadline = since + (served_one ? config().idle_timeout : config().request_timeout);
    if (buffer_.size() > 0) {  // pipelined: the next request is here already
      BeginRequest();
      return Parse();
    }
    if constexpr (kTls) {
      ReadSome();
    } else {
      // No buffer while idle: an idle connection costs its socket only.
      buffer_.shrink_to_fit();
      stream_.async_wait(tcp::socket::wait_read, [self = Self()](error_code ec) {
        if (self->state != State::kIdle) return;
        if (ec) return self->Close();
        self->ReadSome();
      });
    }
  }

  void BeginRequest() {
    state = State::kReading;
    since = SteadyClock::now();
    deadline = since + config().request_timeout;
  }

  void ReadSome() {
    asio::mutable_buffer space;
    try {
      space = buffer_.prepare(kReadSize);
    } catch (const std::length_error&) {
      return Refuse(431, "request header larger than the limit of " + std::to_string(config().max_header_bytes) +
                             " bytes", HttpEvent::kHeaderTooLarge);
    }
    stream_.async_read_some(space, [self = Self()](error_code ec, size_t n) { self->OnRead(ec, n); });
  }

  void OnRead(error_code ec, size_t n) {
    if (state != State::kIdle && state != State::kReading) return;
    if (ec || n == 0) return Close();
    buffer_.commit(n);
    if (state == State::kIdle) BeginRequest();
    read += n;
    if (!listener_.Admit(this, read)) return RefuseBusy();
    Parse();
  }

  void RefuseBusy() {
    Refuse(503, "server busy: request bytes in flight over the limit of " +
                    std::to_string(config().max_inflight_bytes) + " bytes; retry",
           HttpEvent::kBusy);
  }

  void Parse() {
    RequestParser& p = *parser_;
    while (buffer_.size() > 0 && !p.is_done()) {
      error_code ec;
      size_t used = p.put(buffer_.data(), ec);
      buffer_.consume(used);
      if (ec == http::error::need_more) break;
      if (ec) return ParseError(ec);
      if (used == 0) break;
    }
    if (p.is_header_done() && !admitted_) {
      // The whole promised body counts from now: a request admitted is one
      // that can finish.
      admitted_ = true;
      auto remaining = p.content_length_remaining();
      if (remaining && !listener_.Admit(this, read + static_cast<size_t>(*remaining))) return RefuseBusy();
    }
    if (p.is_done()) return Dispatch();
    if (p.is_header_done() && p.expect_continue && !continue_sent_) {
      continue_sent_ = true;
      static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      return asio::async_write(stream_, asio::buffer(kContinue), [self = Self()](error_code ec, size_t) {
        if (self->state != State::kReading) return;
        if (ec) return self->Close();
        self->ReadSome();
      });
    }
    ReadSome();
  }

  void ParseError(error_code ec) {
    RequestParser& p = *parser_;
    if (p.refusal == RequestParser::Refusal::kEncoding)
      return Refuse(415, "compressed request bodies are not accepted (Content-Encoding / Transfer-Encoding other "
                         "than identity and chunked)", HttpEvent::kUnsupportedEncoding);
    if (p.refusal == RequestParser::Refusal::kHeaderCount)
      return Refuse(431, "more than " + std::to_string(config().max_header_count) + " request header fields",
                    HttpEvent::kHeaderTooLarge);
    if (ec == http::error::header_limit)
      return Refuse(431, "request header larger than the limit of " + std::to_string(config().max_header_bytes) +
                             " bytes", HttpEvent::kHeaderTooLarge);
    if (ec == http::error::body_limit)
      return Refuse(413, "request body larger than the limit of " + std::to_string(config().max_body_bytes) +
                             " bytes", HttpEvent::kBodyTooLarge);
    std::string method = p.method.empty() ? std::string() : " (method " + p.method + ")";
    Refuse(400, "malformed HTTP request" + method + ": " + ec.message(), HttpEvent::kMalformed);
  }

  bool HealthPath(const std::string& path) const {
    return path == "/" || path == "/healthz" || path == "/readyz" || path == "/metrics" || path == "/version";
  }

  void Dispatch() {
    RequestParser& p = *parser_;
    state = State::kHandling;
    request_.method = p.method;
    request_.path = DecodePath(p.target);
    request_.body = p.body;
    keep_alive_ = p.keep_alive();
    head_ = request_.method == "HEAD";
    if (config().health_only && !HealthPath(request_.path)) {
      return Respond(ErrorResponse(404, "path " + request_.path +
                                            " is not served on the health port (the scheduling port serves it)"));
    }
    // Liveness is answered here, on the I/O thread: it needs no lock, and it
    // proves that the front door itself is responsive.
    if (request_.path == "/healthz" || !listener_.pool() ||
        (config().decide_on_io_thread && listener_.extender()->MayHandleOnIoThread(request_)))
      return Respond(listener_.extender()->Handle(request_));
    asio::post(*listener_.pool(), [self = Self()]() mutable {
      HttpResponse r = self->listener_.extender()->Handle(self->request_);
      asio::io_context& io = self->listener_.io();
      asio::post(io, [self = std::move(self), r = std::move(r)]() mutable { self->Respond(std::move(r)); });
    });
  }

  void Respond(HttpResponse r) {
    if (state == State::kClosed) return;
    if (r.delay_ms > 0) {
      // The wait throttle (hived.md Q14): this request only, no thread held.
      int64_t delay = r.delay_ms;
      r.delay_ms = 0;
      if (!timer_) timer_ = std::make_unique<asio::steady_timer>(listener_.io());
      timer_->expires_after(std::chrono::milliseconds(delay));
      return timer_->async_wait([self = Self(), r = std::move(r)](error_code) mutable {
        self->Respond(std::move(r));
      });
    }
    bool keep = keep_alive_ && !closing_;
    Write(Serialize(r, head_, keep, static_cast<int>(config().idle_timeout.count() / 1000)), keep);
  }

  // Answers now and closes: the rest of the request is not read.
  void Refuse(int status, const std::string& message, HttpEvent event) {
    listener_.Count(event);
    // Nothing of this request is kept: its bytes leave the in-flight total now.
    listener_.Release(this);
    parser_.reset();
    buffer_.clear();
    LogDebug("http_refused", {{"listener", HttpListenerName(config().which)},
                              {"status", std::to_string(status)},
                              {"reason", message}});
    closing_ = true;
    head_ = false;
    Write(Serialize(ErrorResponse(status, message), false, false, 0), false);
  }

  void Write(std::string bytes, bool keep) {
    state = State::kWriting;
    since = SteadyClock::now();
    deadline = since + config().write_timeout;
    out_ = std::move(bytes);
    asio::async_write(stream_, asio::buffer(out_), [self = Self(), keep](error_code ec, size_t) {
      if (self->state != State::kWriting) return;
      self->out_.clear();
      self->out_.shrink_to_fit();
      self->listener_.Release(self.get());
      if (ec) return self->Close();
      self->served_one = true;
      if (keep) return self->WaitRequest();
      if (self->closing_) return self->Linger();
      self->Close();
    });
  }

  // After a refusal: stop sending, drop what the client still sends for a
  // moment (so it reads the answer instead of a reset), then close.
  void Linger() {
    if constexpr (kTls) {
      Close();
    } else {
      error_code ec;
      Socket().shutdown(tcp::socket::shutdown_send, ec);
      parser_.reset();
      buffer_.clear();
      buffer_.shrink_to_fit();
      state = State::kLinger;
      since = SteadyClock::now();
      deadline = since + kLingerTime;
      lingered_ = 0;
      Drain();
    }
  }
  void Drain() {
    if (!scratch_) scratch_ = std::make_unique<std::array<char, 4096>>();
    stream_.async_read_some(asio::buffer(*scratch_), [self = Self()](error_code ec, size_t n) {
      if (self->state != State::kLinger) return;
      self->lingered_ += n;
      if (ec || self->lingered_ > kLingerBytes) return self->Close();
      self->Drain();
    });
  }

  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<RequestParser> parser_;
  HttpRequest request_;
  std::string out_;
  bool keep_alive_ = false, head_ = false, closing_ = false, continue_sent_ = false, admitted_ = false;
  size_t lingered_ = 0;
  std::unique_ptr<asio::steady_timer> timer_;
  std::unique_ptr<std::array<char, 4096>> scratch_;
};

void Listener::Accept() {
  acceptor_->async_accept(*io_, [this](error_code ec, tcp::socket socket) {
    if (!acceptor_->is_open()) return;
    if (ec) {
      // Out of descriptors (or a transient error): do not spin; try again soon.
      LogWarn("http_accept_failed", {{"listener", HttpListenerName(config_.which)}, {"error", ec.message()}});
      retry_->expires_after(std::chrono::milliseconds(50));
      retry_->async_wait([this](error_code e) {
        if (!e) Accept();
      });
      return;
    }
    if (sessions_.size() >= config_.max_connections && !MakeRoom()) {
      Count(HttpEvent::kRejected);
      error_code ignored;
      socket.close(ignored);
      return Accept();
    }
    Count(HttpEvent::kAccepted);
    error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    std::shared_ptr<Session> s;
    if (tls_) s = std::make_shared<Connection<true>>(*this, std::move(socket), *tls_);
    else s = std::make_shared<Connection<false>>(*this, std::move(socket));
    s->Start();
    Accept();
  });
}

}  // namespace

class HttpServer::Impl {
 public:
  ~Impl() {
    // Handlers still running hold sessions: let them finish first.
    for (auto* p : {pool.get(), health_pool.get()}) {
      if (!p) continue;
      p->stop();
      p->join();
    }
    scheduling.reset();
    health.reset();
  }
  std::unique_ptr<asio::ssl::context> tls, health_tls;
  std::unique_ptr<asio::thread_pool> pool, health_pool;
  std::unique_ptr<Listener> scheduling;
  std::unique_ptr<Listener> health;
};

HttpServer::HttpServer(Extender* extender, ServerOptions options)
    : extender_(extender), options_(std::move(options)) {}

HttpServer::~HttpServer() {
  Stop();
  impl_.reset();
}

namespace {

// A TLS server context with the certificate chain and key; with a client CA,
// clients must present a certificate it signed.
cell::Status MakeTlsContext(const std::string& cert_file, const std::string& key_file, const std::string& client_ca_file,
                            std::unique_ptr<asio::ssl::context>* out) {
  auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
  ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                   asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1 |
                   asio::ssl::context::single_dh_use);
  error_code ec;
  ctx->use_certificate_chain_file(cert_file, ec);
  if (!ec) ctx->use_private_key_file(key_file, asio::ssl::context::pem, ec);
  if (!ec && !client_ca_file.empty()) {
    ctx->load_verify_file(client_ca_file, ec);
    ctx->set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert);
  }
  if (ec)
    return cell::Status::Invalid("TLS: cannot load certificate " + cert_file + ", key " + key_file +
                                 (client_ca_file.empty() ? "" : ", client CA " + client_ca_file) + ": " +
                                 ec.message());
  *out = std::move(ctx);
  return cell::Status::Ok();
}

}  // namespace

cell::Status HttpServer::Bind() {
  auto impl = std::make_unique<Impl>();
  if (!options_.tls_cert_file.empty() || !options_.tls_key_file.empty()) {
    if (options_.tls_cert_file.empty() || options_.tls_key_file.empty())
      return cell::Status::Invalid("TLS needs both --tls-cert-file and --tls-key-file");
    if (auto st = MakeTlsContext(options_.tls_cert_file, options_.tls_key_file, options_.tls_client_ca_file,
                                 &impl->tls);
        !st.ok())
      return st;
  }
  if (options_.health_tls && options_.health_port < 0)
    return cell::Status::Invalid("--health-tls: there is no health listener (--health-listen off)");
  if (options_.health_tls) {
    if (options_.tls_cert_file.empty())
      return cell::Status::Invalid("--health-tls: needs --tls-cert-file and --tls-key-file (the health listener "
                                   "serves the scheduling port's certificate)");
    // The same certificate and key, no client certificate: kubelet's probes
    // and most scrapers present none.
    if (auto st = MakeTlsContext(options_.tls_cert_file, options_.tls_key_file, "", &impl->health_tls); !st.ok())
      return st;
  }
  // A connection is a descriptor: allow as many as the hard limit permits.
  rlimit nofile{};
  if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
    nofile.rlim_cur = nofile.rlim_max;
    setrlimit(RLIMIT_NOFILE, &nofile);
  }
  if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur != RLIM_INFINITY &&
      options_.max_connections + 256 > nofile.rlim_cur)
    LogWarn("http_fd_limit", {{"max_connections", std::to_string(options_.max_connections)},
                              {"nofile", std::to_string(nofile.rlim_cur)}});

  impl->pool = std::make_unique<asio::thread_pool>(static_cast<size_t>(std::max(1, options_.threads)));
  ListenerConfig sched;
  sched.which = HttpListener::kScheduling;
  sched.max_connections = std::max<size_t>(1, options_.max_connections);
  sched.max_inflight_bytes = options_.max_inflight_bytes;
  sched.max_header_bytes = options_.max_header_bytes;
  sched.max_header_count = options_.max_header_count;
  sched.max_body_bytes = options_.max_body_bytes;
  sched.request_timeout = std::chrono::milliseconds(std::max(1, options_.read_timeout_ms));
  sched.write_timeout = std::chrono::milliseconds(std::max(1, options_.write_timeout_ms));
  sched.idle_timeout = std::chrono::seconds(std::max(1, options_.idle_timeout_s));
  sched.slow_grace = std::chrono::milliseconds(std::max(0, options_.slow_grace_ms));
  sched.decide_on_io_thread = options_.decide_on_io_thread;
  impl->scheduling = std::make_unique<Listener>(extender_, sched, impl->tls.get(), impl->pool.get());
  if (auto st = impl->scheduling->Bind(options_.host, options_.port, &port_); !st.ok()) return st;
  if (options_.health_port >= 0) {
    // Probes and scrapes: GETs without bodies, a handful of connections.
    // /readyz and /metrics take the engine's lock shared; they run on a
    // pool of their own so that neither the health I/O thread nor a busy
    // scheduling pool delays them.
    ListenerConfig health = sched;
    health.which = HttpListener::kHealth;
    health.max_connections = 64;
    health.max_inflight_bytes = 1u << 20;
    health.max_header_bytes = 16u << 10;
    health.max_body_bytes = 4u << 10;
    health.health_only = true;
    health.decide_on_io_thread = false;
    impl->health_pool = std::make_unique<asio::thread_pool>(2);
    impl->health = std::make_unique<Listener>(extender_, health, impl->health_tls.get(), impl->health_pool.get());
    if (options_.health_port > 65535)
      return cell::Status::Invalid("--health-listen auto: the --listen port + 1 (" +
                                   std::to_string(options_.health_port) +
                                   ") is not a TCP port; pass --health-listen host:port or off");
    if (auto st = impl->health->Bind(options_.health_host, options_.health_port, &health_port_); !st.ok()) {
      if (options_.health_port_auto)
        return cell::Status::Invalid("--health-listen auto: port " + std::to_string(options_.health_port) +
                                     " (the --listen port + 1) on " + options_.health_host +
                                     " is not available: " + st.message() +
                                     "; pass --health-listen host:port with a free port, or off");
      return cell::Status::Invalid("--health-listen: " + st.message());
    }
  }
  impl_ = std::move(impl);
  return cell::Status::Ok();
}

bool HttpServer::Listen() {
  if (!impl_) return false;
  std::thread health;
  if (impl_->health) health = std::thread([this] { impl_->health->Run(); });
  running_ = true;
  if (stop_requested_) Stop();
  impl_->scheduling->Run();
  if (health.joinable()) health.join();
  return true;
}

void HttpServer::Stop() {
  stop_requested_ = true;
  if (!impl_) return;
  impl_->scheduling->Stop();
  if (impl_->health) impl_->health->Stop();
}

}  // namespace apiary::extender
