// The README's main job in-process: the whole bundled Philly trace (82,247
// jobs) on the Philly-like cluster (Helios VC quotas, 352 8-GPU nodes),
// under every policy, twice: byte-identical summaries and job tables, and
// GPU-seconds conserved.
#include <gtest/gtest.h>

#include "apiary/sim/report.h"
#include "apiary/sim/scenario.h"
#include "apiary/sim/stats.h"
#include "../sim_test_util.h"

namespace apiary::sim {
namespace {

using testing::SourcePath;

TEST(SimFullPhilly, DeterministicAndConserving) {
  ScenarioOptions o;
  o.trace_paths = {SourcePath("traces/data/philly/philly_jobs_pollux.csv")};
  o.vc_quotas_path = SourcePath("traces/data/philly/philly_vc_nodes_helios.csv");
  o.gpus_per_node = 8;
  auto sc = LoadScenario(o);
  ASSERT_TRUE(sc.ok()) << sc.status().message();
  ASSERT_EQ(sc->workload.jobs.size(), 82247u);
  std::string json[2];
  for (int run = 0; run < 2; ++run) {
    std::vector<PolicySummary> summaries;
    for (PolicyKind p : {PolicyKind::kHived, PolicyKind::kStatic, PolicyKind::kQuota}) {
      auto r = Simulate(sc->cluster, sc->workload, p, SimOptions{});
      ASSERT_TRUE(r.ok()) << r.status().message();
      EXPECT_EQ(testing::SumBins(*r), testing::SumJobGpuSeconds(*r)) << PolicyName(p);
      summaries.push_back(Summarize(*r, sc->workload, sc->cluster));
      EXPECT_EQ(summaries.back().jobs, 82247);
    }
    json[run] = SummaryJson(*sc, RunMeta{"test", SimOptions{}}, summaries);
  }
  EXPECT_EQ(json[0], json[1]);
}

}  // namespace
}  // namespace apiary::sim
