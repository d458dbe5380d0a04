// `apiary-sim run --export-replay DIR`: the hived policy's conversation with
// the scheduler, written so that `apiary replay` (docs/replay.md) can play it
// back on the same HiveD configuration and reach the same placements.
//
//  * DIR/config.yaml     the HiveD configuration the simulation built
//                        (ConfigYaml; loads with `apiary validate`).
//  * DIR/events.jsonl    one `schedule` event (phase preempting, commit true)
//                        per Scheduler::Schedule call the hived policy made,
//                        in order — binds, waits, preemptions, errors — and
//                        one `delete` event per DeleteAllocatedPod (a job
//                        ending or killed by a preemption).
//  * DIR/placements.csv  every bind the simulation saw, in order: the pod,
//                        its node and its leaf cells; what replay's `bind`
//                        lines must match.
//
// The log is filled by the hived allocator while Simulate runs (set
// SimOptions::replay_log); events stream to a file so that a whole trace
// does not sit in memory. Not thread-safe: one log per simulation.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "apiary/cell/config.h"
#include "apiary/cell/pod_spec.h"
#include "apiary/cell/status.h"

namespace apiary::sim {

// The HiveD configuration as YAML (physicalCluster + virtualClusters, in
// configuration order; strings double-quoted).
std::string ConfigYaml(const cell::Config& config);

// The pod-scheduling-spec annotation text (JSON) of `spec`.
std::string PodSpecJson(const cell::PodSchedulingSpec& spec);

class ReplayLog {
 public:
  struct Bind {
    std::string pod;  // namespace/name, as replay names it
    std::string node;
    std::vector<int32_t> leaf_cells;
  };

  ReplayLog() = default;
  ~ReplayLog();
  ReplayLog(const ReplayLog&) = delete;
  ReplayLog& operator=(const ReplayLog&) = delete;

  // Creates `dir` and opens DIR/events.jsonl. Error: cannot create or open.
  cell::Status Open(const std::string& dir);
  bool is_open() const { return events_ != nullptr; }

  // One Schedule call (`spec_json` from PodSpecJson) and its result kind;
  // for a bind, the pod's node and leaf cells.
  void Schedule(const cell::PodRef& pod, const std::string& spec_json);
  void Bound(const cell::PodRef& pod, const std::string& node,
             const std::vector<int32_t>& leaf_cells);
  void Delete(const cell::PodRef& pod);

  // Writes config.yaml and placements.csv and closes events.jsonl.
  cell::Status Finish(const cell::Config& config);

  const std::vector<Bind>& binds() const { return binds_; }
  int64_t schedules() const { return schedules_; }
  int64_t deletes() const { return deletes_; }

 private:
  std::string dir_;
  std::FILE* events_ = nullptr;
  std::string line_;
  std::vector<Bind> binds_;
  int64_t schedules_ = 0, deletes_ = 0;
};

}  // namespace apiary::sim
