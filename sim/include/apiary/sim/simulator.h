// The discrete-event engine: replays a workload on a cluster under one
// placement policy and records what happened to every job.
//
// Model:
//  * Events are job arrivals and job completions, ordered by (time,
//    sequence); arrivals take sequence numbers 0..n-1 in workload order, so
//    at equal times arrivals come first, then completions in the order they
//    were scheduled. Same workload + cluster + options => the same result,
//    bit for bit.
//  * After all events of one instant, one scheduling pass: waiting jobs are
//    tried in each VC's queue order (VCs in workload order). A job that does
//    not fit is skipped and later ones may still start (kube-scheduler style).
//    Waiting jobs are retried only when cells were released since they last
//    failed (a completion or a preemption): there is no polling over time.
//    Jobs are skipped without asking the policy when the policy's Headroom()
//    is below their size, or when a job of the same shape (pods, GPUs per
//    pod, model, priority) of the same VC failed since the last release.
//  * With SimOptions::borrow, a guaranteed job that does not fit its VC's
//    quota is offered to the policy once more as an opportunistic job.
//  * Preemption: the policy names victims; they are killed at once (their
//    GPUs released) and requeued with their original queue key, restarting
//    from scratch or from their last checkpoint.
//  * Durations scale with the SKU a job lands on: a job of D reference
//    seconds runs ScaleDuration(D, speed) seconds (traces/gpu_sku.h).
//  * With a placement model (SimOptions::placement), the speed also depends
//    on the job's class and on how its GPUs are spread (placement_model.h),
//    and the baselines place GPUs without regard to node boundaries. Without
//    one, the results are exactly those of the SKU-only model.
//
// Not thread-safe; independent simulations may run on different threads.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "apiary/sim/allocator.h"
#include "apiary/sim/cluster.h"
#include "apiary/sim/placement_model.h"
#include "apiary/sim/workload.h"

namespace apiary::sim {

enum class QueuePolicy {
  kFifo,           // by submit time (default)
  kShortestFirst,  // by remaining reference duration, then submit time
};
Result<QueuePolicy> ParseQueuePolicy(const std::string& name);  // fifo|sjf
const char* QueuePolicyName(QueuePolicy q);

// A custom per-VC queue order: jobs with a smaller key go first (after
// priority; ties by workload index). `remaining_s` is the job's remaining
// work in reference seconds. Must be deterministic.
using QueueKeyFn = std::function<int64_t(const SimJob& job, int64_t remaining_s)>;

// A job already running when the simulation starts (a what-if from a live
// state): the policy adopts its pods' placement (Allocator::Adopt) and it
// completes at end_s, unless preempted first (then it restarts from scratch
// with its SimJob::duration_s).
struct InitialRun {
  int32_t job = 0;    // workload index
  int64_t end_s = 0;  // > SimOptions::start_s
  std::vector<AdoptedPod> pods;
};

// The state of a simulation at one time (SimOptions::snapshot_at_s): what a
// what-if needs to continue it (whatif.h writes it as files).
struct SimSnapshot {
  int64_t time_s = 0;
  bool taken = false;
  struct Running {
    int32_t job = 0;
    int64_t start_s = 0;
    int64_t end_s = 0;       // its completion event
    int64_t restart_s = 0;   // reference seconds it needs when killed now
    std::vector<AdoptedPod> pods;  // hived only
  };
  std::vector<Running> running;  // in start order (= completion-event order)
  struct Waiting {
    int32_t job = 0;
    int64_t remaining_s = 0;  // reference seconds of work left
    int32_t priority = 0;     // effective (-1 for a VC without a quota)
  };
  std::vector<Waiting> waiting;  // workload order
};

struct SimOptions {
  QueuePolicy queue = QueuePolicy::kFifo;
  // When set, replaces `queue` (a plug-in queue policy).
  QueueKeyFn queue_key;
  // 0: a preempted job restarts from scratch. > 0: it resumes from its last
  // checkpoint, taken every this many seconds of (reference) progress.
  int64_t checkpoint_interval_s = 0;
  UnknownVc unknown_vc = UnknownVc::kOpportunistic;
  // Borrowing: a guaranteed job that finds no room within its VC's quota
  // runs opportunistically (priority -1) on idle GPUs instead of waiting,
  // and is preempted (then requeued) when the owners need them. HiveD users
  // do this with low-priority jobs; capacity schedulers call it elasticity.
  // hived and quota lend; static partitions never do. Breaks the isolation
  // VC sizing relies on.
  bool borrow = false;
  // The placement model (not owned; null = off). On: a job runs at
  // BoundPlacement::Speed (class, SKU, spread), the baselines are topology
  // blind (AllocatorContext::topology_blind), and every JobRecord has its
  // class, spread and speed. Jobs without a class in the trace get
  // DrawJobClass(id, class_seed).
  const PlacementModel* placement = nullptr;
  uint64_t class_seed = 1;
  // Width of the time-series bins.
  int64_t bin_s = 3600;
  // Audit the policy's invariants after every scheduling pass (slow; tests).
  bool check_invariants = false;
  // hived only: record every scheduler call for `apiary replay`
  // (replay_export.h); null = none. Must outlive the simulation.
  ReplayLog* replay_log = nullptr;
  // Starting from a live state (what-if). Jobs submitted before start_s
  // arrive at start_s (their queue key keeps the submit time); the jobs of
  // `initial` (not owned; may be null) are running at start_s and do not
  // arrive. Only hived can adopt running jobs.
  int64_t start_s = 0;
  const std::vector<InitialRun>* initial = nullptr;
  // Record the state after the last scheduling pass at or before
  // snapshot_at_s into `snapshot` (not owned; null = none); hived keeps its
  // pods' bind infos for it.
  int64_t snapshot_at_s = -1;
  SimSnapshot* snapshot = nullptr;
  // Print a progress line to stderr (when it is a terminal and the run
  // lasts over a second), prefixed by this label; empty = never.
  std::string progress_label;
  // hived only: ask the engine to explain every wait (libcell explain.h)
  // and count, per rule, the jobs whose first wait it named
  // (SimResult::wait_reasons). Decisions are the same with or without it
  // (tested on the full-Philly golden hashes).
  bool explain = false;
};

enum class JobOutcome : int8_t { kDone, kRejected, kUnfinished };

struct JobRecord {
  JobOutcome outcome = JobOutcome::kUnfinished;
  int64_t submit_s = 0;
  int64_t first_start_s = -1;
  int64_t finish_s = -1;
  int64_t wait_s = 0;        // total time queued (all waits, incl. after preemption)
  int64_t last_run_s = 0;    // length of the final (completed) run
  int64_t gpu_seconds = 0;   // GPUs x time over every run, killed ones too
  int64_t lost_gpu_seconds = 0;  // of which thrown away by preemption
  int32_t preemptions = 0;
  int32_t sku = -1;          // SKU of the last run
  // Placement model only: the job's class, and of the last run its spread
  // (Spread) and speed relative to the reference SKU packed.
  int8_t job_class = -1;
  int8_t spread = -1;
  double speed = 0;
  double placement_factor = 1.0;  // of which due to the spread (1 = packed)
  // Nodes of the last run: SimResult::node_pool[nodes_offset, + nodes_count)
  // (one pool, not a vector per job: 82k small allocations slowed the run).
  int32_t nodes_offset = 0;
  int32_t nodes_count = 0;
  int64_t jct_s() const { return finish_s < 0 ? -1 : finish_s - submit_s; }
};

// One preemption: `victim` was killed so that `preemptor` could start.
struct PreemptionEvent {
  int64_t time_s = 0;
  int32_t preemptor = 0;
  int32_t victim = 0;
};

struct SimResult {
  PolicyKind policy = PolicyKind::kHived;
  bool placement_model = false;  // SimOptions::placement was set
  std::vector<JobRecord> jobs;  // workload order
  std::vector<int32_t> node_pool;  // JobRecord::nodes_offset indexes it
  // The nodes (ClusterModel::nodes indices) of job i's last run.
  std::vector<int32_t> NodesOf(size_t job) const {
    const JobRecord& j = jobs[job];
    return {node_pool.begin() + j.nodes_offset,
            node_pool.begin() + j.nodes_offset + j.nodes_count};
  }
  std::vector<std::pair<std::string, int64_t>> reject_reasons;  // sorted
  // SimOptions::explain: (rule, jobs) in rule order: jobs whose first wait
  // had this rule on a chain tried (ExplainChain::rule), or "never-fits".
  std::vector<std::pair<std::string, int64_t>> wait_reasons;
  int64_t explained_jobs = 0;  // jobs with an explained wait (a rule may count several)
  std::vector<std::pair<int32_t, std::string>> rejected_jobs;    // (job, why), in order
  int64_t makespan_s = 0;       // last completion
  int64_t preemptions = 0;
  std::vector<PreemptionEvent> preemption_log;  // in order
  int64_t events = 0;           // arrivals + completions + kills
  int64_t place_calls = 0;      // TryPlace calls
  int64_t borrowed_starts = 0;  // runs started opportunistically by borrowing
  double wall_s = 0;            // engine time, excluding setup

  // Time series: bin k covers [k * bin_s, (k + 1) * bin_s). Integrals in
  // GPU-seconds (or job-seconds), so a bin's average = value / bin_s.
  int64_t bin_s = 3600;
  int64_t total_gpus = 0;
  std::vector<std::vector<int64_t>> vc_alloc;  // [workload vc][bin]
  std::vector<int64_t> waiting;                // job-seconds waiting
  // GPU-seconds free while some job waits ("free GPUs no waiting job can
  // use": after every scheduling pass, nothing waiting fits them).
  std::vector<int64_t> idle_while_waiting;
  // GPU-seconds free within a VC's quota (capped by free GPUs) while that VC
  // has a waiting job small enough for it: what placement (topology,
  // fragmentation) wastes, as opposed to quota.
  std::vector<int64_t> fragmented;
  int64_t bins() const { return static_cast<int64_t>(waiting.size()); }
};

// Runs one simulation. Errors: the policy cannot be built (e.g. an invalid
// HiveD configuration).
Result<SimResult> Simulate(const ClusterModel& cluster, const Workload& workload,
                           PolicyKind policy, const SimOptions& options);

}  // namespace apiary::sim
