// `apiary`: the command-line front door to libcell.
//   apiary validate CONFIG
//   apiary replay --config CONFIG [EVENTS.jsonl | -]
#include <fstream>
#include <iostream>

#include <CLI/CLI.hpp>

#include "replay.h"

int main(int argc, char** argv) {
  CLI::App app{"Apiary: a HiveD-compatible GPU-topology scheduler.\n"
               "See README.md and docs/ for the full documentation."};
  app.require_subcommand(1);

  std::string validate_config;
  auto* validate = app.add_subcommand(
      "validate", "Check a HiveD scheduler config (bare or OpenPAI services-configuration) and "
                  "print a summary: chains, levels, GPUs per leaf type, nodes, VC quotas. "
                  "Exit 0 when valid, 2 with every error otherwise.");
  validate->add_option("CONFIG", validate_config, "Config file")->required();

  std::string replay_config, events = "-";
  auto* replay = app.add_subcommand(
      "replay", "Drive the scheduler with a JSON Lines script of events (schedule, allocated, "
                "delete, node, inspect, restart) and print one JSON result line per event. "
                "Deterministic: event N happens at N seconds after the epoch.");
  replay->add_option("--config", replay_config, "Scheduler config file")->required();
  replay->add_option("EVENTS", events, "Events file, or - for standard input (default)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }

  if (*validate) return apiary::cli::RunValidate(validate_config, std::cout, std::cerr);

  if (*replay) {
    auto r = apiary::cli::Replayer::Create(replay_config);
    if (!r.ok()) {
      std::cerr << r.status().message();
      if (r.status().message().empty() || r.status().message().back() != '\n') std::cerr << '\n';
      return 2;
    }
    std::ios::sync_with_stdio(false);
    if (events == "-") {
      (*r)->Run(std::cin, std::cout);
    } else {
      std::ifstream in(events);
      if (!in) {
        std::cerr << events << ": cannot open events file\n";
        return 2;
      }
      (*r)->Run(in, std::cout);
    }
    return 0;
  }
  return 2;
}
