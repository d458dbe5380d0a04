#include "openpai_check.h"

#include <algorithm>
#include <map>
#include <set>

#include "apiary/cell/config_derived.h"
#include "apiary/cell/config_loader.h"

namespace apiary::cli::openpai {
namespace {

// What the config gives one node in one chain.
struct NodeInChain {
  int32_t chain = 0;
  int32_t top = 0;  // physicalCells index
  int64_t leaves = 0;
  int32_t max_index = -1;
};

struct ConfigNode {
  std::string name;
  std::vector<NodeInChain> chains;  // order of appearance
};

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace

LayoutCheck CheckLayout(const Layout& layout, const cell::Config& config,
                        const std::string& config_file) {
  LayoutCheck r;
  const std::string& lf = layout.file;
  auto derived = cell::DeriveConfig(config);
  if (!derived.ok()) {
    r.errors.push_back(derived.status().message());
    return r;
  }
  // Nodes of the config, in configuration order, with their leaves per chain.
  std::vector<ConfigNode> nodes;
  std::map<std::string, size_t, std::less<>> node_index;
  cell::ForEachPhysicalCell(config, *derived, [&](const cell::PhysicalCellVisit& v) {
    if (v.node.empty()) return;
    auto [it, fresh] = node_index.emplace(std::string(v.node), nodes.size());
    if (fresh) nodes.push_back(ConfigNode{std::string(v.node), {}});
    ConfigNode& n = nodes[it->second];
    auto c = std::find_if(n.chains.begin(), n.chains.end(),
                          [&](const NodeInChain& x) { return x.chain == v.chain; });
    if (c == n.chains.end()) {
      n.chains.push_back(NodeInChain{v.chain, v.top, 0, -1});
      c = n.chains.end() - 1;
    }
    if (v.level == 1) {
      ++c->leaves;
      c->max_index = std::max(c->max_index, v.leaf_index);
    }
  });
  auto sku_type = [&](const std::string& leaf) -> const cell::SkuType* {
    for (const auto& s : config.sku_types)
      if (s.name == leaf) return &s;
    return nullptr;
  };
  auto is_cpu_chain = [&](int32_t chain) {
    const cell::SkuType* s = sku_type(derived->chains[chain].leaf_cell_type);
    return s && s->gpu == 0;
  };
  auto where_in_config = [&](const ConfigNode& n) {
    std::vector<std::string> parts;
    for (const auto& c : n.chains)
      parts.push_back("physicalCells[" + std::to_string(c.top) + "], chain " +
                      derived->chains[c.chain].name);
    return config_file + ": node " + n.name + " (" + Join(parts) + ")";
  };

  // Config nodes that are not layout workers.
  for (const ConfigNode& n : nodes) {
    const Machine* m = layout.FindMachine(n.name);
    if (!m) {
      r.errors.push_back(where_in_config(n) + ": not in " + lf +
                         " machine-list (no machine has hostname: " + n.name + ")");
    } else if (!m->worker) {
      r.errors.push_back(where_in_config(n) + ": " + lf + " " + m->Where() +
                         " is not a worker: pai-worker is not \"true\"");
    }
  }

  // Layout workers: present, and with the right leaves.
  std::map<int32_t, std::vector<const Machine*>> chain_machines;
  for (const Machine* m : layout.Workers()) {
    auto it = node_index.find(m->hostname);
    if (it == node_index.end()) {
      r.errors.push_back(lf + ": " + m->Where() + ": pai-worker: \"true\", but " + m->hostname +
                         " is no node of " + config_file + " (add it to a chain's physicalCells)");
      continue;
    }
    ++r.workers_checked;
    const ConfigNode& n = nodes[it->second];
    const MachineSku* sku = layout.FindSku(m->machine_type);
    if (!sku) continue;
    const std::string where = lf + ": " + m->Where() + ": machine-type " + sku->name;
    int64_t device_leaves = 0, cpu_leaves = 0;
    std::vector<std::string> device_parts, cpu_parts;
    for (const NodeInChain& c : n.chains) {
      const auto& chain = derived->chains[c.chain];
      chain_machines[c.chain].push_back(m);
      std::string part = std::to_string(c.leaves) + " in chain " + chain.name + " (leaf type " +
                         chain.leaf_cell_type + ")";
      if (is_cpu_chain(c.chain)) {
        cpu_leaves += c.leaves;
        cpu_parts.push_back(part);
      } else {
        device_leaves += c.leaves;
        device_parts.push_back(part);
        if (sku->device && c.max_index >= sku->device->count)
          r.errors.push_back(where + ": computing-device.count is " +
                             std::to_string(sku->device->count) + ", but " + config_file +
                             " gives " + m->hostname + " leaf index " +
                             std::to_string(c.max_index) + " in chain " + chain.name +
                             " (indices run from 0 to count - 1)");
      }
      // Resources the leaves ask for, against what the machine has.
      const cell::SkuType* st = sku_type(chain.leaf_cell_type);
      if (st && sku->vcore > 0 && st->cpu * c.leaves > sku->vcore)
        r.warnings.push_back(where + ": cpu.vcore is " + std::to_string(sku->vcore) + ", but " +
                             std::to_string(c.leaves) + " leaves of skuTypes." + st->name +
                             " ask for " + std::to_string(st->cpu * c.leaves) +
                             " CPUs; pods may fail with \"Insufficient cpu\"");
      if (st && sku->mem_mib > 0) {
        auto mib = QuantityToMiB(st->memory);
        if (mib && *mib * c.leaves > sku->mem_mib)
          r.warnings.push_back(where + ": mem is " + sku->mem + ", but " +
                               std::to_string(c.leaves) + " leaves of skuTypes." + st->name +
                               " ask for " + std::to_string(*mib * c.leaves) +
                               "Mi; pods may fail with \"Insufficient memory\"");
      }
    }
    if (sku->vcore > 0 && cpu_leaves > sku->vcore)
      r.errors.push_back(where + ": cpu.vcore is " + std::to_string(sku->vcore) + ", but " +
                         config_file + " gives " + m->hostname + " " +
                         std::to_string(cpu_leaves) + " CPU leaf cells: " + Join(cpu_parts));
    if (sku->device) {
      if (device_leaves != sku->device->count)
        r.errors.push_back(where + ": computing-device.count is " +
                           std::to_string(sku->device->count) + " (" + sku->device->model +
                           "), but " + config_file + " gives " + m->hostname + " " +
                           std::to_string(device_leaves) + " device leaf cells" +
                           (device_parts.empty() ? std::string() : ": " + Join(device_parts)));
    } else if (device_leaves > 0) {
      r.errors.push_back(where + ": computing-device: none (a CPU-only machine), but " +
                         config_file + " gives " + m->hostname + " " +
                         std::to_string(device_leaves) + " device leaf cells: " +
                         Join(device_parts));
    }
  }

  // One chain, one device model.
  for (const auto& [chain, machines] : chain_machines) {
    const Machine* first = machines.front();
    const MachineSku* fs = layout.FindSku(first->machine_type);
    if (!fs || is_cpu_chain(chain)) continue;
    std::set<std::string> warned;
    for (const Machine* m : machines) {
      const MachineSku* s = layout.FindSku(m->machine_type);
      if (!s || s == fs) continue;
      const std::string fm = fs->device ? fs->device->model : "no device";
      const std::string mm = s->device ? s->device->model : "no device";
      const std::string chain_name = derived->chains[chain].name;
      if (fm != mm) {
        r.errors.push_back(lf + ": " + m->Where() + ": machine-type " + s->name + " (" + mm +
                           ") shares chain " + chain_name + " with " + first->hostname +
                           " (machine-type " + fs->name + ", " + fm +
                           "); one leaf type must mean one device model");
      } else if (warned.insert(s->name).second) {
        r.warnings.push_back(lf + ": " + m->Where() + ": machine-type " + s->name +
                             " shares chain " + chain_name + " with machine-type " + fs->name +
                             " (" + first->hostname + "); same model " + fm + ", so fine if " +
                             "their cpu and memory match");
      }
    }
  }
  return r;
}

int RunCheckLayout(const std::string& layout_path, const std::string& config_path,
                   std::ostream& out, std::ostream& err) {
  auto print = [&](const std::string& text) {
    err << text;
    if (!text.empty() && text.back() != '\n') err << '\n';
  };
  std::vector<std::string> warnings;
  auto layout = LoadLayoutFile(layout_path, &warnings);
  auto config = cell::LoadConfigFile(config_path);
  if (!layout.ok()) print(layout.status().message());
  if (!config.ok()) print(config.status().message());
  if (!layout.ok() || !config.ok()) return 2;
  LayoutCheck r = CheckLayout(*layout, config->config, config_path);
  for (const auto& w : warnings) print("warning: " + w);
  for (const auto& w : r.warnings) print("warning: " + w);
  for (const auto& e : r.errors) print(e);
  if (!r.errors.empty()) {
    print(std::to_string(r.errors.size()) + (r.errors.size() == 1 ? " error" : " errors") +
          ": " + layout_path + " and " + config_path + " disagree");
    return 2;
  }
  out << layout_path << " and " << config_path << " agree: " << r.workers_checked
      << (r.workers_checked == 1 ? " worker" : " workers") << " checked\n";
  return 0;
}

}  // namespace apiary::cli::openpai
