// Decision parity of a fresh commit (hived.md 7.1): committing a decision
// directly (`"commit": true`) must be exactly the same as committing it the
// way HiveD does, from the pod's bind-info annotation text alone (a
// `"commit": false` schedule followed by an `allocated` event carrying that
// text and no apiary.io/virtual-leaf-cells). HiveD rebuilds the pod to bind
// from the bind info and re-derives every virtual cell from the physical
// leaves, so any schedule-time choice the engine carried into the commit
// (a virtual cell picked by the intra-VC search, a cached placement) would
// show up here as a different result, sooner or later.
//
// Two replayers run a long seeded workload side by side on one logical
// clock: mixed 1–64-GPU gangs, priorities, opportunistic pods, preemption
// (victims deleted as Kubernetes would), deletes, node health changes,
// restarts and inspects. Every result line must be byte-identical.
#include "replay.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "parity_workload.h"

namespace apiary::cli {
namespace {

using parity::ParityConfig;
using parity::Tally;
using parity::Workload;

// The twin's events: a schedule without commit and, when it binds, an
// `allocated` event whose pod carries the returned bind-info text only.
std::string AllocatedEvent(const std::string& schedule_event, const nlohmann::json& result) {
  nlohmann::json ev = nlohmann::json::parse(schedule_event);
  nlohmann::json pod = ev["pod"];
  pod["annotations"]["hivedscheduler.microsoft.com/pod-bind-info"] = result["bindInfo"];
  return nlohmann::json{{"op", "allocated"}, {"pod", pod}}.dump();
}

std::string WithoutCommit(const std::string& schedule_event) {
  nlohmann::json ev = nlohmann::json::parse(schedule_event);
  ev["commit"] = false;
  return ev.dump();
}

TEST(CommitParityTest, DirectCommitEqualsCommitFromBindInfoText) {
#ifdef APIARY_SANITIZED
  const int64_t kEvents = 15000;
#else
  const int64_t kEvents = 110000;
#endif
  const std::string path = testing::TempDir() + "/commit-parity.yaml";
  std::ofstream(path) << ParityConfig();
  auto direct = Replayer::Create(path);
  auto by_text = Replayer::Create(path);
  ASSERT_TRUE(direct.ok()) << direct.status().message();
  ASSERT_TRUE(by_text.ok()) << by_text.status().message();

  Workload w(20261207);
  Tally t;
  // APIARY_PARITY_DUMP=DIR writes the config and the direct replayer's
  // events there, to replay a failure with `apiary replay`.
  std::ofstream dump;
  if (const char* dir = std::getenv("APIARY_PARITY_DUMP")) {
    std::ofstream(std::string(dir) + "/config.yaml") << ParityConfig();
    dump.open(std::string(dir) + "/events.jsonl");
  }
  for (int64_t n = 1; n <= kEvents; ++n) {
    bool schedule = false;
    const std::string ev = w.Next(&schedule);
    if (dump.is_open()) dump << ev << std::endl;
    const std::string a = (*direct)->HandleLine(ev, n);
    std::string b;
    if (schedule) {
      b = (*by_text)->HandleLine(WithoutCommit(ev), n);
      nlohmann::json rb = nlohmann::json::parse(b);
      if (rb.value("result", "") == "bind") {
        const std::string ok = (*by_text)->HandleLine(AllocatedEvent(ev, rb), n);
        ASSERT_EQ(nlohmann::json::parse(ok)["result"], "ok") << "event " << n << ": " << ok;
      }
    } else {
      b = (*by_text)->HandleLine(ev, n);
    }
    ASSERT_EQ(a, b) << "event " << n << ": " << ev;
    // The engine's own audit (free lists, counters, bindings, quotas, no
    // leaf given twice) holds after every event, not only in small tests.
    if (n % 4 == 0 || !schedule) {
      ASSERT_EQ((*direct)->scheduler().CheckInvariants(), "") << "event " << n << ": " << ev;
    }
    nlohmann::json ra = nlohmann::json::parse(a);
    const std::string op = ra.value("op", "");
    if (schedule) w.Observe(ra, t);
    else if (op == "delete") ++t.deletes;
    else if (op == "node") ++t.health;
    else if (op == "restart") ++t.restarts;
    else if (op == "inspect") ++t.inspects;
  }
  // The workload exercised what it claims to.
  EXPECT_GT(t.binds, kEvents / 10);
  EXPECT_GT(t.big_binds, kEvents / 1000);
  EXPECT_GT(t.preempts, kEvents / 1000);
  EXPECT_GT(t.waits, kEvents / 100);
  EXPECT_GT(t.health, kEvents / 1000);
  EXPECT_GT(t.inspects, kEvents / 1000);
  EXPECT_GT(t.restarts, 0);
  EXPECT_EQ(t.errors, 0);
  // Both end in the same state.
  EXPECT_EQ((*direct)->HandleLine(R"({"op":"inspect","what":"physical"})", kEvents + 1),
            (*by_text)->HandleLine(R"({"op":"inspect","what":"physical"})", kEvents + 1));
  RecordProperty("binds", std::to_string(t.binds));
  RecordProperty("preempts", std::to_string(t.preempts));
}

}  // namespace
}  // namespace apiary::cli
