// A streaming CSV / whitespace-separated record reader that remembers where
// every field started, so that a reader can report "file:line:column: reason".
//
// CSV dialect (RFC 4180 plus common practice):
//  * fields separated by `delimiter`; a record ends at LF, CRLF or end of file;
//  * a field that starts with '"' is quoted: it may contain delimiters, line
//    breaks and doubled quotes ("" -> "); after the closing quote only a
//    delimiter or the end of the record may follow;
//  * a '"' inside an unquoted field is taken literally;
//  * empty lines are skipped; a UTF-8 byte-order mark at the start is skipped;
//  * optionally, lines whose first byte is `comment` are skipped (their text
//    is kept in comments() for readers that carry directives there).
// Whitespace mode (for SWF): fields are runs of non-blank bytes separated by
// spaces or tabs; no quoting; blank lines skipped.
//
// Memory: one record at a time plus a fixed 256 KiB buffer; the input can be
// larger than RAM. Not thread-safe; one reader per thread.
#pragma once

#include <cstdint>
#include <istream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "apiary/traces/status.h"

namespace apiary::traces {

struct CsvOptions {
  char delimiter = ',';
  // 0 = no comment lines.
  char comment = 0;
  bool whitespace_delimited = false;
};

struct CsvRecord {
  // Physical line (1-based) where the record starts.
  int64_t line = 0;
  std::vector<std::string> fields;
  // Where each field starts (1-based line and byte column; for a quoted
  // field, the opening quote). Parallel to `fields`.
  std::vector<int64_t> field_lines;
  std::vector<int64_t> field_columns;
  // Position just past the last byte of the record (before the line break):
  // where a missing field would have started.
  int64_t end_line = 0;
  int64_t end_column = 0;

  size_t size() const { return fields.size(); }
};

class CsvReader {
 public:
  // Opens `path` for reading. The error names the path and the OS reason.
  static Result<std::unique_ptr<CsvReader>> Open(const std::string& path,
                                                 CsvOptions options = {});
  // Reads from `in` (not owned; must outlive the reader). `name` is used as
  // the file name in messages.
  CsvReader(std::istream* in, std::string name, CsvOptions options = {});
  ~CsvReader();
  CsvReader(const CsvReader&) = delete;
  CsvReader& operator=(const CsvReader&) = delete;

  // Reads the next record into *record. Returns false at end of input.
  // If the record is lexically malformed (unterminated quote, text after a
  // closing quote) it returns true and sets *error to
  // "name:line:column: reason"; the rest of that physical line has been
  // consumed, so the next call continues on the following line. *error is
  // set to OK otherwise.
  bool Next(CsvRecord* record, Status* error);

  const std::string& name() const { return name_; }
  // Comment lines seen so far: (line, text after the comment byte).
  const std::vector<std::pair<int64_t, std::string>>& comments() const {
    return comments_;
  }

 private:
  int Peek();
  int Get();
  bool Refill();
  void SkipRestOfLine();
  bool AtLineBreak();  // true at '\n' or "\r\n" (does not consume)
  void ConsumeLineBreak();
  bool NextCsv(CsvRecord* record, Status* error);
  bool NextWhitespace(CsvRecord* record, Status* error);

  std::unique_ptr<std::istream> owned_;
  std::istream* in_;
  std::string name_;
  CsvOptions options_;
  std::vector<char> buffer_;
  size_t pos_ = 0;
  size_t end_ = 0;
  bool eof_ = false;
  int64_t line_ = 1;
  int64_t column_ = 1;
  std::vector<std::pair<int64_t, std::string>> comments_;
};

// Quotes `field` for CSV output if it contains the delimiter, a quote, CR or
// LF, has leading/trailing spaces or starts with '#'; otherwise returns it
// unchanged.
std::string CsvQuote(const std::string& field, char delimiter = ',');

}  // namespace apiary::traces
