// The annotation YAML tree (libcell/src/yaml_tree.h) has two builders:
// libyaml for the common documents and yaml-cpp for the rest. Annotations
// must mean the same whichever reads them, so: wherever the libyaml path
// accepts a text, yaml-cpp must load it too and give the same tree (types,
// scalar texts, tags, entry order, duplicate keys). Checked on hand-written
// documents covering the subset, on every input of the annotation fuzz
// corpus, and on seeded mutations of all of them.
#include "yaml_tree.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace apiary::cell {
namespace {

std::string Dump(const YamlTree& t) {
  switch (t.type()) {
    case YamlTree::Type::kNull:
      return "~";
    case YamlTree::Type::kScalar: {
      std::ostringstream o;
      o << "<" << t.Tag() << ">\"" << t.Scalar() << "\"";
      return o.str();
    }
    case YamlTree::Type::kSequence: {
      std::string out = "[";
      for (size_t i = 0; i < t.size(); ++i) out += Dump(t[i]) + ",";
      return out + "]";
    }
    case YamlTree::Type::kMap: {
      std::string out = "{";
      t.ForEachEntry([&](const YamlTree& k, const YamlTree& v) { out += Dump(k) + ":" + Dump(v) + ","; });
      return out + "}";
    }
  }
  return "?";
}

// Empty when both builders agree (or libyaml declines); else what differs.
std::string Disagreement(const std::string& text) {
  YamlTree fast;
  if (!YamlTree::ParseSimple(text, &fast)) return "";
  std::string slow;
  try {
    slow = Dump(YamlTree::FromYamlCpp(YAML::Load(text)));
  } catch (const std::exception& e) {
    return "libyaml accepted what yaml-cpp rejects (" + std::string(e.what()) + ")";
  }
  const std::string f = Dump(fast);
  return f == slow ? "" : "libyaml " + f + " vs yaml-cpp " + slow;
}

std::vector<std::string> HandWritten() {
  return {
      "{virtualCluster: vc1, priority: 0, leafCellNumber: 8}",
      R"({"virtualCluster":"research","priority":5,"leafCellNumber":2,"affinityGroup":{"name":"ml/bert","members":[{"podNumber":2,"leafCellNumber":2}]}})",
      R"({"virtualCluster": "a", "priority": -1, "gpuType": "K80", "gpuNumber": 1})",
      "virtualCluster: vc1\npriority: 10\nleafCellType: V100\nleafCellNumber: 4\n"
      "affinityGroup:\n  name: ns/g\n  members:\n  - podNumber: 2\n    leafCellNumber: 4\n",
      "node: n1\nleafCellIsolation:\n- 0\n- 1\ncellChain: CHAIN\naffinityGroupBindInfo:\n"
      "- podPlacements:\n  - physicalNode: n1\n    physicalLeafCellIndices:\n    - 0\n    - 1\n"
      "    preassignedCellTypes:\n    - NODE\n    - \"\"\n",
      "a: ~\nb: null\nc: Null\nd: NULL\ne:\nf: ''\ng: \"\"\nh: 'null'\n",
      "a: yes\nb: No\nc: on\nd: OFF\ne: true\nf: y\n",
      "a: 0x1F\nb: 0o17\nc: 017\nd: +12\ne: 1_000\nf: 1e3\ng: 2.0\nh: .inf\ni: -.NaN\n",
      "a: !!str 12\nb: !!int '3'\nc: !custom x\nd: !!null ''\ne: ! plain\n",
      "a: 1\na: 2\nb: {c: 1, c: 2}\n",
      "# comment\na: 1 # trailing\n",
      "\xEF\xBB\xBF" "a: 1\n",
      "a: \"\\u00e9\\x41\\t\\\\ \\\"q\\\"\"\nb: 'it''s'\nc: caf\xC3\xA9\n",
      "[1, [2, [3, {a: [4]}]], {}, []]",
      "{a, b: , c: d}",
      "- a\n- b: c\n  d: e\n-\n- - x\n",
      "---\na: 1\n...\n",
      "--- a\n--- b",
      "a: b: c",
      "a: 'x\n  y'",
      "a: |\n  x\n",
      "a: &x 1\nb: *x",
      "%YAML 1.1\n---\na: 1",
      "? [a, b]\n: c\n",
      "{? a : b}",
      "a:    spaced value   \n",
      "key with spaces: v\n\"quoted key\": 1\n'single': 2\n",
      "a: -\nb: - x\n",
      "a: [1,2,3]\nb: {x: 1,y: 2}\n",
      "",
      "   \n\n",
      "null",
      "~",
      "42",
      "\"just a string\"",
      "a:\tb\n",
      "\ta: b\n",
      "a: 1\n  b: 2\n",
  };
}

std::vector<std::string> Corpus() {
  std::vector<std::string> out;
  const std::filesystem::path dir =
      std::filesystem::path(APIARY_SOURCE_DIR) / "tests/extender/fuzz/corpus/annotation_fuzz";
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    std::ifstream in(e.path(), std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    out.push_back(s.str());
  }
  return out;
}

TEST(YamlTreeTest, LibyamlReadsTheCommonAnnotationsItself) {
  // The fast path is not a no-op: these take it (and give yaml-cpp's tree).
  for (const std::string& text : {HandWritten()[0], HandWritten()[1], HandWritten()[3], HandWritten()[4]}) {
    YamlTree t;
    EXPECT_TRUE(YamlTree::ParseSimple(text, &t)) << text;
    EXPECT_TRUE(t.IsMap()) << text;
    EXPECT_EQ(Disagreement(text), "") << text;
  }
  // And leaves these to yaml-cpp.
  for (const char* text : {"a: &x 1\nb: *x", "a: |\n  x\n", "%YAML 1.1\n---\na: 1", "a: 'x\n  y'", "{a: [}"}) {
    YamlTree t;
    EXPECT_FALSE(YamlTree::ParseSimple(text, &t)) << text;
  }
}

TEST(YamlTreeTest, BothBuildersAgreeOnHandWrittenDocuments) {
  for (const std::string& text : HandWritten()) EXPECT_EQ(Disagreement(text), "") << text;
}

TEST(YamlTreeTest, BothBuildersAgreeOnTheFuzzCorpus) {
  const auto corpus = Corpus();
  ASSERT_GT(corpus.size(), 100u);
  for (const std::string& text : corpus) EXPECT_EQ(Disagreement(text), "") << text;
}

TEST(YamlTreeTest, BothBuildersAgreeOnMutations) {
  std::vector<std::string> seeds = HandWritten();
  for (auto& c : Corpus()) seeds.push_back(std::move(c));
  static const char kAlphabet[] = " \t\n:,-[]{}'\"#&*!|>?%@`~\\0aZy1.+";
  std::mt19937_64 rng(7);
  int disagreements = 0;
  // APIARY_YAML_MUTATIONS=N runs a longer soak.
  const char* env = std::getenv("APIARY_YAML_MUTATIONS");
  const long count = env ? std::atol(env) : 30000;
  for (long n = 0; n < count && disagreements < 5; ++n) {
    std::string text = seeds[rng() % seeds.size()];
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const size_t at = text.empty() ? 0 : rng() % (text.size() + 1);
      const char c = kAlphabet[rng() % (sizeof(kAlphabet) - 1)];
      switch (rng() % 3) {
        case 0: text.insert(text.begin() + static_cast<std::ptrdiff_t>(at), c); break;
        case 1: if (at < text.size()) text.erase(at, 1); break;
        default: if (at < text.size()) text[at] = c; break;
      }
    }
    const std::string d = Disagreement(text);
    if (!d.empty()) {
      ++disagreements;
      ADD_FAILURE() << "text: " << text << "\n" << d;
    }
  }
}

}  // namespace
}  // namespace apiary::cell
