// The Kubernetes client side against the in-process fake API server over
// loopback: list + watch (and relist on 410), binding, patch, eviction,
// deletion, leader election, kubeconfig loading.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>

#include "apiary/cell/pod_spec.h"
#include "apiary/extender/informer.h"
#include "apiary/extender/kube_client.h"
#include "apiary/extender/leader.h"
#include "fake_apiserver.h"
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
  EXPECT_EQ(bound["status"]["conditions"][0]["type"], "PodScheduled");
  // A retry after a lost reply: 409 naming the same node.
  st = client.CreateBinding(req);
  EXPECT_EQ(st.code, 409);
  EXPECT_EQ(st.assigned_node, "n1");
  // A recreated pod of the same name (other UID) is never bound by mistake.
  cell::PodRef stale{"other-uid", "ns", "p"};
  req.pod = stale;
  st = client.CreateBinding(req);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message.find("immutable"), std::string::npos) << st.message;
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
users:
- name: u1
  user: {tokenFile: token}
- name: u2
  user: {token: abc}
- name: u3
  user:
    exec: {command: gke-gcloud-auth-plugin}
)";
  }
  auto c = LoadKubeconfig(dir + "/config");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->server, "https://10.0.0.1:6443");
  EXPECT_TRUE(c->insecure);
  EXPECT_EQ(c->token_file, dir + "/token");
  EXPECT_EQ(c->ns, "ml");
  auto other = LoadKubeconfig(dir + "/config", "other");
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->token, "abc");
  EXPECT_EQ(other->ca_pem, "-----BEGIN CERTIFICATE-----\n");
  auto plugin = LoadKubeconfig(dir + "/config", "plugin");
  ASSERT_FALSE(plugin.ok());
  EXPECT_NE(plugin.status().message().find("exec and auth-provider credential plugins are not supported"),
            std::string::npos);
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

}  // namespace
}  // namespace apiary::extender
