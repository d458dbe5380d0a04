// Crash recovery: kill -9 the extender at random points of a running
// scheduling sequence (between requests, and in the middle of a filter/bind),
// restart it, and check that every allocation is recovered exactly:
//   - the restarted extender's inspect output equals a reference recovery
//     computed with libcell directly from the API server's pods (hived.md 9:
//     PodScheduled time, ties by namespace/name);
//   - after a kill between requests, the allocations the extender served
//     just before it was killed are all there, unchanged: every group's VC,
//     priority, state, physical placement and pods, and every physical cell's
//     state, priority, health and VC. (Virtual cells are re-derived from the
//     physical leaves on recovery, hived.md 7.1, so which virtual cell of a VC
//     a group holds may legitimately differ from the pre-crash choice once
//     other groups were deleted; the reference check above covers them.)
// The seed is printed; APIARY_CRASH_SEED=<n> replays a run.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <thread>

#include "apiary/cell/annotations.h"
#include "apiary/cell/config_loader.h"
#include "apiary/cell/scheduler.h"
#include "apiary/extender/extender.h"
#include "apiary/extender/wire.h"
#include "apiary/wire/inspect_json.h"
#include "cluster_harness.h"

namespace apiary::testing {
namespace {

std::string Dump(const wire::Json& j) { return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); }

// The inspect output without the virtual side of the bindings.
// hived.md 9, computed independently of the extender.
std::pair<std::string, std::string> ReferenceRecovery(const std::string& config_text, const std::vector<Json>& pods) {
  auto loaded = cell::LoadConfigText(config_text, "config.yaml");
  EXPECT_TRUE(loaded.ok());
  cell::ManualClock clock(0);
  auto sched = std::move(cell::Scheduler::Create(loaded->config, &clock, /*start_healthy=*/false)).value();
  for (const auto& n : sched->Nodes()) (void)sched->SetNodeHealth(n, true);
  struct Bound {
    int64_t time;
    cell::PodRef ref;
    cell::PodSchedulingSpec spec;
    cell::PodBindInfo info;
  };
  std::vector<Bound> bound;
  for (const auto& p : pods) {
    if (!p["spec"].contains("nodeName")) continue;
    const auto& ann = p["metadata"]["annotations"];
    if (!ann.contains(cell::kAnnotationPodBindInfo)) continue;
    Bound b;
    b.ref = {p["metadata"]["uid"], p["metadata"]["namespace"], p["metadata"]["name"]};
    b.time = INT64_MAX;
    for (const auto& c : p["status"]["conditions"])
      if (c["type"] == "PodScheduled" && c["status"] == "True")
        b.time = *extender::ParseRfc3339(c["lastTransitionTime"].get<std::string>());
    auto spec = cell::ParsePodSchedulingSpec(ann[cell::kAnnotationPodSchedulingSpec].get<std::string>(), b.ref.ns,
                                             b.ref.name);
    auto info = cell::ParsePodBindInfo(ann[cell::kAnnotationPodBindInfo].get<std::string>());
    EXPECT_TRUE(spec.ok() && info.ok());
    b.spec = *spec;
    b.info = *info;
    if (ann.contains(cell::kAnnotationVirtualLeafCells)) {
      EXPECT_TRUE(cell::ApplyVirtualLeafCells(ann[cell::kAnnotationVirtualLeafCells].get<std::string>(), b.info).ok());
    }
    bound.push_back(std::move(b));
  }
  std::sort(bound.begin(), bound.end(), [](const Bound& a, const Bound& b) {
    if (a.time != b.time) return a.time < b.time;
    if (a.ref.ns != b.ref.ns) return a.ref.ns < b.ref.ns;
    return a.ref.name < b.ref.name;
  });
  for (const auto& b : bound) EXPECT_TRUE(sched->AddAllocatedPod(b.ref, b.spec, b.info).ok());
  sched->FinishRecovery();
  EXPECT_EQ(sched->CheckInvariants(), "");
  wire::Json status;
  status["physicalCluster"] = wire::CellListToJson(sched->PhysicalCluster(), true);
  wire::Json vcs = wire::Json::object();
  // The extender's fixed order of a VC's cells (opportunistic ones last, in
  // physical order), as /v1/inspect/clusterstatus answers.
  for (const auto& vc : sched->VirtualClusterNames())
    vcs[vc] = wire::CellListToJson(*extender::InspectVirtualCluster(*sched, vc), false);
  status["virtualClusters"] = vcs;
  return {Dump(status), Dump(wire::AffinityGroupListToJson(sched->AffinityGroups()))};
}

TEST(CrashTest, KillNineAtRandomPointsRecoversEveryAllocation) {
  uint64_t seed = std::getenv("APIARY_CRASH_SEED") ? std::stoull(std::getenv("APIARY_CRASH_SEED"))
                                                   : static_cast<uint64_t>(std::random_device{}());
  std::cout << "APIARY_CRASH_SEED=" << seed << std::endl;
  std::mt19937_64 rng(seed);
  Cluster c("crash");
  ASSERT_TRUE(c.StartApi());
  for (const auto& n : BasicNodes()) c.CreateNode(n);
  const std::string config = BasicConfigText();
  c.WriteConfig(config);
  // extender mode: no background evictions, so the state only changes
  // through the calls below.
  const std::vector<std::string> args = {"--preemption-mode", "extender"};
  ASSERT_GT(c.StartExtender(args), 0);
  ASSERT_TRUE(c.WaitReady());

  const std::vector<PodSpecArgs> menu = {
      {"prod", 10, "V100", 8},     {"research", 5, "V100", 4}, {"research", 5, "V100", 2},
      {"research", 3, "K80", 2},   {"default", 0, "K80", 1},   {"default", -1, "V100", 1},
      {"research", -1, "K80", 1},  {"prod", 20, "", 4},
  };
  int seq = 0;
  auto name_of = [&](int i) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "p-%04d", i);
    return std::string(buf);
  };
  // Creates and schedules one pod (or a gang); a pod that cannot bind now is
  // deleted, so that commit order = name order (see the file comment).
  // in_flight: the request is being killed; connection errors are expected.
  auto step_create = [&](int port_index, std::mt19937_64& rng, bool in_flight = false) -> void {
    bool gang = rng() % 5 == 0;
    int n = gang ? 2 : 1;
    std::string base = name_of(++seq);
    PodSpecArgs a = menu[rng() % menu.size()];
    if (gang) {
      a = PodSpecArgs{"prod", 30, "V100", 4, "ml/" + base, {{2, 4}}};
    }
    for (int k = 0; k < n; ++k) {
      std::string name = gang ? base + "-" + std::to_string(k) : base;
      Json pod = c.CreatePod("ml", name, a);
      Json f = in_flight ? c.Filter(pod, BasicNodes(), port_index) : c.FilterKnown(pod, BasicNodes(), port_index);
      if (f.is_object() && f["NodeNames"].is_array()) {
        Json b = c.Bind(pod, f["NodeNames"][0], port_index);
        if (!in_flight) {
          EXPECT_EQ(b["Error"], "") << b.dump();
        }
      } else if (!in_flight) {
        c.DeletePod("ml", name);
      }
    }
  };
  auto step_delete = [&] {
    auto pods = c.Pods();
    if (pods.empty()) return;
    const Json& p = pods[rng() % pods.size()];
    c.DeletePod("ml", p["metadata"]["name"]);
  };
  auto inspect = [&] {
    return std::make_pair(Call(c.port(), "GET", "/v1/inspect/clusterstatus").body,
                          Call(c.port(), "GET", "/v1/inspect/affinitygroups/").body);
  };
  auto settle = [&] {
    // The watch has delivered everything the API server holds.
    auto pods = c.Pods();
    WaitUntil(
        [&] {
          auto groups = Call(c.port(), "GET", "/v1/inspect/affinitygroups/").json();
          size_t allocated = 0;
          for (const auto& g : groups["items"]) allocated += g["status"].value("allocatedPods", Json::array()).size();
          size_t bound = 0;
          for (const auto& p : pods) bound += p["spec"].contains("nodeName");
          return allocated == bound;
        },
        std::chrono::seconds(5));
  };

  const int kRounds = 16;
  int mid_request_kills = 0, quiescent_kills = 0;
  for (int round = 0; round < kRounds; ++round) {
    int steps = 3 + static_cast<int>(rng() % 8);
    for (int s = 0; s < steps; ++s) {
      if (rng() % 4 == 0) step_delete();
      else step_create(0, rng);
    }
    settle();
    bool mid_request = rng() % 2 == 0;
    std::pair<std::string, std::string> before;
    if (mid_request) {
      // Kill while a filter + bind is in flight, at a random moment.
      ++mid_request_kills;
      std::mt19937_64 thread_rng(rng());  // the in-flight request's own generator
      std::thread t([&] { step_create(0, thread_rng, /*in_flight=*/true); });
      std::this_thread::sleep_for(std::chrono::microseconds(rng() % 4000));
      c.extender().Kill(SIGKILL);
      t.join();
      // A pod left unbound may carry a half-written decision; kube-scheduler
      // would retry it, here it is simply removed.
      for (const auto& p : c.Pods())
        if (!p["spec"].contains("nodeName")) c.DeletePod("ml", p["metadata"]["name"]);
    } else {
      ++quiescent_kills;
      before = inspect();
      c.extender().Kill(SIGKILL);
    }
    ASSERT_GT(c.StartExtender(args, 0), 0);
    ASSERT_TRUE(c.WaitReady()) << c.extender().Log();
    settle();
    auto after = inspect();
    auto reference = ReferenceRecovery(config, c.Pods());
    ASSERT_EQ(after.first, reference.first) << "round " << round << " seed " << seed;
    ASSERT_EQ(after.second, reference.second) << "round " << round << " seed " << seed;
    if (!mid_request) {
      // The same state, virtual cells included (apiary.io/virtual-leaf-cells).
      ASSERT_EQ(after.first, before.first) << "round " << round << " seed " << seed;
      ASSERT_EQ(after.second, before.second) << "round " << round << " seed " << seed;
    }
  }
  std::cout << "kills: " << quiescent_kills << " between requests (byte-identical inspect output), "
            << mid_request_kills << " mid-request; pods " << seq
            << "; bound now " << c.Pods().size() << std::endl;
}

}  // namespace
}  // namespace apiary::testing
