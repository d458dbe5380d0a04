// A scenario = a workload (from a trace) + a cluster (from an inventory,
// generated nodes, or a HiveD config) + VC quotas (from a file, or derived
// from the trace's VC shares). What `apiary-sim run` and `size-vcs` load
// before they simulate.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "apiary/sim/cluster.h"
#include "apiary/sim/workload.h"

namespace apiary::sim {

struct ScenarioOptions {
  // Trace.
  std::vector<std::string> trace_paths;  // two for PAI (job, task table)
  std::string trace_format = "philly";   // philly|openb|pai|helios|swf|canonical
  std::string reference_sku;             // empty: the reader's default
  bool skip_bad_rows = false;
  WorkloadOptions workload;

  // Cluster: a hand-written HiveD config, or nodes plus quotas.
  std::string hived_config;
  std::string inventory_path;               // node list
  std::string inventory_format = "canonical";  // openb|pai|spot|canonical
  int64_t nodes = 0;                        // generated nodes (0: see below)
  int32_t gpus_per_node = 8;
  std::string sku;                          // of generated nodes; empty: the
                                            // trace's reference SKU (else V100)
  // GPU model names accepted although the SKU table (traces/SKUS.md) does
  // not know them ("opaque" SKUs: no published figures, so they run at the
  // reference SKU's speed). Any other unknown name (in --sku, an inventory,
  // a quota file or a HiveD config's leaf cell types) is an error.
  std::vector<std::string> opaque_skus;
  // Quotas: a file (Helios "vc,node num" or canonical vc,nodes|gpus[,gpu_model])
  // or, when empty, derived from the trace's GPU-second shares.
  std::string vc_quotas_path;
  // For a Helios daily quota file (cluster_gpu_number.csv: date,<vc>...,total):
  // the day whose quotas to use, YYYY-MM-DD; empty = the file's first day.
  std::string vc_quotas_date;
  ClusterOptions cluster;
  // Load the workload only and record the node SKU and size (VC sizing
  // generates its own clusters).
  bool workload_only = false;
};

// What one reader (or the simulator's own job selection) kept, dropped and
// changed, and why: printed on every run and written to the report.
struct ReaderReport {
  std::string what;     // "trace", "selection", "inventory", "quotas", "cluster"
  std::string path;     // the input file (empty for the selection)
  int64_t rows = 0;     // records read
  int64_t kept = 0;     // records that became jobs / nodes / quotas
  std::string unit;     // what `kept` counts, e.g. "jobs kept", "GPU nodes kept"
  int64_t skipped = 0;  // malformed rows skipped (--skip-bad-rows)
  std::vector<std::string> errors;  // the first skipped rows' "file:line:col: reason"
  // (reason key, count); reasons explained by traces::ExplainReadReason.
  std::vector<std::pair<std::string, int64_t>> dropped, adjusted;
  int64_t added_gpu_seconds = 0;  // demand the adjustments added
  int64_t kept_gpu_seconds = 0;   // demand of what was kept (jobs only)
  // One line: "trace F: 103467 rows -> 82247 jobs; dropped 2 (...)".
  std::string Format() const;
};

struct Scenario {
  Workload workload;
  ClusterModel cluster;
  std::string trace_description;    // one line
  std::string cluster_description;  // one line
  std::vector<std::string> notes;   // adjustments worth reporting
  std::vector<ReaderReport> readers;  // trace, selection, inventory, quotas
  // The quotas the cluster was built with (empty for a HiveD config).
  std::vector<QuotaSpec> quotas;
  // The generated nodes' SKU and size (for VC sizing).
  std::string node_sku;
  int32_t node_gpus = 0;
};

// The canonical name of a GPU SKU the user named (`where` says where, for
// the message): a SKU of the table, or a name listed in `opaque` (kept as
// given). Otherwise an error naming the known SKUs and --opaque-sku.
Result<std::string> ResolveSku(const std::string& name, const std::vector<std::string>& opaque,
                               const std::string& where);

// Reads the trace, then builds the cluster. Generated nodes: `nodes` if > 0,
// else the sum of the quota file's nodes. Every error names the input.
Result<Scenario> LoadScenario(const ScenarioOptions& options);

// Quotas derived from the workload's GPU-second shares: `units` cells split
// among the workload's VCs by largest remainder (traces::DeriveVcQuotas).
std::vector<QuotaSpec> DeriveQuotas(const Workload& workload, int64_t units, int64_t unit_gpus,
                                    const std::string& sku);

}  // namespace apiary::sim
