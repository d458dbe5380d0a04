// The seeded replay workload of the parity tests (commit_parity_test.cc,
// explain_parity_test.cc): a 256-GPU A100 chain and a K80 chain shared by
// four VCs, and a generator of mixed 1-64-GPU gangs, priorities,
// opportunistic pods, preemption (victims deleted as Kubernetes would),
// deletes, node health changes, restarts and inspects.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace apiary::cli::parity {

// Two chains. A100: 8-GPU nodes (2 PCIe switches of 4), 4 nodes a rack,
// 4 racks a row, 2 rows (256 GPUs). K80: 4-GPU nodes, 4 nodes a pool, 2 pools.
// The VCs own 240 of the 256 A100s at four cell levels and 7 of 8 K80 nodes,
// with one pinned node, so opportunistic pods and other VCs compete for the
// rest.
inline std::string ParityConfig() {
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

}  // namespace apiary::cli::parity
