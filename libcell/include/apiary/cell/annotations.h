// Parsing and emitting HiveD's pod annotations (hived.md 4 and 10). Like the
// config loader, this is an edge of libcell that reads a wire format (YAML);
// everything else in libcell works on the structs of pod_spec.h.
#pragma once

#include <string>
#include <string_view>

#include "apiary/cell/pod_spec.h"
#include "apiary/cell/status.h"

namespace apiary::cell {

// The prefix HiveD puts before every spec error (hived.md 4.3).
inline constexpr char kPodSchedulingSpecErrorPrefix[] =
    "Pod annotation hivedscheduler.microsoft.com/pod-scheduling-spec: ";

// Parses the pod-scheduling-spec annotation text (YAML or JSON) of pod
// `pod_namespace/pod_name`, applies HiveD's defaults and legacy key names,
// and validates it (hived.md 4.2, 4.3). Errors are kInvalidArgument with
// HiveD's message, prefixed with kPodSchedulingSpecErrorPrefix, followed by
// the keys HiveD ignores ("; leafCelNumber: unknown key leafCelNumber is
// ignored (did you mean leafCellNumber?)"). On success `warnings`, when
// given, receives those ignored keys.
Result<PodSchedulingSpec> ParsePodSchedulingSpec(std::string_view text,
                                                 std::string_view pod_namespace,
                                                 std::string_view pod_name,
                                                 std::vector<std::string>* warnings = nullptr);

// Emits the pod-bind-info annotation text exactly as HiveD writes it
// (hived.md 10, canonical text).
std::string EmitPodBindInfo(const PodBindInfo& info);

// Parses a pod-bind-info annotation: any valid YAML (block or flow) with the
// fields of hived.md 10 and their legacy names.
Result<PodBindInfo> ParsePodBindInfo(std::string_view text);

// The apiary.io/virtual-leaf-cells annotation text: a flow sequence of the
// virtual leaf addresses of every leaf of `info`, members, pods and leaves in
// bind-info order ("" for a leaf without one), e.g. ["VC1/0/0","VC1/0/1"].
// Each address is a YAML double-quoted string: JSON for printable UTF-8, but
// other characters get YAML escapes, so read it with a YAML parser.
// Empty text when no leaf has a virtual cell (nothing to persist).
std::string EmitVirtualLeafCells(const PodBindInfo& info);
// Parses that text (any YAML sequence of strings) into `info`'s
// virtual_leaf_cells. The sequence must have one entry per leaf of the bind
// info; on any error `info` is left unchanged.
Status ApplyVirtualLeafCells(std::string_view text, PodBindInfo& info);

// "2,3,6,7": the pod-leaf-cell-isolation annotation text.
std::string EmitLeafCellIsolation(const std::vector<int32_t>& indices);
Result<std::vector<int32_t>> ParseLeafCellIsolation(std::string_view text);

}  // namespace apiary::cell
