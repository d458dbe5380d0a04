// apiary-sim: the trace-driven cluster simulator (sim/README.md).
//   apiary-sim run       replay a trace under hived / static / quota, compare
//   apiary-sim size-vcs  the smallest quota per VC that meets a wait target
//   apiary-sim merge     combine the shards of a sharded size-vcs sweep
//   apiary-sim whatif    from a live cluster's state: when pending jobs start
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "apiary/cell/text.h"
#include "apiary/sim/replay_export.h"
#include "apiary/sim/report.h"
#include "apiary/sim/scenario.h"
#include "apiary/sim/simulator.h"
#include "apiary/sim/sizing.h"
#include "apiary/sim/stats.h"
#include "apiary/sim/thread_pool.h"
#include "apiary/sim/whatif.h"
#include "apiary/cell/config_loader.h"
#include "apiary/wire/pod_list.h"

namespace {

using namespace apiary::sim;  // NOLINT: a program, not a header

// A CLI11 validator/transform for durations.
struct DurationOption {
  std::string text;
  int64_t* target;
};

int Fail(const std::string& message, int code = 2) {
  std::cerr << "apiary-sim: " << message;
  if (message.empty() || message.back() != '\n') std::cerr << '\n';
  return code;
}

std::string JoinArgs(int argc, char** argv) {
  std::string s = "apiary-sim";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    bool plain = a.find_first_of(" '\"$`\\") == std::string::npos && !a.empty();
    s += " " + (plain ? a : "'" + a + "'");
  }
  return s;
}

struct Durations {
  std::string from = "0", to, checkpoint = "0", bin = "1h", max_wait = "30m";
  std::string wait_target;  // run: a p95 wait target for the vc_waits plot ("" = none)
};

void AddTraceOptions(CLI::App* app, ScenarioOptions& o, Durations& d) {
  app->add_option("--trace", o.trace_paths,
                  "Job trace file (repeat for PAI: job table, then task table)")
      ->required();
  app->add_option("--trace-format", o.trace_format,
                  "Trace format: philly, openb, pai, helios, swf or canonical")
      ->capture_default_str();
  app->add_option("--reference-sku", o.reference_sku,
                  "GPU SKU the trace's durations were measured on (default: the reader's, "
                  "e.g. P40 for Philly); durations scale by speed relative to it");
  app->add_flag("--skip-bad-rows", o.skip_bad_rows,
                "Skip malformed trace rows (counted) instead of failing on the first");
  app->add_option("--from", d.from,
                  "Simulate jobs submitted at or after this time since the trace start "
                  "(e.g. 0, 12h, 7d)")
      ->capture_default_str();
  app->add_option("--to", d.to, "... and before this time (default: the trace's end)");
  app->add_option("--max-jobs", o.workload.max_jobs,
                  "Simulate at most this many jobs (the earliest); 0 = all")
      ->capture_default_str();
  app->add_option("--sample", o.workload.sample,
                  "Keep each job with this probability (reproducible with --seed)")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  app->add_option("--seed", o.workload.seed, "Seed of --sample's choice")->capture_default_str();
  app->add_option("--load-factor", o.workload.load_factor,
                  "Divide submit times by this (2 = arrivals twice as dense: twice the load "
                  "on the same cluster); durations are unchanged")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
}

void AddNodeOptions(CLI::App* app, ScenarioOptions& o) {
  app->add_option("--sku", o.sku,
                  "GPU SKU of generated nodes (default: the trace's reference SKU)");
  app->add_option("--opaque-sku", o.opaque_skus,
                  "Accept this GPU model name although traces/SKUS.md does not know it "
                  "(repeatable); it runs at the reference SKU's speed. Any other unknown SKU "
                  "name is an error");
  app->add_option("--gpus-per-node", o.gpus_per_node, "GPUs per generated node")
      ->capture_default_str();
  app->add_option("--rack-nodes", o.cluster.rack_nodes,
                  "Nodes per rack cell (the top of each chain); the largest divisor of a "
                  "group's node count not above it is used")
      ->capture_default_str();
}

Result<QuotaLevel> LevelFrom(const std::string& s) { return ParseQuotaLevel(s); }

// ---------------------------------------------------------------------------

// The placement model's measurements: the source tree's when this binary
// was built from one that still exists, else the installed copy beside the
// binary (<prefix>/bin/../share/apiary/calibration).
std::string DefaultCalibrationDir() {
  namespace fs = std::filesystem;
  std::error_code ec;
#ifdef APIARY_SOURCE_DIR
  const fs::path source = fs::path(APIARY_SOURCE_DIR) / "traces/data/calibration";
  if (fs::is_directory(source, ec)) return source.string();
#endif
#ifdef APIARY_INSTALL_CALIBRATION_DIR
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const fs::path installed = exe.parent_path().parent_path() / APIARY_INSTALL_CALIBRATION_DIR;
    if (fs::is_directory(installed, ec)) return installed.string();
  }
#endif
  return "traces/data/calibration";
}

// --placement-model, --calibration, --class-seed (run and size-vcs: the
// quotas size-vcs finds hold in a run with the same model).
struct PlacementFlags {
  std::string mode = "on";
  std::string calibration = DefaultCalibrationDir();
  uint64_t seed = 1;
};

void AddPlacementOptions(CLI::App* cmd, PlacementFlags& pf) {
  cmd->add_option("--placement-model", pf.mode,
                  "on: a job's speed depends on its class, SKU and how its GPUs are spread "
                  "(calibrated from Gavel and Pollux measurements), and the baselines place "
                  "GPUs without regard to nodes; off: SKU speed only, each baseline pod on one "
                  "node (the results before the model existed)")
      ->capture_default_str();
  cmd->add_option("--calibration", pf.calibration,
                  "Directory of the placement model's measurements (gavel/, pollux/)")
      ->capture_default_str();
  cmd->add_option("--class-seed", pf.seed,
                  "Seed of the job-class draw for jobs whose trace gives no model_class")
      ->capture_default_str();
}

// Loads the model when --placement-model is on and points `sim` at it;
// "" or the error message.
std::string LoadPlacement(const PlacementFlags& pf, std::optional<PlacementModel>& model,
                          SimOptions& sim) {
  if (pf.mode == "off") return "";
  if (pf.mode != "on") return "--placement-model: expected on or off, got " + pf.mode;
  auto m = PlacementModel::Load(pf.calibration);
  if (!m.ok())
    return m.status().message() +
           " (--calibration DIR names the measurements; --placement-model off runs without)";
  model = std::move(m).value();
  sim.placement = &*model;
  sim.class_seed = pf.seed;
  return "";
}

int RunCommand(const PlacementFlags& pf, ScenarioOptions so, const Durations& d, bool borrow, bool explain,
               const std::string& policies_text,
               const std::string& queue, const std::string& unknown_vc, const std::string& level,
               const std::string& out_dir, bool no_plots, bool check, int threads, bool quiet,
               const std::string& export_replay, const std::vector<std::string>& snapshot_at,
               const std::string& command) {
  if (!ParseDuration(d.from, &so.workload.from_s)) return Fail("--from: bad duration " + d.from);
  if (!d.to.empty() && !ParseDuration(d.to, &so.workload.to_s))
    return Fail("--to: bad duration " + d.to);
  auto ql = LevelFrom(level);
  if (!ql.ok()) return Fail("--quota-level: " + ql.status().message());
  so.cluster.quota_level = *ql;

  SimOptions sim;
  auto q = ParseQueuePolicy(queue);
  if (!q.ok()) return Fail("--queue: " + q.status().message());
  sim.queue = *q;
  if (!ParseDuration(d.checkpoint, &sim.checkpoint_interval_s))
    return Fail("--checkpoint-interval: bad duration " + d.checkpoint);
  if (!ParseDuration(d.bin, &sim.bin_s) || sim.bin_s <= 0)
    return Fail("--bin: bad duration " + d.bin);
  if (unknown_vc == "opportunistic") sim.unknown_vc = UnknownVc::kOpportunistic;
  else if (unknown_vc == "reject") sim.unknown_vc = UnknownVc::kReject;
  else return Fail("--unknown-vc: expected opportunistic or reject, got " + unknown_vc);
  sim.check_invariants = check;
  sim.borrow = borrow;
  sim.explain = explain;
  std::optional<PlacementModel> model;
  if (std::string err = LoadPlacement(pf, model, sim); !err.empty()) return Fail(err);

  std::vector<PolicyKind> policies;
  {
    std::stringstream ss(policies_text);
    std::string p;
    while (std::getline(ss, p, ',')) {
      if (p.empty()) continue;
      auto k = ParsePolicy(p);
      if (!k.ok()) return Fail("--policies: " + k.status().message());
      policies.push_back(*k);
    }
    if (policies.empty()) return Fail("--policies: no policy given");
  }

  ReplayLog replay_log;
  if (!export_replay.empty()) {
    if (std::find(policies.begin(), policies.end(), PolicyKind::kHived) == policies.end())
      return Fail("--export-replay: records the hived policy's decisions; add hived to --policies");
    auto st = replay_log.Open(export_replay);
    if (!st.ok()) return Fail("--export-replay: " + st.message());
    sim.replay_log = &replay_log;
  }

  SimSnapshot snapshot;
  if (!snapshot_at.empty()) {
    if (!ParseDuration(snapshot_at[0], &sim.snapshot_at_s))
      return Fail("--snapshot-at: bad time " + snapshot_at[0] +
                  " (seconds since the start, or e.g. 36h)");
    if (std::find(policies.begin(), policies.end(), PolicyKind::kHived) == policies.end())
      return Fail("--snapshot-at: records the hived policy's state; add hived to --policies");
  }

  auto t0 = std::chrono::steady_clock::now();
  auto sc = LoadScenario(so);
  if (!sc.ok()) return Fail(sc.status().message());
  const double load_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!quiet) {
    std::cout << "trace:   " << sc->trace_description << "\n";
    std::cout << "cluster: " << sc->cluster_description << "\n";
    for (const ReaderReport& r : sc->readers) std::cout << "read:    " << r.Format() << "\n";
    for (const std::string& n : sc->notes) std::cout << "note:    " << n << "\n";
    std::cout << std::flush;
  }

  std::vector<SimResult> results(policies.size());
  std::vector<apiary::cell::Status> errors(policies.size());
  {
    ThreadPool pool(std::min<int>(threads <= 0 ? 64 : threads,
                                  static_cast<int>(policies.size())));
    const bool serial = pool.size() == 1;
    ParallelFor(pool, policies.size(), [&](size_t i) {
      SimOptions o = sim;
      // Parallel runs would fight over one terminal line: only the first shows it.
      if (serial || i == 0)
        o.progress_label = "[" + std::string(PolicyName(policies[i])) + "]";
      if (!snapshot_at.empty() && policies[i] == PolicyKind::kHived) o.snapshot = &snapshot;
      auto r = Simulate(sc->cluster, sc->workload, policies[i], o);
      if (r.ok()) results[i] = std::move(r).value();
      else errors[i] = r.status();
    });
  }
  for (size_t i = 0; i < policies.size(); ++i)
    if (!errors[i].ok())
      return Fail(std::string(PolicyName(policies[i])) + ": " + errors[i].message(),
                  errors[i].code() == apiary::cell::StatusCode::kInternal ? 1 : 2);

  if (replay_log.is_open()) {
    auto st = replay_log.Finish(sc->cluster.hived);
    if (!st.ok()) return Fail("--export-replay: " + st.message());
    if (!quiet)
      std::cout << "replay:  " << export_replay << "/config.yaml, " << export_replay
                << "/events.jsonl (" << replay_log.schedules() << " schedule calls, "
                << replay_log.deletes() << " deletions), " << export_replay
                << "/placements.csv (" << replay_log.binds().size()
                << " binds); check: apiary replay --config " << export_replay << "/config.yaml "
                << export_replay << "/events.jsonl\n";
  }

  if (!snapshot_at.empty()) {
    auto st = WriteSnapshot(snapshot_at[1], sc->cluster, sc->workload, snapshot);
    if (!st.ok()) return Fail("--snapshot-at: " + st.message());
    if (!quiet)
      std::cout << "snapshot: the hived state at t=" << snapshot.time_s << " ("
                << snapshot.running.size() << " running, " << snapshot.waiting.size()
                << " waiting jobs) in " << snapshot_at[1]
                << "/{config.yaml,pods.json,jobs.json}; check: apiary-sim whatif --config "
                << snapshot_at[1] << "/config.yaml --pods " << snapshot_at[1]
                << "/pods.json --jobs " << snapshot_at[1] << "/jobs.json\n";
  }

  std::vector<PolicySummary> summaries;
  for (const SimResult& r : results) summaries.push_back(Summarize(r, sc->workload, sc->cluster));
  RunMeta meta{command, sim};
  if (!d.wait_target.empty() && !ParseDuration(d.wait_target, &meta.wait_target_s))
    return Fail("--wait-target: bad duration " + d.wait_target);
  auto notes = WriteOutputs(out_dir, *sc, meta, results, summaries, !no_plots);
  if (!notes.ok()) return Fail(notes.status().message());

  if (!quiet) {
    std::cout << "\n" << FormatComparisonTable(summaries);
    std::cout << FormatExclusions(summaries);
    if (const std::string waits = FormatWaitReasons(summaries); !waits.empty())
      std::cout << "\nwhy jobs waited (--explain):\n" << waits;
    std::cout << "\np95 / mean wait per VC:\n" << FormatVcTable(summaries);
    if (model)
      std::cout << "\nplacement model (" << pf.calibration << "):\n"
                << FormatPlacementSummary(results);
    const std::string findings = FormatFindings(summaries);
    if (!findings.empty()) std::cout << "\nagainst static partitions:\n" << findings;
    std::cout << "\nwait = time queued; util = allocated GPU-time / (GPUs x makespan); "
                 "idle|wait = mean free GPUs while jobs wait; frag = of which a waiting job's "
                 "VC had quota for\n";
    for (const std::string& n : *notes) std::cout << "note: " << n << "\n";
    std::cout << "\nreport: " << out_dir << "/report.md  (summary.json, CSVs, plots beside it)\n";
  }
  std::fprintf(stderr, "trace load + cluster build %.2fs;", load_s);
  for (const SimResult& r : results)
    std::fprintf(stderr, " %s %.2fs (%.0f jobs/s)", std::string(PolicyName(r.policy)).c_str(),
                 r.wall_s, r.wall_s > 0 ? static_cast<double>(r.jobs.size()) / r.wall_s : 0.0);
  std::fprintf(stderr, "\n");
  return 0;
}

int SizeCommand(const PlacementFlags& pf, ScenarioOptions so, const Durations& d,
                SizingOptions opt,
                const std::string& level, const std::string& policy, double percentile,
                const std::string& queue, int64_t shard_index, int64_t shard_count,
                const std::string& out, const std::string& report_dir, bool no_plots,
                const std::string& command, bool quiet) {
  if (!ParseDuration(d.from, &so.workload.from_s)) return Fail("--from: bad duration " + d.from);
  if (!d.to.empty() && !ParseDuration(d.to, &so.workload.to_s))
    return Fail("--to: bad duration " + d.to);
  if (!ParseDuration(d.max_wait, &opt.max_wait_s))
    return Fail("--max-wait: bad duration " + d.max_wait);
  if (!ParseDuration(d.checkpoint, &opt.sim.checkpoint_interval_s))
    return Fail("--checkpoint-interval: bad duration " + d.checkpoint);
  auto ql = LevelFrom(level);
  if (!ql.ok()) return Fail("--level: " + ql.status().message());
  opt.level = *ql;
  opt.rack_nodes = so.cluster.rack_nodes;
  auto pk = ParsePolicy(policy);
  if (!pk.ok()) return Fail("--policy: " + pk.status().message());
  opt.policy = *pk;
  opt.percentile = percentile / 100.0;
  auto q = ParseQueuePolicy(queue);
  if (!q.ok()) return Fail("--queue: " + q.status().message());
  opt.sim.queue = *q;
  std::optional<PlacementModel> model;
  if (std::string err = LoadPlacement(pf, model, opt.sim); !err.empty()) return Fail(err);
  // Generated nodes: the workload alone (each simulation builds its own
  // cluster). An inventory, a HiveD config or a quota file: the cluster too,
  // for its SKUs, node sizes and current quotas.
  so.workload_only =
      so.inventory_path.empty() && so.hived_config.empty() && so.vc_quotas_path.empty();
  so.cluster.quota_level = opt.level;
  auto sc = LoadScenario(so);
  if (!sc.ok()) return Fail(sc.status().message());
  if (!quiet) {
    std::cout << "trace: " << sc->trace_description << "\n";
    if (!so.workload_only) std::cout << "cluster: " << sc->cluster_description << "\n";
    for (const ReaderReport& r : sc->readers) std::cout << "read:  " << r.Format() << "\n";
    std::cout << std::flush;
  }

  if (shard_count > 0) {
    if (shard_index < 0) {
      const char* env = std::getenv("JOB_COMPLETION_INDEX");
      if (!env) return Fail("--shard-count given without --shard-index or JOB_COMPLETION_INDEX");
      try {
        shard_index = std::stoll(env);
      } catch (...) {
        return Fail(std::string("JOB_COMPLETION_INDEX is not a number: ") + env);
      }
    }
    auto bounds = ComputeBounds(*sc, opt);
    if (!bounds.ok()) return Fail(bounds.status().message());
    opt.progress_label = "[sweep shard " + std::to_string(shard_index) + "]";
    auto pts = RunSweepShard(*sc, opt, shard_index, shard_count);
    if (!pts.ok()) return Fail(pts.status().message());
    std::string text = ShardJson(*sc, opt, *bounds, shard_index, shard_count, *pts);
    std::string path = out.empty() ? "shard-" + std::to_string(shard_index) + ".json" : out;
    std::ofstream f(path);
    if (!(f << text)) return Fail(path + ": cannot write");
    if (!quiet)
      std::cout << "shard " << shard_index << " of " << shard_count << ": " << pts->size()
                << " of " << bounds->points() << " sweep points -> " << path << "\n";
    return 0;
  }
  opt.progress_label = "[size-vcs]";
  auto r = SizeVcs(*sc, opt);
  if (!r.ok()) return Fail(r.status().message());
  if (!quiet) {
    std::cout << "target: p" << percentile << " wait <= "
              << FormatDuration(static_cast<double>(opt.max_wait_s)) << " in every VC, policy "
              << r->policy << ", quotas in " << r->level << " cells"
              << (so.workload_only ? " of " + std::to_string(r->unit_gpus) + " GPUs (" +
                                         sc->node_sku + ")"
                                   : std::string(" per VC and SKU"))
              << ", placement model " << r->placement_model << "\n\n"
              << FormatSizingTable(*r) << "\n"
              << r->simulations << " simulations in " << r->wall_s << " s"
              << (r->all_met ? "" : "; some VCs miss the target even at their upper bound") << "\n";
  }
  if (!out.empty()) {
    std::ofstream f(out);
    if (!(f << SizingJson(*r))) return Fail(out + ": cannot write");
  }
  if (!report_dir.empty()) {
    auto notes = WriteSizingReport(report_dir, *r, command, !no_plots);
    if (!notes.ok()) return Fail(notes.status().message());
    if (!quiet) {
      for (const std::string& n : *notes) std::cout << "note: " << n << "\n";
      std::cout << "report: " << report_dir << "/report.md (quotas.csv for run --vc-quotas, "
                << "wait-vs-quota plots)\n";
    }
  }
  return 0;
}

int WhatIfCommand(const std::string& config_path, const std::string& pods_path,
                  const std::string& jobs_path, const std::string& json_path,
                  const std::string& queue, bool borrow) {
  auto slurp = [](const std::string& path, std::string* out) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return false;
    std::ostringstream ss;
    ss << in.rdbuf();
    *out = ss.str();
    return true;
  };
  auto config = apiary::cell::LoadConfigFile(config_path);
  if (!config.ok()) return Fail("--config: " + config.status().message());
  std::string text;
  if (!slurp(pods_path, &text)) return Fail("--pods: cannot read " + pods_path);
  auto pods = apiary::wire::ReadPodList(text, pods_path);
  if (!pods.ok()) return Fail(pods.status().message());
  WhatIfJobs jobs;
  if (!jobs_path.empty()) {
    if (!slurp(jobs_path, &text)) return Fail("--jobs: cannot read " + jobs_path);
    auto j = ReadWhatIfJobs(text, jobs_path);
    if (!j.ok()) return Fail(j.status().message());
    jobs = std::move(j).value();
  }
  WhatIfOptions opt;
  auto q = ParseQueuePolicy(queue);
  if (!q.ok()) return Fail("--queue: " + q.status().message());
  opt.queue = *q;
  opt.borrow = borrow;
  auto r = RunWhatIf(config->config, *pods, pods_path, jobs, opt);
  if (!r.ok()) return Fail(r.status().message());
  if (json_path != "-") std::cout << FormatWhatIf(*r);
  if (json_path == "-") std::cout << WhatIfJson(*r);
  else if (!json_path.empty()) {
    auto st = WriteTextFile(json_path, WhatIfJson(*r));
    if (!st.ok()) return Fail("--json: " + st.message());
  }
  return 0;
}

int MergeCommand(const std::vector<std::string>& files, const std::string& out) {
  std::vector<std::string> texts;
  for (const std::string& f : files) {
    std::ifstream in(f);
    if (!in) return Fail(f + ": cannot open: " + std::strerror(errno));
    std::stringstream ss;
    ss << in.rdbuf();
    texts.push_back(ss.str());
  }
  auto r = MergeShards(texts, files);
  if (!r.ok()) return Fail(r.status().message());
  std::cout << FormatSizingTable(*r);
  if (!out.empty()) {
    std::ofstream f(out);
    if (!(f << SizingJson(*r))) return Fail(out + ": cannot write");
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "apiary-sim: a trace-driven GPU-cluster simulator on Apiary's production scheduling "
      "engine. It replays a job trace through the same libcell calls the scheduler extender "
      "makes, compares HiveD placement with static partitioning and quota-only first-fit "
      "sharing, and sizes virtual clusters. See sim/README.md."};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("apiary-sim ") + APIARY_VERSION);

  // ---- run ----
  ScenarioOptions run_so;
  Durations run_d;
  std::string policies = "hived,static,quota", queue = "fifo", unknown_vc = "opportunistic",
              quota_level = "node", out_dir = "sim-out";
  std::string export_replay;
  bool no_plots = false, check = false, quiet = false, run_borrow = false, run_explain = false;
  int threads = 0;
  auto* run = app.add_subcommand(
      "run",
      "Replay a trace on a cluster under each placement policy; print the comparison table and "
      "write summary.json, per-policy CSVs, plots (gnuplot) and report.md into --out.");
  AddTraceOptions(run, run_so, run_d);
  run->add_option("--hived-config", run_so.hived_config,
                  "A hand-written HiveD config as the cluster (its chains, nodes and VC quotas)");
  run->add_option("--inventory", run_so.inventory_path,
                  "Node list to build the cluster from (one chain per SKU and node size)");
  run->add_option("--inventory-format", run_so.inventory_format,
                  "Node list format: openb, pai, spot or canonical")
      ->capture_default_str();
  run->add_option("--nodes", run_so.nodes,
                  "Generate this many identical nodes (default with --vc-quotas: the sum of "
                  "the quotas)");
  AddNodeOptions(run, run_so);
  run->add_option("--vc-quotas", run_so.vc_quotas_path,
                  "VC quota file (Helios 'vc,node num', canonical vc,nodes|gpus[,gpu_model], or "
                  "Helios daily GPU quotas 'date,<vc>...,total' (cluster_gpu_number.csv)); "
                  "default: split the cluster by the trace's GPU-second shares");
  run->add_option("--vc-quotas-date", run_so.vc_quotas_date,
                  "With a Helios daily quota file: the day (YYYY-MM-DD) whose quotas to use "
                  "(default: the file's first day)");
  run->add_option("--quota-level", quota_level,
                  "Cells the quotas are given in to HiveD: gpu, node or rack")
      ->capture_default_str();
  run->add_option("--policies", policies,
                  "Comma-separated placement policies: hived (the production engine), static "
                  "(static partitioning), quota (quota-only first-fit sharing)")
      ->capture_default_str();
  run->add_option("--queue", queue,
                  "Per-VC queue order: fifo (submit time) or sjf (shortest remaining first)")
      ->capture_default_str();
  run->add_option("--checkpoint-interval", run_d.checkpoint,
                  "Preempted jobs resume from the last checkpoint taken every this long "
                  "(e.g. 30m); 0 = restart from scratch")
      ->capture_default_str();
  run->add_option("--unknown-vc", unknown_vc,
                  "Jobs of VCs without a quota: opportunistic (priority -1, preemptible) or "
                  "reject")
      ->capture_default_str();
  run->add_flag("--borrow", run_borrow,
               "Guaranteed jobs that do not fit their VC's quota run opportunistically on "
               "idle GPUs (priority -1, preempted when the owners need them) under hived and "
               "quota; static never lends");
  run->add_flag("--explain", run_explain,
                "hived: have the engine explain every wait and report, per rule "
                "(docs/explain.md), the jobs whose first wait it named; decisions are unchanged");
  run->add_option("--bin", run_d.bin, "Time-series bin width (e.g. 1h, 30m)")
      ->capture_default_str();
  run->add_option("--out", out_dir, "Output directory")->capture_default_str();
  run->add_option("--wait-target", run_d.wait_target,
                  "A p95 wait target (e.g. 1h), drawn as a line on vc_waits.png");
  run->add_flag("--no-plots", no_plots, "Write the plot data and scripts but do not run gnuplot");
  run->add_flag("--check-invariants", check,
                "Audit the policy's invariants after every scheduling pass (slow)");
  run->add_option("--threads", threads,
                  "Policies simulated in parallel (default: one thread per policy)");
  run->add_flag("-q,--quiet", quiet, "Print nothing but errors and timings");
  PlacementFlags placement;
  AddPlacementOptions(run, placement);
  run->add_option("--export-replay", export_replay,
                  "Write DIR/config.yaml (the HiveD config built), DIR/events.jsonl (every "
                  "scheduler call of the hived policy as an `apiary replay` script) and "
                  "DIR/placements.csv (every bind), so that `apiary replay --config "
                  "DIR/config.yaml DIR/events.jsonl` reproduces each pod's placement");

  std::vector<std::string> snapshot_at;
  run->add_option("--snapshot-at", snapshot_at,
                  "T DIR: write the hived policy's state after the last scheduling pass at or "
                  "before T (seconds, or e.g. 36h) as a what-if's inputs: DIR/config.yaml, "
                  "DIR/pods.json (running pods with bind info and expected ends), DIR/jobs.json "
                  "(waiting jobs); `apiary-sim whatif` continues from it")
      ->expected(2);

  // ---- size-vcs ----
  ScenarioOptions size_so;
  Durations size_d;
  SizingOptions sizing;
  std::string size_level = "node", size_policy = "hived", size_queue = "fifo", size_out,
              size_report;
  bool size_no_plots = false;
  double percentile = 95;
  int64_t shard_index = -1, shard_count = 0;
  bool size_quiet = false;
  auto* size = app.add_subcommand(
      "size-vcs",
      "Find the smallest quota per VC (in cells of --level) such that every VC's --percentile "
      "wait is at most --max-wait, by simulations on a thread pool. Each simulation generates "
      "a cluster of --sku nodes holding exactly the candidate quotas. With --shard-count the "
      "sweep is split for a Kubernetes Indexed Job; combine shard files with `merge`.");
  AddTraceOptions(size, size_so, size_d);
  AddNodeOptions(size, size_so);
  size->add_option("--level", size_level, "Quota cells: gpu, node or rack")->capture_default_str();
  size->add_option("--percentile", percentile, "Wait percentile of the target (1-100)")
      ->check(CLI::Range(1.0, 100.0))
      ->capture_default_str();
  size->add_option("--max-wait", size_d.max_wait, "Target: that percentile of waits <= this")
      ->capture_default_str();
  size->add_option("--policy", size_policy,
                   "Placement policy: hived or static (VCs must be isolated to be sized)")
      ->capture_default_str();
  size->add_option("--min-cells", sizing.min_cells,
                   "Lower search bound per VC (0 = the cells its largest job needs)")
      ->capture_default_str();
  size->add_option("--max-cells", sizing.max_cells,
                   "Upper search bound per VC (0 = the cells its peak demand needs)")
      ->capture_default_str();
  size->add_option("--threads", sizing.threads, "Worker threads (0 = one per core)")
      ->capture_default_str();
  size->add_option("--queue", size_queue, "Per-VC queue order: fifo or sjf")
      ->capture_default_str();
  size->add_option("--checkpoint-interval", size_d.checkpoint,
                   "As for run (matters only with preemption)")
      ->capture_default_str();
  size->add_option("--shard-index", shard_index,
                   "This shard's index in [0, --shard-count) (default: $JOB_COMPLETION_INDEX)");
  size->add_option("--shard-count", shard_count,
                   "Split the exhaustive sweep into this many shards and run one; writes the "
                   "shard's points to --out (default shard-<index>.json)");
  size->add_option("--out", size_out, "Write the answer (or the shard's points) as JSON here");
  size->add_option("--inventory", size_so.inventory_path,
                   "Size the VCs of this node list's cluster: per VC and SKU, on generated "
                   "nodes of each SKU's (most common) node size");
  size->add_option("--inventory-format", size_so.inventory_format,
                   "Node list format: openb, pai, spot or canonical")
      ->capture_default_str();
  size->add_option("--hived-config", size_so.hived_config,
                   "Size the VCs of this HiveD config's cluster (per VC and SKU)");
  size->add_option("--vc-quotas", size_so.vc_quotas_path,
                   "Current quotas (as for run): reported beside the answer; VCs without one "
                   "are not sized unless --all-vcs");
  size->add_option("--vc-quotas-date", size_so.vc_quotas_date,
                   "With a Helios daily quota file: the day (YYYY-MM-DD)");
  size->add_flag("--all-vcs", sizing.all_vcs,
                 "Also size VCs that have no quota in the given cluster");
  size->add_option("--report", size_report,
                   "Write DIR/quotas.csv (a quota file run --vc-quotas reads), DIR/report.md, "
                   "DIR/sizing.json and a wait-vs-quota plot per VC");
  size->add_flag("--no-plots", size_no_plots, "With --report: write plot scripts, do not draw");
  size->add_flag("-q,--quiet", size_quiet, "Print nothing but errors");
  PlacementFlags size_placement;
  AddPlacementOptions(size, size_placement);

  // ---- merge ----
  std::vector<std::string> merge_files;
  std::string merge_out;
  auto* merge = app.add_subcommand(
      "merge", "Combine the shard files of a sharded size-vcs sweep into the answer.");
  merge->add_option("SHARDS", merge_files, "Shard files written by size-vcs --shard-count")
      ->required();
  merge->add_option("--out", merge_out, "Write the answer as JSON here");

  // ---- whatif ----
  std::string wi_config, wi_pods, wi_jobs, wi_json, wi_queue = "fifo";
  bool wi_borrow = false;
  auto* whatif = app.add_subcommand(
      "whatif",
      "From a live cluster's state (the HiveD config, its pods as `kubectl get pods -A -o json` "
      "prints them, the pending jobs with expected durations) simulate forward on the hived "
      "engine: per pending job its start, the jobs it preempts and its VC's queue ahead of it; "
      "per VC when its guaranteed quota frees up. See sim/README.md, \"What-if\".");
  whatif->add_option("--config", wi_config, "The extender's HiveD configuration (YAML)")
      ->required();
  whatif->add_option("--pods", wi_pods,
                     "`kubectl get pods -A -o json` output: the running pods, with their bind "
                     "info (and optionally apiary.io/expected-end, apiary.io/expected-duration)")
      ->required();
  whatif->add_option("--jobs", wi_jobs,
                     "Jobs file (JSON): now, default_duration, and the pending jobs (name, vc, "
                     "priority, pods, gpus_per_pod, leaf_cell_type, duration, submit) and "
                     "running ones' expected end/duration; default: none pending, now = 0");
  whatif->add_option("--json", wi_json, "Also write the answer as JSON to this file (- = stdout)");
  whatif->add_option("--queue", wi_queue, "Per-VC queue order: fifo or sjf")
      ->capture_default_str();
  whatif->add_flag("--borrow", wi_borrow,
                   "Guaranteed jobs that do not fit their quota run opportunistically");

  const std::vector<std::string> commands = {"run", "size-vcs", "merge", "whatif"};
  if (argc > 1 && argv[1][0] != '-' &&
      std::find(commands.begin(), commands.end(), argv[1]) == commands.end())
    return Fail(std::string("unknown command \"") + argv[1] + "\"" +
                apiary::cell::DidYouMean(argv[1], commands) +
                "; commands: run, size-vcs, merge, whatif (apiary-sim --help)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  const std::string command = JoinArgs(argc, argv);
  if (*run)
    return RunCommand(placement, run_so, run_d, run_borrow, run_explain, policies, queue, unknown_vc, quota_level, out_dir, no_plots,
                      check, threads, quiet, export_replay, snapshot_at, command);
  if (*size)
    return SizeCommand(size_placement, size_so, size_d, sizing, size_level, size_policy, percentile, size_queue,
                       shard_index, shard_count, size_out, size_report, size_no_plots, command,
                       size_quiet);
  if (*merge) return MergeCommand(merge_files, merge_out);
  if (*whatif) return WhatIfCommand(wi_config, wi_pods, wi_jobs, wi_json, wi_queue, wi_borrow);
  return 2;
}
