// Property tests for the scheduling engine (rapidcheck): random small valid
// configurations and random sequences of schedule(+commit), delete, cancel,
// node bad, node healthy and restart. After every step the engine's own audit is
// clean, no leaf is given twice, no VC holds more guaranteed leaves than its
// quota, new placements avoid bad (and, when asked, non-suggested)
// nodes, and the read-only tree view agrees with inspect and keeps the
// buddy free-list discipline. Deleting everything and healing every node restores the initial
// inspect output exactly, and the same sequence run twice gives the same
// transcript. A restart rebuilds the scheduler from the pods' bind infos
// (in commit order, with their lazy-preemption marks, as replay does):
// every allocated group keeps exactly its leaves, and when the history had
// no preemption and no bad node the physical inspect output is identical but
// for the numbering of virtual cells, which recovery re-derives from the
// bind infos' preassigned types (hived.md 7.1). (With preemptions or bad
// nodes, doomed cells and in-flight preemptions legitimately differ.)

#ifdef APIARY_HAVE_RAPIDCHECK

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "apiary/cell/config_derived.h"
#include "apiary/cell/scheduler.h"
#include "scheduler_test_util.h"

namespace apiary::cell {
namespace {

using testing::CellType;
using testing::Describe;
using testing::DumpCluster;
using testing::InspectOutput;
using testing::PCell;
using testing::Spec;

// ---- random configurations ----------------------------------------------------

struct GenConfig {
  Config config;
  std::vector<std::string> leaf_types;
  std::vector<std::string> vcs;
  std::map<std::string, int64_t> quota_leaves;  // VC -> guaranteed leaves
  std::vector<std::string> nodes;
};

// One chain: optional switch level below the node, optional rack level above.
struct ChainShape {
  std::string name;
  std::vector<std::string> types;     // top first, down to the leaf type
  std::vector<int64_t> child_counts;  // per type in `types` except the leaf
  int node_index = 0;                 // index of the node-level type in `types`
};

GenConfig MakeConfig(uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint64_t>(n)); };
  GenConfig g;
  const int n_chains = 1 + pick(3);
  const int n_vcs = 1 + pick(3);
  for (int v = 0; v < n_vcs; ++v) g.vcs.push_back("vc" + std::to_string(v));
  std::map<std::string, VirtualClusterSpec> vcs;
  for (const auto& v : g.vcs) vcs[v].name = v;
  std::map<std::string, std::map<std::string, int64_t>> vc_cells;  // vc -> path -> n
  int pin_counter = 0;
  for (int ch = 0; ch < n_chains; ++ch) {
    const std::string p = "C" + std::to_string(ch);
    const std::string leaf = pick(2) ? "GPU-A" : "GPU-B";
    const bool has_sw = pick(2);
    const bool has_rack = pick(2);
    const int64_t per_sw = pick(2) ? 2 : 4;
    ChainShape s;
    if (has_rack) {
      s.types.push_back(p + "-RACK");
      s.child_counts.push_back(2);
    }
    s.node_index = static_cast<int>(s.types.size());
    s.types.push_back(p + "-NODE");
    if (has_sw) {
      s.child_counts.push_back(2);
      s.types.push_back(p + "-SW");
      s.child_counts.push_back(per_sw);
    } else {
      s.child_counts.push_back(per_sw * 2);
    }
    s.types.push_back(leaf);
    s.name = s.types[0];
    for (size_t i = 0; i + 1 < s.types.size(); ++i)
      g.config.cell_types.push_back(CellType(s.types[i], s.types[i + 1], s.child_counts[i],
                                             static_cast<int>(i) == s.node_index));
    if (std::find(g.leaf_types.begin(), g.leaf_types.end(), leaf) == g.leaf_types.end())
      g.leaf_types.push_back(leaf);
    std::vector<int64_t> leaves_at(s.types.size(), 1);  // leaves per cell of types[i]
    for (int i = static_cast<int>(s.types.size()) - 2; i >= 0; --i)
      leaves_at[i] = leaves_at[i + 1] * s.child_counts[i];
    // Build the tops, explicit down to the node level, and hand out quota by
    // a random decomposition (each physical cell assigned at most once, so
    // the assignment always fits, V27).
    const int n_tops = 1 + pick(2);
    int node_counter = 0;
    std::function<PhysicalCellSpec(int, bool)> build = [&](int depth, bool top) {
      PhysicalCellSpec c;
      if (top) c.cell_type = s.types[0];
      if (depth == s.node_index) {
        std::string node = p + "-n" + std::to_string(node_counter++);
        g.nodes.push_back(node);
        c.cell_address = node;
      } else {
        for (int64_t k = 0; k < s.child_counts[depth]; ++k)
          c.cell_children.push_back(build(depth + 1, false));
      }
      return c;
    };
    // Quota decomposition over the explicit part of the tree.
    std::function<void(PhysicalCellSpec&, int)> assign = [&](PhysicalCellSpec& c, int depth) {
      // 0: nobody, 1-2: a VC, 3-4: split, 5: pin (else a VC).
      int choice = pick(6);
      if (choice == 2) choice = 1;
      if (choice == 4) choice = 2;
      if (choice == 5) choice = pick(3) != 0 ? 3 : 1;
      if (choice == 1 || choice == 3) {
        const std::string& vc = g.vcs[pick(n_vcs)];
        std::string path = s.types[0];
        for (int i = 1; i <= depth; ++i) path += "." + s.types[i];
        if (choice == 3) {
          c.pinned_cell_id = "pin" + std::to_string(pin_counter++);
          vcs[vc].pinned_cell_ids.push_back(c.pinned_cell_id);
        } else {
          vc_cells[vc][path]++;
        }
        g.quota_leaves[vc] += leaves_at[depth];
        return;
      }
      if (choice == 2) {
        if (depth < s.node_index) {
          for (auto& ch2 : c.cell_children) assign(ch2, depth + 1);
        } else {
          // The node's children are generated: hand some of them out by
          // count (each at most once, so the assignment still fits).
          for (int64_t k = 0; k < s.child_counts[depth]; ++k) {
            if (pick(2)) continue;
            const std::string& vc = g.vcs[pick(n_vcs)];
            std::string path = s.types[0];
            for (int i = 1; i <= depth + 1; ++i) path += "." + s.types[i];
            vc_cells[vc][path]++;
            g.quota_leaves[vc] += leaves_at[depth + 1];
          }
        }
      }
    };
    for (int t = 0; t < n_tops; ++t) {
      PhysicalCellSpec top = build(0, true);
      assign(top, 0);
      g.config.physical_cells.push_back(std::move(top));
    }
  }
  for (const auto& v : g.vcs) {
    VirtualClusterSpec spec = vcs[v];
    for (const auto& [path, n] : vc_cells[v]) spec.virtual_cells.push_back({path, n});
    g.config.virtual_clusters.push_back(std::move(spec));
  }
  return g;
}

// `InspectOutput` with each run of a VC's "-opp" cell lines sorted.
std::string SortOpportunisticLines(const std::string& text) {
  std::vector<std::string> lines;
  for (size_t pos = 0; pos < text.size();) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    lines.push_back(text.substr(pos, end - pos));
    pos = end + 1;
  }
  auto is_opp = [](const std::string& l) { return l.find("-opp type=") != std::string::npos; };
  for (size_t i = 0; i < lines.size();) {
    size_t j = i;
    while (j < lines.size() && is_opp(lines[j])) ++j;
    std::sort(lines.begin() + static_cast<std::ptrdiff_t>(i),
              lines.begin() + static_cast<std::ptrdiff_t>(j));
    i = j == i ? i + 1 : j;
  }
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

// ---- random operations -------------------------------------------------------

struct Op {
  int kind = 0;
  uint32_t a = 0, b = 0, c = 0, d = 0;
};

struct GroupModel {
  std::string name;
  std::vector<PodSchedulingSpec> pod_specs;  // one per pod
  std::vector<PodRef> pods;
  std::vector<PodBindInfo> bind_infos;  // per pod, once committed
  std::vector<int64_t> commit_seq;      // per pod: global commit order
  bool allocated = false;  // else a pending preemptor (first pod asked)
};

class Driver {
 public:
  // With `explain`, every decision is asked for its explanation
  // (explain.h), which must not change it.
  Driver(const GenConfig& g, std::string* transcript, bool explain = false)
      : g_(g), out_(transcript), explain_(explain) {
    auto r = Scheduler::Create(g.config, &clock_);
    RC_ASSERT(r.ok());
    s_ = std::move(r).value();
    initial_ = DumpCluster(*s_);
    for (const auto& n : g.nodes) healthy_[n] = true;
  }

  void Apply(const Op& op, int step) {
    clock_.Set(1000 + step);
    switch (op.kind % 9) {
      case 0: case 1: case 2: NewGroup(op, step); break;
      case 3: DeleteGroup(op); break;
      case 4: SetHealth(op, false); break;
      case 5: SetHealth(op, true); break;
      case 8: Restart(op); break;
      default: RetryPreemptor(op); break;
    }
    Check();
  }

  // Deletes everything and heals every node.
  void Drain() {
    for (auto& [name, m] : groups_) {
      if (m.allocated) {
        DeleteAllocatedPods(m.pods);
      } else {
        s_->DeleteUnallocatedPod(m.pods[0].uid);
      }
      RC_ASSERT(s_->CheckInvariants() == "");
    }
    groups_.clear();
    for (const auto& n : g_.nodes) RC_ASSERT(s_->SetNodeHealth(n, true).ok());
    RC_ASSERT(s_->CheckInvariants() == "");
    RC_ASSERT(s_->AffinityGroups().empty());
    std::string final_dump = DumpCluster(*s_);
    if (final_dump != initial_) {
      RC_FAIL("state after draining differs:\n--- transcript\n" + *out_ + "--- initial\n" +
              initial_ + "--- final\n" + final_dump);
    }
  }

 private:
  void Log(const std::string& s) { *out_ += s + "\n"; }
  std::string Context() const {
    std::string vcs;
    for (const auto& v : g_.config.virtual_clusters) {
      vcs += v.name + ":";
      for (const auto& c : v.virtual_cells) vcs += " " + c.cell_type + "x" + std::to_string(c.cell_number);
      for (const auto& p : v.pinned_cell_ids) vcs += " pinned " + p;
      vcs += "\n";
    }
    return "\n--- config\n" + SummarizeConfig(g_.config) + vcs + "--- transcript\n" + *out_;
  }

  void NewGroup(const Op& op, int step) {
    const std::string vc = g_.vcs[op.a % g_.vcs.size()];
    static const int32_t kPrio[] = {-1, 0, 1, 5, 0, 1};
    const int32_t prio = kPrio[op.b % 6];
    const size_t t = op.c % (g_.leaf_types.size() + 1);
    const std::string type = t < g_.leaf_types.size() ? g_.leaf_types[t] : "";
    static const int32_t kLeaves[] = {1, 2, 4, 8, 1, 2};
    std::vector<std::pair<int32_t, int32_t>> members;
    members.push_back({1 + static_cast<int32_t>(op.d % 2), kLeaves[(op.d / 2) % 6]});
    if ((op.d / 16) % 3 == 0) {
      int32_t l2 = kLeaves[(op.d / 48) % 6];
      if (l2 != members[0].second) members.push_back({1, l2});
    }
    GroupModel m;
    m.name = "g" + std::to_string(step);
    for (auto [n, leaves] : members) {
      for (int32_t k = 0; k < n; ++k) {
        PodSchedulingSpec sp = Spec(vc, prio, type, leaves, m.name, members);
        sp.lazy_preemption_enable = (op.d / 200) % 2;
        m.pod_specs.push_back(sp);
        m.pods.push_back(PodRef{m.name + "-" + std::to_string(m.pods.size()), "ns",
                                m.name + "-" + std::to_string(m.pods.size())});
      }
    }
    const bool picky = (op.b / 6) % 4 == 0;
    std::vector<std::string> suggested;
    if (picky) {
      for (size_t i = 0; i < g_.nodes.size(); ++i)
        if ((op.c >> (i % 32)) & 1u) suggested.push_back(g_.nodes[i]);
      for (auto& sp : m.pod_specs) sp.ignore_k8s_suggested_nodes = false;
    }
    const SchedulingPhase phase =
        (op.a / 16) % 2 ? SchedulingPhase::kPreempting : SchedulingPhase::kFiltering;
    ScheduleResult r =
        Decide(m.pods[0], m.pod_specs[0], picky ? &suggested : nullptr, phase);
    std::string desc;
    for (auto [n, leaves] : members) desc += " " + std::to_string(n) + "x" + std::to_string(leaves);
    if (m.pod_specs[0].lazy_preemption_enable) desc += " lazy";
    if (picky) {
      desc += " suggested={";
      for (const auto& n : suggested) desc += n + ",";
      desc += "}";
    }
    if (phase == SchedulingPhase::kPreempting) desc += " preempting-phase";
    Log("new " + m.name + " vc=" + vc + " p=" + std::to_string(prio) + " type=" + type +
        desc + " -> " + Describe(r));
    // New placements never use bad nodes, nor non-suggested ones when asked.
    std::vector<std::string> nodes;
    if (r.kind == ScheduleResult::Kind::kBind) {
      for (const auto& mp : r.group_placement)
        for (const auto& pp : mp.pods) nodes.push_back(pp.node);
    } else if (r.kind == ScheduleResult::Kind::kPreempt) {
      for (const auto& [n, l] : r.placement) nodes.push_back(n);
    }
    for (const auto& n : nodes) {
      RC_ASSERT(healthy_.count(n) == 1);
      if (!healthy_[n]) RC_FAIL("new placement on bad node " + n + ": " + Describe(r) + Context());
      if (picky && std::find(suggested.begin(), suggested.end(), n) == suggested.end())
        RC_FAIL("new placement on non-suggested node " + n + ": " + Describe(r) + Context());
    }
    // The only user error a generated spec can hit: a guaranteed pod asking
    // for a leaf type its VC has no cells of (4.3).
    if (r.kind == ScheduleResult::Kind::kError &&
        r.message.find("which VC " + vc + " does not have") == std::string::npos)
      RC_FAIL("unexpected error: " + r.message + Context());
    if (r.kind == ScheduleResult::Kind::kBind) {
      CommitAll(m, r);
    } else if (r.kind == ScheduleResult::Kind::kPreempt &&
               phase == SchedulingPhase::kPreempting) {
      auto st = s_->AffinityGroup(m.name);
      RC_ASSERT(st.ok());
      RC_ASSERT(st->state == std::string("Preempting"));
      ever_preempted_ = true;
      groups_[m.name] = std::move(m);
    }
  }

  void CommitAll(GroupModel& m, const ScheduleResult& first) {
    Status st = s_->AddAllocatedPod(m.pods[0], m.pod_specs[0], first.bind_info);
    if (!st.ok()) RC_FAIL("commit failed: " + st.message() + Context());
    m.bind_infos.assign(m.pods.size(), PodBindInfo());
    m.commit_seq.assign(m.pods.size(), 0);
    m.bind_infos[0] = first.bind_info;
    m.commit_seq[0] = ++commits_;
    for (size_t i = 1; i < m.pods.size(); ++i) {
      ScheduleResult r = Decide(m.pods[i], m.pod_specs[i], nullptr, SchedulingPhase::kFiltering);
      Log("  pod " + m.pods[i].uid + " -> " + Describe(r));
      if (r.kind != ScheduleResult::Kind::kBind) RC_FAIL("gang pod not bound: " + Describe(r) + Context());
      st = s_->AddAllocatedPod(m.pods[i], m.pod_specs[i], r.bind_info);
      if (!st.ok()) RC_FAIL("commit failed: " + st.message() + Context());
      m.bind_infos[i] = r.bind_info;
      m.commit_seq[i] = ++commits_;
    }
    m.allocated = true;
    groups_[m.name] = std::move(m);
  }

  void DeleteAllocatedPods(const std::vector<PodRef>& pods) {
    for (const auto& p : pods) {
      Status st = s_->DeleteAllocatedPod(p.uid);
      if (!st.ok()) RC_FAIL("delete failed: " + st.message() + Context());
    }
  }

  void DeleteGroup(const Op& op) {
    std::vector<std::string> names;
    for (const auto& [n, m] : groups_)
      if (m.allocated) names.push_back(n);
    if (names.empty()) return;
    const std::string name = names[op.a % names.size()];
    Log("delete " + name);
    DeleteAllocatedPods(groups_[name].pods);
    RC_ASSERT(!s_->AffinityGroup(name).ok());
    groups_.erase(name);
  }

  // Restart with the same configuration (hived.md 9): nodes as they are now,
  // then every bound pod from its bind info in commit order, then the
  // persisted lazy-preemption marks are settled.
  void Restart(const Op& op) {
    // Pods come back in commit order, or (op.a odd) in an arbitrary order: an
    // extender lists pods in whatever order the API server returns them.
    const bool shuffled = op.a % 2 == 1;
    Log(shuffled ? "restart (pods in shuffled order)" : "restart");
    const std::string before = InspectOutput(*s_);
    std::map<std::string, AffinityGroupStatus> groups_before;
    for (const auto& g : s_->AffinityGroups()) groups_before[g.name] = g;
    // Exact equality is expected unless a node is bad (recovery runs after
    // the doomed-cell bindings of the bad nodes, hived.md 9), a
    // preemption is in flight (not carried over), or a lazy-preemption mark
    // names a preemptor that is not allocated or the group itself (dropped:
    // Q19).
    bool in_flight = false;
    for (const auto& [name, g] : groups_before) {
      in_flight = in_flight || g.state != "Allocated";
      if (g.lazy_preemption) {
        auto p = groups_before.find(g.lazy_preemption->preemptor);
        // A group's own mark (a failed recovery) is reverted too (Q19).
        in_flight = in_flight || p == groups_before.end() || p->second.state != "Allocated" ||
                    p->first == name;
      }
    }
    bool bad_now = false;
    for (const auto& [n, h] : healthy_) bad_now = bad_now || !h;
    const bool simple = !bad_now && !in_flight;
    // As the extender restarts (hived.md 9): the nodes that are healthy now
    // are healed in configuration order, then the pods are recovered.
    auto r = Scheduler::Create(g_.config, &clock_, /*start_healthy=*/false);
    RC_ASSERT(r.ok());
    std::unique_ptr<Scheduler> fresh = std::move(r).value();
    for (const auto& n : fresh->Nodes())
      if (healthy_[n]) RC_ASSERT(fresh->SetNodeHealth(n, true).ok());
    struct Bound { int64_t seq; const GroupModel* m; size_t i; };
    std::vector<Bound> bound;
    for (const auto& [name, m] : groups_)
      if (m.allocated)
        for (size_t i = 0; i < m.pods.size(); ++i) bound.push_back({m.commit_seq[i], &m, i});
    std::sort(bound.begin(), bound.end(), [](const Bound& a, const Bound& b) { return a.seq < b.seq; });
    if (shuffled) {
      std::mt19937 rng(op.b);
      std::shuffle(bound.begin(), bound.end(), rng);
    }
    for (const Bound& b : bound) {
      // Marks survive only when the preemptor is recovered too (Q19).
      auto mark = s_->LazyMarkOfPod(b.m->pods[b.i].uid);
      if (mark && (!groups_.count(mark->preemptor) || !groups_.at(mark->preemptor).allocated))
        mark.reset();
      // The persisted virtual cells as the extender keeps them in sync.
      PodBindInfo info = b.m->bind_infos[b.i];
      info.virtual_leaf_cells = s_->VirtualLeafCellsOfPod(b.m->pods[b.i].uid);
      Status st = fresh->AddAllocatedPod(b.m->pods[b.i], b.m->pod_specs[b.i], info, mark);
      if (!st.ok()) RC_FAIL("recovery of " + b.m->pods[b.i].uid + " failed: " + st.message() + Context());
    }
    fresh->FinishRecovery();
    s_ = std::move(fresh);
    // The recovery order is the commit order the new scheduler saw.
    for (const Bound& b : bound)
      const_cast<GroupModel*>(b.m)->commit_seq[b.i] = ++commits_;
    // In-flight preemptions are not carried over.
    for (auto it = groups_.begin(); it != groups_.end();)
      it = it->second.allocated ? std::next(it) : groups_.erase(it);
    std::string inv = s_->CheckInvariants();
    if (!inv.empty()) RC_FAIL("invariant after restart: " + inv + Context());
    for (const auto& [name, m] : groups_) {
      auto g = s_->AffinityGroup(name);
      if (!g.ok()) RC_FAIL("group " + name + " lost in restart" + Context());
      const auto& old = groups_before.at(name);
      if (g->physical_placement != old.physical_placement)
        RC_FAIL("group " + name + " changed leaves in restart" + Context());
      if (g->allocated_pods.size() != old.allocated_pods.size())
        RC_FAIL("group " + name + " lost pods in restart" + Context());

    }
    if (simple) {
      std::string after = InspectOutput(*s_);
      // A VC lists its opportunistic leaves in the order they were added
      // (hived.md 11), which is the recovery order: compare them as sets
      // when the pods came back in another order, or when a lazily preempted
      // group (whose leaves turned opportunistic later) is recovered first.
      bool any_lazy = false;
      for (const auto& [name, g] : groups_before) any_lazy = any_lazy || g.lazy_preemption;
      const bool exact = !shuffled && !any_lazy;
      if (exact ? after != before
                : SortOpportunisticLines(after) != SortOpportunisticLines(before))
        RC_FAIL("inspect output changed in restart\n--- before\n" + before + "--- after\n" +
                after + Context());
    }
  }

  void SetHealth(const Op& op, bool healthy) {
    const std::string& n = g_.nodes[op.a % g_.nodes.size()];
    if (!healthy) ever_bad_ = true;
    Log(std::string(healthy ? "heal " : "bad ") + n);
    RC_ASSERT(s_->SetNodeHealth(n, healthy).ok());
    healthy_[n] = healthy;
  }

  void RetryPreemptor(const Op& op) {
    std::vector<std::string> names;
    for (const auto& [n, m] : groups_)
      if (!m.allocated) names.push_back(n);
    if (names.empty()) return;
    const std::string name = names[op.a % names.size()];
    GroupModel& m = groups_[name];
    auto st = s_->AffinityGroup(name);
    if (!st.ok() || st->state != "Preempting") {  // cancelled by a higher preemptor
      Log("preemptor " + name + " gone");
      RC_ASSERT(!st.ok());
      groups_.erase(name);
      return;
    }
    if (op.b % 3 == 0) {
      Log("cancel " + name);
      RC_ASSERT(s_->DeleteUnallocatedPod(m.pods[0].uid));
      RC_ASSERT(!s_->AffinityGroup(name).ok());
      groups_.erase(name);
      return;
    }
    ScheduleResult r = Decide(m.pods[0], m.pod_specs[0], nullptr, SchedulingPhase::kFiltering);
    Log("retry " + name + " -> " + Describe(r));
    if (r.kind == ScheduleResult::Kind::kError) RC_FAIL("retry error: " + r.message + Context());
    if (r.kind == ScheduleResult::Kind::kBind) {
      GroupModel copy = m;
      groups_.erase(name);
      CommitAll(copy, r);
    }
  }

  void Check() {
    for (const auto& g : s_->AffinityGroups())
      if (g.lazy_preemption || g.state != "Allocated") ever_preempted_ = true;
    std::string inv = s_->CheckInvariants();
    if (!inv.empty()) RC_FAIL("invariant: " + inv + "\ntranscript:\n" + *out_ + Context());
    // The read-only tree view shows what inspect shows, and its free lists
    // keep the buddy discipline of cell_tree.h.
    const TreeView trees = s_->Trees();
    if (testing::SerializePhysicalView(trees) != testing::Serialize(s_->PhysicalCluster()))
      RC_FAIL("tree view differs from inspect\ntranscript:\n" + *out_ + Context());
    for (VcId vc{0}; vc < VcId(trees.VcCount()); ++vc) {
      auto inspected = s_->VirtualCluster(trees.VcName(vc));
      RC_ASSERT(inspected.ok());
      if (testing::SerializeVirtualView(trees, vc) !=
          testing::SerializeWithoutOpportunistic(*inspected))
        RC_FAIL("tree view of VC " + std::string(trees.VcName(vc)) +
                " differs from inspect\ntranscript:\n" + *out_ + Context());
    }
    if (std::string p = testing::FreeListProblem(trees); !p.empty())
      RC_FAIL("free lists: " + p + "\ntranscript:\n" + *out_ + Context());
    CheckHeadroom();
    // Forget preemptors that a higher-priority preemptor cancelled.
    for (auto it = groups_.begin(); it != groups_.end();) {
      if (!it->second.allocated && !s_->AffinityGroup(it->first).ok()) {
        it = groups_.erase(it);
      } else {
        ++it;
      }
    }
    // No leaf given twice: users (Allocated, BeingPreempted) are disjoint,
    // and so are reservers (Preempting).
    std::set<std::pair<std::string, int32_t>> used, reserved;
    for (const auto& g : s_->AffinityGroups()) {
      auto& set = g.state == "Preempting" ? reserved : used;
      for (const auto& [node, leaves] : g.physical_placement)
        for (int32_t l : leaves)
          if (!set.insert({node, l}).second)
            RC_FAIL("leaf " + node + "/" + std::to_string(l) + " given twice" + Context());
    }
    // A VC never holds more guaranteed physical leaves than its quota, and
    // each of its virtual leaves is bound at most once.
    std::map<std::string, int64_t> held;
    std::set<std::string> bound_virtual;
    std::function<void(const CellStatus&)> walk = [&](const CellStatus& c) {
      if (c.cell_children.empty() && !c.vc.empty() && c.cell_priority >= 0) held[c.vc]++;
      for (const auto& b : c.bound)
        if (!bound_virtual.insert(b.cell_address).second)
          RC_FAIL("virtual cell " + b.cell_address + " bound twice" + Context());
      for (const auto& ch : c.cell_children) walk(ch);
    };
    for (const auto& c : s_->PhysicalCluster()) walk(c);
    for (const auto& [vc, n] : held) {
      auto q = g_.quota_leaves.find(vc);
      int64_t quota = q == g_.quota_leaves.end() ? 0 : q->second;
      if (n > quota)
        RC_FAIL("VC " + vc + " holds " + std::to_string(n) + " leaves, quota " +
                std::to_string(quota) + Context());
    }
  }

  // Guarantee headroom (headroom.h) never exceeds the guarantee, equals it
  // whenever no node is bad (HiveD's promise, whatever is allocated), and
  // computing it changes nothing.
  void CheckHeadroom() {
    bool bad_now = false;
    for (const auto& [n, h] : healthy_) bad_now = bad_now || !h;
    const std::string before = DumpCluster(*s_);
    for (const VcGuarantee& vg : s_->GuaranteeHeadroom()) {
      for (const GuaranteeLevel& l : vg.levels) {
        const std::string at = "VC " + vg.vc + " chain " + vg.chain + " level " +
                               std::to_string(l.level) + ": " + std::to_string(l.placeable) +
                               " placeable of " + std::to_string(l.guaranteed);
        if (l.placeable > l.guaranteed || l.placeable < 0) RC_FAIL(at + Context());
        if (!bad_now && l.placeable != l.guaranteed)
          RC_FAIL(at + " with every node healthy\ntranscript:\n" + *out_ + Context());
      }
      if (!bad_now && (vg.broken || vg.at_risk))
        RC_FAIL("VC " + vg.vc + " broken or at risk with every node healthy" + Context());
      if (vg.broken && vg.at_risk) RC_FAIL("VC " + vg.vc + " both broken and at risk" + Context());
    }
    if (DumpCluster(*s_) != before) RC_FAIL("GuaranteeHeadroom changed the state" + Context());
  }

  const GenConfig& g_;
  std::string* out_;
  bool explain_ = false;

  ScheduleResult Decide(const PodRef& pod, const PodSchedulingSpec& spec,
                        const std::vector<std::string>* suggested, SchedulingPhase phase) {
    ScheduleResult r = s_->Schedule(pod, spec, suggested, phase, explain_);
    const bool explainable =
        r.kind == ScheduleResult::Kind::kWait || r.kind == ScheduleResult::Kind::kPreempt;
    RC_ASSERT((r.explanation != nullptr) == (explain_ && explainable));
    return r;
  }
  ManualClock clock_{1000};
  std::unique_ptr<Scheduler> s_;
  std::string initial_;
  std::map<std::string, bool> healthy_;
  std::map<std::string, GroupModel> groups_;
  int64_t commits_ = 0;
  bool ever_bad_ = false;
  bool ever_preempted_ = false;
};

std::string RunSequence(const GenConfig& g, const std::vector<Op>& ops, bool explain = false) {
  std::string transcript;
  Driver d(g, &transcript, explain);
  for (size_t i = 0; i < ops.size(); ++i) d.Apply(ops[i], static_cast<int>(i));
  d.Drain();
  return transcript;
}

rc::Gen<Op> GenOp() {
  return rc::gen::build<Op>(rc::gen::set(&Op::kind, rc::gen::element(0, 1, 2, 3, 4, 5, 6, 7, 8)),
                            rc::gen::set(&Op::a, rc::gen::arbitrary<uint32_t>()),
                            rc::gen::set(&Op::b, rc::gen::arbitrary<uint32_t>()),
                            rc::gen::set(&Op::c, rc::gen::arbitrary<uint32_t>()),
                            rc::gen::set(&Op::d, rc::gen::arbitrary<uint32_t>()));
}

TEST(SchedulerPropertyTest, GeneratedConfigsAreValid) {
  for (uint64_t seed = 0; seed < 300; ++seed) {
    GenConfig g = MakeConfig(seed);
    Diagnostics d;
    ASSERT_TRUE(ValidateConfig(g.config, &d))
        << "seed " << seed << ":\n" << d.Format(Diagnostic::Severity::kError);
  }
}

RC_GTEST_PROP(SchedulerPropertyTest, RandomSequencesKeepInvariantsAndDrainToInitialState,
              ()) {
  const uint64_t seed = *rc::gen::inRange<uint64_t>(0, 1000000);
  const GenConfig g = MakeConfig(seed);
  const auto ops = *rc::gen::resize(60, rc::gen::container<std::vector<Op>>(GenOp()));
  const std::string first = RunSequence(g, ops);
  // Determinism: the same sequence on a fresh scheduler gives the same results.
  const std::string second = RunSequence(g, ops);
  RC_ASSERT(first == second);
}

// An explanation never changes a decision: the same sequence with every
// decision explained gives the same transcript (results and inspect output).
RC_GTEST_PROP(SchedulerPropertyTest, ExplainingNeverChangesADecision, ()) {
  const uint64_t seed = *rc::gen::inRange<uint64_t>(0, 1000000);
  const GenConfig g = MakeConfig(seed);
  const auto ops = *rc::gen::resize(60, rc::gen::container<std::vector<Op>>(GenOp()));
  RC_ASSERT(RunSequence(g, ops, false) == RunSequence(g, ops, true));
}

// Without node failures and preemptions a restart must reproduce the
// scheduler exactly: schedule (Filtering phase), commit, delete and restart.
rc::Gen<Op> GenQuietOp() {
  return rc::gen::build<Op>(
      rc::gen::set(&Op::kind, rc::gen::element(0, 1, 2, 3, 8, 8)),
      // Filtering phase (bit 4 of a clear): no preemption is started.
      rc::gen::set(&Op::a, rc::gen::map(rc::gen::arbitrary<uint32_t>(),
                                        [](uint32_t a) { return a & ~16u; })),
      rc::gen::set(&Op::b, rc::gen::arbitrary<uint32_t>()),
      rc::gen::set(&Op::c, rc::gen::arbitrary<uint32_t>()),
      // No lazy preemption.
      rc::gen::set(&Op::d, rc::gen::inRange<uint32_t>(0, 200)));
}

RC_GTEST_PROP(SchedulerPropertyTest, RestartWithoutFailuresReproducesInspectOutput, ()) {
  const uint64_t seed = *rc::gen::inRange<uint64_t>(0, 1000000);
  const GenConfig g = MakeConfig(seed);
  const auto ops = *rc::gen::resize(40, rc::gen::container<std::vector<Op>>(GenQuietOp()));
  RunSequence(g, ops);
}

// A fresh cluster keeps every promise: per VC, the guaranteed leaves over
// all chains are its configured quota, and every cell at every level is
// placeable.
RC_GTEST_PROP(SchedulerPropertyTest, HeadroomEqualsTheGuaranteeOnAFreshCluster, ()) {
  const uint64_t seed = *rc::gen::inRange<uint64_t>(0, 1000000);
  const GenConfig g = MakeConfig(seed);
  ManualClock clock(1000);
  auto s = Scheduler::Create(g.config, &clock);
  RC_ASSERT(s.ok());
  std::map<std::string, int64_t> leaves;
  for (const VcGuarantee& vg : (*s)->GuaranteeHeadroom()) {
    RC_ASSERT(!vg.levels.empty());
    RC_ASSERT(vg.levels.back().level == 1);
    RC_ASSERT(!vg.broken);
    RC_ASSERT(!vg.at_risk);
    for (const GuaranteeLevel& l : vg.levels) RC_ASSERT(l.placeable == l.guaranteed);
    leaves[vg.vc] += vg.levels.back().guaranteed;
  }
  for (const auto& [vc, n] : g.quota_leaves)
    if (n > 0) RC_ASSERT(leaves[vc] == n);
  for (const auto& [vc, n] : leaves) RC_ASSERT(g.quota_leaves.count(vc) == 1);
}

}  // namespace
}  // namespace apiary::cell

#endif  // APIARY_HAVE_RAPIDCHECK
