// apiary-extender: the HiveD-compatible Kubernetes scheduler extender.
// See docs/extender.md for deployment and operation.
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "apiary/cell/config_loader.h"
#include "apiary/extender/extender.h"
#include "apiary/extender/informer.h"
#include "apiary/extender/kube_client.h"
#include "apiary/extender/leader.h"
#include "apiary/extender/log.h"
#include "apiary/extender/server.h"

#ifndef APIARY_VERSION
#define APIARY_VERSION "0.0.0"
#endif
#ifndef APIARY_COMMIT
#define APIARY_COMMIT "unknown"
#endif

namespace ext = apiary::extender;

namespace {

class WallClock : public apiary::cell::Clock {
 public:
  int64_t NowUnixSeconds() const override { return static_cast<int64_t>(std::time(nullptr)); }
};

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::stringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return true;
}

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::atomic<int> g_exit_code{0};

}  // namespace

int main(int argc, char** argv) {
  // Signals are taken by sigwait on the main thread only: block them before
  // any thread starts so every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  // Request bodies (up to --max-body-bytes) are large, short-lived blocks:
  // keep them in their own mappings, returned to the system when freed,
  // instead of glibc's adaptive threshold moving them into the heap, which
  // holds on to its peak (issue #16: memory "kept" after a burst).
  mallopt(M_MMAP_THRESHOLD, 1 << 20);

  CLI::App app{"apiary-extender: HiveD-compatible GPU-topology scheduler extender for kube-scheduler.\n"
               "See docs/extender.md."};
  std::string config_path = Env("CONFIG").empty() ? "./hivedscheduler.yaml" : Env("CONFIG");
  std::string listen, kubeconfig, master;
  std::string preemption_mode = "self", victim_method = "evict";
  std::vector<std::string> scheduler_names;
  bool leader_elect = false;
  ext::LeaderOptions leader;
  std::string tls_cert, tls_key, tls_client_ca;
  size_t max_body = 64u << 20;
  int read_timeout_ms = 10000, write_timeout_ms = 10000, http_threads = 32, workers = 2;
  ext::ServerOptions server_options;
  std::string health_listen = "auto";
  double config_poll_s = 2.0, shutdown_grace_s = 10.0, api_timeout_s = 10.0;
  bool log_json = false;
  std::string log_level = "info";
  int watch_timeout_s = 300;

  app.add_option("--config", config_path,
                 "HiveD scheduler configuration file (bare, or an OpenPAI services-configuration.yaml); "
                 "watched: a change rebuilds the scheduler and recovers every bound pod (default: $CONFIG or "
                 "./hivedscheduler.yaml)");
  app.add_option("--listen", listen, "[host]:port to serve on (default: webServerAddress of the config, else :9096)");
  app.add_option("--kubeconfig", kubeconfig,
                 "kubeconfig file (default: kubeConfigFilePath of the config, $KUBECONFIG, ~/.kube/config if it "
                 "exists, else the in-cluster service account)");
  app.add_option("--master", master,
                 "API server URL; alone an unauthenticated address, with a kubeconfig it overrides its server "
                 "(default: kubeApiServerAddress of the config, $KUBE_APISERVER_ADDRESS)");
  app.add_option("--preemption-mode", preemption_mode,
                 "self: the extender evicts victims itself (works with every Kubernetes version); extender: "
                 "HiveD's flow through kube-scheduler's preempt verb (needs kube-scheduler >= 1.38, "
                 "kubernetes PR #135486)")
      ->check(CLI::IsMember({"self", "extender"}));
  app.add_option("--victim-method", victim_method,
                 "self mode: remove victims with the Eviction API (respects PodDisruptionBudgets) or plain DELETE")
      ->check(CLI::IsMember({"evict", "delete"}));
  app.add_option("--scheduler-name", scheduler_names,
                 "Manage only pods with this spec.schedulerName (repeatable; default: every pod requesting "
                 "hivedscheduler.microsoft.com/pod-scheduling-enable)");
  app.add_flag("--leader-elect", leader_elect, "Run leader election through a coordination.k8s.io Lease");
  app.add_option("--leader-elect-namespace", leader.lease_namespace,
                 "Namespace of the Lease (default: the service account's or kubeconfig context's, else kube-system)");
  app.add_option("--leader-elect-name", leader.lease_name, "Name of the Lease");
  app.add_option("--leader-elect-identity", leader.identity, "This replica's identity (default: hostname_pid)");
  app.add_option("--tls-cert-file", tls_cert, "Serve HTTPS with this certificate (PEM)");
  app.add_option("--tls-key-file", tls_key, "Private key of --tls-cert-file (PEM)");
  app.add_option("--tls-client-ca-file", tls_client_ca, "Require client certificates signed by this CA (PEM)");
  app.add_option("--max-body-bytes", max_body, "Largest request body accepted (413 above)");
  app.add_option("--read-timeout-ms", read_timeout_ms,
                 "Deadline of a whole request (TLS handshake, headers and body) from its first byte");
  app.add_option("--write-timeout-ms", write_timeout_ms, "Per-response write timeout");
  app.add_option("--http-threads", http_threads, "Handler threads (engine calls and bind API calls)");
  app.add_option("--decide-on-io-thread", server_options.decide_on_io_thread,
                 "Decide filter and preempt on the I/O thread when the engine's lock is free (true/false)")
      ->capture_default_str();
  app.add_option("--health-listen", health_listen,
                 "[host]:port of the health listener (/healthz, /readyz, /metrics, /version; plain HTTP unless "
                 "--health-tls); "
                 "auto = the --listen host, its port + 1 (any free port when --listen's is 0; an error naming "
                 "the port when it is taken); off = none");
  app.add_flag("--health-tls", server_options.health_tls,
               "Serve the health listener over HTTPS with --tls-cert-file/--tls-key-file, without asking for a "
               "client certificate (kubelet's probes present none)");
  app.add_option("--idle-timeout", server_options.idle_timeout_s, "Keep-alive idle timeout, seconds");
  app.add_option("--max-connections", server_options.max_connections,
                 "Open connections on the scheduling port (at the cap, idle and slow ones make room)");
  app.add_option("--max-inflight-bytes", server_options.max_inflight_bytes,
                 "Request bytes read and not yet answered, all connections together (503 above)");
  app.add_option("--max-header-bytes", server_options.max_header_bytes,
                 "Request line + header fields (431 above)");
  app.add_option("--max-header-count", server_options.max_header_count, "Header fields per request (431 above)");
  app.add_option("--workers", workers, "Background workers for direct binds, evictions and annotation patches");
  app.add_option("--api-timeout", api_timeout_s, "Timeout of one API server call, seconds");
  app.add_option("--watch-timeout", watch_timeout_s, "Server-side timeout of one watch, seconds");
  app.add_option("--config-poll-interval", config_poll_s, "How often the config file is checked, seconds");
  app.add_option("--shutdown-grace", shutdown_grace_s,
                 "On SIGTERM, how long to wait for in-flight binds and evictions, seconds");
  app.add_flag("--log-json", log_json, "Log one JSON object per line");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  app.add_flag_callback(
      "--version", [] {
        std::cout << "apiary-extender " << APIARY_VERSION << " (" << APIARY_COMMIT << ")\n";
        std::exit(0);
      },
      "Print the version and exit");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  ext::SetupLogging(log_json, spdlog::level::from_str(log_level));

  // The configuration: read now for the listen address and API server
  // settings; a broken file is reported by /readyz, not by a crash loop.
  std::string config_text;
  bool config_read = ReadFile(config_path, &config_text);
  std::optional<apiary::cell::Config> config;
  if (config_read) {
    auto loaded = apiary::cell::LoadConfigText(config_text, config_path);
    if (loaded.ok()) config = loaded->config;
  } else {
    ext::LogError("config_unreadable", {{"path", config_path}, {"error", std::strerror(errno)}});
  }

  if (listen.empty()) listen = config ? config->web_server_address : ":9096";
  if (auto st = ext::ParseListenAddress(listen, &server_options.host, &server_options.port); !st.ok()) {
    std::cerr << st.message() << "\n";
    return 2;
  }
  if (health_listen == "auto") {
    server_options.health_host = server_options.host;
    server_options.health_port = server_options.port == 0 ? 0 : server_options.port + 1;
    server_options.health_port_auto = server_options.port != 0;
  } else if (health_listen != "off") {
    if (auto st = ext::ParseListenAddress(health_listen, &server_options.health_host, &server_options.health_port);
        !st.ok()) {
      std::cerr << "--health-listen: " << st.message() << "\n";
      return 2;
    }
  }
  server_options.tls_cert_file = tls_cert;
  server_options.tls_key_file = tls_key;
  server_options.tls_client_ca_file = tls_client_ca;
  server_options.max_body_bytes = max_body;
  server_options.read_timeout_ms = read_timeout_ms;
  server_options.write_timeout_ms = write_timeout_ms;
  server_options.threads = http_threads;

  // hived.md 2.1: API server address and kubeconfig from flags, else the
  // config file, else the environment; neither = in-cluster.
  if (master.empty()) master = config && !config->kube_api_server_address.empty()
                                   ? config->kube_api_server_address
                                   : Env("KUBE_APISERVER_ADDRESS");
  if (kubeconfig.empty()) {
    if (config && !config->kube_config_file_path.empty()) kubeconfig = config->kube_config_file_path;
    else if (!Env("KUBECONFIG").empty()) kubeconfig = Env("KUBECONFIG");
    else if (!Env("HOME").empty() && std::filesystem::exists(Env("HOME") + "/.kube/config"))
      kubeconfig = Env("HOME") + "/.kube/config";
  }
  auto kube_config = ext::ResolveKubeConfig(master, kubeconfig);
  if (!kube_config.ok()) {
    ext::LogError("kube_config_failed", {{"error", kube_config.status().message()}});
    std::cerr << "apiary-extender: " << kube_config.status().message() << "\n";
    return 2;
  }
  ext::LogInfo("kube_api", {{"server", kube_config->server}, {"source", kube_config->source}});
  ext::KubeClient kube(*kube_config, std::string("apiary-extender/") + APIARY_VERSION,
                       std::chrono::milliseconds(static_cast<int64_t>(api_timeout_s * 1000)));

  ext::ExtenderOptions options;
  options.preemption_mode = preemption_mode == "self" ? ext::PreemptionMode::kSelf : ext::PreemptionMode::kExtender;
  options.victim_method = victim_method == "evict" ? ext::VictimMethod::kEvict : ext::VictimMethod::kDelete;
  options.scheduler_names = scheduler_names;
  options.workers = workers;
  options.leader_election = leader_elect;
  options.version = APIARY_VERSION;
  options.commit = APIARY_COMMIT;
  WallClock clock;
  ext::Extender extender(options, &kube, &clock);
  // Whether a configuration is in force: a replica without one must not take
  // the leader Lease (it would lead while refusing every pod, and keep a
  // healthy standby from leading).
  std::atomic<bool> config_in_force{config_read && extender.LoadConfig(config_text, config_path).ok()};

  ext::HttpServer server(&extender, server_options);
  if (auto st = server.Bind(); !st.ok()) {
    ext::LogError("listen_failed", {{"error", st.message()}});
    std::cerr << "apiary-extender: " << st.message() << "\n";
    return 2;
  }
  ext::LogInfo("serving", {{"address", server_options.host + ":" + std::to_string(server.port())},
                           {"tls", tls_cert.empty() ? "false" : "true"},
                           {"preemption_mode", preemption_mode},
                           {"health", server.health_port() < 0 ? std::string("off")
                                                               : server_options.health_host + ":" +
                                                                     std::to_string(server.health_port())},
                           {"health_tls", server_options.health_tls ? "true" : "false"}});
  std::atomic<bool> http_done{false};
  std::thread http([&] {
    if (!server.Listen()) ext::LogError("serve_failed", {});
    http_done = true;
  });
  // Stop() is a no-op until the server runs.
  while (!server.running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));

  // Config file watch: content comparison, so ConfigMap symlink swaps count.
  std::atomic<bool> stopping{false};
  std::mutex wait_mu;
  std::condition_variable wait_cv;
  auto reload = [&] {
    std::string text;
    if (!ReadFile(config_path, &text)) {
      ext::LogWarn("config_unreadable", {{"path", config_path}, {"error", std::strerror(errno)}});
      return;
    }
    static std::string last_seen = config_text;
    if (text == last_seen) return;
    last_seen = text;
    ext::LogInfo("config_changed", {{"path", config_path}});
    if (extender.LoadConfig(text, config_path).ok() && !config_in_force.exchange(true)) {
      std::lock_guard lock(wait_mu);
      wait_cv.notify_all();  // a deferred leader election may start now
    }
  };
  std::thread watcher([&] {
    std::unique_lock lock(wait_mu);
    while (!stopping) {
      wait_cv.wait_for(lock, std::chrono::milliseconds(static_cast<int64_t>(config_poll_s * 1000)),
                       [&] { return stopping.load(); });
      if (stopping) break;
      lock.unlock();
      reload();
      lock.lock();
    }
  });

  ext::Informer informer(&kube, &extender, &extender.metrics(),
                         ext::InformerOptions{500, std::chrono::seconds(watch_timeout_s)});
  std::unique_ptr<ext::LeaderElector> elector;
  std::thread election;
  if (leader_elect) {
    if (leader.identity.empty()) {
      char host[256] = {0};
      gethostname(host, sizeof host - 1);
      leader.identity = std::string(host) + "_" + std::to_string(getpid());
    }
    // Not given: the service account's (or kubeconfig context's) namespace,
    // else kube-system.
    if (app.count("--leader-elect-namespace") == 0 || leader.lease_namespace.empty())
      leader.lease_namespace = kube_config->ns.empty() ? "kube-system" : kube_config->ns;
    elector = std::make_unique<ext::LeaderElector>(
        &kube, leader,
        [&] {
          extender.SetLeader(true);
          informer.Start();
        },
        [&] {
          // Lost the lease: stop serving at once and exit so that a restart
          // rebuilds from the API server (as client-go's OnStoppedLeading).
          extender.SetLeader(false);
          g_exit_code = 1;
          kill(getpid(), SIGTERM);
        });
    election = std::thread([&] {
      std::unique_lock lock(wait_mu);
      if (!config_in_force)
        ext::LogWarn("leader_election_deferred",
                     {{"reason", "no configuration in force; fix the config file (it is re-read every "
                                 "--config-poll-interval and on SIGHUP)"}});
      // Polled as well as notified: shutdown sets `stopping` without the lock.
      while (!wait_cv.wait_for(lock, std::chrono::milliseconds(200),
                               [&] { return config_in_force.load() || stopping.load(); })) {
      }
      lock.unlock();
      if (!stopping) elector->Run();
    });
  } else {
    informer.Start();
  }

  for (;;) {
    int sig = 0;
    sigwait(&signals, &sig);
    if (sig == SIGHUP) {
      ext::LogInfo("sighup_reload", {});
      reload();
      continue;
    }
    ext::LogInfo("shutting_down", {{"signal", std::to_string(sig)}});
    break;
  }
  extender.SetShuttingDown();
  stopping = true;
  wait_cv.notify_all();
  if (elector) elector->Stop();
  informer.Stop();
  // Let in-flight binds and evictions finish (bounded), then stop serving.
  extender.Shutdown(std::chrono::milliseconds(static_cast<int64_t>(shutdown_grace_s * 1000)));
  watcher.join();
  if (election.joinable()) election.join();
  // Stop serving: every connection is closed; handlers still running (none
  // should be) are not waited for beyond a moment.
  server.Stop();
  for (int i = 0; i < 200 && !http_done; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ext::LogInfo("stopped", {{"exit_code", std::to_string(g_exit_code.load())}});
  spdlog::shutdown();
  if (!http_done) {
    std::fflush(nullptr);
    std::_Exit(g_exit_code);
  }
  http.join();
  return g_exit_code;
}
