#include <gtest/gtest.h>

#include "apiary/traces/readers.h"
#include "test_util.h"

namespace apiary::traces {
namespace {

using testing::DataPath;
using testing::WriteTemp;

constexpr char kHeader[] = "timestamp,duration,num_gpus,gpu_time,cluster\n";

const Job* FindJob(const Trace& t, const std::string& id) {
  for (const Job& j : t.jobs) {
    if (j.id == id) return &j;
  }
  return nullptr;
}

TEST(Philly, ReadsTheFullBundledTable) {
  Result<Trace> t = ReadPhillyJobs(DataPath("philly/philly_jobs_pollux.csv"));
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->stats.rows, 82247);
  EXPECT_EQ(t->stats.skipped, 0);
  ASSERT_EQ(t->jobs.size(), 82247u);
  EXPECT_EQ(t->reference_sku, "P40");
  // Earliest submit: 2017-09-04 10:30:41 (data row 31566).
  EXPECT_EQ(t->time_origin_s, 1504521041);
  EXPECT_EQ(t->jobs.front().id, "philly-31566");
  EXPECT_EQ(t->jobs.front().submit_time_s, 0);

  // First data row: 2017-10-09 07:01:55,66.0,1,66.0,11cb48
  const Job* first = FindJob(*t, "philly-0");
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->submit_time_s, 1507532515 - 1504521041);
  EXPECT_EQ(first->duration_s, 66);
  EXPECT_EQ(first->num_pods, 1);
  EXPECT_EQ(first->gpus_per_pod, 1);
  EXPECT_EQ(first->vc, "11cb48");
  EXPECT_EQ(first->priority, 0);
  EXPECT_EQ(first->gpu_model, "");
  EXPECT_EQ(first->user, "");

  // 2017-12-12 21:38:32,7673.0,128,982144.0,ee9e8c -> 16 pods x 8 GPUs.
  const Job* big = FindJob(*t, "philly-23196");
  ASSERT_NE(big, nullptr);
  EXPECT_EQ(big->num_pods, 16);
  EXPECT_EQ(big->gpus_per_pod, 8);
  EXPECT_EQ(big->duration_s, 7673);
  // 12 GPUs: the largest divisor <= 8 is 6 -> 2 pods x 6.
  const Job* twelve = FindJob(*t, "philly-9936");
  ASSERT_NE(twelve, nullptr);
  EXPECT_EQ(twelve->num_pods, 2);
  EXPECT_EQ(twelve->gpus_per_pod, 6);
  EXPECT_EQ(t->stats.adjusted.at("split_into_pods"), 289);

  int64_t gpu_seconds = 0;
  for (size_t i = 0; i < t->jobs.size(); ++i) {
    gpu_seconds += t->jobs[i].total_gpus() * t->jobs[i].duration_s;
    if (i > 0) {
      ASSERT_LE(t->jobs[i - 1].submit_time_s, t->jobs[i].submit_time_s);
    }
  }
  EXPECT_EQ(gpu_seconds, 3521082502);
}

TEST(Philly, AbsoluteTimesWithoutRebase) {
  std::string path = WriteTemp("t.csv", std::string(kHeader) +
                                            "2017-10-09 07:01:55,66.0,1,66.0,11cb48\n");
  ReadOptions o;
  o.rebase_time = false;
  Result<Trace> t = ReadPhillyJobs(path, o);
  ASSERT_TRUE(t.ok()) << t.status().message();
  ASSERT_EQ(t->jobs.size(), 1u);
  EXPECT_EQ(t->jobs[0].submit_time_s, 1507532515);
  EXPECT_EQ(t->time_origin_s, 0);
}

TEST(Philly, EqualSubmitTimesKeepInputOrder) {
  std::string path = WriteTemp(
      "t.csv", std::string(kHeader) + "2017-10-09 07:00:10,1.0,1,1.0,b\n" +
                   "2017-10-09 07:00:00,2.0,1,2.0,a\n" + "2017-10-09 07:00:10,3.0,1,3.0,c\n" +
                   "2017-10-09 07:00:00,4.0,1,4.0,d\n");
  Result<Trace> t = ReadPhillyJobs(path);
  ASSERT_TRUE(t.ok()) << t.status().message();
  std::vector<std::string> ids;
  for (const Job& j : t->jobs) ids.push_back(j.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"philly-1", "philly-3", "philly-0", "philly-2"}));
  EXPECT_EQ(t->jobs[2].submit_time_s, 10);
}

TEST(Philly, MalformedRowNamesFileLineColumn) {
  std::string path = WriteTemp("bad.csv", std::string(kHeader) +
                                              "2017-10-09 07:01:55,66.0,1,66.0,11cb48\n"
                                              "2017-10-09 07:02:00,abc,1,66.0,11cb48\n");
  Result<Trace> t = ReadPhillyJobs(path);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().message(),
            path + ":3:21: field 'duration': expected a number, got \"abc\"");
}

TEST(Philly, MoreMalformedRows) {
  struct Case {
    std::string row;
    std::string error;
  };
  const Case cases[] = {
      {"2017-10-09 07:02:00,5.0,1,5.0", ":2:30: expected 5 fields, got 4"},
      {"2017-10-09 07:02:00,5.0,1,5.0,vc,extra", ":2:34: expected 5 fields, got 6"},
      {"2017-13-01 00:00:00,5.0,1,5.0,vc",
       ":2:1: field 'timestamp': expected a date-time \"YYYY-MM-DD HH:MM:SS\", got "
       "\"2017-13-01 00:00:00\""},
      {"2017-10-09 07:02:00,-5.0,1,-5.0,vc", ":2:21: field 'duration': negative"},
      {"2017-10-09 07:02:00,5.0,1.5,7.5,vc",
       ":2:25: field 'num_gpus': expected a whole number, got \"1.5\""},
      {"2017-10-09 07:02:00,5.0,-2,5.0,vc",
       ":2:25: field 'num_gpus': -2 is out of range [0, inf]"},
      {"2017-10-09 07:02:00,5.0,1,5.0,\"vc", ":2:31: unterminated quoted field"},
  };
  for (const Case& c : cases) {
    std::string path = WriteTemp("bad.csv", std::string(kHeader) + c.row + "\n");
    Result<Trace> t = ReadPhillyJobs(path);
    ASSERT_FALSE(t.ok()) << c.row;
    EXPECT_EQ(t.status().message(), path + c.error) << c.row;
  }
}

TEST(Philly, SkipBadRowsCountsAndKeepsFirstMessages) {
  std::string path = WriteTemp("bad.csv", std::string(kHeader) +
                                              "2017-10-09 07:01:55,66.0,1,66.0,11cb48\n"
                                              "2017-10-09 07:02:00,abc,1,66.0,11cb48\n"
                                              "2017-10-09 07:03:00,10.0,2,20.0,6214e9\n"
                                              "bad-date,10.0,2,20.0,6214e9\n"
                                              "2017-10-09 07:04:00,10.0,2\n"
                                              "2017-10-09 07:05:00,10.0,0,0.0,6214e9\n");
  ReadOptions o;
  o.skip_bad_rows = true;
  o.max_error_messages = 2;
  Result<Trace> t = ReadPhillyJobs(path, o);
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->stats.rows, 6);
  EXPECT_EQ(t->stats.skipped, 3);
  ASSERT_EQ(t->stats.errors.size(), 2u);
  EXPECT_EQ(t->stats.errors[0],
            path + ":3:21: field 'duration': expected a number, got \"abc\"");
  EXPECT_EQ(t->stats.errors[1], path +
                                    ":5:1: field 'timestamp': expected a date-time "
                                    "\"YYYY-MM-DD HH:MM:SS\", got \"bad-date\"");
  EXPECT_EQ(t->stats.dropped.at("cpu_only"), 1);
  ASSERT_EQ(t->jobs.size(), 2u);
  EXPECT_EQ(t->jobs[1].id, "philly-2");
  EXPECT_EQ(t->jobs[1].gpus_per_pod, 2);
  EXPECT_EQ(t->jobs[1].submit_time_s, 65);
}

TEST(Philly, HeaderErrors) {
  std::string path = WriteTemp("h.csv", "timestamp,duration,gpus,cluster\n");
  Result<Trace> t = ReadPhillyJobs(path);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().message(), path + ":1:1: missing column 'num_gpus'");

  std::string empty = WriteTemp("e.csv", "");
  t = ReadPhillyJobs(empty);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().message(), empty + ":1:1: empty file (expected a header line)");

  ReadOptions o;
  o.reference_sku = "Z9000";
  t = ReadPhillyJobs(DataPath("philly/philly_jobs_pollux.csv"), o);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().message(), "unknown reference SKU 'Z9000'");
}

TEST(Philly, ReferenceOverrideAndPodLimit) {
  std::string path = WriteTemp("t.csv", std::string(kHeader) +
                                            "2017-10-09 07:01:55,66.0,16,1056.0,x\n");
  ReadOptions o;
  o.reference_sku = "v100m16";
  o.max_gpus_per_pod = 4;
  Result<Trace> t = ReadPhillyJobs(path, o);
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->reference_sku, "V100");
  EXPECT_EQ(t->jobs[0].num_pods, 4);
  EXPECT_EQ(t->jobs[0].gpus_per_pod, 4);
}

}  // namespace
}  // namespace apiary::traces
