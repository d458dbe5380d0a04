#include "apiary/traces/vc_quota.h"

#include <gtest/gtest.h>

#include <map>

#include "apiary/traces/readers.h"
#include "test_util.h"

namespace apiary::traces {
namespace {

using testing::DataPath;
using testing::WriteTemp;

TEST(VcQuota, PhillyHeliosNodeQuotas) {
  Result<VcQuotas> q = ReadVcQuotas(DataPath("philly/philly_vc_nodes_helios.csv"));
  ASSERT_TRUE(q.ok()) << q.status().message();
  ASSERT_EQ(q->vcs.size(), 11u);
  EXPECT_EQ(q->vcs[0], (VcQuota{"6214e9", 64, kQuotaNotGiven, ""}));
  EXPECT_EQ(q->vcs[10], (VcQuota{"0e4a51", 32, kQuotaNotGiven, ""}));
  int64_t nodes = 0;
  for (const VcQuota& v : q->vcs) nodes += v.nodes;
  EXPECT_EQ(nodes, 352);
}

TEST(VcQuota, CanonicalExampleAndRoundTrip) {
  Result<VcQuotas> q = ReadVcQuotas(DataPath("canonical/vc_quotas.example.csv"));
  ASSERT_TRUE(q.ok()) << q.status().message();
  ASSERT_EQ(q->vcs.size(), 3u);
  EXPECT_EQ(q->vcs[0], (VcQuota{"vc1", 1, 8, "V100"}));
  EXPECT_EQ(q->vcs[1], (VcQuota{"vc2", kQuotaNotGiven, 8, "V100"}));
  EXPECT_EQ(q->vcs[2], (VcQuota{"vc3", 1, kQuotaNotGiven, "T4"}));
  const std::string path = WriteTemp("q.csv", "");
  ASSERT_TRUE(WriteVcQuotas(*q, path).ok());
  Result<VcQuotas> back = ReadVcQuotas(path);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->vcs, q->vcs);
}

TEST(VcQuota, HeliosDailyGpuQuotas) {
  const std::string path = DataPath("helios/Venus_cluster_gpu_number.csv");
  Result<VcQuotas> q = ReadHeliosVcGpus(path, "2020-04-01");
  ASSERT_TRUE(q.ok()) << q.status().message();
  ASSERT_EQ(q->vcs.size(), 25u);
  EXPECT_EQ(q->vcs[0], (VcQuota{"vcEwI", kQuotaNotGiven, 72, ""}));
  int64_t gpus = 0;
  for (const VcQuota& v : q->vcs) gpus += v.gpus;
  EXPECT_EQ(gpus, 968);
  Result<VcQuotas> first = ReadHeliosVcGpus(path, "");
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->vcs, q->vcs);
  Result<VcQuotas> missing = ReadHeliosVcGpus(path, "2019-01-01");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(), path + ": no row for date 2019-01-01");
}

TEST(VcQuota, Errors) {
  std::string path = WriteTemp("q.csv", "vc,node num\na,4\na,5\n");
  Result<VcQuotas> q = ReadVcQuotas(path);
  ASSERT_FALSE(q.ok());
  EXPECT_EQ(q.status().message(), path + ":3:1: field 'vc': VC \"a\" listed twice");
  // One row per VC and GPU model is a quota on each SKU; the same pair twice
  // is not.
  path = WriteTemp("q.csv", "vc,gpus,gpu_model\na,8,V100\na,4,T4\n");
  q = ReadVcQuotas(path);
  ASSERT_TRUE(q.ok()) << q.status().message();
  EXPECT_EQ(q->vcs.size(), 2u);
  path = WriteTemp("q.csv", "vc,gpus,gpu_model\na,8,V100\na,4,v100\n");
  q = ReadVcQuotas(path);
  ASSERT_FALSE(q.ok());
  EXPECT_EQ(q.status().message(), path + ":3:1: field 'vc': VC \"a\" listed twice for V100");

  path = WriteTemp("q.csv", "vc,nodes\na,-4\n");
  q = ReadVcQuotas(path);
  ASSERT_FALSE(q.ok());
  EXPECT_EQ(q.status().message(), path + ":2:3: field 'nodes': -4 is out of range [0, inf]");

  path = WriteTemp("q.csv", "vc,gpu_model\na,T4\n");
  q = ReadVcQuotas(path);
  ASSERT_FALSE(q.ok());
  EXPECT_EQ(q.status().message(), path + ":1:1: missing column 'nodes' or 'gpus'");

  path = WriteTemp("g.csv", "date,vcA,vcB,total\n2020-04-01,8,8,17\n");
  q = ReadHeliosVcGpus(path, "");
  ASSERT_FALSE(q.ok());
  EXPECT_EQ(q.status().message(), path + ":2:16: field 'total': 17 != sum of VC columns 16");
}

TEST(VcQuota, DerivedFromPhillyShares) {
  Result<Trace> t = ReadPhillyJobs(DataPath("philly/philly_jobs_pollux.csv"));
  ASSERT_TRUE(t.ok());
  VcQuotas q = DeriveVcQuotas(*t, 352, 8);
  std::map<std::string, int64_t> nodes;
  int64_t total = 0;
  for (const VcQuota& v : q.vcs) {
    nodes[v.vc] = v.nodes;
    EXPECT_EQ(v.gpus, v.nodes * 8);
    total += v.nodes;
  }
  EXPECT_EQ(total, 352);
  // Largest-remainder split of GPU-seconds per VC.
  EXPECT_EQ(nodes, (std::map<std::string, int64_t>{
                       {"0e4a51", 28}, {"103959", 16}, {"11cb48", 10}, {"23dbec", 0},
                       {"2869ce", 29}, {"51b7ef", 0},  {"6214e9", 35}, {"6c71a0", 30},
                       {"795a4c", 0},  {"7f04ca", 59}, {"925e2b", 0},  {"b436b2", 45},
                       {"e13805", 5},  {"ed69ec", 3},  {"ee9e8c", 92}}));
  EXPECT_EQ(q.vcs.front().vc, "0e4a51");  // sorted by name
}

TEST(VcQuota, DerivedTiesBreakByName) {
  Trace t;
  t.jobs = {Job{"1", 0, 10, 1, 1, "b", 0, "", "", ""}, Job{"2", 0, 10, 1, 1, "a", 0, "", "", ""},
            Job{"3", 0, 10, 1, 1, "c", 0, "", "", ""}};
  VcQuotas q = DeriveVcQuotas(t, 4, 1);
  ASSERT_EQ(q.vcs.size(), 3u);
  EXPECT_EQ(q.vcs[0], (VcQuota{"a", 2, 2, ""}));
  EXPECT_EQ(q.vcs[1], (VcQuota{"b", 1, 1, ""}));
  EXPECT_EQ(q.vcs[2], (VcQuota{"c", 1, 1, ""}));
  EXPECT_TRUE(DeriveVcQuotas(Trace{}, 4, 1).vcs.empty());
}

}  // namespace
}  // namespace apiary::traces
