// Pod annotations: the scheduling spec (hived.md 4.2, 4.3) and the bind info
// (hived.md 10).

#include "apiary/cell/annotations.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace apiary::cell {
namespace {

constexpr char kNs[] = "default";
constexpr char kPod[] = "job-0";

Result<PodSchedulingSpec> Parse(const std::string& text) {
  return ParsePodSchedulingSpec(text, kNs, kPod);
}

std::string SpecError(const std::string& text) {
  Result<PodSchedulingSpec> r = Parse(text);
  EXPECT_FALSE(r.ok()) << "accepted: " << text;
  if (r.ok()) return "";
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  return r.status().message();
}

std::string Msg(const std::string& after_prefix) {
  return std::string(kPodSchedulingSpecErrorPrefix) + after_prefix;
}

bool StartsWith(const std::string& s, const std::string& prefix) {
  return s.rfind(prefix, 0) == 0;
}

bool Contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// ---------------------------------------------------------------------------
// PodSchedulingSpec: defaults and fields.

TEST(PodSpecAnnotationTest, DefaultsApplied) {
  auto r = Parse("virtualCluster: vc1\nleafCellNumber: 2\n");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->virtual_cluster, "vc1");
  EXPECT_EQ(r->priority, 0);
  EXPECT_EQ(r->pinned_cell_id, "");
  EXPECT_EQ(r->leaf_cell_type, "");
  EXPECT_EQ(r->leaf_cell_number, 2);
  EXPECT_EQ(r->affinity_group_name, "default/job-0");
  ASSERT_EQ(r->affinity_group_members.size(), 1u);
  EXPECT_EQ(r->affinity_group_members[0].pod_number, 1);
  EXPECT_EQ(r->affinity_group_members[0].leaf_cell_number, 2);
  EXPECT_FALSE(r->lazy_preemption_enable);
  EXPECT_TRUE(r->ignore_k8s_suggested_nodes);  // true when the key is absent
  EXPECT_FALSE(r->gang_release_enable);
}

TEST(PodSpecAnnotationTest, AllFields) {
  auto r = Parse(R"(virtualCluster: vc2
priority: 1000
pinnedCellId: pin-1
leafCellType: DGX2-V100
leafCellNumber: 16
affinityGroup:
  name: ns/group-a
  members:
  - podNumber: 2
    leafCellNumber: 16
  - podNumber: 1
    leafCellNumber: 8
lazyPreemptionEnable: true
ignoreK8sSuggestedNodes: false
gangReleaseEnable: true
)");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->virtual_cluster, "vc2");
  EXPECT_EQ(r->priority, 1000);
  EXPECT_EQ(r->pinned_cell_id, "pin-1");
  EXPECT_EQ(r->leaf_cell_type, "DGX2-V100");
  EXPECT_EQ(r->leaf_cell_number, 16);
  EXPECT_EQ(r->affinity_group_name, "ns/group-a");
  ASSERT_EQ(r->affinity_group_members.size(), 2u);
  EXPECT_EQ(r->affinity_group_members[0].pod_number, 2);
  EXPECT_EQ(r->affinity_group_members[0].leaf_cell_number, 16);
  EXPECT_EQ(r->affinity_group_members[1].pod_number, 1);
  EXPECT_EQ(r->affinity_group_members[1].leaf_cell_number, 8);
  EXPECT_TRUE(r->lazy_preemption_enable);
  EXPECT_FALSE(r->ignore_k8s_suggested_nodes);
  EXPECT_TRUE(r->gang_release_enable);
}

TEST(PodSpecAnnotationTest, PriorityBoundsAccepted) {
  auto low = Parse("virtualCluster: a\npriority: -1\nleafCellNumber: 1");
  ASSERT_TRUE(low.ok()) << low.status().message();
  EXPECT_EQ(low->priority, -1);
  auto high = Parse("virtualCluster: a\npriority: 1000\nleafCellNumber: 1");
  ASSERT_TRUE(high.ok()) << high.status().message();
  EXPECT_EQ(high->priority, 1000);
}

TEST(PodSpecAnnotationTest, UnknownAndMiscasedFieldsIgnored) {
  auto r = Parse(
      "virtualCluster: a\nleafCellNumber: 1\nPriority: 7\nfoo: {bar: [1]}\n"
      "1: x\n? [complex, key]\n: y\n");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->priority, 0);
}

TEST(PodSpecAnnotationTest, YamlBooleansAndIntegerForms) {
  auto r = Parse(
      "virtualCluster: a\npriority: 0x10\nleafCellNumber: 1_0\n"
      "lazyPreemptionEnable: yes\nignoreK8sSuggestedNodes: Off\n"
      "gangReleaseEnable: TRUE\n");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->priority, 16);
  EXPECT_EQ(r->leaf_cell_number, 10);
  EXPECT_TRUE(r->lazy_preemption_enable);
  EXPECT_FALSE(r->ignore_k8s_suggested_nodes);
  EXPECT_TRUE(r->gang_release_enable);
}

TEST(PodSpecAnnotationTest, NonStringScalarsAreStringFields) {
  // As in HiveD's reader, a scalar in a string field is taken as its text.
  auto r = Parse("virtualCluster: 123\nleafCellType: true\nleafCellNumber: 1");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->virtual_cluster, "123");
  EXPECT_EQ(r->leaf_cell_type, "true");
}

TEST(PodSpecAnnotationTest, DuplicateKeyLastWins) {
  auto r = Parse("virtualCluster: a\nleafCellNumber: 1\nleafCellNumber: 4");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->leaf_cell_number, 4);
}

TEST(PodSpecAnnotationTest, JsonInput) {
  auto r = Parse(
      R"({"virtualCluster":"vc1","priority":-1,"leafCellType":"K80",)"
      R"("leafCellNumber":1,"affinityGroup":{"name":"g1","members":)"
      R"([{"podNumber":3,"leafCellNumber":1}]},"lazyPreemptionEnable":false,)"
      R"("ignoreK8sSuggestedNodes":true,"pinnedCellId":null})");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->virtual_cluster, "vc1");
  EXPECT_EQ(r->priority, -1);
  EXPECT_EQ(r->leaf_cell_type, "K80");
  EXPECT_EQ(r->leaf_cell_number, 1);
  EXPECT_EQ(r->affinity_group_name, "g1");
  ASSERT_EQ(r->affinity_group_members.size(), 1u);
  EXPECT_EQ(r->affinity_group_members[0].pod_number, 3);
  EXPECT_TRUE(r->ignore_k8s_suggested_nodes);
  EXPECT_EQ(r->pinned_cell_id, "");
}

TEST(PodSpecAnnotationTest, JsonWholeNumberFloatAccepted) {
  auto r = Parse(
      R"({"virtualCluster": "a", "priority": 2.0, "leafCellNumber": 1e1})");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->priority, 2);
  EXPECT_EQ(r->leaf_cell_number, 10);
}

// ---------------------------------------------------------------------------
// Legacy names (4.2, Q12): keys only.

TEST(PodSpecAnnotationTest, LegacyKeysRenamed) {
  auto r = Parse(R"(virtualCluster: vc1
gpuType: K80
gpuNumber: 4
affinityGroup:
  name: g
  members:
  - podNumber: 2
    gpuNumber: 4
)");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->leaf_cell_type, "K80");
  EXPECT_EQ(r->leaf_cell_number, 4);
  ASSERT_EQ(r->affinity_group_members.size(), 1u);
  EXPECT_EQ(r->affinity_group_members[0].pod_number, 2);
  EXPECT_EQ(r->affinity_group_members[0].leaf_cell_number, 4);
}

TEST(PodSpecAnnotationTest, LegacyNamesInValuesNotRewritten) {
  auto r = Parse(R"(virtualCluster: my-gpuType-vc
leafCellType: gpuNumber
leafCellNumber: 1
affinityGroup:
  name: gpuType/gpuNumber
  members: [{podNumber: 1, leafCellNumber: 1}]
)");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->virtual_cluster, "my-gpuType-vc");
  EXPECT_EQ(r->leaf_cell_type, "gpuNumber");
  EXPECT_EQ(r->affinity_group_name, "gpuType/gpuNumber");
}

TEST(PodSpecAnnotationTest, LegacyAndNewKeyLastWins) {
  auto r = Parse("virtualCluster: a\ngpuNumber: 2\nleafCellNumber: 3\n");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->leaf_cell_number, 3);
  r = Parse("virtualCluster: a\nleafCellNumber: 3\ngpuNumber: 2\n");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->leaf_cell_number, 2);
}

// ---------------------------------------------------------------------------
// Null is absent (4.2, Q13).

TEST(PodSpecAnnotationTest, OpenPaiNullsMeanNone) {
  auto r = Parse(R"(virtualCluster: default
priority: 10
pinnedCellId: null
leafCellType: null
leafCellNumber: 1
affinityGroup: null
)");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->pinned_cell_id, "");
  EXPECT_EQ(r->leaf_cell_type, "");
  EXPECT_EQ(r->affinity_group_name, "default/job-0");
  ASSERT_EQ(r->affinity_group_members.size(), 1u);
  EXPECT_EQ(r->affinity_group_members[0].pod_number, 1);
  EXPECT_EQ(r->affinity_group_members[0].leaf_cell_number, 1);
}

TEST(PodSpecAnnotationTest, EveryNullFormIsAbsent) {
  auto r = Parse(R"(virtualCluster: a
leafCellNumber: 2
priority: ~
pinnedCellId:
lazyPreemptionEnable: Null
ignoreK8sSuggestedNodes: null
gangReleaseEnable: NULL
leafCellType: !!null
)");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->priority, 0);
  EXPECT_EQ(r->pinned_cell_id, "");
  EXPECT_EQ(r->leaf_cell_type, "");
  EXPECT_FALSE(r->lazy_preemption_enable);
  // HiveD makes this false; Apiary's null is absent, so the default holds.
  EXPECT_TRUE(r->ignore_k8s_suggested_nodes);
  EXPECT_FALSE(r->gang_release_enable);
}

TEST(PodSpecAnnotationTest, NullAfterValueRestoresDefault) {
  auto r = Parse(
      "virtualCluster: a\nleafCellNumber: 1\npriority: 5\npriority: null\n");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->priority, 0);
}

TEST(PodSpecAnnotationTest, QuotedNullIsAString) {
  auto r = Parse("virtualCluster: 'null'\nleafCellNumber: 1");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->virtual_cluster, "null");
}

TEST(PodSpecAnnotationTest, NullRequiredFieldsAreMissing) {
  EXPECT_EQ(SpecError("virtualCluster: null\nleafCellNumber: 1"),
            Msg("VirtualCluster is empty"));
  EXPECT_EQ(SpecError("virtualCluster: a\nleafCellNumber: ~"),
            Msg("LeafCellNumber is non-positive"));
  EXPECT_EQ(SpecError("virtualCluster: a\nleafCellNumber: 1\n"
                      "affinityGroup: {name: null, members: [{podNumber: 1, "
                      "leafCellNumber: 1}]}"),
            Msg("AffinityGroup.Name is empty"));
  EXPECT_EQ(SpecError("virtualCluster: a\nleafCellNumber: 1\n"
                      "affinityGroup: {name: g, members: null}"),
            Msg("AffinityGroup.Members does not contains current Pod"));
  EXPECT_EQ(SpecError("virtualCluster: a\nleafCellNumber: 1\n"
                      "affinityGroup: {name: g, members: [null]}"),
            Msg("AffinityGroup.Members has non-positive PodNumber"));
  EXPECT_EQ(SpecError("virtualCluster: a\nleafCellNumber: 1\n"
                      "affinityGroup: {name: g, members: [{podNumber: 1, "
                      "leafCellNumber: null}]}"),
            Msg("AffinityGroup.Members has non-positive LeafCellNumber"));
}

// ---------------------------------------------------------------------------
// Validation errors of 4.3, verbatim and in order.

TEST(PodSpecAnnotationTest, ErrorAnnotationEmpty) {
  EXPECT_EQ(SpecError(""), Msg("Annotation does not exist or is empty"));
  EXPECT_EQ(Msg("Annotation does not exist or is empty"),
            "Pod annotation hivedscheduler.microsoft.com/pod-scheduling-spec: "
            "Annotation does not exist or is empty");
}

TEST(PodSpecAnnotationTest, ErrorUnmarshal) {
  for (const char* text :
       {"virtualCluster: [a", "{virtualCluster: a", "a: b: c", "[1, 2]",
        "just a string", "- virtualCluster: a", "\"unterminated",
        "virtualCluster: a\n  leafCellNumber: 1\n bad"}) {
    std::string m = SpecError(text);
    EXPECT_TRUE(StartsWith(m, Msg("Failed to unmarshal")))
        << text << " -> " << m;
  }
}

TEST(PodSpecAnnotationTest, BlankDocumentHasNoVirtualCluster) {
  // As in HiveD: a document with no fields is an empty spec.
  EXPECT_EQ(SpecError("  \n"), Msg("VirtualCluster is empty"));
  EXPECT_EQ(SpecError("# just a comment\n"), Msg("VirtualCluster is empty"));
  EXPECT_EQ(SpecError("{}"), Msg("VirtualCluster is empty"));
  EXPECT_EQ(SpecError("null"), Msg("VirtualCluster is empty"));
}

TEST(PodSpecAnnotationTest, ErrorVirtualClusterEmpty) {
  EXPECT_EQ(SpecError("leafCellNumber: 1"), Msg("VirtualCluster is empty"));
  EXPECT_EQ(SpecError("virtualCluster: ''\nleafCellNumber: 1"),
            Msg("VirtualCluster is empty"));
}

TEST(PodSpecAnnotationTest, ErrorPriorityLessThanMinusOne) {
  EXPECT_EQ(SpecError("virtualCluster: a\npriority: -2\nleafCellNumber: 1"),
            Msg("Priority is less than -1"));
  EXPECT_EQ(SpecError("virtualCluster: a\npriority: -2\nleafCellNumber: 1"),
            "Pod annotation hivedscheduler.microsoft.com/pod-scheduling-spec: "
            "Priority is less than -1");
}

TEST(PodSpecAnnotationTest, ErrorPriorityGreaterThan1000) {
  EXPECT_EQ(SpecError("virtualCluster: a\npriority: 1001\nleafCellNumber: 1"),
            Msg("Priority is greater than 1000"));
}

TEST(PodSpecAnnotationTest, ErrorLeafCellNumberNonPositive) {
  EXPECT_EQ(SpecError("virtualCluster: a"),
            Msg("LeafCellNumber is non-positive"));
  EXPECT_EQ(SpecError("virtualCluster: a\nleafCellNumber: 0"),
            Msg("LeafCellNumber is non-positive"));
  EXPECT_EQ(SpecError("virtualCluster: a\ngpuNumber: -3"),
            Msg("LeafCellNumber is non-positive"));
}

TEST(PodSpecAnnotationTest, ErrorAffinityGroupNameEmpty) {
  EXPECT_EQ(
      SpecError("virtualCluster: a\nleafCellNumber: 1\naffinityGroup: {}"),
      Msg("AffinityGroup.Name is empty"));
  EXPECT_EQ(SpecError("virtualCluster: a\nleafCellNumber: 1\n"
                      "affinityGroup:\n  members:\n  - podNumber: 1\n"
                      "    leafCellNumber: 1\n"),
            Msg("AffinityGroup.Name is empty"));
}

TEST(PodSpecAnnotationTest, ErrorMemberPodNumberNonPositive) {
  EXPECT_EQ(SpecError("virtualCluster: a\nleafCellNumber: 1\naffinityGroup:\n"
                      "  name: g\n  members:\n  - podNumber: 0\n"
                      "    leafCellNumber: 1\n"),
            Msg("AffinityGroup.Members has non-positive PodNumber"));
}

TEST(PodSpecAnnotationTest, ErrorMemberLeafCellNumberNonPositive) {
  EXPECT_EQ(SpecError("virtualCluster: a\nleafCellNumber: 1\naffinityGroup:\n"
                      "  name: g\n  members:\n  - podNumber: 1\n"
                      "    leafCellNumber: -1\n"),
            Msg("AffinityGroup.Members has non-positive LeafCellNumber"));
}

TEST(PodSpecAnnotationTest, ErrorMembersDoNotContainPod) {
  EXPECT_EQ(SpecError("virtualCluster: a\nleafCellNumber: 2\naffinityGroup:\n"
                      "  name: g\n  members:\n  - podNumber: 4\n"
                      "    leafCellNumber: 1\n"),
            Msg("AffinityGroup.Members does not contains current Pod"));
  EXPECT_EQ(SpecError("virtualCluster: a\nleafCellNumber: 2\n"
                      "affinityGroup: {name: g}"),
            Msg("AffinityGroup.Members does not contains current Pod"));
  EXPECT_EQ(SpecError("virtualCluster: a\nleafCellNumber: 2\n"
                      "affinityGroup: {name: g, members: []}"),
            Msg("AffinityGroup.Members does not contains current Pod"));
}

TEST(PodSpecAnnotationTest, ErrorOrderFollowsTable) {
  // Every check failing: the first row wins, then the next, and so on.
  std::string all_bad =
      "priority: 2000\nleafCellNumber: 0\n"
      "affinityGroup: {name: '', members: [{podNumber: 0, leafCellNumber: "
      "0}]}\n";
  EXPECT_EQ(SpecError(all_bad), Msg("VirtualCluster is empty"));
  EXPECT_EQ(SpecError("virtualCluster: a\npriority: -5\n" + all_bad.substr(15)),
            Msg("Priority is less than -1"));
  EXPECT_EQ(SpecError("virtualCluster: a\n" + all_bad),
            Msg("Priority is greater than 1000"));
  EXPECT_EQ(SpecError("virtualCluster: a\n" + all_bad.substr(15)),
            Msg("LeafCellNumber is non-positive"));
  EXPECT_EQ(
      SpecError("virtualCluster: a\nleafCellNumber: 3\n" + all_bad.substr(33)),
      Msg("AffinityGroup.Name is empty"));
  EXPECT_EQ(
      SpecError("virtualCluster: a\nleafCellNumber: 3\naffinityGroup: "
                "{name: g, members: [{podNumber: 0, leafCellNumber: 0}]}"),
      Msg("AffinityGroup.Members has non-positive PodNumber"));
  EXPECT_EQ(
      SpecError("virtualCluster: a\nleafCellNumber: 3\naffinityGroup: "
                "{name: g, members: [{podNumber: 1, leafCellNumber: 0}]}"),
      Msg("AffinityGroup.Members has non-positive LeafCellNumber"));
  // The default group cannot fail its checks: a positive leafCellNumber
  // is checked before the group is made.
  EXPECT_EQ(
      SpecError("virtualCluster: a\nleafCellNumber: 0\naffinityGroup: null"),
      Msg("LeafCellNumber is non-positive"));
}

TEST(PodSpecAnnotationTest, MemberChecksRunMemberByMember) {
  // HiveD checks each member fully before the next one.
  EXPECT_EQ(SpecError("virtualCluster: a\nleafCellNumber: 1\naffinityGroup: "
                      "{name: g, members: [{podNumber: 1, leafCellNumber: 0}, "
                      "{podNumber: 0, leafCellNumber: 1}]}"),
            Msg("AffinityGroup.Members has non-positive LeafCellNumber"));
  // A valid member matching the pod does not hide a later invalid one.
  EXPECT_EQ(SpecError("virtualCluster: a\nleafCellNumber: 1\naffinityGroup: "
                      "{name: g, members: [{podNumber: 1, leafCellNumber: 1}, "
                      "{podNumber: -1, leafCellNumber: 2}]}"),
            Msg("AffinityGroup.Members has non-positive PodNumber"));
}

// ---------------------------------------------------------------------------
// Type errors: fractions and non-numbers are user errors naming the field.

TEST(PodSpecAnnotationTest, FractionRejected) {
  std::string m =
      SpecError("virtualCluster: a\npriority: 1.5\nleafCellNumber: 1");
  EXPECT_TRUE(StartsWith(m, Msg("Failed to unmarshal"))) << m;
  EXPECT_TRUE(Contains(m, "priority")) << m;
  EXPECT_TRUE(Contains(m, "1.5")) << m;

  m = SpecError(R"({"virtualCluster": "a", "leafCellNumber": 0.5})");
  EXPECT_TRUE(Contains(m, "leafCellNumber")) << m;
  m = SpecError("virtualCluster: a\ngpuNumber: 2.25");
  EXPECT_TRUE(Contains(m, "gpuNumber")) << m;
  m = SpecError(
      "virtualCluster: a\nleafCellNumber: 1\naffinityGroup: {name: g, "
      "members: [{podNumber: 1.5, leafCellNumber: 1}]}");
  EXPECT_TRUE(Contains(m, "affinityGroup.members[0].podNumber")) << m;
  m = SpecError("virtualCluster: a\nleafCellNumber: .inf");
  EXPECT_TRUE(Contains(m, "leafCellNumber")) << m;
}

TEST(PodSpecAnnotationTest, NonNumbersRejected) {
  for (const char* value : {"abc", "'1'", "\"1\"", "true", "[1]", "{a: 1}",
                            "1abc", "0x", "2020-01-01", "!!str 1"}) {
    std::string m =
        SpecError(std::string("virtualCluster: a\nleafCellNumber: 1\n"
                              "priority: ") +
                  value);
    EXPECT_TRUE(StartsWith(m, Msg("Failed to unmarshal")))
        << value << " -> " << m;
    EXPECT_TRUE(Contains(m, "priority")) << value << " -> " << m;
  }
}

TEST(PodSpecAnnotationTest, OutOfRangeRejected) {
  std::string m = SpecError("virtualCluster: a\nleafCellNumber: 3000000000");
  EXPECT_TRUE(Contains(m, "leafCellNumber")) << m;
  EXPECT_TRUE(Contains(m, "out of range")) << m;
  m = SpecError(
      "virtualCluster: a\nleafCellNumber: 1\npriority: "
      "-99999999999999999999999");
  EXPECT_TRUE(Contains(m, "priority")) << m;
}

TEST(PodSpecAnnotationTest, NonBooleansRejected) {
  for (const char* value : {"'false'", "1", "maybe", "[]"}) {
    std::string m =
        SpecError(std::string("virtualCluster: a\nleafCellNumber: 1\n"
                              "ignoreK8sSuggestedNodes: ") +
                  value);
    EXPECT_TRUE(Contains(m, "ignoreK8sSuggestedNodes")) << value << " -> " << m;
  }
}

TEST(PodSpecAnnotationTest, WrongContainerTypesRejected) {
  std::string m = SpecError("virtualCluster: [a]\nleafCellNumber: 1");
  EXPECT_TRUE(Contains(m, "virtualCluster")) << m;
  m = SpecError("virtualCluster: a\nleafCellNumber: 1\naffinityGroup: g");
  EXPECT_TRUE(Contains(m, "affinityGroup")) << m;
  m = SpecError(
      "virtualCluster: a\nleafCellNumber: 1\n"
      "affinityGroup: {name: g, members: {podNumber: 1}}");
  EXPECT_TRUE(Contains(m, "affinityGroup.members")) << m;
  m = SpecError(
      "virtualCluster: a\nleafCellNumber: 1\n"
      "affinityGroup: {name: [g], members: []}");
  EXPECT_TRUE(Contains(m, "affinityGroup.name")) << m;
  m = SpecError(
      "virtualCluster: a\nleafCellNumber: 1\n"
      "affinityGroup: {name: g, members: [3]}");
  EXPECT_TRUE(Contains(m, "affinityGroup.members[0]")) << m;
}

// ---------------------------------------------------------------------------
// Member merging.

TEST(PodSpecAnnotationTest, MembersOfEqualSizeMerged) {
  auto r = Parse(R"(virtualCluster: a
leafCellNumber: 4
affinityGroup:
  name: g
  members:
  - {podNumber: 2, leafCellNumber: 4}
  - {podNumber: 1, leafCellNumber: 8}
  - {podNumber: 3, leafCellNumber: 4}
  - {podNumber: 1, leafCellNumber: 1}
  - {podNumber: 5, leafCellNumber: 8}
)");
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->affinity_group_members.size(), 3u);
  EXPECT_EQ(r->affinity_group_members[0].leaf_cell_number, 4);
  EXPECT_EQ(r->affinity_group_members[0].pod_number, 5);
  EXPECT_EQ(r->affinity_group_members[1].leaf_cell_number, 8);
  EXPECT_EQ(r->affinity_group_members[1].pod_number, 6);
  EXPECT_EQ(r->affinity_group_members[2].leaf_cell_number, 1);
  EXPECT_EQ(r->affinity_group_members[2].pod_number, 1);
}

TEST(PodSpecAnnotationTest, MergeOverflowRejected) {
  std::string m = SpecError(
      "virtualCluster: a\nleafCellNumber: 1\naffinityGroup: {name: g, members: "
      "[{podNumber: 2147483647, leafCellNumber: 1}, {podNumber: 1, "
      "leafCellNumber: 1}]}");
  EXPECT_TRUE(StartsWith(m, Msg("AffinityGroup.Members"))) << m;
}

// ---------------------------------------------------------------------------
// Bind info (hived.md 10).

constexpr char kCanonicalBindInfo[] = R"(node: gpu-c
leafCellIsolation:
- 7
- 1
cellChain: RACK
affinityGroupBindInfo:
- podPlacements:
  - physicalNode: gpu-c
    physicalLeafCellIndices:
    - 7
    - 1
    preassignedCellTypes:
    - NODE
    - NODE
  - physicalNode: gpu-b
    physicalLeafCellIndices:
    - 0
    - 1
    preassignedCellTypes:
    - NODE
    - NODE
)";

PodBindInfo CanonicalInfo() {
  PodBindInfo info;
  info.node = "gpu-c";
  info.leaf_cell_isolation = {7, 1};
  info.cell_chain = "RACK";
  AffinityGroupMemberBindInfo member;
  member.pod_placements.push_back({"gpu-c", {7, 1}, {"NODE", "NODE"}});
  member.pod_placements.push_back({"gpu-b", {0, 1}, {"NODE", "NODE"}});
  info.affinity_group_bind_info.push_back(member);
  return info;
}

void ExpectSameBindInfo(const PodBindInfo& a, const PodBindInfo& b) {
  EXPECT_EQ(a.node, b.node);
  EXPECT_EQ(a.leaf_cell_isolation, b.leaf_cell_isolation);
  EXPECT_EQ(a.cell_chain, b.cell_chain);
  ASSERT_EQ(a.affinity_group_bind_info.size(),
            b.affinity_group_bind_info.size());
  for (size_t i = 0; i < a.affinity_group_bind_info.size(); ++i) {
    const auto& pa = a.affinity_group_bind_info[i].pod_placements;
    const auto& pb = b.affinity_group_bind_info[i].pod_placements;
    ASSERT_EQ(pa.size(), pb.size()) << "member " << i;
    for (size_t j = 0; j < pa.size(); ++j) {
      EXPECT_EQ(pa[j].physical_node, pb[j].physical_node);
      EXPECT_EQ(pa[j].physical_leaf_cell_indices,
                pb[j].physical_leaf_cell_indices);
      EXPECT_EQ(pa[j].preassigned_cell_types, pb[j].preassigned_cell_types);
    }
  }
}

TEST(BindInfoAnnotationTest, CanonicalTextByteExact) {
  EXPECT_EQ(EmitPodBindInfo(CanonicalInfo()), kCanonicalBindInfo);
}

TEST(VirtualLeafCellsAnnotationTest, RoundTripsInBindInfoOrder) {
  PodBindInfo info = CanonicalInfo();
  info.virtual_leaf_cells = {"VC1/0/2", "VC1/0/3", "VC1/1/0", ""};
  const std::string text = EmitVirtualLeafCells(info);
  EXPECT_EQ(text, R"(["VC1/0/2","VC1/0/3","VC1/1/0",""])");
  // The HiveD bind info text does not carry them.
  EXPECT_EQ(EmitPodBindInfo(info), kCanonicalBindInfo);

  PodBindInfo read = CanonicalInfo();
  ASSERT_TRUE(ApplyVirtualLeafCells(text, read).ok());
  EXPECT_EQ(read.virtual_leaf_cells, info.virtual_leaf_cells);
  // Flow-style YAML is read too.
  ASSERT_TRUE(ApplyVirtualLeafCells("[a, b, c, '']", read).ok());
  EXPECT_EQ(read.virtual_leaf_cells, (std::vector<std::string>{"a", "b", "c", ""}));
}

TEST(VirtualLeafCellsAnnotationTest, NothingToPersistWithoutVirtualCells) {
  PodBindInfo info = CanonicalInfo();
  EXPECT_EQ(EmitVirtualLeafCells(info), "");
  info.virtual_leaf_cells = {"", "", "", ""};
  EXPECT_EQ(EmitVirtualLeafCells(info), "");
  info.virtual_leaf_cells = {"VC1/0/0"};  // not one per leaf
  EXPECT_EQ(EmitVirtualLeafCells(info), "");
}

TEST(VirtualLeafCellsAnnotationTest, BadTextIsRejectedAndLeavesTheBindInfoAlone) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "Annotation does not exist or is empty"},
      {"{a: b}", "expected a sequence of virtual cell addresses"},
      {R"(["VC1/0/0", ["x"], "a", "b"])", "entry 1: expected a virtual cell address"},
      {R"(["VC1/0/0"])", "has 1 addresses but the bind info has 4 leaf cells"},
      {"[unclosed", "Failed to unmarshal YAML"},
  };
  for (const auto& [text, want] : cases) {
    PodBindInfo info = CanonicalInfo();
    info.virtual_leaf_cells = {"keep", "these", "four", "cells"};
    Status st = ApplyVirtualLeafCells(text, info);
    ASSERT_FALSE(st.ok()) << text;
    EXPECT_NE(st.message().find("apiary.io/virtual-leaf-cells"), std::string::npos) << st.message();
    EXPECT_NE(st.message().find(want), std::string::npos) << text << ": " << st.message();
    EXPECT_EQ(info.virtual_leaf_cells,
              (std::vector<std::string>{"keep", "these", "four", "cells"}));
  }
}

TEST(BindInfoAnnotationTest, ParseCanonicalText) {
  auto r = ParsePodBindInfo(kCanonicalBindInfo);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ExpectSameBindInfo(*r, CanonicalInfo());
}

TEST(BindInfoAnnotationTest, EmptyListsAndOpportunisticCells) {
  PodBindInfo info;
  info.node = "node-1";
  info.cell_chain = "V100-RACK";
  EXPECT_EQ(EmitPodBindInfo(info),
            "node: node-1\nleafCellIsolation: []\ncellChain: V100-RACK\n"
            "affinityGroupBindInfo: []\n");

  info.leaf_cell_isolation = {3};
  AffinityGroupMemberBindInfo empty_member;
  AffinityGroupMemberBindInfo member;
  member.pod_placements.push_back({"node-1", {3}, {""}});
  member.pod_placements.push_back({"node-2", {}, {}});
  info.affinity_group_bind_info = {member, empty_member};
  const std::string expected = R"(node: node-1
leafCellIsolation:
- 3
cellChain: V100-RACK
affinityGroupBindInfo:
- podPlacements:
  - physicalNode: node-1
    physicalLeafCellIndices:
    - 3
    preassignedCellTypes:
    - ""
  - physicalNode: node-2
    physicalLeafCellIndices: []
    preassignedCellTypes: []
- podPlacements: []
)";
  EXPECT_EQ(EmitPodBindInfo(info), expected);
  auto r = ParsePodBindInfo(expected);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ExpectSameBindInfo(*r, info);
}

TEST(BindInfoAnnotationTest, EmptyStringsQuoted) {
  PodBindInfo info;
  EXPECT_EQ(EmitPodBindInfo(info),
            "node: \"\"\nleafCellIsolation: []\ncellChain: \"\"\n"
            "affinityGroupBindInfo: []\n");
}

struct QuoteCase {
  const char* value;
  const char* emitted;
};

// How yaml.v2 writes these strings: plain unless the text would read back as
// another type (double quotes) or holds YAML indicators (single quotes).
TEST(BindInfoAnnotationTest, ScalarQuotingFollowsYamlV2) {
  const QuoteCase cases[] = {
      {"gpu-c", "gpu-c"},
      {"node.example.com", "node.example.com"},
      {"", "\"\""},
      {"123", "\"123\""},
      {"-7", "\"-7\""},
      {"+7", "\"+7\""},
      {"0x1F", "\"0x1F\""},
      {"0o17", "\"0o17\""},
      {"0b101", "\"0b101\""},
      {"017", "\"017\""},
      {"09", "\"09\""},
      {"1_000", "\"1_000\""},
      {"1.5", "\"1.5\""},
      {"1e3", "\"1e3\""},
      {".5", "\".5\""},
      {".inf", "\".inf\""},
      {"-.Inf", "\"-.Inf\""},
      {".NaN", "\".NaN\""},
      {"1:20", "\"1:20\""},
      {"2020-01-01", "\"2020-01-01\""},
      {"2020-1-2T03:04:05Z", "\"2020-1-2T03:04:05Z\""},
      {"2020-1-2 3:4:5.25", "\"2020-1-2 3:4:5.25\""},
      {"2021-02-30", "2021-02-30"},  // not a date: Go rejects the day
      {"2020-01-01x", "2020-01-01x"},
      {"true", "\"true\""},
      {"False", "\"False\""},
      {"yes", "\"yes\""},
      {"Y", "\"Y\""},
      {"n", "\"n\""},
      {"on", "\"on\""},
      {"OFF", "\"OFF\""},
      {"null", "\"null\""},
      {"Null", "\"Null\""},
      {"~", "\"~\""},
      {"yes-node", "yes-node"},
      {"no1", "no1"},
      {"nULL", "nULL"},
      {"1abc", "1abc"},
      {"0x", "0x"},
      {"1.2.3", "1.2.3"},
      {".", "."},
      {"-", "'-'"},
      {":", "':'"},
      {"?", "'?'"},
      {"-foo", "-foo"},
      {"- foo", "'- foo'"},
      {"a: b", "'a: b'"},
      {"a:", "'a:'"},
      {"a:b", "a:b"},
      {"a#b", "a#b"},
      {"a #b", "'a #b'"},
      {"#x", "'#x'"},
      {"@x", "'@x'"},
      {"%x", "'%x'"},
      {"&x", "'&x'"},
      {"*x", "'*x'"},
      {"!x", "'!x'"},
      {"|x", "'|x'"},
      {">x", "'>x'"},
      {"[x", "'[x'"},
      {"{x", "'{x'"},
      {"`x", "'`x'"},
      {"x[0]", "x[0]"},
      {"a,b", "a,b"},
      {"? x", "'? x'"},
      {"?x", "?x"},
      {"---", "'---'"},
      {"...x", "'...x'"},
      {" lead", "' lead'"},
      {"trail ", "'trail '"},
      {"two  spaces", "two  spaces"},
      {"it's", "it's"},
      {"'q", "'''q'"},
      {"\"q", "'\"q'"},
      {"<<", "<<"},
      {"tab\there", "\"tab\\there\""},
      {"line\nbreak", "\"line\\nbreak\""},
      {"cr\r", "\"cr\\r\""},
      {"back\\slash", "back\\slash"},
      {"caf\xC3\xA9", "caf\xC3\xA9"},
      {"del\x7F", "\"del\\x7F\""},
      {"\xF0\x9F\x90\x9D", "\"\\U0001F41D\""},
  };
  for (const QuoteCase& c : cases) {
    PodBindInfo info;
    info.node = c.value;
    info.cell_chain = "c";
    std::string text = EmitPodBindInfo(info);
    std::string expected = std::string("node: ") + c.emitted + "\n";
    EXPECT_EQ(text.substr(0, text.find("\nleafCellIsolation") + 1), expected)
        << "value: " << c.value;
    // Whatever the style, the value reads back unchanged.
    auto r = ParsePodBindInfo(text);
    ASSERT_TRUE(r.ok()) << c.value << ": " << r.status().message();
    EXPECT_EQ(r->node, c.value);
  }
}

TEST(BindInfoAnnotationTest, EmitParseRoundTrip) {
  PodBindInfo info;
  info.node = "10.0.0.1";
  info.leaf_cell_isolation = {0, 2, 4, 6};
  info.cell_chain = "true";
  AffinityGroupMemberBindInfo small;
  small.pod_placements.push_back(
      {"10.0.0.1", {0, 2, 4, 6}, {"1", "GPU", "", "null"}});
  AffinityGroupMemberBindInfo big;
  for (int n = 0; n < 3; ++n) {
    PodPlacementInfo p;
    p.physical_node = "node-" + std::to_string(n);
    for (int i = 0; i < 8; ++i) {
      p.physical_leaf_cell_indices.push_back(i);
      p.preassigned_cell_types.push_back(i < 4 ? "DGX2-V100-NODE" : "a: b");
    }
    big.pod_placements.push_back(p);
  }
  info.affinity_group_bind_info = {small, big};
  std::string text = EmitPodBindInfo(info);
  auto r = ParsePodBindInfo(text);
  ASSERT_TRUE(r.ok()) << r.status().message() << "\n" << text;
  ExpectSameBindInfo(*r, info);
  EXPECT_EQ(EmitPodBindInfo(*r), text);
}

TEST(BindInfoAnnotationTest, FlowStyleAccepted) {
  auto r = ParsePodBindInfo(
      "{node: gpu-c, leafCellIsolation: [7, 1], cellChain: RACK, "
      "affinityGroupBindInfo: [{podPlacements: [{physicalNode: gpu-c, "
      "physicalLeafCellIndices: [7, 1], preassignedCellTypes: [NODE, NODE]}, "
      "{physicalNode: gpu-b, physicalLeafCellIndices: [0, 1], "
      "preassignedCellTypes: [NODE, NODE]}]}]}");
  ASSERT_TRUE(r.ok()) << r.status().message();
  ExpectSameBindInfo(*r, CanonicalInfo());
}

TEST(BindInfoAnnotationTest, JsonAccepted) {
  auto r = ParsePodBindInfo(
      R"({"node":"gpu-c","leafCellIsolation":[7,1],"cellChain":"RACK",)"
      R"("affinityGroupBindInfo":[{"podPlacements":[{"physicalNode":"gpu-c",)"
      R"("physicalLeafCellIndices":[7,1],"preassignedCellTypes":["NODE","NODE"]},)"
      R"({"physicalNode":"gpu-b","physicalLeafCellIndices":[0,1],)"
      R"("preassignedCellTypes":["NODE","NODE"]}]}]})");
  ASSERT_TRUE(r.ok()) << r.status().message();
  ExpectSameBindInfo(*r, CanonicalInfo());
}

TEST(BindInfoAnnotationTest, MixedIndentationAccepted) {
  auto r = ParsePodBindInfo(R"(cellChain: RACK
node: gpu-c
extra: ignored
leafCellIsolation:
    - 7
    - 1
affinityGroupBindInfo:
    -   podPlacements:
            -   preassignedCellTypes: [NODE, NODE]
                physicalLeafCellIndices: [7, 1]
                physicalNode: gpu-c
            -   physicalNode: gpu-b
                physicalLeafCellIndices: [0, 1]
                preassignedCellTypes: [NODE, NODE]
)");
  ASSERT_TRUE(r.ok()) << r.status().message();
  ExpectSameBindInfo(*r, CanonicalInfo());
}

TEST(BindInfoAnnotationTest, LegacyKeysAccepted) {
  auto r = ParsePodBindInfo(R"(node: gpu-c
gpuIsolation:
- 7
- 1
cellChain: RACK
affinityGroupBindInfo:
- podPlacements:
  - physicalNode: gpu-c
    physicalGpuIndices:
    - 7
    - 1
    preassignedCellTypes:
    - NODE
    - NODE
  - physicalNode: gpu-b
    physicalGpuIndices: [0, 1]
    preassignedCellTypes: [NODE, NODE]
)");
  ASSERT_TRUE(r.ok()) << r.status().message();
  ExpectSameBindInfo(*r, CanonicalInfo());
}

TEST(BindInfoAnnotationTest, MissingAndNullFieldsAreEmpty) {
  auto r = ParsePodBindInfo(
      "node: n1\nleafCellIsolation: null\naffinityGroupBindInfo:\n");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->node, "n1");
  EXPECT_TRUE(r->leaf_cell_isolation.empty());
  EXPECT_EQ(r->cell_chain, "");
  EXPECT_TRUE(r->affinity_group_bind_info.empty());
}

TEST(BindInfoAnnotationTest, WrongTypesNameTheField) {
  struct Case {
    const char* text;
    const char* field;
  };
  const Case cases[] = {
      {"node: [a]", "node"},
      {"leafCellIsolation: 7", "leafCellIsolation"},
      {"leafCellIsolation: [x]", "leafCellIsolation[0]"},
      {"gpuIsolation: [1, 1.5]", "gpuIsolation[1]"},
      {"leafCellIsolation: [1, null]", "leafCellIsolation[1]"},
      {"leafCellIsolation: ['1']", "leafCellIsolation[0]"},
      {"cellChain: {a: b}", "cellChain"},
      {"affinityGroupBindInfo: {podPlacements: []}", "affinityGroupBindInfo"},
      {"affinityGroupBindInfo: [1]", "affinityGroupBindInfo[0]"},
      {"affinityGroupBindInfo: [{podPlacements: x}]",
       "affinityGroupBindInfo[0].podPlacements"},
      {"affinityGroupBindInfo: [{podPlacements: [{physicalNode: {}}]}]",
       "affinityGroupBindInfo[0].podPlacements[0].physicalNode"},
      {"affinityGroupBindInfo: [{podPlacements: [{}, "
       "{physicalLeafCellIndices: [0, x]}]}]",
       "affinityGroupBindInfo[0].podPlacements[1].physicalLeafCellIndices[1]"},
      {"affinityGroupBindInfo: [{podPlacements: [{physicalGpuIndices: "
       "[9999999999]}]}]",
       "affinityGroupBindInfo[0].podPlacements[0].physicalGpuIndices[0]"},
      {"affinityGroupBindInfo: [{podPlacements: [{preassignedCellTypes: "
       "[[a]]}]}]",
       "affinityGroupBindInfo[0].podPlacements[0].preassignedCellTypes[0]"},
      {"affinityGroupBindInfo: [{podPlacements: [{preassignedCellTypes: [a, "
       "~]}]}]",
       "affinityGroupBindInfo[0].podPlacements[0].preassignedCellTypes[1]"},
  };
  for (const Case& c : cases) {
    auto r = ParsePodBindInfo(c.text);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    const std::string& m = r.status().message();
    EXPECT_TRUE(
        StartsWith(m,
                   "Pod annotation hivedscheduler.microsoft.com/pod-bind-info: "
                   "Failed to unmarshal"))
        << m;
    EXPECT_TRUE(Contains(m, std::string(c.field) + ":"))
        << c.text << " -> " << m;
  }
}

TEST(BindInfoAnnotationTest, EmptyOrNonMapRejected) {
  for (const char* text :
       {"", " ", "# nothing", "null", "[1, 2]", "node", "{a: [1"}) {
    auto r = ParsePodBindInfo(text);
    EXPECT_FALSE(r.ok()) << "accepted: " << text;
    EXPECT_TRUE(StartsWith(
        r.status().message(),
        "Pod annotation hivedscheduler.microsoft.com/pod-bind-info: "))
        << r.status().message();
  }
}

// ---------------------------------------------------------------------------
// Leaf cell isolation.

TEST(BindInfoAnnotationTest, LeafCellIsolationText) {
  EXPECT_EQ(EmitLeafCellIsolation({2, 3, 6, 7}), "2,3,6,7");
  EXPECT_EQ(EmitLeafCellIsolation({0}), "0");
  EXPECT_EQ(EmitLeafCellIsolation({}), "");
  auto r = ParseLeafCellIsolation("2,3,6,7");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, (std::vector<int32_t>{2, 3, 6, 7}));
  r = ParseLeafCellIsolation("7, 1");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, (std::vector<int32_t>{7, 1}));
  for (const char* bad : {"", ",", "1,", ",1", "1,,2", "a", "-1", "1.5", "1;2",
                          "99999999999", "2147483648"}) {
    auto e = ParseLeafCellIsolation(bad);
    EXPECT_FALSE(e.ok()) << "accepted: " << bad;
    EXPECT_TRUE(
        StartsWith(e.status().message(),
                   "Pod annotation "
                   "hivedscheduler.microsoft.com/pod-leaf-cell-isolation: "))
        << e.status().message();
  }
  r = ParseLeafCellIsolation("2147483647");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, (std::vector<int32_t>{2147483647}));
}

// ---------------------------------------------------------------------------
// Malformed input: errors, never crashes.

TEST(PodSpecAnnotationTest, MalformedInputNeverCrashes) {
  std::vector<std::string> inputs = {
      std::string(20000, '['),
      std::string(20000, '{'),
      "a: " + std::string(5000, '-'),
      "&a [*a]",
      "*undefined",
      "a: &x 1\nb: *x",
      "!!binary ZZZ",
      "%YAML 9.9\n---\na: 1",
      "--- a\n--- b",
      "\t\t",
      std::string("virtualCluster: a\0b", 19),
      "\xFF\xFE\xFD",
      "virtualCluster: \"\\x\"",
      "? |\n  a\n: b",
      "affinityGroup: {members: [{podNumber: {a: [1, {b: 2}]}}]}",
      "- - - - -",
      "virtualCluster: a\nleafCellNumber: 1\naffinityGroup: {name: g, members: "
      "[[1], 2, null]}",
  };
  std::string nested;
  for (int i = 0; i < 3000; ++i) nested += std::string(2 * i, ' ') + "a:\n";
  inputs.push_back(nested);
  for (const std::string& text : inputs) {
    auto spec = Parse(text);
    auto info = ParsePodBindInfo(text);
    (void)spec;
    (void)info;
  }
  SUCCEED();
}

TEST(BindInfoAnnotationTest, MutatedTextNeverCrashes) {
  // Deterministic mutations of valid annotations: each parse either succeeds
  // or returns an error.
  const std::string seeds[] = {
      kCanonicalBindInfo,
      "virtualCluster: vc1\npriority: 5\nleafCellNumber: 2\naffinityGroup:\n"
      "  name: g\n  members:\n  - podNumber: 2\n    leafCellNumber: 2\n"};
  const char kAlphabet[] = "-:[]{}, \n\t'\"#&*!|>?%@`~0123456789.abcxyz\\";
  std::mt19937 rng(12345);
  for (int iter = 0; iter < 3000; ++iter) {
    std::string text = seeds[iter % 2];
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !text.empty(); ++e) {
      size_t pos = rng() % text.size();
      char c = kAlphabet[rng() % (sizeof(kAlphabet) - 1)];
      switch (rng() % 3) {
        case 0:
          text[pos] = c;
          break;
        case 1:
          text.insert(text.begin() + pos, c);
          break;
        default:
          text.erase(pos, 1 + rng() % 8);
          break;
      }
    }
    auto info = ParsePodBindInfo(text);
    auto spec = Parse(text);
    if (info.ok()) {
      // Whatever was accepted can be written and read back.
      auto again = ParsePodBindInfo(EmitPodBindInfo(*info));
      ASSERT_TRUE(again.ok()) << again.status().message();
      ExpectSameBindInfo(*again, *info);
    }
    (void)spec;
  }
}

}  // namespace
}  // namespace apiary::cell
