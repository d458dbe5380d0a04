#include <gtest/gtest.h>

#include "apiary/traces/gpu_sku.h"
#include "apiary/traces/readers.h"
#include "test_util.h"

namespace apiary::traces {
namespace {

using testing::DataPath;
using testing::WriteTemp;

const std::string kJobs = DataPath("pai/pai_job_table.sample.csv");
const std::string kTasks = DataPath("pai/pai_task_table.sample.csv");

TEST(Pai, SampleTablesAggregateIntoJobs) {
  Result<Trace> t = ReadPaiJobs(kJobs, kTasks);
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->reference_sku, "V100");
  EXPECT_EQ(t->stats.rows, 7 + 10);
  EXPECT_EQ(t->stats.dropped.at("cpu_only"), 1);
  EXPECT_EQ(t->stats.dropped.at("no_runtime"), 1);
  EXPECT_EQ(t->stats.dropped.at("task_without_job"), 1);
  EXPECT_EQ(t->stats.adjusted.at("fractional_gpu_rounded_up"), 1);
  EXPECT_EQ(t->stats.adjusted.at("heterogeneous_tasks_max_gpus"), 1);
  EXPECT_EQ(t->stats.adjusted.at("duration_normalized_to_reference"), 3);
  ASSERT_EQ(t->jobs.size(), 5u);
  EXPECT_EQ(t->time_origin_s, 900);

  // Sorted by submit: 07 (900), 01 (1000), 02 (1500), 03 (1800), 04 (2500).
  const Job& j7 = t->jobs[0];
  EXPECT_EQ(j7.id, "job-sample-07");
  EXPECT_EQ(j7.submit_time_s, 0);
  EXPECT_EQ(j7.num_pods, 3);      // chief ×1 + worker ×2
  EXPECT_EQ(j7.gpus_per_pod, 2);  // the larger per-instance request
  EXPECT_EQ(j7.gpu_model, "P100");
  EXPECT_EQ(j7.user, "user-c");
  // 6900 s observed on P100, expressed on V100.
  EXPECT_EQ(j7.duration_s, ScaleDuration(6900, *RelativeSpeed("V100", "P100")));
  EXPECT_EQ(j7.duration_s, 2407);

  const Job& j1 = t->jobs[1];
  EXPECT_EQ(j1.id, "job-sample-01");
  EXPECT_EQ(j1.submit_time_s, 100);
  EXPECT_EQ(j1.duration_s, 3600);
  EXPECT_EQ(j1.num_pods, 1);
  EXPECT_EQ(j1.gpus_per_pod, 1);
  EXPECT_EQ(j1.gpu_model, "V100");
  EXPECT_EQ(j1.vc, "default");

  const Job& j2 = t->jobs[2];
  EXPECT_EQ(j2.id, "job-sample-02");
  EXPECT_EQ(j2.num_pods, 4);
  EXPECT_EQ(j2.gpus_per_pod, 1);
  EXPECT_EQ(j2.gpu_model, "T4");
  EXPECT_EQ(j2.duration_s, 258);  // 600 s on T4

  const Job& j3 = t->jobs[3];
  EXPECT_EQ(j3.id, "job-sample-03");
  EXPECT_EQ(j3.gpus_per_pod, 1);  // plan_gpu 50 rounded up
  EXPECT_EQ(j3.gpu_model, "MISC");
  EXPECT_EQ(j3.duration_s, 540);  // undisclosed SKU: not rescaled

  const Job& j4 = t->jobs[4];
  EXPECT_EQ(j4.id, "job-sample-04");
  EXPECT_EQ(j4.num_pods, 2);
  EXPECT_EQ(j4.gpus_per_pod, 8);
  EXPECT_EQ(j4.gpu_model, "V100-32GB");
  EXPECT_EQ(j4.duration_s, 7100);  // same figures as V100
}

TEST(Pai, ObservedDurationsKeptWhenNotNormalising) {
  ReadOptions o;
  o.normalize_observed_durations = false;
  o.gpu_share = GpuSharePolicy::kSkip;
  o.rebase_time = false;
  Result<Trace> t = ReadPaiJobs(kJobs, kTasks, o);
  ASSERT_TRUE(t.ok()) << t.status().message();
  ASSERT_EQ(t->jobs.size(), 4u);
  EXPECT_EQ(t->stats.dropped.at("fractional_gpu"), 1);
  EXPECT_EQ(t->jobs[0].id, "job-sample-07");
  EXPECT_EQ(t->jobs[0].submit_time_s, 900);
  EXPECT_EQ(t->jobs[0].duration_s, 6900);
  EXPECT_EQ(t->jobs[2].duration_s, 600);
}

TEST(Pai, HeaderLinesAreAccepted) {
  std::string jobs = WriteTemp("jobs.csv",
                               "job_name,inst_id,user,status,start_time,end_time\n"
                               "j1,i1,u1,Terminated,10.0,100.0\n");
  std::string tasks = WriteTemp(
      "tasks.csv",
      "job_name,task_name,inst_num,status,start_time,end_time,plan_cpu,plan_mem,plan_gpu,"
      "gpu_type\n"
      "j1,worker,1.0,Terminated,20.0,80.0,600.0,29.3,100.0,T4\n");
  ReadOptions o;
  o.reference_sku = "T4";
  Result<Trace> t = ReadPaiJobs(jobs, tasks, o);
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->stats.rows, 2);
  ASSERT_EQ(t->jobs.size(), 1u);
  EXPECT_EQ(t->jobs[0].duration_s, 60);
  EXPECT_EQ(t->stats.adjusted.count("duration_normalized_to_reference"), 0u);
}

TEST(Pai, MalformedRows) {
  std::string jobs = WriteTemp("jobs.csv",
                               "j1,i1,u1,Terminated,10.0,100.0\n"
                               "j1,i2,u1,Terminated,11.0,100.0\n");
  std::string tasks = WriteTemp("tasks.csv", "");
  Result<Trace> t = ReadPaiJobs(jobs, tasks);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().message(), jobs + ":2:1: field 'job_name': duplicate job \"j1\"");

  jobs = WriteTemp("jobs.csv", "j1,i1,u1,Terminated,,100.0\n");
  t = ReadPaiJobs(jobs, tasks);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().message(),
            jobs + ":1:21: field 'start_time': empty (submit time required)");

  jobs = WriteTemp("jobs.csv", "j1,i1,u1,Terminated,10.0,100.0\n");
  tasks = WriteTemp("tasks.csv",
                    "j1,worker,1.0,Terminated,1010.0,4610.0,600.0,29.29,abc,V100\n"
                    "j1,worker,1.0,Terminated,1010.0,4610.0\n");
  t = ReadPaiJobs(jobs, tasks);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().message(),
            tasks + ":1:52: field 'plan_gpu': expected a number, got \"abc\"");

  ReadOptions o;
  o.skip_bad_rows = true;
  t = ReadPaiJobs(jobs, tasks, o);
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->stats.skipped, 2);
  ASSERT_EQ(t->stats.errors.size(), 2u);
  EXPECT_EQ(t->stats.errors[1], tasks + ":2:39: expected 10 fields, got 6");
  EXPECT_EQ(t->stats.dropped.at("cpu_only"), 1);  // j1 lost its only task
}

}  // namespace
}  // namespace apiary::traces
