// YAML scalars for the pod annotations (annotations.h; not installed): the
// shared reading and writing rules of spec (pod_spec_annotation.cc) and bind
// info (bind_info_annotation.cc).
//
// Reading: a document becomes a YamlTree (yaml_tree.h): libyaml for the
// common documents, yaml-cpp for the rest (and for every error message), both
// with yaml-cpp's meanings. Scalar typing is ours: yaml-cpp would convert
// "1.5" to an int by truncation and "yes" to a string, while HiveD's reader
// (Go yaml.v2, YAML 1.1 rules) types plain scalars by their text. We resolve
// plain scalars the way yaml.v2 does (ResolvePlain), then apply Apiary's
// stricter decisions (a fraction is an error; an explicit null is an absent
// field).
//
// Writing is by hand, not through YAML::Emitter: the bind info must be
// byte-identical to HiveD's (yaml.v2's block style, sequences at the parent
// key's indentation, yaml.v2's choice of when to quote a string).
//
// Errors: every yaml-cpp exception is caught in DecodeDocument; field-level
// problems are reported through DecodeError (Fail), an exception private to
// the annotation readers, caught there too and turned into a Status naming
// the field.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "apiary/cell/status.h"
#include "yaml_tree.h"

namespace apiary::cell::annotation_yaml {

inline constexpr char kEmptyAnnotation[] = "Annotation does not exist or is empty";
inline constexpr char kUnmarshalPrefix[] = "Failed to unmarshal YAML: ";

// ---------------------------------------------------------------------------
// Resolving plain scalars as yaml.v2 does (YAML 1.1 core schema).

enum class ScalarKind { kNull, kBool, kInt, kFloat, kTimestamp, kString };

struct Resolved {
  ScalarKind kind = ScalarKind::kString;
  bool bool_value = false;
  // kInt: the value is (negative ? -magnitude : magnitude); it fits in int64
  // or (non-negative) uint64, as Go's ParseInt / ParseUint would accept.
  bool negative = false;
  uint64_t magnitude = 0;
  double float_value = 0;  // kFloat
};

inline bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// The type and value yaml.v2 gives the plain scalar `in`.
Resolved ResolvePlain(std::string_view in);

// ---------------------------------------------------------------------------
// Decoding YAML trees into typed fields. Each Decode* throws DecodeError
// naming `path` when the node does not have the expected type.

struct DecodeError {
  std::string message;
};

// `s` in double quotes for a message, control bytes escaped, at most 64
// bytes (then "...").
std::string QuoteForMessage(std::string_view s);
// "a map", "a sequence", the quoted scalar or "null".
std::string DescribeNode(const YamlTree& node);
[[noreturn]] void Fail(const std::string& path, const std::string& what);

// True for an explicit null (`~`, `null`, an empty value, `!!null`): Apiary
// treats it as an absent field.
bool IsNullNode(const YamlTree& node);

int32_t DecodeInt(const YamlTree& node, const std::string& path);
bool DecodeBool(const YamlTree& node, const std::string& path);
// Any scalar is taken as its text, as yaml.v2 does for a string field
// (`virtualCluster: 123` is the VC "123").
std::string DecodeString(const YamlTree& node, const std::string& path);
void RequireMap(const YamlTree& node, const std::string& path);
void RequireSequence(const YamlTree& node, const std::string& path);
// "path.key" ("key" at the top level) and "path[i]".
std::string Child(const std::string& path, std::string_view key);
std::string Item(const std::string& path, size_t i);
std::vector<int32_t> DecodeIntList(const YamlTree& node, const std::string& path);
std::vector<std::string> DecodeStringList(const YamlTree& node, const std::string& path);

// Visits the entries of a map in document order, with the key text. Non-
// scalar keys cannot name a field and are skipped, like unknown names. A key
// given twice is visited twice: the last value wins, as in yaml.v2.
template <typename Fn>
void ForEachField(const YamlTree& map, Fn&& fn) {
  map.ForEachEntry([&](const YamlTree& key, const YamlTree& value) {
    if (key.IsScalar()) fn(key.Scalar(), value);
  });
}

// Runs `decode` on the parsed document; every failure becomes a Status with
// `prefix` (the annotation's name) and HiveD's "Failed to unmarshal" lead.
Status DecodeDocument(std::string_view text, const char* prefix,
                      const std::function<void(const YamlTree&)>& decode);

// ---------------------------------------------------------------------------
// Emitting scalars as yaml.v2 does.

// `s` as a YAML double-quoted scalar (JSON for printable UTF-8, YAML escapes
// for the rest).
void AppendDoubleQuoted(std::string* out, std::string_view s);
// `s` as yaml.v2 writes a string value in block context: plain, single- or
// double-quoted.
void AppendScalar(std::string* out, std::string_view s);

// `key:` followed by the block sequence at the key's own indentation, or
// `key: []` when empty (yaml.v2's style).
template <typename T, typename AppendItem>
void AppendSequenceField(std::string* out, std::string_view indent,
                         std::string_view key, const std::vector<T>& items,
                         AppendItem&& append_item) {
  *out += indent;
  *out += key;
  if (items.empty()) {
    *out += ": []\n";
    return;
  }
  *out += ":\n";
  for (const T& item : items) {
    *out += indent;
    *out += "- ";
    append_item(out, item);
    *out += '\n';
  }
}

inline void AppendInt(std::string* out, int32_t v) { *out += std::to_string(v); }
inline void AppendString(std::string* out, const std::string& v) { AppendScalar(out, v); }

}  // namespace apiary::cell::annotation_yaml
