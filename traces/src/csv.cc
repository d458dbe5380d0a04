#include "apiary/traces/csv.h"

#include <cerrno>
#include <cstring>
#include <fstream>

namespace apiary::traces {

namespace {
constexpr size_t kBufferSize = 256 * 1024;
constexpr int kEof = -1;
}  // namespace

std::string FormatLocation(const std::string& file, int64_t line,
                           int64_t column, const std::string& reason) {
  return file + ":" + std::to_string(line) + ":" + std::to_string(column) +
         ": " + reason;
}

Result<std::unique_ptr<CsvReader>> CsvReader::Open(const std::string& path,
                                                   CsvOptions options) {
  auto file = std::make_unique<std::ifstream>(path, std::ios::binary);
  if (!file->is_open()) {
    return Status::Error(path + ": cannot open: " + std::strerror(errno));
  }
  auto reader = std::make_unique<CsvReader>(file.get(), path, options);
  reader->owned_ = std::move(file);
  return reader;
}

CsvReader::CsvReader(std::istream* in, std::string name, CsvOptions options)
    : in_(in), name_(std::move(name)), options_(options), buffer_(kBufferSize) {
  // A UTF-8 byte-order mark is not data; it also must not shift columns.
  if (Peek() == 0xEF) {
    Refill();
    if (end_ - pos_ >= 3 && static_cast<unsigned char>(buffer_[pos_ + 1]) == 0xBB &&
        static_cast<unsigned char>(buffer_[pos_ + 2]) == 0xBF) {
      pos_ += 3;
    }
  }
}

CsvReader::~CsvReader() = default;

bool CsvReader::Refill() {
  // Keeps unread bytes so that a two-byte look-ahead ("\r\n", BOM) works
  // across buffer boundaries.
  if (eof_) return pos_ < end_;
  if (pos_ > 0) {
    std::memmove(buffer_.data(), buffer_.data() + pos_, end_ - pos_);
    end_ -= pos_;
    pos_ = 0;
  }
  while (end_ < buffer_.size() && !eof_) {
    in_->read(buffer_.data() + end_,
              static_cast<std::streamsize>(buffer_.size() - end_));
    std::streamsize got = in_->gcount();
    end_ += static_cast<size_t>(got);
    if (got == 0 || !*in_) eof_ = true;
    if (end_ - pos_ >= 3) break;  // enough for any look-ahead we need
  }
  return pos_ < end_;
}

int CsvReader::Peek() {
  if (pos_ >= end_ && !Refill()) return kEof;
  return static_cast<unsigned char>(buffer_[pos_]);
}

int CsvReader::Get() {
  int c = Peek();
  if (c == kEof) return c;
  ++pos_;
  if (c == '\n') {
    ++line_;
    column_ = 1;
  } else {
    ++column_;
  }
  return c;
}

bool CsvReader::AtLineBreak() {
  int c = Peek();
  if (c == '\n') return true;
  if (c != '\r') return false;
  if (end_ - pos_ < 2) Refill();
  return end_ - pos_ >= 2 && buffer_[pos_ + 1] == '\n';
}

void CsvReader::ConsumeLineBreak() {
  if (Peek() == '\r') Get();
  Get();  // '\n'
}

void CsvReader::SkipRestOfLine() {
  for (int c = Peek(); c != kEof; c = Peek()) {
    if (AtLineBreak()) {
      ConsumeLineBreak();
      return;
    }
    Get();
  }
}

bool CsvReader::Next(CsvRecord* record, Status* error) {
  *error = Status::Ok();
  record->fields.clear();
  record->field_lines.clear();
  record->field_columns.clear();
  return options_.whitespace_delimited ? NextWhitespace(record, error)
                                       : NextCsv(record, error);
}

bool CsvReader::NextCsv(CsvRecord* record, Status* error) {
  // Skip blank and comment lines.
  for (;;) {
    int c = Peek();
    if (c == kEof) return false;
    if (AtLineBreak()) {
      ConsumeLineBreak();
      continue;
    }
    if (options_.comment != 0 && c == static_cast<unsigned char>(options_.comment)) {
      int64_t line = line_;
      Get();
      std::string text;
      while (Peek() != kEof && !AtLineBreak()) text.push_back(static_cast<char>(Get()));
      if (Peek() != kEof) ConsumeLineBreak();
      comments_.emplace_back(line, std::move(text));
      continue;
    }
    break;
  }
  record->line = line_;
  const int delim = static_cast<unsigned char>(options_.delimiter);
  for (;;) {
    record->field_lines.push_back(line_);
    record->field_columns.push_back(column_);
    std::string& field = record->fields.emplace_back();
    if (Peek() == '"') {
      const int64_t open_line = line_, open_column = column_;
      Get();
      for (;;) {
        int c = Get();
        if (c == kEof) {
          *error = Status::Error(FormatLocation(
              name_, open_line, open_column, "unterminated quoted field"));
          record->end_line = line_;
          record->end_column = column_;
          return true;
        }
        if (c == '"') {
          if (Peek() == '"') {
            Get();
            field.push_back('"');
            continue;
          }
          break;
        }
        field.push_back(static_cast<char>(c));
      }
      int c = Peek();
      if (c == delim) {
        Get();
        continue;
      }
      if (c == kEof || AtLineBreak()) break;
      *error = Status::Error(FormatLocation(
          name_, line_, column_,
          "unexpected character after closing quote (expected delimiter or "
          "end of line)"));
      record->end_line = line_;
      record->end_column = column_;
      SkipRestOfLine();
      return true;
    }
    // Unquoted field.
    bool more = false;
    for (int c = Peek(); c != kEof; c = Peek()) {
      if (c == delim) {
        Get();
        more = true;
        break;
      }
      if (AtLineBreak()) break;
      field.push_back(static_cast<char>(Get()));
    }
    if (!more) break;
  }
  record->end_line = line_;
  record->end_column = column_;
  if (Peek() != kEof) ConsumeLineBreak();
  return true;
}

bool CsvReader::NextWhitespace(CsvRecord* record, Status* error) {
  auto blank = [](int c) { return c == ' ' || c == '\t'; };
  for (;;) {
    while (blank(Peek())) Get();
    int c = Peek();
    if (c == kEof) return false;
    if (AtLineBreak()) {
      ConsumeLineBreak();
      continue;
    }
    if (options_.comment != 0 && c == static_cast<unsigned char>(options_.comment)) {
      int64_t line = line_;
      Get();
      std::string text;
      while (Peek() != kEof && !AtLineBreak()) text.push_back(static_cast<char>(Get()));
      if (Peek() != kEof) ConsumeLineBreak();
      comments_.emplace_back(line, std::move(text));
      continue;
    }
    break;
  }
  record->line = line_;
  for (;;) {
    while (blank(Peek())) Get();
    int c = Peek();
    if (c == kEof || AtLineBreak()) break;
    record->field_lines.push_back(line_);
    record->field_columns.push_back(column_);
    std::string& field = record->fields.emplace_back();
    while ((c = Peek()) != kEof && !blank(c) && !AtLineBreak()) {
      field.push_back(static_cast<char>(Get()));
    }
    record->end_line = line_;
    record->end_column = column_;
  }
  if (Peek() != kEof) ConsumeLineBreak();
  return true;
}

std::string CsvQuote(const std::string& field, char delimiter) {
  // A leading '#' is quoted so that comment-aware readers do not take the
  // record for a comment line.
  bool needs = !field.empty() &&
               (field.front() == ' ' || field.back() == ' ' || field.front() == '#');
  for (char c : field) {
    if (c == delimiter || c == '"' || c == '\n' || c == '\r') needs = true;
  }
  if (!needs) return field;
  std::string out = "\"";
  for (char c : field) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

}  // namespace apiary::traces
