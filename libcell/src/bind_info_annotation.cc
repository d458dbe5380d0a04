// The bind-info annotations (hived.md 10): pod-bind-info, read in any YAML
// and written byte for byte as HiveD writes it; Apiary's virtual-leaf-cells;
// and pod-leaf-cell-isolation (annotations.h). The YAML rules are
// annotation_yaml.h's.
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "annotation_yaml.h"
#include "apiary/cell/annotations.h"

namespace apiary::cell {

using annotation_yaml::AppendDoubleQuoted;
using annotation_yaml::AppendInt;
using annotation_yaml::AppendScalar;
using annotation_yaml::AppendSequenceField;
using annotation_yaml::AppendString;
using annotation_yaml::Child;
using annotation_yaml::DecodeDocument;
using annotation_yaml::DecodeError;
using annotation_yaml::DecodeIntList;
using annotation_yaml::DecodeString;
using annotation_yaml::DecodeStringList;
using annotation_yaml::DescribeNode;
using annotation_yaml::ForEachField;
using annotation_yaml::IsDigit;
using annotation_yaml::IsNullNode;
using annotation_yaml::Item;
using annotation_yaml::kEmptyAnnotation;
using annotation_yaml::QuoteForMessage;
using annotation_yaml::RequireMap;
using annotation_yaml::RequireSequence;

namespace {

constexpr char kBindInfoErrorPrefix[] =
    "Pod annotation hivedscheduler.microsoft.com/pod-bind-info: ";
constexpr char kLeafCellIsolationErrorPrefix[] =
    "Pod annotation hivedscheduler.microsoft.com/pod-leaf-cell-isolation: ";
constexpr char kVirtualLeafCellsErrorPrefix[] =
    "Pod annotation apiary.io/virtual-leaf-cells: ";

// ---------------------------------------------------------------------------
// Bind info (hived.md 10).

// The legacy key names HiveD still reads; Apiary renames keys only.
std::string_view CanonicalBindInfoKey(std::string_view key) {
  if (key == "gpuIsolation") return "leafCellIsolation";
  if (key == "physicalGpuIndices") return "physicalLeafCellIndices";
  return key;
}

PodPlacementInfo DecodePlacement(const YamlTree& node,
                                 const std::string& path) {
  PodPlacementInfo p;
  RequireMap(node, path);
  ForEachField(node, [&](const std::string& key, const YamlTree& value) {
    std::string_view name = CanonicalBindInfoKey(key);
    const bool null = IsNullNode(value);
    std::string field = Child(path, key);
    if (name == "physicalNode") {
      p.physical_node = null ? "" : DecodeString(value, field);
    } else if (name == "physicalLeafCellIndices") {
      p.physical_leaf_cell_indices =
          null ? std::vector<int32_t>() : DecodeIntList(value, field);
    } else if (name == "preassignedCellTypes") {
      p.preassigned_cell_types =
          null ? std::vector<std::string>() : DecodeStringList(value, field);
    }
  });
  return p;
}

AffinityGroupMemberBindInfo DecodeMemberBindInfo(const YamlTree& node,
                                                 const std::string& path) {
  AffinityGroupMemberBindInfo m;
  RequireMap(node, path);
  ForEachField(node, [&](const std::string& key, const YamlTree& value) {
    if (key != "podPlacements") return;
    m.pod_placements.clear();
    if (IsNullNode(value)) return;
    std::string field = Child(path, key);
    RequireSequence(value, field);
    for (size_t i = 0; i < value.size(); ++i) {
      m.pod_placements.push_back(DecodePlacement(value[i], Item(field, i)));
    }
  });
  return m;
}

void DecodeBindInfo(const YamlTree& root, PodBindInfo* info) {
  if (!root.IsMap()) {
    throw DecodeError{"expected a map at the top level, got " +
                      DescribeNode(root)};
  }
  ForEachField(root, [&](const std::string& key, const YamlTree& value) {
    std::string_view name = CanonicalBindInfoKey(key);
    const bool null = IsNullNode(value);
    if (name == "node") {
      info->node = null ? "" : DecodeString(value, key);
    } else if (name == "leafCellIsolation") {
      info->leaf_cell_isolation =
          null ? std::vector<int32_t>() : DecodeIntList(value, key);
    } else if (name == "cellChain") {
      info->cell_chain = null ? "" : DecodeString(value, key);
    } else if (name == "affinityGroupBindInfo") {
      info->affinity_group_bind_info.clear();
      if (null) return;
      RequireSequence(value, key);
      for (size_t i = 0; i < value.size(); ++i) {
        info->affinity_group_bind_info.push_back(
            DecodeMemberBindInfo(value[i], Item(key, i)));
      }
    }
  });
}

}  // namespace

std::string EmitPodBindInfo(const PodBindInfo& info) {
  std::string out;
  out.reserve(256);
  out += "node: ";
  AppendScalar(&out, info.node);
  out += '\n';
  AppendSequenceField(&out, "", "leafCellIsolation", info.leaf_cell_isolation,
                      AppendInt);
  out += "cellChain: ";
  AppendScalar(&out, info.cell_chain);
  out += '\n';
  if (info.affinity_group_bind_info.empty()) {
    out += "affinityGroupBindInfo: []\n";
    return out;
  }
  out += "affinityGroupBindInfo:\n";
  for (const AffinityGroupMemberBindInfo& member :
       info.affinity_group_bind_info) {
    if (member.pod_placements.empty()) {
      out += "- podPlacements: []\n";
      continue;
    }
    out += "- podPlacements:\n";
    for (const PodPlacementInfo& p : member.pod_placements) {
      out += "  - physicalNode: ";
      AppendScalar(&out, p.physical_node);
      out += '\n';
      AppendSequenceField(&out, "    ", "physicalLeafCellIndices",
                          p.physical_leaf_cell_indices, AppendInt);
      AppendSequenceField(&out, "    ", "preassignedCellTypes",
                          p.preassigned_cell_types, AppendString);
    }
  }
  return out;
}

Result<PodBindInfo> ParsePodBindInfo(std::string_view text) {
  if (text.empty()) {
    return Status::Invalid(std::string(kBindInfoErrorPrefix) +
                           kEmptyAnnotation);
  }
  PodBindInfo info;
  bool empty = false;
  Status decoded =
      DecodeDocument(text, kBindInfoErrorPrefix, [&](const YamlTree& root) {
        // Unlike the spec, whose fields all have defaults, a bind info with
        // no content (blank, a comment, `null`) records nothing to recover.
        if (IsNullNode(root)) {
          empty = true;
          return;
        }
        DecodeBindInfo(root, &info);
      });
  if (!decoded.ok()) return decoded;
  if (empty) {
    return Status::Invalid(std::string(kBindInfoErrorPrefix) +
                           kEmptyAnnotation);
  }
  return info;
}

namespace {
size_t LeafCount(const PodBindInfo& info) {
  size_t n = 0;
  for (const AffinityGroupMemberBindInfo& member : info.affinity_group_bind_info)
    for (const PodPlacementInfo& p : member.pod_placements) n += p.physical_leaf_cell_indices.size();
  return n;
}
}  // namespace

std::string EmitVirtualLeafCells(const PodBindInfo& info) {
  const size_t leaves = LeafCount(info);
  if (info.virtual_leaf_cells.size() != leaves) return "";
  bool any = false;
  std::string out = "[";
  for (size_t i = 0; i < leaves; ++i) {
    if (i > 0) out += ',';
    AppendDoubleQuoted(&out, info.virtual_leaf_cells[i]);
    any = any || !info.virtual_leaf_cells[i].empty();
  }
  return any ? out + "]" : std::string();
}

Status ApplyVirtualLeafCells(std::string_view text, PodBindInfo& info) {
  if (text.empty())
    return Status::Invalid(std::string(kVirtualLeafCellsErrorPrefix) + kEmptyAnnotation);
  std::vector<std::string> addresses;
  Status decoded =
      DecodeDocument(text, kVirtualLeafCellsErrorPrefix, [&](const YamlTree& root) {
        if (!root.IsSequence())
          throw DecodeError{"expected a sequence of virtual cell addresses"};
        for (size_t i = 0; i < root.size(); ++i) {
          if (!root[i].IsScalar())
            throw DecodeError{"entry " + std::to_string(i) +
                              ": expected a virtual cell address (a string)"};
          addresses.push_back(root[i].Scalar());
        }
      });
  if (!decoded.ok()) return decoded;
  const size_t leaves = LeafCount(info);
  if (addresses.size() != leaves)
    return Status::Invalid(std::string(kVirtualLeafCellsErrorPrefix) + "has " +
                           std::to_string(addresses.size()) +
                           " addresses but the bind info has " + std::to_string(leaves) +
                           " leaf cells");
  info.virtual_leaf_cells = std::move(addresses);
  return Status::Ok();
}

std::string EmitLeafCellIsolation(const std::vector<int32_t>& indices) {
  std::string out;
  for (size_t i = 0; i < indices.size(); ++i) {
    if (i > 0) out += ',';
    out += std::to_string(indices[i]);
  }
  return out;
}

Result<std::vector<int32_t>> ParseLeafCellIsolation(std::string_view text) {
  auto error = [](const std::string& message) {
    return Status::Invalid(kLeafCellIsolationErrorPrefix + message);
  };
  if (text.empty()) return error(kEmptyAnnotation);
  std::vector<int32_t> out;
  size_t start = 0;
  while (true) {
    size_t comma = text.find(',', start);
    std::string_view token = text.substr(start, comma == std::string_view::npos
                                                    ? std::string_view::npos
                                                    : comma - start);
    std::string_view digits = token;
    while (!digits.empty() && digits.front() == ' ') digits.remove_prefix(1);
    while (!digits.empty() && digits.back() == ' ') digits.remove_suffix(1);
    bool ok = !digits.empty();
    int64_t value = 0;
    for (char c : digits) {
      if (!IsDigit(c) || value > std::numeric_limits<int32_t>::max()) {
        ok = false;
        break;
      }
      value = value * 10 + (c - '0');
    }
    if (!ok || value > std::numeric_limits<int32_t>::max()) {
      return error("invalid leaf cell index " + QuoteForMessage(token) +
                   " in " + QuoteForMessage(text));
    }
    out.push_back(static_cast<int32_t>(value));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

}  // namespace apiary::cell
