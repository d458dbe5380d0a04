// SchedulerImpl: the engine behind apiary::cell::Scheduler (not installed).
// The one owner of the engine's state. Its member functions are defined in
// engine/*.cc, one responsibility per file, grouped below by file in the
// one-way dependency order of docs/ARCHITECTURE.md (libcell).
#pragma once

#include <map>
#include <span>
#include <string>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "apiary/cell/config_derived.h"
#include "mapper.h"
#include "types.h"

namespace apiary::cell {

struct Placement {
  PhysCells phys;
  VirtCells virt;
  bool has_virtual = false;
  ChainId chain = kNone;
};

// A new group's scheduling request, members sorted by leaf count.
struct Request {
  std::string group_name;
  VcId vc = kNone;
  int32_t priority = 0;
  std::string pinned_id;
  bool ignore_suggested = true;
  bool lazy_enable = false;
  std::vector<int32_t> leaf_counts;
  std::vector<int32_t> pod_numbers;

  // The request of a pod's spec for VC `vc`, members by leaf count (stable).
  static Request FromSpec(const PodSchedulingSpec& spec, VcId vc);
  std::vector<int32_t> SortedPods() const;
  // `per_pod` (from a node array, which holds either kind of cell as
  // plain integers) as cells of kind IdT, by member.
  template <typename IdT>
  GroupCellsOf<IdT> ToGroupCells(const std::vector<std::vector<int32_t>>& per_pod) const {
    GroupCellsOf<IdT> out(leaf_counts.size());
    size_t i = 0;
    for (size_t m = 0; m < leaf_counts.size(); ++m) {
      for (int32_t k = 0; k < pod_numbers[m]; ++k) {
        const std::vector<int32_t>& pod = per_pod[i++];
        out[m].emplace_back(pod.begin(), pod.end());
      }
    }
    return out;
  }
};

class SchedulerImpl {
 public:
  using RefreshScratch = NodeArray::Scratch;

  explicit SchedulerImpl(const Clock* clock) : clock_(clock) {}

  // Builds the trees from `config` and its validated derivation (what is
  // validated is what is built).
  Status Build(const Config& config, const DerivedConfig& derived);

  ScheduleResult Schedule(const PodRef& pod, const PodSchedulingSpec& spec,
                          const std::vector<std::string>* suggested_nodes,
                          SchedulingPhase phase);
  Status AddAllocatedPod(const PodRef& pod, const PodSchedulingSpec& spec,
                         const PodBindInfo& info,
                         const std::optional<LazyPreemptionMark>& mark);
  void FinishRecovery();
  Status DeleteAllocatedPod(std::string_view uid);
  bool DeleteUnallocatedPod(std::string_view uid);
  void SetNodeBad(NodeId n);
  void SetNodeHealthy(NodeId n);

  std::vector<CellStatus> PhysicalCluster() const;
  std::vector<CellStatus> VirtualClusterStatus(VcId vc) const;
  AffinityGroupStatus GroupStatus(GroupId gid) const;
  std::vector<AffinityGroupStatus> AffinityGroups() const;
  std::string CheckInvariants() const;
  Scheduler::Usage GetUsage() const;
  // The facade's calls by name (Scheduler's contract), so that scheduler.cc
  // never reads the members below. engine/health.cc:
  void SetAllNodesHealthy();  // configuration order
  Status SetNodeHealth(std::string_view node, bool healthy);
  bool HasNode(std::string_view node) const;
  const std::vector<std::string>& NodeNames() const { return node_names_; }
  // engine/groups.cc:
  bool IsAllocatedPod(std::string_view uid) const;
  bool HasGroup(const std::string& name) const { return group_index_.count(name) > 0; }
  std::optional<LazyPreemptionMark> LazyMarkOfPod(std::string_view uid) const;
  // engine/bind_info.cc:
  std::vector<std::string> VirtualLeafCellsOfPod(std::string_view uid) const;
  // engine/inspect.cc:
  Result<AffinityGroupStatus> AffinityGroup(std::string_view name) const;
  Result<std::vector<CellStatus>> VirtualCluster(std::string_view vc) const;
  std::vector<std::string> VirtualClusterNames() const;

  // engine/cell_state.cc
  void SetPPriority(CellId c, int32_t p);
  void SetVPriority(VCellId c, int32_t p);
  void AddPUsage(CellId c, int32_t p, int32_t delta);
  void AddVUsage(VCellId c, int32_t p, int32_t delta);
  void SetVPcell(VCellId v, CellId p);  // binds (or unbinds: kNone) v's physical side
  void BumpHealth(CellId c);            // after c's health changed
  void SetCellState(CellId c, CellState s);
  void BindCell(CellId p, VCellId v);
  void UnbindCell(CellId c);
  // After a change of cell c's counter: lists c in its NodeArray's dirty list.
  void TouchNodeArrayEntry(bool is_virtual, int32_t c);

  // engine/free_lists.cc
  void ListAppend(std::vector<CellId>& list, int32_t PCell::*pos, CellId c);
  void ListRemove(std::vector<CellId>& list, int32_t PCell::*pos, CellId c);
  void FreeAppend(CellId c);
  void FreeRemove(CellId c);
  void BadFreeAppend(CellId c);
  void BadFreeRemove(CellId c);
  void DoomedAppend(VcId vc, CellId c);
  void DoomedRemove(CellId c);
  int32_t SplitOutOfFreeList(CellId c);
  int32_t MergeIntoFreeList(CellId c);
  bool InFreeCellList(CellId c) const;

  // engine/node_array.cc
  int32_t NewNodeArray(bool is_virtual, bool cross_priority_pack, ChainId chain,
                       const std::vector<std::vector<int32_t>>& full);
  bool NodeSuggested(NodeId n, const SuggestedSet* s) const;
  NodeId FirstNodeOf(CellId c) const;
  void SnapshotEntry(const NodeArray& t, NodeArrayEntry& n, uint32_t version) const;
  void ComputeEntry(const NodeArray& t, NodeArrayEntry& n, int32_t p, const SuggestedSet* suggested,
                    bool ignore_suggested) const;
  // Brings t.nodes up to date for priority p and the suggested nodes (6.3):
  // every node's free/used counts, health and suggestion, stably sorted.
  // Incremental when only some nodes changed since a refresh with the same
  // p and suggestion mode; the result is the same either way.
  void RefreshNodeArray(NodeArray& t, int32_t p, const SuggestedSet* suggested,
                        bool ignore_suggested);
  // The two ways of RefreshNodeArray, on any NodeArray and position index (const, so
  // that CheckInvariants can run both on copies and compare them).
  void RefreshNodeArrayFull(NodeArray& t, int32_t p, const SuggestedSet* suggested,
                            bool ignore_suggested) const;
  void RefreshNodeArrayIncremental(NodeArray& t, int32_t p, RefreshScratch& scratch) const;
  std::string EntryAddress(const NodeArray& t, const NodeArrayEntry& n) const;

  // engine/bad_cells.cc
  // The first unbound virtual child of `v`, passing over children claimed
  // by the placement being allocated (see claim_) while an unclaimed one is
  // left; kNone when every child is bound.
  VCellId FirstUnboundChild(VCellId v) const;
  bool Claimed(VCellId v) const {
    return claim_epoch_ != 0 && static_cast<size_t>(v) < claim_.size() &&
           claim_[v] == claim_epoch_;
  }
  void BindBadToParentVirtual(CellId c);
  void AllocateBadCell(CellId c);
  void ReleaseBadCell(CellId c);
  int32_t HealthyFreeCount(ChainId ch, int32_t l) const;

  // engine/quota.cc
  std::string SafetyCheck(ChainId ch, int32_t l) const;
  std::string AllocatePreassigned(CellId c, VcId vc, bool doomed);
  void ReleasePreassigned(CellId c, VcId vc, bool doomed);
  void TryBindDoomed(ChainId ch, int32_t l);
  void TryUnbindDoomed(ChainId ch, int32_t l);
  // A doomed cell that no group uses (one in use keeps its binding).
  bool DoomedUnused(CellId c) const { return pcells_[c].priority < kMinGuaranteedPriority; }
  // Unbinds doomed cell `pc` and releases it as doomed (8.2).
  void ReleaseDoomed(CellId pc);

  // engine/health.cc
  void SetBadCell(CellId c);
  void SetHealthyCell(CellId c);

  // engine/leaf_allocation.cc
  std::string AllocateLeaf(CellId pleaf, VCellId vleaf, int32_t p, VcId vc);
  void ReleaseLeaf(CellId pleaf, VcId vc);
  bool TransferInBadCell(CellId c, VCellId v) const;
  void TransferLeaf(CellId c, VCellId v, int32_t p);

  // engine/build.cc
  CellId NewPCell(ChainId chain, int32_t level, CellId parent, std::string address);
  VCellId NewVCell(VcId vc, ChainId chain, int32_t level, VCellId parent,
                   const std::string& address, int32_t pinned_index);
  void BuildVirtualSubtree(VCellId id);
  void AppendVirtualFull(VCellId v, std::vector<std::vector<VCellId>>& full);
  int32_t LevelOfType(ChainId chain, const std::string& type) const;

  // engine/topology.cc
  int32_t CellLevel(bool is_virtual, int32_t c) const;
  int32_t CellParent(bool is_virtual, int32_t c) const;
  int32_t Lca(bool is_virtual, int32_t a, int32_t b) const;
  void CollectNodeLeaves(bool is_virtual, int32_t c, int32_t p,
                         std::vector<int32_t>& free_leaves,
                         std::vector<int32_t>& preemptible) const;
  bool FindNodesForPods(const NodeArray& t, const std::vector<int32_t>& pods,
                        std::vector<int32_t>& picked, std::string& reason) const;
  std::vector<int32_t> FindLeavesInNode(const NodeArray& t, int32_t need,
                                        std::vector<int32_t>& avail) const;
  bool ScheduleOnNodeArray(int32_t node_array, const std::vector<int32_t>& pods, int32_t priority,
                           const SuggestedSet* suggested, bool ignore_suggested,
                           std::vector<std::vector<int32_t>>& out, std::string& reason);

  // engine/mapper.h (the Mapper class) on this scheduler's trees and free
  // lists; defined in engine/schedule.cc.
  CellTrees Trees() const { return {pcells_, pchildren_, vcells_, vchildren_, chains_}; }
  bool MapVirtualToPhysical(ChainId chain, const VirtCells& vplace,
                            const SuggestedSet* suggested, bool ignore_suggested,
                            PhysCells& pplace, bool& safety_broken);

  // engine/lazy_preemption.cc
  VirtCells VirtOf(const Group& g) const;
  PhysCells PhysOf(const Group& g) const;
  void LazyPreemptGroup(GroupId gid, const std::string& preemptor);
  void RevertLazyPreempt(GroupId gid, const VirtCells& virt);
  std::vector<std::pair<GroupId, VirtCells>> TryLazyPreempt(const VirtCells& vplace,
                                                             const std::string& preemptor);
  void LazyPreemptCell(VCellId v, const std::string& preemptor);

  // engine/groups.cc
  GroupId NewGroup(const Request& req, GroupState state);
  void RemoveGroup(GroupId gid);
  void CreatePreemptingGroup(const Request& req, const Placement& pl, const PodRef& pod);
  void CancelPreemption(GroupId gid);
  void AllocatePreemptingGroup(GroupId gid);
  void DeleteAllocatedGroup(GroupId gid);
  void SetPodSlot(GroupId gid, int32_t member, int32_t slot, const PodRef& pod,
                  const std::string& node);

  // engine/bind_info.cc
  const std::string& NodeNameOf(CellId c) const;
  void FillBindResult(const Group* g, const Request& req, const Placement& pl,
                      int32_t member, int32_t slot, ScheduleResult& r) const;
  Placement PlacementOf(const Group& g) const;
  // The group's current virtual leaf addresses in the order of the bind info
  // its pods carry (PodBindInfo::virtual_leaf_cells); empty without any.
  std::vector<std::string> VirtualLeafCellsOf(const Group& g) const;
  void FillBindResultCached(Group& g, int32_t member, int32_t slot, ScheduleResult& r);
  Request RequestOf(const Group& g) const;

  // engine/schedule.cc
  std::string FormatVirtualPlacement(const Request& req, const VirtCells& v) const;
  bool ScheduleGuaranteed(const Request& req, ChainId chain, const SuggestedSet* suggested,
                          Placement& out, std::string& reason);
  bool ScheduleOpportunistic(const Request& req, ChainId chain,
                             const SuggestedSet* suggested, Placement& out,
                             std::string& reason);
  int ScheduleForLeafType(const Request& req, const std::string& leaf_type,
                          bool type_specified, const SuggestedSet* suggested,
                          Placement& out, std::string& reason, bool& tried_any);
  void CollectVictims(const PhysCells& pplace, std::vector<Victim>& victims,
                      std::vector<GroupId>& preemptors) const;
  void FillPreemptResult(const PhysCells& pplace, std::vector<Victim> victims,
                         ScheduleResult& r) const;
  bool PlacementBadOrNotSuggested(const Group& g, const SuggestedSet* suggested) const;

  // engine/explain.cc (const: an explanation never changes a decision)
  Explanation ExplainRequest(const PodSchedulingSpec& spec,
                             const std::vector<std::string>* suggested_nodes) const;
  void ExplainResult(const PodSchedulingSpec& spec, const ScheduleResult& r,
                     Explanation& e) const;
  ExplainChain ExplainChainOf(const Request& req, ChainId ch, int32_t pinned,
                              const SuggestedSet* suggested) const;
  std::vector<ExplainCellCount> ExplainNeeded(const Request& req, ChainId ch) const;
  std::string ExplainSuggestion(const Request& req, const ExplainChain& e, ChainId ch,
                                const SuggestedSet* suggested) const;

  // engine/recovery_mapping.cc
  CellId FindPhysicalLeaf(const std::string& chain, const std::string& node,
                          int32_t index) const;
  // The virtual leaf a bind info names for its leaf number `flat` (in
  // bind-info order), when it is a leaf of group `g`'s VC in chain `ch`;
  // else kNone.
  VCellId VirtualHint(const PodBindInfo& info, size_t flat, const Group& g, ChainId ch) const;
  // Recovery: startup binds doomed cells before any pod is recovered
  // (hived.md 9), possibly onto the very bad cell a recovered group holds,
  // or binding the group's own preassigned cell elsewhere. When the persisted
  // virtual leaf `hint` of physical leaf `pleaf` meets such doomed (unused)
  // bindings, they are released so the group gets its cells back; the levels
  // touched are appended to `rebind` for the bind rule (8.2) to run there.
  void FreeDoomedBindingFor(VCellId hint, CellId pleaf,
                            std::vector<std::pair<ChainId, int32_t>>& rebind);
  // Recovery (7.1 step 2): the virtual leaf for physical leaf `pleaf`, leaf
  // `index` of `ppi`, preferring `hint`; lazy: 0 = no, 1 = mark the group,
  // 2 = an opportunistic leaf.
  void MapAllocatedLeaf(CellId pleaf, VCellId hint, const PodPlacementInfo& ppi, size_t index,
                        bool has_types, bool lazy_so_far, const Group& g, VCellId& vleaf,
                        int& lazy) const;

  // engine/recovery.cc
  static std::string EmitIndices(const std::vector<int32_t>& v);

  // engine/inspect.cc
  CellStatus PStatus(CellId c, bool children, bool bound) const;
  CellStatus VStatus(VCellId v, bool children, bool bound) const;

  // State: only SchedulerImpl's own functions (engine/*.cc) and the
  // read-only TreeView (engine/tree_view.cc) read it; the facade
  // (scheduler.cc) calls the functions above.
 private:
  friend class TreeView;
  // Guarantee headroom (headroom.cc): read-only, like TreeView.
  friend class HeadroomPass;
  friend std::vector<VcGuarantee> ComputeGuaranteeHeadroom(const SchedulerImpl& s);
  const Clock* clock_;
  IdVector<ChainIdTag, Chain> chains_;
  std::unordered_map<std::string, ChainId> chain_index_;
  std::map<std::string, std::vector<ChainId>> chains_by_leaf_;
  IdVector<CellIdTag, PCell> pcells_;
  std::vector<CellId> pchildren_;
  IdVector<VCellIdTag, VCell> vcells_;
  std::vector<VCellId> vchildren_;
  std::unordered_map<std::string, CellId> pinned_cells_;
  std::unordered_map<std::string, NodeId> node_index_;
  std::vector<std::string> node_names_;
  std::vector<std::vector<CellId>> node_leaves_;
  std::vector<char> node_bad_;
  std::vector<std::vector<std::vector<CellId>>> free_;      // [chain][level]
  std::vector<std::vector<std::vector<CellId>>> bad_free_;  // [chain][level]
  std::vector<std::vector<int32_t>> all_vc_free_;           // [chain][level]
  std::vector<std::vector<int32_t>> total_left_;            // [chain][level]
  IdVector<VcIdTag, Vc> vcs_;  // ascending name
  std::unordered_map<std::string, VcId> vc_index_;
  std::vector<NodeArray> node_arrays_;
  // Reused scratch state (no allocation per decision in steady state).
  Mapper mapper_;
  SuggestedSet suggested_bits_;
  std::vector<int32_t> fingerprint_scratch_;
  std::vector<int32_t> opp_node_arrays_;  // [chain]
  IdVector<GroupIdTag, Group> groups_;
  // A cell's change counter and node-array membership (PCell / VCell).
  uint32_t CellVersion(bool is_virtual, int32_t c) const {
    return is_virtual ? vcells_[c].version : pcells_[c].version;
  }
  // Scratch of RefreshNodeArrayIncremental (NodeArray::Scratch).
  RefreshScratch refresh_scratch_;
  // Apiary: the unbound virtual cells a preemptor's placement is about to
  // bind (CreatePreemptingGroup), marked with the current epoch (0 = no
  // placement is being allocated). A doomed or bad-cell binding made while
  // its leaves are allocated one by one passes over them (the doomed-cell
  // rule: see TryBindDoomed, quota.cc).
  std::vector<uint32_t> claim_;
  uint32_t claim_epoch_ = 0;
  uint32_t last_claim_epoch_ = 0;
  // Virtual cell by address; built on first use by recovery, dropped by
  // FinishRecovery.
  mutable std::unordered_map<std::string, VCellId> vcell_by_address_;
  std::vector<GroupId> free_group_ids_;
  std::map<std::string, GroupId> group_index_;
  std::unordered_map<std::string, PodLocation> pod_locs_;
  std::unordered_map<std::string, std::string> preempting_pod_groups_;
};

}  // namespace apiary::cell
