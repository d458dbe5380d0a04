#include <algorithm>
#include <ostream>
#include <set>

#include "apiary/cell/config_derived.h"
#include "apiary/cell/config_loader.h"
#include "apiary/cell/scheduler.h"
#include "headroom_text.h"
#include "replay.h"

namespace apiary::cli {
namespace {

// Single leaves in a VC's virtualCells are separate cells that HiveD never
// combines for one pod (hived.md 6.3, node view: preassigned cells below
// node level are "nodes" of their own): they run 1-GPU pods only. Worth a
// warning when the VC may run bigger pods: more than one such leaf, or
// bigger cells (or pinned cells) as well. A note for operators, not a
// validity rule: the extender's loader does not repeat it on every reload.
void AddSingleLeafWarnings(const cell::Config& config, cell::Diagnostics* diagnostics) {
  std::set<std::string> keys;
  for (const cell::CellTypeSpec& t : config.cell_types) keys.insert(t.name);
  for (const cell::VirtualClusterSpec& vc : config.virtual_clusters) {
    std::vector<size_t> leaf_entries;
    int64_t leaves = 0;
    bool bigger = !vc.pinned_cell_ids.empty();
    for (size_t k = 0; k < vc.virtual_cells.size(); ++k) {
      const cell::VirtualCellSpec& cell = vc.virtual_cells[k];
      if (cell.cell_number <= 0) continue;
      const size_t dot = cell.cell_type.rfind('.');
      const std::string type = dot == std::string::npos ? cell.cell_type : cell.cell_type.substr(dot + 1);
      if (keys.count(type)) {
        bigger = true;
      } else {
        leaf_entries.push_back(k);
        leaves += cell.cell_number;
      }
    }
    if (leaf_entries.empty() || (!bigger && leaves < 2)) continue;
    for (size_t k : leaf_entries) {
      const cell::VirtualCellSpec& cell = vc.virtual_cells[k];
      diagnostics->Warning(
          "virtualClusters." + vc.name + ".virtualCells[" + std::to_string(k) + "].cellType",
          std::to_string(cell.cell_number) + " single leaf cell" +
              (cell.cell_number == 1 ? "" : "s") + " (" + cell.cell_type +
              "): 1-GPU pods only, separately assigned leaves are never combined for one pod; "
              "a multi-GPU pod of VC " + vc.name + " fits only in its bigger cells");
    }
  }
}

// What `bad_nodes` failing would do to each VC's promise: a scheduler on
// the config with nothing running, those nodes marked bad (hived.md 8.1,
// doomed cells bound as 8.2 says), then its guarantee headroom.
cell::Result<std::vector<cell::VcGuarantee>> HeadroomWithBadNodes(
    const cell::Config& config, const std::vector<std::string>& bad_nodes) {
  cell::ManualClock clock(0);
  auto s = cell::Scheduler::Create(config, &clock);
  if (!s.ok()) return s.status();
  if (cell::Status st = MarkNodesBad(**s, bad_nodes, "--bad-nodes"); !st.ok()) return st;
  return (*s)->GuaranteeHeadroom();
}

// Prints the headroom; the exit code: 1 when a promise is broken, else 0.
int ReportBadNodes(const std::vector<cell::VcGuarantee>& headroom,
                   const std::vector<std::string>& bad_nodes, std::ostream& out) {
  std::string names;
  for (const auto& n : bad_nodes) names += (names.empty() ? "" : ", ") + n;
  out << "\nGuarantee headroom with " << names << " bad (placeable/guaranteed cells per level, "
      << "nothing running):\n";
  if (headroom.empty()) out << "  no VC has cells\n";
  out << FormatGuaranteeReport(headroom);
  size_t broken = 0, at_risk = 0;
  for (const auto& g : headroom) {
    broken += g.broken;
    at_risk += g.at_risk;
  }
  if (broken + at_risk == 0) {
    out << "every VC's promise is kept\n";
  } else {
    out << broken << " VC promise" << (broken == 1 ? "" : "s") << " broken, " << at_risk
        << " at risk (marked !!)\n";
  }
  return broken ? 1 : 0;
}

}  // namespace

int RunValidate(const std::string& config_path, bool strict, std::ostream& out,
                std::ostream& err, const std::vector<std::string>& bad_nodes) {
  auto loaded = cell::LoadConfigFile(config_path);
  if (!loaded.ok()) {
    err << loaded.status().message();
    if (!loaded.status().message().empty() && loaded.status().message().back() != '\n')
      err << '\n';
    return 2;
  }
  AddSingleLeafWarnings(loaded->config, &loaded->diagnostics);
  std::string warnings = loaded->diagnostics.Format(cell::Diagnostic::Severity::kWarning);
  if (!warnings.empty()) {
    err << warnings;
    if (warnings.back() != '\n') err << '\n';
  }
  if (strict && !warnings.empty()) {
    size_t n = std::count_if(
        loaded->diagnostics.items.begin(), loaded->diagnostics.items.end(),
        [](const cell::Diagnostic& d) { return d.severity == cell::Diagnostic::Severity::kWarning; });
    err << config_path << ": rejected by --strict: " << n << (n == 1 ? " warning\n" : " warnings\n");
    return 2;
  }
  // Bad node names are checked before the config is declared valid.
  std::vector<cell::VcGuarantee> headroom;
  if (!bad_nodes.empty()) {
    auto h = HeadroomWithBadNodes(loaded->config, bad_nodes);
    if (!h.ok()) {
      err << config_path << ": " << h.status().message() << "\n";
      return 2;
    }
    headroom = std::move(h).value();
  }
  out << config_path << ": valid\n" << cell::SummarizeConfig(loaded->config);
  return bad_nodes.empty() ? 0 : ReportBadNodes(headroom, bad_nodes, out);
}

}  // namespace apiary::cli
