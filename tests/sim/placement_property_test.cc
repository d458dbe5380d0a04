// Property tests of the placement model over random workloads on a small
// cluster (rapidcheck):
//  * it changes durations only: on the reference SKU hived packs every job
//    as tightly as its size allows, so hived's every start, finish and
//    preemption is the same with and without the model;
//  * under the topology-blind baselines every job runs at the speed of its
//    spread — the measured cross-node factor exactly when it spans more
//    nodes than its size needs, 1 otherwise — and GPU-seconds are conserved.
#ifdef APIARY_HAVE_RAPIDCHECK

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include "sim_test_util.h"

namespace apiary::sim {
namespace {

using testing::CalibratedModel;
using testing::J;
using testing::MakeCluster;
using testing::MakeJobs;

// Up to 40 jobs of 1, 2, 4, 6, 8 GPUs in one pod or 2 pods of 8, two VCs,
// a class each (so the draw is exercised through the trace path too).
Workload RandomWorkload() {
  const int n = *rc::gen::inRange(1, 41);
  std::vector<J> jobs;
  int64_t t = 0;
  for (int i = 0; i < n; ++i) {
    t += *rc::gen::inRange(0, 400);
    const int shape = *rc::gen::inRange(0, 6);
    const int32_t pods = shape == 5 ? 2 : 1;
    const int32_t gpp = std::array<int32_t, 6>{1, 2, 4, 6, 8, 8}[shape];
    jobs.emplace_back("j" + std::to_string(i), i % 3 == 0 ? "b" : "a", t, pods, gpp,
                      *rc::gen::inRange(1, 3000), *rc::gen::element(0, 0, -1));
  }
  Workload w = MakeJobs(jobs, "V100");
  for (SimJob& j : w.jobs)
    j.model_class = *rc::gen::element<std::string>("", "resnet18", "resnet50", "transformer", "lm");
  return w;
}

ClusterModel SmallCluster() {
  // 6 V100 nodes of 8 GPUs in racks of 2; VC a: 4 nodes, b: 2.
  return MakeCluster(6, 8, {{"a", "", 4}, {"b", "", 2}}, 2, "V100", "V100");
}

RC_GTEST_PROP(PlacementProperty, HivedUnchangedOnTheReferenceSku, ()) {
  const ClusterModel c = SmallCluster();
  const Workload w = RandomWorkload();
  SimOptions on;
  on.placement = &CalibratedModel();
  on.borrow = *rc::gen::arbitrary<bool>();
  SimOptions off;
  off.borrow = on.borrow;
  const SimResult a = testing::RunSim(c, w, PolicyKind::kHived, off);
  const SimResult b = testing::RunSim(c, w, PolicyKind::kHived, on);
  RC_ASSERT(a.jobs.size() == b.jobs.size());
  for (size_t i = 0; i < a.jobs.size(); ++i) {
    RC_ASSERT(a.jobs[i].first_start_s == b.jobs[i].first_start_s);
    RC_ASSERT(a.jobs[i].finish_s == b.jobs[i].finish_s);
    RC_ASSERT(a.jobs[i].preemptions == b.jobs[i].preemptions);
    if (b.jobs[i].first_start_s >= 0) RC_ASSERT(b.jobs[i].placement_factor == 1.0);
  }
}

RC_GTEST_PROP(PlacementProperty, BaselinesPayTheMeasuredFactorForNeedlessSpread, ()) {
  const ClusterModel c = SmallCluster();
  const Workload w = RandomWorkload();
  const PolicyKind p = *rc::gen::element(PolicyKind::kStatic, PolicyKind::kQuota);
  SimOptions on;
  on.placement = &CalibratedModel();
  const SimResult r = testing::RunSim(c, w, p, on);
  int slowed = 0;
  for (size_t i = 0; i < w.jobs.size(); ++i) {
    const JobRecord& rec = r.jobs[i];
    if (rec.first_start_s < 0) continue;
    const int cls = rec.job_class;
    RC_ASSERT(cls >= 0);
    const bool fits_a_node = w.jobs[i].gpus() <= 8;
    const bool across = rec.spread >= static_cast<int8_t>(Spread::kRack);
    const double want = fits_a_node && across
                            ? CalibratedModel()
                                  .Factor(cls, "V100", Spread::kBeyond, w.jobs[i].gpus())
                                  .value
                            : 1.0;
    RC_ASSERT(rec.placement_factor == want);
    slowed += want < 1.0;
    RC_ASSERT(rec.speed == want);  // the reference SKU: SKU speed 1
    // A job larger than a node always spans nodes.
    if (!fits_a_node) RC_ASSERT(across);
  }
  RC_ASSERT(testing::SumBins(r) == testing::SumJobGpuSeconds(r));
  RC_CLASSIFY(slowed > 0, "some job ran spread");
}

}  // namespace
}  // namespace apiary::sim

#endif  // APIARY_HAVE_RAPIDCHECK
