// apiary-replay-workload: writes the seeded production-scale replay workload
// (replay_workload.h) as DIR/config.yaml and DIR/events.jsonl, for
//   apiary replay --config DIR/config.yaml DIR/events.jsonl
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

#include "replay_workload.h"

int main(int argc, char** argv) {
  apiary::bench::ReplayWorkloadParams p;
  std::string dir;
  CLI::App app{"Writes a seeded apiary replay workload: DIR/config.yaml and DIR/events.jsonl."};
  app.add_option("--out", dir, "output directory (must exist)")->required();
  app.add_option("--nodes", p.nodes, "8-GPU nodes (a multiple of 8)")->check(CLI::Range(8, 1 << 20));
  app.add_option("--vcs", p.vcs, "virtual clusters")->check(CLI::Range(1, 1000));
  app.add_option("--events", p.events, "events to write")->check(CLI::Range(1, 1 << 30));
  app.add_option("--opportunistic", p.opportunistic, "share of opportunistic jobs")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--occupancy", p.occupancy, "target share of GPUs held by live jobs")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--seed", p.seed, "random seed");
  CLI11_PARSE(app, argc, argv);
  if (p.nodes % 8 != 0) {
    std::cerr << "apiary-replay-workload: --nodes: must be a multiple of 8 (racks of 8 nodes), got "
              << p.nodes << "\n";
    return 2;
  }
  const auto w = apiary::bench::GenerateReplayWorkload(p);
  for (const auto& [name, write] :
       {std::pair<std::string, bool>{"config.yaml", true}, {"events.jsonl", false}}) {
    const std::string path = dir + "/" + name;
    std::ofstream out(path);
    if (!out) {
      std::cerr << "apiary-replay-workload: cannot open " << path << ": " << std::strerror(errno) << "\n";
      return 2;
    }
    if (write) {
      out << w.config_yaml;
    } else {
      for (const auto& e : w.events) out << e << '\n';
    }
    if (!out.flush()) {
      std::cerr << "apiary-replay-workload: cannot write " << path << ": " << std::strerror(errno) << "\n";
      return 2;
    }
  }
  std::cerr << "apiary-replay-workload: " << w.events.size() << " events, " << p.nodes * 8
            << " GPUs, " << p.vcs << " VCs (seed " << p.seed << ")\n";
  return 0;
}
