// The YAML front door of the configuration (hived.md 2, checks V1, V2, V29).
// yaml-cpp lives only here and in the annotation readers (annotation_yaml.cc,
// yaml_tree.cc): every yaml-cpp exception is caught and becomes a diagnostic
// naming the file, the YAML path and the reason.
//
// Reading is lenient where HiveD is (an empty file, null sections, a
// cellAddress written as a number, cellChildren absent/null/[]) and strict
// where HiveD silently misreads (fractions and words in integer fields,
// lists where maps belong). Unknown keys are kept out of the model and
// reported as warnings, with a suggestion when they look like a misspelling.
#include "apiary/cell/config_loader.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "apiary/cell/config_derived.h"
#include "apiary/cell/text.h"

namespace apiary::cell {
namespace {

// The top-level keys of hived.md 2.1.
constexpr std::initializer_list<const char*> kTopKeys = {
    "kubeApiServerAddress",
    "kubeConfigFilePath",
    "webServerAddress",
    "forcePodBindThreshold",
    "waitingPodSchedulingBlockMilliSec",
    "physicalCluster",
    "virtualClusters"};

// Explicit cell entries read from YAML (each physicalCells or cellChildren
// item). Far above any real cluster listed cell by cell, and it bounds what
// YAML aliases can multiply (the validator separately bounds the tree with
// generated children, kMaxPhysicalCells).
constexpr int64_t kMaxCellEntries = int64_t{1} << 18;

// OpenPAI's deployment wraps the config with these settings (openpai.md 1).
constexpr char kOpenPaiWebServerAddress[] = ":30096";
constexpr int64_t kOpenPaiWaitingPodSchedulingBlockMilliSec = 50;

std::string Join(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

std::string Index(const std::string& path, size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

// Reads YAML nodes into the Config model, collecting diagnostics and the
// paths of the errors (validator findings at or below them are dropped).
class Reader {
 public:
  explicit Reader(Diagnostics* diagnostics) : out_(diagnostics) {}

  const std::vector<std::string>& error_paths() const { return error_paths_; }

  void Error(const std::string& path, std::string message) {
    out_->Error(path, std::move(message));
    error_paths_.push_back(path);
  }
  void Warning(const std::string& path, std::string message) {
    out_->Warning(path, std::move(message));
  }

  void ReadConfig(const YAML::Node& root, Config* config) {
    if (!IsMap(root, "")) return;
    ForEachEntry(root, "", kTopKeys,
                 [&](const std::string& key, const YAML::Node& v,
                     const std::string& path) {
                   if (key == "kubeApiServerAddress") {
                     ReadString(v, path, &config->kube_api_server_address);
                   } else if (key == "kubeConfigFilePath") {
                     ReadString(v, path, &config->kube_config_file_path);
                   } else if (key == "webServerAddress") {
                     ReadString(v, path, &config->web_server_address);
                   } else if (key == "forcePodBindThreshold") {
                     ReadInt(v, path, &config->force_pod_bind_threshold);
                   } else if (key == "waitingPodSchedulingBlockMilliSec") {
                     ReadInt(v, path,
                             &config->waiting_pod_scheduling_block_milli_sec);
                   } else if (key == "physicalCluster") {
                     ReadPhysicalCluster(v, path, config);
                   } else if (key == "virtualClusters") {
                     ReadVirtualClusters(v, path, config);
                   }
                 });
  }

 private:
  static std::string Describe(const YAML::Node& n) {
    switch (n.Type()) {
      case YAML::NodeType::Map:
        return "a map";
      case YAML::NodeType::Sequence:
        return "a list";
      case YAML::NodeType::Scalar:
        return n.Tag() == "!" ? "the string \"" + n.Scalar() + "\""
                              : n.Scalar();
      default:
        return "nothing";
    }
  }

  // null counts as an empty map.
  bool IsMap(const YAML::Node& n, const std::string& path) {
    if (!n.IsDefined() || n.IsNull()) return false;
    if (n.IsMap()) return true;
    Error(path, "expected a map, got " + Describe(n));
    return false;
  }
  // null counts as an empty list.
  bool IsList(const YAML::Node& n, const std::string& path) {
    if (!n.IsDefined() || n.IsNull()) return false;
    if (n.IsSequence()) return true;
    Error(path, "expected a list, got " + Describe(n));
    return false;
  }

  // Calls fn(key, value, path) per entry of `map` in document order. With a
  // non-empty `known`, other keys are warned about (V29) and skipped.
  // Duplicate keys are errors (HiveD's YAML library would keep one of them
  // silently); the later entry is skipped.
  template <typename Fn>
  void ForEachEntry(const YAML::Node& map, const std::string& path,
                    std::initializer_list<const char*> known, Fn&& fn) {
    std::unordered_set<std::string> seen;
    for (auto it = map.begin(); it != map.end(); ++it) {
      // Copies: the iterator's pair is a temporary proxy.
      const YAML::Node k = it->first;
      const YAML::Node value = it->second;
      if (!k.IsScalar() && !k.IsNull()) {
        Error(path, "a key is " + Describe(k) + "; keys must be strings");
        continue;
      }
      std::string key = k.IsNull() ? "" : k.Scalar();
      std::string kpath = Join(path, key);
      if (!seen.insert(key).second) {
        Error(kpath, "duplicate key " + key);
        continue;
      }
      if (known.size() != 0 &&
          std::none_of(known.begin(), known.end(),
                       [&](const char* s) { return key == s; })) {
        std::string message = "unknown key " + key + " is ignored";
        const char* best = nullptr;
        size_t best_distance = 3;
        for (const char* s : known) {
          size_t dist = EditDistance(key, s);
          if (dist < best_distance) {
            best_distance = dist;
            best = s;
          }
        }
        if (best) message += std::string(" (did you mean ") + best + "?)";
        Warning(kpath, message);
        continue;
      }
      fn(key, value, kpath);
    }
  }

  void ReadString(const YAML::Node& n, const std::string& path,
                  std::string* out) {
    std::optional<std::string> s = String(n, path);
    if (s) *out = std::move(*s);
  }
  std::optional<std::string> String(const YAML::Node& n,
                                    const std::string& path) {
    if (!n.IsDefined() || n.IsNull()) return std::nullopt;
    if (!n.IsScalar()) {
      Error(path, "expected a string, got " + Describe(n));
      return std::nullopt;
    }
    return n.Scalar();
  }

  // Decimal integers only. Quoted numbers, fractions and words are errors:
  // HiveD either panics on them or truncates silently.
  void ReadInt(const YAML::Node& n, const std::string& path, int64_t* out) {
    if (!n.IsDefined() || n.IsNull()) return;
    if (!n.IsScalar()) {
      Error(path, "expected an integer, got " + Describe(n));
      return;
    }
    const std::string& s = n.Scalar();
    const bool plain = n.Tag() == "?" || n.Tag() == "tag:yaml.org,2002:int";
    size_t i = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
    bool digits = plain && i < s.size();
    uint64_t v = 0;
    bool overflow = false;
    for (size_t j = i; digits && j < s.size(); ++j) {
      if (s[j] < '0' || s[j] > '9') {
        digits = false;
        break;
      }
      if (v > (std::numeric_limits<uint64_t>::max() - 9) / 10)
        overflow = true;
      else
        v = v * 10 + static_cast<uint64_t>(s[j] - '0');
    }
    if (!digits) {
      Error(path, "expected an integer, got " + Describe(n));
      return;
    }
    const bool negative = s[0] == '-';
    const uint64_t limit =
        static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) +
        (negative ? 1 : 0);
    if (overflow || v > limit) {
      Error(path, "integer out of range: " + s);
      return;
    }
    *out = negative ? static_cast<int64_t>(0 - v) : static_cast<int64_t>(v);
  }

  void ReadBool(const YAML::Node& n, const std::string& path, bool* out) {
    if (!n.IsDefined() || n.IsNull()) return;
    bool b = false;
    if (!n.IsScalar() || n.Tag() == "!" || !YAML::convert<bool>::decode(n, b)) {
      Error(path, "expected true or false, got " + Describe(n));
      return;
    }
    *out = b;
  }

  void ReadPhysicalCluster(const YAML::Node& n, const std::string& path,
                           Config* config) {
    if (!IsMap(n, path)) return;
    ForEachEntry(
        n, path, {"skuTypes", "cellTypes", "physicalCells"},
        [&](const std::string& key, const YAML::Node& v, const std::string& p) {
          if (key == "skuTypes") {
            ReadSkuTypes(v, p, config);
          } else if (key == "cellTypes") {
            ReadCellTypes(v, p, config);
          } else {
            if (!IsList(v, p)) return;
            for (size_t i = 0; i < v.size(); ++i) {
              if (cells_exhausted_) break;
              PhysicalCellSpec cell;
              ReadCell(v[i], Index(p, i), 0, &cell);
              config->physical_cells.push_back(std::move(cell));
            }
          }
        });
  }

  void ReadSkuTypes(const YAML::Node& n, const std::string& path,
                    Config* config) {
    if (!IsMap(n, path)) return;
    ForEachEntry(n, path, {},
                 [&](const std::string& name, const YAML::Node& v,
                     const std::string& p) {
                   SkuType sku;
                   sku.name = name;
                   if (IsMap(v, p)) {
                     ForEachEntry(
                         v, p, {"gpu", "cpu", "memory"},
                         [&](const std::string& key, const YAML::Node& f,
                             const std::string& fp) {
                           if (key == "gpu")
                             ReadInt(f, fp, &sku.gpu);
                           else if (key == "cpu")
                             ReadInt(f, fp, &sku.cpu);
                           else
                             ReadString(f, fp, &sku.memory);
                         });
                   }
                   config->sku_types.push_back(std::move(sku));
                 });
  }

  void ReadCellTypes(const YAML::Node& n, const std::string& path,
                     Config* config) {
    if (!IsMap(n, path)) return;
    ForEachEntry(n, path, {},
                 [&](const std::string& name, const YAML::Node& v,
                     const std::string& p) {
                   CellTypeSpec t;
                   t.name = name;
                   if (IsMap(v, p)) {
                     ForEachEntry(
                         v, p,
                         {"childCellType", "childCellNumber", "isNodeLevel"},
                         [&](const std::string& key, const YAML::Node& f,
                             const std::string& fp) {
                           if (key == "childCellType")
                             ReadString(f, fp, &t.child_cell_type);
                           else if (key == "childCellNumber") {
                             ReadInt(f, fp, &t.child_cell_number);
                           } else {
                             ReadBool(f, fp, &t.is_node_level);
                           }
                         });
                   }
                   config->cell_types.push_back(std::move(t));
                 });
  }

  // One physicalCells entry or cellChildren entry; null = all defaults.
  // Nesting and the number of entries are bounded: a YAML alias can make a
  // node its own descendant, and aliases can multiply entries exponentially.
  void ReadCell(const YAML::Node& n, const std::string& path, int depth,
                PhysicalCellSpec* cell) {
    if (++cell_count_ > kMaxCellEntries) {
      Error(path, "more than " + std::to_string(kMaxCellEntries) +
                      " physical cell entries; the rest are not read");
      cells_exhausted_ = true;
      return;
    }
    if (!IsMap(n, path)) return;
    ForEachEntry(
        n, path, {"cellType", "cellAddress", "pinnedCellId", "cellChildren"},
        [&](const std::string& key, const YAML::Node& v, const std::string& p) {
          if (key == "cellType") {
            ReadString(v, p, &cell->cell_type);
          } else if (key == "cellAddress") {
            // A number (a leaf index) or a string (a node name).
            cell->cell_address = String(v, p);
          } else if (key == "pinnedCellId") {
            ReadString(v, p, &cell->pinned_cell_id);
          } else {
            if (!IsList(v, p)) return;
            if (depth >= kMaxCellLevels) {
              Error(p, "cellChildren nested more than " +
                           std::to_string(kMaxCellLevels) +
                           " levels deep; the rest are not read");
              return;
            }
            cell->cell_children.reserve(std::min<size_t>(v.size(), 1024));
            for (size_t i = 0; i < v.size(); ++i) {
              if (cells_exhausted_) break;
              PhysicalCellSpec child;
              ReadCell(v[i], Index(p, i), depth + 1, &child);
              cell->cell_children.push_back(std::move(child));
            }
          }
        });
  }

  void ReadVirtualClusters(const YAML::Node& n, const std::string& path,
                           Config* config) {
    if (!IsMap(n, path)) return;
    ForEachEntry(n, path, {},
                 [&](const std::string& name, const YAML::Node& v,
                     const std::string& p) {
                   VirtualClusterSpec vc;
                   vc.name = name;
                   if (IsMap(v, p)) {
                     ForEachEntry(
                         v, p, {"virtualCells", "pinnedCells"},
                         [&](const std::string& key, const YAML::Node& list,
                             const std::string& lp) {
                           if (!IsList(list, lp)) return;
                           for (size_t i = 0; i < list.size(); ++i) {
                             if (key == "virtualCells") {
                               vc.virtual_cells.push_back(
                                   ReadVirtualCell(list[i], Index(lp, i)));
                             } else {
                               vc.pinned_cell_ids.push_back(
                                   ReadPinnedCell(list[i], Index(lp, i)));
                             }
                           }
                         });
                   }
                   config->virtual_clusters.push_back(std::move(vc));
                 });
  }

  VirtualCellSpec ReadVirtualCell(const YAML::Node& n,
                                  const std::string& path) {
    VirtualCellSpec cell;
    if (!IsMap(n, path)) return cell;
    ForEachEntry(
        n, path, {"cellType", "cellNumber"},
        [&](const std::string& key, const YAML::Node& v, const std::string& p) {
          if (key == "cellType")
            ReadString(v, p, &cell.cell_type);
          else
            ReadInt(v, p, &cell.cell_number);
        });
    return cell;
  }

  std::string ReadPinnedCell(const YAML::Node& n, const std::string& path) {
    std::string id;
    if (!IsMap(n, path)) return id;
    ForEachEntry(n, path, {"pinnedCellId"},
                 [&](const std::string&, const YAML::Node& v,
                     const std::string& p) { ReadString(v, p, &id); });
    return id;
  }

  Diagnostics* out_;
  std::vector<std::string> error_paths_;
  int64_t cell_count_ = 0;
  bool cells_exhausted_ = false;
};

// "line L, column C" (1-based) of a yaml-cpp mark.
std::string Where(const YAML::Mark& m) {
  return "line " + std::to_string(m.line + 1) + ", column " +
         std::to_string(m.column + 1);
}

std::string ParseErrorMessage(const YAML::ParserException& e) {
  return "YAML parse error at " + Where(e.mark) + ": " + e.msg;
}

// For a literal block scalar (`config: |`), the file line of line `line`
// (0-based) of its content; nullopt for other scalar styles, whose lines do
// not map one to one.
std::optional<int> BlockScalarFileLine(std::string_view text,
                                       const YAML::Mark& scalar, int line) {
  if (scalar.pos < 0 || static_cast<size_t>(scalar.pos) >= text.size() ||
      text[scalar.pos] != '|') {
    return std::nullopt;
  }
  return scalar.line + 1 + line + 1;  // content starts on the next line
}

bool HasAnyKey(const YAML::Node& map, std::initializer_list<const char*> keys) {
  for (auto it = map.begin(); it != map.end(); ++it) {
    const YAML::Node key_node = it->first;
    if (!key_node.IsScalar()) continue;
    const std::string k = key_node.Scalar();
    for (const char* key : keys) {
      if (k == key) return true;
    }
  }
  return false;
}

const YAML::Node* FindKey(const YAML::Node& map, const char* key,
                          YAML::Node* storage, YAML::Mark* key_mark) {
  for (auto it = map.begin(); it != map.end(); ++it) {
    const YAML::Node key_node = it->first;
    if (key_node.IsScalar() && key_node.Scalar() == key) {
      storage->reset(it->second);
      *key_mark = key_node.Mark();
      return storage;
    }
  }
  return nullptr;
}

// Is `path` equal to `prefix` or below it ("prefix.x", "prefix[3]")?
bool IsAtOrBelow(const std::string& path, const std::string& prefix) {
  if (path.compare(0, prefix.size(), prefix) != 0) return false;
  return path.size() == prefix.size() || path[prefix.size()] == '.' ||
         path[prefix.size()] == '[';
}

// The document position (character offset) of `path`, found by walking the
// YAML tree along it, or of its deepest ancestor present in the document.
// Computed only for findings, so reading stores no per-node positions. Map
// keys may contain '.', so at each map the longest key that matches is taken.
size_t PositionOf(const YAML::Node& root, std::string_view path) {
  YAML::Node cur;
  cur.reset(root);  // never assign a bound YAML::Node: that rewrites the tree
  size_t best = 0;
  for (int steps = 0; !path.empty() && steps < 4 * kMaxCellLevels + 16;
       ++steps) {
    if (path[0] == '.') {
      path.remove_prefix(1);
      continue;
    }
    if (path[0] == '[') {
      size_t close = path.find(']');
      if (close == std::string_view::npos || !cur.IsSequence()) break;
      size_t index = 0;
      for (char c : path.substr(1, close - 1)) {
        if (c < '0' || c > '9') return best;
        index = index * 10 + static_cast<size_t>(c - '0');
        if (index > (size_t{1} << 40)) return best;
      }
      if (index >= cur.size()) break;
      const YAML::Node& seq = cur;  // const: operator[] must not insert
      YAML::Node next = seq[index];
      cur.reset(next);
      if (cur.Mark().pos >= 0) best = static_cast<size_t>(cur.Mark().pos);
      path.remove_prefix(close + 1);
      continue;
    }
    if (!cur.IsMap()) break;
    size_t best_len = 0;
    bool found = false;
    YAML::Node value;
    YAML::Mark key_mark;
    for (auto it = cur.begin(); it != cur.end(); ++it) {
      const YAML::Node key_node = it->first;
      if (!key_node.IsScalar()) continue;
      const std::string k = key_node.Scalar();
      if (k.size() < best_len || path.compare(0, k.size(), k) != 0) continue;
      if (k.size() != path.size() && path[k.size()] != '.' &&
          path[k.size()] != '[') {
        continue;
      }
      if (found && k.size() == best_len) continue;  // keep the first
      found = true;
      best_len = k.size();
      value.reset(it->second);
      key_mark = key_node.Mark();
    }
    if (!found) break;
    if (key_mark.pos >= 0) best = static_cast<size_t>(key_mark.pos);
    cur.reset(value);
    path.remove_prefix(best_len);
  }
  return best;
}

// Reads `text` into `config` and returns the YAML node that findings' paths
// are relative to (the embedded config in the OpenPAI form).
YAML::Node ParseDocument(std::string_view text, Reader* reader,
                         Config* config) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::ParserException& e) {
    reader->Error("", ParseErrorMessage(e));
    return root;
  }
  if (!root.IsDefined() || root.IsNull()) return root;  // empty file: valid
  if (!root.IsMap()) {
    reader->Error("", "expected a map of configuration keys, got a " +
                          std::string(root.IsSequence() ? "list" : "scalar"));
    return root;
  }
  // OpenPAI's services-configuration.yaml: the config is the string
  // hivedscheduler.config (openpai.md 1).
  YAML::Node hs_storage;
  YAML::Mark hs_mark;
  if (!HasAnyKey(root, kTopKeys) &&
      FindKey(root, "hivedscheduler", &hs_storage, &hs_mark)) {
    if (!hs_storage.IsMap()) {
      reader->Error("hivedscheduler",
                    "expected a map with the key config (OpenPAI form)");
      return root;
    }
    YAML::Node cfg;
    YAML::Mark cfg_mark;
    if (!FindKey(hs_storage, "config", &cfg, &cfg_mark) || cfg.IsNull()) {
      reader->Error("hivedscheduler.config",
                    "missing: the HiveD scheduler config is expected here, "
                    "as a string");
      return root;
    }
    config->web_server_address = kOpenPaiWebServerAddress;
    config->waiting_pod_scheduling_block_milli_sec =
        kOpenPaiWaitingPodSchedulingBlockMilliSec;
    if (cfg.IsMap()) {  // written as a map instead of a string: fine too
      reader->ReadConfig(cfg, config);
      return cfg;
    }
    if (!cfg.IsScalar()) {
      reader->Error("hivedscheduler.config",
                    "expected the HiveD scheduler config as a string, got a "
                    "list");
      return root;
    }
    YAML::Node inner;
    try {
      inner = YAML::Load(cfg.Scalar());
    } catch (const YAML::ParserException& e) {
      std::string message =
          "YAML parse error at " + Where(e.mark) + " of the embedded config";
      if (auto line = BlockScalarFileLine(text, cfg.Mark(), e.mark.line)) {
        message += " (line " + std::to_string(*line) + " of the file)";
      }
      reader->Error("hivedscheduler.config", message + ": " + e.msg);
      return root;
    }
    if (!inner.IsDefined() || inner.IsNull()) return root;
    if (!inner.IsMap()) {
      reader->Error("hivedscheduler.config",
                    "the embedded config is not a map of configuration keys");
      return root;
    }
    reader->ReadConfig(inner, config);
    return inner;
  }
  reader->ReadConfig(root, config);
  return root;
}

}  // namespace

Result<LoadedConfig> LoadConfigText(std::string_view text,
                                    const std::string& file) {
  // yaml-cpp reads any bytes; a config that is not UTF-8 is a wrong file or
  // a broken encoding, and names in it would not match the cluster's.
  if (Status utf8 = CheckUtf8(text, file); !utf8.ok()) return utf8;
  LoadedConfig loaded;
  Diagnostics& diagnostics = loaded.diagnostics;
  diagnostics.file = file;
  Reader reader(&diagnostics);
  YAML::Node root;
  try {
    root = ParseDocument(text, &reader, &loaded.config);
  } catch (const YAML::Exception& e) {
    reader.Error("", "YAML error at " + Where(e.mark) + ": " + e.msg);
  } catch (const std::exception& e) {
    reader.Error("", std::string("cannot read the configuration: ") + e.what());
  }
  const bool parsed =
      std::none_of(reader.error_paths().begin(), reader.error_paths().end(),
                   [](const std::string& p) { return p.empty(); });

  if (parsed) {
    // Validate, dropping findings about values the loader already rejected
    // (a rejected value is left at its default, which would be reported a
    // second time, less clearly).
    Diagnostics validation;
    ValidateConfig(loaded.config, &validation);
    for (Diagnostic& d : validation.items) {
      bool shadowed = std::any_of(
          reader.error_paths().begin(), reader.error_paths().end(),
          [&](const std::string& p) { return IsAtOrBelow(d.path, p); });
      if (!shadowed) diagnostics.items.push_back(std::move(d));
    }
    // Document order: by the position of each finding's path in the file;
    // ties keep loader findings first, then the validator's order.
    std::vector<std::pair<size_t, size_t>> keys;  // (position, original)
    keys.reserve(diagnostics.items.size());
    for (size_t i = 0; i < diagnostics.items.size(); ++i) {
      size_t pos = 0;
      try {
        pos = PositionOf(root, diagnostics.items[i].path);
      } catch (const std::exception&) {
        // Ordering is best effort; the finding itself is kept.
      }
      keys.emplace_back(pos, i);
    }
    std::stable_sort(keys.begin(), keys.end());
    std::vector<Diagnostic> sorted;
    sorted.reserve(keys.size());
    for (const auto& [pos, i] : keys) {
      sorted.push_back(std::move(diagnostics.items[i]));
    }
    diagnostics.items = std::move(sorted);
    // An error at a key that a misspelt sibling was meant to set ("must be
    // at least 1, got 0" for an absent childCellNumber, next to an unknown
    // childCellNumbr): the error itself names the cause.
    for (Diagnostic& d : diagnostics.items) {
      const size_t dot = d.path.rfind('.');
      if (d.severity != Diagnostic::Severity::kError || dot == std::string::npos) continue;
      const std::string parent = d.path.substr(0, dot + 1);
      const std::string hint = "(did you mean " + d.path.substr(dot + 1) + "?)";
      for (const Diagnostic& w : diagnostics.items) {
        if (w.severity != Diagnostic::Severity::kWarning || w.path.size() <= parent.size() ||
            w.path.compare(0, parent.size(), parent) != 0 ||
            w.path.find('.', parent.size()) != std::string::npos || w.message.size() < hint.size() ||
            w.message.compare(w.message.size() - hint.size(), hint.size(), hint) != 0)
          continue;
        d.message += " (" + w.path.substr(parent.size()) + " is an unknown key: did you mean " +
                     d.path.substr(dot + 1) + "?)";
      }
    }
  }

  if (diagnostics.HasErrors()) {
    return Status::Invalid(diagnostics.FormatAll());
  }
  return loaded;
}

Result<LoadedConfig> LoadConfigFile(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return Status::Invalid(path + ": cannot read the file: is a directory");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::Invalid(path +
                           ": cannot read the file: " + std::strerror(errno));
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) {
    return Status::Invalid(path +
                           ": cannot read the file: " + std::strerror(errno));
  }
  return LoadConfigText(buffer.str(), path);
}

}  // namespace apiary::cell
