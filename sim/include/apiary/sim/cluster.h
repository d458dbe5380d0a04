// The cluster a simulation runs on: nodes with GPU SKUs, the HiveD
// configuration built from them (cell hierarchy per SKU, VC quotas as
// virtual cells), and the same quotas in GPUs for the baseline policies.
//
// Built from a node list (any inventory reader's output, or generated nodes)
// plus VC quotas, or taken from a hand-written HiveD configuration.
//
// Default cell hierarchy per (SKU, GPUs per node) group, one chain each:
//   leaf  = one GPU of the SKU (cell type named after the SKU)
//   <SKU>-X2, <SKU>-X4, ... = buddy levels inside a node when the node's GPU
//           count is a power of two (an 8-GPU node: X2, X4, NODE)
//   <SKU>-NODE = the node (node level)
//   <SKU>-RACK = `rack_nodes` nodes, when rack_nodes divides the group's node
//           count; otherwise the largest divisor of it not above rack_nodes
//           (1 = no rack level, nodes are the top cells)
// Plain values; thread-compatible.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "apiary/cell/config.h"
#include "apiary/cell/status.h"

namespace apiary::sim {

using cell::Result;
using cell::Status;

// One node of the cluster to build.
struct NodeSpec {
  std::string name;
  std::string sku;   // canonical SKU name, or an opaque model name
  int32_t gpus = 0;
};

// The level of the cells VC quotas are counted in.
enum class QuotaLevel { kGpu, kNode, kRack };
Result<QuotaLevel> ParseQuotaLevel(const std::string& name);  // gpu|node|rack
const char* QuotaLevelName(QuotaLevel level);

// A VC's quota: `units` cells of the cluster's quota level, of SKU `sku`
// (empty: any SKU; filled node group by node group in configuration order).
struct QuotaSpec {
  std::string vc;
  std::string sku;
  int64_t units = 0;
  // Only nodes of this many GPUs (one chain of a SKU with several node
  // sizes); 0 = any size.
  int32_t gpus_per_node = 0;
};

struct ClusterOptions {
  int32_t rack_nodes = 4;
  QuotaLevel quota_level = QuotaLevel::kNode;
  // The SKU the trace's durations were measured on; empty = no scaling.
  std::string reference_sku;
};

struct SkuInfo {
  std::string name;       // canonical (or opaque) SKU name
  std::string leaf_type;  // the HiveD leaf cell type
  double speed = 1.0;     // relative to the reference SKU
};

struct NodeInfo {
  std::string name;
  int32_t sku = 0;    // index into ClusterModel::skus
  int32_t gpus = 0;
  int32_t group = 0;  // index into ClusterModel::groups
  int32_t slot = 0;   // position in its group's nodes (rack = slot / rack_nodes)
};

// The nodes of one chain.
struct NodeGroup {
  int32_t sku = 0;
  int32_t gpus_per_node = 0;
  int32_t rack_nodes = 1;  // nodes per top cell when the top is above nodes
  std::string chain;       // the HiveD chain (top cell type)
  // Cell types from the leaf (index 0) to the top; node_level indexes the
  // node-level type.
  std::vector<std::string> level_types;
  int32_t node_level = 0;
  std::vector<int32_t> nodes;  // indices into ClusterModel::nodes, in order
  int64_t gpus() const { return int64_t{gpus_per_node} * static_cast<int64_t>(nodes.size()); }
};

struct ClusterModel {
  std::vector<SkuInfo> skus;
  std::vector<NodeInfo> nodes;  // configuration order
  std::vector<NodeGroup> groups;
  // VCs with a quota, configuration order, and their quota in GPUs per group.
  std::vector<std::string> vcs;
  std::vector<std::vector<int64_t>> vc_group_gpus;  // [vc][group]
  // The VC's largest virtual (or pinned) cell in each group, in GPUs; 0 =
  // none. HiveD places each pod inside one cell of its VC, so a guaranteed
  // pod larger than this can never run there.
  std::vector<std::vector<int64_t>> vc_group_cell_gpus;  // [vc][group]
  cell::Config hived;
  // Quota unit in GPUs per group (for reporting and sizing), and its name.
  std::vector<int64_t> unit_gpus;  // [group]
  QuotaLevel quota_level = QuotaLevel::kNode;

  int64_t TotalGpus() const;
  int64_t VcGpus(int32_t vc) const;
  int32_t FindVc(const std::string& name) const;  // -1 when absent
  std::string Describe() const;                   // one paragraph
  // The level a job on `nodes` spans: "" (no node), "node" (one), "rack"
  // (one rack cell of a chain), "multi-rack", or "multi-node" (a chain
  // without a rack level, or several chains).
  std::string SpanOf(const std::vector<int32_t>& nodes) const;
};

// Builds the cluster from nodes (configuration order = list order; nodes
// with 0 GPUs are skipped) and quotas. Errors: no GPU node, a quota that
// does not fit in the remaining cells of its SKU, an unknown SKU in a quota.
Result<ClusterModel> BuildCluster(const std::vector<NodeSpec>& nodes,
                                  const std::vector<QuotaSpec>& quotas,
                                  const ClusterOptions& options);

// Nodes per rack cell of a chain of `nodes` nodes: the largest divisor of
// `nodes` not above `rack_nodes` (1 = no rack level).
int32_t RackNodesOf(int64_t nodes, int32_t rack_nodes);

// `count` generated nodes named node-0000, node-0001, ... of one SKU.
std::vector<NodeSpec> GenerateNodes(int64_t count, const std::string& sku,
                                    int32_t gpus_per_node);

// Takes a hand-written (validated) HiveD configuration as is: chains become
// node groups, virtual cells and pinned cells become quotas in GPUs.
Result<ClusterModel> ClusterFromHivedConfig(const cell::Config& config,
                                            const std::string& reference_sku);

}  // namespace apiary::sim
