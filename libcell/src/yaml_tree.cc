// Two builders of the annotation YAML tree (yaml_tree.h). libyaml reads the
// common annotation (a flow or block map of one-line scalars, JSON
// included) several times faster than yaml-cpp, with a fraction of its
// allocations; anything it cannot read, or that this path does not try to
// match yaml-cpp on, goes to yaml-cpp, so errors and unusual documents keep
// yaml-cpp's exact behaviour. tests/libcell/yaml_tree_test.cc checks that
// both builders give the same tree on every annotation the tests and fuzz
// corpora hold, and on their mutations.
#include "yaml_tree.h"

#include <yaml.h>
#include <yaml-cpp/yaml.h>

namespace apiary::cell {

namespace {

// yaml-cpp turns these untagged plain scalars into null nodes.
bool IsYamlCppNullText(std::string_view s) {
  return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL";
}

constexpr size_t kMaxDepth = 256;  // deeper documents go to yaml-cpp

// The texts this path reads: printable ASCII and newlines, without the
// characters of YAML's less common features -- comments (#), tags (!),
// anchors and aliases (& *), block scalars (| >), directives (%), complex
// keys (?), escapes (\\), reserved indicators (@ `) -- and without tabs or
// carriage returns, where yaml-cpp and libyaml were seen to differ (a '#'
// after a scalar, "\r" inside one, a tag with no value). Annotations
// written by HiveD-era tools and by Apiary are all of this form.
bool InFastSubset(std::string_view text) {
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u == '\n') continue;
    if (u < 0x20 || u > 0x7e) return false;
    switch (c) {
      case '#': case '!': case '&': case '*': case '|': case '>':
      case '%': case '?': case '\\': case '@': case '`':
        return false;
      default:
        break;
    }
  }
  return true;
}

}  // namespace

class YamlTreeBuilder {
 public:
  static bool Parse(std::string_view text, YamlTree* out) {
    if (!InFastSubset(text)) return false;
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) return false;
    yaml_parser_set_input_string(&parser, reinterpret_cast<const unsigned char*>(text.data()),
                                 text.size());
    YamlTreeBuilder b(out, text);
    bool ok = b.Run(&parser);
    yaml_parser_delete(&parser);
    return ok;
  }

 private:
  YamlTreeBuilder(YamlTree* root, std::string_view text) : root_(root), text_(text) {
    *root_ = YamlTree();
  }

  // The node the next event fills: the root, or a new child of the open
  // collection on top of the stack.
  YamlTree* Slot() {
    if (stack_.empty()) {
      if (root_set_) return nullptr;
      root_set_ = true;
      return root_;
    }
    stack_.back()->children_.emplace_back();
    return &stack_.back()->children_.back();
  }

  bool Run(yaml_parser_t* parser) {
    yaml_event_t event;
    bool ok = true;
    bool done = false;
    while (ok && !done) {
      if (!yaml_parser_parse(parser, &event)) return false;
      switch (event.type) {
        case YAML_STREAM_START_EVENT:
          break;
        case YAML_DOCUMENT_START_EVENT:
          ok = !ended_ && event.data.document_start.version_directive == nullptr &&
               event.data.document_start.tag_directives.start ==
                   event.data.document_start.tag_directives.end;
          break;
        case YAML_SCALAR_EVENT:
          ok = Scalar(event);
          break;
        case YAML_SEQUENCE_START_EVENT:
          ok = Open(event.data.sequence_start.anchor, YamlTree::Type::kSequence,
                    {event.data.sequence_start.style == YAML_FLOW_SEQUENCE_STYLE ? ']' : '\0',
                     event.start_mark.line});
          break;
        case YAML_MAPPING_START_EVENT:
          ok = Open(event.data.mapping_start.anchor, YamlTree::Type::kMap,
                    {event.data.mapping_start.style == YAML_FLOW_MAPPING_STYLE ? '}' : '\0',
                     event.start_mark.line});
          break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
          // A flow collection must close with its bracket on the line it
          // opened: libyaml accepts one continued on lines that yaml-cpp
          // rejects for their indentation, and closes one left open at the
          // end of the text.
          ok = !stack_.empty() &&
               (closers_.back().bracket == 0 ||
                (event.start_mark.index < text_.size() &&
                 text_[event.start_mark.index] == closers_.back().bracket &&
                 event.start_mark.line == closers_.back().line));
          if (ok) {
            stack_.pop_back();
            closers_.pop_back();
          }
          break;
        case YAML_DOCUMENT_END_EVENT:
          // yaml-cpp's Load reads the first document only, and may fail or
          // not on what follows: only a stream that ends here is ours.
          ok = stack_.empty() && !ended_;
          ended_ = true;
          break;
        case YAML_STREAM_END_EVENT:
          done = true;
          break;
        default:  // aliases
          ok = false;
          break;
      }
      yaml_event_delete(&event);
    }
    return ok && stack_.empty();
  }

  struct Closer {
    char bracket;  // '}' or ']' for a flow collection, else 0
    size_t line;   // where it opened
  };

  bool Open(const yaml_char_t* anchor, YamlTree::Type type, Closer closer) {
    if (anchor != nullptr || stack_.size() >= kMaxDepth) return false;
    YamlTree* node = Slot();
    if (node == nullptr) return false;
    node->type_ = type;
    // A map's entries are appended as key, value; a pointer to the node
    // stays valid while it is open because its parent's vector no longer
    // grows until it is closed.
    stack_.push_back(node);
    closers_.push_back(closer);
    return true;
  }

  bool Scalar(const yaml_event_t& event) {
    const auto& s = event.data.scalar;
    if (s.anchor != nullptr) return false;
    if (s.style != YAML_PLAIN_SCALAR_STYLE && s.style != YAML_SINGLE_QUOTED_SCALAR_STYLE &&
        s.style != YAML_DOUBLE_QUOTED_SCALAR_STYLE)
      return false;
    if (event.start_mark.line != event.end_mark.line) return false;
    YamlTree* node = Slot();
    if (node == nullptr) return false;
    std::string_view value(reinterpret_cast<const char*>(s.value), s.length);
    if (s.tag != nullptr) {
      node->tag_ = reinterpret_cast<const char*>(s.tag);
    } else {
      node->tag_ = s.style == YAML_PLAIN_SCALAR_STYLE ? "?" : "!";
    }
    if (node->tag_ == "?" && IsYamlCppNullText(value)) {
      node->type_ = YamlTree::Type::kNull;
      node->tag_.clear();
      return true;
    }
    node->type_ = YamlTree::Type::kScalar;
    node->scalar_.assign(value);
    return true;
  }

  YamlTree* root_;
  std::string_view text_;
  bool root_set_ = false;
  bool ended_ = false;  // the first document ended
  std::vector<YamlTree*> stack_;
  std::vector<Closer> closers_;  // per open collection
};

bool YamlTree::ParseSimple(std::string_view text, YamlTree* out) {
  return YamlTreeBuilder::Parse(text, out);
}

YamlTree YamlTree::FromYamlCpp(const YAML::Node& node) { return FromYamlCpp(node, 0); }

YamlTree YamlTree::FromYamlCpp(const YAML::Node& node, size_t depth) {
  YamlTree t;
  // Below kMaxDepth a collection keeps its type but not its items: no
  // decoder looks more than a few levels down, and a document nested
  // thousands deep (which yaml-cpp loads) must not exhaust the stack here.
  const bool leaf = depth >= kMaxDepth;
  switch (node.Type()) {
    case YAML::NodeType::Scalar:
      t.type_ = Type::kScalar;
      t.scalar_ = node.Scalar();
      t.tag_ = node.Tag();
      break;
    case YAML::NodeType::Sequence:
      t.type_ = Type::kSequence;
      if (leaf) break;
      t.children_.reserve(node.size());
      for (const auto& item : node) t.children_.push_back(FromYamlCpp(item, depth + 1));
      break;
    case YAML::NodeType::Map:
      t.type_ = Type::kMap;
      if (leaf) break;
      t.children_.reserve(2 * node.size());
      for (const auto& entry : node) {
        t.children_.push_back(FromYamlCpp(entry.first, depth + 1));
        t.children_.push_back(FromYamlCpp(entry.second, depth + 1));
      }
      break;
    default:  // null and undefined
      break;
  }
  return t;
}

}  // namespace apiary::cell
