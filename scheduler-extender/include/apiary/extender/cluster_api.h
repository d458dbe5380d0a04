// The two seams between the extender's core and Kubernetes:
//   - ClusterApi: the calls the extender makes (bind, patch, evict, events),
//     implemented over HTTP by KubeClient and by fakes in tests;
//   - ClusterEventHandler: what the informer (list + watch) delivers.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "apiary/cell/pod_spec.h"
#include "apiary/extender/wire.h"

namespace apiary::extender {

// The outcome of one API call. code: the HTTP status, 0 when no response
// arrived (connection refused, timeout).
struct ApiStatus {
  int code = 0;
  std::string message;  // the Status message of the API server, or the transport error
  // 409 on a binding: the node the pod is already assigned to, when known.
  std::string assigned_node;
  bool ok() const { return code >= 200 && code < 300; }
};

using AnnotationPatch = std::vector<std::pair<std::string, std::optional<std::string>>>;

struct BindingRequest {
  cell::PodRef pod;
  std::string node;
  // Written to the pod before the binding (and carried by the Binding).
  std::vector<std::pair<std::string, std::string>> annotations;
};

// Thread-safe: called from request threads and the extender's workers,
// never under the scheduler lock.
class ClusterApi {
 public:
  virtual ~ClusterApi() = default;
  // Merge-patches metadata.annotations (nullopt removes a key), UID-checked.
  virtual ApiStatus PatchPodAnnotations(const cell::PodRef& pod, const AnnotationPatch& patch) = 0;
  // POST pods/{name}/binding (extender.md 4.2).
  virtual ApiStatus CreateBinding(const BindingRequest& req) = 0;
  // policy/v1 Eviction with a UID precondition.
  virtual ApiStatus EvictPod(const cell::PodRef& pod) = 0;
  // DELETE with a UID precondition and the pod's own grace period.
  virtual ApiStatus DeletePod(const cell::PodRef& pod) = 0;
  // Best effort: a core/v1 Event on the pod.
  virtual void RecordEvent(const cell::PodRef& pod, const std::string& type,
                           const std::string& reason, const std::string& message) = 0;
};

enum class WatchEventType { kAdded, kModified, kDeleted };

// Called by the informer from its threads; implementations serialise.
class ClusterEventHandler {
 public:
  virtual ~ClusterEventHandler() = default;
  // The first complete lists (nodes, then pods), before any watch event.
  virtual void OnSynced(std::vector<NodeInfo> nodes, std::vector<PodInfo> pods) = 0;
  virtual void OnNodeEvent(WatchEventType type, const NodeInfo& node) = 0;
  virtual void OnPodEvent(WatchEventType type, const PodInfo& pod) = 0;
  // A relist after the watch lost its place (410 Gone): the complete current
  // list, replacing what was known.
  virtual void OnNodesRelisted(std::vector<NodeInfo> nodes) = 0;
  virtual void OnPodsRelisted(std::vector<PodInfo> pods) = 0;
};

}  // namespace apiary::extender
