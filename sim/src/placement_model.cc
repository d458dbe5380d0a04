// The placement model (placement_model.h). The measurements are read once;
// the class × SKU tables (cross-node factor, single-GPU speed ratio) are
// Eigen arrays of medians, NaN where nothing was measured.
#include "apiary/sim/placement_model.h"

#include <Eigen/Dense>
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>

#include "apiary/sim/simulator.h"
#include "apiary/traces/calibration.h"
#include "apiary/traces/gpu_sku.h"

namespace apiary::sim {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Gavel's model names, then Pollux's directories, per class.
constexpr const char* kClassNames[kJobClasses] = {"resnet18", "resnet50", "transformer", "lm"};
constexpr const char* kGavelNames[kJobClasses] = {"ResNet-18", "ResNet-50", "Transformer", "LM"};
// Pollux: cifar10 = ResNet-18, imagenet = ResNet-50, bert = a Transformer
// encoder. Pollux measured no language model of Gavel's kind (LSTM LM).
constexpr const char* kPolluxNames[kJobClasses] = {"cifar10", "imagenet", "bert", nullptr};

// Table order of the measured SKUs: Gavel's three, then Pollux's T4.
constexpr const char* kGavelWorkers[3] = {"k80", "p100", "v100"};
constexpr const char* kSkuNames[4] = {"K80", "P100", "V100", "T4"};
constexpr int kT4 = 3;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

int GavelClass(const std::string& model) {
  for (int c = 0; c < kJobClasses; ++c)
    if (model == kGavelNames[c]) return c;
  return -1;
}

int WorkerIndex(const std::string& worker) {
  for (int i = 0; i < 3; ++i)
    if (worker == kGavelWorkers[i]) return i;
  return -1;
}

double Fp32(std::string_view sku) {
  const traces::GpuSku* s = traces::FindGpuSku(sku);
  return s && s->disclosed ? s->fp32_tflops : 0;
}

}  // namespace

const char* SpreadName(Spread s) {
  switch (s) {
    case Spread::kSwitch: return "switch";
    case Spread::kNode: return "node";
    case Spread::kRack: return "rack";
    case Spread::kBeyond: return "beyond";
  }
  return "?";
}

const char* JobClassName(int cls) {
  return cls >= 0 && cls < kJobClasses ? kClassNames[cls] : "?";
}

int FindJobClass(std::string_view name) {
  const std::string n = Lower(name);
  for (int c = 0; c < kJobClasses; ++c)
    if (n == kClassNames[c] || n == Lower(kGavelNames[c])) return c;
  return -1;
}

std::string JobClassNames() {
  std::string out;
  for (int c = 0; c < kJobClasses; ++c) out += (c ? ", " : "") + std::string(kClassNames[c]);
  return out;
}

int DrawJobClass(std::string_view job_id, uint64_t seed) {
  uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a over the id
  for (unsigned char ch : job_id) h = (h ^ ch) * 0x100000001b3ULL;
  return static_cast<int>(SplitMix64(h ^ SplitMix64(seed)) % kJobClasses);
}

const char* ProvenanceName(Provenance p) {
  switch (p) {
    case Provenance::kMeasured: return "measured";
    case Provenance::kNearestSku: return "nearest measured SKU";
    case Provenance::kDatasheet: return "datasheet";
    case Provenance::kIdentity: return "identity";
  }
  return "?";
}

int SizeBucket(int64_t gpus) {
  if (gpus <= 0) return -1;
  return gpus <= 2 ? 0 : gpus <= 4 ? 1 : 2;
}

struct PlacementModel::Tables {
  // [class][sku * (kSizeBuckets + 1) + 1 + bucket]: median cross-node factor
  // (column block 0 of each SKU: all sizes), and how many measurements.
  Eigen::ArrayXXd cross;
  Eigen::ArrayXXi cross_count;
  static Eigen::Index Col(int sku, int bucket) { return sku * (kSizeBuckets + 1) + 1 + bucket; }
  // The factor a size bucket (-1: all) of a measured cell uses: its own
  // median with enough measurements, else the all-size median (NaN if none).
  double Cell(int cls, int sku, int bucket) const {
    if (bucket >= 0 && cross_count(cls, Col(sku, bucket)) >= kMinMeasurements)
      return cross(cls, Col(sku, bucket));
    return cross(cls, Col(sku, -1));
  }
  // [class + 1][a * 3 + b]: median over the class's job types of
  // tp(a) / tp(b), Gavel SKUs a, b; row 0 = every job type.
  Eigen::ArrayXXd sku_ratio;
  std::vector<traces::GavelConsolidationRow> gavel;
  std::vector<traces::PolluxPairRow> pollux;
};

PlacementModel::PlacementModel() : t_(std::make_unique<Tables>()) {}
PlacementModel::~PlacementModel() = default;
PlacementModel::PlacementModel(PlacementModel&&) noexcept = default;
PlacementModel& PlacementModel::operator=(PlacementModel&&) noexcept = default;

Result<PlacementModel> PlacementModel::Load(const std::string& dir) {
  auto err = [](const traces::Status& s) { return Status::Invalid("calibration: " + s.message()); };
  auto gavel = traces::ReadGavelConsolidation(dir + "/gavel/consolidation_ratio.csv");
  if (!gavel.ok()) return err(gavel.status());
  auto skus = traces::ReadGavelSkuThroughputs(dir + "/gavel/sku_ratio.csv");
  if (!skus.ok()) return err(skus.status());
  auto pollux = traces::ReadPolluxPairs(dir + "/pollux/spread_vs_packed.csv");
  if (!pollux.ok()) return err(pollux.status());

  PlacementModel m;
  for (const char* s : kSkuNames) m.skus_.emplace_back(s);
  Tables& t = *m.t_;
  t.gavel = std::move(gavel).value();
  t.pollux = std::move(pollux).value();
  for (const auto& r : t.gavel)
    if (WorkerIndex(r.worker) < 0)
      return Status::Invalid("calibration: gavel/consolidation_ratio.csv: unknown worker_type \"" +
                             r.worker + "\" (expected k80, p100 or v100)");

  const int ns = static_cast<int>(m.skus_.size());
  const Eigen::Index cols = ns * (kSizeBuckets + 1);
  t.cross = Eigen::ArrayXXd::Constant(kJobClasses, cols, kNaN);
  t.cross_count = Eigen::ArrayXXi::Zero(kJobClasses, cols);
  // A representative GPU count per bucket (0 = all sizes).
  constexpr int64_t kBucketGpus[kSizeBuckets + 1] = {0, 2, 4, 8};
  for (int c = 0; c < kJobClasses; ++c)
    for (int s = 0; s < ns; ++s)
      for (int b = -1; b < kSizeBuckets; ++b) {
        int n = 0;
        t.cross(c, Tables::Col(s, b)) = m.MeasuredFactor(c, m.skus_[s], &n, kBucketGpus[b + 1]);
        t.cross_count(c, Tables::Col(s, b)) = n;
      }

  t.sku_ratio = Eigen::ArrayXXd::Constant(kJobClasses + 1, 9, kNaN);
  for (int c = -1; c < kJobClasses; ++c) {
    for (int a = 0; a < 3; ++a)
      for (int b = 0; b < 3; ++b) {
        std::vector<double> v;
        for (const auto& r : *skus) {
          if (c >= 0 && GavelClass(r.model) != c) continue;
          const double tp[3] = {r.k80, r.p100, r.v100};
          v.push_back(tp[a] / tp[b]);
        }
        t.sku_ratio(c + 1, a * 3 + b) = traces::Median(std::move(v));
      }
  }
  return m;
}

double PlacementModel::MeasuredFactor(int cls, std::string_view sku, int* count,
                                      int64_t gpus) const {
  std::vector<double> v;
  const auto it = std::find(skus_.begin(), skus_.end(), sku);
  const int s = it == skus_.end() ? -1 : static_cast<int>(it - skus_.begin());
  const int bucket = SizeBucket(gpus);
  auto in_bucket = [&](int32_t n) { return bucket < 0 || SizeBucket(n) == bucket; };
  if (s >= 0 && s < 3) {
    for (const auto& r : t_->gavel)
      if (WorkerIndex(r.worker) == s && (cls < 0 || GavelClass(r.model) == cls) &&
          in_bucket(r.gpus))
        v.push_back(r.Ratio());
  } else if (s == kT4) {
    // Only pairs whose packed side is one node: one server vs several.
    for (const auto& r : t_->pollux) {
      if (!r.PackedOnOneNode() || !in_bucket(r.gpus)) continue;
      for (int c = 0; c < kJobClasses; ++c)
        if ((cls < 0 || c == cls) && kPolluxNames[c] && r.model == kPolluxNames[c])
          v.push_back(r.Ratio());
    }
  }
  if (count) *count = static_cast<int>(v.size());
  return traces::Median(std::move(v));
}

ModelValue PlacementModel::Factor(int cls, std::string_view sku, Spread level,
                                  int64_t gpus) const {
  APIARY_CHECK(cls >= 0 && cls < kJobClasses);
  ModelValue out;
  if (level == Spread::kSwitch || level == Spread::kNode) return out;  // the reference
  const int ns = static_cast<int>(skus_.size());
  const int bucket = SizeBucket(gpus);
  for (int s = 0; s < ns; ++s)
    if (skus_[s] == sku && !std::isnan(t_->Cell(cls, s, bucket)))
      return {t_->Cell(cls, s, bucket), Provenance::kMeasured, skus_[s]};
  // Nearest measured SKU in FP32 TFLOPS; an SKU without figures gets the
  // median over the measured ones.
  const double f = Fp32(sku);
  int best = -1;
  std::vector<double> all;
  for (int s = 0; s < ns; ++s) {
    if (std::isnan(t_->Cell(cls, s, bucket))) continue;
    all.push_back(t_->Cell(cls, s, bucket));
    if (best < 0 || std::abs(Fp32(skus_[s]) - f) < std::abs(Fp32(skus_[best]) - f)) best = s;
  }
  if (best < 0) return out;
  if (f <= 0) return {traces::Median(std::move(all)), Provenance::kNearestSku, "median of measured"};
  return {t_->Cell(cls, best, bucket), Provenance::kNearestSku, skus_[best]};
}

ModelValue PlacementModel::SkuSpeed(int cls, std::string_view sku,
                                    std::string_view reference) const {
  APIARY_CHECK(cls >= -1 && cls < kJobClasses);
  if (reference.empty() || sku == reference) return {};
  auto gavel = [&](std::string_view name) {
    for (int i = 0; i < 3; ++i)
      if (name == kSkuNames[i]) return i;
    return -1;
  };
  const int a = gavel(sku), b = gavel(reference);
  if (a >= 0 && b >= 0) return {t_->sku_ratio(cls + 1, a * 3 + b), Provenance::kMeasured, ""};
  auto ds = traces::RelativeSpeed(sku, reference);
  if (!ds.ok()) return {};
  const traces::GpuSku* x = traces::FindGpuSku(sku);
  const traces::GpuSku* y = traces::FindGpuSku(reference);
  const bool datasheet = x && y && x->disclosed && y->disclosed;
  return {*ds, datasheet ? Provenance::kDatasheet : Provenance::kIdentity, ""};
}

// ---------------------------------------------------------------------------
// Bound to a cluster
// ---------------------------------------------------------------------------

Spread BoundPlacement::Ideal(const ClusterModel& c, int32_t group, int64_t gpus) const {
  const NodeGroup& g = c.groups[group];
  if (gpus <= group_switch_gpus[group]) return Spread::kSwitch;
  if (gpus <= g.gpus_per_node) return Spread::kNode;
  if (gpus <= int64_t{g.gpus_per_node} * std::max(1, g.rack_nodes) && g.rack_nodes > 1)
    return Spread::kRack;
  return Spread::kBeyond;
}

Spread BoundPlacement::SpreadOf(const ClusterModel& c, std::span<const int32_t> nodes,
                                std::span<const int32_t> leaves, int64_t gpus) const {
  APIARY_CHECK(!nodes.empty());
  const int32_t n0 = nodes[0];
  bool one_node = true, one_rack = true;
  for (int32_t n : nodes) {
    one_node &= n == n0;
    one_rack &= node_rack[n] == node_rack[n0];
  }
  if (!one_node) return one_rack ? Spread::kRack : Spread::kBeyond;
  if (gpus <= 1) return Spread::kSwitch;
  const int32_t sw = group_switch_gpus[c.nodes[n0].group];
  if (leaves.empty() || sw >= c.nodes[n0].gpus) return Spread::kNode;
  const int32_t block = leaves[0] / sw;
  for (int32_t l : leaves)
    if (l / sw != block) return Spread::kNode;
  return Spread::kSwitch;
}

double BoundPlacement::Speed(const ClusterModel& c, const SimJob& j, int32_t job, int32_t sku,
                             int32_t group, Spread actual, double* placement_factor) const {
  const int bucket = std::max(0, SizeBucket(j.gpus()));
  const size_t base =
      ((static_cast<size_t>(job_class[job]) * skus + sku) * kSizeBuckets + bucket) *
      kSpreadLevels;
  const Spread ideal = Ideal(c, group, j.gpus());
  const int a = std::max(static_cast<int>(actual), static_cast<int>(ideal));
  *placement_factor = speed[base + a] / speed[base + static_cast<int>(ideal)];
  return *placement_factor * speed[base + static_cast<int>(Spread::kSwitch)];
}

std::string FormatPlacementSummary(const std::vector<SimResult>& results) {
  // The same jobs under hived, when it ran: what packing would have given.
  const SimResult* hived = nullptr;
  for (const SimResult& r : results)
    if (r.policy == PolicyKind::kHived) hived = &r;
  std::string out;
  char line[320];
  for (const SimResult& r : results) {
    if (!r.placement_model) continue;
    int64_t slowed = 0, both = 0;
    double factor = 0, jct = 0, jct_here = 0, jct_hived = 0;
    for (size_t i = 0; i < r.jobs.size(); ++i) {
      const JobRecord& rec = r.jobs[i];
      if (rec.outcome != JobOutcome::kDone || rec.placement_factor >= 1.0) continue;
      ++slowed;
      factor += rec.placement_factor;
      jct += static_cast<double>(rec.jct_s());
      if (hived && hived->jobs[i].outcome == JobOutcome::kDone) {
        ++both;
        jct_here += static_cast<double>(rec.jct_s());
        jct_hived += static_cast<double>(hived->jobs[i].jct_s());
      }
    }
    const std::string policy(PolicyName(r.policy));
    if (slowed == 0) {
      std::snprintf(line, sizeof line,
                    "%-8s no job ran more spread than its size requires\n", policy.c_str());
    } else {
      const double n = static_cast<double>(slowed);
      int len = std::snprintf(line, sizeof line,
                              "%-8s %lld jobs ran more spread than their size requires: mean "
                              "speed %.2f of packed, mean JCT %.1fh",
                              policy.c_str(), static_cast<long long>(slowed), factor / n,
                              jct / n / 3600.0);
      if (both > 0 && len > 0 && len < static_cast<int>(sizeof line)) {
        const double b = static_cast<double>(both);
        if (both == slowed)
          std::snprintf(line + len, sizeof line - static_cast<size_t>(len),
                        " (the same jobs under hived: %.1fh)", jct_hived / b / 3600.0);
        else
          std::snprintf(line + len, sizeof line - static_cast<size_t>(len),
                        " (%lld of them: %.1fh under hived, %.1fh here)",
                        static_cast<long long>(both), jct_hived / b / 3600.0,
                        jct_here / b / 3600.0);
      }
      std::strncat(line, "\n", sizeof line - std::strlen(line) - 1);
    }
    out += line;
  }
  return out;
}

std::string PlacementMarkdown(const std::vector<SimResult>& results) {
  return "## Placement decides speed\n\n"
         "The placement model is on: a job runs at its SKU's measured (else datasheet) "
         "speed for its class, times the measured cross-node factor when its GPUs span "
         "more nodes than its size needs (Gavel and Pollux measurements; "
         "`traces/data/calibration/`). The baselines place GPUs first-fit without regard "
         "to nodes; hived places them topology-aware. Each job's class, spread and speed "
         "are in the `jobs-<policy>.csv` files.\n\n```\n" +
         FormatPlacementSummary(results) + "```\n\n";
}

Result<BoundPlacement> BindPlacementModel(const PlacementModel& model, const ClusterModel& cluster,
                                          const Workload& workload, uint64_t seed) {
  BoundPlacement b;
  b.job_class.reserve(workload.jobs.size());
  for (const SimJob& j : workload.jobs) {
    if (j.model_class.empty()) {
      b.job_class.push_back(static_cast<int8_t>(DrawJobClass(j.id, seed)));
      continue;
    }
    const int c = FindJobClass(j.model_class);
    if (c < 0)
      return Status::Invalid("job " + j.id + ": field 'model_class': unknown class \"" +
                             j.model_class + "\" (known: " + JobClassNames() + ")");
    b.job_class.push_back(static_cast<int8_t>(c));
  }
  b.skus = static_cast<int32_t>(cluster.skus.size());
  b.speed.assign(static_cast<size_t>(kJobClasses) * b.skus * kSizeBuckets * kSpreadLevels, 1.0);
  constexpr int64_t kBucketGpus[kSizeBuckets] = {2, 4, 8};
  size_t k = 0;
  for (int c = 0; c < kJobClasses; ++c)
    for (int32_t s = 0; s < b.skus; ++s) {
      const SkuInfo& sku = cluster.skus[s];
      ModelValue v = model.SkuSpeed(c, sku.name, workload.reference_sku);
      // Unmeasured pairs keep the cluster's own (datasheet) speed.
      const double speed = v.provenance == Provenance::kMeasured ? v.value : sku.speed;
      for (int64_t gpus : kBucketGpus)
        for (int l = 0; l < kSpreadLevels; ++l)
          b.speed[k++] = speed * model.Factor(c, sku.name, static_cast<Spread>(l), gpus).value;
    }
  b.node_rack.assign(cluster.nodes.size(), 0);
  int32_t rack = 0;
  for (const NodeGroup& g : cluster.groups) {
    const int32_t per = std::max(1, g.rack_nodes);
    for (size_t i = 0; i < g.nodes.size(); ++i)
      b.node_rack[g.nodes[i]] = rack + static_cast<int32_t>(i) / per;
    rack += static_cast<int32_t>((g.nodes.size() + per - 1) / per);
    // A PCIe switch: the buddy level below the node, when there is one.
    const int32_t gpn = g.gpus_per_node;
    const bool pow2 = gpn >= 4 && (gpn & (gpn - 1)) == 0;
    b.group_switch_gpus.push_back(pow2 ? gpn / 2 : gpn);
  }
  return b;
}

}  // namespace apiary::sim
