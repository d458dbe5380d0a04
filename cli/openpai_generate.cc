#include "openpai_generate.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <numeric>
#include <regex>
#include <cstdio>
#include <set>
#include <sstream>

#include "apiary/cell/config_loader.h"
#include "apiary/cell/text.h"
#include "yaml_text.h"

namespace apiary::cli::openpai {
namespace {

constexpr int64_t kMillion = 1000000;

std::string Quoted(const std::string& s) { return "\"" + s + "\""; }

std::string Describe(const YAML::Node& n) {
  if (n.IsNull()) return "null";
  if (n.IsMap()) return "a map";
  if (n.IsSequence()) return "a list";
  return Quoted(n.Scalar());
}

// A YAML scalar for a name: plain when it cannot be read as anything but a
// string, double-quoted otherwise.
std::string Y(const std::string& s) {
  static const std::regex kPlain("[A-Za-z0-9_][A-Za-z0-9_.-]*");
  static const std::regex kNumberLike(
      "[-+]?([0-9][0-9_]*)?(\\.[0-9]*)?([eE][-+]?[0-9]+)?|0x[0-9a-fA-F_]+|0o[0-7_]+");
  static const std::set<std::string> kWords = {"true", "false", "yes", "no", "on", "off",
                                               "null", "y", "n", "~"};
  std::string lower = s;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!s.empty() && std::regex_match(s, kPlain) && !std::regex_match(s, kNumberLike) &&
      !kWords.count(lower))
    return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// "N" (digits only) as a non-negative integer.
std::optional<int64_t> NonNegativeInt(const std::string& s) {
  if (s.empty() || s.size() > 12) return std::nullopt;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

// "50%", "33.25%" -> millionths (500000, 332500).
std::optional<int64_t> SharePpm(const std::string& s) {
  if (s.size() < 2 || s.back() != '%') return std::nullopt;
  std::string num = s.substr(0, s.size() - 1);
  size_t dot = num.find('.');
  std::string whole = num.substr(0, dot);
  std::string frac = dot == std::string::npos ? "" : num.substr(dot + 1);
  if (frac.size() > 4) return std::nullopt;
  auto w = NonNegativeInt(whole.empty() ? "0" : whole);
  if (!w || (whole.empty() && frac.empty())) return std::nullopt;
  auto f = frac.empty() ? std::optional<int64_t>(0) : NonNegativeInt(frac);
  if (!f) return std::nullopt;
  int64_t scale = 1;
  for (size_t i = frac.size(); i < 4; ++i) scale *= 10;
  int64_t ppm = *w * 10000 + *f * scale;
  if (ppm > kMillion) return std::nullopt;
  return ppm;
}

std::string Plural(int64_t n, const std::string& word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

// One worker machine-type and what it becomes.
struct SkuPlan {
  const MachineSku* sku = nullptr;
  std::vector<const Machine*> hosts;  // machine-list order
  bool cpu_only = false;
  int64_t leaves_per_node = 0;
  int64_t leaf_cpu = 0;
  int64_t leaf_memory_mib = 0;
  std::string node_type, pool_type;
  std::set<std::string> pinned;  // hostnames pinned by some VC
};

// The resolved quota of one VC in one machine-type.
struct Quota {
  int64_t nodes = 0;
  int64_t leaves = 0;
};

}  // namespace

cell::Result<VcFile> ParseVcFileText(std::string_view text, const std::string& file) {
  if (cell::Status utf8 = cell::CheckUtf8(text, file); !utf8.ok())
    return cell::Status::Invalid(utf8.message() + "\n");
  VcFile out;
  out.file = file;
  std::string errors;
  auto error = [&](const std::string& where, const std::string& message) {
    errors += file + ": " + where + ": " + message + "\n";
  };
  auto parsed = ParseYamlText(text, file);
  if (!parsed.ok()) return parsed.status();
  YAML::Node root = std::move(parsed).value();
  try {
    YAML::Node vcs = root.IsMap() ? root["virtualClusters"] : YAML::Node();
    if (!vcs.IsDefined() || !vcs.IsMap()) {
      return cell::Status::Invalid(
          file + ": virtualClusters: missing or not a map; expected\n"
                 "  virtualClusters:\n    <vc>: {<machine-type>: <nodes> | \"<share>%\" | "
                 "{nodes: N, leaves: M}, pinnedNodes: [<hostname>, ...]}\n");
    }
    for (auto it = vcs.begin(); it != vcs.end(); ++it) {
      VcPlan vc;
      vc.name = it->first.IsScalar() ? it->first.Scalar() : "";
      const std::string vw = "virtualClusters." + vc.name;
      if (std::any_of(out.vcs.begin(), out.vcs.end(),
                      [&](const VcPlan& p) { return p.name == vc.name; })) {
        error(vw, "VC defined twice");
        continue;
      }
      if (!IsDns1123Label(vc.name)) {
        error(vw, "VC name " + Quoted(vc.name) +
                      " is not a DNS-1123 label (lower-case letters, digits and '-', at most 63 "
                      "characters); OpenPAI derives StatefulSet and scheduler names from it");
      }
      const YAML::Node body = it->second;
      if (body.IsNull()) {
        out.vcs.push_back(std::move(vc));
        continue;
      }
      if (!body.IsMap()) {
        error(vw, "must be a map of machine-type to nodes, share or {nodes, leaves}, got " +
                      Describe(body));
        continue;
      }
      for (auto a = body.begin(); a != body.end(); ++a) {
        std::string key = a->first.IsScalar() ? a->first.Scalar() : "";
        const YAML::Node v = a->second;
        const std::string where = vw + "." + key;
        if (key == "pinnedNodes") {
          if (v.IsScalar()) {
            vc.pinned_nodes.push_back(v.Scalar());
          } else if (v.IsSequence()) {
            for (const auto& h : v) {
              if (!h.IsScalar() || h.Scalar().empty())
                error(where, "every entry must be a hostname, got " + Describe(h));
              else
                vc.pinned_nodes.push_back(h.Scalar());
            }
          } else if (!v.IsNull()) {
            error(where, "must be a list of hostnames, got " + Describe(v));
          }
          continue;
        }
        VcAsk ask;
        ask.sku = key;
        ask.where = where;
        bool ok = true;
        auto read_scalar = [&](const YAML::Node& n, bool allow_share) {
          if (!n.IsScalar()) return false;
          if (auto c = NonNegativeInt(n.Scalar())) {
            ask.nodes = *c;
            return true;
          }
          if (auto p = SharePpm(n.Scalar()); p && allow_share) {
            ask.share_ppm = *p;
            return true;
          }
          return false;
        };
        if (v.IsScalar()) {
          ok = read_scalar(v, true);
        } else if (v.IsMap()) {
          for (auto f = v.begin(); f != v.end() && ok; ++f) {
            std::string fk = f->first.IsScalar() ? f->first.Scalar() : "";
            if (fk == "nodes") {
              auto c = f->second.IsScalar() ? NonNegativeInt(f->second.Scalar()) : std::nullopt;
              if (c) ask.nodes = *c; else ok = false;
            } else if (fk == "leaves") {
              auto c = f->second.IsScalar() ? NonNegativeInt(f->second.Scalar()) : std::nullopt;
              if (c) ask.leaves = *c; else ok = false;
            } else if (fk == "share") {
              auto p = f->second.IsScalar() ? SharePpm(f->second.Scalar()) : std::nullopt;
              if (p) ask.share_ppm = *p; else ok = false;
            } else {
              error(where, "unknown key " + Quoted(fk) + " (expected nodes, leaves or share)");
              ok = false;
            }
          }
          if (ok && ask.share_ppm >= 0 && ask.nodes > 0) {
            error(where, "give either nodes or share, not both");
            continue;
          }
        } else {
          ok = false;
        }
        if (!ok) {
          error(where, "must be a whole number of nodes (2), a share of the machine-type's "
                       "nodes (\"50%\") or {nodes: N, leaves: M}, got " + Describe(v));
          continue;
        }
        vc.asks.push_back(std::move(ask));
      }
      out.vcs.push_back(std::move(vc));
    }
  } catch (const YAML::Exception& e) {
    errors += file + ": cannot read the VC file: " + e.what() + "\n";
  }
  if (!errors.empty()) return cell::Status::Invalid(errors);
  return out;
}

cell::Result<VcFile> LoadVcFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return cell::Status::Invalid(path + ": cannot read the file: " + std::strerror(errno) + "\n");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return ParseVcFileText(buffer.str(), path);
}

cell::Result<Generated> Generate(const Layout& layout, const VcFile* vcs) {
  Generated g;
  std::string errors;
  auto error = [&](const std::string& file, const std::string& where, const std::string& m) {
    errors += file + ": " + (where.empty() ? "" : where + ": ") + m + "\n";
  };
  const std::string& lf = layout.file;

  // 1. Worker machine-types in order of first appearance (openpai.md 3, step 1).
  std::vector<SkuPlan> plans;
  for (const Machine* m : layout.Workers()) {
    auto it = std::find_if(plans.begin(), plans.end(),
                           [&](const SkuPlan& p) { return p.sku->name == m->machine_type; });
    if (it == plans.end()) {
      SkuPlan p;
      p.sku = layout.FindSku(m->machine_type);
      if (!p.sku) continue;  // the layout parser already refused this
      plans.push_back(std::move(p));
      it = plans.end() - 1;
    }
    it->hosts.push_back(m);
  }
  if (plans.empty()) {
    return cell::Status::Invalid(lf + ": machine-list: No worker node detected: no machine has "
                                      "pai-worker: \"true\"\n");
  }

  // 2. Per machine-type: names, leaves per node, per-leaf resources. A
  // machine-type with a problem is left out of the quota arithmetic below,
  // and everything else is still checked: every problem in one pass.
  std::map<std::string, std::string> name_owner;  // generated name -> machine-type
  std::set<std::string> bad_skus;
  for (SkuPlan& p : plans) {
    const size_t errors_before = errors.size();
    const MachineSku& s = *p.sku;
    const std::string where = "machine-sku." + s.name;
    bool name_ok = true;
    for (char c : s.name) {
      if (c == '.' || c == '/' || std::isspace(static_cast<unsigned char>(c))) {
        error(lf, where, "the machine-type name becomes a HiveD cell type name and may not "
                         "contain '.', '/' or white space");
        name_ok = false;
        break;
      }
    }
    p.node_type = s.name + "-NODE";
    p.pool_type = s.name + "-NODE-POOL";
    if (name_ok) {
      for (const std::string& n : {s.name, p.node_type, p.pool_type}) {
        auto [it, fresh] = name_owner.emplace(n, s.name);
        if (!fresh)
          error(lf, where, "the generated cell type name " + n + " collides with a name of "
                           "machine-type " + it->second + "; rename one of them");
      }
    }
    for (const Machine* m : p.hosts) {
      if (m->master)
        g.warnings.push_back(lf + ": " + m->Where() +
                             ": pai-master is also pai-worker: included as a worker (OpenPAI's "
                             "installer refuses this at install time; fine afterwards)");
    }
    if (s.vcore <= 0) {
      error(lf, where + ".cpu.vcore", "missing; needed for the per-leaf cpu of skuTypes." + s.name +
                                          " (worker " + p.hosts[0]->hostname + " uses this SKU)");
      bad_skus.insert(s.name);
      continue;
    }
    if (s.mem_mib <= 0) {
      error(lf, where + ".mem", "missing; needed for the per-leaf memory of skuTypes." + s.name +
                                    " (worker " + p.hosts[0]->hostname + " uses this SKU)");
      bad_skus.insert(s.name);
      continue;
    }
    // OpenPAI keeps back min(1 %, 0.5 CPU) and min(1 %, 1024 MiB) per node.
    // Millicores, and hundredths of a MiB, keep the arithmetic exact.
    const int64_t free_mcpu = s.vcore * 1000 - std::min<int64_t>(s.vcore * 10, 500);
    const int64_t free_cmib = s.mem_mib * 100 - std::min<int64_t>(s.mem_mib, 102400);
    if (s.device) {
      p.leaves_per_node = s.device->count;
      p.leaf_cpu = free_mcpu / (1000 * p.leaves_per_node);
      p.leaf_memory_mib = free_cmib / (100 * p.leaves_per_node);
      if (p.leaf_cpu <= 0)
        error(lf, where + ".cpu.vcore",
              std::to_string(s.vcore) + " vcores for " + std::to_string(s.device->count) +
                  " devices leave less than one CPU per device; OpenPAI could not size pods");
      if (p.leaf_memory_mib <= 0)
        error(lf, where + ".mem", s.mem + " leaves no memory per device");
    } else {
      p.cpu_only = true;
      p.leaves_per_node = free_mcpu / 1000;
      p.leaf_cpu = 1;
      p.leaf_memory_mib = p.leaves_per_node > 0 ? free_cmib * 10 / free_mcpu : 0;
      if (p.leaves_per_node <= 0 || p.leaf_memory_mib <= 0)
        error(lf, where, "a CPU-only machine-type needs at least 2 vcores and some memory");
    }
    if (errors.size() != errors_before) bad_skus.insert(s.name);
  }

  auto find_plan = [&](const std::string& sku) -> SkuPlan* {
    for (SkuPlan& p : plans)
      if (p.sku->name == sku) return &p;
    return nullptr;
  };

  // 3. Virtual clusters: resolve asks into node and leaf counts.
  std::vector<VcPlan> vc_plans;
  if (vcs) {
    vc_plans = vcs->vcs;
  } else {
    VcPlan def;
    def.name = "default";
    for (const SkuPlan& p : plans) {
      VcAsk a;
      a.sku = p.sku->name;
      a.nodes = static_cast<int64_t>(p.hosts.size());
      def.asks.push_back(a);
    }
    vc_plans.push_back(std::move(def));
  }
  const std::string vf = vcs ? vcs->file : std::string("(default VC)");
  if (std::none_of(vc_plans.begin(), vc_plans.end(),
                   [](const VcPlan& p) { return p.name == "default"; }))
    g.warnings.push_back(vf + ": virtualClusters: no VC named default; OpenPAI submits jobs that "
                              "name no VC to `default`, and its user groups always list it");
  std::map<std::string, std::string> pinned_by;  // hostname -> VC
  for (const VcPlan& vc : vc_plans) {
    for (const VcAsk& a : vc.asks) {
      if (!find_plan(a.sku)) {
        std::string known;
        for (const SkuPlan& p : plans) known += (known.empty() ? "" : ", ") + p.sku->name;
        error(vf, a.where,
              (layout.FindSku(a.sku) ? "machine-type " + a.sku + " has no worker in " + lf
                                     : "no machine-type " + Quoted(a.sku) + " in " + lf) +
                  " (worker machine-types: " + known + ")");
      }
    }
    for (const std::string& host : vc.pinned_nodes) {
      const std::string where = "virtualClusters." + vc.name + ".pinnedNodes";
      const Machine* m = layout.FindMachine(host);
      if (!m || !m->worker) {
        error(vf, where, Quoted(host) + (m ? " is not a worker (pai-worker: \"true\") in "
                                           : " is not a machine of ") + lf);
        continue;
      }
      auto [it, fresh] = pinned_by.emplace(host, vc.name);
      if (!fresh) {
        error(vf, where, host + " is already pinned to VC " + it->second);
        continue;
      }
      if (SkuPlan* p = find_plan(m->machine_type)) p->pinned.insert(host);
    }
  }

  // quota[vc][sku]
  std::vector<std::map<std::string, Quota>> quota(vc_plans.size());
  for (SkuPlan& p : plans) {
    const std::string& sku = p.sku->name;
    if (bad_skus.count(sku)) continue;  // reported above; its sizes are unknown
    const int64_t n = static_cast<int64_t>(p.hosts.size() - p.pinned.size());
    int64_t fixed = 0, share_ppm = 0, leaves = 0;
    std::string askers;
    for (size_t v = 0; v < vc_plans.size(); ++v)
      for (const VcAsk& a : vc_plans[v].asks)
        if (a.sku == sku) {
          fixed += a.nodes;
          leaves += a.leaves;
          if (a.share_ppm >= 0) share_ppm += a.share_ppm;
          askers += (askers.empty() ? "" : ", ") + vc_plans[v].name;
        }
    const std::string where = "virtualClusters.*." + sku;
    if (share_ppm > kMillion) {
      error(vf, where, "the shares of machine-type " + sku + " add up to more than 100% (VCs " +
                           askers + ")");
      continue;
    }
    if (fixed * kMillion + share_ppm * n > n * kMillion) {
      error(vf, where, "VCs " + askers + " ask for more " + sku + " nodes than the " +
                           Plural(n, "unpinned worker") + " of that machine-type");
      continue;
    }
    // Shares: floor each, then hand out what is left by largest remainder
    // when the shares cover every node (ties: the VC listed first).
    int64_t assigned = fixed;
    std::vector<std::pair<int64_t, size_t>> remainders;  // (remainder, vc)
    for (size_t v = 0; v < vc_plans.size(); ++v)
      for (const VcAsk& a : vc_plans[v].asks) {
        if (a.sku != sku) continue;
        Quota& q = quota[v][sku];
        q.nodes += a.nodes;
        q.leaves += a.leaves;
        if (a.share_ppm >= 0) {
          int64_t exact = n * a.share_ppm;
          q.nodes += exact / kMillion;
          assigned += exact / kMillion;
          remainders.emplace_back(exact % kMillion, v);
        }
      }
    if (share_ppm == kMillion) {
      std::stable_sort(remainders.begin(), remainders.end(),
                       [](const auto& a, const auto& b) { return a.first > b.first; });
      for (size_t i = 0; assigned < n && i < remainders.size(); ++i, ++assigned)
        quota[remainders[i].second][sku].nodes += 1;
    }
    // A share that is no whole number of nodes: say what the rounding made
    // of it (the operator wrote 50%, the VC gets 1 node of 3, not 1.5).
    for (size_t v = 0; v < vc_plans.size(); ++v)
      for (const VcAsk& a : vc_plans[v].asks) {
        if (a.sku != sku || a.share_ppm <= 0 || (n * a.share_ppm) % kMillion == 0) continue;
        char exact[32];
        std::snprintf(exact, sizeof exact, "%.2f", static_cast<double>(n * a.share_ppm) / kMillion);
        const int64_t got = quota[v][sku].nodes - a.nodes;
        g.warnings.push_back(vf + ": " + a.where + ": the share is " + exact + " of " +
                             Plural(n, sku + " node") + "; VC " + vc_plans[v].name + " gets " +
                             Plural(got, "node") +
                             (got * kMillion > n * a.share_ppm
                                  ? " (a leftover node, by largest remainder)"
                                  : " (rounded down)"));
      }
    for (size_t v = 0; v < vc_plans.size(); ++v)
      for (const VcAsk& a : vc_plans[v].asks)
        if (a.sku == sku && a.share_ppm > 0 && quota[v][sku].nodes == 0 && a.leaves == 0)
          g.warnings.push_back(vf + ": " + a.where + ": the share gives VC " + vc_plans[v].name +
                               " no " + sku + " node (" + Plural(n, "node") +
                               " to share); give it {leaves: N} instead");
    const int64_t free_leaves = (n - assigned) * p.leaves_per_node;
    if (leaves > free_leaves) {
      error(vf, where, "VCs " + askers + " ask for " + std::to_string(leaves) + " single " + sku +
                           " leaf cells but only " + std::to_string(free_leaves) +
                           " remain outside the whole nodes given");
      continue;
    }
    std::string pinned_note;
    for (const auto& h : p.pinned) pinned_note += (pinned_note.empty() ? "" : ", ") + h;
    if (assigned == 0 && leaves == 0 && p.pinned.empty()) {
      std::string hosts;
      for (const Machine* m : p.hosts) hosts += (hosts.empty() ? "" : ", ") + m->hostname;
      g.warnings.push_back(
          vf + ": machine-type " + sku + " (nodes " + hosts + ") is in no VC: chain " +
          p.pool_type + " serves opportunistic pods only. HiveD crashes at start with such a "
          "chain (\"hivedscheduler-hs is not ready yet\"); give some VC cells in it");
    } else if (free_leaves - leaves > 0) {
      g.warnings.push_back(vf + ": machine-type " + sku + ": " +
                           std::to_string(free_leaves - leaves) + " of " +
                           std::to_string(n * p.leaves_per_node) +
                           " leaf cells are in no VC (opportunistic pods only)");
    }
  }
  if (!errors.empty()) return cell::Status::Invalid(errors);

  // Single leaves ({leaves: N}) are separate cells: HiveD never combines two
  // of them for one pod (hived.md 6.3, node view), so they serve 1-GPU pods
  // only. Worth saying whenever the VC may run bigger pods: more than one
  // such leaf, or whole nodes as well.
  for (size_t v = 0; v < vc_plans.size(); ++v) {
    bool whole = !vc_plans[v].pinned_nodes.empty();
    for (const auto& [sku, q] : quota[v]) whole = whole || q.nodes > 0;
    std::set<std::string> said;
    for (const VcAsk& a : vc_plans[v].asks) {
      auto it = quota[v].find(a.sku);
      if (it == quota[v].end() || it->second.leaves == 0 || !said.insert(a.sku).second) continue;
      const int64_t leaves = it->second.leaves;
      if (leaves < 2 && !whole) continue;
      g.warnings.push_back(vf + ": " + a.where + ": " + std::to_string(leaves) + " single " + a.sku +
                           (leaves == 1 ? " leaf" : " leaves") +
                           ": 1-GPU pods only (separately assigned leaves are never combined "
                           "for one pod); a pod of 2 or more " + a.sku + " GPUs in VC " +
                           vc_plans[v].name + " needs whole nodes ({nodes: N})");
    }
  }

  // 4. Emit.
  std::ostringstream c;
  c << "physicalCluster:\n  skuTypes:\n";
  for (const SkuPlan& p : plans) {
    c << "    " << Y(p.sku->name) << ":\n";
    if (!p.cpu_only) c << "      gpu: 1\n";
    c << "      cpu: " << p.leaf_cpu << "\n";
    c << "      memory: " << p.leaf_memory_mib << "Mi\n";
  }
  c << "  cellTypes:\n";
  for (const SkuPlan& p : plans) {
    c << "    " << Y(p.node_type) << ":\n"
      << "      childCellType: " << Y(p.sku->name) << "\n"
      << "      childCellNumber: " << p.leaves_per_node << "\n"
      << "      isNodeLevel: true\n";
    c << "    " << Y(p.pool_type) << ":\n"
      << "      childCellType: " << Y(p.node_type) << "\n"
      << "      childCellNumber: " << p.hosts.size() << "\n";
  }
  c << "  physicalCells:\n";
  for (const SkuPlan& p : plans) {
    c << "  - cellType: " << Y(p.pool_type) << "\n    cellChildren:\n";
    for (const Machine* m : p.hosts) {
      c << "    - cellAddress: " << Y(m->hostname) << "\n";
      if (p.pinned.count(m->hostname)) c << "      pinnedCellId: " << Y(m->hostname) << "\n";
    }
  }
  c << "virtualClusters:\n";
  for (size_t v = 0; v < vc_plans.size(); ++v) {
    const VcPlan& vc = vc_plans[v];
    c << "  " << Y(vc.name) << ":\n";
    std::ostringstream cells;
    std::set<std::string> done;
    for (const VcAsk& a : vc.asks) {
      if (!done.insert(a.sku).second) continue;
      const SkuPlan& p = *find_plan(a.sku);
      const Quota& q = quota[v][a.sku];
      if (q.nodes > 0)
        cells << "    - cellType: " << Y(p.pool_type + "." + p.node_type) << "\n"
              << "      cellNumber: " << q.nodes << "\n";
      if (q.leaves > 0)
        cells << "    - cellType: " << Y(p.pool_type + "." + p.node_type + "." + p.sku->name)
              << "\n"
              << "      cellNumber: " << q.leaves << "\n";
    }
    if (cells.str().empty() && vc.pinned_nodes.empty()) {
      c << "    virtualCells: []\n";
      g.warnings.push_back(vf + ": virtualClusters." + vc.name + ": the VC gets no cells");
    } else if (!cells.str().empty()) {
      c << "    virtualCells:\n" << cells.str();
    }
    if (!vc.pinned_nodes.empty()) {
      c << "    pinnedCells:\n";
      for (const std::string& h : vc.pinned_nodes) c << "    - pinnedCellId: " << Y(h) << "\n";
    }
  }
  const std::string body = c.str();

  std::string sources = lf + (vcs ? " and " + vcs->file : std::string());
  g.config =
      "# HiveD scheduler configuration generated by `apiary generate` from " + sources + ".\n"
      "# Leaf cell types are the OpenPAI machine-types. Per-leaf cpu and memory are\n"
      "# machine-sku cpu.vcore and mem minus OpenPAI's reserve (min(1%, 0.5 CPU),\n"
      "# min(1%, 1024Mi)) divided by the devices; OpenPAI's own generator also\n"
      "# subtracts the pods running on the nodes: compare with `kubectl describe node`.\n" +
      body;
  std::ostringstream s;
  s << "# The hivedscheduler section of OpenPAI's services-configuration.yaml,\n"
    << "# generated by `apiary generate` from " << sources << ".\n"
    << "# Replace the section in /cluster-configuration/services-configuration.yaml,\n"
    << "# then apply it (docs/openpai.md, \"Applying a change\"). Only VCs changed:\n"
    << "#   ./paictl.py service stop -n rest-server hivedscheduler\n"
    << "#   ./paictl.py config push -p /cluster-configuration -m service\n"
    << "#   ./paictl.py service start -n hivedscheduler rest-server\n"
    << "# Machines added or removed (layout.yaml changed too):\n"
    << "#   ./paictl.py service stop -n cluster-configuration hivedscheduler rest-server job-exporter\n"
    << "#   ./paictl.py config push -p /cluster-configuration -m service\n"
    << "#   ./paictl.py node add -n <node> (or: ./paictl.py node remove -n <node>)\n"
    << "#   ./paictl.py service start -n cluster-configuration hivedscheduler rest-server job-exporter\n"
    << "hivedscheduler:\n  config: |\n";
  std::istringstream lines(body);
  for (std::string line; std::getline(lines, line);) s << "    " << line << "\n";
  g.services = s.str();

  std::ostringstream sum;
  size_t nodes = 0;
  for (const SkuPlan& p : plans) nodes += p.hosts.size();
  sum << "generated " << Plural(static_cast<int64_t>(plans.size()), "chain") << ", "
      << Plural(static_cast<int64_t>(nodes), "node") << ", "
      << Plural(static_cast<int64_t>(vc_plans.size()), "VC") << "\n";
  for (const SkuPlan& p : plans) {
    sum << "  " << p.pool_type << ": " << Plural(static_cast<int64_t>(p.hosts.size()), "node")
        << " x " << p.leaves_per_node << " "
        << (p.cpu_only ? std::string("CPU") : p.sku->device->model) << " (leaf " << p.sku->name
        << ": cpu " << p.leaf_cpu << ", memory " << p.leaf_memory_mib << "Mi)\n";
  }
  for (size_t v = 0; v < vc_plans.size(); ++v) {
    sum << "  VC " << vc_plans[v].name << ":";
    bool any = false;
    for (const SkuPlan& p : plans) {
      auto it = quota[v].find(p.sku->name);
      int64_t pinned = 0;
      for (const auto& h : vc_plans[v].pinned_nodes)
        if (p.pinned.count(h)) ++pinned;
      int64_t leaves = pinned * p.leaves_per_node;
      if (it != quota[v].end())
        leaves += it->second.nodes * p.leaves_per_node + it->second.leaves;
      if (leaves == 0) continue;
      sum << (any ? "," : "") << " " << p.sku->name << " " << leaves;
      any = true;
    }
    sum << (any ? " leaf cells" : " nothing") << "\n";
  }
  g.summary = sum.str();
  return g;
}

int RunGenerate(const GenerateOptions& options, std::ostream& out, std::ostream& err) {
  auto print = [&](const std::string& text) {
    err << text;
    if (!text.empty() && text.back() != '\n') err << '\n';
  };
  std::vector<std::string> warnings;
  // Both files are read before either is judged: every problem in one pass.
  auto layout = LoadLayoutFile(options.layout_path, &warnings);
  std::optional<VcFile> vcs;
  bool bad = !layout.ok();
  if (bad) print(layout.status().message());
  if (!options.vcs_path.empty()) {
    auto v = LoadVcFile(options.vcs_path);
    if (!v.ok()) {
      print(v.status().message());
      bad = true;
    } else {
      vcs = std::move(v).value();
    }
  }
  if (bad) return 2;
  auto g = Generate(*layout, vcs ? &*vcs : nullptr);
  if (!g.ok()) {
    print(g.status().message());
    return 2;
  }
  warnings.insert(warnings.end(), g->warnings.begin(), g->warnings.end());
  // What we write must load: check it with the same loader `validate` uses.
  for (const auto& [text, name] : {std::pair{&g->config, std::string("generated config")},
                                   std::pair{&g->services, std::string("generated fragment")}}) {
    auto loaded = cell::LoadConfigText(*text, name);
    if (!loaded.ok()) {
      print("internal error: the generated configuration does not load; please report:\n" +
            loaded.status().message());
      return 2;
    }
  }
  auto write = [&](const std::string& path, const std::string& text) {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f << text;
    f.close();
    if (!f) {
      print(path + ": cannot write the file: " + std::strerror(errno));
      return false;
    }
    return true;
  };
  for (const auto& w : warnings) print("warning: " + w);
  if (options.output_path.empty()) {
    out << g->config;
  } else if (!write(options.output_path, g->config)) {
    return 2;
  }
  if (!options.services_path.empty() && !write(options.services_path, g->services)) return 2;
  if (options.output_path.empty())
    err << g->summary;
  else
    out << g->summary;
  return 0;
}

}  // namespace apiary::cli::openpai
