#include "apiary/sim/sizing.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "apiary/sim/progress.h"
#include "apiary/sim/report.h"
#include "apiary/sim/thread_pool.h"

namespace apiary::sim {
namespace {

using Json = nlohmann::ordered_json;

int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

bool Met(int64_t metric, int64_t max_wait) { return metric >= 0 && metric <= max_wait; }

// One simulation of the workload with `cells` per VC; the per-VC metric.
Result<std::vector<int64_t>> Evaluate(const Scenario& sc, const SizingOptions& o,
                                      const std::vector<int64_t>& cells) {
  const Workload& w = sc.workload;
  std::vector<QuotaSpec> quotas;
  int64_t total = 0;
  for (size_t v = 0; v < w.vcs.size(); ++v) {
    quotas.push_back({w.vcs[v], "", cells[v]});
    total += cells[v];
  }
  const int32_t gpn = sc.node_gpus;
  int64_t nodes = 0;
  switch (o.level) {
    case QuotaLevel::kGpu: nodes = CeilDiv(total, gpn); break;
    case QuotaLevel::kNode: nodes = total; break;
    case QuotaLevel::kRack: nodes = total * o.rack_nodes; break;
  }
  ClusterOptions co;
  co.rack_nodes = o.rack_nodes;
  co.quota_level = o.level;
  co.reference_sku = w.reference_sku;
  auto cluster = BuildCluster(GenerateNodes(nodes, sc.node_sku, gpn), quotas, co);
  if (!cluster.ok()) return cluster.status();
  SimOptions so = o.sim;
  so.progress_label.clear();
  auto r = Simulate(*cluster, w, o.policy, so);
  if (!r.ok()) return r.status();
  std::vector<std::vector<int64_t>> waits(w.vcs.size());
  for (size_t i = 0; i < w.jobs.size(); ++i) {
    const JobRecord& rec = r->jobs[i];
    waits[w.jobs[i].vc].push_back(rec.outcome == JobOutcome::kDone ? rec.wait_s : INT64_MAX);
  }
  std::vector<int64_t> metric;
  for (auto& v : waits) {
    std::sort(v.begin(), v.end());
    int64_t m = Percentile(v, o.percentile);
    metric.push_back(m == INT64_MAX ? -1 : m);
  }
  return metric;
}

// Runs the given cell vectors in parallel; results by index.
Result<std::vector<std::vector<int64_t>>> EvaluateAll(
    const Scenario& sc, const SizingOptions& o, const std::vector<std::vector<int64_t>>& runs,
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

SizingResult MakeResult(const Scenario& sc, const SizingOptions& o, const SizingBounds& b) {
  SizingResult r;
  r.level = QuotaLevelName(o.level);
  r.unit_gpus = b.unit_gpus;
  r.percentile = o.percentile;
  r.max_wait_s = o.max_wait_s;
  r.policy = std::string(PolicyName(o.policy));
  std::vector<int64_t> jobs(sc.workload.vcs.size(), 0);
  for (const SimJob& j : sc.workload.jobs) ++jobs[j.vc];
  for (size_t v = 0; v < sc.workload.vcs.size(); ++v) {
    VcSizing s;
    s.vc = sc.workload.vcs[v];
    s.lo = b.lo[v];
    s.hi = b.hi[v];
    s.jobs = jobs[v];
    r.vcs.push_back(s);
  }
  return r;
}

void Finalize(SizingResult& r) {
  r.total_cells = 0;
  r.all_met = true;
  for (VcSizing& v : r.vcs) {
    v.gpus = v.cells * r.unit_gpus;
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

Result<SizingBounds> ComputeBounds(const Scenario& sc, const SizingOptions& o) {
  if (o.policy == PolicyKind::kQuota)
    return Status::Invalid(
        "size-vcs: the quota policy shares GPUs across VCs, so VCs cannot be sized "
        "independently; use --policy hived or static");
  if (sc.node_gpus <= 0 || sc.node_sku.empty())
    return Status::Invalid("size-vcs needs generated nodes (--sku, --gpus-per-node)");
  if (!(o.percentile > 0 && o.percentile <= 1))
    return Status::Invalid("--percentile must be in (0, 100]");
  if (o.max_wait_s < 0) return Status::Invalid("--max-wait must not be negative");
  if (o.rack_nodes < 1) return Status::Invalid("--rack-nodes must be at least 1");
  SizingBounds b;
  switch (o.level) {
    case QuotaLevel::kGpu: b.unit_gpus = 1; break;
    case QuotaLevel::kNode: b.unit_gpus = sc.node_gpus; break;
    case QuotaLevel::kRack: b.unit_gpus = int64_t{sc.node_gpus} * o.rack_nodes; break;
  }
  const Workload& w = sc.workload;
  const size_t nv = w.vcs.size();
  std::vector<int64_t> largest(nv, 0), peak(nv, 0);
  std::vector<std::vector<std::pair<int64_t, int64_t>>> steps(nv);
  for (const SimJob& j : w.jobs) {
    if (j.gpus_per_pod > sc.node_gpus)
      return Status::Invalid("job " + j.id + " has pods of " + std::to_string(j.gpus_per_pod) +
                             " GPUs, more than a node's " + std::to_string(sc.node_gpus));
    largest[j.vc] = std::max(largest[j.vc], j.gpus());
    steps[j.vc].emplace_back(j.submit_s, j.gpus());
    steps[j.vc].emplace_back(j.submit_s + j.duration_s, -j.gpus());
  }
  for (size_t v = 0; v < nv; ++v) {
    std::sort(steps[v].begin(), steps[v].end());  // ends before starts at equal times
    int64_t cur = 0;
    for (const auto& s : steps[v]) peak[v] = std::max(peak[v], cur += s.second);
    int64_t lo = std::max<int64_t>(1, CeilDiv(largest[v], b.unit_gpus));
    // Pods must fit whole into the VC's nodes: a gang of 3 x 8 GPUs needs 3
    // nodes even at GPU level.
    int64_t hi = std::max(lo, CeilDiv(peak[v], b.unit_gpus));
    if (o.min_cells > 0) lo = std::max(lo, o.min_cells);
    if (o.max_cells > 0) hi = o.max_cells;
    if (hi < lo)
      return Status::Invalid("VC " + w.vcs[v] + ": --max-cells " + std::to_string(hi) +
                             " is below the " + std::to_string(lo) +
                             " cells its largest job needs");
    b.lo.push_back(lo);
    b.hi.push_back(hi);
  }
  return b;
}

Result<SizingResult> SizeVcs(const Scenario& sc, const SizingOptions& o) {
  auto t0 = std::chrono::steady_clock::now();
  auto bounds = ComputeBounds(sc, o);
  if (!bounds.ok()) return bounds.status();
  const SizingBounds& b = *bounds;
  SizingResult res = MakeResult(sc, o, b);
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
  auto fin = EvaluateAll(sc, o, {hi}, pool, &progress, &done, est);
  if (!fin.ok()) return fin.status();
  for (size_t v = 0; v < nv; ++v) {
    res.vcs[v].cells = hi[v];
    res.vcs[v].wait_s = (*fin)[0][v];
    res.vcs[v].met = Met((*fin)[0][v], o.max_wait_s);
  }
  progress.Done();
  res.simulations = done.load();
  Finalize(res);
  res.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return res;
}

Result<std::vector<SweepPoint>> RunSweepShard(const Scenario& sc, const SizingOptions& o,
                                              int64_t shard_index, int64_t shard_count) {
  if (shard_count < 1 || shard_index < 0 || shard_index >= shard_count)
    return Status::Invalid("--shard-index must be in [0, --shard-count), got " +
                           std::to_string(shard_index) + " of " + std::to_string(shard_count));
  auto bounds = ComputeBounds(sc, o);
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
  j["points_total"] = b.points();
  j["vcs"] = sc.workload.vcs;
  std::vector<int64_t> jobs(sc.workload.vcs.size(), 0);
  for (const SimJob& job : sc.workload.jobs) ++jobs[job.vc];
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
                              "policy", "vcs", "lo", "hi"})
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
  j["all_met"] = r.all_met;
  j["total_cells"] = r.total_cells;
  j["total_gpus"] = r.total_cells * r.unit_gpus;
  j["simulations"] = r.simulations;
  Json vcs = Json::array();
  for (const VcSizing& v : r.vcs) {
    Json x;
    x["vc"] = v.vc;
    x["cells"] = v.cells;
    x["gpus"] = v.gpus;
    x["met"] = v.met;
    x["wait_s"] = v.wait_s;
    x["jobs"] = v.jobs;
    x["search_lo"] = v.lo;
    x["search_hi"] = v.hi;
    vcs.push_back(std::move(x));
  }
  j["vcs"] = std::move(vcs);
  return j.dump(2) + "\n";
}

std::string FormatSizingTable(const SizingResult& r) {
  std::ostringstream o;
  char head[160];
  std::snprintf(head, sizeof head, "%-10s %7s %7s %7s %12s  %s\n", "VC", "jobs",
                (r.level + "s").c_str(), "GPUs",
                ("p" + std::to_string(static_cast<int>(std::lround(r.percentile * 100))) + " wait")
                    .c_str(),
                "target met");
  o << head;
  for (const VcSizing& v : r.vcs) {
    char line[200];
    std::snprintf(line, sizeof line, "%-10s %7lld %7lld %7lld %12s  %s\n", v.vc.c_str(),
                  static_cast<long long>(v.jobs), static_cast<long long>(v.cells),
                  static_cast<long long>(v.gpus),
                  v.wait_s < 0 ? "never" : FormatDuration(static_cast<double>(v.wait_s)).c_str(),
                  v.met ? "yes" : ("NO (at the upper bound " + std::to_string(v.hi) + ")").c_str());
    o << line;
  }
  char tail[160];
  std::snprintf(tail, sizeof tail, "%-10s %7s %7lld %7lld\n", "total", "",
                static_cast<long long>(r.total_cells),
                static_cast<long long>(r.total_cells * r.unit_gpus));
  o << tail;
  return o.str();
}

}  // namespace apiary::sim
