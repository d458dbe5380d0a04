#include "apiary/extender/json_doc.h"

#include <cstring>
#include <limits>

namespace apiary::extender {

const char* JsonTypeName(JsonType t) {
  switch (t) {
    case JsonType::kNull: return "null";
    case JsonType::kFalse:
    case JsonType::kTrue: return "boolean";
    case JsonType::kNumber: return "number";
    case JsonType::kString: return "string";
    case JsonType::kArray: return "array";
    case JsonType::kObject: return "object";
  }
  return "?";
}

bool EqualsFold(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    unsigned char x = static_cast<unsigned char>(a[i]);
    unsigned char y = static_cast<unsigned char>(b[i]);
    if (x == y) continue;
    if (x >= 'A' && x <= 'Z') x = static_cast<unsigned char>(x + 32);
    if (y >= 'A' && y <= 'Z') y = static_cast<unsigned char>(y + 32);
    if (x != y) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------
// Scanner: the lexer shared by JsonDoc and the envelope decoders.

std::string JsonScanner::Describe(char c) {
  unsigned char u = static_cast<unsigned char>(c);
  if (u >= 0x20 && u < 0x7f) return std::string("'") + c + "'";
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02x", u);
  return buf;
}

bool JsonScanner::Fail(std::string message) {
  if (err_.empty()) {
    err_ = std::move(message);
    err_pos_ = pos();
  }
  return false;
}

std::string JsonScanner::ErrorMessage() const {
  return "invalid JSON at byte " + std::to_string(err_pos_) + ": " + err_;
}

namespace {

int Hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void AppendUtf8(std::string* s, uint32_t cp) {
  if (cp < 0x80) {
    s->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    s->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    s->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    s->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    s->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    s->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    s->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    s->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    s->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    s->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace

bool JsonScanner::Read4Hex(uint32_t* out) {
  if (end_ - p_ < 4) return Fail("truncated \\u escape");
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) {
    int h = Hex(p_[i]);
    if (h < 0) return Fail("invalid \\u escape");
    v = (v << 4) | static_cast<uint32_t>(h);
  }
  p_ += 4;
  *out = v;
  return true;
}

bool JsonScanner::ReadString(std::string_view* out, std::deque<std::string>* arena) {
  SkipSpace();
  if (p_ >= end_ || *p_ != '"') return Fail(p_ >= end_ ? "unexpected end of input, expected a string"
                                                       : "expected a string, got " + Describe(*p_));
  ++p_;
  const char* start = p_;
  // Fast path: no escapes. memchr-like scan for the closing quote.
  while (p_ < end_) {
    unsigned char c = static_cast<unsigned char>(*p_);
    if (c == '"') {
      *out = std::string_view(start, static_cast<size_t>(p_ - start));
      ++p_;
      return true;
    }
    if (c == '\\') break;
    if (c < 0x20) return Fail("control character in string");
    ++p_;
  }
  if (p_ >= end_) return Fail("unterminated string");
  // Slow path: decode escapes (into the arena, or just validate).
  std::string scratch;
  std::string& s = arena ? arena->emplace_back(start, static_cast<size_t>(p_ - start)) : scratch;
  while (p_ < end_) {
    char c = *p_;
    if (c == '"') {
      ++p_;
      *out = arena ? std::string_view(s) : std::string_view();
      return true;
    }
    if (static_cast<unsigned char>(c) < 0x20) return Fail("control character in string");
    if (c != '\\') {
      if (arena) s.push_back(c);
      ++p_;
      continue;
    }
    ++p_;
    if (p_ >= end_) break;
    char e = *p_++;
    char decoded = 0;
    switch (e) {
      case '"': decoded = '"'; break;
      case '\\': decoded = '\\'; break;
      case '/': decoded = '/'; break;
      case 'b': decoded = '\b'; break;
      case 'f': decoded = '\f'; break;
      case 'n': decoded = '\n'; break;
      case 'r': decoded = '\r'; break;
      case 't': decoded = '\t'; break;
      case 'u': {
        uint32_t cp;
        if (!Read4Hex(&cp)) return false;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          // A high surrogate: a low one must follow, else U+FFFD (as Go).
          if (end_ - p_ >= 6 && p_[0] == '\\' && p_[1] == 'u') {
            const char* save = p_;
            p_ += 2;
            uint32_t lo;
            if (!Read4Hex(&lo)) return false;
            if (lo >= 0xDC00 && lo <= 0xDFFF) {
              cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else {
              p_ = save;
              cp = 0xFFFD;
            }
          } else {
            cp = 0xFFFD;
          }
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
          cp = 0xFFFD;
        }
        if (arena) AppendUtf8(&s, cp);
        continue;
      }
      default:
        --p_;
        return Fail(std::string("invalid escape \\") + (e >= 0x20 && e < 0x7f ? std::string(1, e) : "?"));
    }
    if (arena) s.push_back(decoded);
  }
  return Fail("unterminated string");
}

bool JsonScanner::ReadLiteral(const char* lit) {
  size_t n = std::strlen(lit);
  if (static_cast<size_t>(end_ - p_) < n || std::memcmp(p_, lit, n) != 0)
    return Fail(std::string("invalid literal, expected ") + lit);
  p_ += n;
  return true;
}

bool JsonScanner::ConsumeNull() {
  SkipSpace();
  if (end_ - p_ >= 4 && std::memcmp(p_, "null", 4) == 0) {
    p_ += 4;
    return true;
  }
  return false;
}

bool JsonScanner::ReadNumber(std::string_view* out) {
  const char* start = p_;
  auto digit = [&] { return p_ < end_ && *p_ >= '0' && *p_ <= '9'; };
  if (p_ < end_ && *p_ == '-') ++p_;
  if (p_ >= end_) return Fail("malformed number");
  if (*p_ == '0') {
    ++p_;
  } else if (digit()) {
    while (digit()) ++p_;
  } else {
    return Fail("malformed number");
  }
  if (p_ < end_ && *p_ == '.') {
    ++p_;
    if (!digit()) return Fail("malformed number");
    while (digit()) ++p_;
  }
  if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
    ++p_;
    if (p_ < end_ && (*p_ == '+' || *p_ == '-')) ++p_;
    if (!digit()) return Fail("malformed number");
    while (digit()) ++p_;
  }
  *out = std::string_view(start, static_cast<size_t>(p_ - start));
  return true;
}

bool JsonScanner::SkipValue(uint32_t depth) {
  SkipSpace();
  if (p_ >= end_) return Fail("unexpected end of input, expected a value");
  char c = *p_;
  if (c == '"') {
    std::string_view ignored;
    return ReadString(&ignored, nullptr);
  }
  if (c == '{' || c == '[') {
    if (depth >= max_depth_) return Fail("nesting deeper than " + std::to_string(max_depth_));
    const char close = c == '{' ? '}' : ']';
    ++p_;
    if (Consume(close)) return true;
    for (;;) {
      if (c == '{') {
        std::string_view key;
        if (!ReadString(&key, nullptr)) return false;
        if (!Consume(':')) return Fail("expected ':' after object key");
      }
      if (!SkipValue(depth + 1)) return false;
      if (Consume(',')) continue;
      if (Consume(close)) return true;
      if (AtEnd()) return Fail(c == '{' ? "unterminated object" : "unterminated array");
      return Fail(std::string("expected ',' or '") + close + "' in " + (c == '{' ? "object" : "array") +
                  ", got " + Describe(*p_));
    }
  }
  if (c == 't') return ReadLiteral("true");
  if (c == 'f') return ReadLiteral("false");
  if (c == 'n') return ReadLiteral("null");
  if (c == '-' || (c >= '0' && c <= '9')) {
    std::string_view ignored;
    return ReadNumber(&ignored);
  }
  return Fail("unexpected character " + Describe(c));
}

// ---------------------------------------------------------------------------
// Parser: recursive descent with an explicit depth bound (so no input can
// exhaust the stack), building JsonDoc::nodes_ in document order.

class JsonParser {
 public:
  JsonParser(JsonDoc* doc, std::string_view text, uint32_t max_depth)
      : doc_(doc), lex_(text, max_depth), size_(text.size()) {}

  cell::Status Run() {
    if (static_cast<uint64_t>(size_) >= std::numeric_limits<uint32_t>::max())
      return cell::Status::Invalid("JSON document too large");
    lex_.SkipSpace();
    if (!ParseValue(0)) return Error();
    lex_.SkipSpace();
    if (!lex_.AtEnd()) {
      lex_.Fail("unexpected data after the JSON value");
      return Error();
    }
    return cell::Status::Ok();
  }

 private:
  cell::Status Error() const { return cell::Status::Invalid(lex_.ErrorMessage()); }
  uint32_t Pos() const { return static_cast<uint32_t>(lex_.pos()); }

  uint32_t NewNode(JsonType t) {
    doc_->nodes_.emplace_back();
    doc_->nodes_.back().type = t;
    doc_->nodes_.back().begin = Pos();
    return static_cast<uint32_t>(doc_->nodes_.size() - 1);
  }

  bool ParseValue(uint32_t depth) {
    lex_.SkipSpace();
    if (lex_.AtEnd()) return lex_.Fail("unexpected end of input, expected a value");
    char c = *lex_.cursor();
    switch (c) {
      case '{': return ParseContainer(depth, true);
      case '[': return ParseContainer(depth, false);
      case '"': {
        uint32_t n = NewNode(JsonType::kString);
        std::string_view s;
        if (!lex_.ReadString(&s, &doc_->arena_)) return false;
        doc_->nodes_[n].str = s;
        doc_->nodes_[n].end = Pos();
        return true;
      }
      case 't':
      case 'f':
      case 'n': {
        JsonType t = c == 't' ? JsonType::kTrue : c == 'f' ? JsonType::kFalse : JsonType::kNull;
        uint32_t n = NewNode(t);
        if (!lex_.ReadLiteral(c == 't' ? "true" : c == 'f' ? "false" : "null")) return false;
        doc_->nodes_[n].end = Pos();
        return true;
      }
      default: {
        if (c != '-' && !(c >= '0' && c <= '9'))
          return lex_.Fail("unexpected character " + JsonScanner::Describe(c));
        uint32_t n = NewNode(JsonType::kNumber);
        std::string_view num;
        if (!lex_.ReadNumber(&num)) return false;
        doc_->nodes_[n].str = num;
        doc_->nodes_[n].end = Pos();
        return true;
      }
    }
  }

  bool ParseContainer(uint32_t depth, bool object) {
    if (depth >= lex_.max_depth()) return lex_.Fail("nesting deeper than " + std::to_string(lex_.max_depth()));
    uint32_t node = NewNode(object ? JsonType::kObject : JsonType::kArray);
    const char close = object ? '}' : ']';
    lex_.Consume(object ? '{' : '[');
    uint32_t prev = 0, count = 0;
    if (lex_.Consume(close)) {
      doc_->nodes_[node].end = Pos();
      return true;
    }
    for (;;) {
      std::string_view key;
      if (object) {
        if (lex_.Peek() != '"')
          return lex_.Fail(lex_.AtEnd() ? "unterminated object"
                                        : "expected a string key, got " + JsonScanner::Describe(*lex_.cursor()));
        if (!lex_.ReadString(&key, &doc_->arena_)) return false;
        if (!lex_.Consume(':')) return lex_.Fail("expected ':' after object key");
      }
      uint32_t child = static_cast<uint32_t>(doc_->nodes_.size());
      if (!ParseValue(depth + 1)) return false;
      doc_->nodes_[child].key = key;
      if (prev) doc_->nodes_[prev].next = child;
      else doc_->nodes_[node].first = child;
      prev = child;
      ++count;
      if (lex_.Consume(',')) continue;
      if (lex_.Consume(close)) break;
      if (lex_.AtEnd()) return lex_.Fail(object ? "unterminated object" : "unterminated array");
      return lex_.Fail(std::string("expected ',' or '") + close + "' in " + (object ? "object" : "array") +
                       ", got " + JsonScanner::Describe(*lex_.cursor()));
    }
    doc_->nodes_[node].count = count;
    doc_->nodes_[node].end = Pos();
    return true;
  }

  JsonDoc* doc_;
  JsonScanner lex_;
  size_t size_;
};

cell::Result<JsonDoc> JsonDoc::Parse(std::string_view text, uint32_t max_depth) {
  JsonDoc doc;
  doc.text_ = text;
  // A rough guess that avoids most reallocations for node-name lists.
  doc.nodes_.reserve(text.size() / 16 + 4);
  JsonParser parser(&doc, text, max_depth);
  cell::Status st = parser.Run();
  if (!st.ok()) return st;
  return doc;
}

// ---------------------------------------------------------------------------
// JsonRef

JsonType JsonRef::type() const { return doc_->nodes_[index_].type; }

const char* JsonRef::TypeName() const { return present() ? JsonTypeName(type()) : "absent"; }

std::string_view JsonRef::str() const { return present() ? doc_->nodes_[index_].str : ""; }

std::string_view JsonRef::raw() const {
  if (!present()) return "";
  const auto& n = doc_->nodes_[index_];
  return doc_->text_.substr(n.begin, n.end - n.begin);
}

std::string_view JsonRef::Key() const { return present() ? doc_->nodes_[index_].key : ""; }

uint32_t JsonRef::size() const { return present() ? doc_->nodes_[index_].count : 0; }

bool JsonRef::GetInt64(int64_t* out) const {
  if (!IsNumber()) return false;
  std::string_view s = str();
  bool neg = false;
  size_t i = 0;
  if (!s.empty() && s[0] == '-') {
    neg = true;
    i = 1;
  }
  if (i >= s.size()) return false;
  uint64_t v = 0;
  for (; i < s.size(); ++i) {
    char c = s[i];
    if (c < '0' || c > '9') return false;  // fraction or exponent: not an int
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (std::numeric_limits<uint64_t>::max() - d) / 10) return false;
    v = v * 10 + d;
  }
  if (neg) {
    if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) + 1) return false;
    *out = v == static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) + 1
               ? std::numeric_limits<int64_t>::min()
               : -static_cast<int64_t>(v);
  } else {
    if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return false;
    *out = static_cast<int64_t>(v);
  }
  return true;
}

JsonRef JsonRef::Find(std::string_view key) const {
  if (!IsObject()) return JsonRef();
  uint32_t exact = 0, folded = 0;
  for (uint32_t c = doc_->nodes_[index_].first; c; c = doc_->nodes_[c].next) {
    std::string_view k = doc_->nodes_[c].key;
    if (k == key) exact = c;
    else if (EqualsFold(k, key)) folded = c;
  }
  if (exact) return JsonRef(doc_, exact);
  if (folded) return JsonRef(doc_, folded);
  return JsonRef();
}

JsonRef::Iterator JsonRef::begin() const {
  if (!present()) return Iterator(doc_, 0);
  const auto& n = doc_->nodes_[index_];
  if (n.type != JsonType::kArray && n.type != JsonType::kObject) return Iterator(doc_, 0);
  return Iterator(doc_, n.first);
}

JsonRef::Iterator& JsonRef::Iterator::operator++() {
  index_ = doc_->nodes_[index_].next;
  return *this;
}

// ---------------------------------------------------------------------------
// Encoding

namespace {

// Length of a valid UTF-8 sequence starting at s[i], or 0 if invalid.
size_t Utf8SeqLen(std::string_view s, size_t i) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  size_t n;
  uint32_t cp;
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0) {
    n = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    unsigned char cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3F);
  }
  if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
      cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return n;
}

}  // namespace

void AppendJsonString(std::string* out, std::string_view s) {
  static const char kHex[] = "0123456789abcdef";
  out->push_back('"');
  size_t i = 0;
  while (i < s.size()) {
    // Copy the longest run that needs no escaping in one go.
    size_t j = i;
    while (j < s.size()) {
      unsigned char c = static_cast<unsigned char>(s[j]);
      if (c < 0x20 || c == '"' || c == '\\' || c >= 0x80) break;
      ++j;
    }
    out->append(s.data() + i, j - i);
    i = j;
    if (i >= s.size()) break;
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      size_t n = Utf8SeqLen(s, i);
      if (n == 0) {
        out->append("\\ufffd");
        ++i;
      } else {
        out->append(s.data() + i, n);
        i += n;
      }
      continue;
    }
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      default:
        out->append("\\u00");
        out->push_back(kHex[c >> 4]);
        out->push_back(kHex[c & 0xF]);
    }
    ++i;
  }
  out->push_back('"');
}

std::string JsonQuote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  AppendJsonString(&out, s);
  return out;
}

}  // namespace apiary::extender
