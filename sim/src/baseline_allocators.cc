// The two baselines HiveD is compared with (allocator.h): static
// partitioning and quota-only first-fit sharing. Both count GPUs per node and
// ignore topology inside a node, as the schedulers they stand for do; with
// the placement model on (AllocatorContext::topology_blind) they ignore node
// boundaries too.
#include <algorithm>
#include <utility>

#include "allocator_impls.h"

namespace apiary::sim::internal {
namespace {

int64_t PodsPerNode(int32_t gpn, int32_t gpp) { return gpp <= 0 || gpp > gpn ? 0 : gpn / gpp; }

// One pod placement: a slot of some first-fit tree and its GPUs.
struct Take {
  int32_t tree = 0;
  int32_t slot = 0;
  int32_t gpus = 0;
};

// First-fit of `pods` pods of `gpp` GPUs into `tree`, committing on success;
// on failure nothing changes. Appends the takes to `out`.
bool FirstFit(FirstFitTree& tree, int32_t tree_id, int32_t pods, int32_t gpp,
              std::vector<Take>& out) {
  const size_t mark = out.size();
  for (int32_t p = 0; p < pods; ++p) {
    int64_t slot = tree.FindFirst(gpp);
    if (slot < 0) {
      for (size_t k = out.size(); k > mark; --k) tree.Add(out[k - 1].slot, out[k - 1].gpus);
      out.resize(mark);
      return false;
    }
    tree.Add(static_cast<size_t>(slot), -gpp);
    out.push_back({tree_id, static_cast<int32_t>(slot), gpp});
  }
  return true;
}

// The (pods, GPUs per pod) a baseline places: the job's own pods, or with
// topology_blind its GPUs one at a time (a job may then span nodes).
std::pair<int32_t, int32_t> Units(const AllocatorContext& ctx, const SimJob& j) {
  if (ctx.topology_blind) return {static_cast<int32_t>(j.gpus()), 1};
  return {j.num_pods, j.gpus_per_pod};
}

// The distinct nodes of a job's takes, in placement order; `node_of(take)`
// maps a take to its ClusterModel node index.
template <typename NodeOf>
std::vector<int32_t> NodesOf(const std::vector<Take>& takes, NodeOf node_of) {
  std::vector<int32_t> out;
  for (const Take& t : takes) {
    const int32_t n = node_of(t);
    if (std::find(out.begin(), out.end(), n) == out.end()) out.push_back(n);
  }
  return out;
}

// ---------------------------------------------------------------------------
// Static partitioning
// ---------------------------------------------------------------------------

class StaticAllocator : public Allocator {
 public:
  explicit StaticAllocator(const AllocatorContext& ctx)
      : ctx_(ctx), groups_per_model_(GroupsPerModel(ctx)) {
    const ClusterModel& c = *ctx.cluster;
    const size_t nv = c.vcs.size(), ng = c.groups.size();
    trees_.resize(nv * ng);
    capacity_.resize(nv * ng);
    slice_node_.resize(nv * ng);
    vc_free_.assign(nv, 0);
    // Each group's GPUs are dealt out VC by VC in configuration order: whole
    // nodes while the quota allows, then the rest of a node to the next VC.
    for (size_t g = 0; g < ng; ++g) {
      const NodeGroup& grp = c.groups[g];
      size_t node = 0;
      int32_t left_on_node = grp.gpus_per_node;
      for (size_t v = 0; v < nv; ++v) {
        int64_t need = c.vc_group_gpus[v][g];
        std::vector<int32_t>& cap = capacity_[v * ng + g];
        std::vector<int32_t>& slice_node = slice_node_[v * ng + g];
        while (need > 0 && node < grp.nodes.size()) {
          int32_t take = static_cast<int32_t>(std::min<int64_t>(need, left_on_node));
          cap.push_back(take);
          slice_node.push_back(grp.nodes[node]);
          need -= take;
          left_on_node -= take;
          if (left_on_node == 0) {
            ++node;
            left_on_node = grp.gpus_per_node;
          }
        }
        trees_[v * ng + g].Init(cap);
        for (int32_t x : cap) vc_free_[v] += x;
      }
    }
    // GPUs no VC owns stay idle, but they are free GPUs all the same.
    free_ = c.TotalGpus();
    placed_.resize(ctx.workload->jobs.size());
  }

  PolicyKind kind() const override { return PolicyKind::kStatic; }

  bool CanEverFit(int32_t job, std::string* why) const override {
    const SimJob& j = ctx_.workload->jobs[job];
    const auto* groups =
        FitGroups(ctx_, groups_per_model_, j, /*need_vc=*/true, "VC without a partition", why);
    if (!groups) return false;
    const int32_t cvc = ctx_.vc_map[j.vc];
    const size_t ng = ctx_.cluster->groups.size();
    for (int32_t g : *groups) {
      int64_t pods = 0;
      for (int32_t cap : capacity_[cvc * ng + g]) pods += PodsPerNode(cap, j.gpus_per_pod);
      if (pods >= j.num_pods) return true;
    }
    *why = "larger than the VC's partition";
    return false;
  }

  int64_t Headroom(int32_t vc, int32_t) const override {
    const int32_t cvc = ctx_.vc_map[vc];
    return cvc < 0 ? 0 : vc_free_[cvc];
  }

  PlaceResult TryPlace(int32_t job, bool opportunistic) override {
    const SimJob& j = ctx_.workload->jobs[job];
    const int32_t cvc = ctx_.vc_map[j.vc];
    const size_t ng = ctx_.cluster->groups.size();
    PlaceResult out;
    if (opportunistic) return out;  // a partition is never lent
    const auto [units, per_unit] = Units(ctx_, j);
    for (int32_t g : groups_per_model_[j.model + 1]) {
      const int32_t t = static_cast<int32_t>(cvc * ng + g);
      if (FirstFit(trees_[t], t, units, per_unit, placed_[job])) {
        out.kind = PlaceResult::Kind::kPlaced;
        out.sku = ctx_.cluster->groups[g].sku;
        out.nodes = NodesOf(placed_[job], [&](const Take& k) { return slice_node_[t][k.slot]; });
        vc_free_[cvc] -= j.gpus();
        free_ -= j.gpus();
        return out;
      }
    }
    out.kind = PlaceResult::Kind::kWait;
    return out;
  }

  void Release(int32_t job) override {
    const SimJob& j = ctx_.workload->jobs[job];
    for (const Take& t : placed_[job]) trees_[t.tree].Add(t.slot, t.gpus);
    placed_[job].clear();
    vc_free_[ctx_.vc_map[j.vc]] += j.gpus();
    free_ += j.gpus();
  }

  int64_t FreeGpus() const override { return free_; }

 private:
  const AllocatorContext& ctx_;
  std::vector<std::vector<int32_t>> groups_per_model_;
  std::vector<FirstFitTree> trees_;              // [vc * groups + group]
  std::vector<std::vector<int32_t>> capacity_;   // same index: GPUs per slice
  std::vector<std::vector<int32_t>> slice_node_;  // same index: node per slice
  std::vector<int64_t> vc_free_;
  std::vector<std::vector<Take>> placed_;        // [job]
  int64_t free_ = 0;
};

// ---------------------------------------------------------------------------
// Quota-only sharing, first-fit
// ---------------------------------------------------------------------------

class QuotaAllocator : public Allocator {
 public:
  explicit QuotaAllocator(const AllocatorContext& ctx)
      : ctx_(ctx), groups_per_model_(GroupsPerModel(ctx)) {
    const ClusterModel& c = *ctx.cluster;
    const size_t ng = c.groups.size();
    free_tree_.resize(ng);
    reclaim_tree_.resize(ng);
    for (size_t g = 0; g < ng; ++g) {
      std::vector<int32_t> cap;
      for (int32_t n : c.groups[g].nodes) cap.push_back(c.nodes[n].gpus);
      free_tree_[g].Init(cap);
      reclaim_tree_[g].Init(cap);
      opp_jobs_.emplace_back(cap.size());
    }
    vc_used_.assign(c.vcs.size(), std::vector<int64_t>(ng, 0));
    for (size_t v = 0; v < c.vcs.size(); ++v) vc_quota_.push_back(c.VcGpus(static_cast<int32_t>(v)));
    vc_used_total_.assign(c.vcs.size(), 0);
    free_ = c.TotalGpus();
    placed_.resize(ctx.workload->jobs.size());
    placed_group_.assign(ctx.workload->jobs.size(), -1);
    placed_opp_.assign(ctx.workload->jobs.size(), 0);
  }

  PolicyKind kind() const override { return PolicyKind::kQuota; }

  bool CanEverFit(int32_t job, std::string* why) const override {
    const SimJob& j = ctx_.workload->jobs[job];
    const ClusterModel& c = *ctx_.cluster;
    const auto* groups = FitGroups(ctx_, groups_per_model_, j,
                                   ctx_.unknown_vc == UnknownVc::kReject, "VC without a quota", why);
    if (!groups) return false;
    const int32_t cvc = ctx_.vc_map[j.vc];
    const bool guaranteed = cvc >= 0 && j.priority >= 0;
    for (int32_t g : *groups) {
      const NodeGroup& grp = c.groups[g];
      int64_t pods = static_cast<int64_t>(grp.nodes.size()) *
                     PodsPerNode(grp.gpus_per_node, j.gpus_per_pod);
      if (pods >= j.num_pods && (!guaranteed || c.vc_group_gpus[cvc][g] >= j.gpus()))
        return true;
    }
    *why = guaranteed ? "larger than the VC's quota" : "larger than the cluster";
    return false;
  }

  int64_t Headroom(int32_t vc, int32_t priority) const override {
    const int32_t cvc = ctx_.vc_map[vc];
    if (cvc >= 0 && priority >= 0) return vc_quota_[cvc] - vc_used_total_[cvc];
    return free_;
  }

  bool SupportsBorrowing() const override { return true; }

  PlaceResult TryPlace(int32_t job, bool opportunistic) override {
    const SimJob& j = ctx_.workload->jobs[job];
    const ClusterModel& c = *ctx_.cluster;
    const int32_t cvc = ctx_.vc_map[j.vc];
    const bool guaranteed = !opportunistic && cvc >= 0 && ctx_.EffectivePriority(j) >= 0;
    PlaceResult out;
    out.kind = PlaceResult::Kind::kWait;
    const auto [units, per_unit] = Units(ctx_, j);
    for (int32_t g : groups_per_model_[j.model + 1]) {
      if (guaranteed && vc_used_[cvc][g] + j.gpus() > c.vc_group_gpus[cvc][g]) continue;
      std::vector<Take>& takes = placed_[job];
      if (FirstFit(free_tree_[g], g, units, per_unit, takes)) {
        // Opportunistic GPUs stay reclaimable by guaranteed jobs.
        if (guaranteed)
          for (const Take& t : takes) reclaim_tree_[g].Add(t.slot, -t.gpus);
        placed_group_[job] = g;
        placed_opp_[job] = !guaranteed;
        if (guaranteed) {
          vc_used_[cvc][g] += j.gpus();
          vc_used_total_[cvc] += j.gpus();
        } else {
          for (const Take& t : takes) opp_jobs_[g][t.slot].push_back(job);
        }
        free_ -= j.gpus();
        out.kind = PlaceResult::Kind::kPlaced;
        out.sku = c.groups[g].sku;
        out.nodes = NodesOf(takes, [&](const Take& k) { return c.groups[g].nodes[k.slot]; });
        return out;
      }
      if (!guaranteed) continue;
      // Within quota but no room: would killing opportunistic jobs make room?
      // Plan on free + opportunistic GPUs, then pick the victims on the
      // chosen nodes, newest job first.
      std::vector<Take> plan;
      if (!FirstFit(reclaim_tree_[g], g, units, per_unit, plan)) continue;
      for (const Take& t : plan) reclaim_tree_[g].Add(t.slot, t.gpus);  // undo the plan
      std::vector<std::pair<int32_t, int32_t>> need;  // slot -> GPUs
      for (const Take& t : plan) {
        if (!need.empty() && need.back().first == t.slot) need.back().second += t.gpus;
        else need.emplace_back(t.slot, t.gpus);
      }
      for (const auto& [slot, gpus] : need) {
        int32_t have = free_tree_[g].Get(slot);
        const auto& jobs = opp_jobs_[g][slot];
        for (size_t k = jobs.size(); k > 0 && have < gpus; --k) {
          int32_t victim = jobs[k - 1];
          if (std::find(out.victims.begin(), out.victims.end(), victim) != out.victims.end())
            continue;
          out.victims.push_back(victim);
          for (const Take& t : placed_[victim])
            if (t.slot == slot) have += t.gpus;
        }
      }
      std::sort(out.victims.begin(), out.victims.end());
      out.kind = PlaceResult::Kind::kPreempt;
      return out;
    }
    return out;
  }

  void Release(int32_t job) override {
    const SimJob& j = ctx_.workload->jobs[job];
    const int32_t g = placed_group_[job];
    for (const Take& t : placed_[job]) {
      free_tree_[g].Add(t.slot, t.gpus);
      if (!placed_opp_[job]) reclaim_tree_[g].Add(t.slot, t.gpus);
      if (placed_opp_[job]) {
        auto& v = opp_jobs_[g][t.slot];
        auto it = std::find(v.begin(), v.end(), job);
        if (it != v.end()) v.erase(it);
      }
    }
    if (!placed_opp_[job]) {
      const int32_t cvc = ctx_.vc_map[j.vc];
      vc_used_[cvc][g] -= j.gpus();
      vc_used_total_[cvc] -= j.gpus();
    }
    placed_[job].clear();
    placed_group_[job] = -1;
    free_ += j.gpus();
  }

  int64_t FreeGpus() const override { return free_; }

 private:
  const AllocatorContext& ctx_;
  std::vector<std::vector<int32_t>> groups_per_model_;
  std::vector<FirstFitTree> free_tree_;     // [group] free GPUs per node
  std::vector<FirstFitTree> reclaim_tree_;  // [group] free + opportunistic
  std::vector<std::vector<std::vector<int32_t>>> opp_jobs_;  // [group][node]
  std::vector<std::vector<int64_t>> vc_used_;  // [vc][group] guaranteed GPUs
  std::vector<int64_t> vc_quota_, vc_used_total_;
  std::vector<std::vector<Take>> placed_;
  std::vector<int32_t> placed_group_;
  std::vector<char> placed_opp_;
  int64_t free_ = 0;
};

}  // namespace

std::unique_ptr<Allocator> MakeStaticAllocator(const AllocatorContext& ctx) {
  return std::make_unique<StaticAllocator>(ctx);
}
std::unique_ptr<Allocator> MakeQuotaAllocator(const AllocatorContext& ctx) {
  return std::make_unique<QuotaAllocator>(ctx);
}

}  // namespace apiary::sim::internal
