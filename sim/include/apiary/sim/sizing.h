// VC sizing: for a workload and a target ("the p95 wait of every VC is at
// most 30 minutes"), the smallest quota per VC, in cells of a chosen level
// (GPU, node or rack), found by simulation.
//
// Why VCs can be sized together: under hived (and static partitioning) a
// VC's guaranteed jobs see only its own cells — HiveD's isolation guarantee —
// so one simulation with quota vector (q_1..q_n) measures every VC at its own
// q_v at once. The cluster of each simulation is generated to hold exactly
// the quotas (sum of cells, of the scenario's SKU and node size). The
// 'quota' policy shares GPUs across VCs and is not isolated, so it cannot be
// sized this way.
//
// The per-VC metric is the chosen percentile of waits over all the VC's
// jobs; a job that is rejected or never finishes counts as waiting forever.
//
// Two ways to search:
//  * local: a (T+1)-ary search per VC on a thread pool of T workers: each
//    round runs T simulations in parallel, probing T quotas per VC, until
//    every VC's interval is one cell wide; then one verification run.
//  * sharded sweep: every quota from the lower to the upper bound (point i
//    gives each VC min(lo_v + i, hi_v) cells); shard k of K runs points
//    i = k, k + K, ... and writes them to a file; Merge() reads all shards
//    and picks, per VC, the smallest quota from which the target holds at
//    every larger quota swept. Shards run as a Kubernetes Indexed Job
//    (JOB_COMPLETION_INDEX = shard index), see examples/kubernetes/.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "apiary/sim/scenario.h"
#include "apiary/sim/simulator.h"

namespace apiary::sim {

struct SizingOptions {
  QuotaLevel level = QuotaLevel::kNode;
  int32_t rack_nodes = 4;     // nodes per rack cell
  double percentile = 0.95;   // in (0, 1]
  int64_t max_wait_s = 1800;  // target: percentile wait <= this
  PolicyKind policy = PolicyKind::kHived;
  // Per-VC bounds in cells; 0 = automatic: lower = the fewest cells that
  // hold the VC's largest job, upper = the cells that hold the VC's peak
  // concurrent demand if nothing waited (at least lower).
  int64_t min_cells = 0;
  int64_t max_cells = 0;
  int threads = 0;  // 0 = hardware concurrency
  // On a cluster with quotas (inventory, HiveD config, quota file): also
  // size the VCs that have no quota there (default: leave them out).
  bool all_vcs = false;
  SimOptions sim;
  std::string progress_label;  // empty = no progress line
};

struct VcSizing {
  std::string vc;
  // The SKU of this quota: on a cluster of several SKUs a VC is sized per
  // SKU (its jobs' GPU model, else the SKU of its largest current quota);
  // empty on a generated cluster of one SKU.
  std::string sku;
  int32_t node_gpus = 0;     // GPUs per node of the SKU's generated nodes
  int64_t unit_gpus = 0;     // GPUs per quota cell
  int64_t current_gpus = 0;  // the quota the input cluster gives it (0: none)
  int64_t lo = 0, hi = 0;  // search bounds (cells)
  int64_t cells = 0;       // the answer
  int64_t gpus = 0;        // cells x GPUs per cell
  bool met = false;        // the target holds at `cells`
  int64_t wait_s = 0;      // the VC's metric at `cells` (-1 = infinite)
  int64_t jobs = 0;
  // Waits at the answer (verification run; -1 = some job never finished).
  double mean_s = 0;
  int64_t p95_s = 0, p99_s = 0;
  // What set the answer: "waits" (the target), "largest job" (the fewest
  // cells that hold the VC's largest gang already meet it), or "not met".
  std::string set_by;
  // (cells, metric) of every simulation that probed this VC, ascending.
  std::vector<std::pair<int64_t, int64_t>> curve;
};

struct SizingResult {
  std::string level;
  int64_t unit_gpus = 0;
  double percentile = 0.95;
  int64_t max_wait_s = 0;
  std::string policy;
  // SizingOptions::sim.placement: "off", or "on (class seed N)". Sizing
  // judges the waits with the model `run` will use (sizing_test checks run
  // meets the target with the same setting).
  std::string placement_model = "off";
  std::vector<VcSizing> vcs;  // workload VC order
  int64_t total_cells = 0;
  int64_t simulations = 0;
  double wall_s = 0;
  bool all_met = false;
  std::vector<std::string> notes;  // what was not sized, and why
};

// One sweep point's per-VC metric (wait at the percentile; -1 = infinite).
struct SweepPoint {
  int64_t index = 0;
  std::vector<int64_t> cells;
  std::vector<int64_t> metric;
};

// The search bounds (per sized quota: VcSizing order) for `scenario` under
// `options`.
struct SizingBounds {
  std::vector<int64_t> lo, hi;
  int64_t unit_gpus = 0;  // of the first quota (all equal on one SKU)
  int64_t points() const;  // sweep points: max(hi - lo + 1)
};
Result<SizingBounds> ComputeBounds(const Scenario& scenario, const SizingOptions& options);

// The local search.
Result<SizingResult> SizeVcs(const Scenario& scenario, const SizingOptions& options);

// Runs the sweep points of one shard (shard_index in [0, shard_count)).
Result<std::vector<SweepPoint>> RunSweepShard(const Scenario& scenario,
                                              const SizingOptions& options,
                                              int64_t shard_index, int64_t shard_count);
// A shard's points as JSON text (with the options, to check at merge time).
std::string ShardJson(const Scenario& scenario, const SizingOptions& options,
                      const SizingBounds& bounds, int64_t shard_index, int64_t shard_count,
                      const std::vector<SweepPoint>& points);
// Merges shard files' texts (`names` for messages) into the answer.
Result<SizingResult> MergeShards(const std::vector<std::string>& texts,
                                 const std::vector<std::string>& names);

std::string SizingJson(const SizingResult& result);
std::string FormatSizingTable(const SizingResult& result);

// The answer as a quota file (vc,nodes,gpus,gpu_model) that `run
// --vc-quotas` reads: without --nodes/--inventory, run then generates
// exactly these nodes (gpus / nodes GPUs each, of gpu_model).
std::string SizingQuotasCsv(const SizingResult& result);

// --report DIR: quotas.csv, report.md and a wait-vs-quota plot per VC
// (gnuplot; scripts and data always, images when `plots` and gnuplot is
// installed). Returns notes for the user.
Result<std::vector<std::string>> WriteSizingReport(const std::string& dir,
                                                   const SizingResult& result,
                                                   const std::string& command, bool plots);

}  // namespace apiary::sim
