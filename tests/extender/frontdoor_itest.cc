// The extender's HTTP front door under the attacks of issue #16, on loopback:
// many idle sockets, one byte a second (slowloris), an oversized chunked
// body, a compressed ("gzip bomb") body, a header flood, many concurrent
// large bodies. During each, /healthz on the health listener answers within
// a second, a filter on the scheduling port answers within kube-scheduler's
// 5 s httpTimeout, and the extender's peak RSS (VmHWM of its /proc status)
// grows by no more than the configured in-flight byte cap allows. Every
// attack is bounded in connections, bytes and time and stops by itself.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <functional>
#include <mutex>
#include <thread>

#include "cluster_harness.h"
#include "test_pki.h"

namespace apiary::testing {
namespace {

using SteadyClock = std::chrono::steady_clock;
constexpr size_t kMiB = 1u << 20;

// The limits the extender runs with here.
constexpr size_t kMaxConnections = 128;
constexpr size_t kMaxInflight = 32 * kMiB;
constexpr size_t kMaxBody = 8 * kMiB;
constexpr size_t kMaxHeaderBytes = 16u << 10;
constexpr int kReadTimeoutMs = 2000;

// Sanitizer builds keep shadow memory beside every byte the program touches.
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr size_t kShadowFactor = 4;
#else
constexpr size_t kShadowFactor = 1;
#endif
// What one attack may add to the extender's peak RSS: the in-flight cap, one
// body being handled beyond it, and room for buffers, stacks and allocator
// slack. Without the caps the attacks below need several times this.
constexpr size_t kRssAllowance = kShadowFactor * (kMaxInflight + kMaxBody + 24 * kMiB);

double Since(SteadyClock::time_point t0) {
  return std::chrono::duration<double>(SteadyClock::now() - t0).count();
}

int Connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  timeval tv{2, 0};
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

bool SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

bool Readable(int fd, int timeout_ms = 0) {
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, timeout_ms) > 0;
}

// What the server sent before closing (or within the receive timeout).
std::string ReadReply(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > 64 * 1024) break;
  }
  return out;
}

// Sends `head`, then `body_piece` up to `body_bytes` times its size in total
// unless the server answers first; returns the answer's status line.
std::string SendUntilAnswered(int port, const std::string& head, const std::string& piece, size_t total,
                              const std::atomic<bool>& stop) {
  int fd = Connect(port);
  if (fd < 0) return "";
  std::string status;
  if (SendAll(fd, head)) {
    for (size_t sent = 0; sent < total && !stop; sent += piece.size()) {
      if (Readable(fd) || !SendAll(fd, piece)) break;
    }
  }
  std::string reply = ReadReply(fd);
  close(fd);
  return reply.substr(0, reply.find("\r\n"));
}

// `clients` threads, each sending its request (head, then `piece` until
// `total` bytes or an answer) up to `rounds` times or until `stop`. Returns
// the status lines of the answers (empty when the connection was cut).
std::vector<std::string> Flood(int port, int clients, int rounds, size_t total, const std::atomic<bool>& stop,
                               const std::function<std::pair<std::string, std::string>(int client)>& request) {
  std::mutex mu;
  std::vector<std::string> statuses;
  std::vector<std::thread> threads;
  for (int t = 0; t < clients; ++t)
    threads.emplace_back([&, t] {
      const auto [head, piece] = request(t);
      for (int i = 0; i < rounds && !stop; ++i) {
        std::string status = SendUntilAnswered(port, head, piece, total, stop);
        std::lock_guard lock(mu);
        statuses.push_back(std::move(status));
      }
    });
  for (auto& t : threads) t.join();
  return statuses;
}

size_t CountStatus(const std::vector<std::string>& statuses, const std::string& code) {
  return std::count_if(statuses.begin(), statuses.end(),
                       [&](const std::string& s) { return s.find(" " + code + " ") != std::string::npos; });
}

int64_t ProcStatusKb(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field + ":", 0) == 0) return std::stoll(line.substr(field.size() + 1));
  return -1;
}

// One counter of the extender's /metrics (health listener), -1 if absent.
int64_t Metric(int port, const std::string& series) {
  HttpReply m = Call(port, "GET", "/metrics", "", 2);
  size_t at = m.body.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stoll(m.body.substr(at + series.size() + 2));
}

class FrontDoorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(c_.StartApi());
    for (const auto& n : BasicNodes()) c_.CreateNode(n);
    c_.WriteConfig(BasicConfigText());
  }
  void Up(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--max-connections", std::to_string(kMaxConnections),
                                     "--max-inflight-bytes", std::to_string(kMaxInflight),
                                     "--max-body-bytes", std::to_string(kMaxBody),
                                     "--max-header-bytes", std::to_string(kMaxHeaderBytes),
                                     "--read-timeout-ms", std::to_string(kReadTimeoutMs),
                                     "--idle-timeout", "5",
                                     "--http-threads", "8"};
    args.insert(args.end(), extra.begin(), extra.end());
    ASSERT_GT(c_.StartExtender(args), 0) << c_.extender().Log();
    ASSERT_GT(c_.health_port(), 0) << c_.extender().Log();
    ASSERT_TRUE(c_.WaitReady()) << c_.extender().Log();
    pod_ = c_.CreatePod("ml", "probe-0", PodSpecArgs{"prod", 10, "V100", 8});
    Json f = c_.FilterKnown(pod_);
    ASSERT_TRUE(f["NodeNames"].is_array()) << f.dump();
    node_ = f["NodeNames"][0];
    filter_body_ = FilterBody(pod_, BasicNodes());
    // Warm up (allocator arenas, handler threads) before the baseline.
    for (int i = 0; i < 50; ++i) Call(c_.port(), "POST", "/v1/extender/filter", filter_body_);
    baseline_kb_ = ProcStatusKb(c_.extender().pid(), "VmHWM");
    ASSERT_GT(baseline_kb_, 0);
  }
  void TearDown() override {
    if (HasFailure() && c_.has_extender())
      std::cerr << "---- extender log ----\n" << c_.extender().Log().substr(0, 20000) << "\n";
  }

  // Runs `attack` (which must return soon after `stop`) on its own thread and
  // probes the extender while it goes on.
  void UnderAttack(const std::function<void(const std::atomic<bool>&)>& attack,
                   std::chrono::milliseconds duration = std::chrono::milliseconds(4000)) {
    std::atomic<bool> stop{false};
    std::thread t([&] { attack(stop); });
    std::this_thread::sleep_for(std::chrono::milliseconds(1000));  // let it build up
    auto end = SteadyClock::now() + duration;
    int probes = 0;
    std::vector<double> filter_times;
    double health_max = 0;
    int64_t open_max = 0;
    while (SteadyClock::now() < end) {
      auto t0 = SteadyClock::now();
      HttpReply h = Call(c_.health_port(), "GET", "/healthz", "", 2);
      double health_s = Since(t0);
      EXPECT_EQ(h.status, 200) << "probe " << probes;
      EXPECT_LT(health_s, 1.0) << "probe " << probes;
      t0 = SteadyClock::now();
      HttpReply f = Call(c_.port(), "POST", "/v1/extender/filter", filter_body_, 5);
      double filter_s = Since(t0);
      filter_times.push_back(filter_s);
      health_max = std::max(health_max, health_s);
      EXPECT_EQ(f.status, 200) << "probe " << probes << ": " << f.body;
      // An ExtenderFilterResult from the engine (the pod is decided, later
      // bound directly after repeated filters: either answer is the engine's).
      EXPECT_TRUE(f.json().is_object() && f.json().contains("NodeNames") && f.json().contains("Error")) << f.body;
      EXPECT_LT(filter_s, 5.0) << "probe " << probes;
      int64_t open = SchedulingMetric("apiary_extender_http_open_connections", "");
      EXPECT_GE(open, 0);
      EXPECT_LE(open, static_cast<int64_t>(kMaxConnections));
      open_max = std::max(open_max, open);
      ++probes;
      std::this_thread::sleep_for(std::chrono::milliseconds(150));
    }
    // Readiness on the health port too (takes the engine's lock shared).
    EXPECT_EQ(Call(c_.health_port(), "GET", "/readyz", "", 2).status, 200);
    stop = true;
    t.join();
    EXPECT_GE(probes, 3);
    int64_t peak_kb = ProcStatusKb(c_.extender().pid(), "VmHWM");
    EXPECT_LE(static_cast<size_t>(std::max<int64_t>(0, peak_kb - baseline_kb_)) * 1024, kRssAllowance)
        << "VmHWM " << baseline_kb_ << " kB before, " << peak_kb << " kB after";
    // The figures of bench/README.md ("the front door under attack").
    std::sort(filter_times.begin(), filter_times.end());
    if (!filter_times.empty())
      std::cerr << "[figures] " << ::testing::UnitTest::GetInstance()->current_test_info()->name() << ": "
                << probes << " probes; filter median " << filter_times[filter_times.size() / 2] * 1000
                << " ms, max " << filter_times.back() * 1000 << " ms; /healthz max " << health_max * 1000
                << " ms; open connections max " << open_max << "; VmHWM " << baseline_kb_ / 1024 << " -> "
                << peak_kb / 1024 << " MiB\n";
  }
  int64_t SchedulingMetric(const std::string& name, const std::string& label) {
    return Metric(c_.health_port(), name + "{listener=\"scheduling\"" + (label.empty() ? "" : "," + label) + "}");
  }

  Cluster c_{"frontdoor"};
  Json pod_;
  std::string node_;
  std::string filter_body_;
  int64_t baseline_kb_ = 0;
};

// 1,000 sockets that connect and send nothing, reopened as they are closed:
// at --max-connections new connections take the idle ones' places.
TEST_F(FrontDoorTest, ManyIdleSockets) {
  Up();
  UnderAttack([&](const std::atomic<bool>& stop) {
    std::vector<int> fds;
    for (int i = 0; i < 1000 && !stop; ++i) fds.push_back(Connect(c_.port()));
    while (!stop) {
      for (int& fd : fds) {
        if (fd >= 0 && Readable(fd)) {  // closed by the server (EOF)
          close(fd);
          fd = -1;
        }
        if (fd < 0) fd = Connect(c_.port());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    for (int fd : fds)
      if (fd >= 0) close(fd);
  });
  HttpReply m = Call(c_.health_port(), "GET", "/metrics", "", 2);
  EXPECT_GT(SchedulingMetric("apiary_extender_http_connections_total", "result=\"evicted_idle\""), 0) << m.body;
}

// 200 clients (more than --max-connections) sending a request one byte a
// second, reconnecting when cut off: the whole-request deadline cuts each
// within --read-timeout-ms, and at the cap a new connection takes the place
// of one that has been sending for longer than the grace.
TEST_F(FrontDoorTest, SlowlorisOneBytePerSecond) {
  Up();
  UnderAttack([&](const std::atomic<bool>& stop) {
    const std::string request = "POST /v1/extender/filter HTTP/1.1\r\nHost: x\r\nX-Slow: " + std::string(4096, 'a');
    struct Slow {
      int fd = -1;
      size_t sent = 0;
    };
    std::vector<Slow> clients(200);
    while (!stop) {
      for (auto& c : clients) {
        if (c.fd >= 0 && Readable(c.fd)) {  // answered or closed by the server
          close(c.fd);
          c.fd = -1;
        }
        if (c.fd < 0) {
          c.fd = Connect(c_.port());
          c.sent = 0;
        }
        if (c.fd >= 0 && c.sent < request.size() && SendAll(c.fd, request.substr(c.sent, 1))) ++c.sent;
      }
      for (int i = 0; i < 10 && !stop; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    for (auto& c : clients)
      if (c.fd >= 0) close(c.fd);
  });
  int64_t timeouts = SchedulingMetric("apiary_extender_http_timeouts_total", "phase=\"request\"");
  int64_t evicted = SchedulingMetric("apiary_extender_http_connections_total", "result=\"evicted_slow\"") +
                    SchedulingMetric("apiary_extender_http_connections_total", "result=\"evicted_idle\"");
  EXPECT_GT(timeouts + evicted, 0);
}

// Chunked bodies far over --max-body-bytes: cut at the limit as the chunks
// arrive (413), not buffered whole.
TEST_F(FrontDoorTest, ChunkedBodyOverTheLimit) {
  Up();
  std::vector<std::string> statuses;
  UnderAttack([&](const std::atomic<bool>& stop) {
    char size_line[32];
    std::snprintf(size_line, sizeof size_line, "%zx\r\n", size_t{64} << 10);
    const std::string chunk = size_line + std::string(size_t{64} << 10, '[') + "\r\n";
    statuses = Flood(c_.port(), 4, 20, 256 * kMiB, stop, [&](int) {
      return std::make_pair(
          std::string("POST /v1/extender/filter HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"), chunk);
    });
  });
  EXPECT_GT(CountStatus(statuses, "413"), 0u);
  EXPECT_GT(SchedulingMetric("apiary_extender_http_refused_total", "reason=\"body_too_large\""), 0);
}

// A body sent with Content-Encoding: gzip (a few MiB that would inflate to
// gigabytes) is refused with 415 before it is read: nothing is inflated.
TEST_F(FrontDoorTest, GzipBombIsRefused) {
  Up();
  std::vector<std::string> statuses;
  UnderAttack([&](const std::atomic<bool>& stop) {
    const size_t body = 4 * kMiB;
    statuses = Flood(c_.port(), 4, 50, body, stop, [&](int) {
      return std::make_pair("POST /v1/extender/filter HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\n"
                            "Content-Length: " + std::to_string(body) + "\r\n\r\n",
                            std::string(size_t{64} << 10, '\x1f'));
    });
  });
  EXPECT_GT(CountStatus(statuses, "415"), 0u);
  EXPECT_GT(SchedulingMetric("apiary_extender_http_refused_total", "reason=\"content_encoding\""), 0);
}

// Header lines without end (big ones, and many small ones): 431 at
// --max-header-bytes or the header count limit.
TEST_F(FrontDoorTest, HeaderFlood) {
  Up();
  std::vector<std::string> statuses;
  UnderAttack([&](const std::atomic<bool>& stop) {
    statuses = Flood(c_.port(), 4, 50, 256 * kMiB, stop, [&](int t) {
      const std::string line = t % 2 == 0 ? "X-Flood: " + std::string(1000, 'f') + "\r\n" : std::string("A: b\r\n");
      std::string lines;
      while (lines.size() < (size_t{64} << 10)) lines += line;
      return std::make_pair(std::string("GET /v1/inspect/affinitygroups/ HTTP/1.1\r\nHost: x\r\n"), lines);
    });
  });
  EXPECT_GT(CountStatus(statuses, "431"), 0u);
  EXPECT_GT(SchedulingMetric("apiary_extender_http_refused_total", "reason=\"header_too_large\""), 0);
}

// 16 clients each sending 7 MiB bodies (under --max-body-bytes; 112 MiB
// together, over --max-inflight-bytes) as fast as they can: the largest
// requests still being read are refused (503) while the total is over the
// cap; small requests keep being served.
TEST_F(FrontDoorTest, ManyConcurrentLargeBodies) {
  Up();
  std::vector<std::string> statuses;
  UnderAttack([&](const std::atomic<bool>& stop) {
    const size_t body = 7 * kMiB;
    statuses = Flood(c_.port(), 16, 50, body, stop, [&](int) {
      return std::make_pair("POST /v1/extender/filter HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                            "Content-Length: " + std::to_string(body) + "\r\n\r\n",
                            std::string(size_t{64} << 10, ' '));
    });
  });
  size_t answered = std::count_if(statuses.begin(), statuses.end(), [](const std::string& s) { return !s.empty(); });
  std::cerr << answered << " large requests answered, " << CountStatus(statuses, "503") << " of them 503\n";
  EXPECT_GT(answered, 0u);
  EXPECT_LE(SchedulingMetric("apiary_extender_http_inflight_request_bytes", ""), static_cast<int64_t>(kMaxInflight));
}

// HTTPS with client-certificate auth on the scheduling port (as before the
// front door was replaced): a client with a certificate of the configured CA
// is served, one without or with a foreign one is not; sockets that never
// start the handshake are cut by the request deadline and do not stall it.
TEST_F(FrontDoorTest, TlsWithClientCertificates) {
  TestPki pki(c_.dir());
  if (!pki.ok()) GTEST_SKIP() << "the openssl command failed (is Debian's openssl installed?)";
  ASSERT_GT(c_.StartExtender({"--tls-cert-file", pki.Path("server.crt"), "--tls-key-file", pki.Path("server.key"),
                              "--tls-client-ca-file", pki.Path("ca.crt"), "--max-connections",
                              std::to_string(kMaxConnections), "--read-timeout-ms", std::to_string(kReadTimeoutMs)}),
            0)
      << c_.extender().Log();
  ASSERT_GT(c_.health_port(), 0);
  // Readiness over the plain health listener.
  ASSERT_TRUE(WaitUntil([&] { return Call(c_.health_port(), "GET", "/readyz").status == 200; },
                        std::chrono::seconds(20)));
  auto get = [&](const std::string& cert, const std::string& key) {
    httplib::SSLClient client("127.0.0.1", c_.port(), cert, key);
    client.set_ca_cert_path(pki.Path("ca.crt").c_str());
    client.enable_server_certificate_verification(true);
    client.set_connection_timeout(5, 0);
    client.set_read_timeout(5, 0);
    auto r = client.Get("/v1/inspect/clusterstatus/physicalcluster");
    return r ? r->status : 0;
  };
  EXPECT_EQ(get(pki.Path("client.crt"), pki.Path("client.key")), 200);
  EXPECT_EQ(get("", ""), 0);
  EXPECT_EQ(get(pki.Path("other-client.crt"), pki.Path("other-client.key")), 0);
  // 300 sockets that never handshake (more than --max-connections).
  std::vector<int> idle;
  for (int i = 0; i < 300; ++i) idle.push_back(Connect(c_.port()));
  auto t0 = SteadyClock::now();
  EXPECT_EQ(get(pki.Path("client.crt"), pki.Path("client.key")), 200);
  EXPECT_LT(Since(t0), 5.0);
  for (int fd : idle)
    if (fd >= 0) close(fd);
  EXPECT_GT(SchedulingMetric("apiary_extender_http_connections_total", "result=\"evicted_idle\""), 0);
}

// --health-tls: the health listener serves HTTPS with the scheduling port's
// certificate and asks for no client certificate (kubelet's probes present
// none), while the scheduling port still requires one.
TEST_F(FrontDoorTest, HealthListenerOverTls) {
  TestPki pki(c_.dir());
  if (!pki.ok()) GTEST_SKIP() << "the openssl command failed (is Debian's openssl installed?)";
  ASSERT_GT(c_.StartExtender({"--tls-cert-file", pki.Path("server.crt"), "--tls-key-file", pki.Path("server.key"),
                              "--tls-client-ca-file", pki.Path("ca.crt"), "--health-tls"}),
            0)
      << c_.extender().Log();
  ASSERT_GT(c_.health_port(), 0) << c_.extender().Log();
  auto get = [&](int port, const std::string& path, const std::string& cert, const std::string& key) {
    httplib::SSLClient client("127.0.0.1", port, cert, key);
    client.set_ca_cert_path(pki.Path("ca.crt").c_str());
    client.enable_server_certificate_verification(true);
    client.set_connection_timeout(5, 0);
    client.set_read_timeout(5, 0);
    auto r = client.Get(path.c_str());
    return r ? r->status : 0;
  };
  // No client certificate, the server's certificate verified.
  ASSERT_TRUE(WaitUntil([&] { return get(c_.health_port(), "/readyz", "", "") == 200; }, std::chrono::seconds(20)))
      << c_.extender().Log();
  EXPECT_EQ(get(c_.health_port(), "/healthz", "", ""), 200);
  EXPECT_EQ(get(c_.health_port(), "/metrics", "", ""), 200);
  // Still only the health paths there.
  EXPECT_EQ(get(c_.health_port(), "/v1/inspect/clusterstatus", "", ""), 404);
  // Plain HTTP gets no answer from the TLS listener.
  EXPECT_EQ(Call(c_.health_port(), "GET", "/healthz", "", 2).status, 0);
  // The scheduling port keeps requiring the client certificate.
  EXPECT_EQ(get(c_.port(), "/healthz", "", ""), 0);
  EXPECT_EQ(get(c_.port(), "/healthz", pki.Path("client.crt"), pki.Path("client.key")), 200);
}

// Start-up errors of the health listener name the flag: --health-tls without
// a serving certificate, and --health-listen auto when the --listen port + 1
// is taken (the extender does not move to another port: probes and scrapes
// name a fixed one).
TEST_F(FrontDoorTest, HealthListenerStartupErrorsNameTheFlag) {
  auto run = [&](const std::vector<std::string>& extra, const std::string& name, std::string* log) {
    std::vector<std::string> argv = {APIARY_EXTENDER_BIN, "--config", c_.config_path(), "--master",
                                     "http://127.0.0.1:" + std::to_string(c_.api_port())};
    argv.insert(argv.end(), extra.begin(), extra.end());
    Process p;
    EXPECT_TRUE(p.Start(argv, c_.dir() + "/" + name + ".log"));
    int status = p.WaitExit(std::chrono::seconds(10));
    *log = p.Log();
    return status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  std::string log;
  EXPECT_EQ(run({"--listen", "127.0.0.1:0", "--health-tls"}, "health-tls", &log), 2);
  EXPECT_NE(log.find("--health-tls: needs --tls-cert-file and --tls-key-file"), std::string::npos) << log;
  EXPECT_EQ(run({"--listen", "127.0.0.1:0", "--health-listen", "off", "--health-tls"}, "health-tls-off", &log), 2);
  EXPECT_NE(log.find("--health-tls: there is no health listener (--health-listen off)"), std::string::npos) << log;

  // Hold a listening port Q whose Q - 1 is free; --listen on Q - 1.
  int held = -1, listen_port = -1;
  for (int attempt = 0; attempt < 50 && listen_port < 0; ++attempt) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(fd, 1) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      if (fd >= 0) close(fd);
      continue;
    }
    int q = ntohs(addr.sin_port);
    int probe = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in below = addr;
    below.sin_port = htons(static_cast<uint16_t>(q - 1));
    bool free_below = probe >= 0 && q > 1024 && bind(probe, reinterpret_cast<sockaddr*>(&below), sizeof below) == 0;
    if (probe >= 0) close(probe);
    if (free_below) {
      held = fd;
      listen_port = q - 1;
    } else {
      close(fd);
    }
  }
  ASSERT_GT(listen_port, 0) << "no free port pair on loopback";
  int code = run({"--listen", "127.0.0.1:" + std::to_string(listen_port)}, "health-auto", &log);
  close(held);
  EXPECT_EQ(code, 2) << log;
  const std::string want = "--health-listen auto: port " + std::to_string(listen_port + 1) +
                           " (the --listen port + 1) on 127.0.0.1 is not available";
  EXPECT_NE(log.find(want), std::string::npos) << log;
  EXPECT_NE(log.find("pass --health-listen host:port with a free port, or off"), std::string::npos) << log;
}

}  // namespace
}  // namespace apiary::testing
