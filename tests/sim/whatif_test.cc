// apiary-sim whatif (whatif.h): a what-if started from a simulation's state
// at T predicts what the simulation itself does after T when nothing new
// arrives; hand-computed answers on a small cluster; the input readers'
// errors name the file, the entry and the field.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <tuple>

#include <nlohmann/json.hpp>

#include "apiary/cell/config_loader.h"
#include "apiary/sim/scenario.h"
#include "apiary/sim/whatif.h"
#include "sim_test_util.h"

namespace apiary::sim {
namespace {

using nlohmann::json;
using testing::ReadAll;
using testing::SourcePath;

struct Snapshot {
  cell::Config config;
  wire::PodList pods;
  WhatIfJobs jobs;
  std::string pods_text, jobs_text;
};

// Writes the snapshot to a fresh directory and reads it back as the what-if
// reads its inputs.
Snapshot WriteAndRead(const ClusterModel& c, const Workload& w, const SimSnapshot& s,
                      const std::string& name) {
  const std::string dir = ::testing::TempDir() + "/whatif_" + name;
  std::filesystem::remove_all(dir);
  Status st = WriteSnapshot(dir, c, w, s);
  EXPECT_TRUE(st.ok()) << st.message();
  Snapshot out;
  auto config = cell::LoadConfigFile(dir + "/config.yaml");
  EXPECT_TRUE(config.ok()) << config.status().message();
  if (config.ok()) out.config = config->config;
  out.pods_text = ReadAll(dir + "/pods.json");
  out.jobs_text = ReadAll(dir + "/jobs.json");
  auto pods = wire::ReadPodList(out.pods_text, "pods.json");
  EXPECT_TRUE(pods.ok()) << pods.status().message();
  if (pods.ok()) out.pods = std::move(pods).value();
  auto jobs = ReadWhatIfJobs(out.jobs_text, "jobs.json");
  EXPECT_TRUE(jobs.ok()) << jobs.status().message();
  if (jobs.ok()) out.jobs = std::move(jobs).value();
  return out;
}

// 3000 Philly jobs on 24 P40 nodes (heavy load), VCs without a quota
// rejected, VC 6214e9's jobs opportunistic (priority -1, preempted by the
// others), arrivals cut at the 1500th job's submit time T.
struct Midpoint {
  Scenario sc;
  int64_t t = 0;
};

Midpoint PhillyMidpoint() {
  ScenarioOptions o;
  o.trace_paths = {SourcePath("traces/data/philly/philly_jobs_pollux.csv")};
  o.workload.max_jobs = 3000;
  o.nodes = 24;
  o.sku = "P40";
  auto sc = LoadScenario(o);
  EXPECT_TRUE(sc.ok()) << sc.status().message();
  Midpoint m{std::move(sc).value(), 0};
  m.t = m.sc.workload.jobs[1500].submit_s;
  std::vector<SimJob> kept;
  for (SimJob j : m.sc.workload.jobs) {
    if (j.submit_s > m.t) break;
    if (m.sc.workload.vcs[j.vc] == "6214e9") j.priority = -1;
    kept.push_back(std::move(j));
  }
  m.sc.workload.jobs = std::move(kept);
  return m;
}

TEST(WhatIf, FromASimulationsMidpointPredictsItsStartsAndPreemptions) {
  Midpoint m = PhillyMidpoint();
  const Workload& w = m.sc.workload;
  for (QueuePolicy queue : {QueuePolicy::kFifo, QueuePolicy::kShortestFirst}) {
    for (bool borrow : {false, true}) {
      SCOPED_TRACE(std::string(QueuePolicyName(queue)) + (borrow ? " borrow" : ""));
      SimSnapshot snap;
      SimOptions o;
      o.queue = queue;
      o.borrow = borrow;
      o.unknown_vc = UnknownVc::kReject;
      o.snapshot_at_s = m.t;
      o.snapshot = &snap;
      SimResult sim = testing::RunSim(m.sc.cluster, w, PolicyKind::kHived, o);
      ASSERT_TRUE(snap.taken);
      ASSERT_GT(snap.running.size(), 10u);
      ASSERT_GT(snap.waiting.size(), 100u);

      Snapshot in = WriteAndRead(m.sc.cluster, w, snap,
                                 std::string(QueuePolicyName(queue)) + (borrow ? "_b" : ""));
      WhatIfOptions wo;
      wo.queue = queue;
      wo.borrow = borrow;
      auto r = RunWhatIf(in.config, in.pods, "pods.json", in.jobs, wo);
      ASSERT_TRUE(r.ok()) << r.status().message();
      ASSERT_EQ(r->jobs.size(), snap.waiting.size());
      EXPECT_EQ(r->running_jobs, static_cast<int32_t>(snap.running.size()));

      // Every waiting job: the same end, and for those that had not started
      // before T the same first start.
      int64_t compared_starts = 0;
      for (const WhatIfJobResult& j : r->jobs) {
        const JobRecord& rec = sim.jobs[testing::IndexOf(w, j.name)];
        SCOPED_TRACE(j.name);
        EXPECT_EQ(j.end_s, rec.finish_s);
        EXPECT_EQ(j.status, rec.outcome == JobOutcome::kDone ? "starts" : "waits");
        if (rec.first_start_s >= m.t) {
          EXPECT_EQ(j.start_s, rec.first_start_s);
          ++compared_starts;
        }
      }
      EXPECT_GT(compared_starts, 100);
      // The same preemptions after T, in the same order.
      std::vector<std::tuple<int64_t, std::string, std::string>> expected, got;
      for (const PreemptionEvent& p : sim.preemption_log)
        if (p.time_s > m.t)
          expected.emplace_back(p.time_s, w.jobs[p.preemptor].id, w.jobs[p.victim].id);
      for (const WhatIfPreemption& p : r->preemptions)
        got.emplace_back(p.time_s, p.preemptor, p.victim);
      EXPECT_FALSE(expected.empty());  // the scenario exercises preemption
      EXPECT_EQ(got, expected);
      // Per job, the victims it names are its preemptions after T.
      std::map<std::string, std::vector<std::string>> by_preemptor;
      for (const auto& [t, pre, victim] : expected) {
        auto& v = by_preemptor[pre];
        if (std::find(v.begin(), v.end(), victim) == v.end()) v.push_back(victim);
      }
      for (const WhatIfJobResult& j : r->jobs) {
        auto it = by_preemptor.find(j.name);
        EXPECT_EQ(j.preempts, it == by_preemptor.end() ? std::vector<std::string>{} : it->second)
            << j.name;
      }
      // Deterministic: the same answer twice, byte for byte.
      auto again = RunWhatIf(in.config, in.pods, "pods.json", in.jobs, wo);
      ASSERT_TRUE(again.ok());
      EXPECT_EQ(WhatIfJson(*again), WhatIfJson(*r));
    }
  }
}

// The small cluster of examples/configs/hived-basic.yaml; an opportunistic
// job of VC research holding all three K80 nodes.
struct Small {
  cell::Config config;
  ClusterModel cluster;
  Workload w;
  Snapshot in;
};

Small SmallState() {
  Small s;
  auto loaded = cell::LoadConfigFile(SourcePath("examples/configs/hived-basic.yaml"));
  EXPECT_TRUE(loaded.ok()) << loaded.status().message();
  s.config = loaded->config;
  auto c = ClusterFromHivedConfig(s.config, "");
  EXPECT_TRUE(c.ok()) << c.status().message();
  s.cluster = std::move(c).value();
  s.w = testing::MakeJobs({{"o1", "research", 0, 3, 4, 1000, -1, "K80"}});
  SimSnapshot snap;
  SimOptions o;
  o.snapshot_at_s = 0;
  o.snapshot = &snap;
  testing::RunSim(s.cluster, s.w, PolicyKind::kHived, o);
  EXPECT_EQ(snap.running.size(), 1u);
  s.in = WriteAndRead(s.cluster, s.w, snap, "small");
  return s;
}

WhatIfJobs Jobs(const std::string& text) {
  auto j = ReadWhatIfJobs(text, "jobs.json");
  EXPECT_TRUE(j.ok()) << j.status().message();
  return j.ok() ? std::move(j).value() : WhatIfJobs();
}

TEST(WhatIf, HandComputedStartsPreemptionsQueueAndQuota) {
  Small s = SmallState();
  // g1 takes default's one K80 node from o1 at once; g2 waits behind it in
  // default's queue; o1 restarts (from scratch, 1000 s) when g2 is done.
  WhatIfJobs jobs = Jobs(R"({"now": 0, "jobs": [
      {"name": "g1", "vc": "default", "gpus_per_pod": 4, "leaf_cell_type": "K80",
       "duration": 100},
      {"name": "g2", "vc": "default", "gpus_per_pod": 4, "duration": "50s", "submit": 0},
      {"name": "late", "vc": "prod", "gpus_per_pod": 8, "duration": "1m", "submit": 30}]})");
  auto r = RunWhatIf(s.config, s.in.pods, "pods.json", jobs, {});
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->jobs.size(), 3u);
  const WhatIfJobResult& g1 = r->jobs[0];
  const WhatIfJobResult& g2 = r->jobs[1];
  const WhatIfJobResult& late = r->jobs[2];
  EXPECT_EQ(g1.start_s, 0);
  EXPECT_EQ(g1.end_s, 100);
  EXPECT_EQ(g1.preempts, std::vector<std::string>{"o1"});
  EXPECT_TRUE(g1.queue_ahead.empty());
  EXPECT_EQ(g2.start_s, 100);
  EXPECT_EQ(g2.end_s, 150);
  EXPECT_TRUE(g2.preempts.empty());
  EXPECT_EQ(g2.queue_ahead, std::vector<std::string>{"g1"});
  // A job submitted after now arrives then (a V100 node of prod is idle).
  EXPECT_EQ(late.start_s, 30);
  EXPECT_TRUE(late.queue_ahead.empty());  // not queued now
  ASSERT_EQ(r->preemptions.size(), 1u);
  EXPECT_EQ(r->preemptions[0].victim, "o1");
  // VCs in configuration order: prod, research, default.
  ASSERT_EQ(r->vcs.size(), 3u);
  EXPECT_EQ(r->vcs[2].name, "default");
  EXPECT_EQ(r->vcs[2].quota_gpus, 4);
  EXPECT_EQ(r->vcs[2].used_gpus, 0);  // o1 is opportunistic: no quota held
  EXPECT_EQ(r->vcs[2].pending, 2);
  EXPECT_EQ(r->vcs[2].idle_s, 150);
  EXPECT_EQ(r->vcs[0].idle_s, 90);
  const std::string table = FormatWhatIf(*r);
  EXPECT_NE(table.find("g2"), std::string::npos);
  json j = json::parse(WhatIfJson(*r));
  EXPECT_EQ(j["jobs"][1]["start"], 100);
  EXPECT_EQ(j["jobs"][1]["queue_ahead"][0], "g1");
  EXPECT_EQ(j["jobs"][0]["preempts"][0], "o1");
}

TEST(WhatIf, RunningJobsEndAtTheirExpectedEndAndFreeTheQuota) {
  Small s = SmallState();
  // A guaranteed job of research holding both of its K80 nodes until 500.
  Workload w = testing::MakeJobs({{"r1", "research", 0, 2, 4, 500, 0, "K80"}});
  SimSnapshot snap;
  SimOptions o;
  o.snapshot_at_s = 10;
  o.snapshot = &snap;
  testing::RunSim(s.cluster, w, PolicyKind::kHived, o);
  Snapshot in = WriteAndRead(s.cluster, w, snap, "r1");
  // The annotation says r1 ends at 500; the jobs file moves it to 700. (r2
  // asks for K80: research's two V100 switches would hold it at once.)
  auto r = RunWhatIf(in.config, in.pods, "pods.json",
                     Jobs(R"({"now": 10, "jobs": [
                         {"name": "r2", "vc": "research", "pods": 2, "gpus_per_pod": 4,
                          "leaf_cell_type": "K80", "duration": 10}]})"),
                     {});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->jobs[0].start_s, 500);
  EXPECT_EQ(r->vcs[1].name, "research");
  EXPECT_EQ(r->vcs[1].used_gpus, 8);
  EXPECT_EQ(r->vcs[1].next_release_s, 500);
  EXPECT_EQ(r->vcs[1].released_s, 500);
  EXPECT_EQ(r->vcs[1].idle_s, 510);
  auto moved = RunWhatIf(in.config, in.pods, "pods.json",
                         Jobs(R"({"now": 10, "jobs": [{"name": "r1", "end": 700},
                             {"name": "r2", "vc": "research", "pods": 2, "gpus_per_pod": 4,
                              "leaf_cell_type": "K80", "duration": 10}]})"),
                         {});
  ASSERT_TRUE(moved.ok()) << moved.status().message();
  EXPECT_EQ(moved->jobs[0].start_s, 700);
  EXPECT_EQ(moved->vcs[1].released_s, 700);
  // Without an end anywhere: now + the default duration.
  json pods = json::parse(in.pods_text);
  for (auto& p : pods["items"]) p["metadata"]["annotations"].erase(kAnnotationExpectedEnd);
  auto bare = wire::ReadPodList(pods.dump(), "pods.json");
  ASSERT_TRUE(bare.ok());
  auto def = RunWhatIf(in.config, *bare, "pods.json",
                       Jobs(R"({"now": 10, "default_duration": "1h", "jobs": [
                           {"name": "r2", "vc": "research", "pods": 2, "gpus_per_pod": 4,
                            "leaf_cell_type": "K80"}]})"),
                       {});
  ASSERT_TRUE(def.ok()) << def.status().message();
  EXPECT_EQ(def->jobs[0].start_s, 10 + 3600);
  EXPECT_EQ(def->jobs[0].end_s, 10 + 3600 + 3600);
}

TEST(WhatIf, SnapshotDurationsAreRunTimesOnTheJobsSku) {
  // Durations at the V100 reference; K80 runs them slower. The snapshot
  // writes run times, so the what-if still predicts the simulation.
  auto loaded = cell::LoadConfigFile(SourcePath("examples/configs/hived-basic.yaml"));
  ASSERT_TRUE(loaded.ok());
  auto c = ClusterFromHivedConfig(loaded->config, "V100");
  ASSERT_TRUE(c.ok()) << c.status().message();
  Workload w = testing::MakeJobs({{"k1", "default", 0, 1, 4, 1800, 0, "K80"},
                                  {"k2", "default", 60, 1, 4, 1200, 0, "K80"},
                                  {"v1", "prod", 0, 1, 8, 600, 0, ""}},
                                 "V100");
  SimSnapshot snap;
  SimOptions o;
  o.snapshot_at_s = 300;
  o.snapshot = &snap;
  SimResult sim = testing::RunSim(*c, w, PolicyKind::kHived, o);
  const JobRecord& k2 = sim.jobs[testing::IndexOf(w, "k2")];
  ASSERT_GT(k2.finish_s - k2.first_start_s, 1200);  // K80 is slower than V100
  Snapshot in = WriteAndRead(*c, w, snap, "k80");
  auto r = RunWhatIf(in.config, in.pods, "pods.json", in.jobs, {});
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->jobs.size(), 1u);
  EXPECT_EQ(r->jobs[0].start_s, k2.first_start_s);
  EXPECT_EQ(r->jobs[0].end_s, k2.finish_s);
}

// ---- The readers' errors ----

std::string JobsError(const std::string& text) {
  auto j = ReadWhatIfJobs(text, "jobs.json");
  EXPECT_FALSE(j.ok()) << text;
  return j.ok() ? "" : j.status().message();
}

TEST(WhatIfInput, JobsFileErrorsNameTheField) {
  EXPECT_NE(JobsError("{").find("jobs.json: invalid JSON"), std::string::npos);
  EXPECT_NE(JobsError("[]").find("jobs.json: expected an object"), std::string::npos);
  EXPECT_NE(JobsError(R"({"defualt_duration": 5})")
                .find("defualt_duration: unknown key (did you mean default_duration?)"),
            std::string::npos);
  EXPECT_NE(JobsError(R"({"default_duration": "soon"})").find("default_duration: bad duration"),
            std::string::npos);
  EXPECT_NE(JobsError(R"({"now": "yesterday"})").find("now: expected whole seconds or an RFC 3339"),
            std::string::npos);
  EXPECT_NE(JobsError(R"({"jobs": [{"vc": "a"}]})").find("jobs[0].name: missing"),
            std::string::npos);
  EXPECT_NE(JobsError(R"({"jobs": [{"name": "a"}, {"name": "a"}]})")
                .find("jobs[1].name: \"a\" is listed twice"),
            std::string::npos);
  EXPECT_NE(JobsError(R"({"jobs": [{"name": "a", "duration": -5}]})")
                .find("jobs.json: jobs[0].duration: bad duration -5"),
            std::string::npos);
  EXPECT_NE(JobsError(R"({"jobs": [{"name": "a", "duration": "2 hours"}]})")
                .find("jobs[0].duration: bad duration \"2 hours\""),
            std::string::npos);
  EXPECT_NE(JobsError(R"({"jobs": [{"name": "a", "priority": 2000}]})")
                .find("jobs[0].priority: expected an integer in -1..1000, got 2000"),
            std::string::npos);
  EXPECT_NE(JobsError(R"({"jobs": [{"name": "a", "pods": 0}]})").find("jobs[0].pods"),
            std::string::npos);
  EXPECT_NE(JobsError(R"({"jobs": [{"name": "a", "gpu": 4}]})")
                .find("jobs[0].gpu: unknown key"),
            std::string::npos);
  EXPECT_NE(JobsError(R"({"jobs": [{"name": "a", "end": "tomorrow"}]})").find("jobs[0].end"),
            std::string::npos);
  // Accepted forms: seconds, units, RFC 3339.
  WhatIfJobs ok = Jobs(R"({"now": "1970-01-01T01:00:00Z", "default_duration": "1.5h",
                           "jobs": [{"name": "a", "duration": "90m", "submit": 3000}]})");
  EXPECT_EQ(ok.now_s, 3600);
  EXPECT_EQ(ok.default_duration_s, 5400);
  EXPECT_EQ(ok.jobs[0].duration_s, 5400);
  EXPECT_EQ(ok.jobs[0].submit_s, 3000);
}

TEST(WhatIfInput, PodListErrorsNameTheItemAndField) {
  auto err = [](const std::string& text) {
    auto r = wire::ReadPodList(text, "pods.json");
    EXPECT_FALSE(r.ok()) << text;
    return r.ok() ? std::string() : r.status().message();
  };
  EXPECT_NE(err("{").find("pods.json: invalid JSON"), std::string::npos);
  EXPECT_NE(err(R"({"kind": "Deployment"})").find("pods.json: not a pod list"), std::string::npos);
  EXPECT_NE(err(R"({"items": 3})").find("pods.json: items: must be a list of pods"),
            std::string::npos);
  json bound = json::parse(ReadAll(SourcePath("examples/whatif/pods.json")));
  bound["items"][1]["status"]["conditions"][0]["lastTransitionTime"] = "noon";
  EXPECT_NE(err(bound.dump())
                .find("pods.json: items[1] (pod sim/bert-pretrain-0): "
                      "status.conditions[0].lastTransitionTime: not an RFC 3339 time: \"noon\""),
            std::string::npos)
      << err(bound.dump());
  // Completed pods are skipped, pods without bind info listed as unbound.
  auto ok = wire::ReadPodList(R"({"items": [
      {"metadata": {"name": "done"}, "status": {"phase": "Succeeded"}},
      {"metadata": {"name": "waiting", "annotations": {
         "hivedscheduler.microsoft.com/pod-scheduling-spec": "{virtualCluster: a}"}}}]})",
                              "pods.json");
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ(ok->completed, 1);
  ASSERT_EQ(ok->unbound.size(), 1u);
  EXPECT_TRUE(ok->unbound[0].has_spec);
  EXPECT_EQ(ok->unbound[0].where, "pods.json: items[1]");
  EXPECT_EQ(ok->Note("pods.json"),
            "2 pods in pods.json: 0 bound (with bind info), 1 completed (skipped), 1 without "
            "bind info (skipped)");
}

std::string RunError(const Small& s, const std::string& pods_text, const std::string& jobs_text) {
  auto pods = wire::ReadPodList(pods_text, "pods.json");
  if (!pods.ok()) return pods.status().message();
  auto jobs = ReadWhatIfJobs(jobs_text, "jobs.json");
  if (!jobs.ok()) return jobs.status().message();
  auto r = RunWhatIf(s.config, *pods, "pods.json", *jobs, {});
  EXPECT_FALSE(r.ok());
  return r.ok() ? "" : r.status().message();
}

TEST(WhatIfInput, StateErrorsNameThePodOrTheField) {
  Small s = SmallState();
  const std::string pods = s.in.pods_text;
  auto edit = [&](auto f) {
    json j = json::parse(pods);
    f(j["items"][0]);
    return j.dump();
  };
  const std::string none = R"({"now": 0})";
  // A HiveD pod without bind info that the jobs file does not describe.
  std::string msg = RunError(
      s, edit([](json& p) { p["metadata"]["annotations"].erase(cell::kAnnotationPodBindInfo); }),
      none);
  EXPECT_NE(msg.find("pods.json: items[0] (pod sim/o1-0): annotation "
                     "hivedscheduler.microsoft.com/pod-bind-info: missing"),
            std::string::npos)
      << msg;
  // A pod without HiveD's annotations is not the scheduler's: skipped.
  json foreign = json::parse(pods);
  foreign["items"].push_back({{"metadata", {{"name", "coredns"}, {"namespace", "kube-system"}}}});
  auto fp = wire::ReadPodList(foreign.dump(), "pods.json");
  ASSERT_TRUE(fp.ok());
  auto fr = RunWhatIf(s.config, *fp, "pods.json", Jobs(none), {});
  ASSERT_TRUE(fr.ok()) << fr.status().message();
  EXPECT_EQ(fr->pods_skipped, 1);
  // An annotation that does not parse.
  msg = RunError(s, edit([](json& p) {
                   p["metadata"]["annotations"][cell::kAnnotationPodBindInfo] = "[not: bind";
                 }),
                 none);
  EXPECT_NE(msg.find("pod sim/o1-0 skipped: annotation hivedscheduler.microsoft.com/pod-bind-info"),
            std::string::npos)
      << msg;
  msg = RunError(s, edit([](json& p) {
                   p["metadata"]["annotations"][kAnnotationExpectedEnd] = "later";
                 }),
                 none);
  EXPECT_NE(msg.find("annotation apiary.io/expected-end: expected whole seconds"),
            std::string::npos)
      << msg;
  msg = RunError(s, edit([](json& p) {
                   p["metadata"]["annotations"][kAnnotationExpectedDuration] = "-3h";
                 }),
                 none);
  EXPECT_NE(msg.find("annotation apiary.io/expected-duration: bad duration \"-3h\""),
            std::string::npos)
      << msg;
  // A running pod of a VC the configuration lacks.
  msg = RunError(s, edit([](json& p) {
                   json& ann = p["metadata"]["annotations"];
                   std::string spec = ann[cell::kAnnotationPodSchedulingSpec];
                   spec.replace(spec.find("research"), 8, "ghost");
                   ann[cell::kAnnotationPodSchedulingSpec] = spec;
                 }),
                 none);
  EXPECT_NE(msg.find("pods.json: items[0] (pod sim/o1-0): pod-scheduling-spec virtualCluster: "
                     "unknown VC \"ghost\" (the configuration's VCs: prod, "
                     "research, default)"),
            std::string::npos)
      << msg;
  // The jobs file against the state.
  msg = RunError(s, pods, R"({"jobs": [{"name": "p", "vc": "ghost"}]})");
  EXPECT_NE(msg.find("jobs.json: jobs[0].vc: unknown VC \"ghost\""), std::string::npos) << msg;
  msg = RunError(s, pods, R"({"jobs": [{"name": "p", "gpus_per_pod": 2}]})");
  EXPECT_NE(msg.find("jobs[0].vc: missing"), std::string::npos) << msg;
  msg = RunError(s, pods, R"({"jobs": [{"name": "p", "vc": "prod", "leaf_cell_type": "A100"}]})");
  EXPECT_NE(msg.find("jobs[0].leaf_cell_type: no chain of the configuration has leaf cell type "
                     "\"A100\""),
            std::string::npos)
      << msg;
  msg = RunError(s, pods, R"({"jobs": [{"name": "o1", "vc": "prod"}]})");
  EXPECT_NE(msg.find("jobs[0].vc: job \"o1\" is running"), std::string::npos) << msg;
  msg = RunError(s, pods, R"({"jobs": [{"name": "p", "vc": "prod", "end": 50}]})");
  EXPECT_NE(msg.find("jobs[0].end: no running pods of group \"p\""), std::string::npos) << msg;
  msg = RunError(s, pods, R"({"now": 2000})");
  EXPECT_NE(msg.find("pods.json: items[0] (pod sim/o1-0): annotation apiary.io/expected-end: "
                     "job \"o1\" is expected to end at 1000, not after now (2000)"),
            std::string::npos)
      << msg;
}

}  // namespace
}  // namespace apiary::sim
