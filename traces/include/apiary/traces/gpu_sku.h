// The table of real GPU SKUs with published figures, the spellings the
// public traces use for them, and the relative-speed rule that scales a
// job's duration from the trace's reference SKU to the SKU it lands on.
// Figures and their sources: traces/SKUS.md.
//
// The table is immutable static data; all functions are thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "apiary/traces/status.h"

namespace apiary::traces {

struct GpuSku {
  // Canonical name, used in Job::gpu_model and NodeInventory::sku.
  std::string_view name;
  // Other spellings (trace model names, vendor product names). Matching is
  // case-insensitive and ignores ' ', '-', '_' (see NormalizeGpuName).
  std::span<const std::string_view> aliases;
  // false for models the trace publishers did not disclose (openb G2/G3,
  // PAI MISC, spot GPU-series-1/2): they have no figures, and scaling to or
  // from them is the identity.
  bool disclosed = true;
  // Per GPU (for dual-GPU boards such as the K80: per GPU, i.e. half a board).
  double memory_gb = 0;
  // Peak FP32 (single precision) TFLOPS at boost clock.
  double fp32_tflops = 0;
  // Peak dense FP16 TFLOPS: tensor-core FP16 with FP32 accumulate where the
  // GPU has tensor cores, otherwise native FP16; 0 when the datasheet gives
  // no FP16 figure (no fast FP16 path: K80, M40, P40).
  double fp16_tflops = 0;
  double memory_bandwidth_gbs = 0;
  int32_t release_year = 0;
  // Vendor document the figures come from.
  std::string_view source;
};

// All SKUs, in release order (then name). Stable across runs.
std::span<const GpuSku> AllGpuSkus();

// Upper-cases and drops ' ', '-', '_': "a100-sxm4-80gb" -> "A100SXM480GB".
std::string NormalizeGpuName(std::string_view name);

// The SKU whose name or alias matches `name_or_alias`, or nullptr.
// O(#SKUs × #aliases), ~100 comparisons.
const GpuSku* FindGpuSku(std::string_view name_or_alias);

// Canonical SKU name for a trace spelling; unknown spellings are returned
// unchanged (trimmed).
std::string CanonicalGpuModel(std::string_view spelling);

// How a SKU's speed is estimated from its figures.
enum class SpeedModel {
  // Default. sqrt(effective_tflops × memory_bandwidth_gbs): the geometric
  // mean of peak compute and memory bandwidth, because DL training steps mix
  // compute-bound (GEMM/convolution) and bandwidth-bound (element-wise,
  // normalisation, optimizer) kernels. effective_tflops = max(fp16, fp32).
  kBlend,
  kFp16,             // effective_tflops = max(fp16_tflops, fp32_tflops)
  kFp32,             // fp32_tflops
  kMemoryBandwidth,  // memory_bandwidth_gbs
};

// Parses "blend", "fp16", "fp32", "bandwidth".
Result<SpeedModel> ParseSpeedModel(std::string_view name);

// Absolute speed score of one SKU under `model` (arbitrary units; only
// ratios are meaningful). 0 for undisclosed SKUs.
double SkuSpeed(const GpuSku& sku, SpeedModel model = SpeedModel::kBlend);

// speed(sku) / speed(reference). 1.0 when either is undisclosed or when
// `reference` is empty. Error if a non-empty name is not a known SKU.
Result<double> RelativeSpeed(std::string_view sku, std::string_view reference,
                             SpeedModel model = SpeedModel::kBlend);

// Duration of a job that takes `duration_at_reference` seconds on the
// reference SKU, when it runs on a SKU `relative_speed` times as fast:
// round(duration / relative_speed), at least 1 s for a positive duration.
// Non-positive durations (0, kUnknownDuration) are returned unchanged.
int64_t ScaleDuration(int64_t duration_at_reference, double relative_speed);

// Convenience: ScaleDuration(d, RelativeSpeed(target, reference, model)).
Result<int64_t> ScaleDuration(int64_t duration_at_reference,
                              std::string_view reference_sku,
                              std::string_view target_sku,
                              SpeedModel model = SpeedModel::kBlend);

}  // namespace apiary::traces
