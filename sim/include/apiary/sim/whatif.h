// `apiary-sim whatif`: from a live cluster's state — the extender's HiveD
// configuration, its pods with their bind-info annotations (`kubectl get
// pods -A -o json`) and a jobs file with the pending jobs and expected
// durations — simulate forward on the simulator's engine with the hived
// policy (the production engine, apiary::cell::Scheduler) and say, per
// pending job, when it starts, whom it preempts and who is ahead of it in
// its VC's queue; per VC, when the guaranteed quota held now frees up.
//
// Assumptions (sim/README.md, "What-if"): running jobs end at their
// expected end (jobs file, else the pod annotation apiary.io/expected-end,
// else now + the default duration); a preempted job restarts from scratch
// and runs its expected duration; pending jobs run their expected duration
// (no SKU scaling, no placement model: durations are run times on this
// cluster); nothing arrives but the jobs file's (a job submitted after `now`
// arrives then). Same inputs => the same answer, byte for byte. The
// scheduler is rebuilt from the pods as the extender rebuilds it after a
// restart: where an opportunistic pod lands then follows the free-cell order
// that recovery gives, which need not be the one the running scheduler has.
//
// `apiary-sim run --snapshot-at T DIR` writes a simulation's state at T in
// these formats (WriteSnapshot), so that a what-if can be checked against
// the simulation it starts from.
//
// Plain functions; thread-compatible.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "apiary/cell/config.h"
#include "apiary/sim/cluster.h"
#include "apiary/sim/simulator.h"
#include "apiary/sim/workload.h"
#include "apiary/wire/pod_list.h"

namespace apiary::sim {

// A running pod's expected end (integer seconds on the jobs file's time axis,
// or an RFC 3339 time) and the run time its job needs when restarted after a
// preemption (a duration: "5400", "90m", "1.5h").
inline constexpr char kAnnotationExpectedEnd[] = "apiary.io/expected-end";
inline constexpr char kAnnotationExpectedDuration[] = "apiary.io/expected-duration";

// "3600", "90s", "30m", "1.5h", "2d" (s, m|min, h, d; no unit = seconds) as
// whole seconds; false when malformed or negative.
bool ParseDuration(const std::string& text, int64_t* out);

// One entry of the jobs file.
struct WhatIfJob {
  std::string name;  // a pending job's name, or a running affinity group's
  // Pending jobs (running ones take these from their pods, except priority:
  // given for a running job, it is the priority the job is requeued at when
  // preempted, e.g. its own for a job that borrowed at priority -1).
  std::string vc;
  int32_t priority = 0;
  bool priority_given = false;
  int32_t pods = 1;
  int32_t gpus_per_pod = 1;
  std::string leaf_cell_type;  // "" = any
  // -1 = not given.
  int64_t duration_s = -1;  // run time (running: when restarted)
  int64_t submit_s = -1;    // queue order; pending default: now
  int64_t end_s = -1;       // running only: expected end
  std::string pending_field;  // the first pending-only field given, "" = none
  std::string where;          // "FILE: jobs[i]"
};

struct WhatIfJobs {
  int64_t now_s = 0;
  int64_t default_duration_s = 3600;
  std::vector<WhatIfJob> jobs;  // file order
};

// Reads the jobs file (JSON; sim/README.md "What-if" documents it). Errors
// name the file, the entry and the field: not JSON, an unknown key, a
// missing name or VC, a bad duration or time, a non-positive count, a
// priority outside -1..1000, a name given twice.
Result<WhatIfJobs> ReadWhatIfJobs(const std::string& text, const std::string& name);

struct WhatIfOptions {
  QueuePolicy queue = QueuePolicy::kFifo;
  bool borrow = false;
};

struct WhatIfJobResult {
  std::string name, vc;
  int32_t priority = 0;
  int64_t gpus = 0;
  int64_t submit_s = 0;
  int64_t start_s = -1;  // -1: does not start (rejected, or waits forever)
  int64_t end_s = -1;
  std::string status;    // "starts", "waits" (never starts), "rejected"
  std::string reason;    // rejected: why
  int32_t preempted = 0;                  // times it is preempted itself
  std::vector<std::string> preempts;      // jobs it kills to start
  std::vector<std::string> queue_ahead;   // its VC's waiting jobs before it, now
};

struct WhatIfVcResult {
  std::string name;
  int64_t quota_gpus = 0;
  int64_t used_gpus = 0;     // guaranteed GPUs held now
  int32_t running = 0;       // guaranteed jobs running now
  int32_t pending = 0;       // jobs waiting now (any priority)
  int64_t next_release_s = -1;  // first of them to end (or be preempted); -1: none
  int64_t released_s = -1;      // all of them ended: the quota held now is free
  int64_t idle_s = -1;          // its last guaranteed job ends (queue drained); -1: never
};

struct WhatIfPreemption {
  int64_t time_s = 0;
  std::string preemptor, victim;
};

struct WhatIfResult {
  int64_t now_s = 0;
  std::string queue;
  bool borrow = false;
  int32_t running_jobs = 0;
  int64_t pods_skipped = 0;  // pods without a scheduling spec (not HiveD's)
  std::vector<WhatIfJobResult> jobs;  // pending jobs, jobs-file order
  std::vector<WhatIfVcResult> vcs;    // configuration order
  std::vector<WhatIfPreemption> preemptions;  // every one, in order
};

// Runs the what-if. `pods_name` and `config_name` name the inputs in errors:
// a pod with a scheduling spec but no bind info (unless the jobs file lists
// its group as a pending job), a pod annotation that does not parse, a VC the
// configuration lacks, a group of unequal pods, a bind info the scheduler
// refuses, an expected end not after `now`, a running job's entry with
// pending-job fields.
Result<WhatIfResult> RunWhatIf(const cell::Config& config, const wire::PodList& pods,
                               const std::string& pods_name, const WhatIfJobs& jobs,
                               const WhatIfOptions& options);

// The human table, and the same as JSON (stable key order).
std::string FormatWhatIf(const WhatIfResult& result);
std::string WhatIfJson(const WhatIfResult& result);

// Writes a simulation's state (SimOptions::snapshot, hived) as a what-if's
// inputs: DIR/config.yaml (the HiveD config), DIR/pods.json (one pod per
// running pod, with the scheduling spec, bind info, virtual leaf cells,
// PodScheduled time = its start and expected end/duration annotations) and
// DIR/jobs.json (`now` = the snapshot time; every running and waiting job in
// workload order: running ones with their submit time, waiting ones with
// shape, remaining duration and submit time). A waiting job of a VC without
// a quota is written as an opportunistic job of the first VC (as hived runs
// it). Durations are run times: the workload's reference seconds scaled to
// the SKU a running job runs on, or to the one speed of the SKUs a waiting
// job may use (reference seconds when those differ). The placement model is
// not applied (run the simulation with it off to compare).
Status WriteSnapshot(const std::string& dir, const ClusterModel& cluster,
                     const Workload& workload, const SimSnapshot& snapshot);

}  // namespace apiary::sim
