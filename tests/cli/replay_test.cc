// `apiary replay` end to end (in-process): output discipline, bad lines,
// determinism, restart, and the bundled example against its golden output.
#include "replay.h"

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace apiary::cli {
namespace {

const std::string kSource = APIARY_SOURCE_DIR;
const std::string kConfig = kSource + "/examples/configs/hived-basic.yaml";

std::string RunScript(const std::string& config, const std::string& script) {
  auto r = Replayer::Create(config);
  EXPECT_TRUE(r.ok()) << r.status().message();
  if (!r.ok()) return "";
  std::istringstream in(script);
  std::ostringstream out;
  (*r)->Run(in, out);
  return out.str();
}

std::vector<nlohmann::json> Lines(const std::string& text) {
  std::vector<nlohmann::json> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) out.push_back(nlohmann::json::parse(line));
  return out;
}

std::string Pod(const std::string& name, const std::string& spec) {
  nlohmann::json p = {{"name", name},
                      {"namespace", "t"},
                      {"annotations",
                       {{"hivedscheduler.microsoft.com/pod-scheduling-spec", spec}}}};
  return p.dump();
}

TEST(ReplayTest, OneResultPerEventAndBlankAndCommentLinesSkipped) {
  std::string script =
      "\n# a comment\n"
      R"({"op":"schedule","pod":)" + Pod("a", "{virtualCluster: prod, leafCellNumber: 1}") +
      ",\"commit\":true}\n"
      "   \n"
      R"({"op":"inspect","what":"groups"})" "\n";
  auto lines = Lines(RunScript(kConfig, script));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["op"], "schedule");
  EXPECT_EQ(lines[0]["pod"], "t/a");
  EXPECT_EQ(lines[0]["result"], "bind");
  EXPECT_EQ(lines[1]["value"]["items"][0]["metadata"]["name"], "t/a");
  EXPECT_EQ(lines[1]["value"]["items"][0]["status"]["allocatedPods"][0], "t/a");
}

TEST(ReplayTest, MalformedLinesGetErrorsAndReplayGoesOn) {
  std::string script =
      "not json\n"
      "[1,2]\n"
      R"({"op":"fly"})" "\n"
      R"({"op":"schedule"})" "\n"
      R"({"op":"schedule","pod":{"name":"x","annotations":{"hivedscheduler.microsoft.com/pod-scheduling-spec":"{virtualCluster: prod, priority: -5, leafCellNumber: 1}"}}})" "\n"
      R"({"op":"schedule","pod":)" + Pod("b", "{virtualCluster: prod, leafCellNumber: 1}") +
      ",\"phase\":\"sideways\"}\n"
      R"({"op":"node","node":"no-such-node","healthy":false})" "\n"
      R"({"op":"delete","pod":"t/ghost"})" "\n"
      R"({"op":"inspect","what":"vc","name":"nope"})" "\n"
      R"({"op":"restart","config":"/nonexistent.yaml"})" "\n"
      R"({"op":"schedule","pod":)" + Pod("c", "{virtualCluster: prod, leafCellNumber: 1}") + "}\n";
  auto lines = Lines(RunScript(kConfig, script));
  ASSERT_EQ(lines.size(), 11u);
  for (size_t i = 0; i < 10; ++i) {
    EXPECT_EQ(lines[i]["result"], "error") << lines[i].dump();
    EXPECT_EQ(lines[i]["code"], 400) << lines[i].dump();
    EXPECT_FALSE(lines[i]["message"].get<std::string>().empty());
  }
  EXPECT_NE(lines[0]["message"].get<std::string>().find("line 1"), std::string::npos);
  EXPECT_NE(lines[4]["message"].get<std::string>().find("Priority is less than -1"),
            std::string::npos);
  EXPECT_NE(lines[5]["message"].get<std::string>().find("phase"), std::string::npos);
  EXPECT_NE(lines[6]["message"].get<std::string>().find("no-such-node"), std::string::npos);
  EXPECT_NE(lines[7]["message"].get<std::string>().find("t/ghost"), std::string::npos);
  // HiveD's message, then the VCs there are (no name is near "nope").
  EXPECT_EQ(lines[8]["message"], "VC nope not found (known VCs: default, prod, research)");
  // The state is unchanged: the last pod still gets the first free GPU.
  EXPECT_EQ(lines[10]["result"], "bind");
  EXPECT_EQ(lines[10]["node"], "dgx-01");
  EXPECT_EQ(lines[10]["leafCells"], nlohmann::json::array({0}));
}

TEST(ReplayTest, RestartRecoversAllocatedPodsWithIdenticalInspectOutput) {
  std::string script;
  for (int i = 0; i < 3; ++i)
    script += R"({"op":"schedule","pod":)" +
              Pod("p" + std::to_string(i), "{virtualCluster: prod, priority: 3, leafCellNumber: 2}") +
              ",\"commit\":true}\n";
  script += R"({"op":"inspect","what":"physical"})" "\n";
  script += R"({"op":"inspect","what":"groups"})" "\n";
  script += R"({"op":"restart","config":null})" "\n";
  script += R"({"op":"inspect","what":"physical"})" "\n";
  script += R"({"op":"inspect","what":"groups"})" "\n";
  auto lines = Lines(RunScript(kConfig, script));
  ASSERT_EQ(lines.size(), 8u);
  EXPECT_EQ(lines[5]["result"], "ok");
  EXPECT_EQ(lines[5]["recovered"], 3);
  EXPECT_EQ(lines[3]["value"], lines[6]["value"]);
  EXPECT_EQ(lines[4]["value"], lines[7]["value"]);
}

// HiveD re-derives virtual cells at recovery and would map the surviving
// pod's node onto the VC's first free cell (prod/0); Apiary keeps prod/1.
TEST(ReplayTest, RestartKeepsEachGroupsVirtualCells) {
  std::string script;
  for (int i = 0; i < 2; ++i)
    script += R"({"op":"schedule","pod":)" +
              Pod("n" + std::to_string(i), "{virtualCluster: prod, priority: 3, leafCellNumber: 8}") +
              ",\"commit\":true}\n";
  script += R"({"op":"delete","pod":"t/n0"})" "\n";
  script += R"({"op":"inspect","what":"vc","name":"prod"})" "\n";
  script += R"({"op":"inspect","what":"groups"})" "\n";
  script += R"({"op":"restart","config":null})" "\n";
  script += R"({"op":"inspect","what":"vc","name":"prod"})" "\n";
  script += R"({"op":"inspect","what":"groups"})" "\n";
  auto lines = Lines(RunScript(kConfig, script));
  ASSERT_EQ(lines.size(), 8u);
  EXPECT_EQ(lines[1]["result"], "bind");
  const auto& placement = lines[4]["value"]["items"][0]["status"]["virtualPlacement"];
  ASSERT_TRUE(placement.contains("prod/1")) << placement.dump();
  EXPECT_EQ(lines[5]["recovered"], 1);
  EXPECT_EQ(lines[3]["value"], lines[6]["value"]);
  EXPECT_EQ(lines[4]["value"], lines[7]["value"]);
}

TEST(ReplayTest, AllocatedEventReadsVirtualLeafCellsAndRejectsBadOnes) {
  // The decision for a pod, then that pod reported bound with the extender's
  // annotations: a malformed virtual-leaf-cells value is an error naming it,
  // and the state stays as it was.
  std::string schedule = R"({"op":"schedule","pod":)" +
                         Pod("a", "{virtualCluster: prod, priority: 3, leafCellNumber: 1}") + "}\n";
  auto first = Lines(RunScript(kConfig, schedule));
  ASSERT_EQ(first[0]["result"], "bind");
  auto pod = [&](const std::string& cells) {
    nlohmann::json p = {{"name", "a"},
                        {"namespace", "t"},
                        {"annotations",
                         {{"hivedscheduler.microsoft.com/pod-scheduling-spec",
                           "{virtualCluster: prod, priority: 3, leafCellNumber: 1}"},
                          {"hivedscheduler.microsoft.com/pod-bind-info", first[0]["bindInfo"]},
                          {"apiary.io/virtual-leaf-cells", cells}}}};
    return R"({"op":"allocated","pod":)" + p.dump() + "}\n";
  };
  std::string script = pod("[\"prod/0/0/0\", \"extra\"]") +
                       R"({"op":"inspect","what":"groups"})" "\n" + pod("[\"prod/1/1/5\"]") +
                       R"({"op":"inspect","what":"groups"})" "\n";
  auto lines = Lines(RunScript(kConfig, script));
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0]["result"], "error");
  EXPECT_NE(lines[0]["message"].get<std::string>().find("apiary.io/virtual-leaf-cells"),
            std::string::npos)
      << lines[0].dump();
  EXPECT_TRUE(lines[1]["value"]["items"].empty());
  EXPECT_EQ(lines[2]["result"], "ok") << lines[2].dump();
  EXPECT_EQ(lines[3]["value"]["items"][0]["status"]["virtualPlacement"],
            nlohmann::json::parse(R"({"prod/1":["prod/1/1/5"]})"));
}

TEST(ReplayTest, SameInputGivesByteIdenticalOutput) {
  std::ifstream in(kSource + "/examples/replay/basic-events.jsonl");
  std::stringstream script;
  script << in.rdbuf();
  std::string a = RunScript(kConfig, script.str());
  std::string b = RunScript(kConfig, script.str());
  EXPECT_FALSE(a.empty());
  EXPECT_EQ(a, b);
}

TEST(ReplayTest, BundledExampleMatchesGoldenOutput) {
  std::ifstream in(kSource + "/examples/replay/basic-events.jsonl");
  std::stringstream script;
  script << in.rdbuf();
  std::string got = RunScript(kConfig, script.str());
  std::ifstream golden_in(kSource + "/tests/data/basic-events.golden.jsonl");
  ASSERT_TRUE(golden_in) << "missing golden file";
  std::stringstream golden;
  golden << golden_in.rdbuf();
  // Regenerate deliberately with:
  //   build/cli/apiary replay --config examples/configs/hived-basic.yaml
  //     examples/replay/basic-events.jsonl > tests/data/basic-events.golden.jsonl
  EXPECT_EQ(got, golden.str());
}

// Issue #12's reproduction: the search picks a later virtual cell than the
// first free one for p5 (the persisted node order steers it), but a fresh
// commit re-derives the virtual cells from the physical leaves as HiveD does
// (hived.md 7.1 step 2): p5 on n1 is bound to vc1/0/0, the rack holding n1
// and n2 becomes vc1's first cell, and p6 goes to n2. Keeping the search's
// vc1/0/1 (Apiary before the fix) sent p6 to n3.
TEST(ReplayTest, FreshCommitRederivesVirtualCellsAsHived) {
  const std::string spec = "{virtualCluster: vc1, priority: 0, leafCellNumber: 2}";
  auto schedule = [&](const std::string& name, bool commit) {
    return R"({"op":"schedule","pod":)" + Pod(name, spec) +
           (commit ? R"(,"commit":true})" : R"(,"phase":"filtering"})") + "\n";
  };
  auto del = [](const std::string& name) {
    return R"({"op":"delete","pod":"t/)" + name + "\"}\n";
  };
  std::string script = schedule("p1", true) + schedule("p2", true) + schedule("p3", true) +
                       schedule("p4", true) + del("p1") + schedule("s1", false) + del("p3") +
                       schedule("s2", false) + del("p2") + schedule("p5", true) +
                       R"({"op":"inspect","what":"group","name":"t/p5"})" "\n" +
                       schedule("p6", true);
  auto lines = Lines(RunScript(kSource + "/tests/data/hived-commit-rederive.yaml", script));
  ASSERT_EQ(lines.size(), 12u);
  EXPECT_EQ(lines[0]["node"], "n1");
  EXPECT_EQ(lines[1]["node"], "n2");
  EXPECT_EQ(lines[2]["node"], "n3");
  EXPECT_EQ(lines[3]["node"], "n4");
  EXPECT_EQ(lines[9]["result"], "bind") << lines[9].dump();
  EXPECT_EQ(lines[9]["node"], "n1");
  const auto& p5 = lines[10]["value"]["status"];
  ASSERT_TRUE(p5.contains("virtualPlacement")) << lines[10].dump();
  for (const auto& [cell, leaves] : p5["virtualPlacement"].items())
    for (const auto& leaf : leaves)
      EXPECT_EQ(leaf.get<std::string>().rfind("vc1/0/0/", 0), 0u) << lines[10].dump();
  EXPECT_EQ(lines[11]["result"], "bind") << lines[11].dump();
  EXPECT_EQ(lines[11]["node"], "n2");
}

TEST(ReplayTest, BadConfigIsAnErrorNamingTheField) {
  std::string path = testing::TempDir() + "/bad.yaml";
  std::ofstream(path) << "physicalCluster:\n  cellTypes:\n    NODE: {childCellType: GPU, "
                         "childCellNumber: four, isNodeLevel: true}\n";
  auto r = Replayer::Create(path);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("childCellNumber"), std::string::npos)
      << r.status().message();
}

}  // namespace
}  // namespace apiary::cli

namespace apiary::cli {
namespace {

// hived.md 9: a VC shrunk by a reconfiguration keeps every running group; the
// groups that no longer fit its quota are lazily preempted (here the one
// committed last, recovered after the other took the VC's only node), never
// dropped, and their leaves are untouched.
TEST(ReplayTest, ShrinkingAVcLazilyPreemptsTheGroupThatNoLongerFits) {
  std::string script;
  for (int i = 0; i < 2; ++i)
    script += R"({"op":"schedule","pod":)" +
              Pod("big" + std::to_string(i), "{virtualCluster: prod, priority: 10, leafCellNumber: 8}") +
              ",\"commit\":true}\n";
  script += R"({"op":"inspect","what":"groups"})" "\n";
  script += R"({"op":"restart","config":")" + kSource +
            R"(/tests/data/hived-basic-prod-shrunk.yaml"})" "\n";
  script += R"({"op":"inspect","what":"groups"})" "\n";
  auto lines = Lines(RunScript(kConfig, script));
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[0]["node"], "dgx-01");
  EXPECT_EQ(lines[1]["node"], "dgx-03");
  EXPECT_EQ(lines[3]["result"], "ok");
  EXPECT_EQ(lines[3]["recovered"], 2);
  const auto& before = lines[2]["value"]["items"];
  const auto& after = lines[4]["value"]["items"];
  ASSERT_EQ(after.size(), 2u);
  for (size_t i = 0; i < 2; ++i)
    EXPECT_EQ(after[i]["status"]["physicalPlacement"], before[i]["status"]["physicalPlacement"]);
  EXPECT_EQ(after[0]["metadata"]["name"], "t/big0");
  EXPECT_FALSE(after[0]["status"].contains("lazyPreemptionStatus"));
  EXPECT_TRUE(after[0]["status"].contains("virtualPlacement"));
  EXPECT_EQ(after[1]["metadata"]["name"], "t/big1");
  ASSERT_TRUE(after[1]["status"].contains("lazyPreemptionStatus")) << after.dump();
  EXPECT_EQ(after[1]["status"]["lazyPreemptionStatus"]["preemptor"], "t/big1");
  EXPECT_EQ(after[1]["status"]["lazyPreemptionStatus"]["preemptionTime"], "1970-01-01T00:00:04Z");
  EXPECT_FALSE(after[1]["status"].contains("virtualPlacement"));
}

}  // namespace
}  // namespace apiary::cli

namespace apiary::cli {
namespace {

// The input-strictness rules of docs/replay.md ("Bad lines"): a line is run
// only when all of it is one JSON object.
TEST(ReplayStrictnessTest, BytesAfterTheJsonValueMakeTheLineAnErrorThatIsNotExecuted) {
  std::string script =
      R"({"op":"schedule","pod":)" + Pod("a", "{virtualCluster: prod, leafCellNumber: 1}") +
      ",\"commit\":true}\n";
  script += std::string(R"({"op":"delete","pod":"t/a"})") + '\0' + "garbage\n";
  script += R"({"op":"delete","pod":"t/a"} {"op":"delete","pod":"t/a"})" "\n";
  script += R"({"op":"delete","pod":"t/a"}xyz)" "\n";
  script += R"({"op":"inspect","what":"groups"})" "\n";
  auto lines = Lines(RunScript(kConfig, script));
  ASSERT_EQ(lines.size(), 5u);
  for (size_t i = 1; i <= 3; ++i) {
    EXPECT_EQ(lines[i]["result"], "error") << lines[i].dump();
    EXPECT_EQ(lines[i]["op"], "delete") << lines[i].dump();
    EXPECT_NE(lines[i]["message"].get<std::string>().find("not executed"), std::string::npos);
  }
  EXPECT_NE(lines[1]["message"].get<std::string>().find("NUL byte at byte offset 27"),
            std::string::npos)
      << lines[1].dump();
  // The pod was never deleted.
  ASSERT_EQ(lines[4]["value"]["items"].size(), 1u) << lines[4].dump();
  EXPECT_EQ(lines[4]["value"]["items"][0]["metadata"]["name"], "t/a");
}

TEST(ReplayStrictnessTest, ANumberOutOfRangeNamesTheFieldAndEchoesTheOp) {
  std::string script =
      R"({"op":"node","node":"dgx-01","healthy":false,"extra":{"weight":1e999}})" "\n"
      R"({"op":"inspect","what":"physical"})" "\n";
  auto lines = Lines(RunScript(kConfig, script));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["op"], "node");
  EXPECT_EQ(lines[0]["result"], "error");
  EXPECT_NE(lines[0]["message"].get<std::string>().find("extra.weight: number out of range"),
            std::string::npos)
      << lines[0].dump();
  // Not executed: every node is still healthy.
  EXPECT_EQ(lines[1]["value"].dump().find("\"Bad\""), std::string::npos);

  // A number out of the range of a spec field: named, op and pod echoed.
  lines = Lines(RunScript(kConfig, R"({"op":"schedule","pod":)" +
                                       Pod("a", "{virtualCluster: prod, leafCellNumber: 3000000000}") +
                                       "}\n"));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["op"], "schedule");
  EXPECT_EQ(lines[0]["pod"], "t/a");
  EXPECT_NE(lines[0]["message"].get<std::string>().find("leafCellNumber"), std::string::npos)
      << lines[0].dump();
}

TEST(ReplayStrictnessTest, InvalidUtf8IsAnErrorWithTheByteOffset) {
  auto lines = Lines(RunScript(kConfig, "{\"op\":\"node\",\"node\":\"dgx-\xff" "01\",\"healthy\":false}\n"));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["op"], "node");
  EXPECT_EQ(lines[0]["result"], "error");
  EXPECT_NE(lines[0]["message"].get<std::string>().find("not valid UTF-8: byte 0xFF at byte offset 25"),
            std::string::npos)
      << lines[0].dump();
}

TEST(ReplayStrictnessTest, UnknownKeysAreWarnedWithTheNearestKnownKey) {
  std::string script = R"({"op":"schedule","pod":)" +
                       Pod("a", "{virtualCluster: prod, leafCellNumber: 1, lazyPreemptionEnabled: true}") +
                       ",\"comit\":true}\n"
                       R"({"op":"inspect","what":"groups"})" "\n";
  auto lines = Lines(RunScript(kConfig, script));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["result"], "bind");
  ASSERT_TRUE(lines[0].contains("warnings")) << lines[0].dump();
  ASSERT_EQ(lines[0]["warnings"].size(), 2u) << lines[0].dump();
  EXPECT_EQ(lines[0]["warnings"][0], "unknown key \"comit\" is ignored (did you mean commit?)");
  EXPECT_NE(lines[0]["warnings"][1].get<std::string>().find(
                "lazyPreemptionEnabled is ignored (did you mean lazyPreemptionEnable?)"),
            std::string::npos)
      << lines[0].dump();
  // "comit" is not "commit": nothing was recorded.
  EXPECT_TRUE(lines[1]["value"]["items"].empty()) << lines[1].dump();
  EXPECT_FALSE(lines[1].contains("warnings"));
}

TEST(ReplayStrictnessTest, AMisspeltKeyOfAShortFormPodIsWarned) {
  auto lines = Lines(RunScript(
      kConfig, R"({"op":"schedule","pod":{"name":"a","namespace":"t","annotation":{"hivedscheduler.microsoft.com/pod-scheduling-spec":"{virtualCluster: prod, leafCellNumber: 1}"}}})" "\n"));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["result"], "error");  // no spec annotation: that is what the key was for
  ASSERT_TRUE(lines[0].contains("warnings")) << lines[0].dump();
  EXPECT_EQ(lines[0]["warnings"][0],
            "pod: unknown key \"annotation\" is ignored (did you mean annotations?)");
}

TEST(ReplayStrictnessTest, AMisspeltSpecKeyIsNamedInTheError) {
  auto lines = Lines(RunScript(
      kConfig, R"({"op":"schedule","pod":)" + Pod("a", "{virtualCluster: prod, leafCelNumber: 2}") + "}\n"));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["result"], "error");
  const std::string message = lines[0]["message"];
  EXPECT_NE(message.find("LeafCellNumber is non-positive"), std::string::npos) << message;
  EXPECT_NE(message.find("unknown key leafCelNumber is ignored (did you mean leafCellNumber?)"),
            std::string::npos)
      << message;
}

TEST(ReplayStrictnessTest, AnUnknownVcListsTheKnownOnesAndTheNearest) {
  auto lines = Lines(RunScript(
      kConfig, R"({"op":"schedule","pod":)" + Pod("a", "{virtualCluster: prdo, leafCellNumber: 1}") + "}\n"));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["result"], "error");
  EXPECT_NE(lines[0]["message"].get<std::string>().find(
                "(did you mean prod?; known VCs: default, prod, research)"),
            std::string::npos)
      << lines[0].dump();
}

TEST(ReplayStrictnessTest, LineNumbersCountEveryInputLine) {
  auto r = Replayer::Create(kConfig, /*line_numbers=*/true);
  ASSERT_TRUE(r.ok());
  std::istringstream in("# comment\n\n" R"({"op":"inspect","what":"groups"})" "\nnot json\n");
  std::ostringstream out;
  (*r)->Run(in, out);
  auto lines = Lines(out.str());
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["line"], 3);
  EXPECT_EQ(lines[1]["line"], 4);
  // "line" follows "op", the rest of the result keeps its order.
  EXPECT_EQ(out.str().rfind(R"({"op":"inspect","line":3,"result":"ok")", 0), 0u) << out.str();
}

}  // namespace
}  // namespace apiary::cli

namespace apiary::cli {
namespace {

// `apiary validate`: warnings say "warning:", also next to errors; --strict
// turns them into a failure (a misspelt top-level key leaves 0 VCs).
TEST(ValidateTest, StrictRejectsWarningsAndHintsShowNextToErrors) {
  std::ifstream in(kConfig);
  std::stringstream text;
  text << in.rdbuf();
  std::string misspelt = text.str();
  misspelt.replace(misspelt.find("\nvirtualClusters:"), 17, "\nvirtualCluster:");
  std::string path = testing::TempDir() + "/misspelt.yaml";
  std::ofstream(path) << misspelt;
  std::ostringstream out, err;
  EXPECT_EQ(RunValidate(path, /*strict=*/false, out, err), 0) << err.str();
  EXPECT_NE(err.str().find("warning: " + path +
                           ": virtualCluster: unknown key virtualCluster is ignored (did you "
                           "mean virtualClusters?)"),
            std::string::npos)
      << err.str();
  std::ostringstream out2, err2;
  EXPECT_EQ(RunValidate(path, /*strict=*/true, out2, err2), 2);
  EXPECT_TRUE(out2.str().empty()) << out2.str();
  EXPECT_NE(err2.str().find(path + ": rejected by --strict: 3 warnings"), std::string::npos)
      << err2.str();
  // The bundled example has no warning: --strict accepts it.
  std::ostringstream out3, err3;
  EXPECT_EQ(RunValidate(kConfig, /*strict=*/true, out3, err3), 0) << err3.str();

  // With an error elsewhere the hint is still shown.
  std::string broken = text.str();
  broken.replace(broken.find("      childCellNumber: 4\n    V100-NODE"), 22, "      childCellNumbr: 4");
  std::ofstream(path) << broken;
  std::ostringstream out4, err4;
  EXPECT_EQ(RunValidate(path, false, out4, err4), 2);
  EXPECT_NE(err4.str().find("childCellNumber must be at least 1, got 0"), std::string::npos)
      << err4.str();
  EXPECT_NE(err4.str().find("warning: " + path + ": physicalCluster.cellTypes.V100-SWITCH."
                            "childCellNumbr: unknown key childCellNumbr is ignored (did you mean "
                            "childCellNumber?)"),
            std::string::npos)
      << err4.str();
}

// Single leaves of a VC that also has bigger cells run 1-GPU pods only.
TEST(ValidateTest, SingleLeafCellsOfAVcWithBiggerCellsAreFlagged) {
  std::ifstream in(kConfig);
  std::stringstream text;
  text << in.rdbuf();
  std::string leaves = text.str();
  const std::string research = "    - cellType: V100-RACK.V100-NODE.V100-SWITCH\n      cellNumber: 2\n";
  ASSERT_NE(leaves.find(research), std::string::npos);
  leaves.replace(leaves.find(research), research.size(),
                 "    - cellType: V100-RACK.V100-NODE.V100-SWITCH\n      cellNumber: 1\n"
                 "    - cellType: V100-RACK.V100-NODE.V100-SWITCH.V100\n      cellNumber: 4\n");
  std::string path = testing::TempDir() + "/leaves.yaml";
  std::ofstream(path) << leaves;
  std::ostringstream out, err;
  EXPECT_EQ(RunValidate(path, false, out, err), 0) << err.str();
  EXPECT_NE(err.str().find("warning: " + path + ": virtualClusters.research.virtualCells[1].cellType: "
                           "4 single leaf cells (V100-RACK.V100-NODE.V100-SWITCH.V100): 1-GPU pods "
                           "only"),
            std::string::npos)
      << err.str();
  std::ostringstream out2, err2;
  EXPECT_EQ(RunValidate(kConfig, false, out2, err2), 0);
  EXPECT_EQ(err2.str().find("single leaf"), std::string::npos) << err2.str();
}

}  // namespace
}  // namespace apiary::cli
