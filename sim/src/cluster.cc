#include "apiary/sim/cluster.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <utility>

#include "apiary/cell/config_derived.h"
#include "apiary/traces/gpu_sku.h"

namespace apiary::sim {
namespace {

// HiveD cell type names must not contain '.', which separates the
// components of a virtual cell's type path; we keep names to [A-Za-z0-9_-].
std::string Sanitize(const std::string& s) {
  std::string out;
  for (char c : s) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_';
    out += ok ? c : '_';
  }
  return out.empty() ? "GPU" : out;
}

double SpeedOf(const std::string& sku, const std::string& reference) {
  if (reference.empty()) return 1.0;
  auto r = traces::RelativeSpeed(traces::CanonicalGpuModel(sku), reference);
  return r.ok() && *r > 0 ? *r : 1.0;
}

bool IsPowerOfTwo(int32_t n) { return n > 0 && (n & (n - 1)) == 0; }

// Dotted virtual-cell type path from the top of `g` down to level index `l`.
std::string PathTo(const NodeGroup& g, size_t l) {
  std::string p = g.chain;
  for (size_t i = g.level_types.size() - 1; i > l; --i) p += "." + g.level_types[i - 1];
  return p;
}

}  // namespace

Result<QuotaLevel> ParseQuotaLevel(const std::string& name) {
  if (name == "gpu") return QuotaLevel::kGpu;
  if (name == "node") return QuotaLevel::kNode;
  if (name == "rack") return QuotaLevel::kRack;
  return Status::Invalid("unknown cell level \"" + name + "\" (expected gpu, node or rack)");
}

const char* QuotaLevelName(QuotaLevel level) {
  switch (level) {
    case QuotaLevel::kGpu: return "gpu";
    case QuotaLevel::kNode: return "node";
    case QuotaLevel::kRack: return "rack";
  }
  return "?";
}

int64_t ClusterModel::TotalGpus() const {
  int64_t t = 0;
  for (const auto& n : nodes) t += n.gpus;
  return t;
}

int64_t ClusterModel::VcGpus(int32_t vc) const {
  int64_t t = 0;
  for (int64_t g : vc_group_gpus[vc]) t += g;
  return t;
}

int32_t ClusterModel::FindVc(const std::string& name) const {
  for (size_t i = 0; i < vcs.size(); ++i)
    if (vcs[i] == name) return static_cast<int32_t>(i);
  return -1;
}

std::string ClusterModel::SpanOf(const std::vector<int32_t>& ns) const {
  if (ns.empty()) return "";
  if (ns.size() == 1) return "node";
  const NodeInfo& first = nodes[ns[0]];
  const int32_t rack = groups[first.group].rack_nodes;
  for (int32_t n : ns)
    if (nodes[n].group != first.group || rack <= 1) return "multi-node";
  for (int32_t n : ns)
    if (nodes[n].slot / rack != first.slot / rack) return "multi-rack";
  return "rack";
}

std::string ClusterModel::Describe() const {
  std::string s = std::to_string(nodes.size()) + " nodes, " + std::to_string(TotalGpus()) +
                  " GPUs (";
  for (size_t g = 0; g < groups.size(); ++g) {
    const NodeGroup& grp = groups[g];
    if (g) s += "; ";
    s += std::to_string(grp.nodes.size()) + " x " + std::to_string(grp.gpus_per_node) + " " +
         skus[grp.sku].name;
    if (grp.rack_nodes > 1) {
      const size_t racks = grp.nodes.size() / grp.rack_nodes;
      s += " in " + std::to_string(racks) + (racks == 1 ? " rack of " : " racks of ") +
           std::to_string(grp.rack_nodes);
    }
  }
  s += "); " + std::to_string(vcs.size()) + " VCs with quotas";
  return s;
}

int32_t RackNodesOf(int64_t nodes, int32_t rack_nodes) {
  for (int64_t r = std::min<int64_t>(rack_nodes, nodes); r >= 1; --r)
    if (nodes % r == 0) return static_cast<int32_t>(r);
  return 1;
}

std::vector<NodeSpec> GenerateNodes(int64_t count, const std::string& sku,
                                    int32_t gpus_per_node) {
  std::vector<NodeSpec> out;
  out.reserve(static_cast<size_t>(std::max<int64_t>(count, 0)));
  for (int64_t i = 0; i < count; ++i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "node-%04lld", static_cast<long long>(i));
    out.push_back({buf, sku, gpus_per_node});
  }
  return out;
}

Result<ClusterModel> BuildCluster(const std::vector<NodeSpec>& nodes,
                                  const std::vector<QuotaSpec>& quotas,
                                  const ClusterOptions& options) {
  ClusterModel m;
  m.quota_level = options.quota_level;
  if (options.rack_nodes < 1)
    return Status::Invalid("--rack-nodes must be at least 1, got " +
                           std::to_string(options.rack_nodes));
  // Group nodes by (SKU, GPUs per node), in order of first appearance.
  std::map<std::pair<std::string, int32_t>, int32_t> group_of;
  std::map<std::string, int32_t> sku_of;
  std::map<std::string, int32_t> groups_per_sku;
  for (const NodeSpec& n : nodes) {
    if (n.gpus <= 0 || n.sku.empty()) continue;
    if (!sku_of.count(n.sku)) {
      sku_of[n.sku] = static_cast<int32_t>(m.skus.size());
      m.skus.push_back({n.sku, Sanitize(n.sku), SpeedOf(n.sku, options.reference_sku)});
    }
    auto key = std::make_pair(n.sku, n.gpus);
    auto it = group_of.find(key);
    if (it == group_of.end()) {
      it = group_of.emplace(key, static_cast<int32_t>(m.groups.size())).first;
      NodeGroup g;
      g.sku = sku_of[n.sku];
      g.gpus_per_node = n.gpus;
      m.groups.push_back(std::move(g));
      ++groups_per_sku[n.sku];
    }
    NodeInfo info{n.name, sku_of[n.sku], n.gpus, it->second,
                  static_cast<int32_t>(m.groups[it->second].nodes.size())};
    m.groups[it->second].nodes.push_back(static_cast<int32_t>(m.nodes.size()));
    m.nodes.push_back(std::move(info));
  }
  if (m.nodes.empty()) return Status::Invalid("the cluster has no node with GPUs");

  // Cell types per group.
  for (NodeGroup& g : m.groups) {
    const SkuInfo& sku = m.skus[g.sku];
    std::string base = sku.leaf_type;
    if (groups_per_sku[sku.name] > 1) base += "-" + std::to_string(g.gpus_per_node) + "G";
    g.level_types.push_back(sku.leaf_type);
    std::vector<cell::CellTypeSpec> types;
    int32_t child_leaves = 1;
    if (IsPowerOfTwo(g.gpus_per_node)) {
      for (int32_t k = 2; k < g.gpus_per_node; k *= 2) {
        std::string name = base + "-X" + std::to_string(k);
        types.push_back({name, g.level_types.back(), 2, false});
        g.level_types.push_back(name);
        child_leaves = k;
      }
    }
    const int64_t node_children = g.gpus_per_node / child_leaves;
    types.push_back({base + "-NODE", g.level_types.back(), node_children, true});
    g.level_types.push_back(base + "-NODE");
    g.node_level = static_cast<int32_t>(g.level_types.size()) - 1;
    const int32_t n = static_cast<int32_t>(g.nodes.size());
    g.rack_nodes = RackNodesOf(n, options.rack_nodes);
    if (g.rack_nodes > 1) {
      types.push_back({base + "-RACK", base + "-NODE", g.rack_nodes, false});
      g.level_types.push_back(base + "-RACK");
    }
    g.chain = g.level_types.back();
    for (auto& t : types) m.hived.cell_types.push_back(std::move(t));
    int64_t unit = 1;
    switch (options.quota_level) {
      case QuotaLevel::kGpu: unit = 1; break;
      case QuotaLevel::kNode: unit = g.gpus_per_node; break;
      case QuotaLevel::kRack: unit = int64_t{g.gpus_per_node} * g.rack_nodes; break;
    }
    m.unit_gpus.push_back(unit);
  }

  // Quotas: units per (VC, group), filled in configuration order.
  std::vector<int64_t> free_units(m.groups.size());
  for (size_t g = 0; g < m.groups.size(); ++g)
    free_units[g] = m.groups[g].gpus() / m.unit_gpus[g];
  std::vector<std::vector<int64_t>> units;  // [vc][group]
  for (const QuotaSpec& q : quotas) {
    if (q.units < 0)
      return Status::Invalid("VC " + q.vc + ": negative quota " + std::to_string(q.units));
    int32_t vc = m.FindVc(q.vc);
    if (vc < 0) {
      vc = static_cast<int32_t>(m.vcs.size());
      m.vcs.push_back(q.vc);
      units.emplace_back(m.groups.size(), 0);
    }
    std::string want = q.sku.empty() ? "" : traces::CanonicalGpuModel(q.sku);
    bool any_group = false;
    int64_t left = q.units;
    for (size_t g = 0; g < m.groups.size(); ++g) {
      if (!want.empty() && m.skus[m.groups[g].sku].name != want &&
          m.skus[m.groups[g].sku].name != q.sku)
        continue;
      if (q.gpus_per_node > 0 && m.groups[g].gpus_per_node != q.gpus_per_node) continue;
      any_group = true;  // even for a quota of 0 cells
      int64_t take = std::min(left, free_units[g]);
      units[vc][g] += take;
      free_units[g] -= take;
      left -= take;
    }
    if (!want.empty() && !any_group)
      return Status::Invalid("VC " + q.vc + ": quota in GPU model " + q.sku +
                             ", which the cluster does not have");
    if (left > 0) {
      int64_t total = 0;
      for (const QuotaSpec& x : quotas) total += x.units;
      return Status::Invalid(
          "VC " + q.vc + ": quota of " + std::to_string(q.units) + " " +
          QuotaLevelName(options.quota_level) + " cells does not fit: " +
          std::to_string(left) + " more than the cluster has left (all quotas add up to " +
          std::to_string(total) + "); give the cluster more nodes or smaller quotas");
    }
  }
  // VCs without any cell are left out: HiveD has nothing to give them, and
  // their jobs are treated as jobs of VCs without a quota.
  {
    std::vector<std::string> vcs;
    std::vector<std::vector<int64_t>> u;
    for (size_t v = 0; v < m.vcs.size(); ++v) {
      std::vector<int64_t> per_group(m.groups.size());
      int64_t gpus = 0;
      for (size_t g = 0; g < m.groups.size(); ++g) {
        per_group[g] = units[v][g] * m.unit_gpus[g];
        gpus += per_group[g];
      }
      if (gpus == 0) continue;
      vcs.push_back(m.vcs[v]);
      std::vector<int64_t> cell(m.groups.size(), 0);
      for (size_t g = 0; g < m.groups.size(); ++g)
        if (units[v][g] > 0) cell[g] = m.unit_gpus[g];
      m.vc_group_cell_gpus.push_back(std::move(cell));
      m.vc_group_gpus.push_back(std::move(per_group));
      u.push_back(units[v]);
    }
    m.vcs = std::move(vcs);
    units = std::move(u);
  }

  // The HiveD configuration.
  for (const SkuInfo& s : m.skus) m.hived.sku_types.push_back({s.leaf_type, 1, 4, "16Gi"});
  for (const NodeGroup& g : m.groups) {
    const std::string node_type = g.level_types[g.node_level];
    if (g.rack_nodes > 1) {
      for (size_t i = 0; i < g.nodes.size(); i += g.rack_nodes) {
        cell::PhysicalCellSpec rack;
        rack.cell_type = g.chain;
        for (int32_t k = 0; k < g.rack_nodes; ++k) {
          cell::PhysicalCellSpec node;
          node.cell_type = node_type;
          node.cell_address = m.nodes[g.nodes[i + k]].name;
          rack.cell_children.push_back(std::move(node));
        }
        m.hived.physical_cells.push_back(std::move(rack));
      }
    } else {
      for (int32_t idx : g.nodes) {
        cell::PhysicalCellSpec node;
        node.cell_type = node_type;
        node.cell_address = m.nodes[idx].name;
        m.hived.physical_cells.push_back(std::move(node));
      }
    }
  }
  for (size_t v = 0; v < m.vcs.size(); ++v) {
    cell::VirtualClusterSpec vc;
    vc.name = m.vcs[v];
    for (size_t g = 0; g < m.groups.size(); ++g) {
      if (units[v][g] == 0) continue;
      const NodeGroup& grp = m.groups[g];
      size_t level = 0;
      switch (options.quota_level) {
        case QuotaLevel::kGpu: level = 0; break;
        case QuotaLevel::kNode: level = static_cast<size_t>(grp.node_level); break;
        case QuotaLevel::kRack: level = grp.level_types.size() - 1; break;
      }
      vc.virtual_cells.push_back({PathTo(grp, level), units[v][g]});
    }
    m.hived.virtual_clusters.push_back(std::move(vc));
  }
  cell::Diagnostics diag;
  if (!cell::ValidateConfig(m.hived, &diag))
    return Status::Invalid("the generated HiveD configuration is invalid:\n" +
                           diag.Format(cell::Diagnostic::Severity::kError));
  return m;
}

Result<ClusterModel> ClusterFromHivedConfig(const cell::Config& config,
                                            const std::string& reference_sku) {
  auto derived = cell::DeriveConfig(config);
  if (!derived.ok()) return derived.status();
  ClusterModel m;
  m.hived = config;
  m.quota_level = QuotaLevel::kGpu;
  std::map<std::string, int32_t> sku_of;
  for (const cell::DerivedChain& ch : derived->chains) {
    NodeGroup g;
    const std::string canon = traces::CanonicalGpuModel(ch.leaf_cell_type);
    if (!sku_of.count(ch.leaf_cell_type)) {
      sku_of[ch.leaf_cell_type] = static_cast<int32_t>(m.skus.size());
      m.skus.push_back({canon, ch.leaf_cell_type, SpeedOf(canon, reference_sku)});
    }
    g.sku = sku_of[ch.leaf_cell_type];
    g.chain = ch.name;
    g.level_types = ch.level_cell_types;
    g.node_level = ch.node_level - 1;
    g.gpus_per_node = static_cast<int32_t>(ch.level_leaf_cell_numbers[g.node_level]);
    g.rack_nodes = 1;
    m.groups.push_back(std::move(g));
    m.unit_gpus.push_back(1);
  }
  std::map<std::string, std::pair<int32_t, int64_t>> pinned;  // id -> (group, leaves)
  cell::ForEachPhysicalCell(config, *derived, [&](const cell::PhysicalCellVisit& v) {
    const cell::DerivedChain& ch = derived->chains[v.chain];
    if (v.level == ch.node_level) {
      NodeInfo n{std::string(v.node), m.groups[v.chain].sku,
                 static_cast<int32_t>(ch.level_leaf_cell_numbers[v.level - 1]), v.chain,
                 static_cast<int32_t>(m.groups[v.chain].nodes.size())};
      m.groups[v.chain].nodes.push_back(static_cast<int32_t>(m.nodes.size()));
      m.nodes.push_back(std::move(n));
    }
    if (!v.pinned_cell_id.empty())
      pinned[std::string(v.pinned_cell_id)] = {v.chain, ch.level_leaf_cell_numbers[v.level - 1]};
  });
  for (const cell::VirtualClusterSpec& vc : config.virtual_clusters) {
    std::vector<int64_t> per_group(m.groups.size(), 0), cell(m.groups.size(), 0);
    for (const cell::VirtualCellSpec& c : vc.virtual_cells) {
      std::string chain = c.cell_type.substr(0, c.cell_type.find('.'));
      std::string last = c.cell_type.substr(c.cell_type.rfind('.') + 1);
      int32_t ch = derived->FindChain(chain);
      const cell::DerivedCellType* t = derived->FindCellType(last);
      if (ch < 0 || !t) continue;  // the validator has rejected these already
      per_group[ch] += t->leaf_cell_number * c.cell_number;
      if (c.cell_number > 0) cell[ch] = std::max(cell[ch], t->leaf_cell_number);
    }
    for (const std::string& id : vc.pinned_cell_ids) {
      auto it = pinned.find(id);
      if (it == pinned.end()) continue;
      per_group[it->second.first] += it->second.second;
      cell[it->second.first] = std::max(cell[it->second.first], it->second.second);
    }
    m.vcs.push_back(vc.name);
    m.vc_group_gpus.push_back(std::move(per_group));
    m.vc_group_cell_gpus.push_back(std::move(cell));
  }
  if (m.nodes.empty()) return Status::Invalid("the HiveD configuration has no node");
  return m;
}

}  // namespace apiary::sim
