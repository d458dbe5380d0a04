// Explanations at the command line (issue 15): `"explain": true` in replay,
// one scenario per rule on the bundled example config, and `apiary explain`
// over a replay state and over HTTP (a stand-in extender serving the
// answer).
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "apiary/wire/explain_json.h"
#include "explain.h"
#include "replay.h"

namespace apiary::cli {
namespace {

const std::string kConfig = std::string(APIARY_SOURCE_DIR) + "/examples/configs/hived-basic.yaml";

std::string Schedule(const std::string& name, const std::string& spec, bool commit,
                     bool explain = true) {
  nlohmann::json ev = {
      {"op", "schedule"},
      {"pod",
       {{"name", name},
        {"namespace", "t"},
        {"annotations", {{"hivedscheduler.microsoft.com/pod-scheduling-spec", spec}}}}},
      {"commit", commit}};
  if (explain) ev["explain"] = true;
  return ev.dump();
}

class ExplainReplayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = Replayer::Create(kConfig);
    ASSERT_TRUE(r.ok()) << r.status().message();
    replayer_ = std::move(*r);
  }
  nlohmann::json Line(const std::string& event) {
    events_ += event + "\n";
    return nlohmann::json::parse(replayer_->HandleLine(event, ++n_));
  }
  std::unique_ptr<Replayer> replayer_;
  std::string events_;
  int64_t n_ = 0;
};

TEST_F(ExplainReplayTest, EveryRuleOnTheExampleCluster) {
  // VC default owns one K80 node: a takes it, b finds the quota used up and
  // VC research's free nodes.
  const std::string k4 = "{virtualCluster: default, priority: 0, leafCellType: K80, leafCellNumber: 4}";
  nlohmann::json a = Line(Schedule("a", k4, true));
  ASSERT_EQ(a["result"], "bind");
  EXPECT_FALSE(a.contains("explanation")) << "a bind carries no explanation";
  nlohmann::json b = Line(Schedule("b", k4, false));
  ASSERT_EQ(b["result"], "wait") << b.dump();
  const nlohmann::json& eb = b["explanation"];
  EXPECT_EQ(eb["chains"][0]["rule"], "quota-used-up");
  EXPECT_EQ(eb["chains"][0]["holders"][0]["group"], "t/a");
  EXPECT_EQ(eb["suggestion"], "fits in VC research now");
  // The same event without "explain" gives the same line without it.
  nlohmann::json plain = Line(Schedule("b", k4, false, false));
  nlohmann::json stripped = b;
  stripped.erase("explanation");
  EXPECT_EQ(plain, stripped);

  // research owns two K80 nodes: 3 + 3 GPUs take one each (they do not share
  // a node of 4), leaving 1 + 1: a 2-GPU pod has the quota, not the shape.
  const auto research = [](int n) {
    return "{virtualCluster: research, priority: 0, leafCellType: K80, leafCellNumber: " +
           std::to_string(n) + "}";
  };
  ASSERT_EQ(Line(Schedule("r1", research(3), true))["result"], "bind");
  ASSERT_EQ(Line(Schedule("r2", research(3), true))["result"], "bind");
  nlohmann::json f = Line(Schedule("r3", research(2), false));
  ASSERT_EQ(f["result"], "wait") << f.dump();
  EXPECT_EQ(f["explanation"]["chains"][0]["rule"], "fragmented");
  EXPECT_EQ(f["explanation"]["chains"][0]["cells"].size(), 2u);
  EXPECT_EQ(f["explanation"]["suggestion"], "fits as 2 pods with 1 GPU per pod");

  // An opportunistic K80 pod: 2 GPUs are free, the other 10 are held by
  // guaranteed pods.
  nlohmann::json o = Line(Schedule(
      "o", "{virtualCluster: default, priority: -1, leafCellType: K80, leafCellNumber: 4}", false));
  ASSERT_EQ(o["result"], "wait") << o.dump();
  EXPECT_EQ(o["explanation"]["chains"][0]["rule"], "held-by-guaranteed");
  EXPECT_EQ(o["explanation"]["chains"][0]["scope"], "physical cluster");
  EXPECT_EQ(o["explanation"]["chains"][0]["freeLeaves"], 2);

  // Nine GPUs per pod on 8-GPU nodes can never fit.
  nlohmann::json nine = Line(Schedule(
      "nine", "{virtualCluster: prod, priority: 1, leafCellType: V100, leafCellNumber: 9}", false));
  ASSERT_EQ(nine["result"], "wait");
  const std::string never = nine["explanation"]["neverFits"];
  EXPECT_NE(never.find("can never fit under the current configuration"), std::string::npos);
  EXPECT_NE(never.find("fits with 8 GPUs per pod"), std::string::npos) << never;
  EXPECT_EQ(nine["explanation"]["summary"], never);

  // Opportunistic pods fill the V100 nodes; a guaranteed prod pod preempts
  // one of them and says why.
  for (int i = 0; i < 4; ++i)
    Line(Schedule("opp" + std::to_string(i),
                  "{virtualCluster: research, priority: -1, leafCellType: V100, leafCellNumber: 8}",
                  true));
  nlohmann::json p = Line(Schedule(
      "prod", "{virtualCluster: prod, priority: 50, leafCellType: V100, leafCellNumber: 8}", false));
  ASSERT_EQ(p["result"], "preempt") << p.dump();
  const nlohmann::json& ep = p["explanation"];
  EXPECT_EQ(ep["outcome"], "preempt");
  ASSERT_EQ(ep["victims"].size(), 1u) << ep.dump();
  EXPECT_EQ(ep["victims"][0]["vc"], "research");
  EXPECT_EQ(ep["victims"][0]["priority"], -1);
  EXPECT_EQ(ep["victims"][0]["pods"][0], p["victims"][0]["pod"]);
  EXPECT_NE(ep["victimsRule"].get<std::string>().find("held by opportunistic pods"),
            std::string::npos);

  // `apiary explain` on the replay state agrees with the replayed answer.
  auto answer = replayer_->ExplainPod("t/b");
  ASSERT_TRUE(answer.ok()) << answer.status().message();
  EXPECT_EQ((*answer)["result"], "wait");
  EXPECT_EQ((*answer)["explanation"]["chains"][0]["rule"], "quota-used-up");
  auto bound = replayer_->ExplainPod("t/a");
  ASSERT_TRUE(bound.ok());
  EXPECT_EQ((*bound)["result"], "bind");
  EXPECT_TRUE((*bound)["explanation"].is_null());
  EXPECT_FALSE(replayer_->ExplainPod("t/nobody").ok());
}

TEST(ExplainReplayErrorsTest, ExplainMustBeABoolean) {
  auto r = Replayer::Create(kConfig);
  ASSERT_TRUE(r.ok());
  nlohmann::json ev = nlohmann::json::parse(
      Schedule("a", "{virtualCluster: default, priority: 0, leafCellNumber: 1}", false));
  ev["explain"] = "yes";
  nlohmann::json out = nlohmann::json::parse((*r)->HandleLine(ev.dump(), 1));
  EXPECT_EQ(out["result"], "error");
  EXPECT_EQ(out["message"], "explain: must be true or false");
}

// Writes the events, runs `apiary explain --config --events`, returns stdout.
std::string ExplainFromReplay(const std::string& events, const std::string& pod, bool json,
                              int* rc, std::string* err_text) {
  const std::string path = ::testing::TempDir() + "/explain-events.jsonl";
  std::ofstream(path) << events;
  ExplainOptions o;
  o.config = kConfig;
  o.events = path;
  o.pod = pod;
  o.json = json;
  std::ostringstream out, err;
  *rc = RunExplain(o, out, err);
  *err_text = err.str();
  return out.str();
}

TEST(ExplainCommandTest, ReplayStateAndExtenderGiveTheSameText) {
  const std::string k4 = "{virtualCluster: default, priority: 0, leafCellType: K80, leafCellNumber: 4}";
  const std::string events = Schedule("a", k4, true, false) + "\n" + Schedule("b", k4, false, false) + "\n";
  int rc = 0;
  std::string err;
  const std::string text = ExplainFromReplay(events, "t/b", false, &rc, &err);
  ASSERT_EQ(rc, 0) << err;
  EXPECT_EQ(text.rfind("t/b: wait\n", 0), 0u) << text;
  EXPECT_NE(text.find("chain K80-POOL (K80) in VC default: quota-used-up"), std::string::npos)
      << text;
  EXPECT_NE(text.find("suggestion: fits in VC research now"), std::string::npos) << text;
  const std::string json = ExplainFromReplay(events, "t/b", true, &rc, &err);
  ASSERT_EQ(rc, 0) << err;
  const nlohmann::json answer = nlohmann::json::parse(json);

  // A stand-in extender serving that answer on the inspect path.
  httplib::Server server;
  server.Get("/v1/inspect/explain/t/b", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(answer.dump(), "application/json");
  });
  server.Get("/v1/inspect/explain/t/nope", [&](const httplib::Request&, httplib::Response& res) {
    res.status = 404;
    res.set_content("\"pod t/nope is not known to the scheduler\"", "application/json");
  });
  const int port = server.bind_to_any_port("127.0.0.1");
  ASSERT_GT(port, 0);
  std::thread t([&] { server.listen_after_bind(); });
  while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ExplainOptions o;
  o.url = "http://127.0.0.1:" + std::to_string(port);
  o.pod = "t/b";
  std::ostringstream out, err_stream;
  EXPECT_EQ(RunExplain(o, out, err_stream), 0) << err_stream.str();
  EXPECT_EQ(out.str(), text);
  o.pod = "t/nope";
  std::ostringstream out2, err2;
  EXPECT_EQ(RunExplain(o, out2, err2), 2);
  EXPECT_NE(err2.str().find("HTTP 404: pod t/nope is not known"), std::string::npos) << err2.str();
  server.stop();
  t.join();
}

TEST(ExplainCommandTest, BadArgumentsAreErrors) {
  ExplainOptions both;
  both.url = "http://127.0.0.1:1";
  both.config = kConfig;
  both.events = "x";
  both.pod = "t/a";
  std::ostringstream out, err;
  EXPECT_EQ(RunExplain(both, out, err), 2);
  EXPECT_NE(err.str().find("either --url or --config"), std::string::npos);
  ExplainOptions none;
  none.pod = "t/a";
  EXPECT_EQ(RunExplain(none, out, err), 2);
  std::string render_error;
  RenderExplainAnswer(nlohmann::json::array(), &render_error);
  EXPECT_NE(render_error.find("\"pod\""), std::string::npos);
  nlohmann::json bad = {{"pod", "t/a"}, {"result", "wait"}, {"explanation", {{"chains", 3}}}};
  RenderExplainAnswer(bad, &render_error);
  EXPECT_EQ(render_error, "explanation.chains: must be an array");
}

}  // namespace
}  // namespace apiary::cli
