// The HiveD scheduling engine: cell trees, buddy allocation, VC binding,
// topology-aware gang placement, preemption, lazy preemption, bad nodes and
// recovery (hived.md sections 5-9). Every front door (the `apiary` command,
// the scheduler extender, the simulator) drives the same Scheduler.
//
// Thread safety: a Scheduler is single-writer. Callers serialise every call
// (the extender holds one mutex; replay and the simulator are single-threaded).
// Const inspection calls may run concurrently with each other only.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "apiary/cell/cell_tree.h"
#include "apiary/cell/config.h"
#include "apiary/cell/explain.h"
#include "apiary/cell/headroom.h"
#include "apiary/cell/pod_spec.h"
#include "apiary/cell/status.h"

namespace apiary::cell {

// Injected time (DESIGN.md): replay uses a logical clock, the simulator its
// simulated time, the extender the wall clock.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t NowUnixSeconds() const = 0;
};

// A clock the caller sets by hand.
class ManualClock : public Clock {
 public:
  explicit ManualClock(int64_t now = 0) : now_(now) {}
  int64_t NowUnixSeconds() const override { return now_; }
  void Set(int64_t now) { now_ = now; }

 private:
  int64_t now_;
};

// kube-scheduler's two calls (hived.md 6.1).
enum class SchedulingPhase { kFiltering, kPreempting };

struct PodPlacement {
  std::string node;
  std::vector<int32_t> leaf_cells;
};

// One member (leaf count) of an affinity group's placement, slots in order.
struct MemberPlacement {
  int32_t leaf_cell_number = 0;
  std::vector<PodPlacement> pods;
};

struct Victim {
  PodRef pod;
  std::string node;
};

struct ScheduleResult {
  enum class Kind { kBind, kPreempt, kWait, kError };
  Kind kind = Kind::kWait;

  // kBind: this pod's node and leaf indices (isolation order), the chain of
  // its first leaf, the bind info to write, the whole group placement.
  std::string node;
  std::vector<int32_t> leaf_cells;
  std::string cell_chain;
  PodBindInfo bind_info;
  std::vector<MemberPlacement> group_placement;  // leaf count ascending

  // kPreempt: every victim pod (sorted by namespace/name) and the preemptor's
  // whole physical placement, node -> leaf indices, nodes sorted.
  std::vector<Victim> victims;
  std::vector<std::pair<std::string, std::vector<int32_t>>> placement;

  // kWait: the reason; kError: the user error (HTTP 400 in the extender).
  std::string message;

  // kWait, kPreempt: why (explain.h), when the caller asked for it; null
  // otherwise.
  std::shared_ptr<const Explanation> explanation;
};

// Lazy preemption mark persisted across restarts (hived.md Q19).
struct LazyPreemptionMark {
  std::string preemptor;
  int64_t preemption_time = 0;  // Unix seconds
};

// ---- Inspection (HiveD's inspect schema as plain data; hived.md 11) ----

struct CellStatus {
  std::string leaf_cell_type;  // empty: omitted
  std::string cell_type;
  bool is_node_level = false;
  std::string cell_address;
  std::string cell_state;        // Free, Used, Reserving, Reserved
  std::string cell_healthiness;  // Healthy, Bad
  int32_t cell_priority = kFreePriority;
  std::vector<CellStatus> cell_children;  // empty for leaves
  std::string vc;                         // physical cells; empty: omitted
  // The bound cell (virtual cell of a physical cell or vice versa), without
  // children; empty vector = unbound. (A vector avoids a recursive optional.)
  std::vector<CellStatus> bound;
};

struct AffinityGroupStatus {
  std::string name;
  std::string vc;
  int32_t priority = 0;
  std::string state;  // Allocated, Preempting, BeingPreempted
  // node -> leaf indices, nodes sorted; walk order inside.
  std::vector<std::pair<std::string, std::vector<int32_t>>> physical_placement;
  // preassigned virtual cell address -> virtual leaf addresses, keys sorted.
  std::vector<std::pair<std::string, std::vector<std::string>>>
      virtual_placement;
  std::vector<std::string> allocated_pods;   // uids, walk order
  std::vector<std::string> preempting_pods;  // uids, arrival order
  std::optional<LazyPreemptionMark> lazy_preemption;
};

class SchedulerImpl;
class FeasibilityIndex;

class Scheduler {
 public:
  // Builds the scheduler from a configuration. The configuration is validated
  // first (ValidateConfig); errors come back as kInvalidArgument. As HiveD
  // does, every configured node starts bad; with `start_healthy` the nodes
  // are then healed one by one in configuration order (hived.md 9).
  // `clock` must outlive the scheduler.
  static Result<std::unique_ptr<Scheduler>> Create(const Config& config,
                                                   const Clock* clock,
                                                   bool start_healthy = true);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // hived.md 6.1. `suggested_nodes` null means every node. Never throws;
  // user errors come back as Kind::kError. A wait for a group that no state
  // of the cluster could place (feasibility.h) says so after HiveD's reason:
  // "...; can never fit under the current configuration: <why> (<the
  // nearest change that fits>)".
  // With `explain`, a kWait or kPreempt result carries an explanation
  // (explain.h), built from the state the decision is made on; the decision
  // is the same either way. Without it nothing is computed.
  ScheduleResult Schedule(const PodRef& pod, const PodSchedulingSpec& spec,
                          const std::vector<std::string>* suggested_nodes,
                          SchedulingPhase phase, bool explain = false);

  // The decision Schedule(..., explain = true) would make now, with its
  // explanation, without changing this scheduler (it decides on a copy of the
  // state: O(cluster size), for inspection paths, not the hot path).
  ScheduleResult Explain(const PodRef& pod, const PodSchedulingSpec& spec,
                         const std::vector<std::string>* suggested_nodes,
                         SchedulingPhase phase) const;

  // hived.md 7.1: records a bound pod (fresh decision or recovery). `node`
  // is the pod's node (bind_info.node). A new group's virtual cells are
  // re-derived from its physical leaves, as HiveD does, preferring the
  // cells bind_info.virtual_leaf_cells names (recovery); a decision's bind
  // info names none. `mark` restores a persisted lazy
  // preemption (recovery only; see FinishRecovery).
  Status AddAllocatedPod(const PodRef& pod, const PodSchedulingSpec& spec,
                         const PodBindInfo& bind_info,
                         const std::optional<LazyPreemptionMark>& mark = {});

  // After recovering every pod: keeps each restored lazy-preemption mark
  // whose preemptor group is allocated, and reverts the others (Q19).
  // Callers that know every pod to recover up front should pass a mark only
  // when its preemptor group is among them (as replay does): the group is then
  // recovered exactly as HiveD would, in order; a revert here re-derives the
  // group's virtual cells after everything else and leaves it lazily
  // preempted when they conflict with cells recovered meanwhile.
  void FinishRecovery();

  // hived.md 7.2. kNotFound for a pod the scheduler does not hold.
  Status DeleteAllocatedPod(std::string_view uid);
  // A pod that never bound is gone (ends a preemption when it was the last).
  // Returns true when the scheduler knew the pod.
  bool DeleteUnallocatedPod(std::string_view uid);
  bool IsAllocatedPod(std::string_view uid) const;

  // hived.md 8. kNotFound for a node not in the configuration.
  Status SetNodeHealth(std::string_view node, bool healthy);
  bool HasNode(std::string_view node) const;
  // Configured node names in configuration order.
  std::vector<std::string> Nodes() const;

  // The lazy-preemption mark of the group of an allocated pod, if any.
  std::optional<LazyPreemptionMark> LazyMarkOfPod(std::string_view uid) const;
  // The virtual leaf cells the group of an allocated pod holds now, in the
  // order of its bind info (PodBindInfo::virtual_leaf_cells): what the pod's
  // apiary.io/virtual-leaf-cells annotation should say. Empty when the group
  // holds none (opportunistic, lazily preempted) or the pod is unknown. It
  // changes only when a group loses its cells (lazy preemption) or gets them
  // back re-derived (a reverted mark, a restart with bad nodes).
  std::vector<std::string> VirtualLeafCellsOfPod(std::string_view uid) const;

  // Inspection (hived.md 11).
  std::vector<AffinityGroupStatus> AffinityGroups() const;  // by name
  Result<AffinityGroupStatus> AffinityGroup(std::string_view name) const;
  std::vector<CellStatus> PhysicalCluster() const;  // top cells, config order
  Result<std::vector<CellStatus>> VirtualCluster(std::string_view vc) const;
  std::vector<std::string> VirtualClusterNames() const;  // sorted
  // The physical and virtual cell trees, read-only (cell_tree.h): walk them
  // by id without building the inspect structs. Valid until the next
  // non-const call.
  TreeView Trees() const;

  // Invariant audit for tests: returns a description of the first broken
  // invariant (no leaf given twice, quotas within bounds, counters matching
  // the trees), or an empty string.
  std::string CheckInvariants() const;

  // Aggregate counters for metrics and the simulator.
  struct Usage {
    int64_t total_leaves = 0;
    int64_t used_leaves = 0;       // Used or Reserving
    int64_t reserved_leaves = 0;   // Reserved
    int64_t bad_leaves = 0;
    int64_t opportunistic_leaves = 0;
  };
  Usage GetUsage() const;

  // Guarantee headroom (headroom.h): for every VC (ascending name) and chain
  // it has cells in (configuration order), its guaranteed and placeable
  // cells per level and whether its promise is broken. Read-only: changes
  // no state. O(VCs x free cells + virtual cells).
  std::vector<VcGuarantee> GuaranteeHeadroom() const;

 private:
  explicit Scheduler(std::unique_ptr<SchedulerImpl> impl);
  static ScheduleResult ScheduleExplained(SchedulerImpl& impl, const FeasibilityIndex& feasibility,
                                          const PodRef& pod, const PodSchedulingSpec& spec,
                                          const std::vector<std::string>* suggested_nodes,
                                          SchedulingPhase phase);
  std::unique_ptr<SchedulerImpl> impl_;
  // What a group needs that no state of the cluster can give (feasibility.h):
  // appended to the wait reasons of Schedule.
  std::unique_ptr<const FeasibilityIndex> feasibility_;
};

}  // namespace apiary::cell
