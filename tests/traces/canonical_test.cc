#include <gtest/gtest.h>

#include "apiary/traces/readers.h"
#include "test_util.h"

namespace apiary::traces {
namespace {

using testing::DataPath;
using testing::WriteTemp;

TEST(Canonical, ExampleFile) {
  Result<Trace> t = ReadCanonicalJobs(DataPath("canonical/jobs.example.csv"));
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->reference_sku, "V100");
  EXPECT_EQ(t->stats.rows, 4);
  ASSERT_EQ(t->jobs.size(), 4u);
  EXPECT_EQ(t->jobs[0], (Job{"train-a", 0, 3600, 1, 8, "vc1", 100, "V100", "alice", ""}));
  EXPECT_EQ(t->jobs[1], (Job{"train-b", 10, 7200, 4, 8, "vc2", 0, "", "bob", ""}));
  EXPECT_EQ(t->jobs[2], (Job{"eval, small", 10, 120, 1, 1, "vc1", -1, "T4|V100", "carol", ""}));
  EXPECT_EQ(t->jobs[3],
            (Job{"infer-c", 25, kUnknownDuration, 2, 1, "vc2", 0, "A100-80GB", "", ""}));
}

TEST(Canonical, RoundTripsTheFullPhillyTrace) {
  ReadOptions o;
  o.rebase_time = false;
  Result<Trace> philly = ReadPhillyJobs(DataPath("philly/philly_jobs_pollux.csv"));
  ASSERT_TRUE(philly.ok()) << philly.status().message();
  philly->jobs[0].user = "#odd, \"user\"";  // exercise quoting
  const std::string path = WriteTemp("philly.csv", "");
  ASSERT_TRUE(WriteCanonicalJobs(*philly, path).ok());
  Result<Trace> back = ReadCanonicalJobs(path, o);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->reference_sku, "P40");
  ASSERT_EQ(back->jobs.size(), philly->jobs.size());
  for (size_t i = 0; i < back->jobs.size(); ++i) ASSERT_EQ(back->jobs[i], philly->jobs[i]) << i;
}

TEST(Canonical, OptionalColumnsTakeDefaults) {
  const std::string path = WriteTemp(
      "t.csv", "num_pods,gpus_per_pod,id,submit_time_s,duration_s\n1,2,a,5,10\n1,0,cpu,6,1\n");
  ReadOptions o;
  o.default_vc = "vcX";
  o.default_priority = 7;
  o.reference_sku = "A100";
  Result<Trace> t = ReadCanonicalJobs(path, o);
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->reference_sku, "A100");
  EXPECT_EQ(t->stats.dropped.at("cpu_only"), 1);
  ASSERT_EQ(t->jobs.size(), 1u);
  EXPECT_EQ(t->jobs[0], (Job{"a", 0, 10, 1, 2, "vcX", 7, "", "", ""}));
  EXPECT_EQ(t->time_origin_s, 5);
}

TEST(Canonical, ModelClassIsReadAndWrittenBack) {
  const std::string path = WriteTemp(
      "t.csv", "id,submit_time_s,duration_s,num_pods,gpus_per_pod,model_class\n"
               "a,0,10,1,2, lm \nb,1,10,1,1,\n");
  Result<Trace> t = ReadCanonicalJobs(path);
  ASSERT_TRUE(t.ok()) << t.status().message();
  ASSERT_EQ(t->jobs.size(), 2u);
  EXPECT_EQ(t->jobs[0].model_class, "lm");  // trimmed
  EXPECT_EQ(t->jobs[1].model_class, "");
  const std::string out = WriteTemp("out.csv", "");
  ASSERT_TRUE(WriteCanonicalJobs(*t, out).ok());
  Result<Trace> back = ReadCanonicalJobs(out);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->jobs, t->jobs);
}

TEST(Canonical, Errors) {
  const std::string h = "id,submit_time_s,duration_s,num_pods,gpus_per_pod,vc,priority\n";
  struct Case {
    std::string text;
    std::string error;
  };
  const Case cases[] = {
      {"id,submit_time_s,duration_s,num_pods,gpus_per_pod,priorty\n",
       ":1:51: unknown column 'priorty'"},
      {"id,submit_time_s,duration_s,num_pods\n", ":1:1: missing column 'gpus_per_pod'"},
      {h + "a,0,10,1,1,vc,0\na,1,10,1,1,vc,0\n", ":3:1: field 'id': duplicate id \"a\""},
      {h + "a,0,10,1,1,vc,2000\n", ":2:15: field 'priority': 2000 is out of range [-1, 1000]"},
      {h + "a,0,10,0,1,vc,0\n", ":2:8: field 'num_pods': 0 is out of range [1, 2147483647]"},
      {h + "a,0,-2,1,1,vc,0\n",
       ":2:5: field 'duration_s': -2 is out of range [-1, inf]"},
      {h + "a,0,1.5,1,1,vc,0\n", ":2:5: field 'duration_s': expected an integer, got \"1.5\""},
      {"# reference_sku: Z9\n" + h + "a,0,10,1,1,vc,0\n", ":1:1: unknown reference SKU 'Z9'"},
  };
  for (const Case& c : cases) {
    const std::string path = WriteTemp("bad.csv", c.text);
    Result<Trace> t = ReadCanonicalJobs(path);
    ASSERT_FALSE(t.ok()) << c.text;
    EXPECT_EQ(t.status().message(), path + c.error) << c.text;
  }
}

TEST(TraceFormat, DispatchAndNames) {
  for (std::string_view name : {"philly", "openb", "pai", "helios", "swf", "canonical"}) {
    Result<TraceFormat> f = ParseTraceFormat(name);
    ASSERT_TRUE(f.ok()) << name;
    EXPECT_EQ(TraceFormatName(*f), name);
  }
  EXPECT_FALSE(ParseTraceFormat("json").ok());
  Result<Trace> t = ReadTrace(TraceFormat::kPai, {DataPath("pai/pai_job_table.sample.csv")});
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().message(), "pai trace: expected 2 file(s), got 1");
  t = ReadTrace(TraceFormat::kSwf, {DataPath("swf/sample.swf")});
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->jobs.size(), 4u);
}

}  // namespace
}  // namespace apiary::traces
