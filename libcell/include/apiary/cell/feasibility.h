// Whether a pod's group can ever be placed under a configuration, whatever
// the cluster's state: the "can never fit" half of a wait reason.
//
// HiveD answers a request that no state of the cluster could satisfy (nine
// GPUs per pod on 8-GPU nodes, a gang larger than its VC's whole quota) with
// the same "insufficient capacity" wait as a temporary shortage, and the pod
// waits forever. The outcome stays a wait here too (a reconfiguration can
// make it fit), but Scheduler::Schedule appends the reason this index finds,
// so the user learns to change the spec.
//
// Only necessary conditions are checked, so "never" is never wrong: a pod
// needs all its leaves in one node (and, when guaranteed, in one cell of its
// VC at or below node level); a group lives in one chain; a guaranteed group
// uses at most its VC's quota there (the pinned cell's, with pinnedCellId);
// an opportunistic one at most the chain. Thread-compatible, immutable after
// Build.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "apiary/cell/config.h"
#include "apiary/cell/config_derived.h"
#include "apiary/cell/pod_spec.h"

namespace apiary::cell {

class FeasibilityIndex {
 public:
  // `derived` must come from DeriveConfig(config). O(VC cells), plus one
  // walk of the physical cells when some VC has pinned cells.
  static FeasibilityIndex Build(const Config& config, const DerivedConfig& derived);

  // "" when the group could fit in some state of the cluster; otherwise
  // "can never fit under the current configuration: <why>", naming counts,
  // the VC and the chain, and the nearest change that fits ("fits with 8
  // GPUs per pod", "fits in VC x"). Specs the scheduler rejects as errors
  // (unknown VC, missing leaf type) give "".
  std::string NeverFits(const PodSchedulingSpec& spec) const;

 private:
  struct Chain {
    std::string name;
    std::string leaf_type;
    int64_t node_leaves = 0;   // leaves of one node-level cell
    int64_t total_leaves = 0;  // the whole chain
  };
  struct Quota {           // one VC in one chain (or one pinned cell)
    int32_t chain = 0;
    int64_t leaves = 0;        // all of the VC's cells there
    int64_t largest_cell = 0;  // leaves of its largest cell
    std::string pinned_id;     // set for a pinned cell's own entry
  };
  struct Vc {
    std::string name;
    std::vector<Quota> quotas;  // non-pinned per chain, then each pinned cell
  };

  struct Needs {
    int64_t max_pod = 0;  // leaves of the group's largest pod
    int64_t total = 0;    // leaves of the whole group
  };
  static Needs NeedsOf(const PodSchedulingSpec& spec);

  // The most leaves one pod can get in `q`'s chain: a node, or less when the
  // VC's cells there are all below node level.
  int64_t PodLimit(const Quota& q) const;
  // True when a group of `spec`'s leaf type with these needs fits in
  // `vc`'s non-pinned quota somewhere.
  bool FitsInVc(const Vc& vc, const PodSchedulingSpec& spec, const Needs& needs) const;
  bool ChainMatches(int32_t chain, const PodSchedulingSpec& spec) const;

  std::vector<Chain> chains_;
  std::vector<Vc> vcs_;
};

}  // namespace apiary::cell
