// What a run leaves behind: the comparison table (stdout), a JSON summary,
// per-policy CSVs (jobs, time series), gnuplot plots (PNG and SVG) and a
// one-page Markdown report linking them.
//
// Everything but the plots is a pure function of the results, so the same
// run writes the same bytes.
#pragma once

#include <string>
#include <vector>

#include "apiary/sim/scenario.h"
#include "apiary/sim/simulator.h"
#include "apiary/sim/stats.h"

namespace apiary::sim {

struct RunMeta {
  std::string command;  // how the run was invoked (for the report)
  SimOptions options;
  // A p95 wait target, drawn as a line in vc_waits (0: none known).
  int64_t wait_target_s = 0;
};

// The policy comparison: one row per policy (jobs, finished, rejected, wait
// mean/p50/p95/p99, JCT mean/p95, utilisation, idle and fragmented GPUs,
// preemptions, makespan).
std::string FormatComparisonTable(const std::vector<PolicySummary>& summaries);
// What the headline waits leave out, per policy: rejected jobs with their
// reasons and unfinished jobs ("" when every job finished everywhere).
std::string FormatExclusions(const std::vector<PolicySummary>& summaries);
// `run --explain`: per policy with explained waits, the jobs whose first wait
// the engine explained with each rule (docs/explain.md); "" when none.
std::string FormatWaitReasons(const std::vector<PolicySummary>& summaries);

// p95 wait per VC (rows) and policy (columns).
std::string FormatVcTable(const std::vector<PolicySummary>& summaries);

// Each sharing policy's VCs against their static partitions (needs the
// static policy in `summaries`; else empty): which VCs wait longer (HiveD's
// "sharing anomaly" for quota; a broken guarantee for hived), which less.
std::string FormatFindings(const std::vector<PolicySummary>& summaries);

// Creates `dir` and its parents (like mkdir -p); error names the path.
Status MakeDirectories(const std::string& dir);
// Writes `text` to `path` (truncating); error names the path.
Status WriteTextFile(const std::string& path, const std::string& text);

// Human-friendly duration: "0s", "42s", "12.5m", "3.2h", "4.1d".
std::string FormatDuration(double seconds);

// summary.json, as text (stable key order, fixed float formatting).
std::string SummaryJson(const Scenario& scenario, const RunMeta& meta,
                        const std::vector<PolicySummary>& summaries);

// Writes summary.json, jobs-<policy>.csv, timeseries-<policy>.csv, the plot
// data and scripts, the plots (when `plots` and gnuplot is on the PATH) and
// report.md into `dir` (created if needed). Returns the notes worth showing
// the user (e.g. "gnuplot not found").
Result<std::vector<std::string>> WriteOutputs(const std::string& dir, const Scenario& scenario,
                                              const RunMeta& meta,
                                              const std::vector<SimResult>& results,
                                              const std::vector<PolicySummary>& summaries,
                                              bool plots);

}  // namespace apiary::sim
