// The extender's core: HiveD's web server and pod bookkeeping around one
// libcell Scheduler (extender.md 4-7, hived.md 9-11), independent of any HTTP
// library so that tests and fuzzers drive it in-process.
//
// State: every live managed pod is Waiting, Preempting, Binding (decided and
// committed to libcell, binding not yet observed) or Bound. The pod and node
// maps, fed by the informer, are the source of truth; the Scheduler is derived
// from them and can be rebuilt at any time (initial recovery, configuration
// change) without losing a pod.
//
// Thread safety: every public method may be called from any thread. One
// shared mutex serialises all libcell mutations and pod-state changes
// (filter, preempt, bind bookkeeping, watch events, reconfiguration);
// inspect and metrics take it shared and see a consistent snapshot. API calls
// (bindings, patches, evictions) and the "wait" throttle never run under it.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "apiary/cell/config.h"
#include "apiary/cell/scheduler.h"
#include "apiary/extender/cluster_api.h"
#include "apiary/extender/metrics.h"
#include "apiary/extender/wire.h"

namespace apiary::extender {

// extender.md 6.
enum class PreemptionMode { kSelf, kExtender };
// How self preemption removes victims.
enum class VictimMethod { kEvict, kDelete };

struct ExtenderOptions {
  PreemptionMode preemption_mode = PreemptionMode::kSelf;
  VictimMethod victim_method = VictimMethod::kEvict;
  // Only pods with one of these spec.schedulerName values are managed; empty =
  // every pod that requests the managed resource (hived.md 4.1).
  std::vector<std::string> scheduler_names;
  // Background workers for direct binds, evictions and annotation patches.
  int workers = 2;
  // A victim still present after this long is evicted again.
  std::chrono::milliseconds victim_retry{std::chrono::seconds(10)};
  // Lazy-preemption marks are written to pods at most this often.
  std::chrono::milliseconds annotation_sync_interval{std::chrono::milliseconds(1000)};
  // With leader election: serve scheduling calls only while leading.
  bool leader_election = false;
  std::string version = "0.1.0";
  std::string commit = "unknown";
};

struct HttpRequest {
  std::string method;
  std::string path;  // percent-decoded, no query string
  std::string_view body;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  // Apply after the response is computed and every lock is released:
  // waitingPodSchedulingBlockMilliSec for "wait" answers (hived.md Q14).
  int64_t delay_ms = 0;
  std::vector<std::pair<std::string, std::string>> headers;
};

class Extender final : public ClusterEventHandler {
 public:
  // `api` may be null: bindings, evictions and patches are then only recorded
  // (tests and benchmarks without an API server). `clock` must outlive this.
  Extender(ExtenderOptions options, ClusterApi* api, const cell::Clock* clock);
  ~Extender() override;
  Extender(const Extender&) = delete;
  Extender& operator=(const Extender&) = delete;

  // Loads (or reloads) the scheduler configuration. A valid configuration is
  // applied at once: when the cluster state is synced the Scheduler is
  // rebuilt and every bound pod recovered (hived.md 2.1, 9). An invalid one
  // is rejected; the previous configuration (if any) stays in force and the
  // error is reported by /readyz and the logs. Returns the load result.
  cell::Status LoadConfig(std::string_view text, const std::string& source);
  // The content last applied successfully (empty before the first).
  std::string ConfigText() const;

  // ClusterEventHandler.
  void OnSynced(std::vector<NodeInfo> nodes, std::vector<PodInfo> pods) override;
  void OnNodeEvent(WatchEventType type, const NodeInfo& node) override;
  void OnPodEvent(WatchEventType type, const PodInfo& pod) override;
  void OnNodesRelisted(std::vector<NodeInfo> nodes) override;
  void OnPodsRelisted(std::vector<PodInfo> pods) override;

  // Leader election (only with options.leader_election).
  void SetLeader(bool leader);
  // Graceful shutdown: not ready from now on.
  void SetShuttingDown();

  // Every HTTP request of the extender's port (all paths of extender.md 7).
  HttpResponse Handle(const HttpRequest& req);

  // The server's I/O thread may answer `req` itself, without handing it to a
  // handler thread and back: true for POST filter and preempt (engine work
  // under the lock, never an API call; their effects are queued to the
  // workers) when the engine's lock is free at this moment, so the I/O
  // thread does not sit behind a bind's commit or a long inspect. Two thread
  // hand-offs cost about as much CPU as a decided filter itself
  // (bench/README.md, "Deciding on the I/O thread").
  bool MayHandleOnIoThread(const HttpRequest& req) const;

  // Readiness (extender.md 7 /readyz): config loaded, synced, recovered, leader.
  bool Ready(std::string* reason) const;

  // Waits (up to `timeout`) for queued binds, evictions and patches, then
  // stops the workers. Idempotent.
  void Shutdown(std::chrono::milliseconds timeout);

  Metrics& metrics() { return metrics_; }

  // For tests: the scheduler's invariant audit ("" = fine), under the lock.
  std::string CheckInvariants() const;
  // For tests: number of queued + running background tasks.
  size_t PendingTasks() const;

 private:
  enum class PodState { kWaiting, kPreempting, kBinding, kBound };
  static const char* StateName(PodState s);

  struct PodEntry {
    cell::PodRef ref;
    std::string scheduler_name;
    PodState state = PodState::kWaiting;
    std::string node;  // decided (Binding) or bound (Bound)
    // The spec annotation last parsed, and its result.
    std::optional<std::string> spec_text;
    std::optional<cell::PodSchedulingSpec> spec;
    std::string spec_error;
    // Binding/Bound: the placement (decided here or read from the annotation).
    std::optional<cell::PodBindInfo> bind_info;
    bool allocated = false;        // recorded in libcell
    uint64_t commit_seq = 0;       // order of AddAllocatedPod (reconfiguration order)
    int64_t scheduled_time = -1;   // PodScheduled time seen on the pod
    int32_t bind_attempts = 0;     // filter calls while Binding
    bool binding_created = false;  // our binding call succeeded
    // Lazy preemption mark as the pod carries it (from the watch or our patch).
    std::optional<std::string> lazy_preemptor;
    std::optional<std::string> lazy_time;
    // Annotations of the pod as last seen (for recovery).
    std::optional<std::string> bind_info_text;
    std::optional<std::string> virtual_cells_text;  // cell::kAnnotationVirtualLeafCells
    std::chrono::steady_clock::time_point last_eviction{};
  };

  // --- request handlers (extender_handlers.cc) ---
  // A filter call's decision (extender.md 4.1), taken under mu_ by
  // DecideFilterLocked; HandleFilter performs its effects (logs, metrics,
  // the annotation sync, a direct bind, evictions) after releasing it.
  struct FilterDecision {
    Outcome outcome = Outcome::kOk;
    FilterResult result;  // the answer
    // False: an answer without a decision (not serving, an unknown or bound
    // pod, a spec that does not parse); only log_reason is then logged.
    bool decided = false;
    std::string log_outcome, log_detail, log_group;
    std::string log_reason;     // a spec that does not parse
    std::string commit_error;   // AddAllocatedPod failed (logged as commit_failed)
    bool new_preemption = false;  // a group turned Preempting (counted)
    std::string direct_bind_node;  // bind through the API ourselves
    std::vector<cell::Victim> evict;  // self-mode victims to evict now
    std::string evict_group;
    bool wait = false;  // hold the answer waitingPodSchedulingBlockMilliSec
    int64_t wait_block_ms = 0;
  };
  FilterDecision DecideFilterLocked(const FilterArgs& args);
  HttpResponse HandleFilter(std::string_view body, Outcome* outcome);
  HttpResponse HandleBind(std::string_view body, Outcome* outcome);
  HttpResponse HandlePreempt(std::string_view body, Outcome* outcome);
  HttpResponse HandleInspect(const HttpRequest& req, Outcome* outcome);
  HttpResponse InspectExplain(const std::string& key, Outcome* outcome);  // "ns/name"
  HttpResponse HandleMetrics();
  // Binds `uid` to `node` through the API (outside the lock). Returns "" or
  // the error text for ExtenderBindingResult.Error.
  std::string BindPod(const std::string& uid, const std::string& node, bool direct);
  void QueueDirectBind(const std::string& uid, const std::string& node);
  bool Serving(std::string* reason) const;  // under any lock or none

  // --- state (extender.cc); all *Locked need mu_ held exclusively ---
  const cell::PodSchedulingSpec* SpecLocked(PodEntry& e, const std::optional<std::string>& text,
                                            std::string* error);
  void ApplyPodLocked(const PodInfo& pod, bool recovering);
  void RemovePodLocked(const std::string& uid, const char* why);
  void RecordBoundLocked(PodEntry& e, const std::string& node);
  // A pod decided here (Binding on e.node) turned out bound to `node` by
  // another client, as `seen` ("watch" or "bind"): releases the decided
  // allocation, counts and logs it, then records the pod as a restart
  // would see it (RecordBoundLocked). Sets lazy_check_.
  void BoundElsewhereLocked(PodEntry& e, const std::string& node, const char* seen);
  // The pod's bind info from its annotations (bind info, plus the virtual
  // leaf cells when present and readable); logs and returns nullopt when the
  // bind info cannot be read.
  std::optional<cell::PodBindInfo> ReadBindInfo(const PodEntry& e) const;
  cell::Status RebuildLocked(bool initial);
  bool Manages(const PodInfo& pod) const;
  void MarkAnnotationsDirty();
  void AnnotationLoop();
  void SyncAnnotations();

  // --- background tasks ---
  // Runs `fn` on a worker unless a task with `key` is already pending.
  void Submit(const std::string& key, std::function<void()> fn);
  void WorkerLoop();

  const ExtenderOptions options_;
  ClusterApi* const api_;
  const cell::Clock* const clock_;
  Metrics metrics_;

  mutable std::shared_mutex mu_;
  std::optional<cell::Config> config_;  // the configuration in force
  std::string config_text_;
  std::string config_error_;  // last load error ("" = the last load succeeded)
  uint64_t config_generation_ = 0;
  std::unique_ptr<cell::Scheduler> scheduler_;
  bool synced_ = false;
  bool leader_ = false;
  bool shutting_down_ = false;
  std::unordered_map<std::string, PodEntry> pods_;        // by uid
  std::unordered_map<std::string, std::string> uid_of_;  // "ns/name" -> uid
  // Nodes in the order first seen, with health (hived.md 8.1).
  std::map<std::string, bool> node_healthy_;
  // Groups this extender made Preempting (self mode: see extender.md 6).
  std::set<std::string> preempting_groups_;
  uint64_t next_commit_seq_ = 0;
  // Set (under mu_) by the calls that can create or drop lazy-preemption
  // marks: commits, bind/preempt decisions, rebuilds. Waits, errors and
  // retries cannot (a failed mapping undoes its lazy preemptions, hived.md
  // 6.1), so they do not trigger the (O(groups)) annotation sync.
  bool lazy_check_ = false;
  // Under mu_: returns and clears lazy_check_.
  bool TakeLazyCheckLocked() {
    bool v = lazy_check_;
    lazy_check_ = false;
    return v;
  }
  // Declared right after taking mu_: on every exit from that scope (mu_
  // still held), stores TakeLazyCheckLocked() into *out.
  struct LazyCheckOnExit {
    Extender* self;
    bool* out;
    ~LazyCheckOnExit() { *out = self->TakeLazyCheckLocked(); }
  };

  // Background workers.
  mutable std::mutex task_mu_;
  std::condition_variable task_cv_;
  std::condition_variable task_idle_cv_;
  std::deque<std::pair<std::string, std::function<void()>>> tasks_;
  std::set<std::string> task_keys_;
  size_t running_tasks_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> workers_;

  // Lazy-preemption annotation sync.
  std::mutex ann_mu_;
  std::condition_variable ann_cv_;
  bool ann_dirty_ = false;
  bool ann_stop_ = false;
  std::atomic<bool> ann_failed_{false};
  std::thread ann_thread_;
};

// A VC's cells as /v1/inspect/clusterstatus lists them, in fixed orders: its
// preassigned cells in configuration order, then its opportunistic leaves in
// physical (configuration) order, so that a restart answers the same.
cell::Result<std::vector<cell::CellStatus>> InspectVirtualCluster(const cell::Scheduler& scheduler,
                                                                  const std::string& vc);

// HiveD's error texts (extender.md 4.1): "Code: 400, Message: hivedscheduler:
// User Error: [<key>]: <routine>: Failed: <message>"; the key part is left out
// when empty.
std::string UserError(const std::string& key, const char* routine, const std::string& message);
std::string PlatformError(const std::string& key, const char* routine, const std::string& message);

}  // namespace apiary::extender
