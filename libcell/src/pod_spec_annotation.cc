// The pod-scheduling-spec annotation (hived.md 4): reading it with HiveD's
// defaults, legacy key names and checks (annotations.h). The YAML rules are
// annotation_yaml.h's.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "annotation_yaml.h"
#include "apiary/cell/annotations.h"
#include "apiary/cell/text.h"

namespace apiary::cell {

using annotation_yaml::Child;
using annotation_yaml::DecodeBool;
using annotation_yaml::DecodeDocument;
using annotation_yaml::DecodeError;
using annotation_yaml::DecodeInt;
using annotation_yaml::DecodeString;
using annotation_yaml::DescribeNode;
using annotation_yaml::ForEachField;
using annotation_yaml::IsNullNode;
using annotation_yaml::Item;
using annotation_yaml::kEmptyAnnotation;
using annotation_yaml::RequireMap;
using annotation_yaml::RequireSequence;

namespace {

// ---------------------------------------------------------------------------
// The pod scheduling spec (hived.md 4.2).

// The legacy key names HiveD still reads (4.2); Apiary renames keys only.
std::string_view CanonicalSpecKey(std::string_view key) {
  if (key == "gpuType") return "leafCellType";
  if (key == "gpuNumber") return "leafCellNumber";
  return key;
}

struct RawSpec {
  PodSchedulingSpec spec;  // scalar fields; the group below
  bool has_affinity_group = false;
  std::string group_name;
  std::vector<AffinityGroupMemberSpec> members;
  // Keys HiveD ignores (non-strict YAML), as "path: unknown key ... (did you
  // mean ...?)": a misspelt leafCellNumber leaves the default 0 in place.
  std::vector<std::string> unknown_keys;
};

// The keys of hived.md 4.2 at each level of the spec, legacy names included.
const std::vector<std::string> kSpecKeys = {
    "virtualCluster", "priority", "pinnedCellId", "leafCellType", "leafCellNumber",
    "affinityGroup", "lazyPreemptionEnable", "ignoreK8sSuggestedNodes", "gangReleaseEnable",
    "gpuType", "gpuNumber"};
const std::vector<std::string> kGroupKeys = {"name", "members"};
const std::vector<std::string> kMemberKeys = {"podNumber", "leafCellNumber", "gpuNumber"};

void NoteUnknownKey(const std::string& path, const std::string& key,
                    const std::vector<std::string>& known, RawSpec* raw) {
  if (std::find(known.begin(), known.end(), key) != known.end()) return;
  raw->unknown_keys.push_back(Child(path, key) + ": unknown key " + key + " is ignored" +
                              DidYouMean(key, known));
}

AffinityGroupMemberSpec DecodeMember(const YamlTree& node,
                                     const std::string& path, RawSpec* raw) {
  AffinityGroupMemberSpec member;
  if (IsNullNode(node)) return member;  // a zero member, rejected later
  RequireMap(node, path);
  ForEachField(node, [&](const std::string& key, const YamlTree& value) {
    NoteUnknownKey(path, key, kMemberKeys, raw);
    if (IsNullNode(value)) return;
    std::string_view name = CanonicalSpecKey(key);
    if (name == "podNumber") {
      member.pod_number = DecodeInt(value, Child(path, key));
    } else if (name == "leafCellNumber") {
      member.leaf_cell_number = DecodeInt(value, Child(path, key));
    }
  });
  return member;
}

void DecodeAffinityGroup(const YamlTree& node, const std::string& path,
                         RawSpec* raw) {
  RequireMap(node, path);
  raw->has_affinity_group = true;
  raw->group_name.clear();
  raw->members.clear();
  ForEachField(node, [&](const std::string& key, const YamlTree& value) {
    NoteUnknownKey(path, key, kGroupKeys, raw);
    std::string_view name = CanonicalSpecKey(key);
    if (name == "name") {
      raw->group_name =
          IsNullNode(value) ? "" : DecodeString(value, Child(path, key));
    } else if (name == "members") {
      raw->members.clear();
      if (IsNullNode(value)) return;
      std::string members_path = Child(path, key);
      RequireSequence(value, members_path);
      for (size_t i = 0; i < value.size(); ++i) {
        raw->members.push_back(DecodeMember(value[i], Item(members_path, i), raw));
      }
    }
  });
}

void DecodeSpec(const YamlTree& root, RawSpec* raw) {
  if (IsNullNode(root)) return;  // an empty document: every field absent
  if (!root.IsMap()) {
    throw DecodeError{"expected a map at the top level, got " +
                      DescribeNode(root)};
  }
  PodSchedulingSpec& s = raw->spec;
  ForEachField(root, [&](const std::string& key, const YamlTree& value) {
    NoteUnknownKey("", key, kSpecKeys, raw);
    std::string_view name = CanonicalSpecKey(key);
    // An explicit null is an absent field (4.2): the default applies, and a
    // null after a value for the same key (last wins) restores the default.
    const bool null = IsNullNode(value);
    if (name == "virtualCluster") {
      s.virtual_cluster = null ? "" : DecodeString(value, key);
    } else if (name == "priority") {
      s.priority = null ? 0 : DecodeInt(value, key);
    } else if (name == "pinnedCellId") {
      s.pinned_cell_id = null ? "" : DecodeString(value, key);
    } else if (name == "leafCellType") {
      s.leaf_cell_type = null ? "" : DecodeString(value, key);
    } else if (name == "leafCellNumber") {
      s.leaf_cell_number = null ? 0 : DecodeInt(value, key);
    } else if (name == "affinityGroup") {
      if (null) {
        raw->has_affinity_group = false;
        raw->group_name.clear();
        raw->members.clear();
      } else {
        DecodeAffinityGroup(value, key, raw);
      }
    } else if (name == "lazyPreemptionEnable") {
      s.lazy_preemption_enable = null ? false : DecodeBool(value, key);
    } else if (name == "ignoreK8sSuggestedNodes") {
      s.ignore_k8s_suggested_nodes = null ? true : DecodeBool(value, key);
    } else if (name == "gangReleaseEnable") {
      s.gang_release_enable = null ? false : DecodeBool(value, key);
    }
  });
}

}  // namespace

Result<PodSchedulingSpec> ParsePodSchedulingSpec(std::string_view text,
                                                 std::string_view pod_namespace,
                                                 std::string_view pod_name,
                                                 std::vector<std::string>* warnings) {
  RawSpec raw;
  // HiveD's message, then the ignored keys: a misspelt key is the usual
  // cause of "LeafCellNumber is non-positive" and the like.
  auto error = [&raw](std::string_view message) {
    std::string text = std::string(kPodSchedulingSpecErrorPrefix) + std::string(message);
    for (const std::string& u : raw.unknown_keys) text += "; " + u;
    return Status::Invalid(std::move(text));
  };
  if (text.empty()) return error(kEmptyAnnotation);

  Status decoded =
      DecodeDocument(text, kPodSchedulingSpecErrorPrefix,
                     [&](const YamlTree& root) { DecodeSpec(root, &raw); });
  if (!decoded.ok()) return decoded;
  if (warnings) *warnings = raw.unknown_keys;

  // The checks of hived.md 4.3, in its order.
  PodSchedulingSpec& spec = raw.spec;
  if (spec.virtual_cluster.empty()) return error("VirtualCluster is empty");
  if (spec.priority < kOpportunisticPriority) {
    return error("Priority is less than -1");
  }
  if (spec.priority > kMaxGuaranteedPriority) {
    return error("Priority is greater than 1000");
  }
  if (spec.leaf_cell_number <= 0) {
    return error("LeafCellNumber is non-positive");
  }
  if (!raw.has_affinity_group) {
    raw.group_name = std::string(pod_namespace) + "/" + std::string(pod_name);
    raw.members = {{1, spec.leaf_cell_number}};
  }
  if (raw.group_name.empty()) return error("AffinityGroup.Name is empty");
  // Member by member, both counts of a member before the next (HiveD's loop).
  bool contains_pod = false;
  for (const AffinityGroupMemberSpec& m : raw.members) {
    if (m.pod_number <= 0) {
      return error("AffinityGroup.Members has non-positive PodNumber");
    }
    if (m.leaf_cell_number <= 0) {
      return error("AffinityGroup.Members has non-positive LeafCellNumber");
    }
    if (m.leaf_cell_number == spec.leaf_cell_number) contains_pod = true;
  }
  if (!contains_pod) {
    return error("AffinityGroup.Members does not contains current Pod");
  }

  // Merge members of equal size, in first-appearance order.
  spec.affinity_group_name = std::move(raw.group_name);
  spec.affinity_group_members.clear();
  for (const AffinityGroupMemberSpec& m : raw.members) {
    AffinityGroupMemberSpec* same = nullptr;
    for (AffinityGroupMemberSpec& merged : spec.affinity_group_members) {
      if (merged.leaf_cell_number == m.leaf_cell_number) same = &merged;
    }
    if (same == nullptr) {
      spec.affinity_group_members.push_back(m);
      continue;
    }
    int64_t sum = int64_t{same->pod_number} + m.pod_number;
    if (sum > std::numeric_limits<int32_t>::max()) {
      return error("AffinityGroup.Members has more than 2147483647 pods of " +
                   std::to_string(m.leaf_cell_number) + " leaf cells");
    }
    same->pod_number = static_cast<int32_t>(sum);
  }
  return std::move(spec);
}

}  // namespace apiary::cell
