// A seeded workload for `apiary replay` at production scale: a HiveD config
// and a JSON Lines event script, for the end-to-end replay benchmark and the
// `apiary-replay-workload` tool (README.md, "Replay end to end").
//
// Shape (defaults): 1,280 nodes of 8 GPUs (two PCIe switches of 4) in racks
// of 8 nodes, 10,240 GPUs; 8 VCs owning whole racks as node cells; jobs of
// the bundled Philly trace's GPU-count mix (by count: 93.2 % 1 GPU, 2.2 % 2,
// 2.3 % 4, 2.0 % 8, 0.24 % 16, 0.08 % 32, 0.01 % 64 — measured on
// traces/data/philly/philly_jobs_pollux.csv), a job of more than 8 GPUs
// being a gang of 8-GPU pods; 20 % of jobs opportunistic (priority -1),
// the rest at priority 0 (80 %), 10 (15 %) or 100 (5 %); each arriving job
// is one schedule event per pod (`"commit": true`, Preempting phase for
// priority 100, Filtering otherwise), and jobs leave (one delete per pod,
// the oldest first half of the time, a random one otherwise) whenever the
// live jobs' GPUs would exceed the target occupancy (80 %). Open loop: the
// script does not depend on the decisions, so pods that wait stay waiting
// until their job leaves. Every draw comes from one seeded std::mt19937_64.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace apiary::bench {

struct ReplayWorkloadParams {
  int32_t nodes = 1280;
  int32_t vcs = 8;
  int64_t events = 195000;
  double opportunistic = 0.20;
  double occupancy = 0.80;
  uint64_t seed = 1;
};

struct ReplayWorkload {
  std::string config_yaml;
  std::vector<std::string> events;  // one JSON object per line, no newline
};

ReplayWorkload GenerateReplayWorkload(const ReplayWorkloadParams& params);

}  // namespace apiary::bench
