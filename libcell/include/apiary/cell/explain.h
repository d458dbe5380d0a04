// Why a pod waits or preempts: the structured explanation a Schedule call
// produces when the caller asks for it (Scheduler::Schedule with
// `explain`, or Scheduler::Explain on the current state). Plain data; the
// engine fills it without I/O, and only when asked: a call that does not ask
// pays nothing. See docs/explain.md for how to read it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace apiary::cell {

// How many cells of one type (one level of a chain).
struct ExplainCellCount {
  std::string cell_type;
  int32_t level = 0;  // 1 = leaf
  int32_t count = 0;
};

// A group that holds cells (the VC's quota users, or the pods on physical
// cells the request would need).
struct ExplainHolder {
  std::string group;
  std::string vc;
  int32_t priority = 0;  // -1: opportunistic
  int32_t leaves = 0;    // leaves it holds in the chain
};

// One leaf type and chain that was tried, and the rule that stopped it.
struct ExplainChain {
  // The rules, in the order they are checked; see docs/explain.md.
  static constexpr const char* kQuotaUsedUp = "quota-used-up";
  static constexpr const char* kFragmented = "fragmented";
  static constexpr const char* kDoomed = "doomed";
  static constexpr const char* kNotSuggested = "not-suggested";
  static constexpr const char* kHeldByOpportunistic = "held-by-opportunistic";
  static constexpr const char* kHeldByGuaranteed = "held-by-guaranteed";
  static constexpr const char* kBadNodes = "bad-nodes";
  static constexpr const char* kMapping = "mapping";
  static constexpr const char* kFits = "fits";  // this chain gave the placement

  std::string leaf_cell_type;
  std::string chain;
  // "VC a", "VC a pinned cell p" (guaranteed), or "physical cluster"
  // (opportunistic).
  std::string scope;
  int32_t priority = 0;  // the request's
  // The group's pods as cells: per pod, the smallest cell of the chain that
  // holds its leaves, counted by type.
  std::vector<ExplainCellCount> needed;
  int32_t needed_leaves = 0;
  // Guaranteed: the VC's free virtual cells in the chain, each counted once
  // at the largest free cell that holds it (a free 8-GPU node is one node,
  // not 8 GPUs); opportunistic: the free physical cells, the same way.
  std::vector<ExplainCellCount> free;
  int32_t free_leaves = 0;         // healthy, unused
  int32_t preemptible_leaves = 0;  // used by lower-priority groups of the scope
  int32_t doomed_leaves = 0;       // free but on bad nodes
  std::string rule;
  std::string message;  // one sentence naming the VC, cell types and counts
  // quota-used-up: the VC's groups holding the quota (most leaves first);
  // held-by-*: the groups holding the cells (opportunistic and guaranteed).
  std::vector<ExplainHolder> holders;
  // fragmented: the free pieces ("address (n free of m)"); doomed,
  // bad-nodes: the bad nodes; mapping: the engine's mapping reason.
  std::vector<std::string> cells;
};

// One group a preemption evicts, and why it, and not another.
struct ExplainVictim {
  std::string group;
  std::string vc;
  int32_t priority = 0;
  std::vector<std::string> pods;  // namespace/name, sorted
  int32_t leaves = 0;             // its leaves on the preemptor's placement
  std::string why;
};

struct Explanation {
  std::string outcome;  // "wait" or "preempt"
  // One short actionable line (what kube-scheduler's FailedScheduling event
  // could say): the rule that stopped the last chain tried, and the nearest
  // change that fits when one is known.
  std::string summary;
  std::vector<ExplainChain> chains;  // in the order tried
  // "can never fit under the current configuration: <why> (<nearest
  // change>)", or "" (feasibility.h).
  std::string never_fits;
  // The nearest change that would fit now ("fits in VC b", "fits with 4
  // GPUs per pod"), or "".
  std::string suggestion;
  // preempt: why these victims.
  std::string victims_rule;
  std::vector<ExplainVictim> victims;  // by group name
};

// A human-readable multi-line rendering (apiary explain).
std::string FormatExplanation(const Explanation& e);

}  // namespace apiary::cell
