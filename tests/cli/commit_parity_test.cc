// Decision parity of a fresh commit (hived.md 7.1): committing a decision
// directly (`"commit": true`) must be exactly the same as committing it the
// way HiveD does, from the pod's bind-info annotation text alone (a
// `"commit": false` schedule followed by an `allocated` event carrying that
// text and no apiary.io/virtual-leaf-cells). HiveD rebuilds the pod to bind
// from the bind info and re-derives every virtual cell from the physical
// leaves, so any schedule-time choice the engine carried into the commit
// (a virtual cell picked by the intra-VC search, a cached placement) would
// show up here as a different result, sooner or later.
//
// Two replayers run a long seeded workload side by side on one logical
// clock: mixed 1–64-GPU gangs, priorities, opportunistic pods, preemption
// (victims deleted as Kubernetes would), deletes, node health changes,
// restarts and inspects. Every result line must be byte-identical.
#include "replay.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace apiary::cli {
namespace {

// Two chains. A100: 8-GPU nodes (2 PCIe switches of 4), 4 nodes a rack,
// 4 racks a row, 2 rows (256 GPUs). K80: 4-GPU nodes, 4 nodes a pool, 2 pools.
// The VCs own 240 of the 256 A100s at four cell levels and 7 of 8 K80 nodes,
// with one pinned node, so opportunistic pods and other VCs compete for the
// rest.
std::string ParityConfig() {
  std::ostringstream y;
  y << "physicalCluster:\n"
       "  skuTypes:\n"
       "    A100: {gpu: 1, cpu: 8, memory: 81920Mi}\n"
       "    K80: {gpu: 1, cpu: 4, memory: 40960Mi}\n"
       "  cellTypes:\n"
       "    A-SW: {childCellType: A100, childCellNumber: 4}\n"
       "    A-NODE: {childCellType: A-SW, childCellNumber: 2, isNodeLevel: true}\n"
       "    A-RACK: {childCellType: A-NODE, childCellNumber: 4}\n"
       "    A-ROW: {childCellType: A-RACK, childCellNumber: 4}\n"
       "    K-NODE: {childCellType: K80, childCellNumber: 4, isNodeLevel: true}\n"
       "    K-POOL: {childCellType: K-NODE, childCellNumber: 4}\n"
       "  physicalCells:\n";
  int a = 0;
  for (int row = 0; row < 2; ++row) {
    y << "  - cellType: A-ROW\n    cellChildren:\n";
    for (int rack = 0; rack < 4; ++rack) {
      y << "    - cellChildren:\n";
      for (int n = 0; n < 4; ++n, ++a) {
        y << "      - cellAddress: a" << a << "\n";
        if (a == 5) y << "        pinnedCellId: vc1-pin\n";
      }
    }
  }
  int k = 0;
  for (int pool = 0; pool < 2; ++pool) {
    y << "  - cellType: K-POOL\n    cellChildren:\n";
    for (int n = 0; n < 4; ++n, ++k) y << "    - cellAddress: k" << k << "\n";
  }
  y << "virtualClusters:\n"
       "  vc0:\n    virtualCells:\n"
       "    - {cellType: A-ROW.A-RACK, cellNumber: 2}\n"
       "  vc1:\n    virtualCells:\n"
       "    - {cellType: A-ROW.A-RACK.A-NODE, cellNumber: 5}\n"
       "    pinnedCells:\n    - {pinnedCellId: vc1-pin}\n"
       "  vc2:\n    virtualCells:\n"
       "    - {cellType: A-ROW.A-RACK.A-NODE.A-SW, cellNumber: 8}\n"
       "    - {cellType: K-POOL.K-NODE, cellNumber: 3}\n"
       "  vc3:\n    virtualCells:\n"
       "    - {cellType: A-ROW.A-RACK, cellNumber: 3}\n"
       "    - {cellType: K-POOL.K-NODE, cellNumber: 4}\n";
  return y.str();
}

struct Gang {
  std::string name;
  std::string spec;                // the pod-scheduling-spec annotation text
  std::vector<std::string> pods;   // pod names (namespace "p")
  size_t next = 0;                 // next pod to schedule
};

struct Tally {
  int64_t binds = 0, big_binds = 0, preempts = 0, waits = 0, errors = 0, deletes = 0,
          health = 0, restarts = 0, inspects = 0;
};

class Workload {
 public:
  explicit Workload(uint64_t seed) : rng_(seed) {}

  // The next event, as the direct-commit replayer gets it; `schedule` says
  // whether it is a schedule with commit (whose twin commits by text).
  std::string Next(bool* schedule) {
    *schedule = false;
    if (!deletes_.empty() && Coin(0.7)) {
      std::string pod = deletes_.front();
      deletes_.pop_front();
      return Delete(pod);
    }
    const double r = Uniform();
    if (r < 0.004) return Health();
    if (r < 0.006) {
      return R"({"op":"inspect","what":")" +
             std::string(Coin(0.5) ? "physical" : "groups") + "\"}";
    }
    if (r < 0.0061) return R"({"op":"restart","config":null})";
    if (r < 0.20) {
      std::string del = DeleteSome();
      if (!del.empty()) return del;
    }
    *schedule = true;
    return Schedule();
  }

  // What the direct-commit replayer answered to a schedule event.
  void Observe(const nlohmann::json& result, Tally& t) {
    const std::string kind = result.value("result", "");
    const std::string pod = result.value("pod", "");
    if (kind == "bind") {
      ++t.binds;
      int64_t leaves = 0;
      for (const auto& m : result["groupPlacement"])
        for (const auto& p : m["pods"]) leaves += static_cast<int64_t>(p["leafCells"].size());
      if (leaves >= 32) ++t.big_binds;
      Gang* g = GangOf(pod);
      if (g && g->next < g->pods.size() && "p/" + g->pods[g->next] == pod) ++g->next;
    } else if (kind == "preempt") {
      ++t.preempts;
      for (const auto& v : result["victims"]) {
        auto it = gang_of_pod_.find(v["pod"].get<std::string>());
        if (it != gang_of_pod_.end()) TearDown(it->second);
      }
    } else if (kind == "wait") {
      ++t.waits;
    } else {
      ++t.errors;
    }
  }

 private:
  double Uniform() { return std::uniform_real_distribution<double>(0, 1)(rng_); }
  bool Coin(double p) { return Uniform() < p; }
  int Pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }

  Gang* GangOf(const std::string& full) {
    auto it = gang_of_pod_.find(full);
    if (it == gang_of_pod_.end()) return nullptr;
    auto g = gangs_.find(it->second);
    return g == gangs_.end() ? nullptr : &g->second;
  }

  static std::string PodJson(const std::string& name, const std::string& spec) {
    nlohmann::json p = {{"name", name},
                        {"namespace", "p"},
                        {"uid", "uid-" + name},
                        {"annotations", {{"hivedscheduler.microsoft.com/pod-scheduling-spec", spec}}}};
    return p.dump();
  }

  std::string Schedule() {
    // Continue a gang that is still being scheduled, or start a new one.
    std::vector<std::string> open;
    for (const auto& [name, g] : gangs_)
      if (g.next < g.pods.size()) open.push_back(name);
    Gang* g = nullptr;
    if (!open.empty() && (gangs_.size() >= 40 || Coin(0.8))) {
      g = &gangs_[open[Pick(static_cast<int>(open.size()))]];
    } else {
      g = NewGang();
    }
    const std::string& pod = g->pods[g->next];
    const char* phase = Coin(0.5) ? "preempting" : "filtering";
    return R"({"op":"schedule","pod":)" + PodJson(pod, g->spec) + R"(,"phase":")" + phase +
           R"(","commit":true})";
  }

  Gang* NewGang() {
    static const int kLeafCounts[] = {1, 1, 2, 4, 8, 8};
    const int vc = Pick(4);
    const bool k80 = (vc >= 2) && Coin(0.3);
    int leaves = kLeafCounts[Pick(6)];
    if (k80) leaves = std::min(leaves, 4);
    int pods = 1;
    if (leaves >= 4 && Coin(0.5)) pods = 1 << Pick(k80 ? 3 : 4);  // up to 8 x 8 = 64 GPUs
    const int prio_pick = Pick(10);
    const int priority = prio_pick < 2 ? -1 : prio_pick < 6 ? 0 : prio_pick < 9 ? 10 : 100;
    std::string name = "g" + std::to_string(next_gang_++);
    std::ostringstream spec;
    spec << "{virtualCluster: vc" << vc << ", priority: " << priority
         << ", leafCellNumber: " << leaves;
    if (k80) spec << ", leafCellType: K80";
    else if (Coin(0.3)) spec << ", leafCellType: A100";
    if (vc == 1 && priority >= 0 && Coin(0.15)) spec << ", pinnedCellId: vc1-pin";
    spec << ", affinityGroup: {name: p/" << name << ", members: [{podNumber: " << pods
         << ", leafCellNumber: " << leaves << "}]}}";
    Gang& g = gangs_[name];
    g.name = name;
    g.spec = spec.str();
    for (int i = 0; i < pods; ++i) {
      g.pods.push_back(name + "-" + std::to_string(i));
      gang_of_pod_["p/" + g.pods.back()] = name;
    }
    return &g;
  }

  std::string DeleteSome() {
    // Tear down a random gang: its pods are deleted one event at a time.
    if (gangs_.empty()) return "";
    auto it = gangs_.begin();
    std::advance(it, Pick(static_cast<int>(gangs_.size())));
    TearDown(it->first);
    if (deletes_.empty()) return "";
    std::string pod = deletes_.front();
    deletes_.pop_front();
    return Delete(pod);
  }

  // Queues every pod of the gang the replayer has seen for deletion; the
  // gang is never scheduled again.
  void TearDown(const std::string& gang) {
    auto it = gangs_.find(gang);
    if (it == gangs_.end()) return;
    for (size_t i = 0; i < it->second.pods.size(); ++i)
      if (i <= it->second.next) deletes_.push_back("p/" + it->second.pods[i]);
    gangs_.erase(it);
  }

  static std::string Delete(const std::string& full) {
    return R"({"op":"delete","pod":")" + full + "\"}";
  }

  std::string Health() {
    static const std::vector<std::string> kNodes = [] {
      std::vector<std::string> v;
      for (int i = 0; i < 32; ++i) v.push_back("a" + std::to_string(i));
      for (int i = 0; i < 8; ++i) v.push_back("k" + std::to_string(i));
      return v;
    }();
    const std::string& node = kNodes[Pick(static_cast<int>(kNodes.size()))];
    const bool bad = !bad_.count(node) && bad_.size() < 3;
    if (bad) bad_.insert(node);
    else bad_.erase(node);
    return R"({"op":"node","node":")" + node + R"(","healthy":)" + (bad ? "false" : "true") + "}";
  }

  std::mt19937_64 rng_;
  std::map<std::string, Gang> gangs_;
  std::map<std::string, std::string> gang_of_pod_;  // "p/pod" -> gang
  std::deque<std::string> deletes_;
  std::set<std::string> bad_;
  int64_t next_gang_ = 0;
};

// The twin's events: a schedule without commit and, when it binds, an
// `allocated` event whose pod carries the returned bind-info text only.
std::string AllocatedEvent(const std::string& schedule_event, const nlohmann::json& result) {
  nlohmann::json ev = nlohmann::json::parse(schedule_event);
  nlohmann::json pod = ev["pod"];
  pod["annotations"]["hivedscheduler.microsoft.com/pod-bind-info"] = result["bindInfo"];
  return nlohmann::json{{"op", "allocated"}, {"pod", pod}}.dump();
}

std::string WithoutCommit(const std::string& schedule_event) {
  nlohmann::json ev = nlohmann::json::parse(schedule_event);
  ev["commit"] = false;
  return ev.dump();
}

TEST(CommitParityTest, DirectCommitEqualsCommitFromBindInfoText) {
#ifdef APIARY_SANITIZED
  const int64_t kEvents = 15000;
#else
  const int64_t kEvents = 110000;
#endif
  const std::string path = testing::TempDir() + "/commit-parity.yaml";
  std::ofstream(path) << ParityConfig();
  auto direct = Replayer::Create(path);
  auto by_text = Replayer::Create(path);
  ASSERT_TRUE(direct.ok()) << direct.status().message();
  ASSERT_TRUE(by_text.ok()) << by_text.status().message();

  Workload w(20261207);
  Tally t;
  // APIARY_PARITY_DUMP=DIR writes the config and the direct replayer's
  // events there, to replay a failure with `apiary replay`.
  std::ofstream dump;
  if (const char* dir = std::getenv("APIARY_PARITY_DUMP")) {
    std::ofstream(std::string(dir) + "/config.yaml") << ParityConfig();
    dump.open(std::string(dir) + "/events.jsonl");
  }
  for (int64_t n = 1; n <= kEvents; ++n) {
    bool schedule = false;
    const std::string ev = w.Next(&schedule);
    if (dump.is_open()) dump << ev << std::endl;
    const std::string a = (*direct)->HandleLine(ev, n);
    std::string b;
    if (schedule) {
      b = (*by_text)->HandleLine(WithoutCommit(ev), n);
      nlohmann::json rb = nlohmann::json::parse(b);
      if (rb.value("result", "") == "bind") {
        const std::string ok = (*by_text)->HandleLine(AllocatedEvent(ev, rb), n);
        ASSERT_EQ(nlohmann::json::parse(ok)["result"], "ok") << "event " << n << ": " << ok;
      }
    } else {
      b = (*by_text)->HandleLine(ev, n);
    }
    ASSERT_EQ(a, b) << "event " << n << ": " << ev;
    // The engine's own audit (free lists, counters, bindings, quotas, no
    // leaf given twice) holds after every event, not only in small tests.
    if (n % 4 == 0 || !schedule) {
      ASSERT_EQ((*direct)->scheduler().CheckInvariants(), "") << "event " << n << ": " << ev;
    }
    nlohmann::json ra = nlohmann::json::parse(a);
    const std::string op = ra.value("op", "");
    if (schedule) w.Observe(ra, t);
    else if (op == "delete") ++t.deletes;
    else if (op == "node") ++t.health;
    else if (op == "restart") ++t.restarts;
    else if (op == "inspect") ++t.inspects;
  }
  // The workload exercised what it claims to.
  EXPECT_GT(t.binds, kEvents / 10);
  EXPECT_GT(t.big_binds, kEvents / 1000);
  EXPECT_GT(t.preempts, kEvents / 1000);
  EXPECT_GT(t.waits, kEvents / 100);
  EXPECT_GT(t.health, kEvents / 1000);
  EXPECT_GT(t.inspects, kEvents / 1000);
  EXPECT_GT(t.restarts, 0);
  EXPECT_EQ(t.errors, 0);
  // Both end in the same state.
  EXPECT_EQ((*direct)->HandleLine(R"({"op":"inspect","what":"physical"})", kEvents + 1),
            (*by_text)->HandleLine(R"({"op":"inspect","what":"physical"})", kEvents + 1));
  RecordProperty("binds", std::to_string(t.binds));
  RecordProperty("preempts", std::to_string(t.preempts));
}

}  // namespace
}  // namespace apiary::cli
