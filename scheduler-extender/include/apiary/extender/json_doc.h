// A small, strict, read-only JSON document for the extender's hot path.
//
// kube-scheduler sends a pod plus up to thousands of node names on every
// filter call; parsing that into nlohmann::json costs more than the whole
// scheduling decision. JsonDoc parses once into a flat array of nodes whose
// strings point into the input (escaped strings are decoded into an arena),
// and the decoders in extender_wire.h walk it. Objects are looked up the way
// Go's encoding/json matches struct fields: exact key first, else an ASCII
// case-insensitive match; among equal matches the last one wins (Go assigns
// keys in order).
//
// Limits: nesting depth (default 200), input size < 4 GiB. Every error names
// the byte offset. Never throws; any byte string is a valid input.
//
// Lifetime: the text passed to Parse must outlive the document and every
// JsonRef/string_view obtained from it. Not thread-safe to mutate; a parsed
// document may be read from several threads.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "apiary/cell/status.h"

namespace apiary::extender {

enum class JsonType : uint8_t { kNull, kFalse, kTrue, kNumber, kString, kArray, kObject };

// "null", "boolean", "number", "string", "array", "object".
const char* JsonTypeName(JsonType t);

class JsonDoc;

// A cheap handle to one value of a JsonDoc. A default JsonRef is "absent";
// absent and null are both IsNull().
class JsonRef {
 public:
  JsonRef() = default;
  JsonRef(const JsonDoc* doc, uint32_t index) : doc_(doc), index_(index) {}

  bool present() const { return doc_ != nullptr; }
  JsonType type() const;
  bool IsNull() const { return !present() || type() == JsonType::kNull; }
  bool IsObject() const { return present() && type() == JsonType::kObject; }
  bool IsArray() const { return present() && type() == JsonType::kArray; }
  bool IsString() const { return present() && type() == JsonType::kString; }
  bool IsNumber() const { return present() && type() == JsonType::kNumber; }
  bool IsBool() const {
    return present() && (type() == JsonType::kTrue || type() == JsonType::kFalse);
  }
  // Type name for messages; "absent" for a missing value.
  const char* TypeName() const;

  // Strings: the decoded text. Numbers: the literal as written.
  std::string_view str() const;
  // The value exactly as it appears in the input (for echoing objects back).
  std::string_view raw() const;
  // Strict integer (Go's int64 decoding): no fraction, no exponent, in range.
  bool GetInt64(int64_t* out) const;

  // Objects: member lookup, exact key preferred (see file comment).
  JsonRef Find(std::string_view key) const;
  // Arrays and objects: number of elements/members.
  uint32_t size() const;

  // Iteration over array elements or object members (Key() valid for members).
  class Iterator {
   public:
    Iterator(const JsonDoc* doc, uint32_t index) : doc_(doc), index_(index) {}
    JsonRef operator*() const { return JsonRef(doc_, index_); }
    Iterator& operator++();
    bool operator!=(const Iterator& o) const { return index_ != o.index_; }

   private:
    const JsonDoc* doc_;
    uint32_t index_;
  };
  Iterator begin() const;
  Iterator end() const { return Iterator(doc_, 0); }
  // For a member reached by iterating an object: its key.
  std::string_view Key() const;

 private:
  const JsonDoc* doc_ = nullptr;
  uint32_t index_ = 0;
};

class JsonDoc {
 public:
  // Parses exactly one JSON value surrounded by optional whitespace.
  static cell::Result<JsonDoc> Parse(std::string_view text, uint32_t max_depth = 200);

  JsonRef root() const { return JsonRef(this, 0); }

  JsonDoc(JsonDoc&&) = default;
  JsonDoc& operator=(JsonDoc&&) = default;

 private:
  friend class JsonRef;
  friend class JsonParser;
  JsonDoc() = default;

  struct Node {
    JsonType type = JsonType::kNull;
    uint32_t next = 0;   // next sibling, 0 = none (the root is never a sibling)
    uint32_t first = 0;  // first child, 0 = none
    uint32_t count = 0;  // children
    uint32_t begin = 0;  // raw text [begin, end)
    uint32_t end = 0;
    std::string_view key;  // member key (objects' children)
    std::string_view str;  // decoded string / number literal
  };
  std::string_view text_;
  std::vector<Node> nodes_;
  std::deque<std::string> arena_;  // decoded escaped strings (stable addresses)
};

// A forward-only lexer over JSON text, for the hot envelope of kube-scheduler
// requests: it reads top-level keys and strings (views of the input; escaped
// strings decoded into an arena) and skips whole values with full
// validation, without building nodes. JsonDoc uses it too.
class JsonScanner {
 public:
  explicit JsonScanner(std::string_view text, uint32_t max_depth = 200)
      : begin_(text.data()), p_(text.data()), end_(text.data() + text.size()), max_depth_(max_depth) {}

  void SkipSpace() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }
  bool AtEnd() const { return p_ >= end_; }
  // The next byte (after whitespace), or '\0' at the end.
  char Peek() {
    SkipSpace();
    return p_ < end_ ? *p_ : '\0';
  }
  // Skips whitespace; consumes `c` if it is next.
  bool Consume(char c) {
    if (Peek() != c) return false;
    ++p_;
    return true;
  }
  // At an opening quote (after whitespace): the decoded string. Strings
  // without escapes are views of the input; others are decoded into
  // `arena` (nullptr: validate only).
  bool ReadString(std::string_view* out, std::deque<std::string>* arena);
  // Skips one value of any type, validating it. `depth`: current nesting.
  bool SkipValue(uint32_t depth = 0);
  // Consumes a literal null if it is next.
  bool ConsumeNull();
  // A number literal (validated) at the current position.
  bool ReadNumber(std::string_view* out);
  // A literal (true, false, null) at the current position.
  bool ReadLiteral(const char* lit);

  size_t pos() const { return static_cast<size_t>(p_ - begin_); }
  const char* cursor() const { return p_; }
  uint32_t max_depth() const { return max_depth_; }
  bool failed() const { return !err_.empty(); }
  // Records the first error at the current position.
  bool Fail(std::string message);
  // "invalid JSON at byte N: <reason>"
  std::string ErrorMessage() const;

 private:
  bool Read4Hex(uint32_t* out);
  static std::string Describe(char c);
  friend class JsonParser;

  const char* begin_;
  const char* p_;
  const char* end_;
  uint32_t max_depth_;
  std::string err_;
  size_t err_pos_ = 0;
};

// Appends `s` to `out` as a JSON string literal (with quotes). Control
// characters are escaped; invalid UTF-8 becomes U+FFFD so the output is
// always valid JSON.
void AppendJsonString(std::string* out, std::string_view s);
std::string JsonQuote(std::string_view s);

// ASCII case-insensitive equality.
bool EqualsFold(std::string_view a, std::string_view b);

}  // namespace apiary::extender
