// Messages of the extender process that point at the cause: a pod spec key
// HiveD ignores is logged with the nearest known key (docs/extender.md,
// troubleshooting), once per spec.
#include <gtest/gtest.h>

#include "cluster_harness.h"
#include "fake_apiserver.h"

namespace apiary::testing {
namespace {

TEST(ExtenderMessagesTest, AnIgnoredSpecKeyIsLoggedWithTheNearestKnownKey) {
  Cluster c("messages");
  ASSERT_TRUE(c.StartApi());
  for (const auto& n : BasicNodes()) c.CreateNode(n);
  c.WriteConfig(BasicConfigText());
  ASSERT_GT(c.StartExtender(), 0) << c.extender().Log();
  ASSERT_TRUE(c.WaitReady()) << c.extender().Log();
  Json pod = PodObject("ml", "typo", PodSpecArgs{"prod", 10, "V100", 1});
  pod["metadata"]["annotations"]["hivedscheduler.microsoft.com/pod-scheduling-spec"] =
      "{virtualCluster: prod, priority: 10, leafCellNumber: 1, lazyPreemptionEnabled: true}";
  pod = Call(c.api_port(), "POST", "/api/v1/namespaces/ml/pods", pod.dump()).json();
  Json f = c.FilterKnown(pod);
  ASSERT_TRUE(f["NodeNames"].is_array()) << f.dump();  // the spec is valid: the pod binds
  c.Filter(pod);
  std::string log = c.extender().Log();
  size_t at = log.find("event=pod_spec_warning");
  ASSERT_NE(at, std::string::npos) << log;
  EXPECT_NE(log.find("lazyPreemptionEnabled is ignored (did you mean lazyPreemptionEnable?)"),
            std::string::npos)
      << log;
  // Once per spec text, not on every filter call.
  EXPECT_EQ(log.find("event=pod_spec_warning", at + 1), std::string::npos) << log;
}

}  // namespace
}  // namespace apiary::testing
