// Simulator benchmarks (bench/README.md, "Simulator"):
//   BM_EventLoop          the bare event queue: push + pop of timed events,
//                         at a steady heap size (events/s)
//   BM_ReplayPhilly/P     the full bundled Philly trace (82,247 jobs) on a
//                         10,000-GPU cluster (1,250 8-GPU P40 nodes, VC
//                         quotas from the trace's GPU-second shares) under
//                         policy P; the trace is parsed once, outside the
//                         timing (jobs/s)
//   BM_ReplayPhillyPlacement/P  the same with the placement model on
//                         (classes drawn, spread-dependent speeds,
//                         topology-blind baselines)
//   BM_ParsePhilly        reading the trace itself
#include <benchmark/benchmark.h>

#include <cstdint>

#include "apiary/sim/event_queue.h"
#include "apiary/sim/placement_model.h"
#include "apiary/sim/scenario.h"
#include "apiary/sim/simulator.h"
#include "apiary/sim/workload.h"
#include "apiary/traces/readers.h"

namespace apiary::sim {
namespace {

std::string PhillyPath() {
  return std::string(APIARY_SOURCE_DIR) + "/traces/data/philly/philly_jobs_pollux.csv";
}

void BM_EventLoop(benchmark::State& state) {
  const int64_t live = state.range(0);
  EventQueue q;
  q.Reserve(static_cast<size_t>(live) + 1);
  uint64_t x = 1;
  for (int64_t i = 0; i < live; ++i) {
    x = SplitMix64(x);
    q.Push(static_cast<int64_t>(x % 100000), 0, static_cast<int32_t>(i));
  }
  int64_t events = 0;
  for (auto _ : state) {
    // One event handled = one pop and the push of its successor, as a
    // completion schedules the next job's completion.
    Event e = q.Pop();
    x = SplitMix64(x);
    q.Push(e.time + static_cast<int64_t>(x % 10000), e.kind, e.job, e.epoch);
    ++events;
  }
  state.counters["events_per_s"] =
      benchmark::Counter(static_cast<double>(events), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_EventLoop)->Arg(1000)->Arg(10000)->Arg(100000);

struct Loaded {
  Scenario scenario;
  bool ok = false;
};

const Loaded& PhillyOn10k() {
  static Loaded l = [] {
    Loaded x;
    ScenarioOptions o;
    o.trace_paths = {PhillyPath()};
    o.nodes = 1250;
    o.gpus_per_node = 8;
    auto sc = LoadScenario(o);
    if (sc.ok()) {
      x.scenario = std::move(sc).value();
      x.ok = true;
    }
    return x;
  }();
  return l;
}

const PlacementModel* Model() {
  static const PlacementModel* m = [] {
    auto r = PlacementModel::Load(std::string(APIARY_SOURCE_DIR) + "/traces/data/calibration");
    return r.ok() ? new PlacementModel(std::move(r).value()) : nullptr;
  }();
  return m;
}

void Replay(benchmark::State& state, bool placement) {
  const Loaded& l = PhillyOn10k();
  if (!l.ok) {
    state.SkipWithError("cannot load the Philly trace");
    return;
  }
  SimOptions options;
  if (placement) {
    options.placement = Model();
    if (!options.placement) {
      state.SkipWithError("cannot load the calibration data");
      return;
    }
  }
  const PolicyKind p = static_cast<PolicyKind>(state.range(0));
  int64_t jobs = 0;
  for (auto _ : state) {
    auto r = Simulate(l.scenario.cluster, l.scenario.workload, p, options);
    if (!r.ok()) {
      state.SkipWithError(r.status().message().c_str());
      return;
    }
    jobs += static_cast<int64_t>(r->jobs.size());
    benchmark::DoNotOptimize(r->makespan_s);
  }
  state.SetLabel(std::string(PolicyName(p)) + ", " +
                 std::to_string(l.scenario.cluster.TotalGpus()) + " GPUs");
  state.counters["jobs_per_s"] =
      benchmark::Counter(static_cast<double>(jobs), benchmark::Counter::kIsRate);
}
void BM_ReplayPhilly(benchmark::State& state) { Replay(state, false); }
void BM_ReplayPhillyPlacement(benchmark::State& state) { Replay(state, true); }
BENCHMARK(BM_ReplayPhilly)
    ->Arg(static_cast<int>(PolicyKind::kHived))
    ->Arg(static_cast<int>(PolicyKind::kStatic))
    ->Arg(static_cast<int>(PolicyKind::kQuota))
    ->Unit(benchmark::kMillisecond)
    ->MinTime(3.0);
BENCHMARK(BM_ReplayPhillyPlacement)
    ->Arg(static_cast<int>(PolicyKind::kHived))
    ->Arg(static_cast<int>(PolicyKind::kStatic))
    ->Arg(static_cast<int>(PolicyKind::kQuota))
    ->Unit(benchmark::kMillisecond)
    ->MinTime(3.0);

void BM_ParsePhilly(benchmark::State& state) {
  for (auto _ : state) {
    auto t = traces::ReadPhillyJobs(PhillyPath());
    benchmark::DoNotOptimize(t.ok());
  }
}
BENCHMARK(BM_ParsePhilly)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace apiary::sim

BENCHMARK_MAIN();
