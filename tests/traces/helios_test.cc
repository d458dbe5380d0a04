#include <gtest/gtest.h>

#include "apiary/traces/readers.h"
#include "test_util.h"

namespace apiary::traces {
namespace {

using testing::DataPath;
using testing::WriteTemp;

constexpr char kHeader[] =
    "job_id,user,vc,gpu_num,cpu_num,node_num,state,submit_time,start_time,end_time,"
    "duration,queue\n";

TEST(Helios, SampleLog) {
  Result<Trace> t = ReadHeliosJobs(DataPath("helios/cluster_log.sample.csv"));
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->reference_sku, "V100");
  EXPECT_EQ(t->stats.rows, 7);
  EXPECT_EQ(t->stats.dropped.at("cpu_only"), 1);
  EXPECT_EQ(t->stats.adjusted.at("gpus_not_divisible_by_nodes"), 1);
  EXPECT_EQ(t->time_origin_s, 1590998340);  // 2020-06-01 07:59:00
  ASSERT_EQ(t->jobs.size(), 6u);
  std::vector<std::string> ids;
  for (const Job& j : t->jobs) ids.push_back(j.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"900006", "900001", "900002", "900004", "900005",
                                           "900007"}));
  // 900001,uSmp01,vcSmpA,1,4,1,COMPLETED,2020-06-01 08:00:00,...,3600,5
  const Job& j1 = t->jobs[1];
  EXPECT_EQ(j1.submit_time_s, 60);
  EXPECT_EQ(j1.duration_s, 3600);
  EXPECT_EQ(j1.num_pods, 1);
  EXPECT_EQ(j1.gpus_per_pod, 1);
  EXPECT_EQ(j1.vc, "vcSmpA");
  EXPECT_EQ(j1.user, "uSmp01");
  // 900004: 16 GPUs on 2 nodes -> 2 pods x 8.
  EXPECT_EQ(t->jobs[3].num_pods, 2);
  EXPECT_EQ(t->jobs[3].gpus_per_pod, 8);
  EXPECT_EQ(t->jobs[3].duration_s, 14400);
  // 900005: 3 GPUs on 2 nodes does not divide -> 1 pod x 3.
  EXPECT_EQ(t->jobs[4].num_pods, 1);
  EXPECT_EQ(t->jobs[4].gpus_per_pod, 3);
  // 900007: empty duration -> end - start = 30 min.
  EXPECT_EQ(t->jobs[5].duration_s, 1800);
  EXPECT_EQ(t->jobs[5].submit_time_s, 360);
}

TEST(Helios, MalformedRows) {
  struct Case {
    std::string row;
    std::string error;
  };
  const Case cases[] = {
      {"1,u,vc,1,1,1,COMPLETED,2020-06-31 08:00:00,2020-06-01 08:00:00,2020-06-01 "
       "08:01:00,60,0",
       ":2:24: field 'submit_time': expected a date-time \"YYYY-MM-DD HH:MM:SS\", got "
       "\"2020-06-31 08:00:00\""},
      {"1,u,vc,1,1,1,COMPLETED,2020-06-01 08:00:00,2020-06-01 08:00:00,2020-06-01 "
       "08:01:00,-60,0",
       ":2:84: field 'duration': negative"},
      {"1,u,vc,1,1,1,COMPLETED,2020-06-01 08:00:00,2020-06-01 08:00:00,2020-06-01 "
       "07:01:00,,0",
       ":2:64: field 'end_time': before start_time"},
      {"1,u,vc,x,1,1,COMPLETED,2020-06-01 08:00:00,2020-06-01 08:00:00,2020-06-01 "
       "08:01:00,60,0",
       ":2:8: field 'gpu_num': expected a whole number, got \"x\""},
  };
  for (const Case& c : cases) {
    std::string path = WriteTemp("bad.csv", std::string(kHeader) + c.row + "\n");
    Result<Trace> t = ReadHeliosJobs(path);
    ASSERT_FALSE(t.ok()) << c.row;
    EXPECT_EQ(t.status().message(), path + c.error) << c.row;
  }
  ReadOptions o;
  o.skip_bad_rows = true;
  std::string path = WriteTemp("bad.csv", std::string(kHeader) + cases[0].row + "\n" +
                                              cases[3].row + "\n");
  Result<Trace> t = ReadHeliosJobs(path, o);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->stats.skipped, 2);
  EXPECT_TRUE(t->jobs.empty());
  EXPECT_EQ(t->stats.errors[1], path + ":3:8: field 'gpu_num': expected a whole number, got \"x\"");
}

}  // namespace
}  // namespace apiary::traces
