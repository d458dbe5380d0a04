// The plots of `apiary-sim run` (report.cc): vc_waits keeps a missing wait
// (a VC without finished jobs) apart from a wait of 0 and draws a known
// target; allocation adds a panel of differences between policies.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "apiary/sim/report.h"
#include "apiary/sim/scenario.h"
#include "apiary/sim/stats.h"
#include "sim_test_util.h"

namespace apiary::sim {
namespace {

using testing::ReadAll;
using testing::SourcePath;

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

struct SimRun {
  Scenario sc;
  std::vector<SimResult> results;
  std::vector<PolicySummary> summaries;
};

// 400 Philly jobs on 8 nodes, under hived and static: enough to queue.
SimRun Small() {
  ScenarioOptions o;
  o.trace_paths = {SourcePath("traces/data/philly/philly_jobs_pollux.csv")};
  o.workload.max_jobs = 400;
  o.nodes = 8;
  auto sc = LoadScenario(o);
  EXPECT_TRUE(sc.ok()) << sc.status().message();
  SimRun run{std::move(sc).value(), {}, {}};
  for (PolicyKind p : {PolicyKind::kHived, PolicyKind::kStatic}) {
    auto r = Simulate(run.sc.cluster, run.sc.workload, p, SimOptions{});
    EXPECT_TRUE(r.ok()) << r.status().message();
    run.summaries.push_back(Summarize(*r, run.sc.workload, run.sc.cluster));
    run.results.push_back(std::move(r).value());
  }
  return run;
}

TEST(SimReportPlots, VcWaitsTellsAMissingWaitFromAZeroAndDrawsTheTarget) {
  SimRun run = Small();
  ASSERT_GE(run.summaries[0].vcs.size(), 2u);
  // VC 0 under hived: no finished job (missing); VC 1: a wait of exactly 0.
  run.summaries[0].vcs[0].done = 0;
  run.summaries[0].vcs[1].wait.p95 = 0;
  run.summaries[0].vcs[1].wait.mean = 0;
  const std::string dir = ::testing::TempDir() + "apiary_sim_plots";
  RunMeta meta{"test", SimOptions{}};
  meta.wait_target_s = 1800;
  auto notes = WriteOutputs(dir, run.sc, meta, run.results, run.summaries, /*plots=*/false);
  ASSERT_TRUE(notes.ok()) << notes.status().message();

  std::vector<std::string> rows = Lines(ReadAll(dir + "/vc_waits.dat"));
  ASSERT_EQ(rows.size(), run.summaries[0].vcs.size() + 1);
  EXPECT_EQ(rows[1].rfind(run.summaries[0].vcs[0].vc + " - - ", 0), 0u) << rows[1];
  EXPECT_EQ(rows[2].rfind(run.summaries[0].vcs[1].vc + " 0.0000 0.0000 ", 0), 0u) << rows[2];
  const std::string gp = ReadAll(dir + "/vc_waits.gp");
  EXPECT_NE(gp.find("set datafile missing \"-\""), std::string::npos) << gp;
  EXPECT_NE(gp.find("\"n/a\""), std::string::npos) << gp;
  EXPECT_NE(gp.find("set arrow 1 from graph 0, first 0.5000 to graph 1, first 0.5000"),
            std::string::npos)
      << gp;
  EXPECT_NE(gp.find("\"target 30.0m\""), std::string::npos) << gp;

  // No target known: no line.
  meta.wait_target_s = 0;
  ASSERT_TRUE(WriteOutputs(dir, run.sc, meta, run.results, run.summaries, false).ok());
  EXPECT_EQ(ReadAll(dir + "/vc_waits.gp").find("arrow"), std::string::npos);
}

TEST(SimReportPlots, AllocationDifferencePanelSubtractsTheFirstPolicyBinByBin) {
  SimRun run = Small();
  const std::string dir = ::testing::TempDir() + "apiary_sim_plots_diff";
  RunMeta meta{"test", SimOptions{}};
  auto notes = WriteOutputs(dir, run.sc, meta, run.results, run.summaries, /*plots=*/false);
  ASSERT_TRUE(notes.ok()) << notes.status().message();
  std::vector<std::string> rows = Lines(ReadAll(dir + "/allocation_diff.dat"));
  const SimResult& a = run.results[0];
  const SimResult& b = run.results[1];
  const int64_t bins = std::max(a.bins(), b.bins());
  ASSERT_EQ(static_cast<int64_t>(rows.size()), bins + 1);
  EXPECT_EQ(rows[0], "# day static_minus_hived_gpus");
  auto alloc = [](const SimResult& r, int64_t k) {
    int64_t t = 0;
    if (k < r.bins())
      for (const auto& s : r.vc_alloc) t += s[k];
    return static_cast<double>(t) / static_cast<double>(r.bin_s);
  };
  int differing = 0;
  for (int64_t k = 0; k < bins; ++k) {
    std::istringstream in(rows[k + 1]);
    double day = 0, diff = 0;
    in >> day >> diff;
    EXPECT_NEAR(diff, alloc(b, k) - alloc(a, k), 0.001) << "bin " << k;
    differing += diff != 0;
  }
  EXPECT_GT(differing, 0);  // the policies do differ on this load
  const std::string gp = ReadAll(dir + "/allocation.gp");
  EXPECT_NE(gp.find("set multiplot layout 2,1"), std::string::npos) << gp;
  EXPECT_NE(gp.find("\"allocation_diff.dat\" using 1:2"), std::string::npos) << gp;

  // The scripts draw without a gnuplot error, where gnuplot is installed.
  if (std::system("command -v gnuplot >/dev/null 2>&1") != 0) GTEST_SKIP() << "no gnuplot";
  auto drawn = WriteOutputs(dir, run.sc, meta, run.results, run.summaries, /*plots=*/true);
  ASSERT_TRUE(drawn.ok()) << drawn.status().message();
  for (const std::string& n : *drawn) ADD_FAILURE() << n;
  for (const char* png : {"/allocation.png", "/vc_waits.png"})
    EXPECT_GT(std::filesystem::file_size(dir + png), 1000u) << png;
}

}  // namespace
}  // namespace apiary::sim
