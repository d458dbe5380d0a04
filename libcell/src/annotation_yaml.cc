// YAML scalars for the pod annotations: resolving plain scalars as yaml.v2
// does, decoding typed fields from a YamlTree, and writing scalars as
// yaml.v2 does (annotation_yaml.h).
#include "annotation_yaml.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace apiary::cell::annotation_yaml {
namespace {

bool OneOf(std::string_view s, std::initializer_list<std::string_view> set) {
  for (std::string_view x : set) {
    if (s == x) return true;
  }
  return false;
}

// Go's strconv.ParseUint(s, 0, 64) on an unsigned digit string (after any
// sign has been removed): base prefixes 0x, 0o, 0b, a leading 0 for octal.
bool ParseGoUintBase0(std::string_view s, uint64_t* out) {
  if (s.empty()) return false;
  int base = 10;
  if (s[0] == '0') {
    char p = s.size() >= 3 ? static_cast<char>(s[1] | 0x20) : '\0';
    if (p == 'x') {
      base = 16;
      s.remove_prefix(2);
    } else if (p == 'o') {
      base = 8;
      s.remove_prefix(2);
    } else if (p == 'b') {
      base = 2;
      s.remove_prefix(2);
    } else {
      base = 8;
      s.remove_prefix(1);
    }
  }
  uint64_t value = 0;
  for (char c : s) {
    int d;
    if (IsDigit(c)) {
      d = c - '0';
    } else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') {
      d = (c | 0x20) - 'a' + 10;
    } else {
      return false;
    }
    if (d >= base) return false;
    if (value > (std::numeric_limits<uint64_t>::max() - d) / base) return false;
    value = value * base + d;
  }
  *out = value;
  return true;
}

// ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$  (yaml.v2's float
// pattern).
bool MatchesYamlFloat(std::string_view s) {
  size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  size_t int_digits = 0;
  while (i < s.size() && IsDigit(s[i])) ++i, ++int_digits;
  if (int_digits == 0) {
    if (i >= s.size() || s[i] != '.') return false;
    ++i;
    size_t frac = 0;
    while (i < s.size() && IsDigit(s[i])) ++i, ++frac;
    if (frac == 0) return false;
  } else if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && IsDigit(s[i])) ++i;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    size_t exp = 0;
    while (i < s.size() && IsDigit(s[i])) ++i, ++exp;
    if (exp == 0) return false;
  }
  return i == s.size();
}

// Go's strconv.ParseFloat on text already known to match a decimal float
// pattern: fails only on overflow to infinity.
bool ParseDecimalFloat(std::string_view s, double* out) {
  std::string copy(s);
  errno = 0;
  double v = std::strtod(copy.c_str(), nullptr);
  if (errno == ERANGE && std::isinf(v)) return false;
  *out = v;
  return true;
}

// Reads 1 or 2 digits (Go time.Parse's non-fixed numbers).
bool TakeNumber(std::string_view* s, int* out) {
  if (s->empty() || !IsDigit((*s)[0])) return false;
  int v = (*s)[0] - '0';
  size_t n = 1;
  if (s->size() >= 2 && IsDigit((*s)[1])) v = v * 10 + ((*s)[1] - '0'), n = 2;
  s->remove_prefix(n);
  *out = v;
  return true;
}

bool TakeChar(std::string_view* s, char c) {
  if (s->empty() || (*s)[0] != c) return false;
  s->remove_prefix(1);
  return true;
}

int DaysIn(int month, int year) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30,
                                  31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month - 1];
}

// yaml.v2's timestamp recognition: Go time.Parse with the layouts
// "2006-1-2T15:4:5.999999999Z07:00" (also with 't'),
// "2006-1-2 15:4:5.999999999" and "2006-1-2".
bool IsYamlTimestamp(std::string_view s) {
  if (s.size() < 5) return false;
  for (int i = 0; i < 4; ++i) {
    if (!IsDigit(s[i])) return false;
  }
  if (s[4] != '-') return false;
  int year = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 +
             (s[3] - '0');
  s.remove_prefix(5);
  int month, day;
  if (!TakeNumber(&s, &month) || !TakeChar(&s, '-') || !TakeNumber(&s, &day)) {
    return false;
  }
  if (month < 1 || month > 12 || day < 1 || day > DaysIn(month, year)) {
    return false;
  }
  if (s.empty()) return true;
  char sep = s[0];
  if (sep != 'T' && sep != 't' && sep != ' ') return false;
  s.remove_prefix(1);
  int hour, minute, second;
  if (!TakeNumber(&s, &hour) || hour > 23 || !TakeChar(&s, ':') ||
      !TakeNumber(&s, &minute) || minute > 59 || !TakeChar(&s, ':') ||
      !TakeNumber(&s, &second) || second > 59) {
    return false;
  }
  if (s.size() >= 2 && s[0] == '.' && IsDigit(s[1])) {
    s.remove_prefix(1);
    while (!s.empty() && IsDigit(s[0])) s.remove_prefix(1);
  }
  if (sep == ' ') return s.empty();
  if (s == "Z") return true;
  return s.size() == 6 && (s[0] == '+' || s[0] == '-') && IsDigit(s[1]) &&
         IsDigit(s[2]) && s[3] == ':' && IsDigit(s[4]) && IsDigit(s[5]);
}

// ^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$  (yaml.v2 quotes these
// sexagesimal numbers, which YAML 1.1 readers take as floats).
bool IsBase60Float(std::string_view s) {
  size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  if (i >= s.size() || !IsDigit(s[i])) return false;
  ++i;
  while (i < s.size() && (IsDigit(s[i]) || s[i] == '_')) ++i;
  int groups = 0;
  while (i < s.size() && s[i] == ':') {
    ++i;
    size_t start = i;
    while (i < s.size() && IsDigit(s[i]) && i - start < 2) ++i;
    size_t n = i - start;
    if (n == 0) return false;
    if (n == 2 && s[start] > '5') return false;
    ++groups;
  }
  if (groups == 0) return false;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && (IsDigit(s[i]) || s[i] == '_')) ++i;
  }
  return i == s.size();
}

}  // namespace

Resolved ResolvePlain(std::string_view in) {
  Resolved r;
  if (in.empty()) {
    r.kind = ScalarKind::kNull;
    return r;
  }
  const char c = in[0];
  const bool sign = c == '+' || c == '-';
  const bool digit = IsDigit(c);
  const bool dot = c == '.';
  const bool word =
      std::string_view("yYnNtTfFoO~").find(c) != std::string_view::npos;
  if (!sign && !digit && !dot && !word) return r;  // no hint: a string

  if (OneOf(in, {"y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on",
                 "On", "ON"})) {
    r.kind = ScalarKind::kBool;
    r.bool_value = true;
    return r;
  }
  if (OneOf(in, {"n", "N", "no", "No", "NO", "false", "False", "FALSE", "off",
                 "Off", "OFF"})) {
    r.kind = ScalarKind::kBool;
    r.bool_value = false;
    return r;
  }
  if (OneOf(in, {"~", "null", "Null", "NULL"})) {
    r.kind = ScalarKind::kNull;
    return r;
  }
  if (OneOf(in, {".nan", ".NaN", ".NAN"})) {
    r.kind = ScalarKind::kFloat;
    r.float_value = std::numeric_limits<double>::quiet_NaN();
    return r;
  }
  if (OneOf(in, {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"})) {
    r.kind = ScalarKind::kFloat;
    r.float_value = std::numeric_limits<double>::infinity();
    return r;
  }
  if (OneOf(in, {"-.inf", "-.Inf", "-.INF"})) {
    r.kind = ScalarKind::kFloat;
    r.float_value = -std::numeric_limits<double>::infinity();
    return r;
  }
  if (word) return r;
  if (dot) {
    // Go's ParseFloat on ".5", ".5e3": no underscores, no sign.
    if (MatchesYamlFloat(in) && ParseDecimalFloat(in, &r.float_value)) {
      r.kind = ScalarKind::kFloat;
    }
    return r;
  }
  if (IsYamlTimestamp(in)) {
    r.kind = ScalarKind::kTimestamp;
    return r;
  }
  std::string plain;
  plain.reserve(in.size());
  for (char ch : in) {
    if (ch != '_') plain += ch;
  }
  std::string_view digits = plain;
  bool negative = false;
  if (!digits.empty() && (digits[0] == '+' || digits[0] == '-')) {
    negative = digits[0] == '-';
    digits.remove_prefix(1);
  }
  uint64_t magnitude;
  if (ParseGoUintBase0(digits, &magnitude)) {
    constexpr uint64_t kMaxInt64 = std::numeric_limits<int64_t>::max();
    // ParseInt takes a sign and the int64 range; ParseUint no sign.
    bool fits = negative ? magnitude <= kMaxInt64 + 1
                         : (magnitude <= kMaxInt64 || !sign);
    if (fits) {
      r.kind = ScalarKind::kInt;
      r.negative = negative && magnitude != 0;
      r.magnitude = magnitude;
      return r;
    }
  }
  if (MatchesYamlFloat(plain) && ParseDecimalFloat(plain, &r.float_value)) {
    r.kind = ScalarKind::kFloat;
  }
  return r;
}

// ---------------------------------------------------------------------------
// Decoding YAML trees into typed fields.

std::string QuoteForMessage(std::string_view s) {
  constexpr size_t kMax = 64;
  std::string out = "\"";
  size_t n = 0;
  for (char c : s) {
    if (n++ == kMax) {
      out += "...";
      break;
    }
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

std::string DescribeNode(const YamlTree& node) {
  switch (node.type()) {
    case YamlTree::Type::kMap:
      return "a map";
    case YamlTree::Type::kSequence:
      return "a sequence";
    case YamlTree::Type::kScalar:
      return QuoteForMessage(node.Scalar());
    default:
      return "null";
  }
}

[[noreturn]] void Fail(const std::string& path, const std::string& what) {
  throw DecodeError{path + ": " + what};
}

namespace {

constexpr char kTagStr[] = "tag:yaml.org,2002:str";
constexpr char kTagNull[] = "tag:yaml.org,2002:null";

// Plain (untagged, unquoted) scalars and those with an explicit core-schema
// tag other than !!str are typed by their text; quoted and block scalars,
// !!str and unknown tags are strings.
bool IsTypedByText(const YamlTree& node) {
  const std::string& tag = node.Tag();
  if (tag == "?" || tag.empty()) return true;
  return tag.rfind("tag:yaml.org,2002:", 0) == 0 && tag != kTagStr;
}

}  // namespace

// True for an explicit null (`~`, `null`, an empty value, `!!null`): Apiary
// treats it as an absent field.
bool IsNullNode(const YamlTree& node) {
  if (node.IsNull()) return true;
  return node.IsScalar() && node.Tag() == kTagNull;
}

int32_t DecodeInt(const YamlTree& node, const std::string& path) {
  const std::string expected = "expected an integer, got ";
  if (!node.IsScalar()) Fail(path, expected + DescribeNode(node));
  const std::string& text = node.Scalar();
  if (!IsTypedByText(node)) {
    Fail(path, expected + "the string " + QuoteForMessage(text));
  }
  Resolved r = ResolvePlain(text);
  constexpr int64_t kMin = std::numeric_limits<int32_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int32_t>::max();
  if (r.kind == ScalarKind::kInt) {
    if (r.negative ? r.magnitude > static_cast<uint64_t>(-kMin)
                   : r.magnitude > static_cast<uint64_t>(kMax)) {
      Fail(path, "integer " + QuoteForMessage(text) + " is out of range");
    }
    int64_t v = static_cast<int64_t>(r.magnitude);
    return static_cast<int32_t>(r.negative ? -v : v);
  }
  if (r.kind == ScalarKind::kFloat) {
    // HiveD truncates a fraction (Q13); Apiary accepts a float only when it
    // is a whole number (JSON writers may say 2.0).
    double v = r.float_value;
    if (!std::isfinite(v) || v != std::floor(v)) {
      Fail(path, expected + QuoteForMessage(text) +
                     " (a number with a fraction is not accepted)");
    }
    if (v < static_cast<double>(kMin) || v > static_cast<double>(kMax)) {
      Fail(path, "integer " + QuoteForMessage(text) + " is out of range");
    }
    return static_cast<int32_t>(v);
  }
  Fail(path, expected + QuoteForMessage(text));
}

bool DecodeBool(const YamlTree& node, const std::string& path) {
  const std::string expected = "expected a boolean, got ";
  if (!node.IsScalar()) Fail(path, expected + DescribeNode(node));
  const std::string& text = node.Scalar();
  if (!IsTypedByText(node)) {
    Fail(path, expected + "the string " + QuoteForMessage(text));
  }
  Resolved r = ResolvePlain(text);
  if (r.kind != ScalarKind::kBool) Fail(path, expected + QuoteForMessage(text));
  return r.bool_value;
}

// Any scalar is taken as its text, as yaml.v2 does for a string field
// (`virtualCluster: 123` is the VC "123").
std::string DecodeString(const YamlTree& node, const std::string& path) {
  if (!node.IsScalar()) {
    Fail(path, "expected a string, got " + DescribeNode(node));
  }
  return node.Scalar();
}

void RequireMap(const YamlTree& node, const std::string& path) {
  if (!node.IsMap()) Fail(path, "expected a map, got " + DescribeNode(node));
}

void RequireSequence(const YamlTree& node, const std::string& path) {
  if (!node.IsSequence()) {
    Fail(path, "expected a sequence, got " + DescribeNode(node));
  }
}

std::string Child(const std::string& path, std::string_view key) {
  if (path.empty()) return std::string(key);
  return path + "." + std::string(key);
}

std::string Item(const std::string& path, size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

std::vector<int32_t> DecodeIntList(const YamlTree& node,
                                   const std::string& path) {
  RequireSequence(node, path);
  std::vector<int32_t> out;
  out.reserve(node.size());
  for (size_t i = 0; i < node.size(); ++i) {
    out.push_back(DecodeInt(node[i], Item(path, i)));
  }
  return out;
}

std::vector<std::string> DecodeStringList(const YamlTree& node,
                                          const std::string& path) {
  RequireSequence(node, path);
  std::vector<std::string> out;
  out.reserve(node.size());
  for (size_t i = 0; i < node.size(); ++i) {
    const YamlTree& item = node[i];
    if (IsNullNode(item)) {
      Fail(Item(path, i), "expected a string, got null");
    }
    out.push_back(DecodeString(item, Item(path, i)));
  }
  return out;
}

namespace {

std::string DescribeYamlException(const YAML::Exception& e) {
  if (e.mark.is_null()) return e.msg;
  return "line " + std::to_string(e.mark.line + 1) + ", column " +
         std::to_string(e.mark.column + 1) + ": " + e.msg;
}

}  // namespace

// Runs `decode` on the parsed document; every failure becomes a Status with
// `prefix` (the annotation's name) and HiveD's "Failed to unmarshal" lead.
Status DecodeDocument(std::string_view text, const char* prefix,
                      const std::function<void(const YamlTree&)>& decode) {
  auto unmarshal_error = [&](const std::string& detail) {
    return Status::Invalid(std::string(prefix) + kUnmarshalPrefix + detail);
  };
  try {
    YamlTree root;
    if (!YamlTree::ParseSimple(text, &root)) root = YamlTree::FromYamlCpp(YAML::Load(std::string(text)));
    decode(root);
  } catch (const DecodeError& e) {
    return unmarshal_error(e.message);
  } catch (const YAML::Exception& e) {
    return unmarshal_error(DescribeYamlException(e));
  } catch (const std::exception& e) {
    return unmarshal_error(e.what());
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------
// Emitting scalars as yaml.v2 does.

namespace {

// Decodes one UTF-8 code point at s[*i]; false on malformed input.
bool NextCodePoint(std::string_view s, size_t* i, uint32_t* cp) {
  unsigned char c = static_cast<unsigned char>(s[*i]);
  size_t n;
  uint32_t v;
  if (c < 0x80) {
    n = 1, v = c;
  } else if ((c & 0xE0) == 0xC0) {
    n = 2, v = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3, v = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4, v = c & 0x07;
  } else {
    return false;
  }
  if (*i + n > s.size()) return false;
  for (size_t k = 1; k < n; ++k) {
    unsigned char cc = static_cast<unsigned char>(s[*i + k]);
    if ((cc & 0xC0) != 0x80) return false;
    v = (v << 6) | (cc & 0x3F);
  }
  static constexpr uint32_t kMinForLength[] = {0, 0, 0x80, 0x800, 0x10000};
  if (v < kMinForLength[n] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
    return false;
  }
  *i += n;
  *cp = v;
  return true;
}

std::vector<uint32_t> DecodeUtf8(std::string_view s, bool* valid) {
  std::vector<uint32_t> out;
  size_t i = 0;
  *valid = true;
  while (i < s.size()) {
    uint32_t cp;
    if (!NextCodePoint(s, &i, &cp)) {
      *valid = false;
      return out;
    }
    out.push_back(cp);
  }
  return out;
}

// libyaml's is_printable, as yaml.v2 ports it (byte-based, which leaves out
// the 4-byte sequences).
bool IsPrintable(uint32_t c) {
  return c == 0x0A || (c >= 0x20 && c <= 0x7E) || (c >= 0xA0 && c <= 0xD7FF) ||
         (c >= 0xE000 && c <= 0xFFFD && c != 0xFEFF);
}
bool IsBreak(uint32_t c) {
  return c == '\r' || c == '\n' || c == 0x85 || c == 0x2028 || c == 0x2029;
}
bool IsSpace(uint32_t c) { return c == ' '; }
bool IsBlankOrEnd(const std::vector<uint32_t>& s, size_t i) {
  return i >= s.size() || s[i] == ' ' || s[i] == '\t' || IsBreak(s[i]) ||
         s[i] == 0;
}

enum class ScalarStyle { kPlain, kSingleQuoted, kDoubleQuoted };

// The style yaml.v2 picks for a string value in block context: plain when the
// text reads back as the same string and has no indicators; else single
// quotes when allowed; else double quotes. Apiary uses double quotes where
// yaml.v2 would write a literal block (text with line breaks) or !!binary
// (invalid UTF-8): same value for a YAML reader, simpler text.
ScalarStyle ChooseStyle(std::string_view s) {
  if (s.find('\n') != std::string_view::npos) return ScalarStyle::kDoubleQuoted;
  bool valid;
  std::vector<uint32_t> cps = DecodeUtf8(s, &valid);
  if (!valid) return ScalarStyle::kDoubleQuoted;
  if (ResolvePlain(s).kind != ScalarKind::kString || IsBase60Float(s)) {
    return ScalarStyle::kDoubleQuoted;  // would read back as another type
  }
  // libyaml's scalar analysis, reduced to the block-context decisions.
  bool block_indicators = false;
  bool leading_space = false, trailing_space = false;
  bool line_breaks = false, special = false;
  bool break_space = false, space_break = false;
  bool previous_space = false, previous_break = false;
  if (s.size() >= 3 && (s.substr(0, 3) == "---" || s.substr(0, 3) == "...")) {
    block_indicators = true;
  }
  bool preceded_by_whitespace = true;
  for (size_t i = 0; i < cps.size(); ++i) {
    const uint32_t c = cps[i];
    const bool followed_by_whitespace = IsBlankOrEnd(cps, i + 1);
    if (i == 0) {
      if (std::string_view("#,[]{}&*!|>'\"%@`").find(static_cast<char>(c)) !=
              std::string_view::npos &&
          c < 0x80) {
        block_indicators = true;
      }
      if ((c == '?' || c == ':' || c == '-') && followed_by_whitespace) {
        block_indicators = true;
      }
    } else {
      if (c == ':' && followed_by_whitespace) block_indicators = true;
      if (c == '#' && preceded_by_whitespace) block_indicators = true;
    }
    if (!IsPrintable(c)) special = true;
    if (IsSpace(c)) {
      if (i == 0) leading_space = true;
      if (i + 1 == cps.size()) trailing_space = true;
      if (previous_break) break_space = true;
      previous_space = true;
      previous_break = false;
    } else if (IsBreak(c)) {
      line_breaks = true;
      if (previous_space) space_break = true;
      previous_space = false;
      previous_break = true;
    } else {
      previous_space = false;
      previous_break = false;
    }
    preceded_by_whitespace = IsBlankOrEnd(cps, i);
  }
  bool plain_allowed = !block_indicators && !leading_space && !trailing_space &&
                       !line_breaks && !special && !break_space && !space_break;
  if (plain_allowed) return ScalarStyle::kPlain;
  // A line break inside single quotes would be folded by libyaml's writer;
  // double quotes keep the code simple and the value exact.
  if (special || break_space || space_break || line_breaks) {
    return ScalarStyle::kDoubleQuoted;
  }
  return ScalarStyle::kSingleQuoted;
}

void AppendHex(std::string* out, uint32_t v, int digits) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (int k = digits - 1; k >= 0; --k) *out += kHex[(v >> (4 * k)) & 15];
}

void AppendUtf8(std::string* out, uint32_t c) {
  if (c < 0x80) {
    *out += static_cast<char>(c);
  } else if (c < 0x800) {
    *out += static_cast<char>(0xC0 | (c >> 6));
    *out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    *out += static_cast<char>(0xE0 | (c >> 12));
    *out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    *out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    *out += static_cast<char>(0xF0 | (c >> 18));
    *out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    *out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    *out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

void AppendEscape(std::string* out, uint32_t c) {
  *out += '\\';
  switch (c) {
    case 0x00:
      *out += '0';
      return;
    case 0x07:
      *out += 'a';
      return;
    case 0x08:
      *out += 'b';
      return;
    case 0x09:
      *out += 't';
      return;
    case 0x0A:
      *out += 'n';
      return;
    case 0x0B:
      *out += 'v';
      return;
    case 0x0C:
      *out += 'f';
      return;
    case 0x0D:
      *out += 'r';
      return;
    case 0x1B:
      *out += 'e';
      return;
    case 0x22:
      *out += '"';
      return;
    case 0x5C:
      *out += '\\';
      return;
    // libyaml writes \N and \_ for U+0085 and U+00A0; yaml-cpp reads those
    // two escapes back as single bytes (not UTF-8), so they fall through to
    // \x85 / \xA0, which every reader takes as the code point.
    case 0x2028:
      *out += 'L';
      return;
    case 0x2029:
      *out += 'P';
      return;
    default:
      break;
  }
  if (c <= 0xFF) {
    *out += 'x';
    AppendHex(out, c, 2);
  } else if (c <= 0xFFFF) {
    *out += 'u';
    AppendHex(out, c, 4);
  } else {
    *out += 'U';
    AppendHex(out, c, 8);
  }
}

}  // namespace

void AppendDoubleQuoted(std::string* out, std::string_view s) {
  *out += '"';
  size_t i = 0;
  while (i < s.size()) {
    uint32_t c;
    size_t start = i;
    if (!NextCodePoint(s, &i, &c)) {
      // Not UTF-8: escape the byte. A reader gets U+00XX for it; such text
      // cannot come from Kubernetes names or a YAML config anyway.
      AppendEscape(out, static_cast<unsigned char>(s[start]));
      i = start + 1;
      continue;
    }
    if (!IsPrintable(c) || c == 0xFEFF || IsBreak(c) || c == '"' || c == '\\') {
      AppendEscape(out, c);
    } else {
      AppendUtf8(out, c);
    }
  }
  *out += '"';
}

void AppendScalar(std::string* out, std::string_view s) {
  switch (ChooseStyle(s)) {
    case ScalarStyle::kPlain:
      *out += s;
      return;
    case ScalarStyle::kSingleQuoted:
      *out += '\'';
      for (char c : s) {
        if (c == '\'') *out += '\'';
        *out += c;
      }
      *out += '\'';
      return;
    case ScalarStyle::kDoubleQuoted:
      AppendDoubleQuoted(out, s);
      return;
  }
}

}  // namespace apiary::cell::annotation_yaml
