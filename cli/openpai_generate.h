// `apiary generate`: a complete HiveD configuration from OpenPAI's
// layout.yaml (openpai.md 2, 3), optionally with a small VC file.
//
// What it produces, per worker machine-type S (workers only: a master counts
// when it is also marked pai-worker), in order of first appearance in
// machine-list:
//   skuTypes.S          {gpu: 1, cpu, memory} per device; a CPU-only type gets
//                       {cpu: 1, memory} and one leaf per CPU (openpai.md 3)
//   cellTypes S-NODE    S x device count, node level
//             S-NODE-POOL  S-NODE x number of workers of S (the multi-node cell)
//   physicalCells       one S-NODE-POOL whose children are the workers' hostnames
// The names are those of OpenPAI's own generator, so that the bind infos of
// pods running under an OpenPAI-generated config (cellChain S-NODE-POOL) still
// match. The pool is emitted even for one worker: adding a worker later then
// only raises childCellNumber, and the chain keeps its name.
//
// Per-leaf cpu and memory come from machine-sku mem and cpu.vcore minus
// OpenPAI's reserve (min(1 %, 0.5 CPU) and min(1 %, 1024 MiB)); OpenPAI's
// generator also subtracts the pods already running, which a file cannot know.
//
// Virtual clusters: without a VC file one VC `default` owns every node. The
// VC file (examples/openpai/vcs.yaml) gives per VC and machine-type either a
// node count, a share ("50%": of the machine-type's nodes, rounded down; when
// the shares of a machine-type add up to 100 % the remaining nodes go by
// largest remainder, ties to the VC listed first), or {nodes: N, leaves: M};
// and optionally `pinnedNodes: [host, ...]` (the node becomes a pinned cell
// whose pinnedCellId is the hostname):
//   virtualClusters:
//     default: {k80x4: 50%, v100x8: 1}
//     research:
//       k80x4: 50%
//       pinnedNodes: [worker-9]
#pragma once

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "apiary/cell/status.h"
#include "openpai_layout.h"

namespace apiary::cli::openpai {

// One VC's request for one machine-type.
struct VcAsk {
  std::string sku;
  int64_t nodes = 0;        // whole nodes (S-NODE cells)
  int64_t share_ppm = -1;   // share of the machine-type's nodes, in millionths; -1: none
  int64_t leaves = 0;       // single leaf cells (S cells)
  std::string where;        // "virtualClusters.<vc>.<sku>", for messages
};

struct VcPlan {
  std::string name;
  std::vector<VcAsk> asks;                // file order
  std::vector<std::string> pinned_nodes;  // file order
};

struct VcFile {
  std::string file;
  std::vector<VcPlan> vcs;  // file order
};

// Parses the VC file; errors name the file and the key path.
cell::Result<VcFile> ParseVcFileText(std::string_view text, const std::string& file);
cell::Result<VcFile> LoadVcFile(const std::string& path);

struct Generated {
  std::string config;    // the bare HiveD config (loads with `apiary validate`)
  std::string services;  // the services-configuration.yaml fragment (hivedscheduler.config)
  std::string summary;   // a few human-readable lines: chains, nodes, VC quotas
  std::vector<std::string> warnings;
};

// Builds the configuration. `vcs` may be null (one VC `default` owning all).
// Errors (kInvalidArgument) name the layout or VC file entry at fault.
cell::Result<Generated> Generate(const Layout& layout, const VcFile* vcs);

struct GenerateOptions {
  std::string layout_path;
  std::string vcs_path;       // "" = none
  std::string output_path;    // "" = standard output
  std::string services_path;  // "" = do not write the fragment
};

// The subcommand: 0 when written, 2 on bad input (every error on `err`).
// The config goes to `out` unless output_path is set; warnings and the
// summary go to `err` (or the summary to `out` when the config went to a file).
int RunGenerate(const GenerateOptions& options, std::ostream& out, std::ostream& err);

}  // namespace apiary::cli::openpai
