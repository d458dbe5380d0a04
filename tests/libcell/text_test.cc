// UTF-8 validation and name suggestions (apiary/cell/text.h).
#include "apiary/cell/text.h"

#include <gtest/gtest.h>

#include <string>

#ifdef APIARY_HAVE_RAPIDCHECK
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>
#endif

namespace apiary::cell {
namespace {

// Encodes one code point (no checks: callers pass valid scalar values).
std::string Encode(uint32_t cp) {
  std::string s;
  if (cp < 0x80) {
    s += static_cast<char>(cp);
  } else if (cp < 0x800) {
    s += static_cast<char>(0xC0 | (cp >> 6));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    s += static_cast<char>(0xE0 | (cp >> 12));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    s += static_cast<char>(0xF0 | (cp >> 18));
    s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return s;
}

TEST(Utf8Test, AcceptsWellFormedTextAndFindsTheFirstBadByte) {
  EXPECT_FALSE(FirstInvalidUtf8(""));
  EXPECT_FALSE(FirstInvalidUtf8("plain ascii"));
  EXPECT_FALSE(FirstInvalidUtf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x90\x9D"));  // é € 🐝
  EXPECT_EQ(FirstInvalidUtf8("ab\xFF"), 2u);
  EXPECT_EQ(FirstInvalidUtf8("a\x80"), 1u);              // lone continuation byte
  EXPECT_EQ(FirstInvalidUtf8("a\xC3"), 1u);              // truncated sequence
  EXPECT_EQ(FirstInvalidUtf8("\xC0\xAF"), 0u);           // overlong '/'
  EXPECT_EQ(FirstInvalidUtf8("\xE0\x80\xAF"), 0u);       // overlong, 3 bytes
  EXPECT_EQ(FirstInvalidUtf8("x\xED\xA0\x80"), 1u);      // surrogate U+D800
  EXPECT_EQ(FirstInvalidUtf8("\xF4\x90\x80\x80"), 0u);   // above U+10FFFF
  EXPECT_EQ(FirstInvalidUtf8("\xE2\x82" "A"), 0u);       // bad third byte
}

TEST(Utf8Test, CheckNamesTheOffsetAndForMultiLineTextTheLineAndColumn) {
  EXPECT_TRUE(CheckUtf8("ok", "f").ok());
  EXPECT_EQ(CheckUtf8("ab\xFE", "events").message(),
            "events: not valid UTF-8: byte 0xFE at byte offset 2");
  EXPECT_EQ(CheckUtf8("a: 1\nbb: \xC3(\n", "c.yaml").message(),
            "c.yaml: not valid UTF-8: byte 0xC3 at byte offset 9 (line 2, column 5)");
}

#ifdef APIARY_HAVE_RAPIDCHECK
RC_GTEST_PROP(Utf8Test, EncodedCodePointsAreValidAndACorruptByteIsFoundWhereItIs, ()) {
  auto cps = *rc::gen::container<std::vector<uint32_t>>(
      rc::gen::suchThat(rc::gen::inRange<uint32_t>(0, 0x110000),
                        [](uint32_t cp) { return cp < 0xD800 || cp > 0xDFFF; }));
  std::string text;
  std::vector<size_t> starts;
  for (uint32_t cp : cps) {
    starts.push_back(text.size());
    text += Encode(cp);
  }
  RC_ASSERT(!FirstInvalidUtf8(text));
  RC_PRE(!starts.empty());
  // A byte that can never appear in UTF-8, written over the start of a code
  // point, is reported at exactly that offset (what precedes is intact).
  size_t at = starts[*rc::gen::inRange<size_t>(0, starts.size())];
  text[at] = static_cast<char>(*rc::gen::element<unsigned char>(0xC0, 0xC1, 0xF5, 0xFF));
  RC_ASSERT(FirstInvalidUtf8(text) == std::optional<size_t>(at));
}
#endif

TEST(NearestNameTest, SuggestsOnlyPlausibleMisspellings) {
  const std::vector<std::string> keys = {"childCellType", "childCellNumber", "isNodeLevel"};
  EXPECT_EQ(NearestName("childCellNumbr", keys), "childCellNumber");
  EXPECT_EQ(NearestName("ChildCellType", keys), "childCellType");  // case is not an edit
  EXPECT_EQ(NearestName("cpu", keys), std::nullopt);
  EXPECT_EQ(NearestName("childCellType", keys), std::nullopt);  // it is known
  EXPECT_EQ(DidYouMean("isNodeLvl", keys), " (did you mean isNodeLevel?)");
  EXPECT_EQ(DidYouMean("zzz", keys), "");
  // One-letter names are not "one edit away" from every other one-letter name.
  EXPECT_EQ(NearestName("a", {"b"}), std::nullopt);
}

TEST(NearestNameTest, UnknownNameHintListsTheKnownNames) {
  EXPECT_EQ(UnknownNameHint("prdo", {"default", "prod", "research"}, "VCs"),
            " (did you mean prod?; known VCs: default, prod, research)");
  EXPECT_EQ(UnknownNameHint("x", {"default"}, "VCs"), " (known VCs: default)");
  EXPECT_EQ(UnknownNameHint("prod", {"prod"}, "VCs"), "");
  EXPECT_EQ(UnknownNameHint("x", {}, "VCs"), " (no VCs are configured)");
}

}  // namespace
}  // namespace apiary::cell
