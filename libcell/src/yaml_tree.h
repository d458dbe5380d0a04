// A small YAML document tree for the pod annotations (annotation_yaml.h), built
// either by libyaml (fast, for the documents it can read exactly as
// yaml-cpp does) or from a yaml-cpp document (everything else).
//
// The tree keeps what the annotation decoders look at, with yaml-cpp's
// meanings, so that both builders give the same tree for the same text:
// - an untagged plain scalar "", "~", "null", "Null" or "NULL" is a null
//   node (yaml-cpp's rule), every other scalar keeps its text;
// - Tag() is "?" for an untagged plain scalar, "!" for an untagged quoted
//   or block scalar, else the resolved tag ("tag:yaml.org,2002:str");
// - a map keeps every entry in document order, a key given twice included.
// Internal to libcell; not installed.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace YAML {
class Node;
}

namespace apiary::cell {

class YamlTree {
 public:
  enum class Type { kNull, kScalar, kSequence, kMap };

  Type type() const { return type_; }
  bool IsNull() const { return type_ == Type::kNull; }
  bool IsScalar() const { return type_ == Type::kScalar; }
  bool IsSequence() const { return type_ == Type::kSequence; }
  bool IsMap() const { return type_ == Type::kMap; }
  const std::string& Scalar() const { return scalar_; }
  const std::string& Tag() const { return tag_; }
  // Items of a sequence; for a map, its entries as key, value, key, ...
  size_t size() const { return IsMap() ? children_.size() / 2 : children_.size(); }
  const YamlTree& operator[](size_t i) const { return children_[i]; }
  template <typename Fn>  // fn(const YamlTree& key, const YamlTree& value)
  void ForEachEntry(Fn&& fn) const {
    for (size_t i = 0; i + 1 < children_.size(); i += 2) fn(children_[i], children_[i + 1]);
  }

  // libyaml's reading of the first document of `text`, into `out`. False
  // when libyaml cannot read it, or it uses something this fast path leaves
  // to yaml-cpp (anchors and aliases, block scalars, multi-line scalars,
  // directives, nesting deeper than 256 levels): the caller then reads the
  // text with yaml-cpp.
  static bool ParseSimple(std::string_view text, YamlTree* out);
  // The same tree from a document yaml-cpp loaded. Collections nested
  // deeper than 256 levels keep their type but lose their items (the
  // annotation decoders read a few levels only).
  static YamlTree FromYamlCpp(const YAML::Node& node);

 private:
  static YamlTree FromYamlCpp(const YAML::Node& node, size_t depth);
  friend class YamlTreeBuilder;
  Type type_ = Type::kNull;
  std::string scalar_;
  std::string tag_;
  std::vector<YamlTree> children_;
};

}  // namespace apiary::cell
