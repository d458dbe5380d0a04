// The one recovery driver (hived.md 9) that every front door uses to rebuild
// a scheduler from the pods already bound: the extender's startup, relist
// and reconfiguration, `apiary replay`'s restart and `apiary diff`.
//
//   list pods -> recover them in bind order -> settle lazy-preemption marks
//
// Callers list the pods (from the API server, a replay's records, a pods
// dump) as PodToRecover; RecoverPods puts them in bind order, calls
// Scheduler::AddAllocatedPod for each and Scheduler::FinishRecovery once.
// A pod whose bind info no longer fits the configuration is reported with
// the scheduler's reason, and recovery goes on with the others.
//
// Thread safety: as Scheduler (single writer); the functions keep no state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "apiary/cell/annotations.h"
#include "apiary/cell/pod_spec.h"
#include "apiary/cell/scheduler.h"
#include "apiary/cell/status.h"

namespace apiary::cell {

// One bound pod to recover, as its annotations (or a caller's records) say.
struct PodToRecover {
  PodRef pod;
  PodSchedulingSpec spec;
  PodBindInfo bind_info;
  // A persisted lazy-preemption mark (hived.md Q19), restored with the pod.
  std::optional<LazyPreemptionMark> lazy_mark;
  // Where the pod stands in bind order: pods with a key first, ascending
  // (the PodScheduled time, or the commit order a process recorded), then
  // pods without one; ties by namespace, then name.
  std::optional<int64_t> bind_order;
};

struct RecoveryOptions {
  // Restore a pod's lazy mark only when its preemptor group is among the
  // pods to recover. Scheduler::FinishRecovery reverts a mark whose
  // preemptor is not allocated after everything else; dropping it up front
  // recovers the group in order, as HiveD would (see FinishRecovery). Replay
  // does; the extender and `apiary diff` restore every mark as persisted.
  bool drop_marks_of_absent_preemptors = false;
};

struct RecoveryReport {
  // Indices into the pods given, in the order they were recovered.
  std::vector<size_t> order;
  // Per pod given (same index): Ok when recovered, else the reason.
  std::vector<Status> status;
  int64_t recovered = 0;
};

// The bind order of `pods` (see PodToRecover::bind_order), as indices; a
// stable sort, so equal keys keep the order given. O(n log n).
std::vector<size_t> BindOrder(std::span<const PodToRecover> pods);

// Recovers `pods` into `scheduler` (normally fresh from Scheduler::Create)
// in bind order, then settles the lazy-preemption marks (FinishRecovery).
RecoveryReport RecoverPods(Scheduler& scheduler, std::span<const PodToRecover> pods,
                           const RecoveryOptions& options = {});

}  // namespace apiary::cell
