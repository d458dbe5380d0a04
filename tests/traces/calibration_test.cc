// The calibration readers on the bundled measurement copies: the figures the
// sources publish come out of our reading of the rows, and a damaged copy is
// an error naming the file and field.
#include "apiary/traces/calibration.h"

#include <gtest/gtest.h>

#include <cmath>

#include "test_util.h"

namespace apiary::traces {
namespace {

using testing::DataPath;
using testing::WriteTemp;

TEST(Calibration, MedianOfOddEvenAndEmpty) {
  EXPECT_DOUBLE_EQ(Median({3, 1, 2}), 2);
  EXPECT_DOUBLE_EQ(Median({4, 1, 3, 2}), 2.5);
  EXPECT_DOUBLE_EQ(Median({7}), 7);
  EXPECT_TRUE(std::isnan(Median({})));
}

TEST(Calibration, GavelRowsAsPublished) {
  auto rows = ReadGavelConsolidation(DataPath("calibration/gavel/consolidation_ratio.csv"));
  ASSERT_TRUE(rows.ok()) << rows.status().message();
  EXPECT_EQ(rows->size(), 165u);  // PROVENANCE.md: 165 rows
  // PROVENANCE.md's hand check: v100 ResNet-50 bs16 x4 = 0.6424.
  bool found = false;
  for (const auto& r : *rows)
    if (r.worker == "v100" && r.model == "ResNet-50" && r.batch_size == 16 && r.gpus == 4) {
      EXPECT_NEAR(r.Ratio(), 0.6424, 5e-5);
      found = true;
    }
  EXPECT_TRUE(found);

  // 8-GPU language models on V100, spread vs consolidated: five measurements,
  // 0.105 .. 0.207. The "about 0.10" is the low end; the median of
  // the five is 0.118.
  std::vector<double> lm8;
  for (const auto& r : *rows)
    if (r.worker == "v100" && r.model == "LM" && r.gpus == 8) lm8.push_back(r.Ratio());
  ASSERT_EQ(lm8.size(), 5u);
  EXPECT_NEAR(Median(lm8), 0.1184, 5e-4);
  EXPECT_NEAR(*std::min_element(lm8.begin(), lm8.end()), 0.1046, 5e-4);

  auto skus = ReadGavelSkuThroughputs(DataPath("calibration/gavel/sku_ratio.csv"));
  ASSERT_TRUE(skus.ok()) << skus.status().message();
  ASSERT_EQ(skus->size(), 26u);
  EXPECT_EQ(skus->front().model, "A3C");
  EXPECT_EQ(skus->front().batch_size, -1);  // no batch size
}

TEST(Calibration, PolluxResNet50OneNodeVsFourNodes) {
  // PROVENANCE.md: 4 GPUs on one node vs four nodes, 0.161 vs 0.334 s/step
  // at local batch 20 (2.07x), about 1.0x at batch 200.
  auto rows = ReadPolluxPlacements(DataPath("calibration/pollux/imagenet_placements.csv"));
  ASSERT_TRUE(rows.ok()) << rows.status().message();
  auto step = [&](const std::string& placement, int32_t bsz) {
    for (const auto& r : *rows)
      if (r.placement == placement && r.local_bsz == bsz) return r.step_s;
    ADD_FAILURE() << placement << " @ " << bsz;
    return 0.0;
  };
  EXPECT_NEAR(step("4", 20), 0.161, 5e-4);
  EXPECT_NEAR(step("1111", 20), 0.334, 5e-4);
  EXPECT_NEAR(step("1111", 20) / step("4", 20), 2.07, 5e-3);
  EXPECT_NEAR(step("1111", 200) / step("4", 200), 0.98, 5e-3);

  // The derived pairs agree with the raw rows.
  auto pairs = ReadPolluxPairs(DataPath("calibration/pollux/spread_vs_packed.csv"));
  ASSERT_TRUE(pairs.ok()) << pairs.status().message();
  EXPECT_EQ(pairs->size(), 316u);
  for (const auto& p : *pairs)
    if (p.model == "imagenet" && p.packed == "4" && p.spread == "1111" && p.local_bsz == 20) {
      EXPECT_TRUE(p.PackedOnOneNode());
      EXPECT_NEAR(p.Ratio(), step("4", 20) / step("1111", 20), 1e-9);
    }
}

TEST(Calibration, BadRowsNameFileLineAndField) {
  const std::string header =
      "worker_type,model,batch_size,scale_factor,consolidated_steps_per_s,"
      "unconsolidated_steps_per_s,unconsolidated_over_consolidated\n";
  auto neg = ReadGavelConsolidation(WriteTemp("neg.csv", header + "v100,LM,5,2,-1,2,0.5\n"));
  ASSERT_FALSE(neg.ok());
  EXPECT_NE(neg.status().message().find("neg.csv:2:"), std::string::npos)
      << neg.status().message();
  EXPECT_NE(neg.status().message().find("consolidated_steps_per_s"), std::string::npos);
  EXPECT_NE(neg.status().message().find("positive"), std::string::npos);

  auto text = ReadGavelConsolidation(WriteTemp("text.csv", header + "v100,LM,five,2,1,2,2\n"));
  ASSERT_FALSE(text.ok());
  EXPECT_NE(text.status().message().find("batch_size"), std::string::npos);

  auto missing = ReadPolluxPairs(WriteTemp("missing.csv", "model,num_gpus\nbert,2\n"));
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("local_bsz"), std::string::npos)
      << missing.status().message();

  EXPECT_FALSE(ReadGavelSkuThroughputs("/nonexistent/sku_ratio.csv").ok());
}

}  // namespace
}  // namespace apiary::traces
