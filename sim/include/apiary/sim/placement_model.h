// The placement model: how fast a job runs given its class (what it trains),
// the SKU it lands on and how its GPUs are spread. Calibrated from published
// measurements (traces/data/calibration/, README.md there):
//
//  * Spread: Gavel's consolidated vs unconsolidated multi-GPU throughputs on
//    K80 / P100 / V100 and Pollux's packed vs spread step times on T4 (PCIe,
//    50 GbE). Each (class, SKU, job size) cell is the median over the
//    measured job types (batch sizes, GPU counts in the size bucket: 2, 3-4,
//    5+ GPUs); with fewer than kMinMeasurements in the bucket, the median
//    over all sizes. Single measurements, so medians.
//  * SKU speed: Gavel's single-GPU throughputs; a class's speed of SKU a
//    relative to SKU b is the median over its job types of tp(a) / tp(b).
//
// Spread levels: the lowest level holding all of a job's GPUs — within one
// PCIe switch (an aligned half of a power-of-two node of >= 4 GPUs), one
// node, one rack, or beyond. Only the node boundary is measured (both
// sources compare one server against several): switch and node have factor
// 1, rack and beyond the measured cross-node factor. A job's speed is
//
//   SkuSpeed(class, sku, reference) × Factor(class, sku, actual spread, size)
//                                   / Factor(class, sku, ideal spread, size)
//
// where the ideal spread is the tightest the job's size allows on that node
// group: the trace's durations are taken as measured on a packed placement.
//
// Cells without a measurement: the spread factor of an unmeasured SKU is the
// class's factor on the measured SKU nearest in FP32 TFLOPS (the measured
// workloads train in FP32; compute speed sets how much communication
// shows); the SKU speed falls back to the datasheet rule
// (traces::RelativeSpeed) unless both SKUs are measured for the class.
// traces/SKUS.md lists which is which.
//
// Immutable after construction; thread-safe to share.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "apiary/sim/cluster.h"
#include "apiary/sim/workload.h"

namespace apiary::sim {

enum class Spread : int8_t { kSwitch = 0, kNode = 1, kRack = 2, kBeyond = 3 };
inline constexpr int kSpreadLevels = 4;
const char* SpreadName(Spread s);  // switch | node | rack | beyond

// Job sizes the cross-node factor is taken per: 2 GPUs, 3-4, 5 and more
// (Gavel measured 2, 4, 8; Pollux 2, 3, 4). -1 for gpus <= 0: all sizes.
inline constexpr int kSizeBuckets = 3;
int SizeBucket(int64_t gpus);
// A size bucket needs this many measurements to stand on its own.
inline constexpr int kMinMeasurements = 3;

// Job classes: the four model families with multi-GPU placement measurements.
inline constexpr int kJobClasses = 4;
const char* JobClassName(int cls);  // resnet18 | resnet50 | transformer | lm
// The class named `name` (case-insensitive; also Gavel's model names
// "ResNet-18", "ResNet-50", "Transformer", "LM"), or -1.
int FindJobClass(std::string_view name);
// The names, comma-separated (for error messages).
std::string JobClassNames();

// The class of a job that has none in its trace: a uniform draw over the
// four classes (Gavel draws its job types uniformly too), from a hash of the
// job id and the seed. Deterministic; independent of the job's position.
int DrawJobClass(std::string_view job_id, uint64_t seed);

// Where a number came from.
enum class Provenance : int8_t {
  kMeasured,     // a median of measurements on this SKU (or SKU pair)
  kNearestSku,   // measured on the nearest measured SKU (FP32 TFLOPS)
  kDatasheet,    // the datasheet rule (traces/SKUS.md)
  kIdentity,     // no measurement and nothing to compare: 1.0
};
const char* ProvenanceName(Provenance p);

struct ModelValue {
  double value = 1.0;
  Provenance provenance = Provenance::kIdentity;
  std::string sku;  // the measured SKU the value comes from, if any
};

class PlacementModel {
 public:
  // Reads <dir>/gavel/consolidation_ratio.csv, <dir>/gavel/sku_ratio.csv and
  // <dir>/pollux/spread_vs_packed.csv. Errors name the file and field.
  static Result<PlacementModel> Load(const std::string& dir);

  // SKUs with placement measurements (canonical names), in table order.
  const std::vector<std::string>& measured_skus() const { return skus_; }

  // Throughput of a class-`cls` job (0 <= cls < kJobClasses) of `gpus` GPUs
  // (0: any size) spread at `level` on `sku`, relative to the same job within
  // one node.
  ModelValue Factor(int cls, std::string_view sku, Spread level, int64_t gpus = 0) const;
  // Single-GPU speed of `sku` relative to `reference` (canonical names; an
  // empty reference means no scaling) for class `cls` (-1: every job type
  // measured, the reference figures of traces/SKUS.md).
  ModelValue SkuSpeed(int cls, std::string_view sku, std::string_view reference) const;
  // Measured median cross-node factor of the class (-1: every class) on the
  // SKU, over jobs in the size bucket of `gpus` (0: all sizes), and its count
  // of measurements; NaN and 0 when there are none.
  double MeasuredFactor(int cls, std::string_view sku, int* count = nullptr,
                        int64_t gpus = 0) const;

  ~PlacementModel();
  PlacementModel(PlacementModel&&) noexcept;
  PlacementModel& operator=(PlacementModel&&) noexcept;

 private:
  struct Tables;  // Eigen, kept out of this header
  PlacementModel();
  std::vector<std::string> skus_;
  std::unique_ptr<Tables> t_;
};

// The model bound to one cluster and workload: every number the engine needs,
// precomputed, so that a job start is a table lookup.
struct BoundPlacement {
  std::vector<int8_t> job_class;  // [job]
  // [((cls * skus + sku) * kSizeBuckets + bucket) * kSpreadLevels + level]:
  // speed relative to the reference SKU, packed, times the spread factor.
  std::vector<double> speed;
  int32_t skus = 0;
  std::vector<int32_t> node_rack;  // [node] a cluster-wide rack id
  std::vector<int32_t> group_switch_gpus;  // [group] GPUs per PCIe switch

  // The speed of job `job` placed on `sku` (a node of `group`) at `actual`;
  // `*placement_factor` gets the part due to the spread (1 = as packed as
  // the job's size allows).
  double Speed(const ClusterModel& c, const SimJob& j, int32_t job, int32_t sku,
               int32_t group, Spread actual, double* placement_factor) const;
  // The tightest spread `gpus` GPUs can have on `group`'s nodes.
  Spread Ideal(const ClusterModel& c, int32_t group, int64_t gpus) const;
  // The spread of a placement: `nodes` are cluster node indices (repeats
  // allowed); `leaves`, when not empty, are the GPU indices of a one-node
  // placement (switch detection; without them a one-node placement of more
  // than one GPU is reported at node level).
  Spread SpreadOf(const ClusterModel& c, std::span<const int32_t> nodes,
                  std::span<const int32_t> leaves, int64_t gpus) const;
};

// One line per policy: how many jobs ran slower than packed because of
// their spread, their mean placement factor and JCT (for `apiary-sim run`).
struct SimResult;
std::string FormatPlacementSummary(const std::vector<SimResult>& results);
// The same as a report.md section, with what the model does.
std::string PlacementMarkdown(const std::vector<SimResult>& results);

// Binds: classes from SimJob::model_class when set (unknown names are an
// error naming the classes), else DrawJobClass(id, seed).
Result<BoundPlacement> BindPlacementModel(const PlacementModel& model,
                                          const ClusterModel& cluster,
                                          const Workload& workload, uint64_t seed);

}  // namespace apiary::sim
