#include "apiary/sim/stats.h"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>

namespace apiary::sim {

using MatrixI = Eigen::Matrix<int64_t, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

int64_t Percentile(const std::vector<int64_t>& sorted, double q) {
  if (sorted.empty()) return 0;
  const double n = static_cast<double>(sorted.size());
  int64_t rank = static_cast<int64_t>(std::ceil(q * n - 1e-9));
  rank = std::clamp<int64_t>(rank, 1, static_cast<int64_t>(sorted.size()));
  return sorted[static_cast<size_t>(rank - 1)];
}

Distribution Distribute(std::vector<int64_t> values) {
  Distribution d;
  d.count = static_cast<int64_t>(values.size());
  if (values.empty()) return d;
  std::sort(values.begin(), values.end());
  Eigen::Map<const Eigen::Matrix<int64_t, Eigen::Dynamic, 1>> v(values.data(),
                                                               static_cast<Eigen::Index>(values.size()));
  // Sum in integers (exact), divide once.
  d.mean = static_cast<double>(v.sum()) / static_cast<double>(values.size());
  d.p50 = Percentile(values, 0.50);
  d.p95 = Percentile(values, 0.95);
  d.p99 = Percentile(values, 0.99);
  d.max = values.back();
  return d;
}

PolicySummary Summarize(const SimResult& r, const Workload& w, const ClusterModel& cluster) {
  PolicySummary s;
  s.policy = std::string(PolicyName(r.policy));
  s.makespan_s = r.makespan_s;
  s.total_gpus = r.total_gpus;
  s.preemptions = r.preemptions;
  s.borrowed_starts = r.borrowed_starts;
  s.events = r.events;
  s.place_calls = r.place_calls;
  s.wall_s = r.wall_s;
  s.reject_reasons = r.reject_reasons;
  s.wait_reasons = r.wait_reasons;
  s.explained_jobs = r.explained_jobs;

  const size_t nv = w.vcs.size();
  std::vector<std::vector<int64_t>> waits(nv), jcts(nv);
  std::vector<int64_t> all_waits, all_jcts;
  s.vcs.resize(nv);
  for (size_t v = 0; v < nv; ++v) {
    s.vcs[v].vc = w.vcs[v];
    int32_t cvc = cluster.FindVc(w.vcs[v]);
    s.vcs[v].quota_gpus = cvc < 0 ? 0 : cluster.VcGpus(cvc);
  }
  for (size_t i = 0; i < r.jobs.size(); ++i) {
    const JobRecord& rec = r.jobs[i];
    VcSummary& vs = s.vcs[w.jobs[i].vc];
    ++vs.jobs;
    ++s.jobs;
    s.job_gpu_seconds += rec.gpu_seconds;
    s.lost_gpu_seconds += rec.lost_gpu_seconds;
    switch (rec.outcome) {
      case JobOutcome::kDone:
        ++vs.done;
        ++s.done;
        waits[w.jobs[i].vc].push_back(rec.wait_s);
        jcts[w.jobs[i].vc].push_back(rec.jct_s());
        all_waits.push_back(rec.wait_s);
        all_jcts.push_back(rec.jct_s());
        break;
      case JobOutcome::kRejected:
        ++vs.rejected;
        ++s.rejected;
        break;
      case JobOutcome::kUnfinished:
        ++vs.unfinished;
        ++s.unfinished;
        break;
    }
  }
  s.wait = Distribute(std::move(all_waits));
  s.jct = Distribute(std::move(all_jcts));
  for (size_t v = 0; v < nv; ++v) {
    s.vcs[v].wait = Distribute(std::move(waits[v]));
    s.vcs[v].jct = Distribute(std::move(jcts[v]));
  }

  // The VC x bin allocation matrix (GPU-seconds per bin).
  const Eigen::Index bins = static_cast<Eigen::Index>(r.bins());
  MatrixI alloc(static_cast<Eigen::Index>(nv), bins);
  for (size_t v = 0; v < nv; ++v)
    for (Eigen::Index b = 0; b < bins; ++b) alloc(static_cast<Eigen::Index>(v), b) = r.vc_alloc[v][b];
  const Eigen::Matrix<int64_t, Eigen::Dynamic, 1> per_vc = alloc.rowwise().sum();
  s.busy_gpu_seconds = per_vc.sum();
  const double span = static_cast<double>(std::max<int64_t>(r.makespan_s, 1));
  for (size_t v = 0; v < nv; ++v) {
    s.vcs[v].mean_alloc_gpus = static_cast<double>(per_vc(static_cast<Eigen::Index>(v))) / span;
    if (bins > 0)
      s.vcs[v].peak_alloc_gpus =
          static_cast<double>(alloc.row(static_cast<Eigen::Index>(v)).maxCoeff()) /
          static_cast<double>(r.bin_s);
  }
  if (r.total_gpus > 0)
    s.utilization = static_cast<double>(s.busy_gpu_seconds) /
                    (static_cast<double>(r.total_gpus) * span);
  auto mean_of = [&](const std::vector<int64_t>& series) {
    if (series.empty()) return 0.0;
    Eigen::Map<const Eigen::Matrix<int64_t, Eigen::Dynamic, 1>> m(
        series.data(), static_cast<Eigen::Index>(series.size()));
    return static_cast<double>(m.sum()) / span;
  };
  s.mean_idle_while_waiting = mean_of(r.idle_while_waiting);
  s.mean_fragmented = mean_of(r.fragmented);
  s.mean_waiting_jobs = mean_of(r.waiting);
  return s;
}

}  // namespace apiary::sim
