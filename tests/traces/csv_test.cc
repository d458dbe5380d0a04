#include "apiary/traces/csv.h"

#include <gtest/gtest.h>

#include <sstream>

namespace apiary::traces {
namespace {

struct Parsed {
  std::vector<CsvRecord> records;
  std::vector<std::string> errors;
};

Parsed ParseAll(const std::string& text, CsvOptions options = {}) {
  std::istringstream in(text);
  CsvReader reader(&in, "mem.csv", options);
  Parsed out;
  CsvRecord record;
  Status error;
  while (reader.Next(&record, &error)) {
    if (error.ok()) {
      out.records.push_back(record);
    } else {
      out.errors.push_back(error.message());
    }
  }
  return out;
}

TEST(Csv, PlainFieldsAndPositions) {
  Parsed p = ParseAll("a,bb,\n\nccc,d\n");
  ASSERT_EQ(p.records.size(), 2u);
  EXPECT_EQ(p.records[0].fields, (std::vector<std::string>{"a", "bb", ""}));
  EXPECT_EQ(p.records[0].field_columns, (std::vector<int64_t>{1, 3, 6}));
  EXPECT_EQ(p.records[0].end_column, 6);
  EXPECT_EQ(p.records[1].line, 3);  // the blank line is skipped but counted
  EXPECT_EQ(p.records[1].fields, (std::vector<std::string>{"ccc", "d"}));
  EXPECT_EQ(p.records[1].field_columns, (std::vector<int64_t>{1, 5}));
}

TEST(Csv, QuotedFieldsWithDelimitersQuotesAndNewlines) {
  Parsed p = ParseAll("\"x,y\",\"say \"\"hi\"\"\",\"two\nlines\",z\nnext,1\n");
  ASSERT_TRUE(p.errors.empty());
  ASSERT_EQ(p.records.size(), 2u);
  EXPECT_EQ(p.records[0].fields,
            (std::vector<std::string>{"x,y", "say \"hi\"", "two\nlines", "z"}));
  EXPECT_EQ(p.records[0].field_lines, (std::vector<int64_t>{1, 1, 1, 2}));
  EXPECT_EQ(p.records[0].field_columns, (std::vector<int64_t>{1, 7, 20, 8}));
  EXPECT_EQ(p.records[1].line, 3);
}

TEST(Csv, CrlfBomAndMissingFinalNewline) {
  Parsed p = ParseAll("\xEF\xBB\xBFh1,h2\r\n1,\"2\"\r\n3,4");
  ASSERT_EQ(p.records.size(), 3u);
  EXPECT_EQ(p.records[0].fields, (std::vector<std::string>{"h1", "h2"}));
  EXPECT_EQ(p.records[0].field_columns[0], 1);  // the BOM does not shift columns
  EXPECT_EQ(p.records[1].fields, (std::vector<std::string>{"1", "2"}));
  EXPECT_EQ(p.records[2].fields, (std::vector<std::string>{"3", "4"}));
  EXPECT_EQ(p.records[2].line, 3);
}

TEST(Csv, QuoteInsideUnquotedFieldIsLiteral) {
  Parsed p = ParseAll("ab\"c,d\n");
  ASSERT_EQ(p.records.size(), 1u);
  EXPECT_EQ(p.records[0].fields[0], "ab\"c");
}

TEST(Csv, TextAfterClosingQuoteIsAnErrorAndReadingResumes) {
  Parsed p = ParseAll("a,\"b\"x,c\nd,e\n");
  ASSERT_EQ(p.errors.size(), 1u);
  EXPECT_EQ(p.errors[0],
            "mem.csv:1:6: unexpected character after closing quote (expected delimiter "
            "or end of line)");
  ASSERT_EQ(p.records.size(), 1u);
  EXPECT_EQ(p.records[0].fields, (std::vector<std::string>{"d", "e"}));
  EXPECT_EQ(p.records[0].line, 2);
}

TEST(Csv, UnterminatedQuoteNamesTheOpeningQuote) {
  Parsed p = ParseAll("a,b\nc,\"open\nstill open\n");
  ASSERT_EQ(p.errors.size(), 1u);
  EXPECT_EQ(p.errors[0], "mem.csv:2:3: unterminated quoted field");
}

TEST(Csv, CommentsAreSkippedAndKept) {
  std::istringstream in("# reference_sku: V100\nh\n#x\n1\n");
  CsvReader reader(&in, "mem.csv", CsvOptions{',', '#', false});
  CsvRecord r;
  Status e;
  ASSERT_TRUE(reader.Next(&r, &e));
  EXPECT_EQ(r.fields[0], "h");
  EXPECT_EQ(r.line, 2);
  ASSERT_TRUE(reader.Next(&r, &e));
  EXPECT_EQ(r.fields[0], "1");
  EXPECT_FALSE(reader.Next(&r, &e));
  ASSERT_EQ(reader.comments().size(), 2u);
  EXPECT_EQ(reader.comments()[0], (std::pair<int64_t, std::string>{1, " reference_sku: V100"}));
  EXPECT_EQ(reader.comments()[1].first, 3);
}

TEST(Csv, WhitespaceMode) {
  CsvOptions o;
  o.whitespace_delimited = true;
  o.comment = ';';
  Parsed p = ParseAll("; header\n  1  2\t3 \n\n   \n4 5\n", o);
  ASSERT_EQ(p.records.size(), 2u);
  EXPECT_EQ(p.records[0].fields, (std::vector<std::string>{"1", "2", "3"}));
  EXPECT_EQ(p.records[0].field_columns, (std::vector<int64_t>{3, 6, 8}));
  EXPECT_EQ(p.records[0].line, 2);
  EXPECT_EQ(p.records[0].end_column, 9);
  EXPECT_EQ(p.records[1].line, 5);
}

TEST(Csv, FieldsAcrossBufferBoundaries) {
  // Longer than the 256 KiB buffer, with CRLF straddling refills.
  std::string big(300000, 'x');
  std::string text;
  for (int i = 0; i < 3; ++i) text += big + ",\"" + big + "\"\r\n";
  Parsed p = ParseAll(text);
  ASSERT_EQ(p.records.size(), 3u);
  for (const CsvRecord& r : p.records) {
    ASSERT_EQ(r.size(), 2u);
    EXPECT_EQ(r.fields[0].size(), big.size());
    EXPECT_EQ(r.fields[1], big);
  }
  EXPECT_EQ(p.records[2].line, 3);
}

TEST(Csv, QuoteForOutput) {
  EXPECT_EQ(CsvQuote("plain"), "plain");
  EXPECT_EQ(CsvQuote("a,b"), "\"a,b\"");
  EXPECT_EQ(CsvQuote("say \"x\""), "\"say \"\"x\"\"\"");
  EXPECT_EQ(CsvQuote(""), "");
  EXPECT_EQ(CsvQuote("#x"), "\"#x\"");
}

TEST(Csv, OpenMissingFileFails) {
  auto r = CsvReader::Open("/nonexistent/dir/file.csv");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "/nonexistent/dir/file.csv: cannot open: No such file or directory");
}

}  // namespace
}  // namespace apiary::traces
