// Benchmark clusters built in code: a configuration generator, pod groups,
// and a filler that brings a scheduler to a target occupancy through the
// same calls the extender makes (Schedule, then AddAllocatedPod).
//
// The topology is one chain of racks:
//
//   RACK = 4 x NODE            (32 GPUs)
//   NODE = 2 x PCIE-SWITCH     (8 GPUs, node level; named node-<rack>-<k>)
//   PCIE-SWITCH = 4 x V100     (4 GPUs)
//
// so a cluster of N GPUs has N/32 racks and 45 physical cells per rack. The
// racks are split into virtual clusters by whole RACK cells (prod 50 %,
// research 25 %, dev 15 %, test the rest by default), which is how HiveD
// deployments usually state quotas; every rack belongs to some VC, so a VC
// filled to x % of its quota is a cluster x % full.
//
// Everything is deterministic: the random choices come from a seeded
// SplitMix64 with our own bounded draw (std::uniform_int_distribution is not
// specified bit-for-bit across standard libraries).
//
// Not thread-safe (neither is the Scheduler it drives).
#pragma once

#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "apiary/cell/config.h"
#include "apiary/cell/pod_spec.h"
#include "apiary/cell/scheduler.h"

namespace apiary::bench {

inline constexpr int32_t kGpusPerSwitch = 4;
inline constexpr int32_t kSwitchesPerNode = 2;
inline constexpr int32_t kNodesPerRack = 4;
inline constexpr int32_t kGpusPerNode = kGpusPerSwitch * kSwitchesPerNode;  // 8
inline constexpr int32_t kGpusPerRack = kGpusPerNode * kNodesPerRack;       // 32
// RACK + 4 NODE + 8 PCIE-SWITCH + 32 V100.
inline constexpr int64_t kCellsPerRack =
    1 + kNodesPerRack + kNodesPerRack * kSwitchesPerNode + kGpusPerRack;
inline constexpr char kChain[] = "RACK";
inline constexpr char kLeafType[] = "V100";

// ---------------------------------------------------------------------------
// Deterministic randomness
// ---------------------------------------------------------------------------

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {  // SplitMix64
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n), n > 0 (Lemire's multiply-shift; the bias is < n/2^64).
  uint64_t Below(uint64_t n) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(Next()) * n) >> 64);
  }

 private:
  uint64_t state_;
};

// Fisher-Yates with Rng, so that a shuffle is the same everywhere.
template <typename T>
void Shuffle(std::vector<T>& v, Rng& rng) {
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng.Below(i)]);
}

// ---------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------

struct VcShare {
  std::string name;
  int32_t permille = 0;  // share of the racks; the last VC gets the rest
};

inline const std::vector<VcShare>& DefaultVcShares() {
  static const std::vector<VcShare> kShares = {
      {"prod", 500}, {"research", 250}, {"dev", 150}, {"test", 100}};
  return kShares;
}

// Racks per VC for a cluster of `racks` racks: floor(racks * permille /
// 1000), at least one, the remainder to the last VC.
inline std::vector<int64_t> RacksPerVc(int64_t racks, const std::vector<VcShare>& shares) {
  std::vector<int64_t> out(shares.size(), 0);
  int64_t given = 0;
  for (size_t v = 0; v + 1 < shares.size(); ++v) {
    out[v] = std::max<int64_t>(1, racks * shares[v].permille / 1000);
    given += out[v];
  }
  if (given >= racks) throw std::invalid_argument("too few racks for the VC split");
  out.back() = racks - given;
  return out;
}

inline std::string NodeName(int64_t rack, int32_t k) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "node-%05lld-%d", static_cast<long long>(rack), k);
  return buf;
}

// The configuration of a cluster of `gpus` GPUs (rounded up to whole racks).
inline cell::Config MakeClusterConfig(int64_t gpus,
                                      const std::vector<VcShare>& shares = DefaultVcShares()) {
  const int64_t racks = (gpus + kGpusPerRack - 1) / kGpusPerRack;
  cell::Config c;
  c.sku_types.push_back({kLeafType, 1, 8, "60Gi"});
  c.cell_types.push_back({"PCIE-SWITCH", kLeafType, kGpusPerSwitch, false});
  c.cell_types.push_back({"NODE", "PCIE-SWITCH", kSwitchesPerNode, true});
  c.cell_types.push_back({kChain, "NODE", kNodesPerRack, false});
  c.physical_cells.reserve(racks);
  for (int64_t r = 0; r < racks; ++r) {
    cell::PhysicalCellSpec rack;
    rack.cell_type = kChain;
    rack.cell_address = "rack-" + std::to_string(r);
    for (int32_t k = 0; k < kNodesPerRack; ++k) {
      cell::PhysicalCellSpec node;
      node.cell_type = "NODE";
      node.cell_address = NodeName(r, k);
      rack.cell_children.push_back(std::move(node));  // switches, GPUs default
    }
    c.physical_cells.push_back(std::move(rack));
  }
  std::vector<int64_t> per_vc = RacksPerVc(racks, shares);
  for (size_t v = 0; v < shares.size(); ++v) {
    cell::VirtualClusterSpec vc;
    vc.name = shares[v].name;
    vc.virtual_cells.push_back({kChain, per_vc[v]});
    c.virtual_clusters.push_back(std::move(vc));
  }
  return c;
}

// ---------------------------------------------------------------------------
// Pod groups
// ---------------------------------------------------------------------------

// `pods` pods of `gpus_per_pod` GPUs each, one affinity group.
struct Shape {
  int32_t pods = 1;
  int32_t gpus_per_pod = 1;
  int64_t gpus() const { return int64_t{pods} * gpus_per_pod; }
};

// A Kubernetes-looking uid (36 characters), deterministic in `serial`.
inline std::string MakeUid(uint64_t serial) {
  Rng r(serial * 0x2545f4914f6cdd1dULL + 7);
  uint64_t a = r.Next(), b = r.Next();
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-%04x-4%03x-8%03x-%012llx",
                static_cast<unsigned>(a >> 32), static_cast<unsigned>(a & 0xffff),
                static_cast<unsigned>((a >> 16) & 0xfff), static_cast<unsigned>(b & 0xfff),
                static_cast<unsigned long long>(b >> 16));
  return buf;
}

// One affinity group with every pod's identity built up front, so that
// scheduling it again and again allocates nothing on the caller's side.
struct PodGroup {
  int32_t vc = 0;  // index into Cluster::vcs()
  Shape shape;
  cell::PodSchedulingSpec spec;
  std::vector<cell::PodRef> pods;
  int64_t gpus() const { return shape.gpus(); }
};

inline PodGroup MakePodGroup(const std::string& vc_name, int32_t vc, int32_t priority,
                             Shape shape, const std::string& name, uint64_t serial) {
  PodGroup g;
  g.vc = vc;
  g.shape = shape;
  g.spec.virtual_cluster = vc_name;
  g.spec.priority = priority;
  g.spec.leaf_cell_type = kLeafType;
  g.spec.leaf_cell_number = shape.gpus_per_pod;
  g.spec.affinity_group_name = "default/" + name;
  g.spec.affinity_group_members = {{shape.pods, shape.gpus_per_pod}};
  g.pods.reserve(shape.pods);
  for (int32_t i = 0; i < shape.pods; ++i) {
    cell::PodRef p;
    p.uid = MakeUid(serial * 1024 + static_cast<uint64_t>(i));
    p.ns = "default";
    p.name = shape.pods == 1 ? name : name + "-" + std::to_string(i);
    g.pods.push_back(std::move(p));
  }
  return g;
}

// ---------------------------------------------------------------------------
// Memory probes
// ---------------------------------------------------------------------------

// Bytes the allocator has handed out and not had back (small + mmapped).
inline int64_t HeapInUse() {
  struct mallinfo2 mi = mallinfo2();
  return static_cast<int64_t>(mi.uordblks + mi.hblkhd);
}

// Resident set size of the process, from /proc/self/statm.
inline int64_t ResidentBytes() {
  std::ifstream f("/proc/self/statm");
  int64_t size = 0, resident = 0;
  f >> size >> resident;
  return resident * 4096;
}

// ---------------------------------------------------------------------------
// The cluster: a scheduler plus the bookkeeping of what the filler placed
// ---------------------------------------------------------------------------

struct FillOptions {
  double occupancy = 0.8;  // target, a fraction of every VC's quota
  // Per-VC targets (fractions of quota); when non-empty they replace
  // `occupancy`.
  std::vector<double> per_vc_occupancy;
  // Fragmentation: fill each VC to occupancy + churn (capped at its quota),
  // then delete random groups until it is back at the target, then top up.
  double churn = 0.10;
  int32_t priority = 0;
  // Headroom kept for the measured operation: a group of this shape is
  // placed in `headroom_vc` first, the VCs are filled around it, and it is
  // deleted at the end, so the measured group is known to fit.
  std::optional<Shape> headroom;
  int32_t headroom_vc = 0;
  uint64_t seed = 20240601;
};

class Cluster {
 public:
  struct VcState {
    std::string name;
    int64_t quota_gpus = 0;
    int64_t used_gpus = 0;  // by the filler's groups
    std::vector<size_t> groups;  // indices into groups_, live only
  };

  // Builds a scheduler over MakeClusterConfig(gpus). Measures the heap and
  // RSS growth across Scheduler::Create (the Config is built before).
  explicit Cluster(int64_t gpus, const std::vector<VcShare>& shares = DefaultVcShares())
      : config_(MakeClusterConfig(gpus, shares)) {
    racks_ = static_cast<int64_t>(config_.physical_cells.size());
    std::vector<int64_t> per_vc = RacksPerVc(racks_, shares);
    for (size_t v = 0; v < shares.size(); ++v)
      vcs_.push_back({shares[v].name, per_vc[v] * kGpusPerRack, 0, {}});
    const int64_t heap0 = HeapInUse();
    const int64_t rss0 = ResidentBytes();
    auto t0 = std::chrono::steady_clock::now();
    auto created = cell::Scheduler::Create(config_, &clock_, /*start_healthy=*/true);
    auto t1 = std::chrono::steady_clock::now();
    if (!created.ok())
      throw std::runtime_error("Scheduler::Create: " + created.status().message());
    scheduler_ = std::move(created).value();
    create_seconds_ = std::chrono::duration<double>(t1 - t0).count();
    heap_bytes_ = HeapInUse() - heap0;
    rss_bytes_ = ResidentBytes() - rss0;
  }

  cell::Scheduler& scheduler() { return *scheduler_; }
  const cell::Config& config() const { return config_; }
  const std::vector<VcState>& vcs() const { return vcs_; }
  int64_t racks() const { return racks_; }
  int64_t gpus() const { return racks_ * kGpusPerRack; }
  int64_t physical_cells() const { return racks_ * kCellsPerRack; }
  // Every rack is some VC's virtual RACK cell, so the virtual trees have as
  // many cells as the physical one.
  int64_t virtual_cells() const { return racks_ * kCellsPerRack; }
  double create_seconds() const { return create_seconds_; }
  int64_t heap_bytes() const { return heap_bytes_; }
  int64_t rss_bytes() const { return rss_bytes_; }

  // Used GPUs over all GPUs, as the scheduler counts them.
  double Occupancy() const {
    auto u = scheduler_->GetUsage();
    return u.total_leaves == 0 ? 0.0
                               : static_cast<double>(u.used_leaves) / u.total_leaves;
  }

  int32_t VcIndex(const std::string& name) const {
    for (size_t v = 0; v < vcs_.size(); ++v)
      if (vcs_[v].name == name) return static_cast<int32_t>(v);
    throw std::invalid_argument("no VC " + name);
  }

  // A new group in VC `vc` with a fresh name (not yet placed).
  PodGroup NewGroup(int32_t vc, Shape shape, int32_t priority, const std::string& prefix) {
    uint64_t serial = next_serial_++;
    return MakePodGroup(vcs_[vc].name, vc, priority, shape,
                        prefix + "-" + std::to_string(serial), serial);
  }

  // Schedules and commits every pod of `g` (Filtering phase, every node
  // suggested). All-or-nothing in effect: only the first pod's decision can
  // fail; later pods read the committed group. Returns false, with nothing
  // committed, when the group waits (or would need preemption).
  bool Place(const PodGroup& g, std::vector<cell::PodBindInfo>* bind_infos = nullptr) {
    for (size_t i = 0; i < g.pods.size(); ++i) {
      cell::ScheduleResult r = scheduler_->Schedule(g.pods[i], g.spec, nullptr,
                                                    cell::SchedulingPhase::kFiltering);
      if (r.kind != cell::ScheduleResult::Kind::kBind) {
        if (i == 0) return false;
        throw std::runtime_error("pod " + std::to_string(i) + " of a committed group: " +
                                 r.message);
      }
      cell::Status st = scheduler_->AddAllocatedPod(g.pods[i], g.spec, r.bind_info);
      if (!st.ok()) throw std::runtime_error("AddAllocatedPod: " + st.message());
      if (bind_infos) bind_infos->push_back(std::move(r.bind_info));
    }
    return true;
  }

  void Remove(const PodGroup& g) {
    for (const auto& p : g.pods) {
      cell::Status st = scheduler_->DeleteAllocatedPod(p.uid);
      if (!st.ok()) throw std::runtime_error("DeleteAllocatedPod: " + st.message());
    }
  }

  // Brings every VC to its target (see FillOptions). Returns the number of
  // groups placed in total (including those later deleted by the churn).
  int64_t Fill(const FillOptions& opt) {
    Rng rng(opt.seed);
    std::vector<int64_t> target(vcs_.size()), high(vcs_.size());
    for (size_t v = 0; v < vcs_.size(); ++v) {
      double occ = opt.per_vc_occupancy.empty() ? opt.occupancy : opt.per_vc_occupancy[v];
      target[v] = static_cast<int64_t>(occ * static_cast<double>(vcs_[v].quota_gpus));
      high[v] = std::min<int64_t>(
          vcs_[v].quota_gpus,
          static_cast<int64_t>((occ + opt.churn) * static_cast<double>(vcs_[v].quota_gpus)));
    }
    std::optional<PodGroup> headroom;
    if (opt.headroom) {
      headroom = NewGroup(opt.headroom_vc, *opt.headroom, opt.priority, "headroom");
      if (!Place(*headroom))
        throw std::runtime_error("the headroom group does not fit in an empty VC");
    }
    int64_t placed = FillTo(high, opt.priority, rng);
    for (size_t v = 0; v < vcs_.size(); ++v) {
      VcState& s = vcs_[v];
      while (s.used_gpus > target[v] && !s.groups.empty()) {
        size_t k = rng.Below(s.groups.size());
        RemoveFilled(static_cast<int32_t>(v), k);
      }
    }
    placed += FillTo(target, opt.priority, rng);
    if (headroom) Remove(*headroom);
    return placed;
  }

  // The filler's live groups, for tests that delete or recover them.
  const std::vector<PodGroup>& filled_groups() const { return groups_; }

 private:
  // The fill mix, by group count: mostly small pods and whole nodes, a few
  // 4-node gangs (about 5.6 GPUs per group on average).
  static Shape DrawShape(Rng& rng) {
    uint64_t x = rng.Below(100);
    if (x < 40) return {1, 1};
    if (x < 55) return {1, 2};
    if (x < 70) return {1, 4};
    if (x < 92) return {1, 8};
    return {4, 8};
  }

  // Round robin over the VCs, one group per VC per round, until each VC is
  // at its target or nothing more fits. A shape that did not fit caps the
  // sizes tried in that VC from then on.
  int64_t FillTo(const std::vector<int64_t>& target, int32_t priority, Rng& rng) {
    int64_t placed = 0;
    std::vector<int64_t> cap(vcs_.size(), INT64_MAX);  // largest group to try
    bool progress = true;
    while (progress) {
      progress = false;
      for (size_t v = 0; v < vcs_.size(); ++v) {
        VcState& s = vcs_[v];
        int64_t deficit = target[v] - s.used_gpus;
        if (deficit <= 0 || cap[v] <= 0) continue;
        Shape shape = DrawShape(rng);
        int64_t limit = std::min(deficit, cap[v]);
        while (shape.gpus() > limit) shape = Smaller(shape);
        PodGroup g = NewGroup(static_cast<int32_t>(v), shape, priority, "fill");
        if (Place(g)) {
          s.used_gpus += g.gpus();
          s.groups.push_back(groups_.size());
          groups_.push_back(std::move(g));
          ++placed;
        } else {
          cap[v] = shape.gpus() - 1;
        }
        progress = true;
      }
    }
    return placed;
  }

  static Shape Smaller(Shape s) {
    if (s.pods > 1) return {s.pods / 2, s.gpus_per_pod};
    return {1, std::max(1, s.gpus_per_pod / 2)};
  }

  void RemoveFilled(int32_t v, size_t k) {
    VcState& s = vcs_[v];
    size_t gi = s.groups[k];
    Remove(groups_[gi]);
    s.used_gpus -= groups_[gi].gpus();
    s.groups[k] = s.groups.back();
    s.groups.pop_back();
  }

  cell::Config config_;
  cell::ManualClock clock_{1700000000};
  std::unique_ptr<cell::Scheduler> scheduler_;
  std::vector<VcState> vcs_;
  std::vector<PodGroup> groups_;  // every group the filler placed (some deleted)
  int64_t racks_ = 0;
  uint64_t next_serial_ = 1;
  double create_seconds_ = 0;
  int64_t heap_bytes_ = 0;
  int64_t rss_bytes_ = 0;
};

// ---------------------------------------------------------------------------
// Latency samples
// ---------------------------------------------------------------------------

class Samples {
 public:
  void Reserve(size_t n) { ns_.reserve(n); }
  void Add(int64_t nanoseconds) { ns_.push_back(nanoseconds); }
  size_t size() const { return ns_.size(); }
  // The q-quantile (0..1) in microseconds, nearest rank; 0 when empty.
  double QuantileUs(double q) {
    if (ns_.empty()) return 0;
    size_t k = static_cast<size_t>(q * static_cast<double>(ns_.size() - 1) + 0.5);
    std::nth_element(ns_.begin(), ns_.begin() + static_cast<std::ptrdiff_t>(k), ns_.end());
    return static_cast<double>(ns_[k]) / 1000.0;
  }
  double MaxUs() const {
    return ns_.empty() ? 0 : static_cast<double>(*std::max_element(ns_.begin(), ns_.end())) / 1000.0;
  }
  double MeanUs() const {
    if (ns_.empty()) return 0;
    long double s = 0;
    for (int64_t x : ns_) s += static_cast<long double>(x);
    return static_cast<double>(s / static_cast<long double>(ns_.size()) / 1000.0L);
  }

 private:
  std::vector<int64_t> ns_;
};

}  // namespace apiary::bench
