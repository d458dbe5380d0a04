// Helpers for the simulator tests: tiny workloads and clusters built in code.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "apiary/sim/cluster.h"
#include "apiary/sim/simulator.h"
#include "apiary/sim/workload.h"
#include "apiary/traces/trace.h"

namespace apiary::sim::testing {

inline std::string SourcePath(const std::string& relative) {
  return std::string(APIARY_SOURCE_DIR) + "/" + relative;
}

// A whole file ("" when it cannot be read).
inline std::string ReadAll(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Writes `text` to a file named `name` in the test's temporary directory.
inline std::string WriteTemp(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + "/sim_test_" + name;
  std::ofstream(path) << text;
  return path;
}

struct J {
  J(std::string id_, std::string vc_, int64_t submit_, int32_t pods_, int32_t gpus_per_pod_,
    int64_t duration_, int32_t priority_ = 0, std::string model_ = "")
      : id(std::move(id_)), vc(std::move(vc_)), submit(submit_), pods(pods_),
        gpus_per_pod(gpus_per_pod_), duration(duration_), priority(priority_),
        model(std::move(model_)) {}
  std::string id;
  std::string vc;
  int64_t submit = 0;
  int32_t pods = 1;
  int32_t gpus_per_pod = 1;
  int64_t duration = 0;
  int32_t priority = 0;
  std::string model;
};

// A workload from jobs listed in submit order (no rebasing).
inline Workload MakeJobs(const std::vector<J>& jobs, const std::string& reference = "") {
  traces::Trace t;
  t.reference_sku = reference;
  for (const J& j : jobs) {
    traces::Job tj;
    tj.id = j.id;
    tj.vc = j.vc;
    tj.submit_time_s = j.submit;
    tj.num_pods = j.pods;
    tj.gpus_per_pod = j.gpus_per_pod;
    tj.duration_s = j.duration;
    tj.priority = j.priority;
    tj.gpu_model = j.model;
    t.jobs.push_back(tj);
  }
  WorkloadOptions o;
  o.rebase = false;
  return MakeWorkload(t, o);
}

// `nodes` generated nodes of `gpus` GPUs of `sku`, node-level quotas.
inline ClusterModel MakeCluster(int64_t nodes, int32_t gpus, const std::vector<QuotaSpec>& quotas,
                                int32_t rack_nodes = 1, const std::string& sku = "V100",
                                const std::string& reference = "") {
  ClusterOptions o;
  o.rack_nodes = rack_nodes;
  o.reference_sku = reference;
  auto c = BuildCluster(GenerateNodes(nodes, sku, gpus), quotas, o);
  EXPECT_TRUE(c.ok()) << c.status().message();
  return c.ok() ? std::move(c).value() : ClusterModel();
}

inline SimResult RunSim(const ClusterModel& c, const Workload& w, PolicyKind p,
                     SimOptions o = {}) {
  o.check_invariants = true;
  auto r = Simulate(c, w, p, o);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? std::move(r).value() : SimResult();
}

// The placement model from the bundled calibration data, loaded once.
inline const PlacementModel& CalibratedModel() {
  static const PlacementModel* m = [] {
    auto r = PlacementModel::Load(SourcePath("traces/data/calibration"));
    EXPECT_TRUE(r.ok()) << r.status().message();
    return new PlacementModel(std::move(r).value());
  }();
  return *m;
}

// The index of job `id` in the workload.
inline size_t IndexOf(const Workload& w, const std::string& id) {
  for (size_t i = 0; i < w.jobs.size(); ++i)
    if (w.jobs[i].id == id) return i;
  ADD_FAILURE() << "no job " << id;
  return 0;
}

inline int64_t SumBins(const SimResult& r) {
  int64_t s = 0;
  for (const auto& v : r.vc_alloc)
    for (int64_t x : v) s += x;
  return s;
}

inline int64_t SumJobGpuSeconds(const SimResult& r) {
  int64_t s = 0;
  for (const JobRecord& j : r.jobs) s += j.gpu_seconds;
  return s;
}

}  // namespace apiary::sim::testing
