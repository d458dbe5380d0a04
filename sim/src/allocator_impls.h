// Constructors of the three policies (allocator.h), one file each.
#pragma once

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "apiary/sim/allocator.h"

namespace apiary::sim::internal {

Result<std::unique_ptr<Allocator>> MakeHivedAllocator(const AllocatorContext& ctx);
std::unique_ptr<Allocator> MakeStaticAllocator(const AllocatorContext& ctx);
std::unique_ptr<Allocator> MakeQuotaAllocator(const AllocatorContext& ctx);

// Node groups a job may use, per workload model + 1 (entry 0: any GPU = all
// groups in configuration order; entry m + 1: the groups of model m's SKUs,
// in the model's preference order, then configuration order).
inline std::vector<std::vector<int32_t>> GroupsPerModel(const AllocatorContext& ctx) {
  std::vector<std::vector<int32_t>> out;
  const ClusterModel& c = *ctx.cluster;
  std::vector<int32_t> all;
  for (size_t g = 0; g < c.groups.size(); ++g) all.push_back(static_cast<int32_t>(g));
  out.push_back(all);
  for (const auto& skus : ctx.model_skus) {
    std::vector<int32_t> gs;
    for (int32_t s : skus)
      for (size_t g = 0; g < c.groups.size(); ++g)
        if (c.groups[g].sku == s) gs.push_back(static_cast<int32_t>(g));
    out.push_back(std::move(gs));
  }
  return out;
}

// The node groups job `j` may use (GroupsPerModel entry), or nullptr with
// the reason in `why`: its VC has no cluster VC and `need_vc` (then `no_vc`
// is the reason), or the cluster has none of its GPU model. The opening of
// every allocator's CanEverFit.
inline const std::vector<int32_t>* FitGroups(const AllocatorContext& ctx,
                                             const std::vector<std::vector<int32_t>>& per_model,
                                             const SimJob& j, bool need_vc, const char* no_vc,
                                             std::string* why) {
  if (need_vc && ctx.vc_map[j.vc] < 0) {
    *why = no_vc;
    return nullptr;
  }
  const auto& groups = per_model[j.model + 1];
  if (groups.empty()) {
    *why = "GPU model not in the cluster";
    return nullptr;
  }
  return &groups;
}

// A max segment tree over per-slot free GPU counts, answering "the first slot
// with at least k free" in O(log n): first-fit without a linear scan.
class FirstFitTree {
 public:
  void Init(const std::vector<int32_t>& values) {
    n_ = 1;
    while (n_ < values.size()) n_ *= 2;
    t_.assign(2 * n_, -1);
    for (size_t i = 0; i < values.size(); ++i) t_[n_ + i] = values[i];
    for (size_t i = n_ - 1; i >= 1; --i) t_[i] = std::max(t_[2 * i], t_[2 * i + 1]);
  }
  int32_t Get(size_t i) const { return t_[n_ + i]; }
  void Set(size_t i, int32_t v) {
    size_t x = n_ + i;
    t_[x] = v;
    for (x /= 2; x >= 1; x /= 2) t_[x] = std::max(t_[2 * x], t_[2 * x + 1]);
  }
  void Add(size_t i, int32_t d) { Set(i, Get(i) + d); }
  // The first slot whose value is >= k, or -1.
  int64_t FindFirst(int32_t k) const {
    if (t_.empty() || t_[1] < k) return -1;
    size_t x = 1;
    while (x < n_) x = t_[2 * x] >= k ? 2 * x : 2 * x + 1;
    return static_cast<int64_t>(x - n_);
  }

 private:
  size_t n_ = 0;
  std::vector<int32_t> t_;
};

}  // namespace apiary::sim::internal
