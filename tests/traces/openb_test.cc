#include <gtest/gtest.h>

#include "apiary/traces/readers.h"
#include "test_util.h"

namespace apiary::traces {
namespace {

using testing::DataPath;
using testing::WriteTemp;

constexpr char kHeader[] =
    "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,"
    "deletion_time,scheduled_time\n";

const Job* FindJob(const Trace& t, const std::string& id) {
  for (const Job& j : t.jobs) {
    if (j.id == id) return &j;
  }
  return nullptr;
}

TEST(Openb, DefaultSampleRoundsUpFractionalPods) {
  Result<Trace> t = ReadOpenbPods(DataPath("openb/openb_pod_list_default.head500.csv"));
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->stats.rows, 500);
  EXPECT_EQ(t->stats.skipped, 0);
  EXPECT_EQ(t->stats.dropped.at("cpu_only"), 39);
  EXPECT_EQ(t->stats.adjusted.at("fractional_gpu_rounded_up"), 178);
  EXPECT_EQ(t->stats.adjusted.at("unscheduled_lifetime_as_duration"), 35);
  EXPECT_EQ(t->jobs.size(), 461u);
  EXPECT_EQ(t->reference_sku, "");
  EXPECT_EQ(t->time_origin_s, 0);

  // openb-pod-0000,12000,16384,1,1000,,LS,Running,0,12537496,0
  const Job& j0 = t->jobs.front();
  EXPECT_EQ(j0.id, "openb-pod-0000");
  EXPECT_EQ(j0.submit_time_s, 0);
  EXPECT_EQ(j0.duration_s, 12537496);
  EXPECT_EQ(j0.num_pods, 1);
  EXPECT_EQ(j0.gpus_per_pod, 1);
  EXPECT_EQ(j0.priority, 1);  // LS
  EXPECT_EQ(j0.vc, "default");
  EXPECT_EQ(j0.gpu_model, "");

  // openb-pod-0001,6000,12288,1,460,,LS,Running,427061,12902960,427061
  const Job* j1 = FindJob(*t, "openb-pod-0001");
  ASSERT_NE(j1, nullptr);
  EXPECT_EQ(j1->gpus_per_pod, 1);
  EXPECT_EQ(j1->submit_time_s, 427061);
  EXPECT_EQ(j1->duration_s, 12902960 - 427061);

  // openb-pod-0017,88000,327680,8,1000,,Burstable,Succeeded,9437497,10769854,9437497
  const Job* j17 = FindJob(*t, "openb-pod-0017");
  ASSERT_NE(j17, nullptr);
  EXPECT_EQ(j17->gpus_per_pod, 8);
  EXPECT_EQ(j17->priority, 0);
  EXPECT_EQ(j17->duration_s, 10769854 - 9437497);

  // openb-pod-0061,11908,47104,1,1000,,BE,Pending,10001278,10001403,
  const Job* j61 = FindJob(*t, "openb-pod-0061");
  ASSERT_NE(j61, nullptr);
  EXPECT_EQ(j61->priority, -1);
  EXPECT_EQ(j61->duration_s, 125);
}

TEST(Openb, SkipPolicyDropsFractionalPods) {
  ReadOptions o;
  o.gpu_share = GpuSharePolicy::kSkip;
  Result<Trace> t = ReadOpenbPods(DataPath("openb/openb_pod_list_default.head500.csv"), o);
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->stats.dropped.at("fractional_gpu"), 178);
  EXPECT_EQ(t->stats.adjusted.count("fractional_gpu_rounded_up"), 0u);
  EXPECT_EQ(t->jobs.size(), 500u - 39u - 178u);
  EXPECT_EQ(FindJob(*t, "openb-pod-0001"), nullptr);
}

TEST(Openb, KeepCpuOnlyPods) {
  ReadOptions o;
  o.keep_cpu_only_jobs = true;
  Result<Trace> t = ReadOpenbPods(DataPath("openb/openb_pod_list_default.head500.csv"), o);
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->jobs.size(), 500u);
}

TEST(Openb, GpuSpecIsCanonicalised) {
  Result<Trace> t = ReadOpenbPods(DataPath("openb/openb_pod_list_gpuspec33.head200.csv"));
  ASSERT_TRUE(t.ok()) << t.status().message();
  // openb-pod-0009,...,V100M16|V100M32,LS,Running,4975773,12902960,4975773
  const Job* j = FindJob(*t, "openb-pod-0009");
  ASSERT_NE(j, nullptr);
  EXPECT_EQ(j->gpu_model, "V100|V100-32GB");
  EXPECT_EQ(t->stats.rows, 200);
}

TEST(Openb, FiveColumnVariantKeepsFileOrder) {
  Result<Trace> t = ReadOpenbPods(DataPath("openb/openb_pod_list_multigpu50.head100.csv"));
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->stats.rows, 100);
  EXPECT_EQ(t->stats.dropped.at("cpu_only"), 6);
  ASSERT_EQ(t->jobs.size(), 94u);
  EXPECT_EQ(t->jobs[0].id, "openb-pod-0000");
  EXPECT_EQ(t->jobs[0].submit_time_s, 0);
  EXPECT_EQ(t->jobs[0].duration_s, kUnknownDuration);
  EXPECT_EQ(t->jobs[0].priority, 0);
  const Job* j17 = FindJob(*t, "openb-pod-0017");
  ASSERT_NE(j17, nullptr);
  EXPECT_EQ(j17->submit_time_s, 17);
  EXPECT_EQ(j17->gpus_per_pod, 8);
}

TEST(Openb, MalformedRows) {
  struct Case {
    std::string row;
    std::string error;
  };
  const Case cases[] = {
      {"p1,1000,1024,1,1500,,LS,Running,0,10,0",
       ":2:16: field 'gpu_milli': 1500 is out of range [0, 1000]"},
      {"p1,1000,1024,1,1000,,XX,Running,0,10,0",
       ":2:22: field 'qos': unknown class \"XX\" (expected LS, BE, Burstable or Guaranteed)"},
      {"p1,1000,1024,1,1000,,LS,Running,20,10,20",
       ":2:36: field 'deletion_time': before scheduled_time"},
      {"p1,1000,1024,1,1000,,LS,Running,20,30,10",
       ":2:39: field 'scheduled_time': before creation_time"},
      {"p1,1000,1024,two,1000,,LS,Running,0,10,0",
       ":2:14: field 'num_gpu': expected a whole number, got \"two\""},
      {"p1,1000,1024,1,1000,,LS,Running,0,10",
       ":2:37: expected 11 fields, got 10"},
  };
  for (const Case& c : cases) {
    std::string path = WriteTemp("bad.csv", std::string(kHeader) + c.row + "\n");
    Result<Trace> t = ReadOpenbPods(path);
    ASSERT_FALSE(t.ok()) << c.row;
    EXPECT_EQ(t.status().message(), path + c.error) << c.row;
  }
}

TEST(Openb, SkipBadRows) {
  std::string path = WriteTemp("bad.csv", std::string(kHeader) +
                                              "p0,1000,1024,1,1000,,LS,Running,5,15,5\n"
                                              "p1,1000,1024,1,1500,,LS,Running,0,10,0\n"
                                              "p2,1000,1024,2,1000,T4,BE,Running,7,9,8\n");
  ReadOptions o;
  o.skip_bad_rows = true;
  Result<Trace> t = ReadOpenbPods(path, o);
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->stats.skipped, 1);
  ASSERT_EQ(t->stats.errors.size(), 1u);
  EXPECT_EQ(t->stats.errors[0], path + ":3:16: field 'gpu_milli': 1500 is out of range [0, 1000]");
  ASSERT_EQ(t->jobs.size(), 2u);
  EXPECT_EQ(t->time_origin_s, 5);
  EXPECT_EQ(t->jobs[1].id, "p2");
  EXPECT_EQ(t->jobs[1].submit_time_s, 2);
  EXPECT_EQ(t->jobs[1].duration_s, 1);
  EXPECT_EQ(t->jobs[1].gpus_per_pod, 2);
  EXPECT_EQ(t->jobs[1].gpu_model, "T4");
}

}  // namespace
}  // namespace apiary::traces
