// Start-up rule of leader election (extender.md, "Leader election"): a
// replica whose configuration is rejected does not take the Lease; it
// competes once a valid configuration is in force.
#include <gtest/gtest.h>

#include <thread>

#include "cluster_harness.h"
#include "fake_apiserver.h"

namespace apiary::testing {
namespace {

constexpr char kLeasePath[] = "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/apiary-extender";

TEST(LeaderConfigTest, ARejectedConfigDefersTheLeaseUntilAValidOneLoads) {
  Cluster c("leader-config");
  ASSERT_TRUE(c.StartApi());
  for (const auto& n : BasicNodes()) c.CreateNode(n);
  c.WriteConfig("physicalCluster: [");
  ASSERT_GT(c.StartExtender({"--leader-elect", "--leader-elect-namespace", "kube-system",
                             "--leader-elect-identity", "broken-first"}),
            0)
      << c.extender().Log();
  ASSERT_FALSE(c.extender().WaitForLog("event=leader_election_deferred", std::chrono::seconds(10)).empty())
      << c.extender().Log();
  // Several retry periods later, still no Lease and no leadership.
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  EXPECT_EQ(Call(c.api_port(), "GET", kLeasePath).status, 404);
  EXPECT_EQ(c.extender().Log().find("leader_acquired"), std::string::npos) << c.extender().Log();
  EXPECT_EQ(Call(c.port(), "GET", "/readyz").status, 503);

  // The file is fixed: the replica now competes, takes the Lease and serves.
  c.WriteConfig(BasicConfigText());
  ASSERT_TRUE(c.WaitReady(0, std::chrono::seconds(20))) << c.extender().Log();
  HttpReply lease = Call(c.api_port(), "GET", kLeasePath);
  ASSERT_EQ(lease.status, 200);
  EXPECT_EQ(lease.json()["spec"]["holderIdentity"], "broken-first");
}

}  // namespace
}  // namespace apiary::testing
