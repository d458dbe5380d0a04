// The simulator's job model: a trace's jobs as affinity groups (pods x GPUs),
// with VCs and GPU-model constraints interned to small integers so that the
// event loop never touches strings.
//
// Plain values; thread-compatible.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "apiary/traces/trace.h"

namespace apiary::sim {

// One job: `num_pods` pods of `gpus_per_pod` GPUs, placed all-or-nothing.
struct SimJob {
  std::string id;          // the trace's job id
  int64_t submit_s = 0;    // seconds since the trace start
  int64_t duration_s = 0;  // run time at the workload's reference SKU
  int32_t num_pods = 1;
  int32_t gpus_per_pod = 1;
  int32_t vc = 0;          // index into Workload::vcs
  int32_t priority = 0;    // HiveD: -1 opportunistic, 0..1000 guaranteed
  int32_t model = -1;      // index into Workload::models; -1 = any GPU
  std::string model_class;  // traces::Job::model_class (placement model)
  int64_t gpus() const { return int64_t{num_pods} * gpus_per_pod; }
};

struct Workload {
  std::vector<SimJob> jobs;          // sorted by (submit_s, trace order)
  std::vector<std::string> vcs;      // VC names, sorted (byte-wise)
  // Distinct GPU-model constraints: each entry is a list of canonical SKU
  // names the job accepts, in the trace's order of preference.
  std::vector<std::vector<std::string>> models;
  std::string reference_sku;         // durations are measured on this SKU
  // What was left out and why (e.g. "unknown_duration", "max_jobs",
  // "time_window", "sample"), for the report.
  std::vector<std::pair<std::string, int64_t>> dropped;
  int64_t trace_jobs = 0;            // jobs in the trace before selection
};

// Which jobs of a trace to simulate.
struct WorkloadOptions {
  // Keep jobs submitted in [from_s, to_s) (seconds since the trace start);
  // to_s < 0 = no end.
  int64_t from_s = 0;
  int64_t to_s = -1;
  // Keep at most this many jobs (the earliest); <= 0 = all.
  int64_t max_jobs = 0;
  // Keep each job with this probability (a hash of seed and job index, so
  // the choice is reproducible); 1 = all.
  double sample = 1.0;
  uint64_t seed = 1;
  // Shift submit times so that the first kept job submits at 0.
  bool rebase = true;
  // Divide submit times (after rebasing) by this: > 1 compresses the
  // arrivals, a heavier load on the same cluster; durations are unchanged.
  double load_factor = 1.0;
};

// Converts a trace. Jobs of unknown duration are dropped (counted).
Workload MakeWorkload(const traces::Trace& trace, const WorkloadOptions& options = {});

// SplitMix64: the project's seeded, portable RNG step.
inline uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace apiary::sim
