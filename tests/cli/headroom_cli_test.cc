// Guarantee headroom in the `apiary` command: `validate --bad-nodes` (what a
// node failure does to each VC's promise) and the promises section of
// `diff` (what a layout change does to them).
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "openpai_diff.h"
#include "replay.h"

namespace apiary::cli {
using openpai::DiffConfigs;
namespace {

const std::string kConfig = std::string(APIARY_SOURCE_DIR) + "/examples/configs/hived-basic.yaml";

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool Contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// hived-basic.yaml with a fourth K80 node in the pool that no VC is given.
std::string WithFourthK80Node() {
  std::string t = Read(kConfig);
  const std::string pool = "    K80-POOL:\n      childCellType: K80-NODE\n      childCellNumber: 3\n";
  EXPECT_TRUE(Contains(t, pool));
  t.replace(t.find(pool), pool.size(),
            "    K80-POOL:\n      childCellType: K80-NODE\n      childCellNumber: 4\n");
  const std::string last = "    - cellAddress: k80-03\n";
  EXPECT_TRUE(Contains(t, last));
  t.replace(t.find(last), last.size(), last + "    - cellAddress: k80-04\n");
  return t;
}

TEST(ValidateBadNodesTest, ReportsEachPromiseAndExitsOneWhenOneIsBroken) {
  std::ostringstream out, err;
  // The K80 pool is fully assigned (research 2 nodes, default 1): with two
  // nodes gone research's second node is doomed, and default can only
  // have the last one if research does not take it first.
  EXPECT_EQ(RunValidate(kConfig, false, out, err, {"k80-01", "k80-02"}), 1) << err.str();
  const std::string o = out.str();
  EXPECT_TRUE(Contains(o, "Guarantee headroom with k80-01, k80-02 bad")) << o;
  EXPECT_TRUE(Contains(o, "  !! vc research, chain K80-POOL: K80-NODE 1/2 (1 doomed), K80 4/8: "
                          "BROKEN, 1 of 2 K80-NODE cells not placeable on healthy hardware (4 K80 "
                          "short)\n"))
      << o;
  EXPECT_TRUE(Contains(o, "  !! vc default, chain K80-POOL: K80-NODE 1/1, K80 4/4: kept alone, "
                          "AT RISK"))
      << o;
  EXPECT_TRUE(Contains(o, "  vc prod, chain V100-RACK: V100-NODE 3/3, V100-SWITCH 6/6, V100 "
                          "24/24: kept\n"))
      << o;
  EXPECT_TRUE(Contains(o, "1 VC promise broken, 1 at risk (marked !!)")) << o;
}

TEST(ValidateBadNodesTest, KeptPromisesExitZero) {
  // One K80 node of the four-node pool gone: 3 healthy nodes for 3 cells.
  std::string path = ::testing::TempDir() + "/four-k80.yaml";
  std::ofstream(path) << WithFourthK80Node();
  std::ostringstream out, err;
  EXPECT_EQ(RunValidate(path, false, out, err, {"k80-01"}), 0) << err.str() << out.str();
  EXPECT_TRUE(Contains(out.str(), "  vc research, chain K80-POOL: K80-NODE 2/2, K80 8/8: kept\n"))
      << out.str();
  EXPECT_TRUE(Contains(out.str(), "every VC's promise is kept")) << out.str();
}

TEST(ValidateBadNodesTest, AtRiskAloneExitsZero) {
  // dgx-01 gone: prod's two unbound nodes and research's switches need 3
  // of the 2 healthy unpinned nodes left -- each fits alone, not together.
  std::ostringstream out, err;
  EXPECT_EQ(RunValidate(kConfig, false, out, err, {"dgx-01"}), 0) << err.str();
  EXPECT_TRUE(Contains(out.str(), "  !! vc prod, chain V100-RACK: V100-NODE 3/3, V100-SWITCH 6/6, "
                                  "V100 24/24: kept alone, AT RISK"))
      << out.str();
  EXPECT_TRUE(Contains(out.str(), "0 VC promises broken, 2 at risk (marked !!)")) << out.str();
}

TEST(ValidateBadNodesTest, UnknownNodeIsAnErrorNamingTheOption) {
  std::ostringstream out, err;
  EXPECT_EQ(RunValidate(kConfig, false, out, err, {"k80-1"}), 2);
  EXPECT_TRUE(Contains(err.str(), "--bad-nodes: node \"k80-1\" is not in the configuration"))
      << err.str();
  EXPECT_TRUE(Contains(err.str(), "did you mean k80-01?")) << err.str();
  EXPECT_TRUE(out.str().empty()) << out.str();
}

TEST(DiffGuaranteeTest, ShowsWhatALayoutChangeDoesToEachPromise) {
  const std::string basic = Read(kConfig), bigger = WithFourthK80Node();
  // Healthy: every promise kept on both sides, nothing to report.
  auto r = DiffConfigs(basic, "old.yaml", bigger, "new.yaml", std::nullopt, "");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(Contains(r->text, "VC promises (placeable/guaranteed cells per level, on an empty "
                                "cluster):\n"))
      << r->text;
  EXPECT_TRUE(Contains(r->text, "  vc research, chain K80-POOL: K80-NODE 2/2, K80 8/8 (kept, "
                                "unchanged)\n"))
      << r->text;
  for (const auto& g : r->guarantees) EXPECT_FALSE(g.finding) << g.vc;

  // With k80-01 failed, the fourth node takes research and default out of
  // risk; the other way round puts them at risk: a finding.
  r = DiffConfigs(basic, "old.yaml", bigger, "new.yaml", std::nullopt, "", {"k80-01"});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(Contains(r->text, "with k80-01 bad):\n")) << r->text;
  EXPECT_TRUE(Contains(r->text, "  vc default, chain K80-POOL: K80-NODE 1/1, K80 4/4 (at risk) "
                                "-> K80-NODE 1/1, K80 4/4 (kept)\n"))
      << r->text;
  for (const auto& g : r->guarantees) EXPECT_FALSE(g.finding) << g.vc;

  r = DiffConfigs(bigger, "old.yaml", basic, "new.yaml", std::nullopt, "", {"k80-01"});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(Contains(r->text, "  !! vc default, chain K80-POOL: K80-NODE 1/1, K80 4/4 (kept) "
                                "-> K80-NODE 1/1, K80 4/4 (at risk)\n"))
      << r->text;
  EXPECT_TRUE(Contains(r->text, "  !! vc research, chain K80-POOL:")) << r->text;
  // The two newly at-risk promises are findings.
  int findings = 0;
  for (const auto& g : r->guarantees) findings += g.finding;
  EXPECT_EQ(findings, 2) << r->text;

  // A node in neither file is an error naming the option.
  r = DiffConfigs(basic, "old.yaml", bigger, "new.yaml", std::nullopt, "", {"k80-09"});
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(Contains(r.status().message(), "--bad-nodes: node \"k80-09\" is in neither"))
      << r.status().message();
}

}  // namespace
}  // namespace apiary::cli
