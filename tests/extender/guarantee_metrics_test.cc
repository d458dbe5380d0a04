// The guarantee headroom gauges (extender.md "Guarantee headroom") through
// the extender's /metrics: healthy, a VC's own guaranteed pod counted as
// placed, opportunistic pods not blocking, a failed node putting a fully
// assigned chain at risk, and a second one breaking a promise.
#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <vector>

#include "apiary/extender/extender.h"
#include "test_util.h"

namespace apiary::extender {
namespace {

using apiary::testing::BasicNodes;
using apiary::testing::BindBody;
using apiary::testing::FilterBody;
using apiary::testing::Json;
using apiary::testing::PodObject;
using apiary::testing::PodSpecArgs;

// Accepts every call; keeps the bindings' annotations, which the informer
// would then see on the bound pod.
class NullApi : public ClusterApi {
 public:
  ApiStatus PatchPodAnnotations(const cell::PodRef&, const AnnotationPatch&) override {
    return {200, "", ""};
  }
  ApiStatus CreateBinding(const BindingRequest& req) override {
    std::lock_guard lock(mu);
    bindings.push_back(req);
    return {201, "", ""};
  }
  ApiStatus EvictPod(const cell::PodRef&) override { return {201, "", ""}; }
  ApiStatus DeletePod(const cell::PodRef&) override { return {200, "", ""}; }
  void RecordEvent(const cell::PodRef&, const std::string&, const std::string&,
                   const std::string&) override {}
  std::mutex mu;
  std::vector<BindingRequest> bindings;
};

NodeInfo Node(const std::string& name, bool ready = true) {
  NodeInfo n;
  n.name = name;
  n.ready = ready;
  return n;
}

PodInfo Info(const Json& pod) {
  std::string text = pod.dump();
  auto doc = JsonDoc::Parse(text);
  EXPECT_TRUE(doc.ok());
  auto p = DecodePod(doc->root(), "pod");
  EXPECT_TRUE(p.ok()) << p.status().message();
  return *p;
}

class GuaranteeMetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ext_ = std::make_unique<Extender>(ExtenderOptions{}, &api_, &clock_);
    ASSERT_TRUE(ext_->LoadConfig(apiary::testing::ReadAll(std::string(APIARY_SOURCE_DIR) +
                                                          "/examples/configs/hived-basic.yaml"),
                                 "hived-basic.yaml")
                    .ok());
    std::vector<NodeInfo> nodes;
    for (const auto& n : BasicNodes()) nodes.push_back(Node(n));
    ext_->OnSynced(nodes, {});
  }
  void TearDown() override {
    EXPECT_EQ(ext_->CheckInvariants(), "");
    ext_->Shutdown(std::chrono::seconds(5));
  }

  std::string Metrics() {
    HttpResponse r = ext_->Handle(HttpRequest{"GET", "/metrics", ""});
    EXPECT_EQ(r.status, 200);
    return r.body;
  }
  // Filter, bind and observe the pod bound (as the informer would).
  void Run(const std::string& name, const PodSpecArgs& a) {
    Json pod = PodObject("ml", name, a);
    pod["metadata"]["uid"] = "uid-" + name;
    ext_->OnPodEvent(WatchEventType::kAdded, Info(pod));
    HttpResponse f = ext_->Handle(
        HttpRequest{"POST", "/v1/extender/filter", FilterBody(pod, BasicNodes())});
    Json fj = Json::parse(f.body);
    ASSERT_TRUE(fj["NodeNames"].is_array()) << f.body;
    std::string node = fj["NodeNames"][0];
    HttpResponse b = ext_->Handle(HttpRequest{"POST", "/v1/extender/bind", BindBody(pod, node)});
    ASSERT_EQ(Json::parse(b.body)["Error"], "") << b.body;
    {
      std::lock_guard lock(api_.mu);
      for (const auto& req : api_.bindings)
        if (req.pod.uid == pod["metadata"]["uid"])
          for (const auto& [k, v] : req.annotations) pod["metadata"]["annotations"][k] = v;
    }
    pod["spec"]["nodeName"] = node;
    ext_->OnPodEvent(WatchEventType::kModified, Info(pod));
  }
  static std::string Cells(const std::string& metric, const std::string& vc,
                           const std::string& chain, int level, const std::string& type) {
    return "apiary_vc_guarantee_" + metric + "{vc=\"" + vc + "\",chain=\"" + chain +
           "\",level=\"" + std::to_string(level) + "\",cell_type=\"" + type + "\"} ";
  }
  static std::string Flag(const std::string& metric, const std::string& vc,
                          const std::string& chain) {
    return "apiary_vc_guarantee_" + metric + "{vc=\"" + vc + "\",chain=\"" + chain + "\"} ";
  }
  // Asserts every "sample value" line is in the exposition.
  void ExpectSamples(const std::vector<std::string>& samples) {
    const std::string m = Metrics();
    for (const auto& s : samples) EXPECT_NE(m.find("\n" + s + "\n"), std::string::npos) << s << "\n" << m;
  }

  NullApi api_;
  cell::ManualClock clock_{1000};
  std::unique_ptr<Extender> ext_;
};

TEST_F(GuaranteeMetricsTest, HealthyClusterKeepsEveryPromise) {
  const std::string m = Metrics();
  for (const char* g : {"apiary_vc_guarantee_cells", "apiary_vc_guarantee_placeable_cells",
                        "apiary_vc_guarantee_doomed_cells", "apiary_vc_guarantee_broken",
                        "apiary_vc_guarantee_at_risk"})
    EXPECT_NE(m.find(std::string("# TYPE ") + g + " gauge\n"), std::string::npos) << g;
  // prod: 2 V100 nodes and the pinned dgx-04, 8 GPUs behind 2 switches each.
  ExpectSamples({Cells("cells", "prod", "V100-RACK", 3, "V100-NODE") + "3",
                 Cells("placeable_cells", "prod", "V100-RACK", 3, "V100-NODE") + "3",
                 Cells("cells", "prod", "V100-RACK", 2, "V100-SWITCH") + "6",
                 Cells("placeable_cells", "prod", "V100-RACK", 1, "V100") + "24",
                 Cells("cells", "research", "V100-RACK", 2, "V100-SWITCH") + "2",
                 Cells("placeable_cells", "research", "K80-POOL", 2, "K80-NODE") + "2",
                 Cells("doomed_cells", "default", "K80-POOL", 2, "K80-NODE") + "0",
                 Flag("broken", "prod", "V100-RACK") + "0",
                 Flag("broken", "research", "K80-POOL") + "0",
                 Flag("at_risk", "default", "K80-POOL") + "0"});
  // No level above a VC's largest cell.
  EXPECT_EQ(m.find(Cells("cells", "research", "V100-RACK", 3, "V100-NODE")), std::string::npos);
}

TEST_F(GuaranteeMetricsTest, OwnGuaranteedPodsArePlacedAndOpportunisticOnesDoNotBlock) {
  Run("g-0", PodSpecArgs{"prod", 10, "V100", 8});
  // Opportunistic pods on the rest of the rack's free GPUs.
  for (int i = 0; i < 3; ++i) Run("o-" + std::to_string(i), PodSpecArgs{"research", -1, "V100", 8});
  ExpectSamples({Cells("placeable_cells", "prod", "V100-RACK", 1, "V100") + "24",
                 Cells("placeable_cells", "research", "V100-RACK", 1, "V100") + "8",
                 Flag("broken", "prod", "V100-RACK") + "0",
                 Flag("broken", "research", "V100-RACK") + "0",
                 Flag("at_risk", "research", "V100-RACK") + "0"});
}

TEST_F(GuaranteeMetricsTest, FailedNodesPutAtRiskThenBreakAPromise) {
  // The K80 pool is fully assigned (research 2 nodes, default 1): losing a
  // node leaves each VC able to get its cells alone, but not both.
  ext_->OnNodeEvent(WatchEventType::kModified, Node("k80-01", false));
  ExpectSamples({Cells("placeable_cells", "research", "K80-POOL", 2, "K80-NODE") + "2",
                 Flag("broken", "research", "K80-POOL") + "0",
                 Flag("at_risk", "research", "K80-POOL") + "1",
                 Flag("at_risk", "default", "K80-POOL") + "1",
                 Flag("at_risk", "prod", "V100-RACK") + "0"});
  // A second one: research has 2 nodes to place and 1 healthy node is
  // left, so one of its cells is doomed (hived.md 8.2) -- broken.
  ext_->OnNodeEvent(WatchEventType::kModified, Node("k80-02", false));
  ExpectSamples({Cells("placeable_cells", "research", "K80-POOL", 2, "K80-NODE") + "1",
                 Cells("doomed_cells", "research", "K80-POOL", 2, "K80-NODE") + "1",
                 Cells("placeable_cells", "research", "K80-POOL", 1, "K80") + "4",
                 Flag("broken", "research", "K80-POOL") + "1",
                 Flag("at_risk", "research", "K80-POOL") + "0",
                 Flag("broken", "default", "K80-POOL") + "0",
                 Flag("at_risk", "default", "K80-POOL") + "1"});
  // Healing gives the doomed cell back.
  ext_->OnNodeEvent(WatchEventType::kModified, Node("k80-01", true));
  ext_->OnNodeEvent(WatchEventType::kModified, Node("k80-02", true));
  ExpectSamples({Cells("placeable_cells", "research", "K80-POOL", 1, "K80") + "8",
                 Flag("broken", "research", "K80-POOL") + "0",
                 Flag("at_risk", "default", "K80-POOL") + "0"});
}

}  // namespace
}  // namespace apiary::extender
