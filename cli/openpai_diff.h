// `apiary diff OLD NEW [--pods pods.json]`: what a change of the scheduler
// configuration means before it is applied (openpai.md 4-6).
//
// Both files may be bare HiveD configs or OpenPAI services-configuration.yaml.
// The report lists:
//   - nodes added, removed, or given other chains / leaf counts;
//   - per VC the quota before and after: leaf cells per leaf type (the GPUs
//     per OpenPAI SKU) and preassigned cells per chain level;
//   - capacity in no VC. A chain no VC has cells in is flagged prominently:
//     HiveD crashes at start with it (the "never ready" trap, hived.md V32);
//     Apiary accepts it and serves it to opportunistic pods only, which is
//     rarely what an operator adding machines wants. A chain whose unassigned
//     share grew is flagged too;
//   - VC assignments that no longer fit (V27): chain, level, needed,
//     available, and which VCs ask. Such a NEW is rejected by the scheduler.
//   - with the running pods (`kubectl get pods -A -o json`), the affinity
//     groups the change would lazily preempt or take cells from. This runs the
//     extender's restart logic (hived.md 9): a scheduler built from OLD
//     recovers every live pod that has a bind-info annotation, in order of
//     its PodScheduled condition time (ties by namespace/name; pods without
//     the condition last), restoring persisted lazy-preemption marks; then a
//     scheduler built from NEW recovers the same pods in the same order with
//     the marks OLD holds, and FinishRecovery. A group is reported when it is
//     lazily preempted after but not before, or when leaves it holds under
//     OLD are not found under NEW. Completed pods (Succeeded/Failed) are
//     skipped, as the scheduler skips them.
// Without the pods the report says that running pods were not evaluated. A
// group with leaves on a removed node is told to be drained first (its pods
// die with the node); the groups the change leaves alone are listed too.
//   - each VC's promise per chain (guarantee headroom, headroom.h):
//     placeable/guaranteed cells per level under OLD and NEW, and whether it
//     is kept, at risk or broken -- on the recovered pods when they were
//     evaluated, else on an empty cluster; with --bad-nodes, those nodes are
//     bad on both sides (what the change does to a cluster with failures).
// Findings (marked "!!") are: chains in no VC, grown unassigned capacity,
// infeasible assignments, groups preempted or losing cells, and promises
// broken or at risk under NEW that were not (as badly) under OLD.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "apiary/cell/status.h"

namespace apiary::cli::openpai {

// A VC's quota in one configuration.
struct VcQuota {
  std::map<std::string, int64_t> leaves;  // leaf type -> leaf cells
  // (chain, level) -> (cell type, preassigned cells, pinned included)
  std::map<std::pair<std::string, int32_t>, std::pair<std::string, int64_t>> cells;
  bool operator==(const VcQuota& o) const { return leaves == o.leaves && cells == o.cells; }
};

struct VcChange {
  std::string vc;
  bool in_old = false;
  bool in_new = false;
  VcQuota before, after;
};

struct NodeChange {
  std::string node;
  std::string before;  // "chain C (N leaves)[, ...]"
  std::string after;
};

// Capacity of a chain of NEW that no VC owns.
struct UnassignedChain {
  std::string chain;
  std::string leaf_type;
  int64_t total_leaves = 0;
  int64_t unassigned_leaves = 0;
  int64_t unassigned_before = -1;  // -1: the chain is new
  bool no_vc = false;              // no VC has any cell in the chain
  std::vector<std::string> nodes;  // the chain's nodes
  bool finding = false;
};

// V27 failing at one chain and level.
struct Infeasible {
  std::string chain;
  int32_t level = 0;
  std::string cell_type;
  int64_t needed = 0;
  int64_t available = 0;
  std::string askers;  // "default 2, new 1"
  bool also_in_old = false;
};

struct GroupImpact {
  std::string group;
  std::string vc;
  int32_t priority = 0;
  int64_t pods = 0;
  std::string detail;
};

// One VC's promise in one chain (guarantee headroom,
// apiary/cell/headroom.h) under OLD and NEW.
struct GuaranteeChange {
  std::string vc;
  std::string chain;
  std::string before;  // "RACK 1/1, NODE 2/2, A100 8/8"; "" = not in OLD
  std::string after;   // "" = not in NEW
  std::string state_before, state_after;  // "kept", "at risk", "broken"; "" = absent
  bool finding = false;  // broken or at risk under NEW and not (as badly) under OLD
};

struct DiffReport {
  bool old_schedulable = true;  // the scheduler accepts OLD
  bool new_schedulable = true;
  std::vector<std::string> nodes_added;    // NEW configuration order
  std::vector<std::string> nodes_removed;  // OLD configuration order
  std::vector<NodeChange> nodes_changed;
  std::vector<VcChange> vcs;               // OLD order, then VCs only in NEW
  std::vector<UnassignedChain> unassigned;
  std::vector<Infeasible> infeasible;      // of NEW
  bool pods_given = false;
  bool pods_evaluated = false;
  std::string pods_note;                   // why not evaluated, or what was skipped
  int64_t pods_recovered = 0;
  int64_t groups_total = 0;
  std::vector<GroupImpact> preempted;      // lazily preempted after, not before
  std::vector<GroupImpact> lost;           // leaves (or pods) not found under NEW
  std::vector<std::string> unaffected;     // the other groups: "name (VC v)", by name
  // Each VC's promise per chain and level, OLD -> NEW, on the recovered
  // pods when they were evaluated (else on an empty cluster), with the
  // --bad-nodes marked bad on both sides. Empty when a side is refused.
  std::vector<GuaranteeChange> guarantees;
  std::string guarantees_note;  // what the numbers are computed on, or why not
  std::vector<std::string> warnings;       // pods that could not be read or recovered
  int64_t findings = 0;
  std::string text;                        // the printed report
};

// The diff of two configuration texts (`*_name` name them in messages) and,
// when `pods_json` is set, the impact on those running pods. Fails
// (kInvalidArgument) when a file cannot be read as a configuration at all
// (any error other than an infeasible VC assignment), or pods_json is not a
// pod list; the message names the file and field.
cell::Result<DiffReport> DiffConfigs(std::string_view old_text, const std::string& old_name,
                                     std::string_view new_text, const std::string& new_name,
                                     const std::optional<std::string>& pods_json,
                                     const std::string& pods_name,
                                     const std::vector<std::string>& bad_nodes = {});

struct DiffOptions {
  std::string old_path;
  std::string new_path;
  std::string pods_path;  // "" = none
  std::vector<std::string> bad_nodes;  // marked bad on both sides for the guarantees
  bool fail_on_findings = false;
};

// The subcommand: prints the report; 0 (or 1 with fail_on_findings and at
// least one finding), 2 on bad input.
int RunDiff(const DiffOptions& options, std::ostream& out, std::ostream& err);

}  // namespace apiary::cli::openpai
