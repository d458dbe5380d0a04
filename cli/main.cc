// `apiary`: the command-line front door to libcell.
//   apiary validate [--strict] [--bad-nodes N1,N2] CONFIG
//   apiary replay --config CONFIG [--line-numbers] [EVENTS.jsonl | -]
//   apiary generate --layout LAYOUT [--vcs VCS] [-o CONFIG] [--services-configuration FILE]
//   apiary diff OLD NEW [--pods PODS.json] [--bad-nodes N1,N2] [--fail-on-findings]
//   apiary check-layout LAYOUT CONFIG
//   apiary explain (--url URL | --config CONFIG --events EVENTS) [--json] NAMESPACE/POD
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>

#include <CLI/CLI.hpp>

#include "apiary/cell/text.h"

#include "explain.h"
#include "openpai_check.h"
#include "openpai_diff.h"
#include "openpai_generate.h"
#include "replay.h"

int main(int argc, char** argv) {
  CLI::App app{"Apiary: a HiveD-compatible GPU-topology scheduler.\n"
               "See README.md and docs/ for the full documentation."};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("apiary ") + APIARY_VERSION);

  std::string validate_config;
  bool validate_strict = false;
  auto* validate = app.add_subcommand(
      "validate", "Check a HiveD scheduler config (bare or OpenPAI services-configuration) and "
                  "print a summary: chains, levels, GPUs per leaf type, nodes, VC quotas. "
                  "Exit 0 when valid, 2 with every error otherwise (with --bad-nodes: 1 when a "
                  "VC's promise would be broken).");
  validate->add_option("CONFIG", validate_config, "Config file")->required();
  validate->add_flag("--strict", validate_strict,
                     "Treat warnings (unknown keys, unused chains, ...) as errors: exit 2");
  std::vector<std::string> validate_bad_nodes;
  validate->add_option("--bad-nodes", validate_bad_nodes,
                       "Comma-separated nodes: print what their failure does to each VC's "
                       "promise (guarantee headroom per level); exit 1 when one is broken")
      ->delimiter(',');

  std::string replay_config, events = "-";
  bool replay_line_numbers = false;
  auto* replay = app.add_subcommand(
      "replay", "Drive the scheduler with a JSON Lines script of events (schedule, allocated, "
                "delete, node, inspect, restart) and print one JSON result line per event. "
                "Deterministic: event N happens at N seconds after the epoch.");
  replay->add_option("--config", replay_config, "Scheduler config file")->required();
  replay->add_option("EVENTS", events, "Events file, or - for standard input (default)");
  replay->add_flag("--line-numbers", replay_line_numbers,
                   "Add \"line\": N (the input line of the event) to every result");

  // OpenPAI operator workflows (docs/openpai.md).
  apiary::cli::openpai::GenerateOptions gen;
  auto* generate = app.add_subcommand(
      "generate", "Generate a HiveD config from OpenPAI's layout.yaml: skuTypes, cell types per "
                  "machine-type (leaf -> node -> node pool), physicalCells with the worker "
                  "hostnames, and virtualClusters from a VC file (or one `default` VC owning "
                  "everything). Exit 0 when written, 2 on bad input.");
  generate->add_option("--layout", gen.layout_path, "OpenPAI layout.yaml")->required();
  generate->add_option("--vcs", gen.vcs_path, "VC file: per VC and machine-type a node count, "
                                              "a share (\"50%\") or {nodes, leaves}");
  generate->add_option("-o,--output", gen.output_path, "Write the config here (default: stdout)");
  generate->add_option("--services-configuration", gen.services_path,
                       "Also write the hivedscheduler section of services-configuration.yaml");

  apiary::cli::openpai::DiffOptions diff_opts;
  auto* diff = app.add_subcommand(
      "diff", "What changing the scheduler config from OLD to NEW means: nodes added/removed, "
              "VC quotas before/after, capacity in no VC, assignments that no longer fit, each "
              "VC's promise (placeable/guaranteed cells) before/after, and "
              "with --pods the groups that would be lazily preempted or lose cells. Exit 0 "
              "(1 with --fail-on-findings and findings), 2 on bad input.");
  diff->add_option("OLD", diff_opts.old_path, "Current config")->required();
  diff->add_option("NEW", diff_opts.new_path, "Proposed config")->required();
  diff->add_option("--pods", diff_opts.pods_path, "`kubectl get pods -A -o json` output");
  diff->add_option("--bad-nodes", diff_opts.bad_nodes,
                   "Comma-separated nodes to count as bad on both sides when comparing each "
                   "VC's promise (guarantee headroom)")
      ->delimiter(',');
  diff->add_flag("--fail-on-findings", diff_opts.fail_on_findings,
                 "Exit 1 when the report has findings (marked !!)");

  std::string check_layout_path, check_config_path;
  auto* check_layout = app.add_subcommand(
      "check-layout", "Check that every layout.yaml worker is a node of CONFIG and vice versa, "
                      "with the device count of its machine-type. Exit 0 when they agree, 2 "
                      "otherwise.");
  check_layout->add_option("LAYOUT", check_layout_path, "OpenPAI layout.yaml")->required();
  check_layout->add_option("CONFIG", check_config_path, "Scheduler config")->required();

  apiary::cli::ExplainOptions explain_opts;
  auto* explain = app.add_subcommand(
      "explain", "Why a pod waits or would preempt: per chain tried, the cells it needs, the "
                 "VC's free cells and the rule that stops it, the victims and why, and the "
                 "nearest change that fits. Asks a running extender (--url) or the state after "
                 "replaying EVENTS on CONFIG. Exit 0 when answered, 2 on bad input.");
  explain->add_option("POD", explain_opts.pod, "namespace/name (default/ when no namespace)")
      ->required();
  explain->add_option("--url", explain_opts.url, "The extender, e.g. http://localhost:30096");
  explain->add_option("--config", explain_opts.config, "Scheduler config (with --events)");
  explain->add_option("--events", explain_opts.events, "Replay events file (with --config)");
  explain->add_flag("--json", explain_opts.json, "Print the answer as JSON (docs/explain.md)");

  // A mistyped command: name the nearest one rather than CLI11's generic
  // "the following argument was not expected".
  const std::vector<std::string> names = {"validate", "replay", "generate", "diff",
                                          "check-layout", "explain"};
  if (argc > 1 && argv[1][0] != '-' &&
      std::find(names.begin(), names.end(), argv[1]) == names.end()) {
    std::string hint = apiary::cell::DidYouMean(argv[1], names);
    std::cerr << "apiary: unknown command \"" << argv[1] << "\"" << hint
              << "; commands: validate, replay, generate, diff, check-layout, explain (apiary --help)\n";
    return 2;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }

  if (*validate)
    return apiary::cli::RunValidate(validate_config, validate_strict, std::cout, std::cerr,
                                    validate_bad_nodes);

  if (*explain) return apiary::cli::RunExplain(explain_opts, std::cout, std::cerr);
  if (*generate) return apiary::cli::openpai::RunGenerate(gen, std::cout, std::cerr);
  if (*diff) return apiary::cli::openpai::RunDiff(diff_opts, std::cout, std::cerr);
  if (*check_layout)
    return apiary::cli::openpai::RunCheckLayout(check_layout_path, check_config_path, std::cout,
                                                std::cerr);

  if (*replay) {
    auto r = apiary::cli::Replayer::Create(replay_config, replay_line_numbers);
    if (!r.ok()) {
      std::cerr << r.status().message();
      if (r.status().message().empty() || r.status().message().back() != '\n') std::cerr << '\n';
      return 2;
    }
    std::ios::sync_with_stdio(false);
    if (events == "-") {
      (*r)->Run(std::cin, std::cout);
    } else {
      std::ifstream in(events, std::ios::binary);
      if (!in) {
        std::cerr << events << ": cannot open events file: " << std::strerror(errno) << "\n";
        return 2;
      }
      (*r)->Run(in, std::cout);
    }
    return 0;
  }
  return 2;
}
