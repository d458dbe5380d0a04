#include "openpai_diff.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <memory>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "apiary/cell/annotations.h"
#include "apiary/cell/config_derived.h"
#include "apiary/cell/text.h"
#include "apiary/cell/config_loader.h"
#include "apiary/cell/recovery.h"
#include "apiary/cell/scheduler.h"
#include "apiary/wire/inspect_json.h"
#include "apiary/wire/pod_json.h"
#include "headroom_text.h"
#include "apiary/wire/pod_list.h"

namespace apiary::cli::openpai {
namespace {

// One configuration with everything the diff compares.
struct Side {
  std::string file;
  cell::Config config;    // as written (VCs included)
  cell::Config physical;  // the same without virtualClusters
  cell::DerivedConfig derived;  // of `physical`
  bool schedulable = false;     // the scheduler accepts `config`
  std::vector<std::string> nodes;  // configuration order
  // node -> (chain index, leaves), chains in order of appearance
  std::map<std::string, std::vector<std::pair<int32_t, int64_t>>> node_chains;
  std::vector<std::string> vc_order;
  std::map<std::string, VcQuota> quota;
  std::vector<int64_t> chain_assigned;  // leaves owned by VCs, per chain
  std::vector<bool> chain_used;         // some VC has cells in the chain
  std::vector<std::vector<std::string>> chain_nodes;
  std::vector<Infeasible> infeasible;
};

// The HiveD config document of a file: the root, or OpenPAI's embedded
// hivedscheduler.config string.
std::optional<YAML::Node> ConfigDocument(std::string_view text) {
  try {
    YAML::Node root = YAML::Load(std::string(text));
    if (root.IsMap() && !root["physicalCluster"].IsDefined()) {
      YAML::Node hs = root["hivedscheduler"];
      if (hs.IsDefined() && hs.IsMap()) {
        YAML::Node cfg = hs["config"];
        if (cfg.IsDefined() && cfg.IsScalar()) return YAML::Load(cfg.Scalar());
      }
    }
    return root;
  } catch (const YAML::Exception&) {
    return std::nullopt;
  }
}

std::optional<int64_t> ScalarInt(const YAML::Node& n) {
  if (!n.IsDefined() || !n.IsScalar()) return std::nullopt;
  const std::string& s = n.Scalar();
  size_t i = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
  if (i == s.size() || s.size() > 15) return std::nullopt;
  for (size_t k = i; k < s.size(); ++k)
    if (s[k] < '0' || s[k] > '9') return std::nullopt;
  return std::stoll(s);
}

// virtualClusters read by hand, for a file the loader refuses only because
// its assignment does not fit; nullopt on anything unexpected.
std::optional<std::vector<cell::VirtualClusterSpec>> ReadVirtualClusters(const YAML::Node& n) {
  std::vector<cell::VirtualClusterSpec> out;
  if (!n.IsDefined() || n.IsNull()) return out;
  if (!n.IsMap()) return std::nullopt;
  for (auto it = n.begin(); it != n.end(); ++it) {
    cell::VirtualClusterSpec vc;
    if (!it->first.IsScalar()) return std::nullopt;
    vc.name = it->first.Scalar();
    const YAML::Node body = it->second;
    if (body.IsMap()) {
      if (YAML::Node cells = body["virtualCells"]; cells.IsDefined() && !cells.IsNull()) {
        if (!cells.IsSequence()) return std::nullopt;
        for (const auto& c : cells) {
          if (!c.IsMap() || !c["cellType"].IsScalar()) return std::nullopt;
          auto number = ScalarInt(c["cellNumber"]);
          if (!number) return std::nullopt;
          vc.virtual_cells.push_back({c["cellType"].Scalar(), *number});
        }
      }
      if (YAML::Node pins = body["pinnedCells"]; pins.IsDefined() && !pins.IsNull()) {
        if (!pins.IsSequence()) return std::nullopt;
        for (const auto& p : pins) {
          if (!p.IsMap() || !p["pinnedCellId"].IsScalar()) return std::nullopt;
          vc.pinned_cell_ids.push_back(p["pinnedCellId"].Scalar());
        }
      }
    } else if (!body.IsNull()) {
      return std::nullopt;
    }
    out.push_back(std::move(vc));
  }
  return out;
}

std::vector<std::string> SplitDots(const std::string& s) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    parts.push_back(s.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) return parts;
    start = dot + 1;
  }
}

int64_t SatMul(int64_t a, int64_t b) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  if (a == 0 || b == 0) return 0;
  return a > kMax / b ? kMax : a * b;
}

// Nodes, VC quotas, unassigned capacity and the fit check (hived.md 3, V27)
// of one side.
void ComputeFacts(Side& s) {
  const cell::DerivedConfig& d = s.derived;
  const size_t chains = d.chains.size();
  s.chain_assigned.assign(chains, 0);
  s.chain_used.assign(chains, false);
  s.chain_nodes.assign(chains, {});
  std::map<std::string, std::pair<int32_t, int32_t>> pinned;  // id -> (chain, level)
  cell::ForEachPhysicalCell(s.physical, d, [&](const cell::PhysicalCellVisit& v) {
    if (!v.pinned_cell_id.empty())
      pinned[std::string(v.pinned_cell_id)] = {v.chain, v.level};
    if (v.node.empty()) return;
    std::string node(v.node);
    auto [it, fresh] = s.node_chains.try_emplace(node);
    if (fresh) s.nodes.push_back(node);
    auto c = std::find_if(it->second.begin(), it->second.end(),
                          [&](const auto& p) { return p.first == v.chain; });
    if (c == it->second.end()) {
      it->second.emplace_back(v.chain, 0);
      c = it->second.end() - 1;
      s.chain_nodes[v.chain].push_back(node);
    }
    if (v.level == 1) ++c->second;
  });

  // demand[chain][level - 1] and who asks.
  std::vector<std::vector<int64_t>> demand(chains);
  std::vector<std::vector<std::vector<std::pair<std::string, int64_t>>>> askers(chains);
  for (size_t c = 0; c < chains; ++c) {
    demand[c].assign(d.chains[c].top_level, 0);
    askers[c].assign(d.chains[c].top_level, {});
  }
  auto add = [&](const std::string& vc, int32_t chain, int32_t level, int64_t n) {
    if (chain < 0 || level < 1 || level > d.chains[chain].top_level || n <= 0) return;
    const cell::DerivedChain& ch = d.chains[chain];
    VcQuota& q = s.quota[vc];
    auto& cell = q.cells[{ch.name, level}];
    cell.first = ch.level_cell_types[level - 1];
    cell.second += n;
    const int64_t leaves = SatMul(n, ch.level_leaf_cell_numbers[level - 1]);
    q.leaves[ch.leaf_cell_type] += leaves;
    s.chain_assigned[chain] += leaves;
    s.chain_used[chain] = true;
    demand[chain][level - 1] += n;
    auto& a = askers[chain][level - 1];
    if (!a.empty() && a.back().first == vc)
      a.back().second += n;
    else
      a.emplace_back(vc, n);
  };
  for (const cell::VirtualClusterSpec& vc : s.config.virtual_clusters) {
    s.vc_order.push_back(vc.name);
    s.quota[vc.name];
    for (const cell::VirtualCellSpec& cell : vc.virtual_cells) {
      std::vector<std::string> parts = SplitDots(cell.cell_type);
      int32_t chain = d.FindChain(parts.front());
      const cell::DerivedCellType* t = d.FindCellType(parts.back());
      if (chain < 0 || !t) continue;
      add(vc.name, chain, t->level, cell.cell_number);
    }
    for (const std::string& id : vc.pinned_cell_ids) {
      auto it = pinned.find(id);
      if (it != pinned.end()) add(vc.name, it->second.first, it->second.second, 1);
    }
  }
  for (size_t c = 0; c < chains; ++c) {
    const cell::DerivedChain& ch = d.chains[c];
    int64_t available = static_cast<int64_t>(ch.top_cells.size());
    for (int32_t level = ch.top_level; level >= 1; --level) {
      const int64_t need = demand[c][level - 1];
      if (need > available) {
        Infeasible inf;
        inf.chain = ch.name;
        inf.level = level;
        inf.cell_type = ch.level_cell_types[level - 1];
        inf.needed = need;
        inf.available = available;
        for (const auto& [vc, n] : askers[c][level - 1])
          inf.askers += (inf.askers.empty() ? "" : ", ") + vc + " " + std::to_string(n);
        s.infeasible.push_back(std::move(inf));
        break;
      }
      if (level > 1) {
        const cell::DerivedCellType* t = d.FindCellType(ch.level_cell_types[level - 1]);
        available = SatMul(available - need, t ? t->child_cell_number : 0);
      }
    }
  }
}

cell::Result<Side> LoadSide(std::string_view text, const std::string& file) {
  Side s;
  s.file = file;
  auto loaded = cell::LoadConfigText(text, file);
  if (loaded.ok()) {
    s.config = std::move(loaded->config);
    s.schedulable = true;
  } else {
    // Refused. If the only problem is that the VC assignment does not fit,
    // the diff can still say everything else (and that this is the problem):
    // load the physical cluster alone, then add the VCs read by hand.
    auto doc = ConfigDocument(text);
    if (!doc || !doc->IsMap() || !(*doc)["virtualClusters"].IsDefined()) return loaded.status();
    std::string physical_text;
    std::optional<std::vector<cell::VirtualClusterSpec>> vcs;
    try {
      YAML::Node physical_only = YAML::Clone(*doc);
      physical_only.remove("virtualClusters");
      YAML::Emitter emitter;
      emitter << physical_only;
      physical_text = emitter.c_str();
      vcs = ReadVirtualClusters((*doc)["virtualClusters"]);
    } catch (const YAML::Exception&) {
      return loaded.status();
    }
    auto physical = cell::LoadConfigText(physical_text, file);
    if (!physical.ok() || !vcs) return loaded.status();
    cell::Config full = std::move(physical->config);
    full.virtual_clusters = std::move(*vcs);
    cell::Diagnostics diagnostics;
    cell::ValidateConfig(full, &diagnostics);
    for (const cell::Diagnostic& item : diagnostics.items)
      if (item.severity == cell::Diagnostic::Severity::kError &&
          item.check != "V27")
        return loaded.status();
    s.config = std::move(full);
    s.schedulable = false;
  }
  s.physical = s.config;
  s.physical.virtual_clusters.clear();
  auto derived = cell::DeriveConfig(s.physical);
  if (!derived.ok()) return derived.status();
  s.derived = std::move(derived).value();
  ComputeFacts(s);
  return s;
}

std::string DescribeNode(const Side& s, const std::string& node) {
  std::string out;
  for (const auto& [chain, leaves] : s.node_chains.at(node))
    out += (out.empty() ? "" : ", ") + std::string("chain ") + s.derived.chains[chain].name +
           " (" + std::to_string(leaves) + (leaves == 1 ? " leaf)" : " leaves)");
  return out;
}

std::string DescribeLeaves(const std::map<std::string, int64_t>& leaves) {
  std::string out;
  for (const auto& [type, n] : leaves)
    if (n > 0) out += (out.empty() ? "" : ", ") + type + " " + std::to_string(n);
  return out.empty() ? "nothing" : out;
}

std::string Placement(const std::vector<std::pair<std::string, std::vector<int32_t>>>& p) {
  std::string out;
  for (const auto& [node, leaves] : p) {
    out += (out.empty() ? "" : "; ") + node + ":";
    for (size_t i = 0; i < leaves.size(); ++i)
      out += (i ? "," : " ") + std::to_string(leaves[i]);
  }
  return out;
}

// ---- Running pods ----

// A bound pod of the dump: its bind order is its PodScheduled time (the
// extender's recovery order), absent when the pod has no such condition.
using BoundPod = cell::PodToRecover;

// The pods `apiary diff --pods` evaluates: the bound ones, in recovery order
// (wire/pod_list.h); what was skipped goes to the report.
cell::Result<std::vector<BoundPod>> ReadPods(const std::string& text, const std::string& name,
                                             DiffReport* r) {
  auto list = wire::ReadPodList(text, name);
  if (!list.ok()) return list.status();
  for (std::string& w : list->warnings) r->warnings.push_back(std::move(w));
  r->pods_note = list->Note(name);
  // The list is in the extender's recovery order already (cell::BindOrder's
  // rule); the recovery driver keeps it.
  std::vector<BoundPod> pods;
  pods.reserve(list->bound.size());
  for (wire::BoundPod& b : list->bound) {
    BoundPod p;
    p.pod = b.pod.ref;
    p.spec = std::move(b.spec);
    p.bind_info = std::move(b.bind_info);
    p.lazy_mark = std::move(b.mark);
    if (b.has_time) p.bind_order = b.scheduled_nanos;
    pods.push_back(std::move(p));
  }
  return pods;
}

struct Recovered {
  std::unique_ptr<cell::Scheduler> scheduler;
  std::map<std::string, std::string> failed;  // uid -> error
};

// hived.md 9: build, then the recovery driver (cell::RecoverPods). With
// `marks_from`, each pod's lazy mark and virtual cells are the ones that
// scheduler holds now.
cell::Result<Recovered> Recover(const cell::Config& config, const std::vector<BoundPod>& pods,
                                const cell::Clock* clock, const cell::Scheduler* marks_from) {
  auto s = cell::Scheduler::Create(config, clock, /*start_healthy=*/true);
  if (!s.ok()) return s.status();
  Recovered r;
  r.scheduler = std::move(s).value();
  std::vector<BoundPod> input = pods;
  if (marks_from) {
    for (BoundPod& p : input) {
      p.lazy_mark = marks_from->LazyMarkOfPod(p.pod.uid);
      p.bind_info.virtual_leaf_cells = marks_from->VirtualLeafCellsOfPod(p.pod.uid);
    }
  }
  cell::RecoveryReport report = cell::RecoverPods(*r.scheduler, input);
  for (size_t i = 0; i < input.size(); ++i)
    if (!report.status[i].ok()) r.failed[input[i].pod.uid] = report.status[i].message();
  return r;
}

// `old_s`, `new_s`: the schedulers the pods were recovered into, when they were.
void EvaluatePods(const Side& before, const Side& after, const std::vector<BoundPod>& pods,
                  DiffReport* r, std::unique_ptr<cell::Scheduler>* old_s,
                  std::unique_ptr<cell::Scheduler>* new_s) {
  if (!before.schedulable || !after.schedulable) {
    r->pods_note += "; not evaluated: the scheduler refuses " +
                    std::string(!before.schedulable ? "OLD" : "NEW") +
                    " (infeasible VC assignment)";
    return;
  }
  cell::ManualClock clock(0);
  auto old_r = Recover(before.config, pods, &clock, nullptr);
  if (!old_r.ok()) {
    r->pods_note += "; not evaluated: " + old_r.status().message();
    return;
  }
  auto new_r = Recover(after.config, pods, &clock, old_r->scheduler.get());
  if (!new_r.ok()) {
    r->pods_note += "; not evaluated: " + new_r.status().message();
    return;
  }
  r->pods_evaluated = true;
  for (const BoundPod& p : pods) {
    auto it = old_r->failed.find(p.pod.uid);
    if (it != old_r->failed.end())
      r->warnings.push_back("pod " + p.pod.FullName() + " does not match " + before.file +
                            " (not recovered there): " + it->second);
  }
  r->pods_recovered = static_cast<int64_t>(pods.size() - old_r->failed.size());
  std::map<std::string, cell::AffinityGroupStatus> old_groups, new_groups;
  for (auto& g : old_r->scheduler->AffinityGroups()) old_groups.emplace(g.name, g);
  for (auto& g : new_r->scheduler->AffinityGroups()) new_groups.emplace(g.name, g);
  r->groups_total = static_cast<int64_t>(old_groups.size());

  // Pods OLD holds but NEW cannot recover, per group.
  std::map<std::string, std::vector<std::string>> unrecovered;
  for (const BoundPod& p : pods) {
    if (old_r->failed.count(p.pod.uid)) continue;
    auto it = new_r->failed.find(p.pod.uid);
    if (it != new_r->failed.end())
      unrecovered[p.spec.affinity_group_name].push_back(
          it->second.find(p.pod.FullName()) != std::string::npos
              ? it->second
              : p.pod.FullName() + ": " + it->second);
  }

  for (const auto& [name, g] : old_groups) {
    GroupImpact base;
    base.group = name;
    base.vc = g.vc;
    base.priority = g.priority;
    base.pods = static_cast<int64_t>(g.allocated_pods.size());
    auto nit = new_groups.find(name);
    const cell::AffinityGroupStatus* ng = nit == new_groups.end() ? nullptr : &nit->second;
    if (ng && ng->lazy_preemption && !g.lazy_preemption) {
      GroupImpact gi = base;
      const std::string& by = ng->lazy_preemption->preemptor;
      gi.detail = "lazily preempted (" + Placement(g.physical_placement) + "): " +
                  (by == name ? "under NEW its VC has no free quota left for it"
                              : "its cells are claimed by " + by + ", recovered earlier") +
                  "; it keeps running as opportunistic (priority -1), preemptible by any "
                  "guaranteed pod";
      r->preempted.push_back(std::move(gi));
    }
    // Leaves held under OLD and not under NEW.
    std::set<std::pair<std::string, int32_t>> now;
    if (ng)
      for (const auto& [node, leaves] : ng->physical_placement)
        for (int32_t l : leaves) now.emplace(node, l);
    std::vector<std::pair<std::string, std::vector<int32_t>>> gone;
    for (const auto& [node, leaves] : g.physical_placement)
      for (int32_t l : leaves)
        if (!now.count({node, l})) {
          if (gone.empty() || gone.back().first != node) gone.emplace_back(node, std::vector<int32_t>{});
          gone.back().second.push_back(l);
        }
    auto uit = unrecovered.find(name);
    if (!gone.empty() || uit != unrecovered.end()) {
      GroupImpact gi = base;
      // Leaves on nodes NEW removes altogether: the machine is going away.
      std::vector<std::string> removed;
      for (const auto& [node, leaves] : gone)
        if (std::find(r->nodes_removed.begin(), r->nodes_removed.end(), node) !=
            r->nodes_removed.end())
          removed.push_back(node);
      if (!removed.empty()) {
        std::string list, drain;
        for (const auto& n : removed) {
          list += (list.empty() ? "" : ", ") + n;
          drain += " " + n;
        }
        gi.detail = "on removed node" + std::string(removed.size() > 1 ? "s " : " ") + list +
                    " (" + Placement(gone) + "): its pods die with the node; drain it first "
                    "(kubectl drain" + drain + ") so that they are rescheduled, then apply NEW";
      } else if (!gone.empty()) {
        gi.detail = "leaves no longer in NEW (" + Placement(gone) +
                    "): its pods keep running there, but the scheduler no longer accounts "
                    "for them";
      }
      if (uit != unrecovered.end())
        for (const auto& m : uit->second)
          gi.detail += (gi.detail.empty() ? "" : "; ") + std::string("not recovered: ") + m;
      r->lost.push_back(std::move(gi));
    }
    const bool affected = (!r->preempted.empty() && r->preempted.back().group == name) ||
                          (!r->lost.empty() && r->lost.back().group == name);
    if (!affected) r->unaffected.push_back(name + " (VC " + g.vc + ")");
  }
  *old_s = std::move(old_r->scheduler);
  *new_s = std::move(new_r->scheduler);
}

int StateRank(const std::string& state) {
  return state == "broken" ? 2 : state == "at risk" ? 1 : 0;
}

// Each VC's promise under OLD and NEW (DiffReport::guarantees). A side whose
// scheduler is null gets a fresh one; `bad_nodes` are marked bad where they
// exist (a node only one side has is bad there only).
cell::Status CompareGuarantees(const Side& before, const Side& after,
                               std::unique_ptr<cell::Scheduler> old_s,
                               std::unique_ptr<cell::Scheduler> new_s,
                               const std::vector<std::string>& bad_nodes, DiffReport* r) {
  for (const auto& n : bad_nodes)
    if (!before.node_chains.count(n) && !after.node_chains.count(n)) {
      std::vector<std::string> known = after.nodes;
      return cell::Status::Invalid("--bad-nodes: node \"" + n + "\" is in neither " +
                                   before.file + " nor " + after.file +
                                   cell::UnknownNameHint(n, known, "nodes"));
    }
  std::string on = r->pods_evaluated ? "the running pods recovered" : "an empty cluster";
  if (!bad_nodes.empty()) {
    std::string names;
    for (const auto& n : bad_nodes) names += (names.empty() ? "" : ", ") + n;
    on += ", with " + names + " bad";
  }
  if (!before.schedulable || !after.schedulable) {
    r->guarantees_note = "not computed: the scheduler refuses " +
                         std::string(!before.schedulable ? "OLD" : "NEW") +
                         " (its VC assignment does not fit, below)";
    return cell::Status::Ok();
  }
  cell::ManualClock clock(0);
  std::vector<cell::VcGuarantee> headroom[2];
  const Side* sides[2] = {&before, &after};
  std::unique_ptr<cell::Scheduler>* schedulers[2] = {&old_s, &new_s};
  for (int k = 0; k < 2; ++k) {
    std::unique_ptr<cell::Scheduler>& s = *schedulers[k];
    if (!s) {
      auto created = cell::Scheduler::Create(sides[k]->config, &clock);
      if (!created.ok()) return created.status();
      s = std::move(created).value();
    }
    std::vector<std::string> here;
    for (const auto& n : bad_nodes)
      if (sides[k]->node_chains.count(n)) here.push_back(n);
    if (cell::Status st = MarkNodesBad(*s, here, "--bad-nodes"); !st.ok()) return st;
    headroom[k] = s->GuaranteeHeadroom();
  }
  auto state = [](const cell::VcGuarantee& g) {
    return std::string(g.broken ? "broken" : g.at_risk ? "at risk" : "kept");
  };
  // OLD's order, then VC/chain pairs only NEW has.
  for (const auto& g : headroom[0]) {
    GuaranteeChange c;
    c.vc = g.vc;
    c.chain = g.chain;
    c.before = FormatGuaranteeLevels(g);
    c.state_before = state(g);
    r->guarantees.push_back(std::move(c));
  }
  for (const auto& g : headroom[1]) {
    auto it = std::find_if(r->guarantees.begin(), r->guarantees.end(), [&](const GuaranteeChange& c) {
      return c.vc == g.vc && c.chain == g.chain;
    });
    if (it == r->guarantees.end()) {
      r->guarantees.emplace_back();
      it = r->guarantees.end() - 1;
      it->vc = g.vc;
      it->chain = g.chain;
    }
    it->after = FormatGuaranteeLevels(g);
    it->state_after = state(g);
  }
  for (auto& c : r->guarantees)
    c.finding = !c.state_after.empty() &&
                StateRank(c.state_after) > StateRank(c.state_before.empty() ? "kept" : c.state_before);
  r->guarantees_note = "placeable/guaranteed cells per level, on " + on;
  return cell::Status::Ok();
}

std::string Plural(int64_t n, const std::string& word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

std::string RenderText(const Side& before, const Side& after, DiffReport& r) {
  std::ostringstream o;
  o << "apiary diff " << before.file << " -> " << after.file << "\n";
  if (!r.new_schedulable)
    o << "!! NEW is refused by the scheduler: its VC assignment does not fit (below). HiveD "
         "crash-loops on it (\"hivedscheduler-hs is not ready yet\"); Apiary refuses to load "
         "it.\n";
  if (!r.old_schedulable) o << "note: OLD itself does not fit (its VC assignment is infeasible)\n";

  o << "\nNodes: " << before.nodes.size() << " -> " << after.nodes.size() << " (+"
    << r.nodes_added.size() << " added, -" << r.nodes_removed.size() << " removed, "
    << r.nodes_changed.size() << " changed)\n";
  for (const auto& n : r.nodes_added) o << "  + " << n << "  " << DescribeNode(after, n) << "\n";
  for (const auto& n : r.nodes_removed)
    o << "  - " << n << "  " << DescribeNode(before, n)
      << "  (pods on it die with the node: drain it before applying NEW)\n";
  for (const auto& c : r.nodes_changed)
    o << "  ~ " << c.node << "  " << c.before << " -> " << c.after << "\n";

  o << "\nVirtual clusters (quota: leaf cells per leaf type; preassigned cells per chain "
       "level):\n";
  if (r.vcs.empty()) o << "  none\n";
  for (const VcChange& v : r.vcs) {
    o << "  " << v.vc << ": ";
    if (!v.in_old)
      o << "added: " << DescribeLeaves(v.after.leaves) << "\n";
    else if (!v.in_new)
      o << "removed (had " << DescribeLeaves(v.before.leaves) << ")\n";
    else if (v.before == v.after) {
      o << "unchanged (" << DescribeLeaves(v.after.leaves) << ")\n";
      continue;
    } else {
      std::set<std::string> types;
      for (const auto& [t, n] : v.before.leaves) types.insert(t);
      for (const auto& [t, n] : v.after.leaves) types.insert(t);
      std::string parts;
      for (const auto& t : types) {
        auto b = v.before.leaves.count(t) ? v.before.leaves.at(t) : 0;
        auto a = v.after.leaves.count(t) ? v.after.leaves.at(t) : 0;
        parts += (parts.empty() ? "" : ", ") + t + " " + std::to_string(b) +
                 (a == b ? std::string() : " -> " + std::to_string(a));
      }
      o << parts << "\n";
    }
    std::set<std::pair<std::string, int32_t>> keys;
    for (const auto& [k, x] : v.before.cells) keys.insert(k);
    for (const auto& [k, x] : v.after.cells) keys.insert(k);
    for (const auto& k : keys) {
      auto b = v.before.cells.find(k);
      auto a = v.after.cells.find(k);
      int64_t bn = b == v.before.cells.end() ? 0 : b->second.second;
      int64_t an = a == v.after.cells.end() ? 0 : a->second.second;
      if (bn == an) continue;
      const std::string& type = a != v.after.cells.end() ? a->second.first : b->second.first;
      o << "      chain " << k.first << " level " << k.second << " (" << type << "): " << bn
        << " -> " << an << "\n";
    }
  }

  o << "\nCapacity in no VC (NEW):\n";
  if (r.unassigned.empty()) o << "  none\n";
  for (const UnassignedChain& u : r.unassigned) {
    std::string nodes;
    for (const auto& n : u.nodes) nodes += (nodes.empty() ? "" : ", ") + n;
    if (u.no_vc) {
      o << "  !! chain " << u.chain << " (leaf type " << u.leaf_type << ", "
        << Plural(u.total_leaves, "leaf cell") << ", nodes " << nodes
        << "): no VC has cells in it.\n"
        << "     HiveD crashes at start with such a chain (\"hivedscheduler-hs is not ready "
           "yet\"); Apiary accepts it but serves it to opportunistic pods only.\n"
        << "     Probably unintended: give some VC cells of " << u.chain << ".\n";
    } else {
      o << "  " << (u.finding ? "!! " : "") << "chain " << u.chain << ": "
        << u.unassigned_leaves << " of " << u.total_leaves << " leaf cells (" << u.leaf_type
        << ") in no VC, opportunistic pods only";
      if (u.unassigned_before < 0)
        o << " (new chain)";
      else if (u.unassigned_before == u.unassigned_leaves)
        o << " (unchanged)";
      else
        o << " (before: " << u.unassigned_before << ")";
      o << "\n";
    }
  }

  o << "\nVC assignments that do not fit (NEW):\n";
  if (r.infeasible.empty()) o << "  none\n";
  for (const Infeasible& inf : r.infeasible)
    o << "  !! chain " << inf.chain << " level " << inf.level << " (" << inf.cell_type
      << "): " << inf.needed << " needed (" << inf.askers << "), " << inf.available
      << " available" << (inf.also_in_old ? " (already so in OLD)" : "") << "\n";

  o << "\nVC promises (" << r.guarantees_note << "):\n";
  if (r.guarantees.empty() && r.new_schedulable && r.old_schedulable) o << "  no VC has cells\n";
  for (const GuaranteeChange& g : r.guarantees) {
    o << "  " << (g.finding ? "!! " : "") << "vc " << g.vc << ", chain " << g.chain << ": ";
    if (g.after.empty()) {
      o << g.before << " (" << g.state_before << ") -> none in NEW\n";
    } else if (g.before.empty()) {
      o << "none in OLD -> " << g.after << " (" << g.state_after << ")\n";
    } else if (g.before == g.after && g.state_before == g.state_after) {
      o << g.after << " (" << g.state_after << ", unchanged)\n";
    } else {
      o << g.before << " (" << g.state_before << ") -> " << g.after << " (" << g.state_after
        << ")\n";
    }
  }

  if (r.pods_given) {
    o << "\nRunning pods: " << r.pods_note << "\n";
    if (r.pods_evaluated) {
      o << "  " << Plural(r.pods_recovered, "pod") << " in " << Plural(r.groups_total, "group")
        << " recovered under OLD\n";
      if (r.preempted.empty() && r.lost.empty()) o << "  no group is affected\n";
      for (const GroupImpact& g : r.preempted)
        o << "  !! " << g.group << " (VC " << g.vc << ", priority " << g.priority << ", "
          << Plural(g.pods, "pod") << "): " << g.detail << "\n";
      for (const GroupImpact& g : r.lost)
        o << "  !! " << g.group << " (VC " << g.vc << ", priority " << g.priority << ", "
          << Plural(g.pods, "pod") << "): " << g.detail << "\n";
      if (!r.unaffected.empty()) {
        o << "  unaffected: " << Plural(static_cast<int64_t>(r.unaffected.size()), "group");
        constexpr size_t kMaxListed = 50;
        for (size_t i = 0; i < r.unaffected.size() && i < kMaxListed; ++i)
          o << (i ? ", " : ": ") << r.unaffected[i];
        if (r.unaffected.size() > kMaxListed)
          o << ", ... (" << r.unaffected.size() - kMaxListed << " more)";
        o << "\n";
      }
    }
  } else {
    o << "\nRunning pods: not evaluated (no --pods): the groups this change would lazily "
         "preempt or take cells from are not shown; add --pods <(kubectl get pods -A -o json)\n";
  }
  for (const auto& w : r.warnings) o << "warning: " << w << "\n";
  o << "\n" << Plural(r.findings, "finding") << (r.findings ? " (marked !!)" : "") << "\n";
  return o.str();
}

bool ReadFile(const std::string& path, std::string* text, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = path + ": cannot read the file: " + std::strerror(errno);
    return false;
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  *text = buffer.str();
  // YAML and JSON inputs alike: a file that is not UTF-8 is the wrong file
  // or a broken encoding, and names in it would not match the cluster's.
  if (cell::Status utf8 = cell::CheckUtf8(*text, path); !utf8.ok()) {
    *error = utf8.message();
    return false;
  }
  return true;
}

}  // namespace

cell::Result<DiffReport> DiffConfigs(std::string_view old_text, const std::string& old_name,
                                     std::string_view new_text, const std::string& new_name,
                                     const std::optional<std::string>& pods_json,
                                     const std::string& pods_name,
                                     const std::vector<std::string>& bad_nodes) {
  auto before = LoadSide(old_text, old_name);
  auto after = LoadSide(new_text, new_name);
  if (!before.ok() || !after.ok()) {
    std::string m;
    if (!before.ok()) m += before.status().message();
    if (!m.empty() && m.back() != '\n') m += '\n';
    if (!after.ok()) m += after.status().message();
    return cell::Status::Invalid(m);
  }
  DiffReport r;
  r.old_schedulable = before->schedulable;
  r.new_schedulable = after->schedulable;

  // Nodes.
  for (const auto& n : after->nodes)
    if (!before->node_chains.count(n)) r.nodes_added.push_back(n);
  for (const auto& n : before->nodes) {
    if (!after->node_chains.count(n)) {
      r.nodes_removed.push_back(n);
      continue;
    }
    std::string b = DescribeNode(*before, n), a = DescribeNode(*after, n);
    if (a != b) r.nodes_changed.push_back({n, b, a});
  }

  // VCs.
  std::vector<std::string> names = before->vc_order;
  for (const auto& v : after->vc_order)
    if (std::find(names.begin(), names.end(), v) == names.end()) names.push_back(v);
  for (const auto& v : names) {
    VcChange c;
    c.vc = v;
    c.in_old = before->quota.count(v) > 0;
    c.in_new = after->quota.count(v) > 0;
    if (c.in_old) c.before = before->quota.at(v);
    if (c.in_new) c.after = after->quota.at(v);
    r.vcs.push_back(std::move(c));
  }

  // Unassigned capacity of NEW.
  for (size_t c = 0; c < after->derived.chains.size(); ++c) {
    const cell::DerivedChain& ch = after->derived.chains[c];
    const int64_t total = ch.level_cell_counts.empty() ? 0 : ch.level_cell_counts[0];
    UnassignedChain u;
    u.chain = ch.name;
    u.leaf_type = ch.leaf_cell_type;
    u.total_leaves = total;
    u.unassigned_leaves = std::max<int64_t>(0, total - after->chain_assigned[c]);
    u.no_vc = !after->chain_used[c];
    u.nodes = after->chain_nodes[c];
    int32_t oc = before->derived.FindChain(ch.name);
    if (oc >= 0) {
      int64_t ototal = before->derived.chains[oc].level_cell_counts.empty()
                           ? 0
                           : before->derived.chains[oc].level_cell_counts[0];
      u.unassigned_before = std::max<int64_t>(0, ototal - before->chain_assigned[oc]);
    }
    if (u.unassigned_leaves == 0 && !u.no_vc) continue;
    u.finding = u.no_vc || u.unassigned_leaves > std::max<int64_t>(0, u.unassigned_before);
    r.unassigned.push_back(std::move(u));
  }

  // Fit.
  for (Infeasible inf : after->infeasible) {
    for (const Infeasible& o : before->infeasible)
      if (o.chain == inf.chain && o.level == inf.level) inf.also_in_old = true;
    r.infeasible.push_back(std::move(inf));
  }

  // Pods.
  std::unique_ptr<cell::Scheduler> old_s, new_s;
  if (pods_json) {
    r.pods_given = true;
    auto pods = ReadPods(*pods_json, pods_name, &r);
    if (!pods.ok()) return pods.status();
    EvaluatePods(*before, *after, *pods, &r, &old_s, &new_s);
  }

  // Promises.
  if (cell::Status st =
          CompareGuarantees(*before, *after, std::move(old_s), std::move(new_s), bad_nodes, &r);
      !st.ok())
    return st;

  for (const auto& u : r.unassigned) r.findings += u.finding;
  for (const auto& g : r.guarantees) r.findings += g.finding;
  r.findings += static_cast<int64_t>(r.infeasible.size() + r.preempted.size() + r.lost.size());
  r.text = RenderText(*before, *after, r);
  return r;
}

int RunDiff(const DiffOptions& options, std::ostream& out, std::ostream& err) {
  auto print = [&](const std::string& text) {
    err << text;
    if (!text.empty() && text.back() != '\n') err << '\n';
  };
  std::string old_text, new_text, error;
  if (!ReadFile(options.old_path, &old_text, &error) ||
      !ReadFile(options.new_path, &new_text, &error)) {
    print(error);
    return 2;
  }
  std::optional<std::string> pods;
  if (!options.pods_path.empty()) {
    pods.emplace();
    if (!ReadFile(options.pods_path, &*pods, &error)) {
      print(error);
      return 2;
    }
  }
  auto r = DiffConfigs(old_text, options.old_path, new_text, options.new_path, pods,
                       options.pods_path, options.bad_nodes);
  if (!r.ok()) {
    print(r.status().message());
    return 2;
  }
  out << r->text;
  return options.fail_on_findings && r->findings > 0 ? 1 : 0;
}

}  // namespace apiary::cli::openpai
