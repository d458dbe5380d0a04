// Virtual-cluster quotas: read from a file or derived from a trace's VC
// shares. A quota is a count of nodes and/or GPUs; the simulator turns it
// into HiveD virtual cells.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "apiary/traces/status.h"
#include "apiary/traces/trace.h"

namespace apiary::traces {

inline constexpr int64_t kQuotaNotGiven = -1;

struct VcQuota {
  std::string vc;
  int64_t nodes = kQuotaNotGiven;
  int64_t gpus = kQuotaNotGiven;
  // Canonical SKU the quota is in; empty = any / the cluster's only SKU.
  std::string gpu_model;

  friend bool operator==(const VcQuota&, const VcQuota&) = default;
};

struct VcQuotas {
  // In file order (derived quotas: by VC name).
  std::vector<VcQuota> vcs;
  ReadStats stats;
};

// Reads a quota CSV, detecting the format from its header:
//  * "vc,node num"  (philly_vc_nodes_helios.csv from HeliosArtifact): nodes;
//  * canonical: column "vc" plus at least one of "nodes", "gpus", and
//    optionally "gpu_model" (any order).
// A VC may have one row per GPU model (a quota on each SKU); a VC listed
// twice for the same model (or twice without one) is a malformed row.
Result<VcQuotas> ReadVcQuotas(const std::string& path,
                              const ReadOptions& options = {});

// Helios cluster_gpu_number.csv (date,<vc>...,total): the GPU quota of each
// VC on `date` ("YYYY-MM-DD"; empty = first row). VCs with 0 GPUs that day
// are kept (gpus = 0). The "total" column is checked against the sum.
Result<VcQuotas> ReadHeliosVcGpus(const std::string& path, const std::string& date,
                                  const ReadOptions& options = {});

// Splits `total_units` units of `gpus_per_unit` GPUs among the trace's VCs
// in proportion to their demand = sum over jobs of GPUs × duration
// (GPU-seconds; jobs of unknown duration count 1 s per GPU), by the
// largest-remainder method; ties broken by VC name. Every VC of the trace is
// listed, sorted by name, with nodes = units and gpus = units × gpus_per_unit.
// Integer arithmetic only; deterministic.
VcQuotas DeriveVcQuotas(const Trace& trace, int64_t total_units,
                        int32_t gpus_per_unit);

Status WriteVcQuotas(const VcQuotas& quotas, const std::string& path);

}  // namespace apiary::traces
