#include "apiary/traces/gpu_sku.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

namespace apiary::traces {

namespace {

// Aliases: the spellings seen in the bundled inventories (openb: V100M16,
// V100M32; PAI: V100, V100M32; spot: A100-SXM4-80GB, A800-SXM4-80GB) plus
// the vendor's product names. Figures: traces/SKUS.md gives the source of
// every number.
constexpr std::string_view kK80Aliases[] = {"Tesla K80", "K80-12GB"};
constexpr std::string_view kM40Aliases[] = {"Tesla M40", "M40-24GB"};
constexpr std::string_view kP100Aliases[] = {"Tesla P100", "P100-PCIE-16GB",
                                             "P100-16GB"};
constexpr std::string_view kP40Aliases[] = {"Tesla P40", "P40-24GB"};
constexpr std::string_view kV100Aliases[] = {
    "V100M16", "V100-16GB", "V100-SXM2-16GB", "Tesla V100", "V100-SXM2"};
constexpr std::string_view kV100_32Aliases[] = {"V100M32", "V100-SXM2-32GB",
                                                "Tesla V100 32GB"};
constexpr std::string_view kT4Aliases[] = {"Tesla T4", "T4-16GB"};
constexpr std::string_view k2080TiAliases[] = {
    "RTX2080Ti", "GeForce RTX 2080 Ti", "RTX 2080 Ti", "2080 Ti"};
constexpr std::string_view kA100Aliases[] = {"A100-40GB", "A100-SXM4-40GB",
                                             "A100 40GB"};
constexpr std::string_view kA100_80Aliases[] = {"A100-SXM4-80GB", "A100 80GB",
                                                "A100-SXM-80GB"};
constexpr std::string_view kA10Aliases[] = {"NVIDIA A10", "A10-24GB"};
constexpr std::string_view kA800Aliases[] = {"A800-SXM4-80GB", "A800-80GB",
                                             "A800 80GB"};
constexpr std::string_view kH100Aliases[] = {"H100-SXM5-80GB", "H100-SXM",
                                             "H100-80GB", "H100 SXM5"};
constexpr std::string_view kH800Aliases[] = {"H800-SXM5-80GB", "H800-80GB",
                                             "H800 SXM5"};
constexpr std::string_view kG2Aliases[] = {"openb-G2"};
constexpr std::string_view kG3Aliases[] = {"openb-G3"};
constexpr std::string_view kMiscAliases[] = {"pai-MISC"};
constexpr std::string_view kSeries1Aliases[] = {"GPU series 1"};
constexpr std::string_view kSeries2Aliases[] = {"GPU series 2"};

constexpr std::string_view kUndisclosed =
    "undisclosed by the trace publisher; no figures";

// name, aliases, disclosed, memory GB, FP32 TFLOPS, FP16 TFLOPS (dense),
// bandwidth GB/s, year, source.
const std::array<GpuSku, 19> kSkus = {{
    {"K80", kK80Aliases, true, 12, 4.37, 0, 240, 2014,
     "NVIDIA Tesla K80 datasheet (per board: 8.73 TFLOPS FP32 boost, 24 GB, "
     "480 GB/s; two GPUs per board, figures here per GPU)"},
    {"M40", kM40Aliases, true, 12, 7.0, 0, 288, 2015,
     "NVIDIA Tesla M40 datasheet (12 GB; a 24 GB version followed in 2016 "
     "with the same compute and bandwidth)"},
    {"P100", kP100Aliases, true, 16, 9.3, 18.7, 732, 2016,
     "NVIDIA Tesla P100 datasheet, PCIe 16 GB (SXM2: 10.6 FP32 / 21.2 FP16)"},
    {"P40", kP40Aliases, true, 24, 12.0, 0, 346, 2016,
     "NVIDIA Tesla P40 datasheet (FP16 runs at 1/64 rate; no FP16 figure)"},
    {"V100", kV100Aliases, true, 16, 15.7, 125, 900, 2017,
     "NVIDIA Tesla V100 datasheet, SXM2 16 GB (125 = Tensor Core FP16 with "
     "FP32 accumulate)"},
    {"V100-32GB", kV100_32Aliases, true, 32, 15.7, 125, 900, 2018,
     "NVIDIA Tesla V100 datasheet, SXM2 32 GB"},
    {"T4", kT4Aliases, true, 16, 8.1, 65, 320, 2018,
     "NVIDIA T4 Tensor Core GPU datasheet (65 = mixed-precision FP16/FP32)"},
    {"2080Ti", k2080TiAliases, true, 11, 13.4, 53.8, 616, 2018,
     "NVIDIA Turing GPU Architecture whitepaper, GeForce RTX 2080 Ti "
     "reference clocks (53.8 = FP16 Tensor with FP32 accumulate)"},
    {"A100", kA100Aliases, true, 40, 19.5, 312, 1555, 2020,
     "NVIDIA A100 Tensor Core GPU datasheet, SXM4 40 GB (312 dense; 624 "
     "with sparsity)"},
    {"A100-80GB", kA100_80Aliases, true, 80, 19.5, 312, 2039, 2020,
     "NVIDIA A100 Tensor Core GPU datasheet, SXM4 80 GB"},
    {"A10", kA10Aliases, true, 24, 31.2, 125, 600, 2021,
     "NVIDIA A10 Tensor Core GPU datasheet (125 dense; 250 with sparsity)"},
    {"A800", kA800Aliases, true, 80, 19.5, 312, 2039, 2022,
     "NVIDIA A800 Tensor Core GPU datasheet, SXM4 80 GB (A100 compute; "
     "NVLink limited to 400 GB/s)"},
    {"H100", kH100Aliases, true, 80, 67, 989.4, 3350, 2022,
     "NVIDIA H100 Tensor Core GPU datasheet, SXM5 80 GB (1,979 FP16 "
     "TFLOPS with sparsity; dense = half)"},
    {"H800", kH800Aliases, true, 80, 67, 989.4, 3350, 2023,
     "NVIDIA H800 Tensor Core GPU datasheet, SXM5 80 GB (H100 compute; "
     "NVLink 400 GB/s; FP64 cut to 1 TFLOPS)"},
    {"G2", kG2Aliases, false, 0, 0, 0, 0, 0, kUndisclosed},
    {"G3", kG3Aliases, false, 0, 0, 0, 0, 0, kUndisclosed},
    {"MISC", kMiscAliases, false, 0, 0, 0, 0, 0,
     "PAI 2020: older generations mixed (K40m, K80, M60); no figures"},
    {"GPU-series-1", kSeries1Aliases, false, 0, 0, 0, 0, 0, kUndisclosed},
    {"GPU-series-2", kSeries2Aliases, false, 0, 0, 0, 0, 0, kUndisclosed},
}};

struct Key {
  std::string normalized;
  const GpuSku* sku;
};

const std::vector<Key>& Keys() {
  static const std::vector<Key> keys = [] {
    std::vector<Key> out;
    for (const GpuSku& sku : kSkus) {
      out.push_back({NormalizeGpuName(sku.name), &sku});
      for (std::string_view alias : sku.aliases) {
        out.push_back({NormalizeGpuName(alias), &sku});
      }
    }
    return out;
  }();
  return keys;
}

}  // namespace

std::span<const GpuSku> AllGpuSkus() { return kSkus; }

std::string NormalizeGpuName(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (char c : name) {
    if (c == ' ' || c == '-' || c == '_' || c == '\t') continue;
    out.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  return out;
}

const GpuSku* FindGpuSku(std::string_view name_or_alias) {
  const std::string key = NormalizeGpuName(name_or_alias);
  if (key.empty()) return nullptr;
  for (const Key& k : Keys()) {
    if (k.normalized == key) return k.sku;
  }
  return nullptr;
}

std::string CanonicalGpuModel(std::string_view spelling) {
  size_t b = 0, e = spelling.size();
  while (b < e && std::isspace(static_cast<unsigned char>(spelling[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(spelling[e - 1]))) --e;
  spelling = spelling.substr(b, e - b);
  if (const GpuSku* sku = FindGpuSku(spelling)) return std::string(sku->name);
  return std::string(spelling);
}

Result<SpeedModel> ParseSpeedModel(std::string_view name) {
  if (name == "blend") return SpeedModel::kBlend;
  if (name == "fp16") return SpeedModel::kFp16;
  if (name == "fp32") return SpeedModel::kFp32;
  if (name == "bandwidth") return SpeedModel::kMemoryBandwidth;
  return Status::Error("unknown speed model '" + std::string(name) +
                       "' (expected blend, fp16, fp32 or bandwidth)");
}

double SkuSpeed(const GpuSku& sku, SpeedModel model) {
  if (!sku.disclosed) return 0;
  const double tflops = std::max(sku.fp16_tflops, sku.fp32_tflops);
  switch (model) {
    case SpeedModel::kBlend:
      return std::sqrt(tflops * sku.memory_bandwidth_gbs);
    case SpeedModel::kFp16:
      return tflops;
    case SpeedModel::kFp32:
      return sku.fp32_tflops;
    case SpeedModel::kMemoryBandwidth:
      return sku.memory_bandwidth_gbs;
  }
  return 0;
}

Result<double> RelativeSpeed(std::string_view sku, std::string_view reference,
                             SpeedModel model) {
  if (reference.empty() || sku.empty()) return 1.0;
  const GpuSku* s = FindGpuSku(sku);
  if (s == nullptr) return Status::Error("unknown GPU SKU '" + std::string(sku) + "'");
  const GpuSku* r = FindGpuSku(reference);
  if (r == nullptr) {
    return Status::Error("unknown reference GPU SKU '" + std::string(reference) + "'");
  }
  const double ss = SkuSpeed(*s, model);
  const double rs = SkuSpeed(*r, model);
  if (ss <= 0 || rs <= 0) return 1.0;
  return ss / rs;
}

int64_t ScaleDuration(int64_t duration_at_reference, double relative_speed) {
  if (duration_at_reference <= 0 || !(relative_speed > 0)) return duration_at_reference;
  const double scaled = static_cast<double>(duration_at_reference) / relative_speed;
  const int64_t rounded = std::llround(scaled);
  return rounded < 1 ? 1 : rounded;
}

Result<int64_t> ScaleDuration(int64_t duration_at_reference,
                              std::string_view reference_sku,
                              std::string_view target_sku, SpeedModel model) {
  Result<double> speed = RelativeSpeed(target_sku, reference_sku, model);
  if (!speed.ok()) return speed.status();
  return ScaleDuration(duration_at_reference, *speed);
}

}  // namespace apiary::traces
