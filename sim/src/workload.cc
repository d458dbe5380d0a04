#include "apiary/sim/workload.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "apiary/traces/gpu_sku.h"

namespace apiary::sim {
namespace {

std::vector<std::string> SplitModels(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t bar = s.find('|', start);
    if (bar == std::string::npos) bar = s.size();
    std::string part = s.substr(start, bar - start);
    if (!part.empty()) {
      std::string canon = traces::CanonicalGpuModel(part);
      if (std::find(out.begin(), out.end(), canon) == out.end()) out.push_back(canon);
    }
    start = bar + 1;
  }
  return out;
}

}  // namespace

Workload MakeWorkload(const traces::Trace& trace, const WorkloadOptions& options) {
  Workload w;
  w.reference_sku = trace.reference_sku;
  w.trace_jobs = static_cast<int64_t>(trace.jobs.size());
  std::map<std::string, int64_t> dropped;
  std::vector<const traces::Job*> kept;
  kept.reserve(trace.jobs.size());
  for (size_t i = 0; i < trace.jobs.size(); ++i) {
    const traces::Job& j = trace.jobs[i];
    if (j.duration_s < 0) {
      ++dropped["unknown_duration"];
      continue;
    }
    if (j.total_gpus() <= 0) {
      ++dropped["no_gpus"];
      continue;
    }
    if (j.submit_time_s < options.from_s ||
        (options.to_s >= 0 && j.submit_time_s >= options.to_s)) {
      ++dropped["time_window"];
      continue;
    }
    if (options.sample < 1.0) {
      uint64_t h = SplitMix64(options.seed * 0x100000001b3ULL + i);
      // 53 random bits -> [0, 1).
      double u = static_cast<double>(h >> 11) * (1.0 / 9007199254740992.0);
      if (u >= options.sample) {
        ++dropped["sample"];
        continue;
      }
    }
    if (options.max_jobs > 0 && static_cast<int64_t>(kept.size()) >= options.max_jobs) {
      ++dropped["max_jobs"];
      continue;
    }
    kept.push_back(&j);
  }
  std::map<std::string, int32_t> vc_index;
  for (const traces::Job* j : kept) vc_index.emplace(j->vc, 0);
  for (auto& [name, idx] : vc_index) {
    idx = static_cast<int32_t>(w.vcs.size());
    w.vcs.push_back(name);
  }
  std::map<std::string, int32_t> model_index;
  int64_t origin = 0;
  if (options.rebase && !kept.empty()) origin = kept.front()->submit_time_s;
  w.jobs.reserve(kept.size());
  for (const traces::Job* j : kept) {
    SimJob s;
    s.id = j->id;
    s.submit_s = j->submit_time_s - origin;
    if (options.load_factor > 0 && options.load_factor != 1.0)
      s.submit_s = static_cast<int64_t>(
          std::floor(static_cast<double>(s.submit_s) / options.load_factor));
    s.duration_s = j->duration_s;
    s.num_pods = j->num_pods;
    s.gpus_per_pod = j->gpus_per_pod;
    s.vc = vc_index[j->vc];
    s.priority = j->priority;
    s.model_class = j->model_class;
    if (!j->gpu_model.empty()) {
      auto it = model_index.find(j->gpu_model);
      if (it == model_index.end()) {
        it = model_index.emplace(j->gpu_model, static_cast<int32_t>(w.models.size())).first;
        w.models.push_back(SplitModels(j->gpu_model));
      }
      s.model = it->second;
    }
    w.jobs.push_back(std::move(s));
  }
  for (auto& [k, v] : dropped) w.dropped.emplace_back(k, v);
  return w;
}

}  // namespace apiary::sim
