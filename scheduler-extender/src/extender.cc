// The extender's state: pod and node bookkeeping fed by the informer, the
// Scheduler derived from it (rebuild = recovery), background workers, and the
// lazy-preemption annotation sync. Request handlers are in
// extender_handlers.cc.
#include "apiary/extender/extender.h"

#include <algorithm>
#include <limits>

#include "apiary/cell/annotations.h"
#include "apiary/cell/config_loader.h"
#include "apiary/cell/recovery.h"
#include "apiary/extender/log.h"
#include "apiary/wire/inspect_json.h"

namespace apiary::extender {

using cell::Status;

namespace {

std::string HivedError(int code, const char* kind, const std::string& key, const char* routine,
                       const std::string& message) {
  std::string s = "Code: " + std::to_string(code) + ", Message: hivedscheduler: " + kind + " Error: ";
  if (!key.empty()) s += "[" + key + "]: ";
  if (routine && *routine) {
    s += routine;
    s += ": Failed: ";
  }
  s += message;
  return s;
}

}  // namespace

std::string UserError(const std::string& key, const char* routine, const std::string& message) {
  return HivedError(400, "User", key, routine, message);
}
std::string PlatformError(const std::string& key, const char* routine, const std::string& message) {
  return HivedError(500, "Platform", key, routine, message);
}

const char* Extender::StateName(PodState s) {
  switch (s) {
    case PodState::kWaiting: return "Waiting";
    case PodState::kPreempting: return "Preempting";
    case PodState::kBinding: return "Binding";
    case PodState::kBound: return "Bound";
  }
  return "Unknown";
}

Extender::Extender(ExtenderOptions options, ClusterApi* api, const cell::Clock* clock)
    : options_(std::move(options)), api_(api), clock_(clock) {
  leader_ = !options_.leader_election;
  int n = std::max(1, options_.workers);
  for (int i = 0; i < n; ++i) workers_.emplace_back([this] { WorkerLoop(); });
  ann_thread_ = std::thread([this] { AnnotationLoop(); });
}

Extender::~Extender() { Shutdown(std::chrono::milliseconds(0)); }

// ---------------------------------------------------------------------------
// Configuration

Status Extender::LoadConfig(std::string_view text, const std::string& source) {
  auto loaded = cell::LoadConfigText(text, source);
  std::unique_lock lock(mu_);
  if (!loaded.ok()) {
    config_error_ = loaded.status().message();
    if (config_) metrics_.config_reload_errors++;
    LogError("config_rejected", {{"source", source}, {"error", config_error_},
                                 {"in_force", config_ ? "previous configuration" : "none"}});
    return loaded.status();
  }
  for (const auto& d : loaded->diagnostics.items)
    if (d.severity == cell::Diagnostic::Severity::kWarning)
      LogWarn("config_warning", {{"source", source}, {"path", d.path}, {"warning", d.message}});
  if (config_ && text == config_text_) {
    config_error_.clear();
    return Status::Ok();
  }
  std::optional<cell::Config> previous = std::move(config_);
  config_ = std::move(loaded->config);
  if (synced_) {
    Status st = RebuildLocked(/*initial=*/scheduler_ == nullptr);
    if (!st.ok()) {
      // Scheduler::Create failed although the loader accepted the file.
      config_error_ = st.message();
      config_ = std::move(previous);
      if (config_) metrics_.config_reload_errors++;
      LogError("config_rejected", {{"source", source}, {"error", config_error_}});
      return Status::Invalid(config_error_);
    }
  }
  bool reload = previous.has_value();
  config_text_ = std::string(text);
  config_error_.clear();
  ++config_generation_;
  if (reload) metrics_.config_reloads++;
  LogInfo(reload ? "config_reloaded" : "config_loaded",
          {{"source", source}, {"generation", std::to_string(config_generation_)}});
  lock.unlock();
  MarkAnnotationsDirty();
  return Status::Ok();
}

std::string Extender::ConfigText() const {
  std::shared_lock lock(mu_);
  return config_text_;
}

// ---------------------------------------------------------------------------
// Pods and nodes

bool Extender::Manages(const PodInfo& pod) const {
  if (!pod.enabled || pod.Completed()) return false;
  if (options_.scheduler_names.empty()) return true;
  return std::find(options_.scheduler_names.begin(), options_.scheduler_names.end(),
                   pod.scheduler_name) != options_.scheduler_names.end();
}

const cell::PodSchedulingSpec* Extender::SpecLocked(PodEntry& e,
                                                    const std::optional<std::string>& text,
                                                    std::string* error) {
  if (!e.spec_text || !text || *e.spec_text != *text || (!e.spec && e.spec_error.empty())) {
    e.spec_text = text;
    e.spec.reset();
    e.spec_error.clear();
    std::vector<std::string> warnings;  // keys HiveD ignores; once per spec text
    auto parsed =
        cell::ParsePodSchedulingSpec(text ? *text : std::string(), e.ref.ns, e.ref.name, &warnings);
    for (const std::string& w : warnings)
      LogWarn("pod_spec_warning", {{"pod", e.ref.FullName()}, {"warning", w}});
    if (parsed.ok()) e.spec = std::move(parsed).value();
    else e.spec_error = parsed.status().message();
  }
  if (!e.spec) {
    *error = e.spec_error;
    return nullptr;
  }
  return &*e.spec;
}

namespace {

void FillEntry(const PodInfo& p, cell::PodRef* ref, std::string* scheduler_name,
               int64_t* scheduled_time) {
  *ref = p.ref;
  *scheduler_name = p.scheduler_name;
  if (p.scheduled_time >= 0) *scheduled_time = p.scheduled_time;
}

}  // namespace

std::optional<cell::PodBindInfo> Extender::ReadBindInfo(const PodEntry& e) const {
  auto info = cell::ParsePodBindInfo(*e.bind_info_text);
  if (!info.ok()) {
    LogError("bind_info_unreadable", {{"pod", e.ref.FullName()}, {"uid", e.ref.uid},
                                      {"error", info.status().message()}});
    return std::nullopt;
  }
  if (e.virtual_cells_text) {
    // Only a preference for recovery: without it the virtual cells are
    // re-derived as HiveD does.
    cell::Status st = cell::ApplyVirtualLeafCells(*e.virtual_cells_text, *info);
    if (!st.ok())
      LogWarn("virtual_cells_unreadable", {{"pod", e.ref.FullName()}, {"uid", e.ref.uid},
                                           {"error", st.message()}});
  }
  return std::move(info).value();
}

void Extender::RecordBoundLocked(PodEntry& e, const std::string& node) {
  e.state = PodState::kBound;
  e.node = node;
  e.bind_info.reset();
  if (!e.bind_info_text || e.bind_info_text->empty()) {
    LogWarn("bound_pod_without_bind_info",
            {{"pod", e.ref.FullName()}, {"uid", e.ref.uid}, {"node", node},
             {"detail", "bound by another scheduler; its cells are not accounted"}});
    return;
  }
  e.bind_info = ReadBindInfo(e);
  if (!e.bind_info) return;
  if (!scheduler_) return;  // accounted at the next rebuild
  std::string err;
  const cell::PodSchedulingSpec* spec = SpecLocked(e, e.spec_text, &err);
  e.commit_seq = ++next_commit_seq_;
  if (!spec) {
    LogError("recover_failed", {{"pod", e.ref.FullName()}, {"uid", e.ref.uid}, {"error", err}});
    return;
  }
  Status st = scheduler_->AddAllocatedPod(e.ref, *spec, *e.bind_info);
  e.allocated = st.ok();
  lazy_check_ = true;
  if (!st.ok())
    LogError("recover_failed", {{"pod", e.ref.FullName()}, {"uid", e.ref.uid}, {"error", st.message()}});
  else
    LogInfo("pod_recovered", {{"pod", e.ref.FullName()}, {"uid", e.ref.uid}, {"node", node},
                              {"group", spec->affinity_group_name}});
}

void Extender::BoundElsewhereLocked(PodEntry& e, const std::string& node, const char* seen) {
  const std::string decided = e.node;
  bool released = false;
  if (scheduler_ && e.allocated) {
    // A restart sees a bound pod without this extender's bind info for its
    // node, which holds nothing: the decision's cells go now, not when the
    // pod is deleted. (A gang keeps its other members' cells: see
    // docs/extender.md, "A pod bound by another client".)
    Status st = scheduler_->DeleteAllocatedPod(e.ref.uid);
    released = st.ok();
    if (!st.ok())
      LogWarn("delete_allocated_failed", {{"pod", e.ref.FullName()}, {"uid", e.ref.uid}, {"error", st.message()}});
    lazy_check_ = true;
  }
  e.allocated = false;
  e.bind_info.reset();
  e.bind_attempts = 0;
  e.binding_created = false;
  metrics_.pods_bound_elsewhere++;
  LogError("pod_bound_elsewhere", {{"pod", e.ref.FullName()}, {"uid", e.ref.uid}, {"decided", decided},
                                   {"bound", node}, {"seen", seen},
                                   {"released", released ? "decided cells released" : "nothing held"}});
  RecordBoundLocked(e, node);
}

void Extender::RemovePodLocked(const std::string& uid, const char* why) {
  auto it = pods_.find(uid);
  if (it == pods_.end()) return;
  PodEntry& e = it->second;
  if (scheduler_) {
    if (e.allocated) {
      Status st = scheduler_->DeleteAllocatedPod(uid);
      if (!st.ok())
        LogWarn("delete_allocated_failed", {{"pod", e.ref.FullName()}, {"uid", uid}, {"error", st.message()}});
    } else if (e.state == PodState::kWaiting || e.state == PodState::kPreempting) {
      scheduler_->DeleteUnallocatedPod(uid);
    }
  }
  LogInfo("pod_removed", {{"pod", e.ref.FullName()}, {"uid", uid}, {"state", StateName(e.state)},
                          {"reason", why}});
  auto n = uid_of_.find(e.ref.FullName());
  if (n != uid_of_.end() && n->second == uid) uid_of_.erase(n);
  pods_.erase(it);
}

void Extender::ApplyPodLocked(const PodInfo& p, bool recovering) {
  const std::string full = p.ref.FullName();
  if (auto n = uid_of_.find(full); n != uid_of_.end() && n->second != p.ref.uid)
    RemovePodLocked(n->second, "replaced by a new pod of the same name");
  auto it = pods_.find(p.ref.uid);
  if (!Manages(p)) {
    if (it != pods_.end())
      RemovePodLocked(p.ref.uid, p.Completed() ? "completed" : "no longer managed");
    return;
  }
  if (it == pods_.end()) {
    PodEntry e;
    FillEntry(p, &e.ref, &e.scheduler_name, &e.scheduled_time);
    e.spec_text = p.spec_annotation;
    e.bind_info_text = p.bind_info_annotation;
    e.virtual_cells_text = p.virtual_cells_annotation;
    e.lazy_preemptor = p.lazy_preemptor_annotation;
    e.lazy_time = p.lazy_time_annotation;
    it = pods_.emplace(p.ref.uid, std::move(e)).first;
    uid_of_[full] = p.ref.uid;
    if (p.node_name.empty()) {
      it->second.state = PodState::kWaiting;
    } else if (recovering) {
      // Accounted by RebuildLocked, in recovery order.
      it->second.state = PodState::kBound;
      it->second.node = p.node_name;
      if (it->second.bind_info_text && !it->second.bind_info_text->empty()) {
        it->second.bind_info = ReadBindInfo(it->second);
      } else {
        LogWarn("bound_pod_without_bind_info",
                {{"pod", full}, {"uid", p.ref.uid}, {"node", p.node_name},
                 {"detail", "bound by another scheduler; its cells are not accounted"}});
      }
    } else {
      RecordBoundLocked(it->second, p.node_name);
    }
    return;
  }
  PodEntry& e = it->second;
  FillEntry(p, &e.ref, &e.scheduler_name, &e.scheduled_time);
  e.spec_text = p.spec_annotation.has_value() ? p.spec_annotation : e.spec_text;
  e.lazy_preemptor = p.lazy_preemptor_annotation;
  e.lazy_time = p.lazy_time_annotation;
  const bool bind_info_arrived = (!e.bind_info_text || e.bind_info_text->empty()) && p.bind_info_annotation &&
                                 !p.bind_info_annotation->empty();
  if (p.bind_info_annotation) e.bind_info_text = p.bind_info_annotation;
  if (p.virtual_cells_annotation) e.virtual_cells_text = p.virtual_cells_annotation;
  if (p.node_name.empty()) return;
  switch (e.state) {
    case PodState::kBound:
      if (p.node_name != e.node) {
        LogError("pod_node_changed", {{"pod", full}, {"uid", p.ref.uid}, {"was", e.node}, {"now", p.node_name}});
      } else if (bind_info_arrived && !e.allocated) {
        // Recorded bound without bind info (the binding's 409 named another
        // node before the watch brought the pod): its bind info arrived now,
        // and a restart would recover the pod from it.
        RecordBoundLocked(e, p.node_name);
      }
      break;
    case PodState::kBinding:
      if (p.node_name != e.node) {
        BoundElsewhereLocked(e, p.node_name, "watch");
        break;
      }
      e.state = PodState::kBound;
      e.node = p.node_name;
      LogDebug("pod_bound", {{"pod", full}, {"uid", p.ref.uid}, {"node", e.node}});
      break;
    case PodState::kWaiting:
    case PodState::kPreempting:
      // Bound by someone else (another replica before a fail-over, or a
      // direct bind whose decision this process no longer holds).
      if (scheduler_ && e.state == PodState::kPreempting) scheduler_->DeleteUnallocatedPod(p.ref.uid);
      RecordBoundLocked(e, p.node_name);
      break;
  }
}

void Extender::OnSynced(std::vector<NodeInfo> nodes, std::vector<PodInfo> pods) {
  {
    std::unique_lock lock(mu_);
    node_healthy_.clear();
    for (const auto& n : nodes) node_healthy_[n.name] = n.Healthy();
    pods_.clear();
    uid_of_.clear();
    preempting_groups_.clear();
    scheduler_.reset();
    for (const auto& p : pods) ApplyPodLocked(p, /*recovering=*/true);
    synced_ = true;
    if (config_) {
      Status st = RebuildLocked(/*initial=*/true);
      if (!st.ok()) config_error_ = st.message();
    }
    LogInfo("synced", {{"nodes", std::to_string(nodes.size())},
                       {"pods", std::to_string(pods_.size())},
                       {"scheduler", scheduler_ ? "built" : "no valid configuration"}});
  }
  MarkAnnotationsDirty();
}

Status Extender::RebuildLocked(bool initial) {
  auto t0 = std::chrono::steady_clock::now();
  auto created = cell::Scheduler::Create(*config_, clock_, /*start_healthy=*/false);
  if (!created.ok()) {
    LogError("scheduler_build_failed", {{"error", created.status().message()}});
    return created.status();
  }
  std::unique_ptr<cell::Scheduler> sched = std::move(created).value();
  // hived.md 9: every node starts bad; heal the healthy ones in configuration
  // order, as replay and the simulator do.
  for (const auto& n : sched->Nodes()) {
    auto it = node_healthy_.find(n);
    if (it != node_healthy_.end() && it->second) (void)sched->SetNodeHealth(n, true);
  }
  // The pods to recover (cell::RecoverPods puts them in bind order): at
  // startup first bound first, by PodScheduled time (hived.md 9); a
  // reconfiguration replays this process's own commit order.
  std::vector<PodEntry*> entries;
  std::vector<cell::PodToRecover> pods;
  size_t candidates = 0;
  for (auto& [uid, e] : pods_) {
    (void)uid;
    e.allocated = false;
    if ((e.state != PodState::kBound && e.state != PodState::kBinding) || !e.bind_info) continue;
    ++candidates;
    std::string err;
    const cell::PodSchedulingSpec* spec = SpecLocked(e, e.spec_text, &err);
    if (!spec) {
      e.commit_seq = ++next_commit_seq_;
      LogError("recover_failed", {{"pod", e.ref.FullName()}, {"uid", e.ref.uid}, {"error", err}});
      continue;
    }
    cell::PodToRecover p{e.ref, *spec, *e.bind_info, std::nullopt, std::nullopt};
    if (initial) {
      if (e.scheduled_time >= 0) p.bind_order = e.scheduled_time;
      if (e.lazy_preemptor && !e.lazy_preemptor->empty()) {
        cell::LazyPreemptionMark m;
        m.preemptor = *e.lazy_preemptor;
        m.preemption_time = clock_->NowUnixSeconds();
        if (e.lazy_time)
          if (auto t = ParseRfc3339(*e.lazy_time)) m.preemption_time = *t;
        p.lazy_mark = m;
      }
    } else {
      p.bind_order = static_cast<int64_t>(e.commit_seq);
      if (scheduler_) p.lazy_mark = scheduler_->LazyMarkOfPod(e.ref.uid);
    }
    entries.push_back(&e);
    pods.push_back(std::move(p));
  }
  const cell::RecoveryReport report = cell::RecoverPods(*sched, pods);
  for (size_t i : report.order) {
    PodEntry* e = entries[i];
    e->commit_seq = ++next_commit_seq_;
    e->allocated = report.status[i].ok();
    if (!e->allocated)
      LogError("recover_failed",
               {{"pod", e->ref.FullName()}, {"uid", e->ref.uid}, {"error", report.status[i].message()}});
  }
  const int64_t recovered = report.recovered;
  // In-flight preemptions are forgotten (hived.md 9); kube-scheduler drives
  // them again.
  for (auto& [uid, e] : pods_) {
    (void)uid;
    if (e.state == PodState::kPreempting) e.state = PodState::kWaiting;
  }
  preempting_groups_.clear();
  scheduler_ = std::move(sched);
  lazy_check_ = true;
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                    std::chrono::steady_clock::now() - t0)
                    .count();
  metrics_.recovery_micros = micros;
  metrics_.recovered_pods = recovered;
  LogInfo(initial ? "recovered" : "reconfigured",
          {{"pods", std::to_string(recovered)}, {"candidates", std::to_string(candidates)},
           {"millis", std::to_string(micros / 1000)}});
  return Status::Ok();
}

void Extender::OnNodeEvent(WatchEventType type, const NodeInfo& node) {
  std::unique_lock lock(mu_);
  bool healthy = type != WatchEventType::kDeleted && node.Healthy();
  bool before = false;
  if (auto it = node_healthy_.find(node.name); it != node_healthy_.end()) before = it->second;
  if (type == WatchEventType::kDeleted) node_healthy_.erase(node.name);
  else node_healthy_[node.name] = healthy;
  if (healthy == before || !scheduler_ || !scheduler_->HasNode(node.name)) return;
  (void)scheduler_->SetNodeHealth(node.name, healthy);
  LogInfo(healthy ? "node_healthy" : "node_bad", {{"node", node.name}});
}

void Extender::OnNodesRelisted(std::vector<NodeInfo> nodes) {
  std::unique_lock lock(mu_);
  std::map<std::string, bool> now;
  for (const auto& n : nodes) now[n.name] = n.Healthy();
  if (scheduler_) {
    for (const auto& name : scheduler_->Nodes()) {
      bool a = node_healthy_.count(name) ? node_healthy_[name] : false;
      bool b = now.count(name) ? now[name] : false;
      if (a != b) {
        (void)scheduler_->SetNodeHealth(name, b);
        LogInfo(b ? "node_healthy" : "node_bad", {{"node", name}});
      }
    }
  }
  node_healthy_ = std::move(now);
}

void Extender::OnPodEvent(WatchEventType type, const PodInfo& pod) {
  bool check;
  {
    std::unique_lock lock(mu_);
    if (type == WatchEventType::kDeleted) {
      RemovePodLocked(pod.ref.uid, "deleted");
    } else {
      ApplyPodLocked(pod, /*recovering=*/false);
    }
    check = TakeLazyCheckLocked();
  }
  if (check) MarkAnnotationsDirty();
}

void Extender::OnPodsRelisted(std::vector<PodInfo> pods) {
  {
    std::unique_lock lock(mu_);
    std::set<std::string> present;
    for (const auto& p : pods) present.insert(p.ref.uid);
    std::vector<std::string> gone;
    for (const auto& [uid, e] : pods_) {
      (void)e;
      if (!present.count(uid)) gone.push_back(uid);
    }
    for (const auto& uid : gone) RemovePodLocked(uid, "deleted (relist)");
    for (const auto& p : pods) ApplyPodLocked(p, /*recovering=*/false);
    lazy_check_ = false;
  }
  MarkAnnotationsDirty();
}

void Extender::SetLeader(bool leader) {
  std::unique_lock lock(mu_);
  leader_ = leader;
}

void Extender::SetShuttingDown() {
  std::unique_lock lock(mu_);
  shutting_down_ = true;
}

bool Extender::Serving(std::string* reason) const {
  if (shutting_down_) {
    *reason = "shutting down";
    return false;
  }
  if (!leader_) {
    *reason = "not leader";
    return false;
  }
  if (!synced_) {
    *reason = "recovering";
    return false;
  }
  if (!scheduler_) {
    *reason = "config: " + (config_error_.empty() ? std::string("no configuration loaded") : config_error_);
    return false;
  }
  return true;
}

bool Extender::Ready(std::string* reason) const {
  std::shared_lock lock(mu_);
  return Serving(reason);
}

std::string Extender::CheckInvariants() const {
  std::shared_lock lock(mu_);
  return scheduler_ ? scheduler_->CheckInvariants() : std::string();
}

// ---------------------------------------------------------------------------
// Background workers

void Extender::Submit(const std::string& key, std::function<void()> fn) {
  {
    std::lock_guard lock(task_mu_);
    if (stopping_ || task_keys_.count(key)) return;
    task_keys_.insert(key);
    tasks_.emplace_back(key, std::move(fn));
  }
  task_cv_.notify_one();
}

void Extender::WorkerLoop() {
  for (;;) {
    std::pair<std::string, std::function<void()>> task;
    {
      std::unique_lock lock(task_mu_);
      task_cv_.wait(lock, [&] { return stopping_ || !tasks_.empty(); });
      if (tasks_.empty()) return;  // stopping and drained
      task = std::move(tasks_.front());
      tasks_.pop_front();
      ++running_tasks_;
    }
    try {
      task.second();
    } catch (const std::exception& e) {
      LogError("task_failed", {{"task", task.first}, {"error", e.what()}});
    }
    {
      std::lock_guard lock(task_mu_);
      task_keys_.erase(task.first);
      --running_tasks_;
    }
    task_idle_cv_.notify_all();
  }
}

size_t Extender::PendingTasks() const {
  std::lock_guard lock(task_mu_);
  return tasks_.size() + running_tasks_;
}

void Extender::Shutdown(std::chrono::milliseconds timeout) {
  {
    std::unique_lock lock(task_mu_);
    if (workers_.empty() && !ann_thread_.joinable()) return;
    task_idle_cv_.wait_for(lock, timeout, [&] { return tasks_.empty() && running_tasks_ == 0; });
    stopping_ = true;
    if (!tasks_.empty())
      LogWarn("shutdown_dropping_tasks", {{"count", std::to_string(tasks_.size())}});
    tasks_.clear();
  }
  task_cv_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
  {
    std::lock_guard lock(ann_mu_);
    ann_stop_ = true;
  }
  ann_cv_.notify_all();
  if (ann_thread_.joinable()) ann_thread_.join();
}

// ---------------------------------------------------------------------------
// Lazy-preemption marks (hived.md Q19): written to the pods of every lazily
// preempted group, removed when the mark goes away. Coalesced: at most one
// pass per annotation_sync_interval, outside request paths.

void Extender::MarkAnnotationsDirty() {
  if (!api_) return;
  {
    std::lock_guard lock(ann_mu_);
    ann_dirty_ = true;
  }
  ann_cv_.notify_one();
}

void Extender::AnnotationLoop() {
  std::unique_lock lock(ann_mu_);
  for (;;) {
    ann_cv_.wait(lock, [&] { return ann_stop_ || ann_dirty_; });
    if (ann_stop_) return;
    auto interval = ann_failed_.exchange(false) ? std::max(options_.annotation_sync_interval,
                                                           std::chrono::milliseconds(5000))
                                               : options_.annotation_sync_interval;
    ann_cv_.wait_for(lock, interval, [&] { return ann_stop_; });
    if (ann_stop_) return;
    ann_dirty_ = false;
    lock.unlock();
    try {
      SyncAnnotations();
    } catch (const std::exception& e) {
      LogError("annotation_sync_failed", {{"error", e.what()}});
    }
    lock.lock();
  }
}

void Extender::SyncAnnotations() {
  struct Patch {
    cell::PodRef ref;
    AnnotationPatch patch;
    std::optional<std::string> preemptor, time;
    bool cells_changed = false;
    std::optional<std::string> cells;  // the new virtual-leaf-cells value
  };
  std::vector<Patch> patches;
  {
    std::shared_lock lock(mu_);
    if (!scheduler_ || !synced_) return;
    std::unordered_map<std::string, const cell::LazyPreemptionMark*> desired;
    auto groups = scheduler_->AffinityGroups();
    for (const auto& g : groups)
      if (g.lazy_preemption)
        for (const auto& uid : g.allocated_pods) desired[uid] = &*g.lazy_preemption;
    // The virtual-leaf-cells text is the same for every pod of a group (one
    // bind info per group): computed once per group.
    std::vector<std::string> cells_texts(groups.size());
    std::unordered_map<std::string, size_t> group_of_uid;
    for (size_t gi = 0; gi < groups.size(); ++gi) {
      bool computed = false;
      for (const auto& uid : groups[gi].allocated_pods) {
        group_of_uid[uid] = gi;
        auto pit = pods_.find(uid);
        if (computed || pit == pods_.end() || !pit->second.bind_info) continue;
        cell::PodBindInfo info = *pit->second.bind_info;
        info.virtual_leaf_cells = scheduler_->VirtualLeafCellsOfPod(uid);
        cells_texts[gi] = cell::EmitVirtualLeafCells(info);
        computed = true;
      }
    }
    for (const auto& [uid, e] : pods_) {
      if (e.state != PodState::kBound && e.state != PodState::kBinding) continue;
      auto it = desired.find(uid);
      Patch p;
      p.ref = e.ref;
      p.preemptor = e.lazy_preemptor;
      p.time = e.lazy_time;
      if (it != desired.end()) {
        std::string when = wire::FormatRfc3339(it->second->preemption_time);
        if (e.lazy_preemptor != it->second->preemptor || e.lazy_time != when) {
          p.patch = {{cell::kAnnotationLazyPreemptor, it->second->preemptor},
                     {kAnnotationLazyPreemptionTime, when}};
          p.preemptor = it->second->preemptor;
          p.time = when;
        }
      } else if (e.lazy_preemptor || e.lazy_time) {
        p.patch = {{cell::kAnnotationLazyPreemptor, std::nullopt},
                   {kAnnotationLazyPreemptionTime, std::nullopt}};
        p.preemptor.reset();
        p.time.reset();
      }
      // The group's virtual cells as they are now (lost to a lazy
      // preemption, re-derived after a reverted one): the next restart
      // restores what the pods say (apiary.io/virtual-leaf-cells).
      auto git = group_of_uid.find(uid);
      if (e.allocated && e.bind_info && git != group_of_uid.end() &&
          (e.state == PodState::kBound || e.binding_created)) {
        const std::string& text = cells_texts[git->second];
        std::optional<std::string> want =
            text.empty() ? std::nullopt : std::optional<std::string>(text);
        if (want != e.virtual_cells_text) {
          p.patch.emplace_back(cell::kAnnotationVirtualLeafCells, want);
          p.cells_changed = true;
          p.cells = std::move(want);
        }
      }
      if (p.patch.empty()) continue;
      patches.push_back(std::move(p));
    }
  }
  for (auto& p : patches) {
    Submit("patch/" + p.ref.uid, [this, p] {
      ApiStatus st = api_->PatchPodAnnotations(p.ref, p.patch);
      metrics_.annotation_patches++;
      if (!st.ok() && st.code != 404) {
        metrics_.annotation_patch_errors++;
        LogWarn("annotation_patch_failed", {{"pod", p.ref.FullName()}, {"uid", p.ref.uid},
                                           {"code", std::to_string(st.code)}, {"error", st.message}});
        ann_failed_ = true;
        MarkAnnotationsDirty();
        return;
      }
      std::unique_lock lock(mu_);
      auto it = pods_.find(p.ref.uid);
      if (it != pods_.end()) {
        it->second.lazy_preemptor = p.preemptor;
        it->second.lazy_time = p.time;
        if (p.cells_changed) it->second.virtual_cells_text = p.cells;
      }
    });
  }
}

}  // namespace apiary::extender
