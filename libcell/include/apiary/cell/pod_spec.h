// The pod-facing wire data of HiveD, as plain structs: the scheduling spec a
// pod asks with (hived.md 4) and the bind info written when it is bound
// (hived.md 10). Parsing and emitting live in annotations.h.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace apiary::cell {

inline constexpr char kAnnotationPodSchedulingSpec[] =
    "hivedscheduler.microsoft.com/pod-scheduling-spec";
inline constexpr char kAnnotationPodBindInfo[] =
    "hivedscheduler.microsoft.com/pod-bind-info";
inline constexpr char kAnnotationPodLeafCellIsolation[] =
    "hivedscheduler.microsoft.com/pod-leaf-cell-isolation";
inline constexpr char kAnnotationPodGpuIsolationLegacy[] =
    "hivedscheduler.microsoft.com/pod-gpu-isolation";
// Apiary's own: the lazy-preemption mark persisted across restarts (Q19).
// Its value is the preemptor group's name.
inline constexpr char kAnnotationLazyPreemptor[] =
    "apiary.io/lazy-preemptor";
// Apiary's own: the virtual leaf cell of every leaf of the group's bind info
// (PodPlacementInfo::virtual_leaf_cells), so that a restart binds each group
// to the virtual cells it had rather than re-deriving them (hived.md 7.1
// re-derives them from preassigned cell types, which may renumber them).
inline constexpr char kAnnotationVirtualLeafCells[] =
    "apiary.io/virtual-leaf-cells";

inline constexpr int32_t kOpportunisticPriority = -1;
inline constexpr int32_t kFreePriority = -2;
inline constexpr int32_t kMinGuaranteedPriority = 0;
inline constexpr int32_t kMaxGuaranteedPriority = 1000;

struct AffinityGroupMemberSpec {
  int32_t pod_number = 0;
  int32_t leaf_cell_number = 0;
};

// hived.md 4.2 after defaults are applied: affinity_group_name and members are
// always filled (a default group of one pod named "<namespace>/<pod>").
// Members with equal leaf_cell_number are merged, in first-appearance order.
struct PodSchedulingSpec {
  std::string virtual_cluster;
  int32_t priority = 0;
  std::string pinned_cell_id;
  std::string leaf_cell_type;
  int32_t leaf_cell_number = 0;
  std::string affinity_group_name;
  std::vector<AffinityGroupMemberSpec> affinity_group_members;
  bool lazy_preemption_enable = false;
  bool ignore_k8s_suggested_nodes = true;
  bool gang_release_enable = false;
};

// hived.md 10.
struct PodPlacementInfo {
  std::string physical_node;
  std::vector<int32_t> physical_leaf_cell_indices;
  std::vector<std::string> preassigned_cell_types;  // "" = opportunistic
};

struct AffinityGroupMemberBindInfo {
  std::vector<PodPlacementInfo> pod_placements;
};

struct PodBindInfo {
  std::string node;
  std::vector<int32_t> leaf_cell_isolation;
  std::string cell_chain;
  std::vector<AffinityGroupMemberBindInfo> affinity_group_bind_info;
  // Apiary: the virtual leaf cell address of every leaf of the group, in
  // bind-info order (members, their pod placements, then each placement's
  // physical_leaf_cell_indices); "" = none. Empty when unknown. Not part of
  // HiveD's bind-info YAML: it travels in kAnnotationVirtualLeafCells. At
  // recovery it is a preference: a leaf whose named virtual cell is no longer
  // free or no longer exists is mapped as HiveD maps it. A decision's bind
  // info (ScheduleResult) leaves it empty, so that its commit re-derives the
  // virtual cells as HiveD's does; read them after the commit with
  // Scheduler::VirtualLeafCellsOfPod.
  std::vector<std::string> virtual_leaf_cells;
};

// The identity of a pod as the scheduler records it.
struct PodRef {
  std::string uid;
  std::string ns;    // namespace
  std::string name;
  std::string FullName() const { return ns + "/" + name; }
};

}  // namespace apiary::cell
