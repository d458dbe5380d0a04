// Readers for the published throughput measurements that calibrate the
// simulator's placement and SKU-speed model (sim/placement_model.h). The data
// and its provenance live in traces/data/calibration/ (README.md there):
//
//  * Gavel (OSDI'20), K80 / P100 / V100: single-GPU throughput per job type
//    (gavel/sku_ratio.csv) and multi-GPU throughput consolidated on one
//    server vs spread over servers (gavel/consolidation_ratio.csv).
//  * Pollux (OSDI'21), T4 over 50 GbE: step time of a packed placement vs a
//    spread one at the same GPU count and per-GPU batch
//    (pollux/spread_vs_packed.csv), and raw step times per placement
//    (pollux/imagenet_placements.csv).
//
// The readers check headers and types and report "file:line:column: reason";
// they compute nothing. Free functions, thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "apiary/traces/status.h"

namespace apiary::traces {

// gavel/consolidation_ratio.csv: one multi-GPU job type on one GPU type.
struct GavelConsolidationRow {
  std::string worker;      // "k80" | "p100" | "v100"
  std::string model;       // "ResNet-18", "ResNet-50", "Transformer", "LM"
  int32_t batch_size = 0;  // per GPU
  int32_t gpus = 0;        // scale factor: 2, 4 or 8
  double consolidated = 0;    // steps/s summed over the job's GPUs
  double unconsolidated = 0;  // same, GPUs spread over servers
  double Ratio() const { return unconsolidated / consolidated; }
};

// gavel/sku_ratio.csv: one job type's single-GPU throughput per GPU type.
struct GavelSkuRow {
  std::string model;        // as above, plus "A3C", "CycleGAN", "Recommendation"
  int32_t batch_size = -1;  // -1: the job type has none (A3C, CycleGAN)
  double k80 = 0, p100 = 0, v100 = 0;  // steps/s
};

// pollux/spread_vs_packed.csv: a packed and a spread placement of the same
// job (model, GPUs, per-GPU batch).
struct PolluxPairRow {
  std::string model;  // "imagenet" (ResNet-50), "cifar10" (ResNet-18), "bert", ...
  int32_t gpus = 0;
  int32_t local_bsz = 0;
  std::string packed;  // placement digit strings: one digit per node, e.g. "4"
  std::string spread;  // e.g. "1111"
  double packed_step_s = 0;
  double spread_step_s = 0;
  // Throughput of the spread placement relative to the packed one.
  double Ratio() const { return packed_step_s / spread_step_s; }
  // True when the packed side is one node (a one-digit placement).
  bool PackedOnOneNode() const { return packed.size() == 1; }
};

// pollux/<model>_placements.csv: step time of one placement at one batch.
struct PolluxPlacementRow {
  std::string placement;
  int32_t local_bsz = 0;
  double step_s = 0;
  double sync_s = 0;
};

Result<std::vector<GavelConsolidationRow>> ReadGavelConsolidation(const std::string& path);
Result<std::vector<GavelSkuRow>> ReadGavelSkuThroughputs(const std::string& path);
Result<std::vector<PolluxPairRow>> ReadPolluxPairs(const std::string& path);
Result<std::vector<PolluxPlacementRow>> ReadPolluxPlacements(const std::string& path);

// The median of `values` (the mean of the two middle ones for an even
// count); NaN when empty. Takes a copy: O(n) with nth_element.
double Median(std::vector<double> values);

}  // namespace apiary::traces
