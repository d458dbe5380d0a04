// Metrics over a simulation's result: per-job wait and completion time
// distributions, overall and per VC; utilisation, idle and fragmented GPUs
// over time; preemptions; makespan. Computed with Eigen (per-VC x time-bin
// matrices) behind this plain-data header.
//
// Percentiles are nearest-rank: the q-quantile of n sorted values is the
// value at rank ceil(q * n) (1-based). Waits count finished jobs; JCTs count
// finished jobs; unfinished jobs are counted separately.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "apiary/sim/cluster.h"
#include "apiary/sim/simulator.h"
#include "apiary/sim/workload.h"

namespace apiary::sim {

struct Distribution {
  int64_t count = 0;
  double mean = 0;
  int64_t p50 = 0, p95 = 0, p99 = 0, max = 0;
};

// Nearest-rank percentile of `sorted` (ascending), q in (0, 1]; 0 if empty.
int64_t Percentile(const std::vector<int64_t>& sorted, double q);
Distribution Distribute(std::vector<int64_t> values);

struct VcSummary {
  std::string vc;
  int64_t quota_gpus = 0;  // 0 = no quota
  int64_t jobs = 0, done = 0, rejected = 0, unfinished = 0;
  Distribution wait, jct;
  double mean_alloc_gpus = 0;  // time average over the makespan
  double peak_alloc_gpus = 0;  // highest bin average
};

struct PolicySummary {
  std::string policy;
  int64_t jobs = 0, done = 0, rejected = 0, unfinished = 0;
  Distribution wait, jct;
  std::vector<VcSummary> vcs;  // workload VC order
  int64_t makespan_s = 0;
  int64_t total_gpus = 0;
  int64_t busy_gpu_seconds = 0;    // integral of allocated GPUs
  int64_t job_gpu_seconds = 0;     // sum over jobs of their runs' GPU-seconds
  int64_t lost_gpu_seconds = 0;    // thrown away by preemption
  double utilization = 0;          // busy / (total GPUs x makespan)
  double mean_idle_while_waiting = 0;  // GPUs, time average
  double mean_fragmented = 0;          // GPUs, time average
  double mean_waiting_jobs = 0;
  int64_t preemptions = 0;
  int64_t borrowed_starts = 0;
  int64_t events = 0;
  int64_t place_calls = 0;
  double wall_s = 0;
  std::vector<std::pair<std::string, int64_t>> reject_reasons;
  std::vector<std::pair<std::string, int64_t>> wait_reasons;  // SimResult::wait_reasons
  int64_t explained_jobs = 0;
};

PolicySummary Summarize(const SimResult& result, const Workload& workload,
                        const ClusterModel& cluster);

}  // namespace apiary::sim
