#include "apiary/sim/scenario.h"

#include <algorithm>
#include <map>

#include "apiary/cell/config_loader.h"
#include "apiary/traces/gpu_sku.h"
#include "apiary/traces/readers.h"
#include "apiary/traces/vc_quota.h"

namespace apiary::sim {
namespace {

int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

}  // namespace

std::vector<QuotaSpec> DeriveQuotas(const Workload& workload, int64_t units, int64_t unit_gpus,
                                    const std::string& sku) {
  traces::Trace t;
  t.jobs.reserve(workload.jobs.size());
  for (const SimJob& j : workload.jobs) {
    traces::Job tj;
    tj.vc = workload.vcs[j.vc];
    tj.duration_s = j.duration_s;
    tj.num_pods = j.num_pods;
    tj.gpus_per_pod = j.gpus_per_pod;
    t.jobs.push_back(std::move(tj));
  }
  traces::VcQuotas q =
      traces::DeriveVcQuotas(t, units, static_cast<int32_t>(std::max<int64_t>(unit_gpus, 1)));
  std::vector<QuotaSpec> out;
  for (const traces::VcQuota& v : q.vcs) out.push_back({v.vc, sku, v.nodes});
  return out;
}

Result<Scenario> LoadScenario(const ScenarioOptions& o) {
  Scenario sc;
  // ---- Trace ----
  if (o.trace_paths.empty()) return Status::Invalid("no trace given (--trace FILE)");
  auto format = traces::ParseTraceFormat(o.trace_format);
  if (!format.ok()) return Status::Invalid("--trace-format: " + format.status().message());
  traces::ReadOptions ro;
  ro.skip_bad_rows = o.skip_bad_rows;
  ro.reference_sku = o.reference_sku;
  auto trace = traces::ReadTrace(*format, o.trace_paths, ro);
  if (!trace.ok()) return Status::Invalid(trace.status().message());
  sc.workload = MakeWorkload(*trace, o.workload);
  if (sc.workload.jobs.empty())
    return Status::Invalid(o.trace_paths[0] + ": no job left to simulate (" +
                           std::to_string(trace->jobs.size()) + " in the trace)");
  sc.trace_description = o.trace_paths[0] + " (" + o.trace_format + "): " +
                         std::to_string(sc.workload.jobs.size()) + " of " +
                         std::to_string(trace->jobs.size()) + " jobs, " +
                         std::to_string(sc.workload.vcs.size()) + " VCs, reference SKU " +
                         (sc.workload.reference_sku.empty() ? "none"
                                                            : sc.workload.reference_sku);
  if (o.workload.load_factor != 1.0)
    sc.notes.push_back("submit times divided by " + std::to_string(o.workload.load_factor) +
                       " (--load-factor): a heavier load than the trace's");
  for (const auto& [why, n] : sc.workload.dropped)
    sc.notes.push_back(std::to_string(n) + " trace jobs left out: " + why);
  if (trace->stats.skipped > 0)
    sc.notes.push_back(std::to_string(trace->stats.skipped) + " malformed trace rows skipped");

  if (o.workload_only) {
    if (o.gpus_per_node <= 0)
      return Status::Invalid("--gpus-per-node must be positive, got " +
                             std::to_string(o.gpus_per_node));
    std::string sku = o.sku;
    if (sku.empty()) sku = sc.workload.reference_sku.empty() ? "V100" : sc.workload.reference_sku;
    sc.node_sku = traces::CanonicalGpuModel(sku);
    sc.node_gpus = o.gpus_per_node;
    return sc;
  }

  // ---- Cluster from a HiveD config ----
  if (!o.hived_config.empty()) {
    if (!o.inventory_path.empty() || o.nodes > 0 || !o.vc_quotas_path.empty())
      return Status::Invalid(
          "--hived-config describes the whole cluster: do not combine it with --inventory, "
          "--nodes or --vc-quotas");
    auto loaded = cell::LoadConfigFile(o.hived_config);
    if (!loaded.ok()) return Status::Invalid(loaded.status().message());
    auto c = ClusterFromHivedConfig(loaded->config, sc.workload.reference_sku);
    if (!c.ok()) return Status::Invalid(o.hived_config + ": " + c.status().message());
    sc.cluster = std::move(c).value();
    sc.cluster_description = o.hived_config + ": " + sc.cluster.Describe();
    return sc;
  }

  // ---- Nodes ----
  std::vector<NodeSpec> nodes;
  std::vector<traces::VcQuota> file_quotas;
  if (!o.vc_quotas_path.empty()) {
    auto q = traces::ReadVcQuotas(o.vc_quotas_path, ro);
    if (!q.ok()) return Status::Invalid(q.status().message());
    file_quotas = q->vcs;
  }
  if (!o.inventory_path.empty()) {
    if (o.nodes > 0)
      return Status::Invalid("give either --inventory or --nodes, not both");
    auto f = traces::ParseInventoryFormat(o.inventory_format);
    if (!f.ok()) return Status::Invalid("--inventory-format: " + f.status().message());
    auto inv = traces::ReadInventory(*f, o.inventory_path, ro);
    if (!inv.ok()) return Status::Invalid(inv.status().message());
    int64_t cpu_only = 0;
    for (const traces::NodeInventory& n : inv->nodes) {
      if (n.gpu_count <= 0 || n.sku.empty()) {
        ++cpu_only;
        continue;
      }
      nodes.push_back({n.hostname, n.sku, n.gpu_count});
    }
    if (cpu_only) sc.notes.push_back(std::to_string(cpu_only) + " CPU-only nodes left out");
    if (nodes.empty())
      return Status::Invalid(o.inventory_path + ": the inventory has no GPU node");
  } else {
    if (o.gpus_per_node <= 0)
      return Status::Invalid("--gpus-per-node must be positive, got " +
                             std::to_string(o.gpus_per_node));
    std::string sku = o.sku;
    if (sku.empty()) sku = sc.workload.reference_sku.empty() ? "V100" : sc.workload.reference_sku;
    sku = traces::CanonicalGpuModel(sku);
    int64_t count = o.nodes;
    if (count <= 0) {
      for (const traces::VcQuota& q : file_quotas) {
        if (q.nodes != traces::kQuotaNotGiven) count += q.nodes;
        else if (q.gpus != traces::kQuotaNotGiven) count += CeilDiv(q.gpus, o.gpus_per_node);
      }
    }
    if (count <= 0)
      return Status::Invalid(
          "no cluster: give --nodes N (generated nodes), --inventory FILE, --hived-config "
          "FILE, or --vc-quotas FILE (one node per quota node)");
    nodes = GenerateNodes(count, sku, o.gpus_per_node);
    sc.node_sku = sku;
    sc.node_gpus = o.gpus_per_node;
  }

  // ---- Quotas ----
  // The node size and rack size of each SKU (its first node's), to convert
  // quotas given in nodes or GPUs into cells of the quota level.
  std::map<std::string, int32_t> node_gpus, node_count;
  std::string first_sku = nodes.front().sku;
  for (const NodeSpec& n : nodes) {
    node_gpus.emplace(n.sku, n.gpus);
    ++node_count[n.sku];
  }
  auto unit_gpus_of = [&](const std::string& sku) -> int64_t {
    int32_t gpn = node_gpus.count(sku) ? node_gpus[sku] : node_gpus[first_sku];
    switch (o.cluster.quota_level) {
      case QuotaLevel::kGpu: return 1;
      case QuotaLevel::kNode: return gpn;
      case QuotaLevel::kRack: return int64_t{gpn} * o.cluster.rack_nodes;
    }
    return gpn;
  };
  if (!file_quotas.empty()) {
    for (const traces::VcQuota& q : file_quotas) {
      std::string sku = q.gpu_model.empty() ? "" : traces::CanonicalGpuModel(q.gpu_model);
      const int64_t unit = unit_gpus_of(sku.empty() ? first_sku : sku);
      const int64_t gpn = node_gpus.count(sku) ? node_gpus[sku] : node_gpus[first_sku];
      int64_t gpus = q.gpus != traces::kQuotaNotGiven ? q.gpus : q.nodes * gpn;
      if (q.nodes != traces::kQuotaNotGiven && q.gpus != traces::kQuotaNotGiven &&
          q.gpus != q.nodes * gpn)
        sc.notes.push_back("VC " + q.vc + ": quota file gives " + std::to_string(q.nodes) +
                           " nodes and " + std::to_string(q.gpus) + " GPUs; the GPUs are used");
      int64_t units = CeilDiv(gpus, unit);
      if (units * unit != gpus)
        sc.notes.push_back("VC " + q.vc + ": quota of " + std::to_string(gpus) +
                           " GPUs rounded up to " + std::to_string(units) + " " +
                           QuotaLevelName(o.cluster.quota_level) + " cells");
      sc.quotas.push_back({q.vc, sku, units});
    }
  } else {
    // Split each SKU's cells among the trace's VCs by GPU-second share.
    std::vector<std::string> skus;
    for (const NodeSpec& n : nodes)
      if (std::find(skus.begin(), skus.end(), n.sku) == skus.end()) skus.push_back(n.sku);
    for (const std::string& sku : skus) {
      const int64_t unit = unit_gpus_of(sku);
      int64_t gpus = 0;
      for (const NodeSpec& n : nodes)
        if (n.sku == sku) gpus += n.gpus;
      auto q = DeriveQuotas(sc.workload, gpus / unit, unit, skus.size() > 1 ? sku : "");
      for (auto& x : q) sc.quotas.push_back(std::move(x));
    }
    sc.notes.push_back("VC quotas derived from the trace's GPU-second shares");
  }
  auto c = BuildCluster(nodes, sc.quotas, o.cluster);
  if (!c.ok()) return Status::Invalid(c.status().message());
  sc.cluster = std::move(c).value();
  sc.cluster_description = sc.cluster.Describe();
  int64_t no_quota_jobs = 0;
  for (const SimJob& j : sc.workload.jobs)
    if (sc.cluster.FindVc(sc.workload.vcs[j.vc]) < 0) ++no_quota_jobs;
  if (no_quota_jobs)
    sc.notes.push_back(std::to_string(no_quota_jobs) +
                       " jobs belong to VCs without a quota: they run opportunistically "
                       "(priority -1) under hived and quota unless --unknown-vc reject, and "
                       "are rejected under static");
  return sc;
}

}  // namespace apiary::sim
