// Placement policies the simulator compares. Each one owns the cluster's
// allocation state and answers, for one job at a time, "where does it go?".
//
//  * hived:  the production engine. apiary::cell::Scheduler driven exactly as
//            the extender drives it: one affinity group per job, for each pod
//            Schedule(pod, spec, nullptr, kPreempting) then
//            AddAllocatedPod(pod, spec, bind_info); DeleteAllocatedPod per pod
//            when the job ends. Preemption victims come back to the engine,
//            which kills them and asks again.
//  * static: static partitioning. Each VC owns its quota's GPUs on fixed
//            nodes (configuration order, VC by VC) and never uses another's;
//            pods go first-fit onto the VC's nodes.
//  * quota:  quota-only sharing without topology (capacity-scheduler style).
//            A guaranteed job is admitted while its VC's used GPUs plus its own
//            stay within the VC's quota; its pods then go first-fit onto any
//            node of the cluster with enough free GPUs. Opportunistic jobs
//            (priority -1) use idle GPUs beyond any quota and are preempted
//            (lowest node first, newest job first) when a guaranteed job
//            within its quota finds no room.
//
// Single-threaded, like the Scheduler underneath.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "apiary/cell/pod_spec.h"
#include "apiary/sim/cluster.h"
#include "apiary/sim/workload.h"

namespace apiary::sim {

struct PlaceResult {
  enum class Kind {
    kPlaced,   // the job runs now, on SKU `sku`
    kWait,     // no room now; retry when cells are released
    kPreempt,  // room after the `victims` (job indices) are killed: kill
               // them, then call TryPlace again
    kReject,   // can never run (user error, or larger than the policy allows)
  };
  Kind kind = Kind::kWait;
  int32_t sku = -1;
  // kPlaced: the job's nodes (ClusterModel::nodes), distinct, in placement
  // order (every policy, model on or off: jobs-*.csv and the replay export).
  std::vector<int32_t> nodes;
  std::vector<int32_t> victims;
  std::string message;
  // kPlaced by hived with AllocatorContext::record_placement: the GPU
  // (leaf cell) indices of all the job's pods (the placement model's
  // switch-level spread of a one-node job).
  std::vector<int32_t> leaves;
};

// One pod of a running job as the scheduler holds it: what the extender
// writes into the pod's annotations (pod-scheduling-spec, pod-bind-info with
// the virtual leaf cells). A what-if adopts such pods; a snapshot of a
// simulation (SimOptions::snapshot) reports them.
struct AdoptedPod {
  cell::PodRef ref;
  cell::PodSchedulingSpec spec;
  cell::PodBindInfo bind_info;
};

enum class PolicyKind { kHived, kStatic, kQuota };
Result<PolicyKind> ParsePolicy(std::string_view name);  // hived|static|quota
std::string_view PolicyName(PolicyKind kind);

class Allocator {
 public:
  virtual ~Allocator() = default;

  virtual PolicyKind kind() const = 0;

  // Sets the clock the policy reports to libcell (simulated seconds).
  virtual void SetTime(int64_t now) {}

  // False (with a reason) when the job can never run under this policy,
  // whatever else happens: more GPUs than its VC may ever hold, a pod larger
  // than any node, a GPU model the cluster lacks. Called once at submission.
  virtual bool CanEverFit(int32_t job, std::string* why) const = 0;

  // An upper bound on the GPUs a job of VC `vc` (workload index) with this
  // priority could be given right now. The engine skips jobs that need more,
  // so the bound must never be below the truth. O(1).
  virtual int64_t Headroom(int32_t vc, int32_t priority) const = 0;

  // Tries to place the job. kPlaced commits the placement. With
  // `opportunistic`, a guaranteed job is placed as an opportunistic one
  // (priority -1: idle GPUs beyond its VC's quota, preemptible), if the
  // policy lets VCs borrow (SupportsBorrowing).
  virtual PlaceResult TryPlace(int32_t job, bool opportunistic = false) = 0;
  virtual bool SupportsBorrowing() const { return false; }

  // The job (placed earlier) ends or is killed: give its GPUs back.
  virtual void Release(int32_t job) = 0;

  virtual int64_t FreeGpus() const = 0;

  // Starting from a live state (what-if): takes over a job that is already
  // running on the given pods' cells, as the extender's recovery does. The
  // job's pods are renamed to the policy's own; kPlaced with its nodes and
  // SKU, or an error naming the pod. Call FinishAdoption() after the last.
  // Only hived supports it (the others: an error).
  virtual Result<PlaceResult> Adopt(int32_t job, const std::vector<AdoptedPod>& pods) {
    return Status::Invalid(std::string(PolicyName(kind())) +
                           " cannot start from a live state (only hived can)");
  }
  virtual void FinishAdoption() {}
  // SimOptions::explain (hived): (rule, jobs) whose first wait named it.
  virtual std::vector<std::pair<std::string, int64_t>> WaitReasons() const { return {}; }
  virtual int64_t ExplainedJobs() const { return 0; }
  // The pods of a running job as the scheduler holds them (empty when the
  // policy keeps no pods: static, quota).
  virtual std::vector<AdoptedPod> PodsOf(int32_t job) const { return {}; }

  // Empty, or a description of a broken internal invariant (tests).
  virtual std::string CheckInvariants() const { return ""; }
};

// Jobs of VCs without a quota: with kOpportunistic they run at priority -1
// (on idle GPUs, preemptible); with kReject they are rejected.
enum class UnknownVc { kOpportunistic, kReject };

class ReplayLog;

struct AllocatorContext {
  const ClusterModel* cluster = nullptr;
  // hived only: every scheduler call goes to this log as well (may be null).
  ReplayLog* replay_log = nullptr;
  const Workload* workload = nullptr;
  UnknownVc unknown_vc = UnknownVc::kOpportunistic;
  // [workload vc] -> cluster vc index, or -1 (no quota).
  std::vector<int32_t> vc_map;
  // [workload model] -> SKU indices of the cluster the jobs may use, in
  // preference order (empty = the cluster has none of them).
  std::vector<std::vector<int32_t>> model_skus;
  // Placement model on (SimOptions::placement): the baselines place a job's
  // GPUs one by one, first-fit over free GPUs in node order, as a scheduler
  // that counts GPUs and knows no topology does (off: pod by pod, each pod on
  // one node); hived reports its pods' GPUs (PlaceResult::leaves).
  bool topology_blind = false;
  bool record_placement = false;
  // hived: keep every running pod's bind info (Allocator::PodsOf; set for a
  // snapshot, SimOptions::snapshot).
  bool keep_bind_info = false;
  // hived: explain waits (SimOptions::explain).
  bool explain = false;
  // The priority a job effectively runs at: -1 for jobs of VCs without a
  // quota (kOpportunistic), else the job's own.
  int32_t EffectivePriority(const SimJob& j) const {
    return vc_map[j.vc] < 0 ? -1 : j.priority;
  }
};

// Fills vc_map and model_skus.
AllocatorContext MakeAllocatorContext(const ClusterModel& cluster, const Workload& workload,
                                      UnknownVc unknown_vc);

// Builds the policy over the cluster. `ctx` must outlive the allocator.
Result<std::unique_ptr<Allocator>> MakeAllocator(PolicyKind kind,
                                                 const AllocatorContext& ctx);

}  // namespace apiary::sim
