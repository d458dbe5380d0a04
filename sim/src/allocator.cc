#include "apiary/sim/allocator.h"

#include <algorithm>

#include "allocator_impls.h"

namespace apiary::sim {

Result<PolicyKind> ParsePolicy(std::string_view name) {
  if (name == "hived") return PolicyKind::kHived;
  if (name == "static") return PolicyKind::kStatic;
  if (name == "quota") return PolicyKind::kQuota;
  return Status::Invalid("unknown policy \"" + std::string(name) +
                         "\" (expected hived, static or quota)");
}

std::string_view PolicyName(PolicyKind kind) {
  switch (kind) {
    case PolicyKind::kHived: return "hived";
    case PolicyKind::kStatic: return "static";
    case PolicyKind::kQuota: return "quota";
  }
  return "?";
}

AllocatorContext MakeAllocatorContext(const ClusterModel& cluster, const Workload& workload,
                                      UnknownVc unknown_vc) {
  AllocatorContext ctx;
  ctx.cluster = &cluster;
  ctx.workload = &workload;
  ctx.unknown_vc = unknown_vc;
  for (const std::string& vc : workload.vcs) ctx.vc_map.push_back(cluster.FindVc(vc));
  for (const auto& alternatives : workload.models) {
    std::vector<int32_t> skus;
    for (const std::string& m : alternatives)
      for (size_t s = 0; s < cluster.skus.size(); ++s)
        if ((cluster.skus[s].name == m || cluster.skus[s].leaf_type == m) &&
            std::find(skus.begin(), skus.end(), static_cast<int32_t>(s)) == skus.end())
          skus.push_back(static_cast<int32_t>(s));
    ctx.model_skus.push_back(std::move(skus));
  }
  return ctx;
}

Result<std::unique_ptr<Allocator>> MakeAllocator(PolicyKind kind, const AllocatorContext& ctx) {
  switch (kind) {
    case PolicyKind::kHived: return internal::MakeHivedAllocator(ctx);
    case PolicyKind::kStatic: return internal::MakeStaticAllocator(ctx);
    case PolicyKind::kQuota: return internal::MakeQuotaAllocator(ctx);
  }
  return Status::Invalid("unknown policy");
}

}  // namespace apiary::sim
