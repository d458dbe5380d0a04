#include <gtest/gtest.h>

#include "apiary/traces/readers.h"
#include "test_util.h"

namespace apiary::traces {
namespace {

using testing::DataPath;
using testing::WriteTemp;

TEST(Swf, SampleFile) {
  Result<Trace> t = ReadSwf(DataPath("swf/sample.swf"));
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->reference_sku, "");
  EXPECT_EQ(t->stats.rows, 6);
  EXPECT_EQ(t->stats.dropped.at("no_runtime"), 1);
  EXPECT_EQ(t->stats.dropped.at("no_processors"), 1);
  EXPECT_EQ(t->stats.adjusted.at("split_into_pods"), 1);
  ASSERT_EQ(t->jobs.size(), 4u);
  std::vector<std::string> ids;
  for (const Job& j : t->jobs) ids.push_back(j.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"1", "5", "2", "4"}));

  const Job& j1 = t->jobs[0];
  EXPECT_EQ(j1.submit_time_s, 0);
  EXPECT_EQ(j1.duration_s, 3600);
  EXPECT_EQ(j1.num_pods, 1);
  EXPECT_EQ(j1.gpus_per_pod, 1);
  EXPECT_EQ(j1.vc, "queue-0");
  EXPECT_EQ(j1.user, "1");

  const Job& j5 = t->jobs[1];  // allocated -1, requested 2, queue -1
  EXPECT_EQ(j5.submit_time_s, 20);
  EXPECT_EQ(j5.gpus_per_pod, 2);
  EXPECT_EQ(j5.vc, "default");
  EXPECT_EQ(j5.user, "4");

  const Job& j4 = t->jobs[3];  // 16 processors -> 2 pods x 8
  EXPECT_EQ(j4.num_pods, 2);
  EXPECT_EQ(j4.gpus_per_pod, 8);
  EXPECT_EQ(j4.duration_s, 14400);
}

TEST(Swf, MalformedLines) {
  std::string path = WriteTemp("bad.swf",
                               "; comment\n"
                               "1 0 5 x 1 -1 -1 1 7200 -1 1 1 1 1 0 1 -1 -1\n");
  Result<Trace> t = ReadSwf(path);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().message(),
            path + ":2:7: field 'run_time': expected a whole number, got \"x\"");

  path = WriteTemp("bad.swf", "1 0 5 10\n\t2 -4 0 10 1 -1 -1 1 7200 -1 1 1 1 1 0 1 -1 -1\n");
  t = ReadSwf(path);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().message(), path + ":1:9: expected 18 fields, got 4");

  ReadOptions o;
  o.skip_bad_rows = true;
  t = ReadSwf(path, o);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->stats.skipped, 2);
  EXPECT_EQ(t->stats.errors[1],
            path + ":2:4: field 'submit_time': -4 is out of range [0, inf]");
}

}  // namespace
}  // namespace apiary::traces
