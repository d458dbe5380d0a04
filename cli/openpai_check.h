// `apiary check-layout LAYOUT CONFIG`: does a HiveD configuration (bare or
// OpenPAI services-configuration.yaml) describe the machines of a layout.yaml?
//
// Errors, each naming the host and the field:
//   - a layout worker (pai-worker: "true") that is no node of the config;
//   - a config node that is not a layout worker (absent from machine-list,
//     or present without pai-worker: "true");
//   - device counts: the leaf cells a node has in GPU chains (chains whose
//     leaf type has skuTypes gpu > 0, or no skuTypes entry) differ from its
//     machine-type's computing-device.count, or a leaf index is not below it;
//     a CPU-only machine-type in a GPU chain; more CPU leaf cells (leaf types
//     with gpu 0) than cpu.vcore;
//   - one chain holding machines of different device models.
// Warnings: one chain holding several machine-types of the same model, and a
// node whose leaves ask for more cpu or memory (skuTypes x leaves) than its
// machine-type has (pods would fail kube-scheduler's "Insufficient cpu").
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "apiary/cell/config.h"
#include "openpai_layout.h"

namespace apiary::cli::openpai {

struct LayoutCheck {
  std::vector<std::string> errors;    // "file: where: message"
  std::vector<std::string> warnings;
  int64_t workers_checked = 0;        // layout workers found in the config
};

// `config` must have passed validation (cell::LoadConfigFile).
LayoutCheck CheckLayout(const Layout& layout, const cell::Config& config,
                        const std::string& config_file);

// The subcommand: 0 when they agree (warnings allowed), 2 when a file cannot
// be read or is invalid, or when they disagree (every error printed to err).
int RunCheckLayout(const std::string& layout_path, const std::string& config_path,
                   std::ostream& out, std::ostream& err);

}  // namespace apiary::cli::openpai
