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
  // Quotas: a file (Helios "vc,node num" or canonical vc,nodes|gpus[,gpu_model])
  // or, when empty, derived from the trace's GPU-second shares.
  std::string vc_quotas_path;
  ClusterOptions cluster;
  // Load the workload only and record the node SKU and size (VC sizing
  // generates its own clusters).
  bool workload_only = false;
};

struct Scenario {
  Workload workload;
  ClusterModel cluster;
  std::string trace_description;    // one line
  std::string cluster_description;  // one line
  std::vector<std::string> notes;   // adjustments worth reporting
  // The quotas the cluster was built with (empty for a HiveD config).
  std::vector<QuotaSpec> quotas;
  // The generated nodes' SKU and size (for VC sizing).
  std::string node_sku;
  int32_t node_gpus = 0;
};

// Reads the trace, then builds the cluster. Generated nodes: `nodes` if > 0,
// else the sum of the quota file's nodes. Every error names the input.
Result<Scenario> LoadScenario(const ScenarioOptions& options);

// Quotas derived from the workload's GPU-second shares: `units` cells split
// among the workload's VCs by largest remainder (traces::DeriveVcQuotas).
std::vector<QuotaSpec> DeriveQuotas(const Workload& workload, int64_t units, int64_t unit_gpus,
                                    const std::string& sku);

}  // namespace apiary::sim
