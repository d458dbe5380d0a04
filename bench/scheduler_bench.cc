// Scheduler latency, memory and recovery benchmarks (bench/README.md).
//
// Google Benchmark reports means only, so every suite times single
// operations itself (steady_clock around one call, or one group) and reports
// the distribution as counters: p50_us, p99_us, max_us, ... The iteration
// time handed back to the framework (UseManualTime) is the measured
// operation only, never the bookkeeping around it.
//
// Suites (filter with --benchmark_filter=<regex>):
//   BM_ScheduleCommitDelete/gpus:G/occ:O/pod_gpus:P
//       steady state: schedule + commit one group (P = 1: one 1-GPU pod;
//       8: one 8-GPU pod; 256: a gang of 32 x 8-GPU pods), then delete it,
//       on a cluster of G GPUs filled to O % (occupancy stays constant).
//   BM_ScheduleSuggestedAll/...   same, with every node passed as suggested
//       (what the extender's filter call carries).
//   BM_PreemptDecision/gpus:G/occ:O/group_gpus:P   the preempting-phase
//       Schedule call that finds the victims for a guaranteed group of P GPUs
//       (8 x 1 pod, or 8 pods x 8 GPUs), on a VC full of lower priority pods.
//   BM_Recovery/gpus:G/pods:N   restart: Create + AddAllocatedPod for N bind
//       infos + FinishRecovery.
//   BM_Memory/gpus:G   heap and RSS growth across Scheduler::Create, per cell.
//
// Clusters are expensive to build at 100k GPUs, so the last one built is
// kept and reused by the next benchmark that asks for the same one (the
// registration order below groups them).
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "alloc_counter.h"
#include "cluster_fixture.h"

namespace apiary::bench {
namespace {

using Clock = std::chrono::steady_clock;
using cell::ScheduleResult;
using cell::SchedulingPhase;

int64_t Ns(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count();
}

// The shape measured for a "pod_gpus" argument.
Shape ShapeFor(int64_t pod_gpus) {
  if (pod_gpus <= kGpusPerNode) return {1, static_cast<int32_t>(pod_gpus)};
  return {static_cast<int32_t>(pod_gpus / kGpusPerNode), kGpusPerNode};
}

// Samples per benchmark: bounded so that the whole suite takes minutes.
int64_t IterationsFor(int64_t gpus, int64_t group_gpus) {
  const bool large = gpus > 20000;
  if (group_gpus > kGpusPerNode) return large ? 200 : 400;
  return large ? 2000 : 5000;
}

// ---------------------------------------------------------------------------
// One cached cluster
// ---------------------------------------------------------------------------

struct CachedCluster {
  std::string key;
  std::unique_ptr<Cluster> cluster;
  double fill_seconds = 0;
  int64_t fill_groups = 0;
};

CachedCluster& Cache() {
  static CachedCluster c;
  return c;
}

// The cluster for `key`, built by `build` when the cached one is another.
template <typename Build>
CachedCluster& GetCluster(const std::string& key, Build&& build) {
  CachedCluster& c = Cache();
  if (c.key != key) {
    c.cluster.reset();  // free the old one first: 100k-GPU clusters are large
    c.key.clear();
    auto t0 = Clock::now();
    c.cluster = build(c.fill_groups);
    c.fill_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    c.key = key;
  }
  return c;
}

// A cluster of `gpus` GPUs at `occ_pct` % with headroom for `headroom`.
CachedCluster& FilledCluster(int64_t gpus, int64_t occ_pct, Shape headroom) {
  std::string key = "fill/" + std::to_string(gpus) + "/" + std::to_string(occ_pct) + "/" +
                    std::to_string(headroom.pods) + "x" + std::to_string(headroom.gpus_per_pod);
  return GetCluster(key, [&](int64_t& groups) {
    auto c = std::make_unique<Cluster>(gpus);
    FillOptions opt;
    opt.occupancy = static_cast<double>(occ_pct) / 100.0;
    opt.headroom = headroom;
    opt.headroom_vc = c->VcIndex("prod");
    groups = c->Fill(opt);
    return c;
  });
}

void ReportCluster(benchmark::State& state, const CachedCluster& c) {
  state.counters["occupancy_pct"] = 100.0 * c.cluster->Occupancy();
  state.counters["fill_s"] = c.fill_seconds;
}

// ---------------------------------------------------------------------------
// Steady state: schedule + commit one group, then delete it
// ---------------------------------------------------------------------------

// Runs the steady-state cycle; `suggested` (may be null) is passed to every
// Schedule call.
void RunScheduleCommitDelete(benchmark::State& state,
                             const std::vector<std::string>* suggested) {
  const int64_t gpus = state.range(0), occ = state.range(1), pod_gpus = state.range(2);
  const Shape shape = ShapeFor(pod_gpus);
  // Single pods and whole nodes share a cluster (headroom: one node).
  const Shape headroom = shape.gpus() <= kGpusPerNode ? Shape{1, kGpusPerNode} : shape;
  CachedCluster& cc = FilledCluster(gpus, occ, headroom);
  Cluster& cluster = *cc.cluster;
  cell::Scheduler& s = cluster.scheduler();
  ReportCluster(state, cc);

  const PodGroup g = cluster.NewGroup(cluster.VcIndex("prod"), shape, 0, "bench");
  std::vector<std::string> all_nodes;
  if (suggested != nullptr) {
    all_nodes = s.Nodes();
    suggested = &all_nodes;
  }
  Samples sched_commit, decide, del;
  const int64_t n = state.max_iterations;
  sched_commit.Reserve(n);
  decide.Reserve(n);
  del.Reserve(n);
  int64_t waits = 0;

  // One cycle; returns false when the group did not bind.
  auto cycle = [&](bool record) {
    auto t0 = Clock::now();
    Clock::time_point t_decided{};
    for (size_t i = 0; i < g.pods.size(); ++i) {
      ScheduleResult r = s.Schedule(g.pods[i], g.spec, suggested, SchedulingPhase::kFiltering);
      if (i == 0) t_decided = Clock::now();
      if (r.kind != ScheduleResult::Kind::kBind) {
        if (i == 0) return false;
        state.SkipWithError(("gang member did not bind: " + r.message).c_str());
        return false;
      }
      cell::Status st = s.AddAllocatedPod(g.pods[i], g.spec, r.bind_info);
      if (!st.ok()) {
        state.SkipWithError(("AddAllocatedPod: " + st.message()).c_str());
        return false;
      }
    }
    auto t1 = Clock::now();
    for (const auto& p : g.pods) (void)s.DeleteAllocatedPod(p.uid);
    auto t2 = Clock::now();
    if (record) {
      sched_commit.Add(Ns(t0, t1));
      decide.Add(Ns(t0, t_decided));
      del.Add(Ns(t1, t2));
      state.SetIterationTime(std::chrono::duration<double>(t2 - t0).count());
    }
    return true;
  };

  for (int i = 0; i < 20; ++i) cycle(false);  // warm caches and capacities
  AllocScope allocs;
  for (auto _ : state) {
    if (!cycle(true)) {
      ++waits;
      state.SetIterationTime(1e-9);
    }
  }
  const double cycles = static_cast<double>(state.iterations());
  state.counters["p50_us"] = sched_commit.QuantileUs(0.50);
  state.counters["p99_us"] = sched_commit.QuantileUs(0.99);
  state.counters["max_us"] = sched_commit.MaxUs();
  state.counters["decide_p50_us"] = decide.QuantileUs(0.50);
  state.counters["decide_p99_us"] = decide.QuantileUs(0.99);
  state.counters["del_p50_us"] = del.QuantileUs(0.50);
  state.counters["del_p99_us"] = del.QuantileUs(0.99);
  state.counters["allocs_per_cycle"] =
      cycles > 0 ? static_cast<double>(allocs.Delta().news) / cycles : 0;
  state.counters["waits"] = static_cast<double>(waits);
}

void BM_ScheduleCommitDelete(benchmark::State& state) {
  RunScheduleCommitDelete(state, nullptr);
}

void BM_ScheduleSuggestedAll(benchmark::State& state) {
  static const std::vector<std::string> kMarker;  // non-null: "pass every node"
  RunScheduleCommitDelete(state, &kMarker);
}

// ---------------------------------------------------------------------------
// Preemption decision
// ---------------------------------------------------------------------------

// prod (50 % of the racks) full of priority-0 pods, the other VCs at a level
// that makes the whole cluster `occ_pct` % full; the preemptor is a
// priority-100 group in prod, so every placement needs victims.
CachedCluster& PreemptionCluster(int64_t gpus, int64_t occ_pct) {
  std::string key = "preempt/" + std::to_string(gpus) + "/" + std::to_string(occ_pct);
  return GetCluster(key, [&](int64_t& groups) {
    auto c = std::make_unique<Cluster>(gpus);
    FillOptions opt;
    const int32_t prod = c->VcIndex("prod");
    const double prod_share =
        static_cast<double>(c->vcs()[prod].quota_gpus) / static_cast<double>(c->gpus());
    const double rest = (static_cast<double>(occ_pct) / 100.0 - prod_share) / (1.0 - prod_share);
    opt.per_vc_occupancy.assign(c->vcs().size(), std::clamp(rest, 0.0, 1.0));
    opt.per_vc_occupancy[prod] = 1.0;
    groups = c->Fill(opt);
    return c;
  });
}

// `explain`: the decision also builds its explanation (explain.h), the cost
// a caller pays only when it asks.
void PreemptDecision(benchmark::State& state, bool explain) {
  const int64_t gpus = state.range(0), occ = state.range(1), group_gpus = state.range(2);
  CachedCluster& cc = PreemptionCluster(gpus, occ);
  Cluster& cluster = *cc.cluster;
  cell::Scheduler& s = cluster.scheduler();
  ReportCluster(state, cc);
  const PodGroup g =
      cluster.NewGroup(cluster.VcIndex("prod"), ShapeFor(group_gpus), 100, "preemptor");
  const cell::PodRef& pod = g.pods[0];

  Samples decide, cancel;
  decide.Reserve(state.max_iterations);
  cancel.Reserve(state.max_iterations);
  double victims = 0;
  int64_t not_preempt = 0;
  // The decision creates a preempting group (the cells become Reserving);
  // deleting the unbound preemptor pod cancels it and restores the state.
  auto cycle = [&](bool record) {
    auto t0 = Clock::now();
    ScheduleResult r = s.Schedule(pod, g.spec, nullptr, SchedulingPhase::kPreempting, explain);
    auto t1 = Clock::now();
    bool preempt = r.kind == ScheduleResult::Kind::kPreempt;
    if (preempt) (void)s.DeleteUnallocatedPod(pod.uid);  // a bind reserves nothing
    auto t2 = Clock::now();
    if (record) {
      decide.Add(Ns(t0, t1));
      cancel.Add(Ns(t1, t2));
      victims += static_cast<double>(r.victims.size());
      if (!preempt) ++not_preempt;
      state.SetIterationTime(std::chrono::duration<double>(t1 - t0).count());
    }
  };
  for (int i = 0; i < 20; ++i) cycle(false);
  AllocScope allocs;
  for (auto _ : state) cycle(true);
  const double n = static_cast<double>(state.iterations());
  state.counters["p50_us"] = decide.QuantileUs(0.50);
  state.counters["p99_us"] = decide.QuantileUs(0.99);
  state.counters["max_us"] = decide.MaxUs();
  state.counters["cancel_p50_us"] = cancel.QuantileUs(0.50);
  state.counters["victims"] = n > 0 ? victims / n : 0;
  state.counters["not_preempt"] = static_cast<double>(not_preempt);
  state.counters["allocs_per_cycle"] = n > 0 ? static_cast<double>(allocs.Delta().news) / n : 0;
}

void BM_PreemptDecision(benchmark::State& state) { PreemptDecision(state, false); }
void BM_PreemptDecisionExplained(benchmark::State& state) { PreemptDecision(state, true); }

// ---------------------------------------------------------------------------
// Restart recovery
// ---------------------------------------------------------------------------

struct RecoveryInput {
  cell::Config config;
  std::vector<PodGroup> groups;             // one 1-GPU pod each
  std::vector<cell::PodBindInfo> bind_infos;  // [group]
};

// `pods` one-GPU pods committed on a cluster of `gpus` GPUs, spread over
// the VCs by quota, listed in a shuffled (informer-like) order.
RecoveryInput MakeRecoveryInput(int64_t gpus, int64_t pods) {
  Cluster c(gpus);
  RecoveryInput in;
  in.config = c.config();
  Rng rng(7);
  const auto& vcs = c.vcs();
  // By quota, the rounding remainder to the first VC.
  std::vector<int64_t> want(vcs.size());
  int64_t others = 0;
  for (size_t v = 1; v < vcs.size(); ++v) {
    want[v] = vcs[v].quota_gpus * pods / c.gpus();
    others += want[v];
  }
  want[0] = pods - others;
  for (size_t v = 0; v < vcs.size(); ++v) {
    for (int64_t k = 0; k < want[v]; ++k) {
      PodGroup g = c.NewGroup(static_cast<int32_t>(v), {1, 1}, 0, "job");
      std::vector<cell::PodBindInfo> infos;
      if (!c.Place(g, &infos)) throw std::runtime_error("recovery input does not fit");
      in.groups.push_back(std::move(g));
      in.bind_infos.push_back(std::move(infos[0]));
    }
  }
  std::vector<size_t> order(in.groups.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  Shuffle(order, rng);
  RecoveryInput shuffled;
  shuffled.config = std::move(in.config);
  for (size_t i : order) {
    shuffled.groups.push_back(std::move(in.groups[i]));
    shuffled.bind_infos.push_back(std::move(in.bind_infos[i]));
  }
  return shuffled;
}

void BM_Recovery(benchmark::State& state) {
  const int64_t gpus = state.range(0), pods = state.range(1);
  static std::map<std::pair<int64_t, int64_t>, RecoveryInput> inputs;
  Cache().cluster.reset();
  Cache().key.clear();
  auto it = inputs.find({gpus, pods});
  if (it == inputs.end()) it = inputs.emplace(std::pair{gpus, pods}, MakeRecoveryInput(gpus, pods)).first;
  const RecoveryInput& in = it->second;
  cell::ManualClock clock(1700000000);

  Samples total, create, replay;
  for (auto _ : state) {
    std::unique_ptr<cell::Scheduler> s;
    auto t0 = Clock::now();
    auto created = cell::Scheduler::Create(in.config, &clock, true);
    auto t1 = Clock::now();
    if (!created.ok()) {
      state.SkipWithError(created.status().message().c_str());
      break;
    }
    s = std::move(created).value();
    for (size_t i = 0; i < in.groups.size(); ++i) {
      const PodGroup& g = in.groups[i];
      cell::Status st = s->AddAllocatedPod(g.pods[0], g.spec, in.bind_infos[i]);
      if (!st.ok()) {
        state.SkipWithError(st.message().c_str());
        break;
      }
    }
    s->FinishRecovery();
    auto t2 = Clock::now();
    total.Add(Ns(t0, t2));
    create.Add(Ns(t0, t1));
    replay.Add(Ns(t1, t2));
    state.SetIterationTime(std::chrono::duration<double>(t2 - t0).count());
    state.PauseTiming();
    s.reset();  // destruction is not part of recovery
    state.ResumeTiming();
  }
  state.counters["p50_ms"] = total.QuantileUs(0.5) / 1000.0;
  state.counters["max_ms"] = total.MaxUs() / 1000.0;
  state.counters["create_p50_ms"] = create.QuantileUs(0.5) / 1000.0;
  state.counters["replay_p50_ms"] = replay.QuantileUs(0.5) / 1000.0;
  state.counters["replay_per_pod_us"] =
      replay.QuantileUs(0.5) / static_cast<double>(in.groups.size());
}

// ---------------------------------------------------------------------------
// Guarantee headroom (computed by the extender on every /metrics scrape)
// ---------------------------------------------------------------------------

void BM_GuaranteeHeadroom(benchmark::State& state) {
  const int64_t gpus = state.range(0), occ = state.range(1);
  CachedCluster& cc = FilledCluster(gpus, occ, Shape{1, kGpusPerNode});
  const cell::Scheduler& s = cc.cluster->scheduler();
  ReportCluster(state, cc);
  Samples total;
  size_t entries = 0;
  for (auto _ : state) {
    auto t0 = Clock::now();
    auto h = s.GuaranteeHeadroom();
    auto t1 = Clock::now();
    entries = h.size();
    benchmark::DoNotOptimize(h);
    total.Add(Ns(t0, t1));
    state.SetIterationTime(std::chrono::duration<double>(t1 - t0).count());
  }
  state.counters["p50_us"] = total.QuantileUs(0.5);
  state.counters["p99_us"] = total.QuantileUs(0.99);
  state.counters["vc_chains"] = static_cast<double>(entries);
}

// ---------------------------------------------------------------------------
// Memory per cell
// ---------------------------------------------------------------------------

void BM_Memory(benchmark::State& state) {
  const int64_t gpus = state.range(0);
  Cache().cluster.reset();
  Cache().key.clear();
  for (auto _ : state) {
    Cluster c(gpus);
    state.SetIterationTime(c.create_seconds());
    const double pcells = static_cast<double>(c.physical_cells());
    const double cells = pcells + static_cast<double>(c.virtual_cells());
    state.counters["cells"] = cells;
    state.counters["heap_B_per_cell"] = static_cast<double>(c.heap_bytes()) / cells;
    state.counters["heap_B_per_pcell"] = static_cast<double>(c.heap_bytes()) / pcells;
    state.counters["rss_B_per_cell"] = static_cast<double>(c.rss_bytes()) / cells;
    state.counters["heap_MiB"] = static_cast<double>(c.heap_bytes()) / (1 << 20);
    state.counters["create_ms"] = c.create_seconds() * 1000.0;
  }
}

// ---------------------------------------------------------------------------
// Registration (the order keeps cached clusters reusable)
// ---------------------------------------------------------------------------

constexpr int64_t kSizes[] = {1024, 10240, 102400};  // 32, 320, 3200 racks
constexpr int64_t kOccupancies[] = {50, 80, 95};

void RegisterAll() {
  for (int64_t gpus : kSizes) {
    benchmark::RegisterBenchmark("BM_Memory", BM_Memory)
        ->ArgNames({"gpus"})
        ->Args({gpus})
        ->Iterations(1)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
  }
  for (int64_t gpus : kSizes) {
    for (int64_t occ : kOccupancies) {
      for (int64_t pod_gpus : {int64_t{1}, int64_t{8}, int64_t{256}}) {
        benchmark::RegisterBenchmark("BM_ScheduleCommitDelete", BM_ScheduleCommitDelete)
            ->ArgNames({"gpus", "occ", "pod_gpus"})
            ->Args({gpus, occ, pod_gpus})
            ->Iterations(IterationsFor(gpus, pod_gpus))
            ->UseManualTime()
            ->Unit(benchmark::kMicrosecond);
        if (gpus == 10240 && occ == 80 && pod_gpus == 1) {
          benchmark::RegisterBenchmark("BM_ScheduleSuggestedAll", BM_ScheduleSuggestedAll)
              ->ArgNames({"gpus", "occ", "pod_gpus"})
              ->Args({gpus, occ, pod_gpus})
              ->Iterations(IterationsFor(gpus, pod_gpus))
              ->UseManualTime()
              ->Unit(benchmark::kMicrosecond);
        }
      }
    }
  }
  for (int64_t group_gpus : {int64_t{8}, int64_t{64}}) {
    benchmark::RegisterBenchmark("BM_PreemptDecision", BM_PreemptDecision)
        ->ArgNames({"gpus", "occ", "group_gpus"})
        ->Args({10240, 95, group_gpus})
        ->Iterations(2000)
        ->UseManualTime()
        ->Unit(benchmark::kMicrosecond);
  }
  benchmark::RegisterBenchmark("BM_PreemptDecisionExplained", BM_PreemptDecisionExplained)
      ->ArgNames({"gpus", "occ", "group_gpus"})
      ->Args({10240, 95, 8})
      ->Iterations(500)
      ->UseManualTime()
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("BM_Recovery", BM_Recovery)
      ->ArgNames({"gpus", "pods"})
      ->Args({10240, 10000})
      ->Iterations(10)
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond);
  for (int64_t gpus : {int64_t{1024}, int64_t{10240}}) {
    benchmark::RegisterBenchmark("BM_GuaranteeHeadroom", BM_GuaranteeHeadroom)
        ->ArgNames({"gpus", "occ"})
        ->Args({gpus, 80})
        ->Iterations(200)
        ->UseManualTime()
        ->Unit(benchmark::kMicrosecond);
  }
}

}  // namespace
}  // namespace apiary::bench

int main(int argc, char** argv) {
  apiary::bench::RegisterAll();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
