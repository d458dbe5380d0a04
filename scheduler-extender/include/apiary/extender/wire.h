// The kube-scheduler extender v1 wire format (extender.md 2, 3) and the
// Kubernetes objects the extender reads (pods, nodes; camelCase JSON).
//
// Decoding follows Go's encoding/json as kube-scheduler and HiveD use it:
// keys match case-insensitively (exact match preferred), unknown fields are
// ignored, null and absent are the same, integers must be integers. Every
// error message names the field path and what was wrong, e.g.
// "ExtenderArgs.NodeNames[3]: expected a string, got number".
//
// Encoding emits the canonical capitalised keys and every field of the result
// type, null where Go would send null.
//
// All functions are pure and thread-compatible.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "apiary/cell/pod_spec.h"
#include "apiary/cell/status.h"
#include "apiary/extender/json_doc.h"

namespace apiary::extender {

// The managed resource whose limit enables HiveD scheduling (hived.md 4.1).
inline constexpr char kResourcePodSchedulingEnable[] =
    "hivedscheduler.microsoft.com/pod-scheduling-enable";
// Apiary's own: when the persisted lazy preemption happened (RFC 3339), next
// to cell::kAnnotationLazyPreemptor, so that recovery restores the inspect
// output exactly.
inline constexpr char kAnnotationLazyPreemptionTime[] = "apiary.io/lazy-preemption-time";

// What the extender needs of a pod (extender.md 3). Only the annotations the
// scheduler reads are kept.
struct PodInfo {
  cell::PodRef ref;
  std::string scheduler_name;
  std::string node_name;  // spec.nodeName
  std::string phase;      // status.phase
  std::string resource_version;
  bool deleting = false;  // metadata.deletionTimestamp set
  bool enabled = false;   // some (init) container limits the managed resource > 0
  // status.conditions[type=PodScheduled,status=True].lastTransitionTime as
  // Unix seconds; -1 when absent or unparsable.
  int64_t scheduled_time = -1;

  std::optional<std::string> spec_annotation;
  std::optional<std::string> bind_info_annotation;
  std::optional<std::string> isolation_annotation;  // new key, else the legacy one
  std::optional<std::string> lazy_preemptor_annotation;
  std::optional<std::string> lazy_time_annotation;
  std::optional<std::string> virtual_cells_annotation;

  bool Completed() const { return phase == "Succeeded" || phase == "Failed"; }
  // "<uid>(<ns>/<name>)", HiveD's pod key.
  std::string Key() const { return ref.uid + "(" + ref.ns + "/" + ref.name + ")"; }
};

// Decodes a pod object found at `path` (used in messages). `require_uid`:
// requests from kube-scheduler always carry metadata.uid; an empty one is an
// error there.
cell::Result<PodInfo> DecodePod(JsonRef pod, const std::string& path, bool require_uid = true);

struct NodeInfo {
  std::string name;
  bool ready = false;          // condition Ready=True
  bool unschedulable = false;  // spec.unschedulable
  std::string resource_version;
  bool Healthy() const { return ready && !unschedulable; }
};
cell::Result<NodeInfo> DecodeNode(JsonRef node, const std::string& path);

// RFC 3339 ("2024-05-01T10:00:00Z", fractions and offsets allowed) to Unix
// seconds; nullopt when malformed.
std::optional<int64_t> ParseRfc3339(std::string_view s);

// A Kubernetes quantity ("1", "500m", "2Ki", "1e3") is > 0. Malformed: false.
bool QuantityPositive(std::string_view q);

// ---- ExtenderArgs (filter) --------------------------------------------------

struct FilterArgs {
  PodInfo pod;
  // Candidate node names: views of the request body (which must outlive
  // this struct) or of `storage` (names that had escapes).
  std::vector<std::string_view> node_names;
  // nodeCacheCapable: false: the nodes came as full objects in Nodes.items;
  // their raw JSON (views of the body) is kept, in node_names order, to answer
  // in kind.
  bool full_nodes = false;
  std::vector<std::string_view> node_objects;
  std::deque<std::string> storage;

  bool Offers(std::string_view node) const;
  std::vector<std::string> NodeNameStrings() const;
};
// Decodes the envelope with a forward scanner (no DOM for the node-name
// list, which is most of the body); only the Pod (and full node objects) are
// parsed into a JsonDoc. `body` must outlive the result.
cell::Result<FilterArgs> DecodeFilterArgs(std::string_view body);

// ---- ExtenderBindingArgs ----------------------------------------------------

struct BindArgs {
  std::string pod_name, pod_namespace, pod_uid, node;
};
cell::Result<BindArgs> DecodeBindArgs(std::string_view body);

// ---- ExtenderPreemptionArgs -------------------------------------------------

struct PreemptArgs {
  PodInfo pod;
  // Candidate nodes (keys of NodeNameToVictims or NodeNameToMetaVictims),
  // sorted byte-wise and unique.
  std::vector<std::string> candidate_nodes;
  bool meta = true;  // NodeNameToMetaVictims was used
};
cell::Result<PreemptArgs> DecodePreemptArgs(std::string_view body);

// Decodes the pod of a request whose envelope failed to decode, best effort,
// so that error messages can name it. Empty when impossible.
std::string BestEffortPodKey(std::string_view body);

// ---- Results ----------------------------------------------------------------

struct FilterResult {
  // Feasible nodes. nullopt = null.
  std::optional<std::vector<std::string>> node_names;
  // Full-node mode: the objects to return in Nodes.items (raw JSON).
  std::optional<std::vector<std::string>> node_objects;
  std::vector<std::pair<std::string, std::string>> failed_nodes;  // empty = null
  std::vector<std::pair<std::string, std::string>> failed_unresolvable;
  std::string error;
};
std::string EncodeFilterResult(const FilterResult& r);

std::string EncodeBindResult(std::string_view error);

struct MetaVictims {
  std::vector<std::string> uids;
  int64_t num_pdb_violations = 0;
};
// nodes empty = {"NodeNameToMetaVictims": null}
std::string EncodePreemptResult(const std::vector<std::pair<std::string, MetaVictims>>& nodes);

}  // namespace apiary::extender
