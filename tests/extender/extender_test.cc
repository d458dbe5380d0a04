// The extender's core in-process (extender.md 4, 6, 7): filter, bind, preempt,
// inspect, recovery, reconfiguration and input safety, with a recording fake
// of the API calls.
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "apiary/cell/annotations.h"
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
using apiary::testing::PreemptBody;

std::string BasicConfig() { return apiary::testing::ReadAll(std::string(APIARY_SOURCE_DIR) + "/examples/configs/hived-basic.yaml"); }

class RecordingApi : public ClusterApi {
 public:
  ApiStatus PatchPodAnnotations(const cell::PodRef& pod, const AnnotationPatch& patch) override {
    std::lock_guard lock(mu);
    patches.emplace_back(pod, patch);
    return {200, "", ""};
  }
  ApiStatus CreateBinding(const BindingRequest& req) override {
    std::lock_guard lock(mu);
    bindings.push_back(req);
    if (fail_code) {
      ApiStatus s{fail_code, "injected", ""};
      if (fail_code == 409) s.assigned_node = assigned_node;
      return s;
    }
    return {201, "", ""};
  }
  ApiStatus EvictPod(const cell::PodRef& pod) override {
    std::lock_guard lock(mu);
    evictions.push_back(pod);
    return {201, "", ""};
  }
  ApiStatus DeletePod(const cell::PodRef& pod) override {
    std::lock_guard lock(mu);
    deletions.push_back(pod);
    return {200, "", ""};
  }
  void RecordEvent(const cell::PodRef& pod, const std::string&, const std::string& reason,
                   const std::string&) override {
    std::lock_guard lock(mu);
    events.emplace_back(pod.uid, reason);
  }
  size_t Bindings() {
    std::lock_guard lock(mu);
    return bindings.size();
  }

  std::mutex mu;
  std::vector<BindingRequest> bindings;
  std::vector<cell::PodRef> evictions, deletions;
  std::vector<std::pair<cell::PodRef, AnnotationPatch>> patches;
  std::vector<std::pair<std::string, std::string>> events;
  int fail_code = 0;
  std::string assigned_node;
};

PodInfo Info(const Json& pod) {
  std::string text = pod.dump();
  auto doc = JsonDoc::Parse(text);
  EXPECT_TRUE(doc.ok());
  auto p = DecodePod(doc->root(), "pod");
  EXPECT_TRUE(p.ok()) << p.status().message();
  return *p;
}

NodeInfo Node(const std::string& name, bool ready = true) {
  NodeInfo n;
  n.name = name;
  n.ready = ready;
  return n;
}

class ExtenderTest : public ::testing::Test {
 protected:
  void Start(ExtenderOptions opts = {}, const std::string& config = BasicConfig()) {
    opts.annotation_sync_interval = std::chrono::milliseconds(10);
    ext_ = std::make_unique<Extender>(opts, &api_, &clock_);
    ASSERT_TRUE(ext_->LoadConfig(config, "test.yaml").ok());
    std::vector<NodeInfo> nodes;
    for (const auto& n : BasicNodes()) nodes.push_back(Node(n));
    ext_->OnSynced(nodes, {});
  }
  void TearDown() override {
    if (ext_) {
      EXPECT_EQ(ext_->CheckInvariants(), "");
      ext_->Shutdown(std::chrono::seconds(5));
    }
  }

  Json AddPod(const std::string& name, const PodSpecArgs& a, const std::string& ns = "ml") {
    Json pod = PodObject(ns, name, a);
    pod["metadata"]["uid"] = "uid-" + name;
    ext_->OnPodEvent(WatchEventType::kAdded, Info(pod));
    return pod;
  }
  // A fresh extender (a restarted process) given `bound` by its first lists;
  // `check` sees it after recovery.
  void Restarted(const std::vector<PodInfo>& bound, const std::function<void(Extender&)>& check) {
    RecordingApi api2;
    Extender fresh(ExtenderOptions{}, &api2, &clock_);
    ASSERT_TRUE(fresh.LoadConfig(BasicConfig(), "test.yaml").ok());
    std::vector<NodeInfo> nodes;
    for (const auto& n : BasicNodes()) nodes.push_back(Node(n));
    fresh.OnSynced(nodes, bound);
    check(fresh);
    fresh.Shutdown(std::chrono::seconds(1));
  }
  HttpResponse Do(const std::string& method, const std::string& path, const std::string& body = "") {
    return ext_->Handle(HttpRequest{method, path, body});
  }
  Json Filter(const Json& pod, const std::vector<std::string>& nodes = BasicNodes()) {
    HttpResponse r = Do("POST", "/v1/extender/filter", FilterBody(pod, nodes));
    EXPECT_EQ(r.status, 200);
    return Json::parse(r.body);
  }
  Json Bind(const Json& pod, const std::string& node) {
    HttpResponse r = Do("POST", "/v1/extender/bind", BindBody(pod, node));
    EXPECT_EQ(r.status, 200);
    return Json::parse(r.body);
  }
  // The watch shows the pod bound (with the annotations the binding wrote);
  // returns the pod as delivered.
  Json ObserveBound(Json pod, const std::string& node) {
    std::lock_guard lock(api_.mu);
    for (const auto& b : api_.bindings)
      if (b.pod.uid == pod["metadata"]["uid"])
        for (const auto& [k, v] : b.annotations) pod["metadata"]["annotations"][k] = v;
    pod["spec"]["nodeName"] = node;
    pod["status"]["conditions"] = Json::array(
        {{{"type", "PodScheduled"}, {"status", "True"}, {"lastTransitionTime", "2024-01-01T00:00:0" + std::to_string(seq_++ % 10) + "Z"}}});
    ext_->OnPodEvent(WatchEventType::kModified, Info(pod));
    return pod;
  }
  // The watch shows the pod bound to `node` by another client: no
  // annotations of this extender. Returns the pod as delivered.
  Json ObserveBoundByAnother(Json pod, const std::string& node) {
    pod["spec"]["nodeName"] = node;
    pod["status"]["conditions"] = Json::array(
        {{{"type", "PodScheduled"}, {"status", "True"}, {"lastTransitionTime", "2024-01-01T00:00:0" + std::to_string(seq_++ % 10) + "Z"}}});
    ext_->OnPodEvent(WatchEventType::kModified, Info(pod));
    return pod;
  }
  int64_t BoundElsewhereCount() {
    const std::string text = ext_->metrics().Render();
    const std::string series = "\napiary_extender_pods_bound_elsewhere_total ";
    size_t at = text.find(series);
    return at == std::string::npos ? -1 : std::stoll(text.substr(at + series.size()));
  }
  // Expects a restarted extender, given `pods` by its first lists, to show
  // what this one shows now.
  void ExpectRestartAgrees(const std::vector<Json>& pods) {
    const std::string live = Inspect();
    std::vector<PodInfo> infos;
    for (const auto& p : pods) infos.push_back(Info(p));
    Restarted(infos, [&](Extender& fresh) {
      EXPECT_EQ(fresh.Handle({"GET", "/v1/inspect/clusterstatus", ""}).body +
                    fresh.Handle({"GET", "/v1/inspect/affinitygroups/", ""}).body,
                live);
      EXPECT_EQ(fresh.CheckInvariants(), "");
    });
  }
  std::string BindAndObserve(const Json& pod) {
    Json f = Filter(pod);
    EXPECT_EQ(f["Error"], "");
    EXPECT_TRUE(f["NodeNames"].is_array()) << f.dump();
    if (!f["NodeNames"].is_array()) return "";
    std::string node = f["NodeNames"][0];
    Json b = Bind(pod, node);
    EXPECT_EQ(b["Error"], "") << b.dump();
    ObserveBound(pod, node);
    return node;
  }
  std::string Inspect() {
    return Do("GET", "/v1/inspect/clusterstatus").body + Do("GET", "/v1/inspect/affinitygroups/").body;
  }
  void Drain() {
    ASSERT_TRUE(apiary::testing::WaitUntil([&] { return ext_->PendingTasks() == 0; }, std::chrono::seconds(10)));
  }

  cell::ManualClock clock_{1000};
  RecordingApi api_;
  std::unique_ptr<Extender> ext_;
  int seq_ = 0;
};

TEST_F(ExtenderTest, NotServingBeforeSync) {
  ext_ = std::make_unique<Extender>(ExtenderOptions{}, &api_, &clock_);
  ASSERT_TRUE(ext_->LoadConfig(BasicConfig(), "test.yaml").ok());
  Json pod = PodObject("ml", "p", PodSpecArgs{});
  pod["metadata"]["uid"] = "u";
  Json f = Json::parse(Do("POST", "/v1/extender/filter", FilterBody(pod, BasicNodes())).body);
  EXPECT_NE(f["Error"].get<std::string>().find("recovering"), std::string::npos) << f.dump();
  EXPECT_EQ(Do("POST", "/v1/extender/preempt", PreemptBody(pod, {"dgx-01"})).status, 503);
  HttpResponse ready = Do("GET", "/readyz");
  EXPECT_EQ(ready.status, 503);
  EXPECT_EQ(Json::parse(ready.body)["reason"], "recovering");
  EXPECT_EQ(Do("GET", "/healthz").status, 200);
}

TEST_F(ExtenderTest, ConfigErrorIsVisibleInReadyz) {
  ext_ = std::make_unique<Extender>(ExtenderOptions{}, &api_, &clock_);
  EXPECT_FALSE(ext_->LoadConfig("virtualClusters: [", "broken.yaml").ok());
  ext_->OnSynced({}, {});
  HttpResponse ready = Do("GET", "/readyz");
  EXPECT_EQ(ready.status, 503);
  std::string reason = Json::parse(ready.body)["reason"];
  EXPECT_EQ(reason.rfind("config: broken.yaml", 0), 0u) << reason;
  // Fixing the file makes it ready without a restart.
  ASSERT_TRUE(ext_->LoadConfig(BasicConfig(), "fixed.yaml").ok());
  EXPECT_EQ(Do("GET", "/readyz").status, 200);
}

TEST_F(ExtenderTest, FilterBindDeleteLifecycle) {
  Start();
  EXPECT_EQ(Do("GET", "/readyz").status, 200);
  const std::string before = Inspect();
  Json pod = AddPod("train-0", PodSpecArgs{"prod", 10, "V100", 8});
  Json f = Filter(pod);
  ASSERT_TRUE(f["NodeNames"].is_array()) << f.dump();
  ASSERT_EQ(f["NodeNames"].size(), 1u);
  EXPECT_TRUE(f["FailedNodes"].is_null());
  std::string node = f["NodeNames"][0];
  // A retry of filter while Binding answers the same node.
  EXPECT_EQ(Filter(pod)["NodeNames"][0], node);
  Json b = Bind(pod, node);
  EXPECT_EQ(b, Json::parse(R"({"Error":""})"));
  ASSERT_EQ(api_.Bindings(), 1u);
  const BindingRequest& req = api_.bindings[0];
  EXPECT_EQ(req.node, node);
  EXPECT_EQ(req.pod.uid, "uid-train-0");
  std::map<std::string, std::string> ann(req.annotations.begin(), req.annotations.end());
  ASSERT_TRUE(ann.count(cell::kAnnotationPodBindInfo));
  auto info = cell::ParsePodBindInfo(ann[cell::kAnnotationPodBindInfo]);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->node, node);
  EXPECT_EQ(ann[cell::kAnnotationPodLeafCellIsolation], "0,1,2,3,4,5,6,7");
  // Bind is idempotent: a repeat does not call the API server again.
  EXPECT_EQ(Bind(pod, node)["Error"], "");
  EXPECT_EQ(api_.Bindings(), 1u);
  ObserveBound(pod, node);
  Json again = Filter(pod);
  EXPECT_NE(again["Error"].get<std::string>().find("Pod has already been bound to node " + node), std::string::npos);
  // The group is visible in inspect.
  Json groups = Json::parse(Do("GET", "/v1/inspect/affinitygroups/").body);
  ASSERT_EQ(groups["items"].size(), 1u);
  EXPECT_EQ(groups["items"][0]["metadata"]["name"], "ml/train-0");
  Json g = Json::parse(Do("GET", "/v1/inspect/affinitygroups/ml/train-0").body);
  EXPECT_EQ(g["status"]["state"], "Allocated");
  EXPECT_EQ(g["status"]["allocatedPods"][0], "uid-train-0");
  // Deleting the pod frees its cells: the state is the initial one again.
  ext_->OnPodEvent(WatchEventType::kDeleted, Info(pod));
  EXPECT_EQ(Inspect(), before);
}

TEST_F(ExtenderTest, UnknownPodAndDisabledPod) {
  Start();
  Json pod = PodObject("ml", "ghost", PodSpecArgs{});
  pod["metadata"]["uid"] = "uid-ghost";
  Json f = Filter(pod);
  EXPECT_EQ(f["Error"],
            "Code: 400, Message: hivedscheduler: User Error: [uid-ghost(ml/ghost)]: filterRoutine: Failed: "
            "Pod does not exist, completed or has not been informed to the scheduler");
  Json plain = pod;
  plain["spec"]["containers"][0]["resources"]["limits"].erase("hivedscheduler.microsoft.com/pod-scheduling-enable");
  ext_->OnPodEvent(WatchEventType::kAdded, Info(plain));
  f = Filter(plain);
  EXPECT_NE(f["Error"].get<std::string>().find("the scheduler does not manage it"), std::string::npos) << f.dump();
}

TEST_F(ExtenderTest, SpecErrorsAreUserErrors) {
  Start();
  Json pod = AddPod("bad", PodSpecArgs{"prod", 0, "V100", 0});
  Json f = Filter(pod);
  EXPECT_EQ(f["Error"],
            "Code: 400, Message: hivedscheduler: User Error: [uid-bad(ml/bad)]: filterRoutine: Failed: Pod "
            "annotation hivedscheduler.microsoft.com/pod-scheduling-spec: LeafCellNumber is non-positive");
  Json unknown_vc = AddPod("novc", PodSpecArgs{"nope", 0, "V100", 1});
  EXPECT_NE(Filter(unknown_vc)["Error"].get<std::string>().find("VC nope does not exists!"), std::string::npos);
  // After HiveD's message: the VCs there are, and the nearest name.
  Json near_vc = AddPod("nearvc", PodSpecArgs{"prdo", 0, "V100", 1});
  EXPECT_NE(Filter(near_vc)["Error"].get<std::string>().find(
                "VC prdo does not exists! (did you mean prod?; known VCs: default, prod, research)"),
            std::string::npos)
      << Filter(near_vc).dump();
}

TEST_F(ExtenderTest, DecidedNodeNotOfferedIsBoundDirectly) {
  Start();
  Json pod = AddPod("direct", PodSpecArgs{"prod", 10, "V100", 8});
  Json f = Filter(pod, {"k80-01"});
  EXPECT_TRUE(f["NodeNames"].is_null()) << f.dump();
  std::string reason = f["FailedNodes"]["hivedscheduler"];
  EXPECT_NE(reason.find("Pod is bound by the scheduler to node dgx-"), std::string::npos) << reason;
  EXPECT_NE(reason.find("outside the offered nodes"), std::string::npos);
  Drain();
  ASSERT_EQ(api_.Bindings(), 1u);
  EXPECT_EQ(api_.bindings[0].node.rfind("dgx-", 0), 0u);
  EXPECT_NE(ext_->metrics().Render().find("apiary_extender_direct_binds_total 1"), std::string::npos);
}

TEST_F(ExtenderTest, ForcePodBindThreshold) {
  Start();
  Json pod = AddPod("slow", PodSpecArgs{"prod", 10, "V100", 8});
  std::string node = Filter(pod)["NodeNames"][0];
  Filter(pod);  // attempt 1
  Filter(pod);  // attempt 2
  Drain();
  EXPECT_EQ(api_.Bindings(), 0u);
  Filter(pod);  // attempt 3 = forcePodBindThreshold (default 3)
  Drain();
  ASSERT_EQ(api_.Bindings(), 1u);
  EXPECT_EQ(api_.bindings[0].node, node);
}

TEST_F(ExtenderTest, GangGetsDistinctNodesAndSharesOneGroup) {
  Start();
  PodSpecArgs a{"prod", 20, "V100", 8, "ml/gang", {{2, 8}}};
  Json p0 = AddPod("gang-0", a), p1 = AddPod("gang-1", a);
  std::string n0 = BindAndObserve(p0);
  std::string n1 = BindAndObserve(p1);
  EXPECT_NE(n0, n1);
  Json g = Json::parse(Do("GET", "/v1/inspect/affinitygroups/ml/gang").body);
  EXPECT_EQ(g["status"]["allocatedPods"].size(), 2u);
  EXPECT_EQ(g["status"]["physicalPlacement"].size(), 2u);
  // A third pod of a 2-pod gang is a user error.
  Json p2 = AddPod("gang-2", a);
  EXPECT_NE(Filter(p2)["Error"].get<std::string>().find("Requesting more pods than the configured number"),
            std::string::npos);
}

TEST_F(ExtenderTest, WaitAnswersAndThrottleIsOutsideTheLock) {
  std::string config = BasicConfig() + "\nwaitingPodSchedulingBlockMilliSec: 50\n";
  Start({}, config);
  // VC default owns one K80 node (4 GPUs).
  Json a = AddPod("k-0", PodSpecArgs{"default", 0, "K80", 4});
  BindAndObserve(a);
  Json b = AddPod("k-1", PodSpecArgs{"default", 0, "K80", 4});
  HttpResponse r = Do("POST", "/v1/extender/filter", FilterBody(b, BasicNodes()));
  Json f = Json::parse(r.body);
  std::string reason = f["FailedNodes"]["hivedscheduler"];
  EXPECT_EQ(reason.rfind("Pod is waiting for preemptible or free resource to appear: ", 0), 0u) << reason;
  EXPECT_EQ(r.delay_ms, 50);  // applied by the HTTP layer after the lock is released
}

TEST_F(ExtenderTest, SelfPreemptionEvictsVictimsThenBinds) {
  Start();  // self mode is the default
  // Opportunistic pods fill the three shared V100 nodes.
  std::vector<Json> opp;
  for (int i = 0; i < 3; ++i) {
    opp.push_back(AddPod("opp-" + std::to_string(i), PodSpecArgs{"research", -1, "V100", 8}));
    BindAndObserve(opp.back());
  }
  Json prod = AddPod("prod-0", PodSpecArgs{"prod", 100, "V100", 8});
  Json f = Filter(prod);
  std::string reason = f["FailedNodes"]["hivedscheduler"];
  EXPECT_EQ(reason.rfind("Pod is preempting: 1 victim pods on nodes dgx-", 0), 0u) << f.dump();
  Drain();
  ASSERT_EQ(api_.evictions.size(), 1u);
  Json g = Json::parse(Do("GET", "/v1/inspect/affinitygroups/").body);
  bool preempting = false;
  for (const auto& item : g["items"]) preempting |= item["status"]["state"] == "Preempting";
  EXPECT_TRUE(preempting) << g.dump();
  // A second filter does not evict again before victim_retry.
  Filter(prod);
  Drain();
  EXPECT_EQ(api_.evictions.size(), 1u);
  // The victim goes away; the preemptor binds where it reserved.
  std::string victim_uid = api_.evictions[0].uid;
  for (const auto& p : opp)
    if (p["metadata"]["uid"] == victim_uid) ext_->OnPodEvent(WatchEventType::kDeleted, Info(p));
  Json after = Filter(prod);
  ASSERT_TRUE(after["NodeNames"].is_array()) << after.dump();
  EXPECT_EQ(Bind(prod, after["NodeNames"][0])["Error"], "");
  EXPECT_EQ(api_.events.size(), 1u);
}

TEST_F(ExtenderTest, ExtenderModePreemptionThroughPreemptVerb) {
  ExtenderOptions opts;
  opts.preemption_mode = PreemptionMode::kExtender;
  Start(opts);
  std::vector<Json> opp;
  for (int i = 0; i < 3; ++i) {
    opp.push_back(AddPod("opp-" + std::to_string(i), PodSpecArgs{"research", -1, "V100", 8}));
    BindAndObserve(opp.back());
  }
  Json prod = AddPod("prod-0", PodSpecArgs{"prod", 100, "V100", 8});
  Json f = Filter(prod);
  ASSERT_TRUE(f["FailedNodes"].is_object()) << f.dump();
  ASSERT_EQ(f["FailedNodes"].size(), 1u);
  std::string node = f["FailedNodes"].begin().key();
  std::string text = f["FailedNodes"].begin().value();
  EXPECT_EQ(text.rfind("node(" + node + ") has preemptible Pods: uid-opp-", 0), 0u) << text;
  // Current kube-scheduler: candidates with empty victim lists (extender.md 6).
  HttpResponse p = Do("POST", "/v1/extender/preempt", PreemptBody(prod, {node}));
  ASSERT_EQ(p.status, 200) << p.body;
  Json pj = Json::parse(p.body);
  ASSERT_TRUE(pj["NodeNameToMetaVictims"].is_object()) << p.body;
  ASSERT_EQ(pj["NodeNameToMetaVictims"][node]["Pods"].size(), 1u);
  EXPECT_EQ(pj["NodeNameToMetaVictims"][node]["NumPDBViolations"], 0);
  std::string victim = pj["NodeNameToMetaVictims"][node]["Pods"][0]["UID"];
  EXPECT_EQ(api_.evictions.size(), 0u);  // kube-scheduler deletes the victims in this mode
  for (const auto& o : opp)
    if (o["metadata"]["uid"] == victim) ext_->OnPodEvent(WatchEventType::kDeleted, Info(o));
  Json after = Filter(prod, {node});
  ASSERT_TRUE(after["NodeNames"].is_array()) << after.dump();
  EXPECT_EQ(after["NodeNames"][0], node);
  // A pod already decided cannot be preempted for.
  HttpResponse again = Do("POST", "/v1/extender/preempt", PreemptBody(prod, {node}));
  EXPECT_EQ(again.status, 400);
  EXPECT_NE(again.body.find("Pod has already been binding to node " + node), std::string::npos);
}

TEST_F(ExtenderTest, BindErrorsAndApiFailures) {
  Start();
  Json pod = AddPod("b-0", PodSpecArgs{"prod", 10, "V100", 8});
  // Not decided yet.
  Json e = Bind(pod, "dgx-01");
  EXPECT_EQ(e["Error"],
            "Code: 400, Message: hivedscheduler: User Error: [uid-b-0(ml/b-0)]: bindRoutine: Failed: Pod cannot be "
            "bound without a scheduling placement: Pod current scheduling state Waiting, received node dgx-01");
  std::string node = Filter(pod)["NodeNames"][0];
  std::string other = node == "dgx-01" ? "dgx-02" : "dgx-01";
  EXPECT_NE(Bind(pod, other)["Error"].get<std::string>().find("Pod binding node mismatch: expected " + node +
                                                                ", received " + other),
            std::string::npos);
  // The API server fails: the error reaches kube-scheduler, the pod stays
  // Binding with its cells, and the next filter answers the same node.
  api_.fail_code = 500;
  std::string err = Bind(pod, node)["Error"];
  EXPECT_EQ(err.rfind("Code: 500, Message: hivedscheduler: Platform Error:", 0), 0u) << err;
  EXPECT_EQ(Filter(pod)["NodeNames"][0], node);
  // A lost reply: the binding exists already on the same node = success.
  api_.fail_code = 409;
  api_.assigned_node = node;
  EXPECT_EQ(Bind(pod, node)["Error"], "");
  // Unknown UID.
  Json ghost = pod;
  ghost["metadata"]["uid"] = "nope";
  EXPECT_NE(Bind(ghost, node)["Error"].get<std::string>().find("Pod does not exist"), std::string::npos);
  // Identity mismatch.
  Json renamed = pod;
  renamed["metadata"]["name"] = "other";
  EXPECT_NE(Bind(renamed, node)["Error"].get<std::string>().find("Pod identity mismatch"), std::string::npos);
}

// Issue #16: a pod decided for one node and bound to another by someone else.
// The watch reports it: the decided cells are released at once (the pod
// carries no bind info of this extender, so a restart accounts nothing for
// it either), counted once; kube-scheduler's bind of the decision then
// answers a node mismatch.
TEST_F(ExtenderTest, PodBoundElsewhereOnTheWatchReleasesItsDecidedCells) {
  Start();
  const std::string free_state = Inspect();
  Json pod = AddPod("e-0", PodSpecArgs{"prod", 10, "V100", 8});
  std::string decided = Filter(pod)["NodeNames"][0];
  ASSERT_NE(Inspect(), free_state);  // the decision holds its cells
  const std::string other = decided == "dgx-01" ? "dgx-02" : "dgx-01";
  Json bound = ObserveBoundByAnother(pod, other);
  EXPECT_EQ(Inspect(), free_state);
  EXPECT_EQ(BoundElsewhereCount(), 1);
  EXPECT_NE(Bind(pod, decided)["Error"].get<std::string>().find("Pod binding node mismatch: expected " + other +
                                                                  ", received " + decided),
            std::string::npos);
  EXPECT_EQ(api_.Bindings(), 0u);
  ext_->OnPodEvent(WatchEventType::kModified, Info(bound));  // a later update of the pod
  EXPECT_EQ(BoundElsewhereCount(), 1);
  EXPECT_EQ(Inspect(), free_state);
  ExpectRestartAgrees({bound});
}

// The same seen first by the binding: the API server answers 409 naming the
// other node; the cells are released then, not when the watch catches up.
TEST_F(ExtenderTest, PodBoundElsewhereSeenByTheBindingReleasesItsDecidedCells) {
  Start();
  const std::string free_state = Inspect();
  Json pod = AddPod("e-1", PodSpecArgs{"prod", 10, "V100", 8});
  std::string decided = Filter(pod)["NodeNames"][0];
  const std::string other = decided == "dgx-01" ? "dgx-02" : "dgx-01";
  api_.fail_code = 409;
  api_.assigned_node = other;
  std::string err = Bind(pod, decided)["Error"];
  EXPECT_EQ(err.rfind("Code: 500, Message: hivedscheduler: Platform Error:", 0), 0u) << err;
  EXPECT_NE(err.find("API server answered 409"), std::string::npos) << err;
  EXPECT_EQ(Inspect(), free_state);
  EXPECT_EQ(BoundElsewhereCount(), 1);
  // A filter now says the pod is bound.
  EXPECT_NE(Filter(pod)["Error"].get<std::string>().find("already been bound to node " + other), std::string::npos);
  Json bound = ObserveBoundByAnother(pod, other);  // the watch catches up: nothing more
  EXPECT_EQ(BoundElsewhereCount(), 1);
  EXPECT_EQ(Inspect(), free_state);
  ExpectRestartAgrees({bound});
}

// A gang member bound elsewhere leaves the gang: the member's decision is
// released, and the group keeps the cells of its placement (HiveD holds a
// group's cells until its last pod goes, hived.md 7.2), as a restart
// recovering the other members' bind info does.
TEST_F(ExtenderTest, GangMemberBoundElsewhereLeavesItsSlotToTheGroup) {
  Start();
  PodSpecArgs a{"prod", 50, "V100", 4, "ml/gang", {{2, 4}}};
  Json p0 = AddPod("g-0", a);
  Json p1 = AddPod("g-1", a);
  std::string n0 = BindAndObserve(p0);
  Json bound0 = ObserveBound(p0, n0);  // (the same update again, for the restart's list)
  std::string n1 = Filter(p1)["NodeNames"][0];
  std::string other;
  for (const auto& n : BasicNodes())
    if (n != n0 && n != n1) other = n;
  Json bound1 = ObserveBoundByAnother(p1, other);
  EXPECT_EQ(BoundElsewhereCount(), 1);
  Json g = Json::parse(Do("GET", "/v1/inspect/affinitygroups/ml/gang").body);
  ASSERT_TRUE(g["status"]["allocatedPods"].is_array()) << g.dump();
  EXPECT_EQ(g["status"]["allocatedPods"].size(), 1u) << g.dump();
  size_t placed = 0;
  for (const auto& [node, leaves] : g["status"]["physicalPlacement"].items()) placed += leaves.size();
  EXPECT_EQ(placed, 8u) << g.dump();  // both members' cells, still the group's
  ExpectRestartAgrees({bound0, bound1});
}

TEST_F(ExtenderTest, MalformedInputLeavesStateUnchanged) {
  Start();
  Json pod = AddPod("m-0", PodSpecArgs{"prod", 10, "V100", 8});
  BindAndObserve(pod);
  Json waiting = AddPod("m-1", PodSpecArgs{"prod", 10, "V100", 8});
  const std::string before = Inspect();
  const std::vector<std::string> bodies = {
      "",
      "{",
      "null",
      "[]",
      "\"x\"",
      R"({"Pod": null})",
      R"({"Pod": {"metadata": {"name": 5}}})",
      R"({"Pod": {"metadata": {"name": "m-1", "namespace": "ml", "uid": "uid-m-1"}}, "NodeNames": [1]})",
      R"({"Pod": {"metadata": {"name": "m-1", "namespace": "ml", "uid": "uid-m-1", "annotations": {"hivedscheduler.microsoft.com/pod-scheduling-spec": "virtualCluster: [" }}}, "NodeNames": ["dgx-01"]})",
      R"({"PodName": "m-0", "PodNamespace": "ml", "PodUID": "uid-m-0", "Node": 7})",
      R"({"PodName": "m-1", "PodNamespace": "ml", "PodUID": "uid-m-1", "Node": "dgx-01"})",
      R"({"Pod": {"metadata": {"name": "m-1", "uid": "uid-m-1"}}, "NodeNameToMetaVictims": {"n": {"Pods": [{"UID": 5}]}}})",
      std::string(1 << 20, '['),
      "\xff\xfe\x00\x01",
  };
  for (const auto& body : bodies) {
    for (const char* verb : {"/v1/extender/filter", "/v1/extender/bind", "/v1/extender/preempt"}) {
      HttpResponse r = Do("POST", verb, body);
      if (std::string(verb) == "/v1/extender/preempt") {
        EXPECT_EQ(r.status, 400) << verb << " " << body.substr(0, 80) << " -> " << r.body;
      } else {
        EXPECT_EQ(r.status, 200) << verb;
        Json j = Json::parse(r.body);
        EXPECT_NE(j["Error"].get<std::string>(), "") << verb << " " << body.substr(0, 80);
      }
    }
  }
  EXPECT_EQ(Inspect(), before);
}

TEST_F(ExtenderTest, RoutingAndMethods) {
  Start();
  Json paths = Json::parse(Do("GET", "/").body)["paths"];
  EXPECT_NE(std::find(paths.begin(), paths.end(), "/v1/extender/filter"), paths.end());
  HttpResponse wrong = Do("GET", "/v1/extender/filter");
  EXPECT_EQ(wrong.status, 405);
  HttpResponse inspect_post = Do("POST", "/v1/inspect/clusterstatus");
  EXPECT_EQ(inspect_post.status, 400);
  EXPECT_EQ(Json::parse(inspect_post.body),
            "Code: 400, Message: hivedscheduler: User Error: NotImplemented: POST: /v1/inspect/clusterstatus");
  HttpResponse missing = Do("GET", "/nope");
  EXPECT_EQ(missing.status, 404);
  EXPECT_TRUE(Json::parse(missing.body).is_string());
  EXPECT_EQ(Do("POST", "/v1/extender/prioritize", "{}").status, 404);
  HttpResponse group = Do("GET", "/v1/inspect/affinitygroups/no/such");
  EXPECT_EQ(group.status, 400);
  EXPECT_NE(group.body.find("does not exist since it is not allocated or preempting"), std::string::npos);
  HttpResponse vc = Do("GET", "/v1/inspect/clusterstatus/virtualclusters/nope");
  EXPECT_EQ(vc.status, 400);
  EXPECT_NE(vc.body.find("VC nope not found"), std::string::npos);
  EXPECT_EQ(Do("GET", "/v1/inspect/clusterstatus/virtualclusters").status, 200);
  EXPECT_EQ(Do("GET", "/v1/inspect/clusterstatus/virtualclusters/prod").status, 200);
  EXPECT_EQ(Do("GET", "/v1/inspect/clusterstatus/physicalcluster").status, 200);
  EXPECT_EQ(Do("GET", "/v1/inspect/affinitygroups").status, 200);
  Json version = Json::parse(Do("GET", "/version").body);
  EXPECT_EQ(version["preemptionMode"], "self");
}

TEST_F(ExtenderTest, RecoveryFromAnnotationsRestoresTheSameState) {
  Start();
  std::vector<Json> pods;
  PodSpecArgs gang{"prod", 20, "V100", 8, "ml/gang", {{2, 8}}};
  pods.push_back(AddPod("g-0", gang));
  pods.push_back(AddPod("g-1", gang));
  pods.push_back(AddPod("r-0", PodSpecArgs{"research", 5, "V100", 4}));
  pods.push_back(AddPod("k-0", PodSpecArgs{"research", 5, "K80", 2}));
  pods.push_back(AddPod("o-0", PodSpecArgs{"default", -1, "V100", 2}));
  std::vector<PodInfo> bound;
  for (size_t i = 0; i < pods.size(); ++i) {
    std::string node = BindAndObserve(pods[i]);
    Json p = pods[i];
    for (const auto& b : api_.bindings)
      if (b.pod.uid == p["metadata"]["uid"])
        for (const auto& [k, v] : b.annotations) p["metadata"]["annotations"][k] = v;
    p["spec"]["nodeName"] = node;
    p["status"]["conditions"] = Json::array(
        {{{"type", "PodScheduled"}, {"status", "True"}, {"lastTransitionTime", "2024-01-01T00:00:0" + std::to_string(i) + "Z"}}});
    bound.push_back(Info(p));
  }
  const std::string before = Inspect();
  // A fresh process: the informer's first lists, in any order.
  std::reverse(bound.begin(), bound.end());
  Restarted(bound, [&](Extender& fresh) {
    std::string after = fresh.Handle({"GET", "/v1/inspect/clusterstatus", ""}).body +
                        fresh.Handle({"GET", "/v1/inspect/affinitygroups/", ""}).body;
    EXPECT_EQ(after, before);
    EXPECT_EQ(fresh.CheckInvariants(), "");
  });
}

// A VC's opportunistic cells are listed in physical order, not allocation
// order: a restart that replays the pods in another order (binding order by
// PodScheduled time) answers the same clusterstatus.
TEST_F(ExtenderTest, ClusterStatusListsOpportunisticCellsInAFixedOrder) {
  Start();
  std::vector<PodInfo> bound;
  for (int i = 0; i < 4; ++i) {
    Json p = AddPod("o-" + std::to_string(i), PodSpecArgs{"default", -1, "V100", 8});
    std::string node = BindAndObserve(p);
    for (const auto& b : api_.bindings)
      if (b.pod.uid == p["metadata"]["uid"])
        for (const auto& [k, v] : b.annotations) p["metadata"]["annotations"][k] = v;
    p["spec"]["nodeName"] = node;
    // Scheduled in the reverse of the order they were allocated in.
    p["status"]["conditions"] = Json::array({{{"type", "PodScheduled"}, {"status", "True"},
                                              {"lastTransitionTime", "2024-01-01T00:00:0" + std::to_string(9 - i) + "Z"}}});
    bound.push_back(Info(p));
  }
  const std::string before = Do("GET", "/v1/inspect/clusterstatus/virtualclusters/default").body;
  Json cells = Json::parse(before);
  std::vector<std::string> opp;
  for (const auto& c : cells)
    if (c["cellPriority"] == -1) opp.push_back(c["cellAddress"]);
  ASSERT_GE(opp.size(), 2u) << before;
  EXPECT_TRUE(std::is_sorted(opp.begin(), opp.end())) << before;  // dgx-0N/i: physical order sorts too
  Restarted(bound, [&](Extender& fresh) {
    EXPECT_EQ(fresh.Handle({"GET", "/v1/inspect/clusterstatus/virtualclusters/default", ""}).body, before);
  });
}

TEST_F(ExtenderTest, ReconfigurationKeepsEveryBoundPod) {
  Start();
  std::vector<std::string> nodes;
  for (int i = 0; i < 2; ++i) nodes.push_back(BindAndObserve(AddPod("c-" + std::to_string(i), PodSpecArgs{"research", 5, "V100", 4})));
  Json decided = AddPod("d-0", PodSpecArgs{"prod", 5, "V100", 8});
  std::string decided_node = Filter(decided)["NodeNames"][0];  // Binding, not yet observed
  Json groups_before = Json::parse(Do("GET", "/v1/inspect/affinitygroups/").body);
  // Same cluster, one more VC: a restart-style rebuild.
  std::string config = BasicConfig() + "\n";
  config.replace(config.find("  default:"), 0, "  extra:\n    virtualCells:\n    - cellType: K80-POOL.K80-NODE\n      cellNumber: 0\n");
  ASSERT_TRUE(ext_->LoadConfig(config, "test.yaml").ok()) << ext_->LoadConfig(config, "test.yaml").message();
  Json groups_after = Json::parse(Do("GET", "/v1/inspect/affinitygroups/").body);
  ASSERT_EQ(groups_after["items"].size(), groups_before["items"].size());
  for (size_t i = 0; i < groups_before["items"].size(); ++i)
    EXPECT_EQ(groups_after["items"][i]["status"]["physicalPlacement"],
              groups_before["items"][i]["status"]["physicalPlacement"]);
  EXPECT_NE(ext_->metrics().Render().find("apiary_extender_config_reloads_total 1"), std::string::npos);
  // The decided pod still binds to its node.
  EXPECT_EQ(Bind(decided, decided_node)["Error"], "");
  // An invalid change is rejected and the old configuration stays.
  EXPECT_FALSE(ext_->LoadConfig("physicalCluster: 5", "test.yaml").ok());
  EXPECT_EQ(Do("GET", "/readyz").status, 200);
  EXPECT_NE(Do("GET", "/metrics").body.find("apiary_extender_config_error 1"), std::string::npos);
}

TEST_F(ExtenderTest, NodeHealthFollowsTheWatch) {
  Start();
  ext_->OnNodeEvent(WatchEventType::kModified, Node("dgx-01", false));
  NodeInfo cordoned = Node("dgx-02");
  cordoned.unschedulable = true;
  ext_->OnNodeEvent(WatchEventType::kModified, cordoned);
  NodeInfo gone = Node("dgx-03");
  ext_->OnNodeEvent(WatchEventType::kDeleted, gone);
  auto bad_nodes = [&] {
    Json phys = Json::parse(Do("GET", "/v1/inspect/clusterstatus/physicalcluster").body);
    std::set<std::string> bad;
    for (const auto& node : phys[0]["cellChildren"])
      if (node["cellHealthiness"] == "Bad") {
        std::string addr = node["cellAddress"];
        bad.insert(addr.substr(addr.rfind('/') + 1));
      }
    return bad;
  };
  EXPECT_EQ(bad_nodes(), (std::set<std::string>{"dgx-01", "dgx-02", "dgx-03"}));
  // Only dgx-04 (pinned to prod) is healthy in the rack; a shared-cell prod
  // pod must wait rather than land on a bad node.
  Json pod = AddPod("h-0", PodSpecArgs{"research", 5, "V100", 4});
  Json f = Filter(pod);
  EXPECT_TRUE(f["NodeNames"].is_null() || f["NodeNames"][0] == "dgx-04") << f.dump();
  ext_->OnNodeEvent(WatchEventType::kModified, Node("dgx-01", true));
  EXPECT_EQ(bad_nodes(), (std::set<std::string>{"dgx-02", "dgx-03"}));
}

TEST_F(ExtenderTest, MetricsExposition) {
  Start();
  BindAndObserve(AddPod("x-0", PodSpecArgs{"prod", 10, "V100", 8}));
  Filter(AddPod("x-1", PodSpecArgs{"nope", 10, "V100", 8}));
  HttpResponse m = Do("GET", "/metrics");
  EXPECT_EQ(m.status, 200);
  EXPECT_EQ(m.content_type.rfind("text/plain", 0), 0u);
  for (const char* s : {"apiary_extender_requests_total{verb=\"filter\",outcome=\"bind\"} 1",
                        "apiary_extender_requests_total{verb=\"filter\",outcome=\"user_error\"} 1",
                        "apiary_extender_request_duration_seconds_bucket{verb=\"filter\",le=\"+Inf\"} 2",
                        "apiary_extender_pods{state=\"Bound\"} 1",
                        "apiary_extender_pods{state=\"Waiting\"} 1",
                        "apiary_extender_affinity_groups{state=\"Allocated\"} 1",
                        "apiary_extender_physical_leaf_cells{chain=\"V100-RACK\",status=\"used\"} 8",
                        "apiary_extender_vc_leaf_cells{vc=\"prod\"",
                        "apiary_extender_recovery_seconds "})
    EXPECT_NE(m.body.find(s), std::string::npos) << s << "\n" << m.body;
}

TEST_F(ExtenderTest, FullNodeObjectsAreAnsweredInKind) {
  Start();
  Json pod = AddPod("full-0", PodSpecArgs{"prod", 10, "V100", 8});
  Json args;
  args["Pod"] = pod;
  args["NodeNames"] = nullptr;
  args["Nodes"] = {{"metadata", Json::object()}, {"items", Json::array()}};
  for (const auto& n : BasicNodes()) args["Nodes"]["items"].push_back({{"metadata", {{"name", n}}}, {"status", {{"capacity", {{"cpu", "1"}}}}}});
  Json f = Json::parse(Do("POST", "/v1/extender/filter", args.dump()).body);
  ASSERT_TRUE(f["Nodes"].is_object()) << f.dump();
  ASSERT_EQ(f["Nodes"]["items"].size(), 1u);
  EXPECT_TRUE(f["NodeNames"].is_null());
  EXPECT_EQ(f["Nodes"]["items"][0]["status"]["capacity"]["cpu"], "1");
}

TEST_F(ExtenderTest, BindWritesTheGroupsVirtualLeafCells) {
  Start();
  Json pod = AddPod("vc-0", PodSpecArgs{"prod", 10, "V100", 2});
  BindAndObserve(pod);
  Json g = Json::parse(Do("GET", "/v1/inspect/affinitygroups/").body)["items"][0]["status"];
  ASSERT_TRUE(g.contains("virtualPlacement")) << g.dump();
  Json want = Json::array();
  for (const auto& [cell, leaves] : g["virtualPlacement"].items())
    for (const auto& l : leaves) want.push_back(l);
  std::optional<std::string> written;
  {
    std::lock_guard lock(api_.mu);
    ASSERT_EQ(api_.bindings.size(), 1u);
    for (const auto& [k, v] : api_.bindings[0].annotations)
      if (k == cell::kAnnotationVirtualLeafCells) written = v;
  }
  ASSERT_TRUE(written.has_value());
  EXPECT_EQ(Json::parse(*written), want);
  // In sync already: the annotation loop has nothing to patch.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  Drain();
  std::lock_guard lock(api_.mu);
  for (const auto& [ref, patch] : api_.patches)
    for (const auto& [k, v] : patch) EXPECT_NE(k, cell::kAnnotationVirtualLeafCells) << ref.FullName();
}

TEST_F(ExtenderTest, LazyPreemptionMarkIsWrittenToPods) {
  Start();
  // research owns two V100 switches (8 GPUs); two lazy low-priority groups fill them.
  Json a = AddPod("lz-a", PodSpecArgs{"research", 1, "V100", 4, "", {}, true});
  Json b = AddPod("lz-b", PodSpecArgs{"research", 1, "V100", 4, "", {}, true});
  BindAndObserve(a);
  BindAndObserve(b);
  Json c = AddPod("lz-c", PodSpecArgs{"research", 100, "V100", 4});
  Json f = Filter(c);
  Json groups = Json::parse(Do("GET", "/v1/inspect/affinitygroups/").body);
  std::set<std::string> lazy_uids;
  for (const auto& g : groups["items"])
    if (g["status"].contains("lazyPreemptionStatus"))
      for (const auto& u : g["status"]["allocatedPods"]) lazy_uids.insert(u);
  if (lazy_uids.empty()) GTEST_SKIP() << "no lazy preemption in this placement: " << f.dump();
  ASSERT_TRUE(apiary::testing::WaitUntil(
      [&] {
        std::lock_guard lock(api_.mu);
        std::set<std::string> patched, cells_removed;
        for (const auto& [ref, patch] : api_.patches)
          for (const auto& [k, v] : patch) {
            if (k == cell::kAnnotationLazyPreemptor && v) patched.insert(ref.uid);
            // The group lost its virtual cells: the persisted ones go too.
            if (k == cell::kAnnotationVirtualLeafCells && !v) cells_removed.insert(ref.uid);
          }
        return patched == lazy_uids && cells_removed == lazy_uids;
      },
      std::chrono::seconds(5)));
}

// ---- guarantee headroom gauges (extender.md "Guarantee headroom") ----
// Through /metrics: healthy, a VC's own guaranteed pod counted as placed,
// opportunistic pods not blocking, a failed node putting the fully
// assigned K80 pool at risk, a second one breaking a promise, healing.

std::string GuaranteeCells(const std::string& metric, const std::string& vc,
                           const std::string& chain, int level, const std::string& type) {
  return "apiary_vc_guarantee_" + metric + "{vc=\"" + vc + "\",chain=\"" + chain +
         "\",level=\"" + std::to_string(level) + "\",cell_type=\"" + type + "\"} ";
}
std::string GuaranteeFlag(const std::string& metric, const std::string& vc,
                          const std::string& chain) {
  return "apiary_vc_guarantee_" + metric + "{vc=\"" + vc + "\",chain=\"" + chain + "\"} ";
}
// Every "sample value" line is in `metrics`.
void ExpectGuaranteeSamplesIn(const std::string& metrics, const std::vector<std::string>& samples) {
  for (const auto& s : samples)
    EXPECT_NE(metrics.find("\n" + s + "\n"), std::string::npos) << s << "\n" << metrics;
}

TEST_F(ExtenderTest, GuaranteeHealthyClusterKeepsEveryPromise) {
  Start();
  const std::string m = Do("GET", "/metrics").body;
  for (const char* g : {"apiary_vc_guarantee_cells", "apiary_vc_guarantee_placeable_cells",
                        "apiary_vc_guarantee_doomed_cells", "apiary_vc_guarantee_broken",
                        "apiary_vc_guarantee_at_risk"})
    EXPECT_NE(m.find(std::string("# TYPE ") + g + " gauge\n"), std::string::npos) << g;
  // prod: 2 V100 nodes and the pinned dgx-04, 8 GPUs behind 2 switches each.
  ExpectGuaranteeSamplesIn(Do("GET", "/metrics").body, {GuaranteeCells("cells", "prod", "V100-RACK", 3, "V100-NODE") + "3",
                 GuaranteeCells("placeable_cells", "prod", "V100-RACK", 3, "V100-NODE") + "3",
                 GuaranteeCells("cells", "prod", "V100-RACK", 2, "V100-SWITCH") + "6",
                 GuaranteeCells("placeable_cells", "prod", "V100-RACK", 1, "V100") + "24",
                 GuaranteeCells("cells", "research", "V100-RACK", 2, "V100-SWITCH") + "2",
                 GuaranteeCells("placeable_cells", "research", "K80-POOL", 2, "K80-NODE") + "2",
                 GuaranteeCells("doomed_cells", "default", "K80-POOL", 2, "K80-NODE") + "0",
                 GuaranteeFlag("broken", "prod", "V100-RACK") + "0",
                 GuaranteeFlag("broken", "research", "K80-POOL") + "0",
                 GuaranteeFlag("at_risk", "default", "K80-POOL") + "0"});
  // No level above a VC's largest cell.
  EXPECT_EQ(m.find(GuaranteeCells("cells", "research", "V100-RACK", 3, "V100-NODE")), std::string::npos);
}

TEST_F(ExtenderTest, GuaranteeOwnGuaranteedPodsArePlacedAndOpportunisticOnesDoNotBlock) {
  Start();
  BindAndObserve(AddPod("g-0", PodSpecArgs{"prod", 10, "V100", 8}));
  // Opportunistic pods on the rest of the rack's free GPUs.
  for (int i = 0; i < 3; ++i)
    EXPECT_FALSE(BindAndObserve(AddPod("o-" + std::to_string(i), PodSpecArgs{"research", -1, "V100", 8})).empty());
  ExpectGuaranteeSamplesIn(Do("GET", "/metrics").body, {GuaranteeCells("placeable_cells", "prod", "V100-RACK", 1, "V100") + "24",
                 GuaranteeCells("placeable_cells", "research", "V100-RACK", 1, "V100") + "8",
                 GuaranteeFlag("broken", "prod", "V100-RACK") + "0",
                 GuaranteeFlag("broken", "research", "V100-RACK") + "0",
                 GuaranteeFlag("at_risk", "research", "V100-RACK") + "0"});
}

TEST_F(ExtenderTest, GuaranteeFailedNodesPutAtRiskThenBreakAPromise) {
  Start();
  // The K80 pool is fully assigned (research 2 nodes, default 1): losing a
  // node leaves each VC able to get its cells alone, but not both.
  ext_->OnNodeEvent(WatchEventType::kModified, Node("k80-01", false));
  ExpectGuaranteeSamplesIn(Do("GET", "/metrics").body, {GuaranteeCells("placeable_cells", "research", "K80-POOL", 2, "K80-NODE") + "2",
                 GuaranteeFlag("broken", "research", "K80-POOL") + "0",
                 GuaranteeFlag("at_risk", "research", "K80-POOL") + "1",
                 GuaranteeFlag("at_risk", "default", "K80-POOL") + "1",
                 GuaranteeFlag("at_risk", "prod", "V100-RACK") + "0"});
  // A second one: research has 2 nodes to place and 1 healthy node is
  // left, so one of its cells is doomed (hived.md 8.2) -- broken.
  ext_->OnNodeEvent(WatchEventType::kModified, Node("k80-02", false));
  ExpectGuaranteeSamplesIn(Do("GET", "/metrics").body, {GuaranteeCells("placeable_cells", "research", "K80-POOL", 2, "K80-NODE") + "1",
                 GuaranteeCells("doomed_cells", "research", "K80-POOL", 2, "K80-NODE") + "1",
                 GuaranteeCells("placeable_cells", "research", "K80-POOL", 1, "K80") + "4",
                 GuaranteeFlag("broken", "research", "K80-POOL") + "1",
                 GuaranteeFlag("at_risk", "research", "K80-POOL") + "0",
                 GuaranteeFlag("broken", "default", "K80-POOL") + "0",
                 GuaranteeFlag("at_risk", "default", "K80-POOL") + "1"});
  // Healing gives the doomed cell back.
  ext_->OnNodeEvent(WatchEventType::kModified, Node("k80-01", true));
  ext_->OnNodeEvent(WatchEventType::kModified, Node("k80-02", true));
  ExpectGuaranteeSamplesIn(Do("GET", "/metrics").body, {GuaranteeCells("placeable_cells", "research", "K80-POOL", 1, "K80") + "8",
                 GuaranteeFlag("broken", "research", "K80-POOL") + "0",
                 GuaranteeFlag("at_risk", "default", "K80-POOL") + "0"});
}

}  // namespace
}  // namespace apiary::extender

namespace apiary::extender {
namespace {

// GET /v1/inspect/explain/<namespace>/<pod> (issue 15): the decision the
// preempt call would make now, explained, without changing the state.
TEST_F(ExtenderTest, InspectExplainsAPendingPodWithoutChangingState) {
  Start();
  // VC default owns one K80 node (4 GPUs); k-0 takes it.
  Json a = AddPod("k-0", PodSpecArgs{"default", 0, "K80", 4});
  BindAndObserve(a);
  Json b = AddPod("k-1", PodSpecArgs{"default", 0, "K80", 4});
  const std::string before = Inspect();
  HttpResponse r = Do("GET", "/v1/inspect/explain/ml/k-1");
  ASSERT_EQ(r.status, 200) << r.body;
  Json j = Json::parse(r.body);
  EXPECT_EQ(j["pod"], "ml/k-1");
  EXPECT_EQ(j["result"], "wait");
  const Json& e = j["explanation"];
  EXPECT_EQ(e["outcome"], "wait");
  ASSERT_EQ(e["chains"].size(), 1u) << e.dump();
  EXPECT_EQ(e["chains"][0]["rule"], "quota-used-up");
  EXPECT_EQ(e["chains"][0]["scope"], "VC default");
  ASSERT_EQ(e["chains"][0]["holders"].size(), 1u) << e.dump();
  EXPECT_EQ(e["chains"][0]["holders"][0]["leaves"], 4);
  EXPECT_NE(e["summary"].get<std::string>().find("VC default's quota in chain"), std::string::npos)
      << e.dump();
  EXPECT_EQ(Inspect(), before);
  // The FailedScheduling reason stays HiveD's short one.
  Json f = Filter(b);
  const std::string reason = f["FailedNodes"]["hivedscheduler"];
  EXPECT_EQ(reason, "Pod is waiting for preemptible or free resource to appear: "
                    "insufficient capacity when scheduling in VC default");
  // A bound pod has nothing to explain; unknown pods and bad paths are errors.
  Json bound = Json::parse(Do("GET", "/v1/inspect/explain/ml/k-0").body);
  EXPECT_EQ(bound["result"], "bind");
  EXPECT_TRUE(bound["explanation"].is_null());
  EXPECT_EQ(Do("GET", "/v1/inspect/explain/ml/nope").status, 404);
  EXPECT_EQ(Do("GET", "/v1/inspect/explain/nope").status, 400);
  Json paths = Json::parse(Do("GET", "/").body)["paths"];
  EXPECT_NE(std::find(paths.begin(), paths.end(), "/v1/inspect/explain/"), paths.end());
}

// Bad nodes and impossible specs, as the inspect path tells them.
TEST_F(ExtenderTest, InspectExplainsDoomedCellsAndNeverFits) {
  Start();
  for (const char* n : {"dgx-01", "dgx-02", "dgx-03"})
    ext_->OnNodeEvent(WatchEventType::kModified, Node(n, false));
  // prod's two shared V100 nodes can only be bound to the bad nodes (doomed,
  // hived.md 8.2); dgx-04 is prod's pinned cell, which this pod does not ask for.
  AddPod("p-0", PodSpecArgs{"prod", 5, "V100", 8});
  Json doomed = Json::parse(Do("GET", "/v1/inspect/explain/ml/p-0").body);
  ASSERT_EQ(doomed["result"], "wait") << doomed.dump();
  const Json& chain = doomed["explanation"]["chains"][0];
  EXPECT_EQ(chain["rule"], "doomed") << doomed.dump();
  EXPECT_FALSE(chain["cells"].empty()) << doomed.dump();
  EXPECT_GT(chain["doomedLeaves"].get<int>(), 0);
  // Nine GPUs per pod on 8-GPU nodes: never, whatever the state.
  AddPod("p-9", PodSpecArgs{"prod", 5, "V100", 9});
  Json nine = Json::parse(Do("GET", "/v1/inspect/explain/ml/p-9").body);
  ASSERT_EQ(nine["result"], "wait") << nine.dump();
  const std::string never = nine["explanation"]["neverFits"];
  EXPECT_NE(never.find("can never fit under the current configuration"), std::string::npos);
  EXPECT_EQ(nine["explanation"]["summary"], never);
}

// A pod that would preempt: the inspect path names the victims and why, and
// creates no preemption (no Preempting group, no eviction).
TEST_F(ExtenderTest, InspectExplainsAPreemptionWithoutPreempting) {
  Start();
  for (int i = 0; i < 3; ++i)
    BindAndObserve(AddPod("opp-" + std::to_string(i), PodSpecArgs{"research", -1, "V100", 8}));
  AddPod("prod-0", PodSpecArgs{"prod", 100, "V100", 8});
  const std::string before = Inspect();
  Json j = Json::parse(Do("GET", "/v1/inspect/explain/ml/prod-0").body);
  ASSERT_EQ(j["result"], "preempt") << j.dump();
  ASSERT_EQ(j["victims"].size(), 1u);
  const Json& e = j["explanation"];
  ASSERT_EQ(e["victims"].size(), 1u) << e.dump();
  EXPECT_EQ(e["victims"][0]["vc"], "research");
  EXPECT_EQ(e["victims"][0]["priority"], -1);
  EXPECT_EQ(e["victims"][0]["pods"][0], j["victims"][0]["pod"]);
  EXPECT_NE(e["victims"][0]["why"].get<std::string>().find("opportunistic"), std::string::npos);
  EXPECT_EQ(e["chains"][0]["rule"], "fits");
  EXPECT_EQ(Inspect(), before);
  Drain();
  EXPECT_TRUE(api_.evictions.empty());
}

}  // namespace
}  // namespace apiary::extender
