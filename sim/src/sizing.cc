#include "apiary/sim/sizing.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "apiary/sim/progress.h"
#include "apiary/sim/report.h"
#include "apiary/sim/thread_pool.h"
#include "apiary/traces/gpu_sku.h"

namespace apiary::sim {
namespace {

// The placement model the simulations run with, as sizing.json and shard
// files name it.
std::string PlacementModelName(const SimOptions& o) {
  return o.placement ? "on (class seed " + std::to_string(o.class_seed) + ")" : "off";
}

using Json = nlohmann::ordered_json;

int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

bool Met(int64_t metric, int64_t max_wait) { return metric >= 0 && metric <= max_wait; }

// What is sized: one quota per (VC, SKU) "dim", and the workload each
// simulation runs, every job pinned to the SKU of its dim.
struct Dim {
  int32_t vc = 0;
  int32_t sku = 0;  // index into Space::skus
  int64_t current_gpus = 0;
};
struct Space {
  Workload workload;                // jobs of sized dims only
  std::vector<std::string> skus;    // canonical names
  std::vector<int32_t> node_gpus;   // [sku]
  bool multi_sku = false;
  std::vector<Dim> dims;
  std::vector<int32_t> job_dim;     // [workload job]
  std::vector<int64_t> unit_gpus;   // [dim]
  std::vector<std::string> skipped; // notes
};

int64_t UnitOf(QuotaLevel level, int32_t gpn, int32_t rack_nodes) {
  switch (level) {
    case QuotaLevel::kGpu: return 1;
    case QuotaLevel::kNode: return gpn;
    case QuotaLevel::kRack: return int64_t{gpn} * rack_nodes;
  }
  return gpn;
}

Result<Space> BuildSpace(const Scenario& sc, const SizingOptions& o) {
  Space sp;
  const Workload& w = sc.workload;
  if (sc.cluster.nodes.empty()) {
    // Generated nodes of one SKU: every VC of the trace, one dim each.
    if (sc.node_gpus <= 0 || sc.node_sku.empty())
      return Status::Invalid("size-vcs needs generated nodes (--sku, --gpus-per-node), an "
                             "--inventory or a --hived-config");
    sp.workload = w;
    sp.skus = {sc.node_sku};
    sp.node_gpus = {sc.node_gpus};
    for (size_t v = 0; v < w.vcs.size(); ++v) sp.dims.push_back({static_cast<int32_t>(v), 0, 0});
    for (const SimJob& j : w.jobs) sp.job_dim.push_back(j.vc);
  } else {
    // A cluster with quotas: per SKU, the node size that holds most of its
    // GPUs; per VC, its current quota per SKU.
    const ClusterModel& c = sc.cluster;
    std::vector<std::map<int32_t, int64_t>> gpus_by_size(c.skus.size());
    for (const NodeInfo& n : c.nodes) gpus_by_size[n.sku][n.gpus] += n.gpus;
    for (size_t k = 0; k < c.skus.size(); ++k) {
      sp.skus.push_back(c.skus[k].name);
      int32_t best = 0;
      int64_t most = -1;
      for (const auto& [size, g] : gpus_by_size[k])
        if (g > most) most = g, best = size;
      sp.node_gpus.push_back(best);
    }
    sp.multi_sku = c.skus.size() > 1;
    const size_t nv = w.vcs.size(), ns = sp.skus.size();
    std::vector<std::vector<int64_t>> current(nv, std::vector<int64_t>(ns, 0));
    std::vector<int64_t> sku_gpus(ns, 0);
    for (const NodeInfo& n : c.nodes) sku_gpus[n.sku] += n.gpus;
    for (size_t v = 0; v < nv; ++v) {
      const int32_t cv = c.FindVc(w.vcs[v]);
      if (cv < 0) continue;
      for (size_t g = 0; g < c.groups.size(); ++g)
        current[v][c.groups[g].sku] += c.vc_group_gpus[cv][g];
    }
    AllocatorContext ctx = MakeAllocatorContext(c, w, UnknownVc::kOpportunistic);
    std::map<std::pair<int32_t, int32_t>, int32_t> dim_of;
    std::vector<int32_t> pinned_sku;  // [sized job]
    int64_t no_quota_jobs = 0, no_sku_jobs = 0;
    sp.workload.vcs = w.vcs;
    sp.workload.reference_sku = w.reference_sku;
    if (sp.multi_sku)
      for (const std::string& name : sp.skus) sp.workload.models.push_back({name});
    else
      sp.workload.models = w.models;
    for (const SimJob& j : w.jobs) {
      int64_t vc_total = 0;
      for (int64_t g : current[j.vc]) vc_total += g;
      if (vc_total == 0 && !o.all_vcs) {
        ++no_quota_jobs;
        continue;
      }
      int32_t sku = -1;
      if (j.model >= 0) {
        if (!ctx.model_skus[j.model].empty()) sku = ctx.model_skus[j.model].front();
      } else {
        const std::vector<int64_t>& basis = vc_total > 0 ? current[j.vc] : sku_gpus;
        for (size_t k = 0; k < ns; ++k)
          if (sku < 0 || basis[k] > basis[sku]) sku = static_cast<int32_t>(k);
      }
      if (sku < 0) {
        ++no_sku_jobs;
        continue;
      }
      auto key = std::make_pair(j.vc, sku);
      auto it = dim_of.find(key);
      if (it == dim_of.end()) it = dim_of.emplace(key, -1).first;
      SimJob pinned = j;
      if (sp.multi_sku) pinned.model = sku;
      sp.workload.jobs.push_back(std::move(pinned));
      pinned_sku.push_back(sku);
    }
    // Dims in (VC, SKU) order, so that the answer reads VC by VC.
    int32_t next = 0;
    for (auto& [key, d] : dim_of) {
      d = next++;
      sp.dims.push_back({key.first, key.second, current[key.first][key.second]});
    }
    for (size_t i = 0; i < sp.workload.jobs.size(); ++i)
      sp.job_dim.push_back(dim_of[{sp.workload.jobs[i].vc, pinned_sku[i]}]);
    if (no_quota_jobs)
      sp.skipped.push_back(std::to_string(no_quota_jobs) +
                           " jobs of VCs without a quota not sized (--all-vcs sizes them)");
    if (no_sku_jobs)
      sp.skipped.push_back(std::to_string(no_sku_jobs) +
                           " jobs asking for a GPU model the cluster lacks not sized");
  }
  for (const Dim& d : sp.dims)
    sp.unit_gpus.push_back(UnitOf(o.level, sp.node_gpus[d.sku], o.rack_nodes));
  return sp;
}

// One simulation with `cells` per dim: per dim, the sorted waits of its
// jobs (INT64_MAX for a job that never finished).
Result<std::vector<std::vector<int64_t>>> EvaluateWaits(const Space& sp, const SizingOptions& o,
                                                        const std::vector<int64_t>& cells) {
  const Workload& w = sp.workload;
  std::vector<QuotaSpec> quotas;
  std::vector<int64_t> units(sp.skus.size(), 0);
  for (size_t d = 0; d < sp.dims.size(); ++d) {
    const Dim& dim = sp.dims[d];
    quotas.push_back({w.vcs[dim.vc], sp.multi_sku ? sp.skus[dim.sku] : "", cells[d]});
    units[dim.sku] += cells[d];
  }
  std::vector<NodeSpec> nodes;
  for (size_t k = 0; k < sp.skus.size(); ++k) {
    const int32_t gpn = sp.node_gpus[k];
    int64_t count = 0;
    switch (o.level) {
      case QuotaLevel::kGpu: count = CeilDiv(units[k], gpn); break;
      case QuotaLevel::kNode: count = units[k]; break;
      case QuotaLevel::kRack: count = units[k] * o.rack_nodes; break;
    }
    for (NodeSpec& n : GenerateNodes(count, sp.skus[k], gpn)) {
      if (sp.multi_sku) n.name = sp.skus[k] + "-" + n.name;
      nodes.push_back(std::move(n));
    }
  }
  ClusterOptions co;
  co.rack_nodes = o.rack_nodes;
  co.quota_level = o.level;
  co.reference_sku = w.reference_sku;
  auto cluster = BuildCluster(nodes, quotas, co);
  if (!cluster.ok()) return cluster.status();
  SimOptions so = o.sim;
  so.progress_label.clear();
  auto r = Simulate(*cluster, w, o.policy, so);
  if (!r.ok()) return r.status();
  std::vector<std::vector<int64_t>> waits(sp.dims.size());
  for (size_t i = 0; i < w.jobs.size(); ++i) {
    const JobRecord& rec = r->jobs[i];
    waits[sp.job_dim[i]].push_back(rec.outcome == JobOutcome::kDone ? rec.wait_s : INT64_MAX);
  }
  for (auto& v : waits) std::sort(v.begin(), v.end());
  return waits;
}

int64_t MetricOf(const std::vector<int64_t>& sorted, double q) {
  const int64_t m = Percentile(sorted, q);
  return m == INT64_MAX ? -1 : m;
}

Result<std::vector<int64_t>> Evaluate(const Space& sp, const SizingOptions& o,
                                      const std::vector<int64_t>& cells) {
  auto waits = EvaluateWaits(sp, o, cells);
  if (!waits.ok()) return waits.status();
  std::vector<int64_t> metric;
  for (const auto& v : *waits) metric.push_back(MetricOf(v, o.percentile));
  return metric;
}

// Runs the given cell vectors in parallel; results by index.
Result<std::vector<std::vector<int64_t>>> EvaluateAll(
    const Space& sc, const SizingOptions& o, const std::vector<std::vector<int64_t>>& runs,
    ThreadPool& pool, Progress* progress, std::atomic<int64_t>* done_count, int64_t total_runs) {
  std::vector<std::vector<int64_t>> out(runs.size());
  std::vector<Status> errors(runs.size());
  ParallelFor(pool, runs.size(), [&](size_t i) {
    auto m = Evaluate(sc, o, runs[i]);
    if (m.ok()) out[i] = std::move(m).value();
    else errors[i] = m.status();
    int64_t d = ++*done_count;
    (void)d;
  });
  for (const Status& s : errors)
    if (!s.ok()) return s;
  if (progress) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%lld simulations", static_cast<long long>(done_count->load()));
    progress->Show(total_runs > 0 ? static_cast<double>(done_count->load()) / total_runs : 0, buf);
  }
  return out;
}

SizingResult MakeResult(const Space& sp, const SizingOptions& o, const SizingBounds& b) {
  SizingResult r;
  r.level = QuotaLevelName(o.level);
  r.unit_gpus = b.unit_gpus;
  r.percentile = o.percentile;
  r.max_wait_s = o.max_wait_s;
  r.policy = std::string(PolicyName(o.policy));
  r.placement_model = PlacementModelName(o.sim);
  std::vector<int64_t> jobs(sp.dims.size(), 0);
  for (int32_t d : sp.job_dim) ++jobs[d];
  for (size_t d = 0; d < sp.dims.size(); ++d) {
    VcSizing s;
    s.vc = sp.workload.vcs[sp.dims[d].vc];
    if (sp.multi_sku) s.sku = sp.skus[sp.dims[d].sku];
    s.node_gpus = sp.node_gpus[sp.dims[d].sku];
    s.unit_gpus = sp.unit_gpus[d];
    s.current_gpus = sp.dims[d].current_gpus;
    s.lo = b.lo[d];
    s.hi = b.hi[d];
    s.jobs = jobs[d];
    r.vcs.push_back(s);
  }
  return r;
}

// Records each probe's metric in the dims' curves.
void AddToCurves(SizingResult& r, const std::vector<std::vector<int64_t>>& runs,
                 const std::vector<std::vector<int64_t>>& metrics) {
  for (size_t k = 0; k < runs.size(); ++k)
    for (size_t d = 0; d < r.vcs.size(); ++d) {
      auto& c = r.vcs[d].curve;
      const std::pair<int64_t, int64_t> p{runs[k][d], metrics[k][d]};
      auto it = std::lower_bound(c.begin(), c.end(), p,
                                 [](const auto& a, const auto& b) { return a.first < b.first; });
      if (it == c.end() || it->first != p.first) c.insert(it, p);
    }
}

void Finalize(SizingResult& r) {
  r.total_cells = 0;
  r.all_met = true;
  for (VcSizing& v : r.vcs) {
    v.gpus = v.cells * (v.unit_gpus > 0 ? v.unit_gpus : r.unit_gpus);
    if (v.set_by.empty()) v.set_by = !v.met ? "not met" : v.cells == v.lo ? "largest job" : "waits";
    r.total_cells += v.cells;
    r.all_met = r.all_met && v.met;
  }
}

}  // namespace

int64_t SizingBounds::points() const {
  int64_t p = 0;
  for (size_t v = 0; v < lo.size(); ++v) p = std::max(p, hi[v] - lo[v] + 1);
  return p;
}

namespace {

Status CheckOptions(const SizingOptions& o) {
  if (o.policy == PolicyKind::kQuota)
    return Status::Invalid(
        "size-vcs: the quota policy shares GPUs across VCs, so VCs cannot be sized "
        "independently; use --policy hived or static");
  if (!(o.percentile > 0 && o.percentile <= 1))
    return Status::Invalid("--percentile must be in (0, 100]");
  if (o.max_wait_s < 0) return Status::Invalid("--max-wait must not be negative");
  if (o.rack_nodes < 1) return Status::Invalid("--rack-nodes must be at least 1");
  return Status::Ok();
}

Result<SizingBounds> BoundsOf(const Space& sp, const SizingOptions& o) {
  SizingBounds b;
  b.unit_gpus = sp.unit_gpus.empty() ? UnitOf(o.level, sp.node_gpus[0], o.rack_nodes)
                                     : sp.unit_gpus[0];
  const Workload& w = sp.workload;
  const size_t nd = sp.dims.size();
  std::vector<int64_t> largest(nd, 0), peak(nd, 0);
  std::vector<double> speed(nd, 1.0);
  for (size_t d = 0; d < nd; ++d) {
    auto r = traces::RelativeSpeed(sp.skus[sp.dims[d].sku], w.reference_sku);
    if (r.ok() && *r > 0) speed[d] = *r;
  }
  std::vector<std::vector<std::pair<int64_t, int64_t>>> steps(nd);
  for (size_t i = 0; i < w.jobs.size(); ++i) {
    const SimJob& j = w.jobs[i];
    const int32_t d = sp.job_dim[i];
    const int32_t gpn = sp.node_gpus[sp.dims[d].sku];
    if (j.gpus_per_pod > gpn)
      return Status::Invalid("job " + j.id + " has pods of " + std::to_string(j.gpus_per_pod) +
                             " GPUs, more than a node's " + std::to_string(gpn));
    largest[d] = std::max(largest[d], j.gpus());
    // Peak demand at the run time on the dim's SKU (a slower SKU holds its
    // jobs longer, so more of them overlap).
    steps[d].emplace_back(j.submit_s, j.gpus());
    steps[d].emplace_back(j.submit_s + traces::ScaleDuration(j.duration_s, speed[d]), -j.gpus());
  }
  for (size_t d = 0; d < nd; ++d) {
    const int64_t unit = sp.unit_gpus[d];
    std::sort(steps[d].begin(), steps[d].end());  // ends before starts at equal times
    int64_t cur = 0;
    for (const auto& st : steps[d]) peak[d] = std::max(peak[d], cur += st.second);
    int64_t lo = std::max<int64_t>(1, CeilDiv(largest[d], unit));
    // Pods must fit whole into the VC's nodes: a gang of 3 x 8 GPUs needs 3
    // nodes even at GPU level.
    int64_t hi = std::max(lo, CeilDiv(peak[d], unit));
    if (o.min_cells > 0) lo = std::max(lo, o.min_cells);
    if (o.max_cells > 0) hi = o.max_cells;
    if (hi < lo)
      return Status::Invalid("VC " + w.vcs[sp.dims[d].vc] + ": --max-cells " +
                             std::to_string(hi) + " is below the " + std::to_string(lo) +
                             " cells its largest job needs");
    b.lo.push_back(lo);
    b.hi.push_back(hi);
  }
  return b;
}

}  // namespace

Result<SizingBounds> ComputeBounds(const Scenario& sc, const SizingOptions& o) {
  if (Status st = CheckOptions(o); !st.ok()) return st;
  auto sp = BuildSpace(sc, o);
  if (!sp.ok()) return sp.status();
  return BoundsOf(*sp, o);
}

Result<SizingResult> SizeVcs(const Scenario& scenario, const SizingOptions& o) {
  auto t0 = std::chrono::steady_clock::now();
  if (Status st = CheckOptions(o); !st.ok()) return st;
  auto space = BuildSpace(scenario, o);
  if (!space.ok()) return space.status();
  const Space& sc = *space;
  auto bounds = BoundsOf(sc, o);
  if (!bounds.ok()) return bounds.status();
  const SizingBounds& b = *bounds;
  SizingResult res = MakeResult(sc, o, b);
  res.notes = sc.skipped;
  const size_t nv = b.lo.size();
  ThreadPool pool(o.threads);
  const int64_t t = pool.size();
  Progress progress(o.progress_label);
  std::atomic<int64_t> done{0};
  // Rough total for the progress line: one run, then ~log_{T+1}(range)
  // rounds of T runs, then the verification.
  int64_t range = std::max<int64_t>(2, b.points());
  int64_t est = 2 + t * static_cast<int64_t>(std::ceil(std::log(static_cast<double>(range)) /
                                                       std::log(static_cast<double>(t + 1))));

  // Round 0: everything at its upper bound. VCs that miss the target even
  // there are reported as not reachable.
  std::vector<int64_t> a(nv), hi = b.hi;  // answer in (a, hi]
  auto first = EvaluateAll(sc, o, {b.hi}, pool, &progress, &done, est);
  if (!first.ok()) return first.status();
  AddToCurves(res, {b.hi}, *first);
  std::vector<int64_t> metric_at_hi = (*first)[0];
  std::vector<char> active(nv, 0);
  for (size_t v = 0; v < nv; ++v) {
    a[v] = b.lo[v] - 1;
    res.vcs[v].met = Met(metric_at_hi[v], o.max_wait_s);
    active[v] = res.vcs[v].met && hi[v] - a[v] > 1;
  }
  while (true) {
    bool any = false;
    for (size_t v = 0; v < nv; ++v) any = any || active[v];
    if (!any) break;
    // T probes per active VC, evenly inside (a, hi).
    std::vector<std::vector<int64_t>> runs(static_cast<size_t>(t), hi);
    std::vector<std::vector<int64_t>> probes(nv);
    for (size_t v = 0; v < nv; ++v) {
      if (!active[v]) continue;
      const int64_t width = hi[v] - a[v];
      for (int64_t k = 1; k <= t; ++k) {
        int64_t p = a[v] + CeilDiv(width * k, t + 1);
        p = std::clamp(p, a[v] + 1, hi[v] - 1);
        runs[k - 1][v] = p;
        probes[v].push_back(p);
      }
    }
    auto metrics = EvaluateAll(sc, o, runs, pool, &progress, &done, est);
    if (!metrics.ok()) return metrics.status();
    AddToCurves(res, runs, *metrics);
    for (size_t v = 0; v < nv; ++v) {
      if (!active[v]) continue;
      int64_t best = hi[v];
      for (int64_t k = 0; k < t; ++k)
        if (Met((*metrics)[k][v], o.max_wait_s)) best = std::min(best, probes[v][k]);
      int64_t below = a[v];
      for (int64_t k = 0; k < t; ++k)
        if (!Met((*metrics)[k][v], o.max_wait_s) && probes[v][k] < best)
          below = std::max(below, probes[v][k]);
      hi[v] = best;
      a[v] = below;
      active[v] = hi[v] - a[v] > 1;
    }
  }
  // Verification: all VCs at their answers in one run.
  auto fin = EvaluateWaits(sc, o, hi);
  if (!fin.ok()) return fin.status();
  ++done;
  for (size_t v = 0; v < nv; ++v) {
    const std::vector<int64_t>& waits = (*fin)[v];
    res.vcs[v].cells = hi[v];
    res.vcs[v].wait_s = MetricOf(waits, o.percentile);
    res.vcs[v].met = Met(res.vcs[v].wait_s, o.max_wait_s);
    res.vcs[v].p95_s = MetricOf(waits, 0.95);
    res.vcs[v].p99_s = MetricOf(waits, 0.99);
    double sum = 0;
    for (int64_t x : waits) sum += static_cast<double>(x);
    res.vcs[v].mean_s = waits.empty() ? 0
                        : waits.back() == INT64_MAX ? -1
                                                    : sum / static_cast<double>(waits.size());
  }
  progress.Done();
  res.simulations = done.load();
  Finalize(res);
  res.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return res;
}

Result<std::vector<SweepPoint>> RunSweepShard(const Scenario& scenario, const SizingOptions& o,
                                              int64_t shard_index, int64_t shard_count) {
  if (shard_count < 1 || shard_index < 0 || shard_index >= shard_count)
    return Status::Invalid("--shard-index must be in [0, --shard-count), got " +
                           std::to_string(shard_index) + " of " + std::to_string(shard_count));
  if (Status st = CheckOptions(o); !st.ok()) return st;
  auto space = BuildSpace(scenario, o);
  if (!space.ok()) return space.status();
  const Space& sc = *space;
  auto bounds = BoundsOf(sc, o);
  if (!bounds.ok()) return bounds.status();
  const SizingBounds& b = *bounds;
  std::vector<std::vector<int64_t>> runs;
  std::vector<int64_t> indices;
  for (int64_t i = shard_index; i < b.points(); i += shard_count) {
    std::vector<int64_t> cells;
    for (size_t v = 0; v < b.lo.size(); ++v) cells.push_back(std::min(b.lo[v] + i, b.hi[v]));
    runs.push_back(std::move(cells));
    indices.push_back(i);
  }
  ThreadPool pool(o.threads);
  Progress progress(o.progress_label);
  std::atomic<int64_t> done{0};
  auto metrics = EvaluateAll(sc, o, runs, pool, &progress, &done,
                             static_cast<int64_t>(runs.size()));
  if (!metrics.ok()) return metrics.status();
  std::vector<SweepPoint> out;
  for (size_t k = 0; k < runs.size(); ++k) out.push_back({indices[k], runs[k], (*metrics)[k]});
  return out;
}

std::string ShardJson(const Scenario& sc, const SizingOptions& o, const SizingBounds& b,
                      int64_t shard_index, int64_t shard_count,
                      const std::vector<SweepPoint>& points) {
  Json j;
  j["kind"] = "apiary-sim sweep shard";
  j["shard_index"] = shard_index;
  j["shard_count"] = shard_count;
  j["level"] = QuotaLevelName(o.level);
  j["unit_gpus"] = b.unit_gpus;
  j["percentile"] = o.percentile;
  j["max_wait_s"] = o.max_wait_s;
  j["policy"] = std::string(PolicyName(o.policy));
  j["placement_model"] = PlacementModelName(o.sim);
  j["points_total"] = b.points();
  // One entry per sized quota: "vc", or "vc@SKU" on a cluster of several SKUs.
  std::vector<std::string> labels;
  std::vector<int64_t> jobs;
  if (auto sp = BuildSpace(sc, o); sp.ok()) {
    jobs.assign(sp->dims.size(), 0);
    for (int32_t d : sp->job_dim) ++jobs[d];
    for (const Dim& d : sp->dims)
      labels.push_back(sp->workload.vcs[d.vc] + (sp->multi_sku ? "@" + sp->skus[d.sku] : ""));
  }
  j["vcs"] = labels;
  j["jobs"] = jobs;
  j["lo"] = b.lo;
  j["hi"] = b.hi;
  Json pts = Json::array();
  for (const SweepPoint& p : points) {
    Json x;
    x["index"] = p.index;
    x["cells"] = p.cells;
    x["metric"] = p.metric;
    pts.push_back(std::move(x));
  }
  j["points"] = std::move(pts);
  return j.dump(1) + "\n";
}

Result<SizingResult> MergeShards(const std::vector<std::string>& texts,
                                 const std::vector<std::string>& names) {
  if (texts.empty()) return Status::Invalid("merge: no shard files given");
  Json first;
  std::map<int64_t, Json> points;
  for (size_t f = 0; f < texts.size(); ++f) {
    Json j;
    try {
      j = Json::parse(texts[f]);
    } catch (const std::exception& e) {
      return Status::Invalid(names[f] + ": not JSON: " + e.what());
    }
    if (!j.is_object() || j.value("kind", "") != "apiary-sim sweep shard")
      return Status::Invalid(names[f] + ": not an apiary-sim sweep shard file");
    if (f == 0) {
      first = j;
    } else {
      for (const char* key : {"shard_count", "level", "unit_gpus", "percentile", "max_wait_s",
                              "policy", "placement_model", "vcs", "lo", "hi"})
        if (j[key] != first[key])
          return Status::Invalid(names[f] + ": field \"" + key + "\" differs from " + names[0] +
                                 "'s: the shards come from different sweeps");
    }
    try {
      for (const Json& p : j.at("points")) points[p.at("index").get<int64_t>()] = p;
    } catch (const std::exception& e) {
      return Status::Invalid(names[f] + ": malformed points: " + e.what());
    }
  }
  SizingResult r;
  std::vector<int64_t> lo, hi, jobs;
  std::vector<std::string> vcs;
  try {
    r.level = first.at("level").get<std::string>();
    r.unit_gpus = first.at("unit_gpus").get<int64_t>();
    r.percentile = first.at("percentile").get<double>();
    r.max_wait_s = first.at("max_wait_s").get<int64_t>();
    r.policy = first.at("policy").get<std::string>();
    r.placement_model = first.value("placement_model", "off");
    vcs = first.at("vcs").get<std::vector<std::string>>();
    lo = first.at("lo").get<std::vector<int64_t>>();
    hi = first.at("hi").get<std::vector<int64_t>>();
    jobs = first.at("jobs").get<std::vector<int64_t>>();
  } catch (const std::exception& e) {
    return Status::Invalid(names[0] + ": malformed header: " + e.what());
  }
  const int64_t total = first.value("points_total", int64_t{0});
  std::string missing;
  int64_t n_missing = 0;
  for (int64_t i = 0; i < total; ++i)
    if (!points.count(i)) {
      if (++n_missing <= 10) missing += (missing.empty() ? "" : ", ") + std::to_string(i);
    }
  if (n_missing)
    return Status::Invalid("merge: " + std::to_string(n_missing) + " of " +
                           std::to_string(total) + " sweep points missing (" + missing +
                           (n_missing > 10 ? ", ..." : "") + "): is a shard file missing?");
  for (size_t v = 0; v < vcs.size(); ++v) {
    // metric per cells value of this VC (points beyond hi repeat hi).
    std::map<int64_t, int64_t> by_cells;
    for (const auto& [i, p] : points) {
      int64_t c = p.at("cells")[v].get<int64_t>();
      by_cells[c] = p.at("metric")[v].get<int64_t>();
    }
    VcSizing s;
    s.vc = vcs[v];
    s.lo = lo[v];
    s.hi = hi[v];
    s.jobs = jobs[v];
    s.cells = hi[v];
    s.met = false;
    s.wait_s = by_cells.count(hi[v]) ? by_cells[hi[v]] : -1;
    // The smallest c such that every swept c' >= c meets the target.
    for (auto it = by_cells.rbegin(); it != by_cells.rend(); ++it) {
      if (!Met(it->second, r.max_wait_s)) break;
      s.cells = it->first;
      s.wait_s = it->second;
      s.met = true;
    }
    r.vcs.push_back(s);
  }
  r.simulations = static_cast<int64_t>(points.size());
  Finalize(r);
  return r;
}

std::string SizingJson(const SizingResult& r) {
  Json j;
  j["level"] = r.level;
  j["unit_gpus"] = r.unit_gpus;
  j["percentile"] = r.percentile;
  j["max_wait_s"] = r.max_wait_s;
  j["policy"] = r.policy;
  j["placement_model"] = r.placement_model;
  j["all_met"] = r.all_met;
  j["total_cells"] = r.total_cells;
  j["total_gpus"] = r.total_cells * r.unit_gpus;
  j["simulations"] = r.simulations;
  Json vcs = Json::array();
  for (const VcSizing& v : r.vcs) {
    Json x;
    x["vc"] = v.vc;
    if (!v.sku.empty()) x["sku"] = v.sku;
    x["cells"] = v.cells;
    x["unit_gpus"] = v.unit_gpus;
    x["current_gpus"] = v.current_gpus;
    x["change_gpus"] = v.gpus - v.current_gpus;
    x["mean_wait_s"] = v.mean_s;
    x["p95_wait_s"] = v.p95_s;
    x["p99_wait_s"] = v.p99_s;
    x["set_by"] = v.set_by;
    x["gpus"] = v.gpus;
    x["met"] = v.met;
    x["wait_s"] = v.wait_s;
    x["jobs"] = v.jobs;
    x["search_lo"] = v.lo;
    x["search_hi"] = v.hi;
    vcs.push_back(std::move(x));
  }
  j["vcs"] = std::move(vcs);
  j["notes"] = r.notes;
  return j.dump(2) + "\n";
}

namespace {

std::string WaitText(double s) { return s < 0 ? "never" : FormatDuration(s); }

std::string SignedGpus(int64_t d) { return (d > 0 ? "+" : "") + std::to_string(d); }

}  // namespace

std::string FormatSizingTable(const SizingResult& r) {
  std::ostringstream o;
  bool skus = false, current = false;
  for (const VcSizing& v : r.vcs) {
    skus = skus || !v.sku.empty();
    current = current || v.current_gpus > 0;
  }
  const std::string pq =
      "p" + std::to_string(static_cast<int>(std::lround(r.percentile * 100))) + " wait";
  char line[320];
  std::snprintf(line, sizeof line, "%-10s %-9s %7s %7s %7s %8s %8s %9s %9s %9s %10s  %s\n", "VC",
                skus ? "SKU" : "", "jobs", (r.level + "s").c_str(), "GPUs",
                current ? "current" : "", current ? "change" : "", "mean", "p95", "p99",
                pq.c_str(), "set by");
  o << line;
  for (const VcSizing& v : r.vcs) {
    std::string set_by = v.met ? v.set_by : "NOT MET (at the upper bound " + std::to_string(v.hi) + ")";
    std::snprintf(line, sizeof line, "%-10s %-9s %7lld %7lld %7lld %8s %8s %9s %9s %9s %10s  %s\n",
                  v.vc.c_str(), v.sku.c_str(), static_cast<long long>(v.jobs),
                  static_cast<long long>(v.cells), static_cast<long long>(v.gpus),
                  current ? std::to_string(v.current_gpus).c_str() : "",
                  current ? SignedGpus(v.gpus - v.current_gpus).c_str() : "",
                  WaitText(v.mean_s).c_str(), WaitText(static_cast<double>(v.p95_s)).c_str(),
                  WaitText(static_cast<double>(v.p99_s)).c_str(),
                  WaitText(static_cast<double>(v.wait_s)).c_str(), set_by.c_str());
    o << line;
  }
  int64_t gpus = 0, cur = 0;
  for (const VcSizing& v : r.vcs) gpus += v.gpus, cur += v.current_gpus;
  std::snprintf(line, sizeof line, "%-10s %-9s %7s %7lld %7lld %8s %8s\n", "total", "", "",
                static_cast<long long>(r.total_cells), static_cast<long long>(gpus),
                current ? std::to_string(cur).c_str() : "",
                current ? SignedGpus(gpus - cur).c_str() : "");
  o << line;
  for (const std::string& n : r.notes) o << "note: " << n << "\n";
  return o.str();
}

std::string SizingQuotasCsv(const SizingResult& r) {
  std::string out = "vc,nodes,gpus,gpu_model\n";
  for (const VcSizing& v : r.vcs) {
    const int64_t gpn = v.node_gpus > 0 ? v.node_gpus : r.unit_gpus;
    // Whole nodes when the quota is (gpu-level quotas may end in a part node).
    const std::string nodes = gpn > 0 && v.gpus % gpn == 0 ? std::to_string(v.gpus / gpn) : "";
    out += v.vc + "," + nodes + "," + std::to_string(v.gpus) + "," + v.sku + "\n";
  }
  return out;
}

Result<std::vector<std::string>> WriteSizingReport(const std::string& dir,
                                                   const SizingResult& r,
                                                   const std::string& command, bool plots) {
  std::vector<std::string> notes;
  if (Status st = MakeDirectories(dir); !st.ok()) return st;
  if (Status st = WriteTextFile(dir + "/quotas.csv", SizingQuotasCsv(r)); !st.ok()) return st;
  if (Status st = WriteTextFile(dir + "/sizing.json", SizingJson(r)); !st.ok()) return st;
  // One data file and one plot per sized quota: metric (hours) vs GPUs.
  std::string gp;
  std::vector<std::string> images;
  for (size_t d = 0; d < r.vcs.size(); ++d) {
    const VcSizing& v = r.vcs[d];
    std::string name = v.vc + (v.sku.empty() ? "" : "-" + v.sku);
    for (char& c : name)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') c = '_';
    std::string dat = "# GPUs, p" +
                      std::to_string(static_cast<int>(std::lround(r.percentile * 100))) +
                      " wait (h; -1 = never finished)\n";
    for (const auto& [cells, metric] : v.curve)
      dat += std::to_string(cells * v.unit_gpus) + " " +
             (metric < 0 ? std::string("-1") : std::to_string(static_cast<double>(metric) / 3600.0)) +
             "\n";
    if (Status st = WriteTextFile(dir + "/wait_vs_quota-" + name + ".dat", dat); !st.ok())
      return st;
    gp += "set terminal pngcairo size 640,400\nset output 'wait_vs_quota-" + name + ".png'\n" +
          "set title 'VC " + v.vc + (v.sku.empty() ? "" : " (" + v.sku + ")") +
          ": wait vs quota'\nset xlabel 'quota (GPUs)'\nset ylabel 'p" +
          std::to_string(static_cast<int>(std::lround(r.percentile * 100))) +
          " wait (hours)'\nset grid\nunset arrow\nset arrow from graph 0, first " +
          std::to_string(static_cast<double>(r.max_wait_s) / 3600.0) + " to graph 1, first " +
          std::to_string(static_cast<double>(r.max_wait_s) / 3600.0) +
          " nohead dt 2\nplot 'wait_vs_quota-" + name +
          ".dat' using 1:($2 < 0 ? 1/0 : $2) with linespoints title 'simulated'\n";
    images.push_back("wait_vs_quota-" + name + ".png");
  }
  if (Status st = WriteTextFile(dir + "/wait_vs_quota.gp", gp); !st.ok()) return st;
  bool drawn = false;
  if (plots) {
    if (std::system("command -v gnuplot >/dev/null 2>&1") != 0) {
      notes.push_back("gnuplot not found: wait_vs_quota.gp and its data are written, not drawn");
    } else {
      const std::string cmd = "cd '" + dir + "' && gnuplot wait_vs_quota.gp 2>/dev/null";
      drawn = std::system(cmd.c_str()) == 0;
      if (!drawn) notes.push_back("gnuplot failed on wait_vs_quota.gp");
    }
  }
  std::ostringstream md;
  md << "# Apiary VC sizing\n\nCommand: `" << command << "`\n\n"
     << "Target: p" << std::lround(r.percentile * 100) << " wait <= "
     << FormatDuration(static_cast<double>(r.max_wait_s)) << " in every VC, policy " << r.policy
     << ", quotas in " << r.level << " cells, placement model " << r.placement_model
     << " (run the answer with the same --placement-model). Each simulation generates a cluster holding exactly "
     << "the candidate quotas; under " << r.policy << " a VC's guaranteed jobs see only its own "
     << "cells, so every VC is measured at its own quota.\n\n"
     << "```\n" << FormatSizingTable(r) << "```\n\n"
     << "*set by*: `waits` = the smallest quota whose waits meet the target; `largest job` = the "
     << "fewest cells that hold the VC's largest gang already meet it; `NOT MET` = not even at "
     << "the upper bound (the cells its peak demand needs). Waits are over all the VC's jobs at "
     << "the answer (verification run); a job that never finishes counts as waiting forever.\n\n"
     << "[quotas.csv](quotas.csv) is the answer as a quota file: `apiary-sim run --vc-quotas "
     << "quotas.csv` (without --nodes / --inventory) simulates exactly this cluster. "
     << "[sizing.json](sizing.json) has every number.\n\n## Wait vs quota\n\n";
  for (const std::string& img : images)
    md << (drawn ? "![" + img + "](" + img + ")\n\n" : "* " + img + " (not drawn)\n");
  if (Status st = WriteTextFile(dir + "/report.md", md.str()); !st.ok()) return st;
  return notes;
}

}  // namespace apiary::sim
