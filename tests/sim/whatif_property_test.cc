// Property test of the what-if (rapidcheck): on random workloads of
// guaranteed jobs, a what-if started from a simulation's snapshot at a random
// time T, with no arrivals after T, predicts every waiting job's start and
// end and every preemption after T (inside a VC, by priority) exactly as the
// simulation itself does, whatever the queue order and gang sizes.
//
// Opportunistic jobs (priority -1, or borrowing) are left out on purpose:
// where one lands depends on the order of the scheduler's free-cell lists,
// which recovering the state from pods (the what-if, like an extender
// restart) rebuilds in another order than the history that led to it, so
// a later preemption of it can differ (rapidcheck finds such cases in a few
// thousand runs; sim/README.md, "What-if", says so). The Philly test in
// whatif_test.cc covers them on the bundled trace.
#ifdef APIARY_HAVE_RAPIDCHECK

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <filesystem>
#include <tuple>

#include "apiary/cell/config_loader.h"
#include "apiary/sim/whatif.h"
#include "sim_test_util.h"

namespace apiary::sim {
namespace {

using testing::J;

RC_GTEST_PROP(WhatIfProperty, FromASnapshotPredictsTheSimulation, ()) {
  // 6 V100 nodes of 8 GPUs in racks of 2; VC a: 4 nodes, b: 2.
  const ClusterModel c =
      testing::MakeCluster(6, 8, {{"a", "", 4}, {"b", "", 2}}, 2, "V100", "V100");
  // Heavy load (long jobs arriving densely), so that jobs queue and, after
  // T, a priority-10 job may start by preempting priority-0 ones of its VC.
  const int n = *rc::gen::inRange(1, 60);
  std::vector<J> jobs;
  int64_t t = 0;
  for (int i = 0; i < n; ++i) {
    t += *rc::gen::inRange(0, 100);
    const int shape = *rc::gen::inRange(0, 6);
    const int32_t pods = shape == 5 ? 2 : 1;
    const int32_t gpp = std::array<int32_t, 6>{1, 2, 4, 4, 8, 8}[shape];
    jobs.emplace_back("j" + std::to_string(i), *rc::gen::element<std::string>("a", "a", "b"), t,
                      pods, gpp, *rc::gen::inRange(1, 20000), *rc::gen::element(0, 0, 10));
  }
  const int64_t cut = *rc::gen::inRange<int64_t>(t / 2, t + 1);
  std::vector<J> kept;
  for (const J& j : jobs)
    if (j.submit <= cut) kept.push_back(j);
  RC_PRE(!kept.empty());
  for (const J& j : kept)
    RC_LOG() << j.id << " vc " << j.vc << " submit " << j.submit << " " << j.pods << "x"
             << j.gpus_per_pod << " dur " << j.duration << " prio " << j.priority << "\n";
  const Workload w = testing::MakeJobs(kept, "V100");

  SimOptions o;
  o.queue = *rc::gen::element(QueuePolicy::kFifo, QueuePolicy::kShortestFirst);
  o.borrow = false;  // borrowed runs are opportunistic (see above)
  o.snapshot_at_s = cut;
  SimSnapshot snap;
  o.snapshot = &snap;
  const SimResult sim = testing::RunSim(c, w, PolicyKind::kHived, o);
  RC_ASSERT(snap.taken);
  RC_LOG() << "T " << cut << (o.queue == QueuePolicy::kFifo ? " fifo" : " sjf")
           << (o.borrow ? " borrow" : "") << "\n";
  for (size_t i = 0; i < w.jobs.size(); ++i)
    RC_LOG() << "sim " << w.jobs[i].id << " start " << sim.jobs[i].first_start_s << " end "
             << sim.jobs[i].finish_s << " preempted " << sim.jobs[i].preemptions << "\n";
  for (const PreemptionEvent& p : sim.preemption_log)
    RC_LOG() << "sim preemption " << p.time_s << " " << w.jobs[p.preemptor].id << " kills "
             << w.jobs[p.victim].id << "\n";

  static int run = 0;
  const std::string dir = ::testing::TempDir() + "/whatif_prop_" + std::to_string(run++);
  std::filesystem::remove_all(dir);
  RC_ASSERT(WriteSnapshot(dir, c, w, snap).ok());
  auto config = cell::LoadConfigFile(dir + "/config.yaml");
  RC_ASSERT(config.ok());
  auto pods = wire::ReadPodList(testing::ReadAll(dir + "/pods.json"), "pods.json");
  RC_ASSERT(pods.ok());
  auto file = ReadWhatIfJobs(testing::ReadAll(dir + "/jobs.json"), "jobs.json");
  RC_ASSERT(file.ok());
  WhatIfOptions wo;
  wo.queue = o.queue;
  wo.borrow = o.borrow;
  auto r = RunWhatIf(config->config, *pods, "pods.json", *file, wo);
  if (!r.ok()) RC_FAIL(r.status().message());
  std::filesystem::remove_all(dir);

  for (const WhatIfJobResult& j : r->jobs)
    RC_LOG() << "whatif " << j.name << " start " << j.start_s << " end " << j.end_s << "\n";
  for (const WhatIfPreemption& p : r->preemptions)
    RC_LOG() << "whatif preemption " << p.time_s << " " << p.preemptor << " kills " << p.victim
             << "\n";
  RC_ASSERT(r->jobs.size() == snap.waiting.size());
  for (const WhatIfJobResult& j : r->jobs) {
    const JobRecord& rec = sim.jobs[testing::IndexOf(w, j.name)];
    RC_ASSERT(j.end_s == rec.finish_s);
    if (rec.first_start_s >= cut) RC_ASSERT(j.start_s == rec.first_start_s);
  }
  std::vector<std::tuple<int64_t, std::string, std::string>> expected, got;
  for (const PreemptionEvent& p : sim.preemption_log)
    if (p.time_s > cut)
      expected.emplace_back(p.time_s, w.jobs[p.preemptor].id, w.jobs[p.victim].id);
  for (const WhatIfPreemption& p : r->preemptions)
    got.emplace_back(p.time_s, p.preemptor, p.victim);
  RC_ASSERT(got == expected);
  RC_TAG(expected.empty() ? "no preemption after T" : "preemptions after T");
}

}  // namespace
}  // namespace apiary::sim

#endif  // APIARY_HAVE_RAPIDCHECK
