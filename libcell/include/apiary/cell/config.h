// The scheduler configuration model: HiveD's config file as plain data.
//
// This is what the YAML loader (config_loader.h) produces and what the
// validator (ValidateConfig) and the scheduler consume. Order is meaningful
// everywhere: every vector keeps the order of the configuration file, because
// HiveD's tie-breaks follow it (hived.md 2.4, 2.6).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace apiary::cell {

// physicalCluster.skuTypes.<name>: resources of one leaf cell (hived.md 2.2).
struct SkuType {
  std::string name;
  int64_t gpu = 0;
  int64_t cpu = 0;
  std::string memory;  // a Kubernetes quantity, e.g. "56334Mi"
};

// physicalCluster.cellTypes.<name> (hived.md 2.3).
struct CellTypeSpec {
  std::string name;
  std::string child_cell_type;
  int64_t child_cell_number = 0;
  bool is_node_level = false;
};

// One entry of physicalCluster.physicalCells, or of a cell's cellChildren
// (hived.md 2.4). An empty cell_type on a child means "the parent's
// childCellType"; empty cell_children means "generate default children".
struct PhysicalCellSpec {
  std::string cell_type;
  std::optional<std::string> cell_address;
  std::string pinned_cell_id;
  std::vector<PhysicalCellSpec> cell_children;
};

// virtualClusters.<vc>.virtualCells[i] (hived.md 2.5). cell_type is the
// dotted path "CHAIN.T2...Tk".
struct VirtualCellSpec {
  std::string cell_type;
  int64_t cell_number = 0;
};

struct VirtualClusterSpec {
  std::string name;
  std::vector<VirtualCellSpec> virtual_cells;
  std::vector<std::string> pinned_cell_ids;  // pinnedCells[i].pinnedCellId
};

// The whole file (hived.md 2.1).
struct Config {
  std::string kube_api_server_address;
  std::string kube_config_file_path;
  std::string web_server_address = ":9096";
  int64_t force_pod_bind_threshold = 3;
  int64_t waiting_pod_scheduling_block_milli_sec = 0;
  std::vector<SkuType> sku_types;
  std::vector<CellTypeSpec> cell_types;
  std::vector<PhysicalCellSpec> physical_cells;
  std::vector<VirtualClusterSpec> virtual_clusters;
};

// One finding about a configuration: where (a YAML path such as
// "virtualClusters.vc1.virtualCells[0].cellType") and why. `check` is the
// stable id of the rule, hived.md section 3's number ("V27") -- what tools
// match on, since the message wording may improve; "" for findings not yet
// tagged (today: the virtual-cluster checks V19..V27, V28 and V32 are).
struct Diagnostic {
  enum class Severity { kError, kWarning };
  Severity severity = Severity::kError;
  std::string path;
  std::string message;
  std::string check;
};

// Findings in document order, with the file they are about. Format() gives
// "file: path: message" lines.
struct Diagnostics {
  std::string file;
  std::vector<Diagnostic> items;

  void Error(std::string path, std::string message, std::string check = "") {
    items.push_back({Diagnostic::Severity::kError, std::move(path),
                     std::move(message), std::move(check)});
  }
  void Warning(std::string path, std::string message, std::string check = "") {
    items.push_back({Diagnostic::Severity::kWarning, std::move(path),
                     std::move(message), std::move(check)});
  }
  // Whether a finding of rule `check` ("V27") is among the items.
  bool Has(std::string_view check) const {
    for (const auto& d : items)
      if (d.check == check) return true;
    return false;
  }
  bool HasErrors() const {
    for (const auto& d : items)
      if (d.severity == Diagnostic::Severity::kError) return true;
    return false;
  }
  // One line per finding of the given severity:
  // "<file>: <path>: <message>" (the path part is left out when empty);
  // warnings start with "warning: ".
  std::string Format(Diagnostic::Severity severity) const;
  // Every finding, errors and warnings, in order, formatted as Format does:
  // a rejected config still shows its warnings ("unknown key childCellNumbr
  // ... did you mean childCellNumber?" often is the cause of the error).
  std::string FormatAll() const;
};

// Checks everything hived.md section 3 lists (V3..V32, except the YAML-level
// V1, V2 and V29 which the loader performs) and appends the findings to
// `diagnostics` in document order. Never throws, never loops forever, on any
// Config. Returns true when no error was found.
bool ValidateConfig(const Config& config, Diagnostics* diagnostics);

}  // namespace apiary::cell
