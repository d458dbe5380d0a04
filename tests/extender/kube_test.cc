// The Kubernetes client side against the in-process fake API server over
// loopback: list + watch (and relist on 410), binding, patch, eviction,
// deletion, leader election, kubeconfig loading, exec credential plugins.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "apiary/cell/pod_spec.h"
#include "apiary/extender/informer.h"
#include "apiary/extender/kube_client.h"
#include "apiary/extender/leader.h"
#include "fake_apiserver.h"
#include "test_pki.h"
#include "test_util.h"

namespace apiary::extender {
namespace {

using apiary::testing::FakeApiServer;
using apiary::testing::NodeObject;
using apiary::testing::PodObject;
using apiary::testing::PodSpecArgs;
using apiary::testing::WaitUntil;

class RecordingHandler : public ClusterEventHandler {
 public:
  void OnSynced(std::vector<NodeInfo> nodes, std::vector<PodInfo> pods) override {
    std::lock_guard lock(mu);
    synced_nodes = nodes;
    synced_pods = pods;
  }
  void OnNodeEvent(WatchEventType type, const NodeInfo& node) override {
    std::lock_guard lock(mu);
    log.push_back("node " + std::to_string(static_cast<int>(type)) + " " + node.name + " " +
                  (node.Healthy() ? "healthy" : "bad"));
  }
  void OnPodEvent(WatchEventType type, const PodInfo& pod) override {
    std::lock_guard lock(mu);
    log.push_back("pod " + std::to_string(static_cast<int>(type)) + " " + pod.ref.FullName() + " " + pod.node_name);
  }
  void OnNodesRelisted(std::vector<NodeInfo> nodes) override {
    std::lock_guard lock(mu);
    log.push_back("nodes relisted " + std::to_string(nodes.size()));
  }
  void OnPodsRelisted(std::vector<PodInfo> pods) override {
    std::lock_guard lock(mu);
    log.push_back("pods relisted " + std::to_string(pods.size()));
  }
  bool Has(const std::string& s) {
    std::lock_guard lock(mu);
    for (const auto& l : log)
      if (l == s) return true;
    return false;
  }
  std::mutex mu;
  std::vector<NodeInfo> synced_nodes;
  std::vector<PodInfo> synced_pods;
  std::vector<std::string> log;
};

KubeConfig Local(int port) {
  KubeConfig c;
  c.server = "http://127.0.0.1:" + std::to_string(port);
  c.source = "test";
  return c;
}

TEST(KubeClientTest, ListWatchAndRelistOnGone) {
  FakeApiServer api;
  int port = api.Start();
  ASSERT_GT(port, 0);
  api.CreateNode(NodeObject("n1"));
  api.CreateNode(NodeObject("n2", false));
  api.CreatePod(PodObject("ns", "a", PodSpecArgs{}));
  KubeClient client(Local(port), "test", std::chrono::seconds(5));
  RecordingHandler handler;
  Metrics metrics;
  InformerOptions opts;
  opts.page_size = 1;  // exercises paging (the fake ignores limit; continue is empty)
  opts.watch_timeout = std::chrono::seconds(2);
  opts.backoff_initial = std::chrono::milliseconds(50);
  Informer informer(&client, &handler, &metrics, opts);
  informer.Start();
  ASSERT_TRUE(WaitUntil([&] { return informer.synced(); }, std::chrono::seconds(10)));
  {
    std::lock_guard lock(handler.mu);
    ASSERT_EQ(handler.synced_nodes.size(), 2u);
    EXPECT_TRUE(handler.synced_nodes[0].Healthy());
    EXPECT_FALSE(handler.synced_nodes[1].Healthy());
    ASSERT_EQ(handler.synced_pods.size(), 1u);
    EXPECT_EQ(handler.synced_pods[0].ref.FullName(), "ns/a");
    EXPECT_TRUE(handler.synced_pods[0].enabled);
  }
  api.CreatePod(PodObject("ns", "b", PodSpecArgs{}));
  ASSERT_TRUE(WaitUntil([&] { return handler.Has("pod 0 ns/b "); }, std::chrono::seconds(5)));
  api.SetNodeReady("n2", true);
  ASSERT_TRUE(WaitUntil([&] { return handler.Has("node 1 n2 healthy"); }, std::chrono::seconds(5)));
  api.DeletePod("ns", "a");
  ASSERT_TRUE(WaitUntil([&] { return handler.Has("pod 2 ns/a "); }, std::chrono::seconds(5)));
  // The watch survives the server-side timeout (2 s) and reconnects.
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  api.CreatePod(PodObject("ns", "c", PodSpecArgs{}));
  ASSERT_TRUE(WaitUntil([&] { return handler.Has("pod 0 ns/c "); }, std::chrono::seconds(5)));
  // History compacted and watches cut: the informer relists (410 Gone).
  api.Compact();
  api.CloseWatches();
  ASSERT_TRUE(WaitUntil([&] { return handler.Has("pods relisted 2") && handler.Has("nodes relisted 2"); },
                        std::chrono::seconds(10)));
  EXPECT_GE(metrics.relists.load(), 2u);
  api.CreatePod(PodObject("ns", "d", PodSpecArgs{}));
  ASSERT_TRUE(WaitUntil([&] { return handler.Has("pod 0 ns/d "); }, std::chrono::seconds(5)));
  informer.Stop();
}

// The client side of issue #16: what the API server sends is bounded. A list
// page over the response limit and a watch event over the event limit end
// the call with an error naming the limit.
TEST(KubeClientTest, ResponsesAndWatchEventsAreBounded) {
  FakeApiServer api;
  int port = api.Start();
  ASSERT_GT(port, 0);
  for (int i = 0; i < 8; ++i) api.CreatePod(PodObject("ns", "p" + std::to_string(i), PodSpecArgs{}));
  KubeClient client(Local(port), "test", std::chrono::seconds(5));
  HttpResult whole = client.Do("GET", "/api/v1/pods");
  ASSERT_EQ(whole.status, 200) << whole.error;
  ASSERT_GT(whole.body.size(), 4096u);
  std::string rv = apiary::testing::Json::parse(whole.body)["metadata"]["resourceVersion"];

  client.SetResponseLimits(4096, 2048);
  HttpResult capped = client.Do("GET", "/api/v1/pods");
  EXPECT_EQ(capped.status, 0);
  EXPECT_TRUE(capped.body.empty());
  EXPECT_NE(capped.error.find("response larger than the limit of 4096 bytes"), std::string::npos) << capped.error;
  // Small answers still come through on the same client.
  EXPECT_EQ(client.Do("GET", "/api/v1/namespaces/ns/pods/p0").status, 200);

  HttpResult stream;
  size_t lines = 0;
  std::thread watch([&] {
    stream = client.Stream("/api/v1/pods?watch=true&resourceVersion=" + rv,
                           [&](std::string_view) {
                             ++lines;
                             return true;
                           },
                           std::chrono::seconds(5));
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  api.CreatePod(PodObject("ns", "small", PodSpecArgs{}));  // about 1 KiB: delivered
  auto big = PodObject("ns", "big", PodSpecArgs{});
  big["metadata"]["annotations"]["example.com/padding"] = std::string(8192, 'x');
  api.CreatePod(big);
  watch.join();
  EXPECT_EQ(lines, 1u);
  EXPECT_NE(stream.error.find("watch event larger than the limit of 2048 bytes"), std::string::npos)
      << stream.status << " " << stream.error;
}

// The same bound on the answers to writes (issue #16): a PATCH or DELETE
// that echoes an object over the limit, or a POST answered with an oversized
// error body, ends with an error naming the method, the path and the limit,
// and no body is kept; the client goes on serving small answers.
TEST(KubeClientTest, WriteResponsesAreBounded) {
  FakeApiServer api;
  int port = api.Start();
  ASSERT_GT(port, 0);
  auto big = PodObject("ns", "big", PodSpecArgs{});
  big["metadata"]["annotations"]["example.com/padding"] = std::string(8192, 'x');
  auto pod = api.CreatePod(big);
  cell::PodRef ref{pod["metadata"]["uid"], "ns", "big"};
  KubeClient client(Local(port), "test", std::chrono::seconds(5));
  client.SetResponseLimits(4096, 2048);
  const std::string limit = "response larger than the limit of 4096 bytes";

  // PATCH: the API server applies it and echoes the (large) pod.
  ApiStatus st = client.PatchPodAnnotations(ref, {{cell::kAnnotationLazyPreemptor, "g"}});
  EXPECT_EQ(st.code, 0);
  EXPECT_NE(st.message.find("PATCH /api/v1/namespaces/ns/pods/big: " + limit), std::string::npos) << st.message;
  EXPECT_EQ(api.GetPod("ns", "big")["metadata"]["annotations"][cell::kAnnotationLazyPreemptor], "g");

  // POST: an error answer of 64 KiB is not read into memory either.
  api.InjectFailure("POST /api/v1/namespaces/ns/pods/big/binding", 500, 1, 64u << 10);
  HttpResult post = client.Do("POST", "/api/v1/namespaces/ns/pods/big/binding", "{}");
  EXPECT_EQ(post.status, 0);
  EXPECT_TRUE(post.body.empty());
  EXPECT_NE(post.error.find("POST /api/v1/namespaces/ns/pods/big/binding: " + limit), std::string::npos)
      << post.error;
  // Under the limit, the same error answer comes through whole.
  api.InjectFailure("POST /api/v1/namespaces/ns/pods/big/binding", 500, 1, 100);
  post = client.Do("POST", "/api/v1/namespaces/ns/pods/big/binding", "{}");
  EXPECT_EQ(post.status, 500) << post.error;
  EXPECT_NE(post.body.find("injected failure"), std::string::npos) << post.body;

  // DELETE echoes the deleted pod.
  st = client.DeletePod(ref);
  EXPECT_EQ(st.code, 0);
  EXPECT_NE(st.message.find("DELETE /api/v1/namespaces/ns/pods/big: " + limit), std::string::npos) << st.message;
  EXPECT_TRUE(api.GetPod("ns", "big").is_null());

  // Small answers still come through on the same client.
  auto small = api.CreatePod(PodObject("ns", "small", PodSpecArgs{}));
  cell::PodRef small_ref{small["metadata"]["uid"], "ns", "small"};
  EXPECT_EQ(client.DeletePod(small_ref).code, 200);
}

// While the watches are open the view is current (staleness 0); when the API
// server goes away and the watch cannot reconnect, the staleness metric
// counts the time since the last progress, and comes back to 0 once the
// watch is open again.
TEST(KubeClientTest, WatchStalenessIsExposed) {
  FakeApiServer api;
  int port = api.Start();
  ASSERT_GT(port, 0);
  api.CreateNode(NodeObject("n1"));
  KubeClient client(Local(port), "test", std::chrono::seconds(2));
  RecordingHandler handler;
  Metrics metrics;
  EXPECT_LT(metrics.WatchStalenessSeconds(Metrics::kWatchPods), 0);  // never listed
  EXPECT_NE(metrics.Render().find("apiary_extender_watch_staleness_seconds{resource=\"pods\"} NaN"),
            std::string::npos);
  InformerOptions opts;
  opts.watch_timeout = std::chrono::seconds(20);
  opts.backoff_initial = std::chrono::milliseconds(100);
  opts.backoff_max = std::chrono::milliseconds(200);
  Informer informer(&client, &handler, &metrics, opts);
  informer.Start();
  ASSERT_TRUE(WaitUntil([&] { return metrics.watch_open[Metrics::kWatchPods].load(); }, std::chrono::seconds(10)));
  EXPECT_EQ(metrics.WatchStalenessSeconds(Metrics::kWatchPods), 0);
  EXPECT_NE(metrics.Render().find("apiary_extender_watch_staleness_seconds{resource=\"pods\"} 0\n"),
            std::string::npos);
  api.Stop();
  ASSERT_TRUE(WaitUntil([&] { return metrics.WatchStalenessSeconds(Metrics::kWatchPods) >= 1.0; },
                        std::chrono::seconds(10)));
  EXPECT_GE(metrics.WatchStalenessSeconds(Metrics::kWatchNodes), 0.5);
  FakeApiServer back;  // the API server is back (on the same port)
  ASSERT_EQ(back.Start(port), port);
  ASSERT_TRUE(WaitUntil([&] { return metrics.WatchStalenessSeconds(Metrics::kWatchPods) == 0; },
                        std::chrono::seconds(10)));
  informer.Stop();
}

TEST(KubeClientTest, InformerRetriesUntilTheServerIsUp) {
  // Reserve a port, then start the server there a little later. (Declared
  // before the client: the server outlives the client's pooled connections.)
  FakeApiServer api;
  int port;
  {
    FakeApiServer probe;
    port = probe.Start();
    probe.Stop();
  }
  KubeClient client(Local(port), "test", std::chrono::seconds(1));
  RecordingHandler handler;
  Metrics metrics;
  InformerOptions opts;
  opts.backoff_initial = std::chrono::milliseconds(50);
  opts.backoff_max = std::chrono::milliseconds(200);
  Informer informer(&client, &handler, &metrics, opts);
  informer.Start();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_FALSE(informer.synced());
  if (api.Start(port) != port) {
    informer.Stop();
    GTEST_SKIP() << "port " << port << " was taken by another process in the meantime";
  }
  api.CreateNode(NodeObject("n1"));
  ASSERT_TRUE(WaitUntil([&] { return informer.synced(); }, std::chrono::seconds(10)));
  informer.Stop();
}

TEST(KubeClientTest, BindingPatchEvictDelete) {
  FakeApiServer api;
  int port = api.Start();
  auto pod = api.CreatePod(PodObject("ns", "p", PodSpecArgs{}));
  cell::PodRef ref{pod["metadata"]["uid"], "ns", "p"};
  KubeClient client(Local(port), "test", std::chrono::seconds(5));
  BindingRequest req;
  req.pod = ref;
  req.node = "n1";
  req.annotations = {{cell::kAnnotationPodBindInfo, "node: n1\n"}, {cell::kAnnotationPodLeafCellIsolation, "0,1"}};
  ApiStatus st = client.CreateBinding(req);
  EXPECT_EQ(st.code, 201) << st.message;
  auto bound = api.GetPod("ns", "p");
  EXPECT_EQ(bound["spec"]["nodeName"], "n1");
  EXPECT_EQ(bound["metadata"]["annotations"][cell::kAnnotationPodLeafCellIsolation], "0,1");
  EXPECT_EQ(bound["metadata"]["annotations"][cell::kAnnotationPodBindInfo], "node: n1\n");
  EXPECT_EQ(bound["status"]["conditions"][0]["type"], "PodScheduled");
  // One write: the annotations ride on the binding, no separate PATCH.
  EXPECT_EQ(api.RequestCount("POST /api/v1/namespaces/ns/pods/p/binding"), 1);
  EXPECT_EQ(api.RequestCount("PATCH /api/v1/namespaces/ns/pods/p"), 0);
  // A retry after a lost reply: 409 naming the same node.
  st = client.CreateBinding(req);
  EXPECT_EQ(st.code, 409);
  EXPECT_EQ(st.assigned_node, "n1");
  // A recreated pod of the same name (other UID) is never bound by mistake.
  cell::PodRef stale{"other-uid", "ns", "p"};
  req.pod = stale;
  st = client.CreateBinding(req);
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(st.code, 409);
  EXPECT_NE(st.message.find("UID in precondition: other-uid"), std::string::npos) << st.message;
  EXPECT_TRUE(st.assigned_node.empty()) << st.assigned_node;
  // Annotation removal.
  st = client.PatchPodAnnotations(ref, {{cell::kAnnotationLazyPreemptor, "g"}});
  EXPECT_TRUE(st.ok());
  st = client.PatchPodAnnotations(ref, {{cell::kAnnotationLazyPreemptor, std::nullopt}});
  EXPECT_TRUE(st.ok());
  EXPECT_FALSE(api.GetPod("ns", "p")["metadata"]["annotations"].contains(cell::kAnnotationLazyPreemptor));
  // Eviction and deletion with UID preconditions.
  EXPECT_EQ(client.EvictPod(stale).code, 409);
  EXPECT_EQ(client.EvictPod(ref).code, 201);
  EXPECT_TRUE(api.GetPod("ns", "p").is_null());
  EXPECT_EQ(client.EvictPod(ref).code, 404);
  auto q = api.CreatePod(PodObject("ns", "q", PodSpecArgs{}));
  cell::PodRef qref{q["metadata"]["uid"], "ns", "q"};
  EXPECT_EQ(client.DeletePod(cell::PodRef{"x", "ns", "q"}).code, 409);
  EXPECT_EQ(client.DeletePod(qref).code, 200);
  EXPECT_EQ(client.DeletePod(qref).code, 404);
  client.RecordEvent(ref, "Normal", "Preempted", "test");
  EXPECT_EQ(api.RequestCount("POST /api/v1/namespaces/ns/events"), 1);
  // Transport errors are status 0 with a message.
  KubeClient dead(Local(1), "test", std::chrono::milliseconds(300));
  ApiStatus d = dead.EvictPod(ref);
  EXPECT_EQ(d.code, 0);
  EXPECT_FALSE(d.message.empty());
}

TEST(KubeClientTest, LeaderElectionHandsOver) {
  FakeApiServer api;
  int port = api.Start();
  KubeClient client(Local(port), "test", std::chrono::seconds(5));
  LeaderOptions o;
  o.lease_namespace = "kube-system";
  o.lease_name = "apiary-test";
  o.lease_duration = std::chrono::seconds(2);
  o.renew_deadline = std::chrono::seconds(1);
  o.retry_period = std::chrono::seconds(1);
  std::atomic<int> a_started{0}, b_started{0}, a_stopped{0};
  o.identity = "a";
  LeaderElector a(&client, o, [&] { ++a_started; }, [&] { ++a_stopped; });
  o.identity = "b";
  LeaderElector b(&client, o, [&] { ++b_started; }, [] {});
  std::thread ta([&] { a.Run(); });
  ASSERT_TRUE(WaitUntil([&] { return a_started == 1; }, std::chrono::seconds(5)));
  std::thread tb([&] { b.Run(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(3000));
  EXPECT_EQ(b_started, 0);  // a keeps renewing
  a.Stop();                 // releases the lease
  ta.join();
  ASSERT_TRUE(WaitUntil([&] { return b_started == 1; }, std::chrono::seconds(5)));
  EXPECT_EQ(a_stopped, 0);
  auto lease = apiary::testing::Call(port, "GET", "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/apiary-test");
  EXPECT_EQ(lease.json()["spec"]["holderIdentity"], "b");
  EXPECT_EQ(lease.json()["spec"]["leaseTransitions"], 1);
  b.Stop();
  tb.join();
}

TEST(KubeClientTest, KubeconfigLoading) {
  std::string dir = apiary::testing::TempDir("kubeconfig");
  {
    std::ofstream(dir + "/token") << "secret-token\n";
    std::ofstream(dir + "/config") << R"(apiVersion: v1
kind: Config
current-context: test
clusters:
- name: c1
  cluster:
    server: https://10.0.0.1:6443
    insecure-skip-tls-verify: true
- name: c2
  cluster:
    server: http://127.0.0.1:8080
    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==
contexts:
- name: test
  context: {cluster: c1, user: u1, namespace: ml}
- name: other
  context: {cluster: c2, user: u2}
- name: plugin
  context: {cluster: c1, user: u3}
- name: tokened
  context: {cluster: c1, user: u2}
users:
- name: u1
  user: {tokenFile: token}
- name: u2
  user: {token: abc}
- name: u3
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: gke-gcloud-auth-plugin
      installHint: Install gke-gcloud-auth-plugin for use with kubectl
      provideClusterInfo: true
)";
  }
  auto c = LoadKubeconfig(dir + "/config");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->server, "https://10.0.0.1:6443");
  EXPECT_TRUE(c->insecure);
  EXPECT_EQ(c->token_file, dir + "/token");
  EXPECT_EQ(c->ns, "ml");
  // c2's certificate-authority-data decodes to a PEM header with no
  // certificate: refused when loaded, naming the field.
  auto other = LoadKubeconfig(dir + "/config", "other");
  ASSERT_FALSE(other.ok());
  EXPECT_NE(other.status().message().find("clusters[c2].cluster.certificate-authority-data: no PEM certificate"),
            std::string::npos)
      << other.status().message();
  auto tokened = LoadKubeconfig(dir + "/config", "tokened");
  ASSERT_TRUE(tokened.ok()) << tokened.status().message();
  EXPECT_EQ(tokened->token, "abc");
  EXPECT_FALSE(tokened->exec.has_value());
  auto plugin = LoadKubeconfig(dir + "/config", "plugin");
  ASSERT_TRUE(plugin.ok()) << plugin.status().message();
  ASSERT_TRUE(plugin->exec.has_value());
  EXPECT_EQ(plugin->exec->user, "u3");
  EXPECT_EQ(plugin->exec->command, "gke-gcloud-auth-plugin");  // a bare name: looked up in PATH when run
  EXPECT_EQ(plugin->exec->api_version, "client.authentication.k8s.io/v1beta1");
  EXPECT_EQ(plugin->exec->install_hint, "Install gke-gcloud-auth-plugin for use with kubectl");
  EXPECT_TRUE(plugin->exec->provide_cluster_info);
  EXPECT_TRUE(plugin->exec->args.empty());
  EXPECT_TRUE(plugin->token.empty());
  EXPECT_TRUE(plugin->token_file.empty());
  EXPECT_FALSE(LoadKubeconfig(dir + "/config", "nope").ok());
  EXPECT_FALSE(LoadKubeconfig(dir + "/missing").ok());
  auto overridden = ResolveKubeConfig("http://127.0.0.1:1", dir + "/config");
  ASSERT_TRUE(overridden.ok());
  EXPECT_EQ(overridden->server, "http://127.0.0.1:1");
  EXPECT_EQ(overridden->token_file, dir + "/token");
  auto bare = ResolveKubeConfig("http://127.0.0.1:2", "");
  ASSERT_TRUE(bare.ok());
  EXPECT_TRUE(bare->token.empty());
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

// ---------------------------------------------------------------------------
// exec credential plugins

constexpr char kV1[] = "client.authentication.k8s.io/v1";

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

// An executable /bin/sh script.
void WritePlugin(const std::string& path, const std::string& body) {
  WriteFile(path, "#!/bin/sh\n" + body);
  std::filesystem::permissions(path, std::filesystem::perms::owner_all);
}

std::string Credential(const std::string& token, const std::string& expiry = "",
                       const std::string& api_version = kV1) {
  std::string status = "{\"token\":\"" + token + "\"";
  if (!expiry.empty()) status += ",\"expirationTimestamp\":\"" + expiry + "\"";
  return "{\"apiVersion\":\"" + api_version + "\",\"kind\":\"ExecCredential\",\"status\":" + status + "}}";
}

// RFC 3339 with milliseconds, `from_now` away.
std::string Rfc3339In(std::chrono::milliseconds from_now) {
  auto tp = std::chrono::system_clock::now() + from_now;
  std::time_t t = std::chrono::system_clock::to_time_t(tp);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(tp.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[64];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms));
  return out;
}

int Lines(const std::string& path) {
  std::ifstream in(path);
  int n = 0;
  for (std::string line; std::getline(in, line);) ++n;
  return n;
}

// A temp dir with bin/plugin: counts its runs in `runs`, saves
// KUBERNETES_EXEC_INFO to info.json, prints the file named by its first
// argument (cred.json) after `PLUGIN_DELAY` seconds (or fails with the text
// of the file `fail` on stderr), and a kubeconfig pointing at `server` whose
// user runs it as ./bin/plugin (relative to the kubeconfig); `extra_env`:
// more YAML items for exec.env.
class PluginDir {
 public:
  explicit PluginDir(const std::string& server, const std::string& extra_env = "") {
    dir = apiary::testing::TempDir("exec-plugin");
    std::filesystem::create_directories(dir + "/bin");
    WritePlugin(dir + "/bin/plugin", R"(echo run >> "$PLUGIN_DIR/runs"
printf '%s' "$KUBERNETES_EXEC_INFO" > "$PLUGIN_DIR/info.json"
if [ -n "$PLUGIN_DELAY" ]; then sleep "$PLUGIN_DELAY"; fi
if [ -f "$PLUGIN_DIR/fail" ]; then cat "$PLUGIN_DIR/fail" >&2; exit 1; fi
cat "$PLUGIN_DIR/$1"
)");
    WriteFile(dir + "/config", R"(apiVersion: v1
kind: Config
current-context: test
clusters:
- name: c
  cluster:
    server: )" + server + R"(
    certificate-authority-data: Q0EK
    insecure-skip-tls-verify: true
contexts:
- name: test
  context: {cluster: c, user: robot}
users:
- name: robot
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: ./bin/plugin
      args: [cred.json]
      env:
      - {name: PLUGIN_DIR, value: )" + dir + R"(}
)" + extra_env + R"(      provideClusterInfo: true
      interactiveMode: IfAvailable
)");
  }
  ~PluginDir() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  KubeConfig Load() {
    auto c = LoadKubeconfig(dir + "/config");
    EXPECT_TRUE(c.ok()) << c.status().message();
    return c.ok() ? *c : KubeConfig{};
  }
  void SetCredential(const std::string& json) { WriteFile(dir + "/cred.json", json); }
  int runs() const { return Lines(dir + "/runs"); }

  std::string dir;
};

TEST(KubeClientTest, ExecPluginTokenReachesTheApiServerAndIsCachedUntil401) {
  FakeApiServer api;
  int port = api.Start();
  ASSERT_GT(port, 0);
  const std::string server = "http://127.0.0.1:" + std::to_string(port);
  api.RequireBearerToken("tok-1");
  PluginDir p(server);
  p.SetCredential(Credential("tok-1"));
  KubeConfig config = p.Load();
  ASSERT_TRUE(config.exec.has_value());
  EXPECT_EQ(config.exec->command, p.dir + "/bin/plugin");  // relative to the kubeconfig's directory
  EXPECT_EQ(config.exec->args, std::vector<std::string>{"cred.json"});
  ASSERT_EQ(config.exec->env.size(), 1u);
  EXPECT_EQ(config.exec->env[0].first, "PLUGIN_DIR");
  EXPECT_EQ(config.exec->api_version, kV1);
  EXPECT_TRUE(config.exec->provide_cluster_info);

  KubeClient client(config, "test", std::chrono::seconds(5));
  EXPECT_EQ(client.Do("GET", "/api/v1/nodes").status, 200);
  EXPECT_EQ(client.Do("GET", "/api/v1/pods").status, 200);
  EXPECT_EQ(p.runs(), 1);  // no expirationTimestamp: reused
  auto tokens = api.BearerTokens();
  ASSERT_EQ(tokens.size(), 2u);
  EXPECT_EQ(tokens[0], "tok-1");
  EXPECT_EQ(tokens[1], "tok-1");

  // KUBERNETES_EXEC_INFO: the request, with the cluster (provideClusterInfo).
  auto info = nlohmann::json::parse(apiary::testing::ReadAll(p.dir + "/info.json"));
  EXPECT_EQ(info["apiVersion"], kV1);
  EXPECT_EQ(info["kind"], "ExecCredential");
  EXPECT_EQ(info["spec"]["interactive"], false);
  EXPECT_EQ(info["spec"]["cluster"]["server"], server);
  EXPECT_EQ(info["spec"]["cluster"]["certificate-authority-data"], "Q0EK");  // "CA\n"
  EXPECT_EQ(info["spec"]["cluster"]["insecure-skip-tls-verify"], true);

  // The API server stops accepting the token: one 401, then the plugin runs
  // again and its new token is used.
  api.RequireBearerToken("tok-2");
  p.SetCredential(Credential("tok-2"));
  EXPECT_EQ(client.Do("GET", "/api/v1/nodes").status, 401);
  EXPECT_EQ(p.runs(), 1);
  EXPECT_EQ(client.Do("GET", "/api/v1/nodes").status, 200);
  EXPECT_EQ(p.runs(), 2);
  EXPECT_EQ(api.BearerTokens().back(), "tok-2");

  // A 401 on a watch stream invalidates the token too.
  api.RequireBearerToken("tok-3");
  p.SetCredential(Credential("tok-3"));
  HttpResult w = client.Stream("/api/v1/nodes?watch=1", [](std::string_view) { return true; },
                               std::chrono::seconds(5));
  EXPECT_EQ(w.status, 401);
  EXPECT_EQ(client.Do("GET", "/api/v1/nodes").status, 200);
  EXPECT_EQ(p.runs(), 3);

  // Without provideClusterInfo there is no spec.cluster.
  config.exec->provide_cluster_info = false;
  KubeClient plain(config, "test", std::chrono::seconds(5));
  EXPECT_EQ(plain.Do("GET", "/api/v1/nodes").status, 200);
  info = nlohmann::json::parse(apiary::testing::ReadAll(p.dir + "/info.json"));
  EXPECT_EQ(info["spec"], nlohmann::json({{"interactive", false}}));
}

// An ExecCredential with a client certificate (PEM) and optionally a token.
std::string CertCredential(const apiary::testing::TestPki& pki, const std::string& name,
                           const std::string& token = "") {
  nlohmann::json status = {{"clientCertificateData", pki.Pem(name + ".crt")},
                           {"clientKeyData", pki.Pem(name + ".key")}};
  if (!token.empty()) status["token"] = token;
  return nlohmann::json({{"apiVersion", kV1}, {"kind", "ExecCredential"}, {"status", status}}).dump();
}

TEST(KubeClientTest, ExecPluginClientCertificateIsUsedForNewConnections) {
  const std::string pki_dir = apiary::testing::TempDir("exec-pki");
  apiary::testing::TestPki pki(pki_dir);
  if (!pki.ok()) GTEST_SKIP() << "the openssl command failed (is Debian's openssl installed?)";
  {  // the server and client stop (threads joined) before the files go
  FakeApiServer api;
  api.EnableTls(pki.Path("server.crt"), pki.Path("server.key"), pki.Path("ca.crt"));  // client certs authenticate
  int port = api.Start();
  ASSERT_GT(port, 0);
  PluginDir p("https://127.0.0.1:" + std::to_string(port));  // insecure-skip-tls-verify
  // A certificate that expires in 2 s: refreshed at 1.6 s (a fifth early).
  nlohmann::json cred = nlohmann::json::parse(CertCredential(pki, "client"));
  cred["status"]["expirationTimestamp"] = Rfc3339In(std::chrono::seconds(2));
  p.SetCredential(cred.dump());
  KubeClient client(p.Load(), "test", std::chrono::seconds(5));
  HttpResult r = client.Do("GET", "/api/v1/nodes");
  EXPECT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(client.Do("GET", "/api/v1/pods").status, 200);
  EXPECT_EQ(p.runs(), 1);  // cached
  EXPECT_EQ(api.BearerTokens().back(), "");  // a certificate only: no Authorization header
  EXPECT_EQ(api.ClientCertificates().back(), "apiary-extender");

  // The next credential carries a certificate from another CA. Once the
  // first one is due for refresh, the next request must not go out over the
  // pooled connection made with the old certificate: it opens a new one with
  // the new certificate (which this API server does not accept).
  p.SetCredential(CertCredential(pki, "other-client"));
  std::this_thread::sleep_for(std::chrono::milliseconds(1800));
  r = client.Do("GET", "/api/v1/nodes");
  EXPECT_EQ(p.runs(), 2);
  EXPECT_EQ(r.status, 401) << r.error;
  EXPECT_EQ(api.ClientCertificates().back(), "unverified:intruder");
  api.Stop();  // before PluginDir removes its files
  }
  std::error_code ec;
  std::filesystem::remove_all(pki_dir, ec);
}

TEST(KubeClientTest, ExecPluginTokenIsRefreshedBeforeItExpires) {
  FakeApiServer api;
  int port = api.Start();
  ASSERT_GT(port, 0);
  PluginDir p("http://127.0.0.1:" + std::to_string(port));
  KubeConfig config = p.Load();

  // Already expired: used once, the next request runs the plugin again.
  p.SetCredential(Credential("old", Rfc3339In(-std::chrono::hours(1))));
  {
    KubeClient client(config, "test", std::chrono::seconds(5));
    EXPECT_EQ(client.Do("GET", "/api/v1/nodes").status, 200);
    EXPECT_EQ(client.Do("GET", "/api/v1/nodes").status, 200);
    EXPECT_EQ(p.runs(), 2);
    EXPECT_EQ(api.BearerTokens().back(), "old");
  }
  // Valid for an hour: cached.
  p.SetCredential(Credential("long", Rfc3339In(std::chrono::hours(1))));
  {
    KubeClient client(config, "test", std::chrono::seconds(5));
    for (int i = 0; i < 3; ++i) EXPECT_EQ(client.Do("GET", "/api/v1/nodes").status, 200);
    EXPECT_EQ(p.runs(), 3);
    EXPECT_EQ(api.BearerTokens().back(), "long");
  }
  // Valid for 1.5 s: cached at first, refreshed a little (a fifth of the
  // lifetime) before the expiry.
  const auto t0 = std::chrono::steady_clock::now();
  p.SetCredential(Credential("short", Rfc3339In(std::chrono::milliseconds(1500))));
  KubeClient client(config, "test", std::chrono::seconds(5));
  EXPECT_EQ(client.Do("GET", "/api/v1/nodes").status, 200);
  EXPECT_EQ(client.Do("GET", "/api/v1/nodes").status, 200);
  if (std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(1100)) {
    EXPECT_EQ(p.runs(), 4);  // (skipped when this machine was too slow to tell)
  }
  p.SetCredential(Credential("next", Rfc3339In(std::chrono::hours(1))));
  std::this_thread::sleep_until(t0 + std::chrono::milliseconds(1350));
  EXPECT_EQ(client.Do("GET", "/api/v1/nodes").status, 200);
  EXPECT_EQ(api.BearerTokens().back(), "next");
  const int runs = p.runs();
  EXPECT_GE(runs, 5);
  EXPECT_EQ(client.Do("GET", "/api/v1/nodes").status, 200);
  EXPECT_EQ(p.runs(), runs);
}

TEST(KubeClientTest, ExecPluginRunsOnceForConcurrentRequests) {
  FakeApiServer api;
  int port = api.Start();
  ASSERT_GT(port, 0);
  api.RequireBearerToken("shared");
  PluginDir p("http://127.0.0.1:" + std::to_string(port), "      - {name: PLUGIN_DELAY, value: \"0.2\"}\n");
  p.SetCredential(Credential("shared"));
  KubeConfig config = p.Load();
  ASSERT_EQ(config.exec->env.size(), 2u);
  KubeClient client(config, "test", std::chrono::seconds(5));
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 3; ++i)
        if (client.Do("GET", "/api/v1/nodes").status == 200) ++ok;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 18);
  EXPECT_EQ(p.runs(), 1);
}

TEST(KubeClientTest, ExecPluginFailureLeavesTheClientRunning) {
  FakeApiServer api;
  int port = api.Start();
  ASSERT_GT(port, 0);
  api.RequireBearerToken("good");
  PluginDir p("http://127.0.0.1:" + std::to_string(port));
  p.SetCredential(Credential("good"));
  WriteFile(p.dir + "/fail", "token service unreachable\n");
  KubeConfig config = p.Load();
  config.exec->failure_backoff = std::chrono::hours(1);
  {
    KubeClient client(config, "test", std::chrono::seconds(5));
    HttpResult r = client.Do("GET", "/api/v1/nodes");  // logged; the request goes without a token
    EXPECT_EQ(r.status, 401);
    EXPECT_EQ(api.BearerTokens().back(), "");
    EXPECT_EQ(p.runs(), 1);
    std::filesystem::remove(p.dir + "/fail");
    EXPECT_EQ(client.Do("GET", "/api/v1/nodes").status, 401);  // within the backoff: not rerun
    EXPECT_EQ(p.runs(), 1);
  }
  config.exec->failure_backoff = std::chrono::milliseconds(0);
  WriteFile(p.dir + "/fail", "token service unreachable\n");
  KubeClient client(config, "test", std::chrono::seconds(5));
  EXPECT_EQ(client.Do("GET", "/api/v1/nodes").status, 401);
  EXPECT_EQ(p.runs(), 2);
  std::filesystem::remove(p.dir + "/fail");
  EXPECT_EQ(client.Do("GET", "/api/v1/nodes").status, 200);
  EXPECT_EQ(p.runs(), 3);
  EXPECT_EQ(api.BearerTokens().back(), "good");
}

TEST(KubeClientTest, ExecPluginErrors) {
  std::string dir = apiary::testing::TempDir("exec-errors");
  KubeConfig c;
  c.server = "https://10.0.0.1:6443";
  c.exec.emplace();
  c.exec->user = "robot";
  c.exec->api_version = kV1;
  c.exec->install_hint = "install it with: apt-get install robot-auth";
  auto run = [&](const std::string& script) {
    WritePlugin(dir + "/plugin", script);
    c.exec->command = dir + "/plugin";
    return RunExecPlugin(c);
  };
  auto message = [](const cell::Result<ExecCredential>& r) {
    return r.ok() ? std::string("ok") : r.status().message();
  };
  auto has = [](const std::string& m, const std::string& part) { return m.find(part) != std::string::npos; };

  // Success, with an expiry.
  auto ok = run("echo '" + Credential("t", "2030-01-02T03:04:05+01:00") + "'");
  ASSERT_TRUE(ok.ok()) << message(ok);
  EXPECT_EQ(ok->token, "t");
  ASSERT_TRUE(ok->expiry.has_value());
  EXPECT_EQ(std::chrono::system_clock::to_time_t(*ok->expiry), 1893549845);  // 2030-01-02T02:04:05Z
  // v1beta1 both ways.
  c.exec->api_version = "client.authentication.k8s.io/v1beta1";
  ok = run("echo '" + Credential("b", "", "client.authentication.k8s.io/v1beta1") + "'");
  ASSERT_TRUE(ok.ok()) << message(ok);
  EXPECT_FALSE(ok->expiry.has_value());
  c.exec->api_version = kV1;

  // The command is not there: the install hint is in the message.
  c.exec->command = "apiary-no-such-credential-plugin";
  std::string m = message(RunExecPlugin(c));
  EXPECT_TRUE(has(m, "kubeconfig user \"robot\"")) << m;
  EXPECT_TRUE(has(m, "not found")) << m;
  EXPECT_TRUE(has(m, "install it with: apt-get install robot-auth")) << m;
  c.exec->command = dir + "/missing/plugin";
  m = message(RunExecPlugin(c));
  EXPECT_TRUE(has(m, "no such file")) << m;
  EXPECT_TRUE(has(m, "apt-get install robot-auth")) << m;

  m = message(run("echo 'error: credentials expired, run login' >&2\nexit 3\n"));
  EXPECT_TRUE(has(m, "exited with status 3: error: credentials expired, run login")) << m;
  m = message(run("echo not json\n"));
  EXPECT_TRUE(has(m, "stdout is not an ExecCredential")) << m;
  m = message(run(""));
  EXPECT_TRUE(has(m, "stdout is not an ExecCredential")) << m;
  m = message(run(R"(echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"Secret","status":{"token":"t"}}')"));
  EXPECT_TRUE(has(m, "kind \"Secret\", want \"ExecCredential\"")) << m;
  m = message(run("echo '" + Credential("t", "", "client.authentication.k8s.io/v1beta1") + "'"));
  EXPECT_TRUE(has(m, "apiVersion \"client.authentication.k8s.io/v1beta1\", want")) << m;
  EXPECT_TRUE(has(m, "users[robot].user.exec.apiVersion")) << m;
  m = message(run(R"(echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential"}')"));
  EXPECT_TRUE(has(m, "no status")) << m;
  m = message(run(R"(echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{}}')"));
  EXPECT_TRUE(has(m, "status.token is missing")) << m;
  m = message(run(R"(echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential",)"
                  R"("status":{"clientCertificateData":"x","clientKeyData":"y"}}')"));
  EXPECT_TRUE(has(m, "status.clientCertificateData: not a PEM certificate")) << m;
  m = message(run(R"(echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential",)"
                  R"("status":{"clientCertificateData":"x"}}')"));
  EXPECT_TRUE(has(m, "status.clientCertificateData is set without clientKeyData")) << m;
  m = message(run(R"(echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential",)"
                  R"("status":{"token":"t","clientKeyData":"y"}}')"));
  EXPECT_TRUE(has(m, "status.clientKeyData is set without clientCertificateData")) << m;
  m = message(run(R"(echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential",)"
                  R"("status":{"token":7}}')"));
  EXPECT_TRUE(has(m, "status.token is a JSON number, not a string")) << m;
  m = message(run("echo '" + Credential("t", "tomorrow") + "'"));
  EXPECT_TRUE(has(m, "status.expirationTimestamp \"tomorrow\" is not an RFC 3339 time")) << m;
  m = message(run("echo '" + Credential("t", "2030-01-02 03:04:05") + "'"));
  EXPECT_TRUE(has(m, "expirationTimestamp")) << m;

  // Too much output, and a plugin that hangs (with a child holding stdout):
  // killed, with its process group.
  c.exec->max_output_bytes = 100;
  m = message(run("i=0; while [ $i -lt 50 ]; do echo 0123456789; i=$((i+1)); done\n"));
  EXPECT_TRUE(has(m, "more than 100 bytes")) << m;
  c.exec->timeout = std::chrono::milliseconds(300);
  auto start = std::chrono::steady_clock::now();
  m = message(run("sleep 30\n"));
  EXPECT_TRUE(has(m, "did not finish within 300 ms")) << m;
  m = message(run("sh -c 'echo $$ > \"$0\"; exec sleep 30' " + dir + "/bg.pid &\necho '" + Credential("t") + "'\n"));
  EXPECT_TRUE(has(m, "did not finish within 300 ms")) << m;
  // The background child went with the plugin's process group.
  pid_t bg = std::atoi(apiary::testing::ReadAll(dir + "/bg.pid").c_str());
  ASSERT_GT(bg, 0);
  EXPECT_TRUE(WaitUntil(
      [&] {
        if (::kill(bg, 0) != 0) return true;
        std::string stat = apiary::testing::ReadAll("/proc/" + std::to_string(bg) + "/stat");
        auto close = stat.rfind(')');
        return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'Z';
      },
      std::chrono::seconds(3)))
      << "pid " << bg << " survived";
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  // A cancelled run (the client stopping) ends at once.
  c.exec->timeout = std::chrono::seconds(30);
  std::atomic<bool> cancel{true};
  WritePlugin(dir + "/plugin", "sleep 30\n");
  m = message(RunExecPlugin(c, &cancel));
  EXPECT_TRUE(has(m, "cancelled")) << m;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));

  // Every child was reaped: no zombies left behind.
  errno = 0;
  EXPECT_EQ(waitpid(-1, nullptr, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

TEST(KubeClientTest, KubeconfigExecValidation) {
  std::string dir = apiary::testing::TempDir("kubeconfig-exec");
  auto load = [&](const std::string& user) {
    WriteFile(dir + "/config", R"(apiVersion: v1
kind: Config
current-context: test
clusters:
- name: c
  cluster: {server: "https://10.0.0.1:6443"}
contexts:
- name: test
  context: {cluster: c, user: u}
users:
- name: u
  user:
)" + user);
    auto r = LoadKubeconfig(dir + "/config");
    return r.ok() ? std::string("ok") : r.status().message();
  };
  auto has = [](const std::string& m, const std::string& part) { return m.find(part) != std::string::npos; };
  const std::string path = dir + "/config: users[u].user.exec";

  EXPECT_EQ(load("    exec: {apiVersion: client.authentication.k8s.io/v1, command: /usr/bin/x}\n"), "ok");
  EXPECT_EQ(load("    exec: {apiVersion: client.authentication.k8s.io/v1, command: x, interactiveMode: Never}\n"),
            "ok");
  std::string m = load("    exec: {apiVersion: client.authentication.k8s.io/v1}\n");
  EXPECT_TRUE(has(m, path + ".command: missing")) << m;
  m = load("    exec: {command: x}\n");
  EXPECT_TRUE(has(m, path + ".apiVersion: missing")) << m;
  m = load("    exec: {apiVersion: client.authentication.k8s.io/v1alpha1, command: x}\n");
  EXPECT_TRUE(has(m, path + ".apiVersion: client.authentication.k8s.io/v1alpha1 is not supported")) << m;
  m = load("    exec: {apiVersion: v1, command: x}\n");
  EXPECT_TRUE(has(m, path + ".apiVersion: \"v1\" is not supported")) << m;
  m = load("    exec: {apiVersion: client.authentication.k8s.io/v1, command: x, interactiveMode: Always}\n");
  EXPECT_TRUE(has(m, path + ".interactiveMode: Always is not supported")) << m;
  m = load("    exec: {apiVersion: client.authentication.k8s.io/v1, command: x, interactiveMode: Sometimes}\n");
  EXPECT_TRUE(has(m, path + ".interactiveMode: \"Sometimes\"")) << m;
  m = load("    exec: {apiVersion: client.authentication.k8s.io/v1, command: x, args: notalist}\n");
  EXPECT_TRUE(has(m, path + ".args: must be a list")) << m;
  m = load("    exec: {apiVersion: client.authentication.k8s.io/v1, command: x, env: [{value: v}]}\n");
  EXPECT_TRUE(has(m, path + ".env[0].name: missing")) << m;
  m = load("    exec: {apiVersion: client.authentication.k8s.io/v1, command: x, provideClusterInfo: maybe}\n");
  EXPECT_TRUE(has(m, path + ".provideClusterInfo: must be true or false")) << m;
  m = load("    token: abc\n    exec: {apiVersion: client.authentication.k8s.io/v1, command: x}\n");
  EXPECT_TRUE(has(m, path + ": cannot be combined with token or tokenFile")) << m;
  m = load("    auth-provider: {name: gcp}\n");
  EXPECT_TRUE(has(m, dir + "/config: users[u].user.auth-provider: auth-provider plugins are not supported")) << m;
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

}  // namespace
}  // namespace apiary::extender
