// A list of pods as `kubectl get pods -A -o json` prints it (a List with
// `items`, a bare array, or a single pod), read for what HiveD's annotations
// say about them: the pods the extender bound (pod-scheduling-spec +
// pod-bind-info, with apiary.io/virtual-leaf-cells and a lazy-preemption
// mark when present) in the extender's recovery order. Used by `apiary diff
// --pods` and `apiary-sim whatif`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "apiary/cell/pod_spec.h"
#include "apiary/cell/scheduler.h"  // LazyPreemptionMark
#include "apiary/cell/status.h"
#include "apiary/wire/pod_json.h"

namespace apiary::wire {

struct BoundPod {
  PodObject pod;
  cell::PodSchedulingSpec spec;
  cell::PodBindInfo bind_info;
  std::optional<cell::LazyPreemptionMark> mark;
  bool has_time = false;        // a PodScheduled condition with a time
  int64_t scheduled_nanos = 0;  // its lastTransitionTime
  std::string where;            // "NAME: items[i]", for messages
};

// A pod that is neither completed nor bound (no pod-bind-info annotation).
struct UnboundPod {
  PodObject pod;
  bool has_spec = false;  // carries a pod-scheduling-spec annotation
  std::string where;
};

struct PodList {
  // Bound pods in the extender's recovery order: PodScheduled time, ties (and
  // pods without the condition, which come last) by namespace/name.
  std::vector<BoundPod> bound;
  std::vector<UnboundPod> unbound;  // list order
  int64_t items = 0;
  int64_t completed = 0;  // phase Succeeded or Failed (skipped)
  // Bound pods skipped because an annotation does not parse, with the reason
  // ("pod ns/name skipped: ...").
  std::vector<std::string> warnings;
  // "12 pods in NAME: 9 bound (with bind info), 1 completed (skipped), ...".
  std::string Note(const std::string& name) const;
};

// Reads the list. Errors (naming `name`, the item and the field): not JSON,
// not a pod list, a pod object without a name, a PodScheduled time that is
// not RFC 3339.
cell::Result<PodList> ReadPodList(const std::string& text, const std::string& name);

}  // namespace apiary::wire
