// JsonDoc and the kube-scheduler extender wire format (extender.md 2, 3).
#include <gtest/gtest.h>

#include "apiary/extender/json_doc.h"
#include "apiary/extender/wire.h"
#include "apiary/wire/inspect_json.h"

namespace apiary::extender {
namespace {

TEST(JsonDocTest, ParsesValuesAndEscapes) {
  std::string text = R"( {"a": [1, -2.5e3, true, false, null], "s": "x\u0026\u003c\u003e\n\ud83d\ude00", "o": {}} )";
  auto doc = JsonDoc::Parse(text);
  ASSERT_TRUE(doc.ok()) << doc.status().message();
  JsonRef root = doc->root();
  ASSERT_TRUE(root.IsObject());
  EXPECT_EQ(root.size(), 3u);
  JsonRef a = root.Find("a");
  ASSERT_TRUE(a.IsArray());
  EXPECT_EQ(a.size(), 5u);
  std::vector<std::string> types;
  for (JsonRef v : a) types.push_back(v.TypeName());
  EXPECT_EQ(types, (std::vector<std::string>{"number", "number", "boolean", "boolean", "null"}));
  EXPECT_EQ(root.Find("s").str(), "x&<>\n\xF0\x9F\x98\x80");
  EXPECT_TRUE(root.Find("o").IsObject());
  EXPECT_FALSE(root.Find("missing").present());
  EXPECT_TRUE(root.Find("missing").IsNull());
}

// The string scanner reads eight bytes at a time: a quote, backslash or
// control character must be found at every offset of the word, in strings
// of every length around the word size, next to bytes that sit on either
// side of each class (0x1f/0x20, 0x21/0x23, 0x5b/0x5d, 0x7f, UTF-8).
TEST(JsonDocTest, StringScanFindsSpecialBytesAtEveryOffset) {
  // Whole characters (é is two bytes), so every split point is valid UTF-8.
  const std::vector<std::string> filler = {"a", " ", "!", "#", "[", "]", "~", "\x7f", "\xc3\xa9", "Z", "0", "-"};
  for (size_t len = 0; len <= 40; ++len) {
    std::vector<std::string> chars;
    for (size_t i = 0; i < len; ++i) chars.push_back(filler[(i * 7 + len) % filler.size()]);
    std::string plain;
    for (const auto& c : chars) plain += c;
    // No special byte: the content comes back unchanged, in a document that
    // continues after the string.
    // (A JsonDoc views its input: the texts must outlive the documents.)
    const std::string text = "[\"" + plain + "\",\"x\"]";
    auto doc = JsonDoc::Parse(text);
    ASSERT_TRUE(doc.ok()) << len << ": " << doc.status().message();
    EXPECT_EQ((*doc->root().begin()).str(), plain) << len;
    for (size_t at = 0; at <= len; ++at) {
      std::string head, tail;
      for (size_t i = 0; i < len; ++i) (i < at ? head : tail) += chars[i];
      // An escaped quote and an escape sequence are decoded where they sit.
      const std::string qt = "\"" + head + "\\\"" + tail + "\"";
      auto q = JsonDoc::Parse(qt);
      ASSERT_TRUE(q.ok()) << len << "/" << at << ": " << q.status().message();
      EXPECT_EQ(q->root().str(), head + "\"" + tail) << len << "/" << at;
      const std::string nt = "\"" + head + "\\n" + tail + "\"";
      auto n = JsonDoc::Parse(nt);
      ASSERT_TRUE(n.ok()) << len << "/" << at;
      EXPECT_EQ(n->root().str(), head + "\n" + tail) << len << "/" << at;
      // A raw control character is an error wherever it sits.
      for (char c : {'\x00', '\x01', '\x1f', '\n'}) {
        const std::string bt = "\"" + head + std::string(1, c) + tail + "\"";
        auto bad = JsonDoc::Parse(bt);
        ASSERT_FALSE(bad.ok()) << len << "/" << at << "/" << int(c);
        EXPECT_NE(bad.status().message().find("control character"), std::string::npos) << bad.status().message();
      }
      // The closing quote ends the string at `at`: the rest is outside it.
      const std::string ct = "[\"" + head + "\"," + std::to_string(at) + "]";
      auto cut = JsonDoc::Parse(ct);
      ASSERT_TRUE(cut.ok()) << len << "/" << at << ": " << cut.status().message();
      EXPECT_EQ((*cut->root().begin()).str(), head);
    }
  }
}

TEST(JsonDocTest, IntegersAreStrict) {
  auto doc = JsonDoc::Parse(R"([5, 5.0, 1e2, -9223372036854775808, 9223372036854775808, "5"])");
  ASSERT_TRUE(doc.ok());
  std::vector<JsonRef> v;
  for (JsonRef x : doc->root()) v.push_back(x);
  int64_t n = 0;
  EXPECT_TRUE(v[0].GetInt64(&n));
  EXPECT_EQ(n, 5);
  EXPECT_FALSE(v[1].GetInt64(&n));
  EXPECT_FALSE(v[2].GetInt64(&n));
  EXPECT_TRUE(v[3].GetInt64(&n));
  EXPECT_EQ(n, INT64_MIN);
  EXPECT_FALSE(v[4].GetInt64(&n));
  EXPECT_FALSE(v[5].GetInt64(&n));
}

TEST(JsonDocTest, KeysMatchCaseInsensitivelyPreferringExact) {
  auto doc = JsonDoc::Parse(R"({"pod": 1, "Pod": 2, "NODENAMES": 3, "nodenames": 4})");
  ASSERT_TRUE(doc.ok());
  int64_t n = 0;
  ASSERT_TRUE(doc->root().Find("Pod").GetInt64(&n));
  EXPECT_EQ(n, 2);  // exact match wins
  ASSERT_TRUE(doc->root().Find("NodeNames").GetInt64(&n));
  EXPECT_EQ(n, 4);  // among folded matches, the last (Go assigns in order)
}

TEST(JsonDocTest, ErrorsNameTheOffset) {
  for (const char* bad : {"", "{", "[1,]", "{\"a\" 1}", "\"abc", "tru", "01", "1.", "{\"a\":1}x",
                          "\"\x01\"", "\"\\x\"", "\"\\u12\"", "[1 2]", "{1:2}"}) {
    auto doc = JsonDoc::Parse(bad);
    EXPECT_FALSE(doc.ok()) << bad;
    if (!doc.ok()) {
      EXPECT_NE(doc.status().message().find("at byte"), std::string::npos) << bad;
    }
  }
}

TEST(JsonDocTest, DepthIsBounded) {
  std::string deep(100000, '[');
  auto doc = JsonDoc::Parse(deep);
  ASSERT_FALSE(doc.ok());
  EXPECT_NE(doc.status().message().find("nesting deeper than"), std::string::npos);
}

TEST(JsonDocTest, LoneSurrogatesBecomeReplacementCharacter) {
  auto doc = JsonDoc::Parse(R"(["\ud800x", "\udc00"])");
  ASSERT_TRUE(doc.ok());
  std::vector<std::string> s;
  for (JsonRef x : doc->root()) s.emplace_back(x.str());
  EXPECT_EQ(s[0], "\xEF\xBF\xBDx");
  EXPECT_EQ(s[1], "\xEF\xBF\xBD");
}

TEST(JsonDocTest, EncoderEscapesAndRepairsUtf8) {
  EXPECT_EQ(JsonQuote("a\"b\\c\n\x01"), "\"a\\\"b\\\\c\\n\\u0001\"");
  EXPECT_EQ(JsonQuote("\xFF ok \xC3\xA9"), "\"\\ufffd ok \xC3\xA9\"");
}

const char kPod[] = R"({"metadata": {"name": "llm-ft-0", "namespace": "ml-lab",
   "uid": "3f2b9c1e-77aa-4c1e-9b0d-5e41f0c2a8d7",
   "managedFields": [{"manager": "kubectl", "fieldsV1": {"f:metadata": {}}}],
   "annotations": {"hivedscheduler.microsoft.com/pod-scheduling-spec":
     "virtualCluster: vc-vision\npriority: 50\nleafCellType: H100\nleafCellNumber: 8\n",
     "kubectl.kubernetes.io/last-applied-configuration": "{\"a\":\"\u003c\u003e\"}"}},
  "spec": {"schedulerName": "hivedscheduler-ds-vc-vision",
   "initContainers": [{"name": "init", "resources": {}}],
   "containers": [{"name": "trainer", "image": "registry.lab/llm-ft:4",
     "resources": {"limits": {"hivedscheduler.microsoft.com/pod-scheduling-enable": "1",
                              "cpu": "24", "memory": "200Gi"}}}]},
  "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "True",
     "lastTransitionTime": "2024-05-01T10:00:00Z"}]}})";

TEST(WireTest, DecodesFilterArgsNodeCacheCapable) {
  std::string body = std::string(R"({"Pod": )") + kPod + R"(, "Nodes": null, "NodeNames": ["dgx-a01", "dgx-a02"]})";
  auto args = DecodeFilterArgs(body);
  ASSERT_TRUE(args.ok()) << args.status().message();
  EXPECT_EQ(args->pod.ref.name, "llm-ft-0");
  EXPECT_EQ(args->pod.ref.ns, "ml-lab");
  EXPECT_EQ(args->pod.ref.uid, "3f2b9c1e-77aa-4c1e-9b0d-5e41f0c2a8d7");
  EXPECT_TRUE(args->pod.enabled);
  EXPECT_EQ(args->pod.scheduler_name, "hivedscheduler-ds-vc-vision");
  EXPECT_EQ(args->pod.phase, "Pending");
  EXPECT_EQ(args->pod.scheduled_time, 1714557600);
  ASSERT_TRUE(args->pod.spec_annotation.has_value());
  EXPECT_NE(args->pod.spec_annotation->find("leafCellNumber: 8"), std::string::npos);
  EXPECT_EQ(args->NodeNameStrings(), (std::vector<std::string>{"dgx-a01", "dgx-a02"}));
  EXPECT_FALSE(args->full_nodes);
}

TEST(WireTest, DecodesFilterArgsCaseInsensitiveAndFullNodes) {
  std::string body = std::string(R"({"pod": )") + kPod +
                     R"(, "nodes": {"metadata": {}, "items": [{"metadata": {"name": "n1"}, "status": {}},
                        {"metadata": {"name": "n2"}}]}, "nodeNames": null})";
  auto args = DecodeFilterArgs(body);
  ASSERT_TRUE(args.ok()) << args.status().message();
  EXPECT_TRUE(args->full_nodes);
  EXPECT_EQ(args->NodeNameStrings(), (std::vector<std::string>{"n1", "n2"}));
  EXPECT_EQ(args->node_objects[0], R"({"metadata": {"name": "n1"}, "status": {}})");
}

TEST(WireTest, FilterArgsErrorsNameTheField) {
  struct Case {
    std::string body, expect;
  } cases[] = {
      {"", "ExtenderArgs: empty request body"},
      {"[]", "ExtenderArgs: expected an object, got array"},
      {R"({"Pod": null})", "ExtenderArgs.Pod: required, got null"},
      {R"({"Pod": 5})", "ExtenderArgs.Pod: expected an object, got number"},
      {R"({"Pod": {"metadata": {"name": "p"}}})", "ExtenderArgs.Pod.metadata.uid: required"},
      {R"({"Pod": {"metadata": {"name": 7, "uid": "u"}}})", "ExtenderArgs.Pod.metadata.name: expected a string, got number"},
      {R"({"Pod": {"metadata": {"name": "p", "uid": "u"}}, "NodeNames": ["a", 3]})",
       "ExtenderArgs.NodeNames[1]: expected a string, got number"},
      {R"({"Pod": {"metadata": {"name": "p", "uid": "u", "annotations": {"x": 1}}}})",
       "ExtenderArgs.Pod.metadata.annotations[x]: expected a string, got number"},
      {R"({"Pod": {"metadata": {"name": "p", "uid": "u"}, "spec": {"containers": {}}}})",
       "ExtenderArgs.Pod.spec.containers: expected an array, got object"},
      {R"({"Pod": {"metadata": {"name": "p", "uid": "u"}}, "NodeNames": "a"})",
       "ExtenderArgs.NodeNames: expected an array of strings or null, got string"},
  };
  for (const auto& c : cases) {
    auto args = DecodeFilterArgs(c.body);
    ASSERT_FALSE(args.ok()) << c.body;
    EXPECT_NE(args.status().message().find(c.expect), std::string::npos)
        << c.body << " -> " << args.status().message();
  }
}

TEST(WireTest, FilterEnvelopeScannerFollowsGoKeyMatching) {
  std::string pod = R"({"metadata": {"name": "p", "uid": "u"}})";
  // Exact key beats a case-insensitive one whatever the order; escaped names
  // are decoded; unknown keys are skipped (validated).
  // (The result refers to the body: keep it alive.)
  const std::string body = R"({"nodenames": ["x"], "Pod": )" + pod +
                           R"(, "Extra": {"a": [1, {"b": null}]}, "NodeNames": ["a\u002db", "c"], "NODENAMES": ["z"]})";
  auto a = DecodeFilterArgs(body);
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_EQ(a->NodeNameStrings(), (std::vector<std::string>{"a-b", "c"}));
  EXPECT_TRUE(a->Offers("a-b"));
  EXPECT_FALSE(a->Offers("x"));
  // Trailing garbage, broken unknown values and bad nesting are errors.
  for (const char* bad : {R"({"Pod": {"metadata": {"name": "p", "uid": "u"}}} x)",
                          R"({"Pod": {"metadata": {"name": "p", "uid": "u"}}, "X": [1,}})",
                          R"({"Pod": {"metadata": {"name": "p", "uid": "u"}}, "NodeNames": ["a" "b"]})",
                          R"({"Pod": {"metadata": {"name": "p", "uid": "u"}} "NodeNames": []})",
                          R"({"Pod": {"metadata": {"name": "p", "uid": "u"}}, "NodeNames": [)"}) {
    auto r = DecodeFilterArgs(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_NE(r.status().message().find("invalid JSON at byte"), std::string::npos) << r.status().message();
    }
  }
  auto missing = DecodeFilterArgs(R"({"NodeNames": ["a"]})");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(), "ExtenderArgs.Pod: required, got null");
  auto wrong = DecodeFilterArgs(R"({"Pod": {"metadata": {"name": "p", "uid": "u"}}, "NodeNames": {"a": 1}})");
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().message(), "ExtenderArgs.NodeNames: expected an array of strings or null, got object");
}

TEST(WireTest, DecodesBindArgs) {
  auto args = DecodeBindArgs(R"({"PodName": "p", "PodNamespace": "ns", "PodUID": "u", "Node": "n"})");
  ASSERT_TRUE(args.ok());
  EXPECT_EQ(args->pod_name, "p");
  EXPECT_EQ(args->node, "n");
  auto bad = DecodeBindArgs(R"({"PodName": "p", "PodNamespace": "ns", "PodUID": "", "Node": "n"})");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "ExtenderBindingArgs.PodUID: required, missing or empty");
  auto bad2 = DecodeBindArgs(R"({"PodName": ["p"]})");
  ASSERT_FALSE(bad2.ok());
  EXPECT_EQ(bad2.status().message(), "ExtenderBindingArgs.PodName: expected a string, got array");
}

TEST(WireTest, DecodesPreemptArgsWithEmptyVictims) {
  std::string body = std::string(R"({"Pod": )") + kPod +
                     R"(, "NodeNameToVictims": null, "NodeNameToMetaVictims": {"dgx-b07": {"Pods": [], "NumPDBViolations": 0},
                        "dgx-a01": {"Pods": [{"UID": "x"}], "NumPDBViolations": 1}, "dgx-c": null}})";
  auto args = DecodePreemptArgs(body);
  ASSERT_TRUE(args.ok()) << args.status().message();
  EXPECT_EQ(args->candidate_nodes, (std::vector<std::string>{"dgx-a01", "dgx-b07", "dgx-c"}));
  auto bad = DecodePreemptArgs(std::string(R"({"Pod": )") + kPod +
                               R"(, "NodeNameToMetaVictims": {"n": {"Pods": [], "NumPDBViolations": 1.5}}})");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("NumPDBViolations: expected an integer"), std::string::npos);
}

TEST(WireTest, EncodesResultsLikeGo) {
  FilterResult r;
  r.node_names = std::vector<std::string>{"dgx-a02"};
  EXPECT_EQ(EncodeFilterResult(r),
            R"({"Nodes":null,"NodeNames":["dgx-a02"],"FailedNodes":null,"FailedAndUnresolvableNodes":null,"Error":""})");
  FilterResult w;
  w.failed_nodes.emplace_back("hivedscheduler", "Pod is waiting: x");
  EXPECT_EQ(EncodeFilterResult(w),
            R"({"Nodes":null,"NodeNames":null,"FailedNodes":{"hivedscheduler":"Pod is waiting: x"},"FailedAndUnresolvableNodes":null,"Error":""})");
  FilterResult f;
  f.node_objects = std::vector<std::string>{R"({"metadata":{"name":"n"}})"};
  EXPECT_EQ(EncodeFilterResult(f),
            R"({"Nodes":{"metadata":{},"items":[{"metadata":{"name":"n"}}]},"NodeNames":null,"FailedNodes":null,"FailedAndUnresolvableNodes":null,"Error":""})");
  EXPECT_EQ(EncodeBindResult(""), R"({"Error":""})");
  EXPECT_EQ(EncodePreemptResult({}), R"({"NodeNameToMetaVictims":null})");
  EXPECT_EQ(EncodePreemptResult({{"n", MetaVictims{{"u1", "u2"}, 0}}}),
            R"({"NodeNameToMetaVictims":{"n":{"Pods":[{"UID":"u1"},{"UID":"u2"}],"NumPDBViolations":0}}})");
}

TEST(WireTest, QuantitiesAndTimes) {
  EXPECT_TRUE(QuantityPositive("1"));
  EXPECT_TRUE(QuantityPositive("100m"));
  EXPECT_TRUE(QuantityPositive("1Ki"));
  EXPECT_TRUE(QuantityPositive("1e3"));
  EXPECT_TRUE(QuantityPositive("0.5"));
  EXPECT_FALSE(QuantityPositive("0"));
  EXPECT_FALSE(QuantityPositive("-1"));
  EXPECT_FALSE(QuantityPositive("abc"));
  EXPECT_FALSE(QuantityPositive("1Xi"));
  EXPECT_EQ(ParseRfc3339("1970-01-01T00:00:05Z"), 5);
  EXPECT_EQ(ParseRfc3339("2024-05-01T12:00:00+02:00"), 1714557600);
  EXPECT_EQ(ParseRfc3339("2024-05-01T10:00:00.123456Z"), 1714557600);
  EXPECT_FALSE(ParseRfc3339("2024-05-01").has_value());
  EXPECT_FALSE(ParseRfc3339("2024-13-01T10:00:00Z").has_value());
  // One parser (apiary::wire) serves the pod times, exec credential expiries
  // and `apiary diff`: Kubernetes' form only.
  EXPECT_FALSE(ParseRfc3339("2024-05-01 10:00:00Z").has_value());
  EXPECT_FALSE(ParseRfc3339("2024-05-01T10:00:00+24:00").has_value());
  EXPECT_FALSE(ParseRfc3339("2024-05-01T10:00:00+02:60").has_value());
  EXPECT_EQ(ParseRfc3339("9999-12-31T23:59:59Z"), 253402300799);
  auto t = wire::ParseRfc3339("2024-05-01T10:00:00.1234567899Z");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->seconds, 1714557600);
  EXPECT_EQ(t->nanos, 123456789);
  EXPECT_EQ(t->UnixNanos(), 1714557600123456789);
  EXPECT_FALSE(wire::ParseRfc3339("9999-12-31T23:59:59Z")->UnixNanos().has_value());
  EXPECT_FALSE(wire::ParseRfc3339("1600-01-01T00:00:00Z")->UnixNanos().has_value());
}

TEST(WireTest, PodNotEnabledWithoutTheLimit) {
  auto doc = JsonDoc::Parse(R"({"metadata": {"name": "p", "uid": "u"},
    "spec": {"containers": [{"resources": {"requests": {"hivedscheduler.microsoft.com/pod-scheduling-enable": "1"},
                                            "limits": {"hivedscheduler.microsoft.com/pod-scheduling-enable": "0"}}}]}})");
  ASSERT_TRUE(doc.ok());
  auto pod = DecodePod(doc->root(), "pod");
  ASSERT_TRUE(pod.ok());
  EXPECT_FALSE(pod->enabled);
  EXPECT_EQ(pod->ref.ns, "default");
}

TEST(WireTest, DecodesNodes) {
  auto doc = JsonDoc::Parse(R"({"metadata": {"name": "n", "resourceVersion": "7"}, "spec": {"unschedulable": true},
    "status": {"conditions": [{"type": "MemoryPressure", "status": "False"}, {"type": "Ready", "status": "True"}]}})");
  ASSERT_TRUE(doc.ok());
  auto node = DecodeNode(doc->root(), "node");
  ASSERT_TRUE(node.ok());
  EXPECT_TRUE(node->ready);
  EXPECT_TRUE(node->unschedulable);
  EXPECT_FALSE(node->Healthy());
}

// A body that fails to decode because it is not UTF-8 says where the first
// bad byte is (issue #17: every JSON input the tools read).
TEST(WireTest, NonUtf8BodiesNameTheByteOffset) {
  const std::string bad = std::string(R"({"Pod": {"metadata": {"name": "p)") + "\xC3\x28" +
                          R"("}}, "NodeNames": ["n1"]})";
  const size_t offset = bad.find('\xC3');
  for (auto message : {DecodeFilterArgs(bad).status().message(),
                       DecodeBindArgs(std::string("{\"PodName\": \"") + "\xFF" + "\"}").status().message(),
                       DecodePreemptArgs(bad).status().message()}) {
    EXPECT_NE(message.find("request body: not valid UTF-8"), std::string::npos) << message;
  }
  EXPECT_NE(DecodeFilterArgs(bad).status().message().find("byte offset " + std::to_string(offset)),
            std::string::npos)
      << DecodeFilterArgs(bad).status().message();
  // Valid UTF-8 keeps the decoder's own message.
  EXPECT_EQ(DecodeFilterArgs("[1]").status().message().find("UTF-8"), std::string::npos);
}

}  // namespace
}  // namespace apiary::extender
