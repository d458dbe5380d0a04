// Fidelity of the fake API server: the real kubectl lists its pods and nodes
// (discovery, lists, typed decoding) and reads a bound pod's annotations.
// Skipped with a message when kubectl is not installed.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <set>

#include "cluster_harness.h"

namespace apiary::testing {
namespace {

std::string Shell(const std::string& cmd, int* rc) {
  std::string out;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) {
    *rc = -1;
    return out;
  }
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int status = pclose(p);
  *rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

TEST(KubectlFidelityTest, KubectlListsPodsAndNodes) {
  int rc = 0;
  Shell("command -v kubectl", &rc);
  if (rc != 0) GTEST_SKIP() << "kubectl not installed: apt-get install kubernetes-client to run this test";
  Cluster c("kubectl");
  ASSERT_TRUE(c.StartApi());
  for (const auto& n : BasicNodes()) c.CreateNode(n, n != "k80-03");
  c.CreatePod("ml", "train-0", PodSpecArgs{"prod", 10, "V100", 8});
  c.CreatePod("research", "eval-1", PodSpecArgs{"research", 5, "V100", 4});
  std::string kubeconfig = c.dir() + "/kubeconfig";
  std::ofstream(kubeconfig) << "apiVersion: v1\nkind: Config\ncurrent-context: fake\nclusters:\n- name: fake\n"
                               "  cluster:\n    server: http://127.0.0.1:"
                            << c.api_port()
                            << "\ncontexts:\n- name: fake\n  context: {cluster: fake, user: fake}\n"
                               "users:\n- name: fake\n  user: {token: t}\n";
  std::string kubectl = "kubectl --kubeconfig " + kubeconfig + " --cache-dir " + c.dir() + "/cache --request-timeout 10s ";

  std::string out = Shell(kubectl + "get pods -A -o json", &rc);
  ASSERT_EQ(rc, 0) << out;
  Json list = Json::parse(out);
  ASSERT_EQ(list["items"].size(), 2u) << out;
  std::set<std::string> names;
  for (const auto& p : list["items"]) names.insert(p["metadata"]["namespace"].get<std::string>() + "/" +
                                                   p["metadata"]["name"].get<std::string>());
  EXPECT_EQ(names, (std::set<std::string>{"ml/train-0", "research/eval-1"}));

  out = Shell(kubectl + "get nodes -o name", &rc);
  ASSERT_EQ(rc, 0) << out;
  for (const auto& n : BasicNodes()) EXPECT_NE(out.find("node/" + n), std::string::npos) << out;

  // The human-readable table (kubectl's own printer for non-Table replies).
  out = Shell(kubectl + "get pods -n ml", &rc);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("train-0"), std::string::npos) << out;

  // Bind through the fake's binding subresource, then read it with kubectl.
  Json pod = c.GetPod("ml", "train-0");
  Json binding = {{"apiVersion", "v1"}, {"kind", "Binding"},
                  {"metadata", {{"name", "train-0"}, {"uid", pod["metadata"]["uid"]},
                                {"annotations", {{"hivedscheduler.microsoft.com/pod-leaf-cell-isolation", "0,1"}}}}},
                  {"target", {{"apiVersion", "v1"}, {"kind", "Node"}, {"name", "dgx-01"}}}};
  ASSERT_EQ(Call(c.api_port(), "POST", "/api/v1/namespaces/ml/pods/train-0/binding", binding.dump()).status, 201);
  out = Shell(kubectl + "get pod -n ml train-0 -o jsonpath='{.spec.nodeName} {.metadata.annotations}'", &rc);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("dgx-01"), std::string::npos) << out;
  EXPECT_NE(out.find("pod-leaf-cell-isolation"), std::string::npos) << out;

  // kubectl's watch consumes the chunked watch stream.
  out = Shell("timeout 5 " + kubectl + "get pods -A --watch -o name --request-timeout 3s", &rc);
  EXPECT_NE(out.find("pod/train-0"), std::string::npos) << out;

  // kubectl delete goes through the same DELETE path the extender watches.
  out = Shell(kubectl + "delete pod -n research eval-1 --wait=false", &rc);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_TRUE(c.GetPod("research", "eval-1").is_null());
}

}  // namespace
}  // namespace apiary::testing
