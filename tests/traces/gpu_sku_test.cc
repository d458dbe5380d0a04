#include "apiary/traces/gpu_sku.h"

#include <gtest/gtest.h>

#include <cmath>
#include <iterator>
#include <set>

namespace apiary::traces {
namespace {

TEST(GpuSku, RequiredSkusHaveFiguresAndSources) {
  for (std::string_view name : {"K80", "M40", "P40", "P100", "V100", "T4", "2080Ti", "A10",
                                "A100", "A800", "H100", "H800"}) {
    const GpuSku* sku = FindGpuSku(name);
    ASSERT_NE(sku, nullptr) << name;
    EXPECT_EQ(sku->name, name);
    EXPECT_TRUE(sku->disclosed);
    EXPECT_GT(sku->memory_gb, 0);
    EXPECT_GT(sku->fp32_tflops, 0);
    EXPECT_GT(sku->memory_bandwidth_gbs, 0);
    EXPECT_GE(sku->release_year, 2014);
    EXPECT_FALSE(sku->source.empty());
  }
  std::set<std::string_view> names;
  for (const GpuSku& s : AllGpuSkus()) EXPECT_TRUE(names.insert(s.name).second) << s.name;
}

TEST(GpuSku, PublishedFigures) {
  const GpuSku* v100 = FindGpuSku("V100");
  EXPECT_EQ(v100->fp32_tflops, 15.7);
  EXPECT_EQ(v100->fp16_tflops, 125);
  EXPECT_EQ(v100->memory_bandwidth_gbs, 900);
  const GpuSku* h100 = FindGpuSku("H100");
  EXPECT_EQ(h100->fp16_tflops, 989.4);
  EXPECT_EQ(h100->memory_bandwidth_gbs, 3350);
  EXPECT_EQ(FindGpuSku("A100-80GB")->memory_bandwidth_gbs, 2039);
  EXPECT_EQ(FindGpuSku("T4")->fp16_tflops, 65);
}

TEST(GpuSku, EverySpellingInTheBundledInventoriesResolves) {
  struct Case {
    const char* spelling;
    const char* name;
  };
  const Case cases[] = {
      // openb node lists
      {"V100M16", "V100"}, {"V100M32", "V100-32GB"}, {"P100", "P100"}, {"T4", "T4"},
      {"A10", "A10"}, {"G2", "G2"}, {"G3", "G3"},
      // PAI machine spec
      {"V100", "V100"}, {"MISC", "MISC"},
      // spot-GPU node list
      {"A100-SXM4-80GB", "A100-80GB"}, {"A800-SXM4-80GB", "A800"}, {"H800", "H800"},
      {"GPU-series-1", "GPU-series-1"}, {"GPU-series-2", "GPU-series-2"},
      // vendor spellings, case and separators ignored
      {"Tesla K80", "K80"}, {"geforce rtx 2080 ti", "2080Ti"}, {"h100_sxm5_80gb", "H100"},
  };
  for (const Case& c : cases) {
    const GpuSku* sku = FindGpuSku(c.spelling);
    ASSERT_NE(sku, nullptr) << c.spelling;
    EXPECT_EQ(sku->name, c.name) << c.spelling;
    EXPECT_EQ(CanonicalGpuModel(c.spelling), c.name);
  }
  EXPECT_EQ(FindGpuSku("CPU"), nullptr);
  EXPECT_EQ(FindGpuSku(""), nullptr);
  EXPECT_EQ(CanonicalGpuModel(" Radeon "), "Radeon");
  EXPECT_FALSE(FindGpuSku("G2")->disclosed);
}

TEST(GpuSku, RelativeSpeedBlend) {
  // blend = sqrt(max(fp16, fp32) TFLOPS x GB/s)
  const double v100 = std::sqrt(125.0 * 900.0);
  const double a100 = std::sqrt(312.0 * 1555.0);
  const double k80 = std::sqrt(4.37 * 240.0);
  EXPECT_DOUBLE_EQ(SkuSpeed(*FindGpuSku("V100")), v100);
  EXPECT_DOUBLE_EQ(*RelativeSpeed("A100", "V100"), a100 / v100);
  EXPECT_DOUBLE_EQ(*RelativeSpeed("K80", "V100"), k80 / v100);
  EXPECT_DOUBLE_EQ(*RelativeSpeed("V100M32", "V100"), 1.0);
  EXPECT_DOUBLE_EQ(*RelativeSpeed("H800", "H100"), 1.0);
  EXPECT_DOUBLE_EQ(*RelativeSpeed("A100", "V100", SpeedModel::kFp16), 312.0 / 125.0);
  EXPECT_DOUBLE_EQ(*RelativeSpeed("A100", "V100", SpeedModel::kFp32), 19.5 / 15.7);
  EXPECT_DOUBLE_EQ(*RelativeSpeed("A100", "V100", SpeedModel::kMemoryBandwidth),
                   1555.0 / 900.0);
  // Newer generations are faster under the default model.
  const char* order[] = {"K80", "M40", "P40", "P100", "V100", "A100", "H100"};
  for (size_t i = 1; i < std::size(order); ++i) {
    EXPECT_GT(*RelativeSpeed(order[i], order[i - 1]), 1.0) << order[i];
  }
}

TEST(GpuSku, UndisclosedAndUnknown) {
  EXPECT_DOUBLE_EQ(*RelativeSpeed("G2", "V100"), 1.0);
  EXPECT_DOUBLE_EQ(*RelativeSpeed("V100", "MISC"), 1.0);
  EXPECT_DOUBLE_EQ(*RelativeSpeed("A100", ""), 1.0);
  Result<double> r = RelativeSpeed("Z9000", "V100");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "unknown GPU SKU 'Z9000'");
  r = RelativeSpeed("V100", "Z9000");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "unknown reference GPU SKU 'Z9000'");
}

TEST(GpuSku, ScaleDuration) {
  // A job of 3600 s on V100 takes 3600 / (a100/v100) on A100.
  const double rel = std::sqrt(312.0 * 1555.0) / std::sqrt(125.0 * 900.0);
  EXPECT_EQ(*ScaleDuration(3600, "V100", "A100"), std::llround(3600 / rel));
  EXPECT_EQ(*ScaleDuration(3600, "V100", "A100"), 1734);
  EXPECT_EQ(*ScaleDuration(3600, "V100", "V100"), 3600);
  EXPECT_EQ(*ScaleDuration(1000, "A100", "T4"), 4830);
  EXPECT_EQ(ScaleDuration(1, 100.0), 1);  // never below 1 s
  EXPECT_EQ(ScaleDuration(0, 2.0), 0);
  EXPECT_EQ(ScaleDuration(-1, 2.0), -1);  // kUnknownDuration stays unknown
  EXPECT_EQ(*ScaleDuration(500, "", "A100"), 500);
  EXPECT_FALSE(ScaleDuration(500, "V100", "nope").ok());
}

TEST(GpuSku, ParseSpeedModel) {
  EXPECT_EQ(*ParseSpeedModel("blend"), SpeedModel::kBlend);
  EXPECT_EQ(*ParseSpeedModel("fp16"), SpeedModel::kFp16);
  EXPECT_EQ(*ParseSpeedModel("fp32"), SpeedModel::kFp32);
  EXPECT_EQ(*ParseSpeedModel("bandwidth"), SpeedModel::kMemoryBandwidth);
  EXPECT_FALSE(ParseSpeedModel("magic").ok());
}

}  // namespace
}  // namespace apiary::traces
