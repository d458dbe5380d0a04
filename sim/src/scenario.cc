#include "apiary/sim/scenario.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
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

std::string ReaderReport::Format() const {
  std::string s = what + (path.empty() ? "" : " " + path) + ": ";
  if (rows > 0) s += std::to_string(rows) + " rows -> ";
  s += std::to_string(kept) + " " + unit;
  int64_t dropped_total = 0;
  for (const auto& [k, n] : dropped) dropped_total += n;
  if (dropped_total + skipped == 0 && adjusted.empty()) return s + "; nothing dropped or changed";
  if (skipped > 0) {
    s += "; " + std::to_string(skipped) + " malformed rows skipped";
    if (!errors.empty()) s += " (first: " + errors.front() + ")";
  }
  if (dropped_total > 0) {
    s += "; dropped " + std::to_string(dropped_total) + " (";
    for (size_t i = 0; i < dropped.size(); ++i)
      s += (i ? ", " : "") + std::to_string(dropped[i].second) + " " +
           traces::ExplainReadReason(dropped[i].first);
    s += ")";
  }
  if (!adjusted.empty()) {
    s += "; changed ";
    for (size_t i = 0; i < adjusted.size(); ++i)
      s += (i ? ", " : "") + std::to_string(adjusted[i].second) + " " +
           traces::ExplainReadReason(adjusted[i].first);
    if (added_gpu_seconds > 0 && kept_gpu_seconds > 0) {
      char buf[96];
      std::snprintf(buf, sizeof buf, " (+%.1f%% GPU-seconds of demand)",
                    100.0 * static_cast<double>(added_gpu_seconds) /
                        static_cast<double>(kept_gpu_seconds - added_gpu_seconds));
      s += buf;
    }
  }
  return s;
}

Result<std::string> ResolveSku(const std::string& name, const std::vector<std::string>& opaque,
                               const std::string& where) {
  if (const traces::GpuSku* sku = traces::FindGpuSku(name)) return std::string(sku->name);
  for (const std::string& o : opaque)
    if (traces::NormalizeGpuName(o) == traces::NormalizeGpuName(name)) return o;
  std::string known;
  for (const traces::GpuSku& k : traces::AllGpuSkus())
    known += (known.empty() ? "" : ", ") + std::string(k.name);
  std::string hint = name.find(',') != std::string::npos
                         ? " (one SKU per generated cluster; for mixed SKUs give an "
                           "--inventory or a --hived-config)"
                         : "";
  return Status::Invalid(where + ": unknown GPU SKU \"" + name + "\"" + hint +
                         ". Known SKUs: " + known +
                         ". A model without published figures must be declared with "
                         "--opaque-sku " + name + " (it then runs at the reference SKU's speed)");
}

namespace {

ReaderReport ReportOf(const std::string& what, const std::string& path,
                      const traces::ReadStats& st, int64_t kept, const std::string& unit) {
  ReaderReport r;
  r.what = what;
  r.path = path;
  r.rows = st.rows;
  r.kept = kept;
  r.unit = unit;
  r.skipped = st.skipped;
  r.errors = st.errors;
  for (const auto& kv : st.dropped) r.dropped.push_back(kv);
  for (const auto& kv : st.adjusted) r.adjusted.push_back(kv);
  r.added_gpu_seconds = st.added_gpu_seconds;
  return r;
}

void NoteUnquotaedJobs(Scenario& sc) {
  int64_t no_quota_jobs = 0;
  for (const SimJob& j : sc.workload.jobs)
    if (sc.cluster.FindVc(sc.workload.vcs[j.vc]) < 0) ++no_quota_jobs;
  if (no_quota_jobs)
    sc.notes.push_back(std::to_string(no_quota_jobs) +
                       " jobs belong to VCs without a quota: they run opportunistically "
                       "(priority -1) under hived and quota unless --unknown-vc reject, and "
                       "are rejected under static");
}

bool StartsWithDateColumn(const std::string& path) {
  std::ifstream f(path);
  std::string line;
  while (std::getline(f, line)) {
    if (line.empty() || line[0] == '#') continue;
    return line.rfind("date,", 0) == 0;
  }
  return false;
}

}  // namespace

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
  {
    ReaderReport r = ReportOf("trace", o.trace_paths[0], trace->stats,
                              static_cast<int64_t>(trace->jobs.size()), "jobs kept");
    for (const traces::Job& j : trace->jobs)
      if (j.duration_s > 0) r.kept_gpu_seconds += j.total_gpus() * j.duration_s;
    sc.readers.push_back(std::move(r));
    ReaderReport sel;
    sel.what = "selection";
    sel.kept = static_cast<int64_t>(sc.workload.jobs.size());
    sel.unit = "of " + std::to_string(trace->jobs.size()) + " jobs simulated";
    sel.dropped = sc.workload.dropped;
    sc.readers.push_back(std::move(sel));
  }

  if (o.workload_only) {
    if (o.gpus_per_node <= 0)
      return Status::Invalid("--gpus-per-node must be positive, got " +
                             std::to_string(o.gpus_per_node));
    std::string sku = o.sku;
    if (sku.empty()) sku = sc.workload.reference_sku.empty() ? "V100" : sc.workload.reference_sku;
    auto resolved = ResolveSku(sku, o.opaque_skus, "--sku");
    if (!resolved.ok()) return resolved.status();
    sc.node_sku = *resolved;
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
    for (const cell::SkuType& t : loaded->config.sku_types) {
      auto resolved = ResolveSku(t.name, o.opaque_skus,
                                 o.hived_config + ": skuTypes." + t.name);
      if (!resolved.ok()) return resolved.status();
    }
    auto c = ClusterFromHivedConfig(loaded->config, sc.workload.reference_sku);
    if (!c.ok()) return Status::Invalid(o.hived_config + ": " + c.status().message());
    sc.cluster = std::move(c).value();
    sc.cluster_description = o.hived_config + ": " + sc.cluster.Describe();
    NoteUnquotaedJobs(sc);
    return sc;
  }

  // ---- Nodes ----
  std::vector<NodeSpec> nodes;
  std::vector<traces::VcQuota> file_quotas;
  if (!o.vc_quotas_path.empty()) {
    const bool daily = StartsWithDateColumn(o.vc_quotas_path);
    if (!daily && !o.vc_quotas_date.empty())
      return Status::Invalid("--vc-quotas-date applies to a Helios daily quota file "
                             "(date,<vc>...,total); " + o.vc_quotas_path + " is not one");
    auto q = daily ? traces::ReadHeliosVcGpus(o.vc_quotas_path, o.vc_quotas_date, ro)
                   : traces::ReadVcQuotas(o.vc_quotas_path, ro);
    if (!q.ok()) return Status::Invalid(q.status().message());
    file_quotas = q->vcs;
    int64_t zero = 0;
    for (const traces::VcQuota& v : file_quotas) zero += v.gpus == 0 && v.nodes <= 0;
    ReaderReport r = ReportOf("quotas", o.vc_quotas_path, q->stats,
                              static_cast<int64_t>(file_quotas.size()) - zero, "VC quotas kept");
    if (daily) {
      r.unit += " (Helios daily GPU quotas, day " +
                (o.vc_quotas_date.empty() ? std::string("of the first row") : o.vc_quotas_date) +
                ")";
      if (zero) r.dropped.push_back({"zero_quota_that_day", zero});
    }
    sc.readers.push_back(std::move(r));
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
      auto resolved = ResolveSku(n.sku, o.opaque_skus,
                                 o.inventory_path + ": node " + n.hostname);
      if (!resolved.ok()) return resolved.status();
      nodes.push_back({n.hostname, *resolved, n.gpu_count});
    }
    ReaderReport r = ReportOf("inventory", o.inventory_path, inv->stats,
                              static_cast<int64_t>(nodes.size()), "GPU nodes kept");
    if (cpu_only) r.dropped.push_back({"cpu_only", cpu_only});
    sc.readers.push_back(std::move(r));
    if (nodes.empty())
      return Status::Invalid(o.inventory_path + ": the inventory has no GPU node");
  } else {
    if (o.gpus_per_node <= 0)
      return Status::Invalid("--gpus-per-node must be positive, got " +
                             std::to_string(o.gpus_per_node));
    std::string sku = o.sku;
    if (sku.empty()) sku = sc.workload.reference_sku.empty() ? "V100" : sc.workload.reference_sku;
    auto resolved = ResolveSku(sku, o.opaque_skus, "--sku");
    if (!resolved.ok()) return resolved.status();
    sku = *resolved;
    // Without --nodes, exactly the quota file's nodes: per row, of its
    // gpu_model (else --sku), gpus / nodes GPUs each when the row gives both
    // (a size-vcs quotas.csv does), else --gpus-per-node.
    std::vector<std::pair<std::pair<std::string, int32_t>, int64_t>> kinds;  // (sku, gpn) -> n
    auto add = [&](const std::string& k_sku, int32_t gpn, int64_t n) {
      for (auto& [key, count] : kinds)
        if (key.first == k_sku && key.second == gpn) return void(count += n);
      kinds.push_back({{k_sku, gpn}, n});
    };
    if (o.nodes > 0) {
      add(sku, o.gpus_per_node, o.nodes);
    } else {
      for (const traces::VcQuota& q : file_quotas) {
        std::string row_sku = sku;
        if (!q.gpu_model.empty()) {
          auto r = ResolveSku(q.gpu_model, o.opaque_skus,
                              o.vc_quotas_path + ": VC " + q.vc + ", gpu_model");
          if (!r.ok()) return r.status();
          row_sku = *r;
        }
        const bool both = q.nodes > 0 && q.gpus > 0 && q.gpus % q.nodes == 0;
        const int32_t gpn = both ? static_cast<int32_t>(q.gpus / q.nodes) : o.gpus_per_node;
        if (q.nodes != traces::kQuotaNotGiven) add(row_sku, gpn, q.nodes);
        else if (q.gpus != traces::kQuotaNotGiven) add(row_sku, gpn, CeilDiv(q.gpus, gpn));
      }
    }
    int64_t count = 0;
    for (const auto& k : kinds) count += k.second;
    if (count <= 0)
      return Status::Invalid(
          "no cluster: give --nodes N (generated nodes), --inventory FILE, --hived-config "
          "FILE, or --vc-quotas FILE (one node per quota node)");
    for (const auto& [key, n] : kinds)
      for (NodeSpec& node : GenerateNodes(n, key.first, key.second)) {
        if (kinds.size() > 1)
          node.name = key.first + "-" + std::to_string(key.second) + "g-" + node.name;
        nodes.push_back(std::move(node));
      }
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
    // Split each chain's cells — one per (SKU, node size), as BuildCluster
    // groups them — among the trace's VCs by GPU-second share, so that a
    // SKU with nodes of several sizes keeps all its capacity.
    std::vector<std::pair<std::string, int32_t>> groups;
    std::map<std::pair<std::string, int32_t>, int64_t> group_nodes;
    std::map<std::string, int32_t> sizes_per_sku;
    for (const NodeSpec& n : nodes) {
      auto key = std::make_pair(n.sku, n.gpus);
      if (group_nodes[key]++ == 0) {
        groups.push_back(key);
        ++sizes_per_sku[n.sku];
      }
    }
    const std::string only_sku = sizes_per_sku.size() == 1 ? groups.front().first : "";
    for (const auto& [sku, gpn] : groups) {
      const int64_t count = group_nodes[{sku, gpn}];
      int64_t unit = gpn;
      if (o.cluster.quota_level == QuotaLevel::kGpu) unit = 1;
      if (o.cluster.quota_level == QuotaLevel::kRack)
        unit = int64_t{gpn} * RackNodesOf(count, o.cluster.rack_nodes);
      auto q = DeriveQuotas(sc.workload, count * gpn / unit, unit, only_sku.empty() ? sku : "");
      for (auto& x : q) {
        if (sizes_per_sku[sku] > 1) x.gpus_per_node = gpn;
        sc.quotas.push_back(std::move(x));
      }
    }
    sc.notes.push_back("VC quotas derived from the trace's GPU-second shares");
  }
  // Durations scale by SKU speed relative to the trace's reference SKU, on
  // every kind of cluster (as ClusterFromHivedConfig does).
  ClusterOptions co = o.cluster;
  if (co.reference_sku.empty()) co.reference_sku = sc.workload.reference_sku;
  auto c = BuildCluster(nodes, sc.quotas, co);
  if (!c.ok()) return Status::Invalid(c.status().message());
  sc.cluster = std::move(c).value();
  sc.cluster_description = sc.cluster.Describe();
  NoteUnquotaedJobs(sc);
  return sc;
}

}  // namespace apiary::sim
