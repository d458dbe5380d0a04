// The deployment manifests (examples/kubernetes/apiary-extender/) keep the
// properties docs/extender.md promises: probes that survive one slow answer,
// a PodDisruptionBudget, the Lease RBAC narrowed to the Lease the extender
// is told to use.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

namespace apiary::extender {
namespace {

const std::string kDir = std::string(APIARY_SOURCE_DIR) + "/examples/kubernetes/apiary-extender/";

std::vector<YAML::Node> Docs(const std::string& file) { return YAML::LoadAllFromFile(kDir + file); }

YAML::Node Find(const std::vector<YAML::Node>& docs, const std::string& kind, const std::string& name) {
  for (const YAML::Node& d : docs)
    if (d["kind"].as<std::string>() == kind && d["metadata"]["name"].as<std::string>() == name) return d;
  return YAML::Node();
}

TEST(ManifestsTest, ProbesPdbAndLeaseRbacMatchTheExtendersFlags) {
  auto extender = Docs("extender.yaml");
  YAML::Node deploy = Find(extender, "Deployment", "apiary-extender");
  ASSERT_TRUE(deploy) << "no Deployment apiary-extender";
  YAML::Node c = deploy["spec"]["template"]["spec"]["containers"][0];
  YAML::Node ready = c["readinessProbe"];
  EXPECT_GE(ready["failureThreshold"].as<int>(), 3);
  EXPECT_GE(ready["timeoutSeconds"].as<int>(), 2);
  std::string lease_name, lease_ns;
  for (const YAML::Node& a : c["args"]) {
    std::string s = a.as<std::string>();
    if (s.rfind("--leader-elect-name=", 0) == 0) lease_name = s.substr(20);
    if (s.rfind("--leader-elect-namespace=", 0) == 0) lease_ns = s.substr(25);
  }
  ASSERT_FALSE(lease_name.empty());

  YAML::Node pdb = Find(extender, "PodDisruptionBudget", "apiary-extender");
  ASSERT_TRUE(pdb) << "no PodDisruptionBudget";
  EXPECT_EQ(pdb["spec"]["selector"]["matchLabels"]["app"].as<std::string>(),
            deploy["spec"]["selector"]["matchLabels"]["app"].as<std::string>());
  EXPECT_EQ(pdb["spec"]["maxUnavailable"].as<int>(), 1);

  auto rbac = Docs("rbac.yaml");
  YAML::Node role = Find(rbac, "Role", "apiary-extender-lease");
  ASSERT_TRUE(role);
  EXPECT_EQ(role["metadata"]["namespace"].as<std::string>(), lease_ns);
  bool narrowed = false;
  for (const YAML::Node& rule : role["rules"]) {
    bool get_update = false;
    for (const YAML::Node& v : rule["verbs"]) get_update |= v.as<std::string>() != "create";
    if (!get_update) continue;  // create cannot be narrowed by name
    ASSERT_TRUE(rule["resourceNames"]) << "get/update on every Lease";
    ASSERT_EQ(rule["resourceNames"].size(), 1u);
    EXPECT_EQ(rule["resourceNames"][0].as<std::string>(), lease_name);
    narrowed = true;
  }
  EXPECT_TRUE(narrowed);
  // No cluster-wide lease permission is left in the ClusterRole.
  for (const YAML::Node& rule : Find(rbac, "ClusterRole", "apiary-extender")["rules"])
    for (const YAML::Node& r : rule["resources"]) EXPECT_NE(r.as<std::string>(), "leases");
}

}  // namespace
}  // namespace apiary::extender
