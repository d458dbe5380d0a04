// `apiary replay` end to end, in-process: every event of the seeded
// production-scale workload (replay_workload.h) through Replayer::HandleLine
// -- JSON in, annotation parsing, the engine, JSON out -- as the command
// runs it, minus file I/O.
//
//   BM_ReplayEndToEnd/events:N   the first N events of the default workload
//       (10,240 GPUs, 8 VCs), one iteration = the whole script on a fresh
//       Replayer (config load and build excluded). Counters: events_per_s,
//       us_per_event, and the result mix (binds, waits, preempts, errors).
#include <benchmark/benchmark.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "replay.h"
#include "replay_workload.h"

namespace apiary::bench {
namespace {

const ReplayWorkload& Workload() {
  static const ReplayWorkload w = GenerateReplayWorkload(ReplayWorkloadParams{});
  return w;
}

void BM_ReplayEndToEnd(benchmark::State& state) {
  const auto& w = Workload();
  const size_t n = std::min<size_t>(static_cast<size_t>(state.range(0)), w.events.size());
  char path[] = "/tmp/apiary-replay-bench-XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0) {
    state.SkipWithError("mkstemp failed");
    return;
  }
  close(fd);
  std::ofstream(path) << w.config_yaml;
  double seconds = 0;
  int64_t binds = 0, waits = 0, preempts = 0, errors = 0;
  for (auto _ : state) {
    auto r = cli::Replayer::Create(path);
    if (!r.ok()) {
      state.SkipWithError(r.status().message().c_str());
      break;
    }
    binds = waits = preempts = errors = 0;
    const auto start = std::chrono::steady_clock::now();
    for (size_t i = 0; i < n; ++i) {
      std::string out = (*r)->HandleLine(w.events[i], static_cast<int64_t>(i + 1));
      if (out.find(R"("result":"bind")") != std::string::npos) ++binds;
      else if (out.find(R"("result":"wait")") != std::string::npos) ++waits;
      else if (out.find(R"("result":"preempt")") != std::string::npos) ++preempts;
      else if (out.find(R"("result":"error")") != std::string::npos) ++errors;
      benchmark::DoNotOptimize(out);
    }
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    seconds += s;
    state.SetIterationTime(s);
  }
  std::remove(path);
  const double events = static_cast<double>(n) * static_cast<double>(state.iterations());
  state.counters["events_per_s"] = events / seconds;
  state.counters["us_per_event"] = 1e6 * seconds / events;
  state.counters["binds"] = static_cast<double>(binds);
  state.counters["waits"] = static_cast<double>(waits);
  state.counters["preempts"] = static_cast<double>(preempts);
  state.counters["errors"] = static_cast<double>(errors);
}
BENCHMARK(BM_ReplayEndToEnd)
    ->ArgName("events")
    ->Arg(20000)
    ->Arg(195000)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);

}  // namespace
}  // namespace apiary::bench

BENCHMARK_MAIN();
