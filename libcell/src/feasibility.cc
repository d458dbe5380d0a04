#include "apiary/cell/feasibility.h"

#include <algorithm>
#include <map>

namespace apiary::cell {

namespace {

std::string Gpus(int64_t n) { return std::to_string(n) + (n == 1 ? " GPU" : " GPUs"); }

}  // namespace

FeasibilityIndex FeasibilityIndex::Build(const Config& config, const DerivedConfig& derived) {
  FeasibilityIndex f;
  for (const DerivedChain& c : derived.chains) {
    Chain ch;
    ch.name = c.name;
    ch.leaf_type = c.leaf_cell_type;
    ch.node_leaves = c.level_leaf_cell_numbers[c.node_level - 1];
    ch.total_leaves = c.level_leaf_cell_numbers[c.top_level - 1] * c.level_cell_counts[c.top_level - 1];
    f.chains_.push_back(std::move(ch));
  }
  // Pinned cells: chain and leaves of each, by id.
  std::map<std::string, std::pair<int32_t, int64_t>, std::less<>> pinned;
  bool any_pinned = false;
  for (const VirtualClusterSpec& vc : config.virtual_clusters) any_pinned |= !vc.pinned_cell_ids.empty();
  if (any_pinned) {
    ForEachPhysicalCell(config, derived, [&](const PhysicalCellVisit& v) {
      if (!v.pinned_cell_id.empty())
        pinned[std::string(v.pinned_cell_id)] = {v.chain, derived.cell_types[v.cell_type].leaf_cell_number};
    });
  }
  for (const VirtualClusterSpec& spec : config.virtual_clusters) {
    Vc vc;
    vc.name = spec.name;
    std::map<int32_t, Quota> by_chain;
    for (const VirtualCellSpec& cell : spec.virtual_cells) {
      // "CHAIN.TYPE...": the chain, then the quota's cell type last.
      const std::string& t = cell.cell_type;
      const std::string chain_name = t.substr(0, t.find('.'));
      const std::string type_name = t.substr(t.rfind('.') + 1);
      const int32_t chain = derived.FindChain(chain_name);
      const DerivedCellType* type = derived.FindCellType(type_name);
      if (chain < 0 || type == nullptr) continue;  // validated configs only
      Quota& q = by_chain[chain];
      q.chain = chain;
      q.leaves += cell.cell_number * type->leaf_cell_number;
      if (cell.cell_number > 0) q.largest_cell = std::max(q.largest_cell, type->leaf_cell_number);
    }
    for (auto& [chain, q] : by_chain) vc.quotas.push_back(q);
    for (const std::string& id : spec.pinned_cell_ids) {
      auto it = pinned.find(id);
      if (it == pinned.end()) continue;
      Quota q;
      q.chain = it->second.first;
      q.leaves = it->second.second;
      q.largest_cell = it->second.second;
      q.pinned_id = id;
      vc.quotas.push_back(q);
    }
    f.vcs_.push_back(std::move(vc));
  }
  return f;
}

int64_t FeasibilityIndex::PodLimit(const Quota& q) const {
  return std::min(chains_[q.chain].node_leaves, q.largest_cell);
}

bool FeasibilityIndex::ChainMatches(int32_t chain, const PodSchedulingSpec& spec) const {
  return spec.leaf_cell_type.empty() || chains_[chain].leaf_type == spec.leaf_cell_type;
}

FeasibilityIndex::Needs FeasibilityIndex::NeedsOf(const PodSchedulingSpec& spec) {
  Needs n;
  for (const auto& m : spec.affinity_group_members) {
    n.max_pod = std::max<int64_t>(n.max_pod, m.leaf_cell_number);
    n.total += int64_t{m.pod_number} * m.leaf_cell_number;
  }
  return n;
}

bool FeasibilityIndex::FitsInVc(const Vc& vc, const PodSchedulingSpec& spec,
                                const Needs& needs) const {
  for (const Quota& q : vc.quotas) {
    if (!q.pinned_id.empty() || !ChainMatches(q.chain, spec)) continue;
    if (needs.max_pod <= PodLimit(q) && needs.total <= q.leaves) return true;
  }
  return false;
}

std::string FeasibilityIndex::NeverFits(const PodSchedulingSpec& spec) const {
  const Needs needs = NeedsOf(spec);
  const int64_t max_pod = needs.max_pod, total = needs.total;
  if (max_pod <= 0) return "";
  const std::string lead = "can never fit under the current configuration: ";
  const std::string type = spec.leaf_cell_type.empty() ? "" : " of type " + spec.leaf_cell_type;

  if (spec.priority < kMinGuaranteedPriority) {
    // Opportunistic: any chain of the leaf type, any node.
    int64_t best_pod = 0, best_total = 0;
    bool any = false;
    for (int32_t c = 0; c < static_cast<int32_t>(chains_.size()); ++c) {
      if (!ChainMatches(c, spec)) continue;
      any = true;
      if (max_pod <= chains_[c].node_leaves && total <= chains_[c].total_leaves) return "";
      best_pod = std::max(best_pod, chains_[c].node_leaves);
      if (max_pod <= chains_[c].node_leaves) best_total = std::max(best_total, chains_[c].total_leaves);
    }
    if (!any) return "";
    if (max_pod > best_pod)
      return lead + Gpus(max_pod) + " per pod and the largest node" + type + " has " +
             std::to_string(best_pod) + " (fits with " + Gpus(best_pod) + " per pod)";
    return lead + "the group needs " + Gpus(total) + " and the largest chain" + type +
           " that holds its pods has " + std::to_string(best_total) + " (fits with at most " +
           Gpus(best_total) + " in the group)";
  }

  const Vc* vc = nullptr;
  for (const Vc& v : vcs_)
    if (v.name == spec.virtual_cluster) vc = &v;
  if (vc == nullptr) return "";
  // The VC's quotas the group may use: its pinned cell, or its other cells
  // in chains of the leaf type.
  std::vector<const Quota*> usable;
  for (const Quota& q : vc->quotas) {
    if (spec.pinned_cell_id.empty() ? q.pinned_id.empty() && ChainMatches(q.chain, spec)
                                    : q.pinned_id == spec.pinned_cell_id)
      usable.push_back(&q);
  }
  if (usable.empty()) return "";
  int64_t best_pod = 0;
  const Quota* best = nullptr;  // the largest quota where the pods fit
  for (const Quota* q : usable) {
    if (max_pod <= PodLimit(*q) && total <= q->leaves) return "";
    best_pod = std::max(best_pod, PodLimit(*q));
    if (max_pod <= PodLimit(*q) && (best == nullptr || q->leaves > best->leaves)) best = q;
  }
  const std::string where = spec.pinned_cell_id.empty()
                                ? "VC " + vc->name
                                : "pinned cell " + spec.pinned_cell_id + " of VC " + vc->name;
  // Other VCs that would take the group as it is (not for pinned cells).
  std::string elsewhere;
  if (spec.pinned_cell_id.empty()) {
    for (const Vc& other : vcs_) {
      if (&other == vc || !FitsInVc(other, spec, needs)) continue;
      elsewhere += elsewhere.empty() ? "fits in VC " + other.name : ", VC " + other.name;
    }
  }
  if (best == nullptr) {
    std::string why = lead + Gpus(max_pod) + " per pod and the largest node" + type + " " + where +
                      " can use holds " + std::to_string(best_pod) + " (fits with " +
                      Gpus(best_pod) + " per pod";
    return why + (elsewhere.empty() ? "" : "; " + elsewhere) + ")";
  }
  std::string why = lead + "the group needs " + Gpus(total) + " and " + where + "'s quota" + type +
                    " is " + std::to_string(best->leaves) + " in chain " +
                    chains_[best->chain].name + " (";
  why += elsewhere.empty() ? "fits with at most " + Gpus(best->leaves) + " in the group"
                           : elsewhere;
  return why + ")";
}

}  // namespace apiary::cell
