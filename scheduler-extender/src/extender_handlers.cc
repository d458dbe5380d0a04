// HTTP request handling of the extender (extender.md 3, 4, 6, 7; hived.md 11).
#include <algorithm>
#include <map>
#include <unordered_map>

#include "apiary/cell/annotations.h"
#include "apiary/cell/text.h"
#include "apiary/extender/extender.h"
#include "apiary/extender/log.h"
#include "apiary/wire/explain_json.h"
#include "apiary/wire/inspect_json.h"

namespace apiary::extender {

using cell::ScheduleResult;
using cell::Status;

namespace {

constexpr char kFakeNode[] = "hivedscheduler";
constexpr const char* kPaths[] = {
    "/",
    "/v1/extender/filter",
    "/v1/extender/bind",
    "/v1/extender/preempt",
    "/v1/inspect/affinitygroups/",
    "/v1/inspect/clusterstatus",
    "/v1/inspect/clusterstatus/physicalcluster",
    "/v1/inspect/clusterstatus/virtualclusters/",
    "/v1/inspect/explain/",
    "/healthz",
    "/readyz",
    "/metrics",
    "/version",
};

HttpResponse JsonString(int status, std::string_view text) {
  HttpResponse r;
  r.status = status;
  r.body = JsonQuote(text);
  return r;
}

// An unknown VC: the known ones and the nearest name, after HiveD's message.
std::string VcHint(const cell::Scheduler& scheduler, const cell::PodSchedulingSpec& spec) {
  return cell::UnknownNameHint(spec.virtual_cluster, scheduler.VirtualClusterNames(), "VCs");
}

std::string Dump(const wire::Json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

// ---------------------------------------------------------------------------

cell::Result<std::vector<cell::CellStatus>> InspectVirtualCluster(const cell::Scheduler& scheduler,
                                                                  const std::string& vc) {
  auto cells = scheduler.VirtualCluster(vc);
  if (!cells.ok()) return cells;
  // libcell lists the opportunistic leaves in allocation order, which a
  // restart (recovery replays in binding order) does not reproduce.
  auto opp = std::stable_partition(cells->begin(), cells->end(), [](const cell::CellStatus& c) {
    return !(c.cell_priority == cell::kOpportunisticPriority && c.bound.size() == 1 && c.leaf_cell_type.empty());
  });
  if (std::distance(opp, cells->end()) < 2) return cells;
  std::unordered_map<std::string, size_t> leaf_rank;  // physical leaf address -> configuration order
  std::vector<const cell::CellStatus*> stack;
  const auto physical = scheduler.PhysicalCluster();
  for (auto it = physical.rbegin(); it != physical.rend(); ++it) stack.push_back(&*it);
  while (!stack.empty()) {
    const cell::CellStatus* c = stack.back();
    stack.pop_back();
    if (c->cell_children.empty()) leaf_rank.emplace(c->cell_address, leaf_rank.size());
    for (auto it = c->cell_children.rbegin(); it != c->cell_children.rend(); ++it) stack.push_back(&*it);
  }
  auto rank = [&](const cell::CellStatus& c) {
    auto it = leaf_rank.find(c.bound[0].cell_address);
    return it == leaf_rank.end() ? leaf_rank.size() : it->second;
  };
  std::stable_sort(opp, cells->end(), [&](const cell::CellStatus& a, const cell::CellStatus& b) {
    size_t ra = rank(a), rb = rank(b);
    return ra != rb ? ra < rb : a.cell_address < b.cell_address;
  });
  return cells;
}

HttpResponse Extender::Handle(const HttpRequest& req) {
  auto t0 = std::chrono::steady_clock::now();
  Verb verb = Verb::kOther;
  Outcome outcome = Outcome::kOk;
  HttpResponse resp;
  const std::string& path = req.path;
  try {
    if (path == "/v1/extender/filter" || path == "/v1/extender/bind" ||
        path == "/v1/extender/preempt") {
      verb = path == "/v1/extender/filter" ? Verb::kFilter
             : path == "/v1/extender/bind" ? Verb::kBind
                                           : Verb::kPreempt;
      if (req.method != "POST") {
        outcome = Outcome::kUserError;
        resp = JsonString(405, "Code: 405, Message: hivedscheduler: User Error: NotImplemented: " +
                                   req.method + ": " + path + " (use POST)");
        resp.headers.emplace_back("Allow", "POST");
      } else if (verb == Verb::kFilter) {
        resp = HandleFilter(req.body, &outcome);
      } else if (verb == Verb::kBind) {
        resp = HandleBind(req.body, &outcome);
      } else {
        resp = HandlePreempt(req.body, &outcome);
      }
    } else if (path.rfind("/v1/inspect/", 0) == 0) {
      verb = Verb::kInspect;
      resp = HandleInspect(req, &outcome);
    } else if (path == "/" || path == "/healthz" || path == "/readyz" || path == "/metrics" ||
               path == "/version") {
      if (req.method != "GET" && req.method != "HEAD") {
        outcome = Outcome::kUserError;
        resp = JsonString(400, "Code: 400, Message: hivedscheduler: User Error: NotImplemented: " +
                                   req.method + ": " + path);
      } else if (path == "/") {
        wire::Json j;
        j["paths"] = wire::Json::array();
        for (const char* p : kPaths) j["paths"].push_back(p);
        resp.body = Dump(j);
      } else if (path == "/healthz") {
        resp.content_type = "text/plain; charset=utf-8";
        resp.body = "ok";
      } else if (path == "/readyz") {
        std::string reason;
        if (Ready(&reason)) {
          resp.content_type = "text/plain; charset=utf-8";
          resp.body = "ok";
        } else {
          resp.status = 503;
          wire::Json j;
          j["ready"] = false;
          j["reason"] = reason;
          resp.body = Dump(j);
        }
      } else if (path == "/metrics") {
        resp = HandleMetrics();
      } else {
        wire::Json j;
        j["version"] = options_.version;
        j["commit"] = options_.commit;
        j["preemptionMode"] = options_.preemption_mode == PreemptionMode::kSelf ? "self" : "extender";
        resp.body = Dump(j);
      }
    } else {
      outcome = Outcome::kNotFound;
      resp = JsonString(404, "Code: 404, Message: hivedscheduler: User Error: path " + path +
                                 " not found; GET / lists the paths");
    }
  } catch (const std::exception& e) {
    // Nothing input-driven should get here; answer instead of dying.
    LogError("request_failed", {{"path", path}, {"error", e.what()}});
    outcome = Outcome::kInternalError;
    resp = JsonString(500, PlatformError("", "", std::string("internal error: ") + e.what()));
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  metrics_.ObserveRequest(verb, outcome, secs);
  return resp;
}

bool Extender::MayHandleOnIoThread(const HttpRequest& req) const {
  if (req.method != "POST" || (req.path != "/v1/extender/filter" && req.path != "/v1/extender/preempt"))
    return false;
  // A probe, not a reservation: another thread may take the lock before the
  // handler does, and then the I/O thread waits for one decision at most.
  std::unique_lock probe(mu_, std::try_to_lock);
  return probe.owns_lock();
}

// ---------------------------------------------------------------------------
// Filter (extender.md 4.1)

HttpResponse Extender::HandleFilter(std::string_view body, Outcome* outcome) {
  static constexpr char kRoutine[] = "filterRoutine";
  HttpResponse resp;
  auto args = DecodeFilterArgs(body);
  if (!args.ok()) {
    *outcome = Outcome::kUserError;
    FilterResult result;
    result.error = UserError(BestEffortPodKey(body), kRoutine, args.status().message());
    resp.body = EncodeFilterResult(result);
    return resp;
  }
  FilterDecision d;
  bool check_lazy = false;
  {
    std::unique_lock lock(mu_);
    // On leaving this scope: did this call possibly change marks?
    LazyCheckOnExit take_check{this, &check_lazy};
    d = DecideFilterLocked(*args);
  }
  // The effects, outside the lock.
  const PodInfo& pod = args->pod;
  *outcome = d.outcome;
  if (!d.decided) {
    // An answer without a decision (not serving, unknown or bound pod, a
    // spec that does not parse): nothing to log but a spec error.
    if (!d.log_reason.empty())
      LogInfo("decision", {{"pod", pod.ref.FullName()}, {"uid", pod.ref.uid}, {"verb", "filter"},
                           {"outcome", d.log_outcome}, {"reason", d.log_reason}});
    resp.body = EncodeFilterResult(d.result);
    return resp;
  }
  if (!d.commit_error.empty())
    LogError("commit_failed", {{"pod", pod.ref.FullName()}, {"uid", pod.ref.uid}, {"error", d.commit_error}});
  if (d.new_preemption) metrics_.preemptions++;
  // One line per decision; a retry of a decided pod only at debug level.
  LogEvent(d.log_outcome == "bind_retry" ? spdlog::level::debug : spdlog::level::info, "decision",
           {{"pod", pod.ref.FullName()}, {"uid", pod.ref.uid}, {"verb", "filter"}, {"group", d.log_group},
            {"outcome", d.log_outcome}, {"detail", d.log_detail}});
  if (check_lazy) MarkAnnotationsDirty();
  if (!d.direct_bind_node.empty()) QueueDirectBind(pod.ref.uid, d.direct_bind_node);
  for (const auto& v : d.evict) {
    cell::PodRef victim = v.pod;
    std::string group = d.evict_group;
    Submit("evict/" + victim.uid, [this, victim, group] {
      if (!api_) return;
      ApiStatus st = options_.victim_method == VictimMethod::kEvict ? api_->EvictPod(victim)
                                                                     : api_->DeletePod(victim);
      // 404: already gone; 409: a different pod of that name (UID precondition).
      if (st.ok() || st.code == 404 || st.code == 409) {
        metrics_.evictions++;
        LogInfo("victim_evicted", {{"pod", victim.FullName()}, {"uid", victim.uid}, {"preemptor", group},
                                   {"code", std::to_string(st.code)}});
        if (st.ok())
          api_->RecordEvent(victim, "Normal", "Preempted", "Preempted by affinity group " + group);
      } else {
        metrics_.eviction_errors++;
        LogWarn("victim_eviction_failed", {{"pod", victim.FullName()}, {"uid", victim.uid},
                                           {"preemptor", group}, {"code", std::to_string(st.code)},
                                           {"error", st.message}});
      }
    });
  }
  resp.body = EncodeFilterResult(d.result);
  if (d.wait) resp.delay_ms = d.wait_block_ms;
  return resp;
}

Extender::FilterDecision Extender::DecideFilterLocked(const FilterArgs& args) {
  static constexpr char kRoutine[] = "filterRoutine";
  FilterDecision d;
  FilterResult& result = d.result;
  const PodInfo& pod = args.pod;
  const std::string key = pod.Key();
  const std::vector<std::string_view>& offered = args.node_names;
  auto answer_node = [&](const std::string& node) {
    // One node, so kube-scheduler skips scoring (extender.md 5).
    if (args.full_nodes) {
      for (size_t i = 0; i < offered.size(); ++i)
        if (offered[i] == node) result.node_objects = std::vector<std::string>{std::string(args.node_objects[i])};
    } else {
      result.node_names = std::vector<std::string>{node};
    }
  };
  std::string reason;
  if (!Serving(&reason)) {
    d.outcome = Outcome::kNotReady;
    result.error = PlatformError(key, kRoutine, "scheduler is not serving: " + reason);
    return d;
  }
  d.wait_block_ms = config_->waiting_pod_scheduling_block_milli_sec;
  auto it = pods_.find(pod.ref.uid);
  if (it == pods_.end()) {
    d.outcome = Outcome::kUserError;
    std::string msg = "Pod does not exist, completed or has not been informed to the scheduler";
    if (!pod.enabled)
      msg += " (it requests no " + std::string(kResourcePodSchedulingEnable) +
             " limit > 0, so the scheduler does not manage it)";
    result.error = UserError(key, kRoutine, msg);
    return d;
  }
  PodEntry& e = it->second;
  switch (e.state) {
    case PodState::kBound:
      d.outcome = Outcome::kUserError;
      result.error = UserError(key, kRoutine, "Pod has already been bound to node " + e.node);
      return d;
    case PodState::kBinding: {
      // A retry: the decision stands (hived.md 6.1, extender.md 4.1).
      d.decided = true;
      ++e.bind_attempts;
      bool offered_node = args.Offers(e.node);
      if (!e.binding_created && (e.bind_attempts >= config_->force_pod_bind_threshold || !offered_node))
        d.direct_bind_node = e.node;
      if (offered_node) {
        d.outcome = Outcome::kBind;
        answer_node(e.node);
      } else {
        d.outcome = Outcome::kBindDirect;
        result.failed_nodes.emplace_back(
            kFakeNode, "Pod is bound by the scheduler to node " + e.node + ", outside the offered nodes");
      }
      d.log_outcome = "bind_retry";
      d.log_detail = e.node;
      return d;
    }
    case PodState::kWaiting:
    case PodState::kPreempting:
      break;
  }
  std::string err;
  const cell::PodSchedulingSpec* spec = SpecLocked(e, pod.spec_annotation, &err);
  if (!spec) {
    d.outcome = Outcome::kUserError;
    result.error = UserError(key, kRoutine, err);
    d.log_outcome = "error";
    d.log_reason = err;
    return d;
  }
  d.decided = true;
  d.log_group = spec->affinity_group_name;
  const bool self = options_.preemption_mode == PreemptionMode::kSelf;
  const std::vector<std::string> offered_names = args.NodeNameStrings();
  const std::vector<std::string>* suggested = &offered_names;
  // Self mode: an existing preemption is cancelled for bad nodes only,
  // not for nodes missing from NodeNames (extender.md 6).
  if (self && preempting_groups_.count(spec->affinity_group_name)) suggested = nullptr;
  ScheduleResult r = scheduler_->Schedule(
      pod.ref, *spec, suggested, self ? cell::SchedulingPhase::kPreempting : cell::SchedulingPhase::kFiltering);
  switch (r.kind) {
    case ScheduleResult::Kind::kBind: {
      Status st = scheduler_->AddAllocatedPod(pod.ref, *spec, r.bind_info);
      if (!st.ok()) {
        d.outcome = Outcome::kInternalError;
        result.error = PlatformError(key, kRoutine, "commit failed: " + st.message());
        d.commit_error = st.message();
        break;
      }
      preempting_groups_.erase(spec->affinity_group_name);
      lazy_check_ = true;
      e.state = PodState::kBinding;
      e.node = r.node;
      e.bind_info = r.bind_info;
      // The commit re-derived the group's virtual cells (hived.md 7.1);
      // the annotation written at bind names the ones it holds now.
      e.bind_info->virtual_leaf_cells = scheduler_->VirtualLeafCellsOfPod(pod.ref.uid);
      e.allocated = true;
      e.commit_seq = ++next_commit_seq_;
      e.bind_attempts = 0;
      e.binding_created = false;
      if (args.Offers(r.node)) {
        d.outcome = Outcome::kBind;
        answer_node(r.node);
      } else {
        d.outcome = Outcome::kBindDirect;
        d.direct_bind_node = r.node;
        result.failed_nodes.emplace_back(
            kFakeNode, "Pod is bound by the scheduler to node " + r.node + ", outside the offered nodes");
      }
      d.log_outcome = "bind";
      d.log_detail = r.node;
      break;
    }
    case ScheduleResult::Kind::kPreempt: {
      d.outcome = Outcome::kPreempt;
      lazy_check_ = true;
      std::map<std::string, std::vector<const cell::Victim*>> by_node;
      for (const auto& v : r.victims) by_node[v.node].push_back(&v);
      if (self) {
        // The Preempting group now reserves the cells; evict outside the lock.
        if (e.state != PodState::kPreempting) d.new_preemption = true;
        e.state = PodState::kPreempting;
        preempting_groups_.insert(spec->affinity_group_name);
        std::string nodes;
        for (const auto& [n, vs] : by_node) {
          (void)vs;
          nodes += (nodes.empty() ? "" : ", ") + n;
        }
        result.failed_nodes.emplace_back(
            kFakeNode, "Pod is preempting: " + std::to_string(r.victims.size()) + " victim pods on nodes " + nodes);
        auto now = std::chrono::steady_clock::now();
        for (const auto& v : r.victims) {
          auto vit = pods_.find(v.pod.uid);
          if (vit != pods_.end()) {
            if (vit->second.last_eviction != std::chrono::steady_clock::time_point{} &&
                now - vit->second.last_eviction < options_.victim_retry)
              continue;
            vit->second.last_eviction = now;
          }
          d.evict.push_back(v);
        }
        d.evict_group = spec->affinity_group_name;
        d.log_detail = std::to_string(r.victims.size()) + " victims on " + nodes;
      } else {
        // HiveD's flow: name the victim nodes; kube-scheduler calls preempt.
        for (const auto& [n, vs] : by_node) {
          std::string text = "node(" + n + ") has preemptible Pods: ";
          bool first = true;
          for (const auto* v : vs) {
            if (!first) text += ", ";
            first = false;
            text += v->pod.uid + "(" + v->pod.ns + "/" + v->pod.name + ")";
          }
          result.failed_nodes.emplace_back(n, std::move(text));
        }
        d.log_detail = std::to_string(r.victims.size()) + " victims";
      }
      d.log_outcome = "preempt";
      break;
    }
    case ScheduleResult::Kind::kWait:
      d.outcome = Outcome::kWait;
      if (e.state == PodState::kPreempting) preempting_groups_.erase(spec->affinity_group_name);
      e.state = PodState::kWaiting;
      result.failed_nodes.emplace_back(kFakeNode,
                                       "Pod is waiting for preemptible or free resource to appear: " + r.message);
      d.wait = true;
      d.log_outcome = "wait";
      d.log_detail = r.message;
      break;
    case ScheduleResult::Kind::kError:
      d.outcome = Outcome::kUserError;
      result.error = UserError(key, kRoutine, r.message + VcHint(*scheduler_, *spec));
      d.log_outcome = "error";
      d.log_detail = r.message;
      break;
  }
  return d;
}

// ---------------------------------------------------------------------------
// Bind (extender.md 4.2, 4.4)

void Extender::QueueDirectBind(const std::string& uid, const std::string& node) {
  Submit("bind/" + uid, [this, uid, node] {
    std::string err = BindPod(uid, node, /*direct=*/true);
    if (!err.empty()) LogWarn("direct_bind_failed", {{"uid", uid}, {"node", node}, {"error", err}});
  });
}

std::string Extender::BindPod(const std::string& uid, const std::string& node, bool direct) {
  BindingRequest req;
  {
    std::unique_lock lock(mu_);
    auto it = pods_.find(uid);
    if (it == pods_.end()) return "Pod does not exist, completed or has not been informed to the scheduler";
    PodEntry& e = it->second;
    if (e.state == PodState::kBound) {
      if (e.node == node) return "";
      return "Pod binding node mismatch: expected " + e.node + ", received " + node;
    }
    if (e.state != PodState::kBinding)
      return std::string("Pod cannot be bound without a scheduling placement: Pod current scheduling state ") +
             StateName(e.state) + ", received node " + node;
    if (e.node != node) return "Pod binding node mismatch: expected " + e.node + ", received " + node;
    if (e.binding_created) return "";
    req.pod = e.ref;
    req.node = node;
    req.annotations.emplace_back(cell::kAnnotationPodBindInfo, cell::EmitPodBindInfo(*e.bind_info));
    req.annotations.emplace_back(cell::kAnnotationPodLeafCellIsolation,
                                 cell::EmitLeafCellIsolation(e.bind_info->leaf_cell_isolation));
    if (std::string v = cell::EmitVirtualLeafCells(*e.bind_info); !v.empty())
      req.annotations.emplace_back(cell::kAnnotationVirtualLeafCells, std::move(v));
    if (auto mark = scheduler_ ? scheduler_->LazyMarkOfPod(uid) : std::nullopt) {
      req.annotations.emplace_back(cell::kAnnotationLazyPreemptor, mark->preemptor);
      req.annotations.emplace_back(kAnnotationLazyPreemptionTime, wire::FormatRfc3339(mark->preemption_time));
    }
  }
  ApiStatus st;
  if (api_) {
    st = api_->CreateBinding(req);
    metrics_.api_bindings++;
  } else {
    st.code = 201;
  }
  bool ok = st.ok() || (st.code == 409 && st.assigned_node == node);
  std::unique_lock lock(mu_);
  auto it = pods_.find(uid);
  if (!ok) {
    metrics_.api_binding_errors++;
    LogWarn("binding_failed", {{"pod", req.pod.FullName()}, {"uid", uid}, {"node", node},
                               {"code", std::to_string(st.code)}, {"error", st.message}});
    std::string err = "binding pod to node " + node + " failed: " +
                      (st.code ? "API server answered " + std::to_string(st.code) + ": " : std::string()) +
                      st.message;
    if (st.code == 409 && !st.assigned_node.empty() && it != pods_.end() &&
        it->second.state == PodState::kBinding && it->second.node == node) {
      // Another client bound the pod elsewhere: release now rather than when
      // the watch reports it.
      BoundElsewhereLocked(it->second, st.assigned_node, "bind");
      bool check = TakeLazyCheckLocked();
      lock.unlock();
      if (check) MarkAnnotationsDirty();
      return err;
    }
    // The pod stays Binding with its cells; the next filter returns the same node.
    return err;
  }
  if (direct) metrics_.direct_binds++;
  if (it != pods_.end() && it->second.state == PodState::kBinding && it->second.node == node) {
    it->second.binding_created = true;
    // After a 201 the annotations are on the pod. After a 409 naming this
    // node (an earlier attempt succeeded, its reply was lost) the pod has
    // that attempt's annotations, which may differ: the watch reports them,
    // and the annotation sync mends any difference.
    if (st.ok()) {
      for (const auto& [k, v] : req.annotations) {
        if (k == cell::kAnnotationLazyPreemptor) it->second.lazy_preemptor = v;
        if (k == kAnnotationLazyPreemptionTime) it->second.lazy_time = v;
        if (k == cell::kAnnotationPodBindInfo) it->second.bind_info_text = v;
        if (k == cell::kAnnotationVirtualLeafCells) it->second.virtual_cells_text = v;
      }
    }
  }
  LogInfo("bound", {{"pod", req.pod.FullName()}, {"uid", uid}, {"node", node},
                    {"direct", direct ? "true" : "false"}, {"code", std::to_string(st.code)}});
  return "";
}

HttpResponse Extender::HandleBind(std::string_view body, Outcome* outcome) {
  static constexpr char kRoutine[] = "bindRoutine";
  HttpResponse resp;
  auto args = DecodeBindArgs(body);
  if (!args.ok()) {
    *outcome = Outcome::kUserError;
    resp.body = EncodeBindResult(UserError("", kRoutine, args.status().message()));
    return resp;
  }
  const std::string key = args->pod_uid + "(" + args->pod_namespace + "/" + args->pod_name + ")";
  {
    std::shared_lock lock(mu_);
    std::string reason;
    if (!Serving(&reason)) {
      *outcome = Outcome::kNotReady;
      resp.body = EncodeBindResult(PlatformError(key, kRoutine, "scheduler is not serving: " + reason));
      return resp;
    }
    auto it = pods_.find(args->pod_uid);
    if (it != pods_.end() &&
        (it->second.ref.ns != args->pod_namespace || it->second.ref.name != args->pod_name)) {
      *outcome = Outcome::kUserError;
      resp.body = EncodeBindResult(UserError(
          key, kRoutine, "Pod identity mismatch: UID " + args->pod_uid + " belongs to " +
                             it->second.ref.FullName()));
      return resp;
    }
  }
  std::string err = BindPod(args->pod_uid, args->node, /*direct=*/false);
  if (err.empty()) {
    *outcome = Outcome::kBind;
    resp.body = EncodeBindResult("");
  } else {
    bool api_failure = err.rfind("binding pod to node", 0) == 0;
    *outcome = api_failure ? Outcome::kInternalError : Outcome::kUserError;
    resp.body = EncodeBindResult(api_failure ? PlatformError(key, kRoutine, err)
                                             : UserError(key, kRoutine, err));
  }
  return resp;
}

// ---------------------------------------------------------------------------
// Preempt (extender.md 4.3)

HttpResponse Extender::HandlePreempt(std::string_view body, Outcome* outcome) {
  static constexpr char kRoutine[] = "preemptRoutine";
  auto args = DecodePreemptArgs(body);
  if (!args.ok()) {
    *outcome = Outcome::kUserError;
    return JsonString(400, UserError(BestEffortPodKey(body), kRoutine, args.status().message()));
  }
  const PodInfo& pod = args->pod;
  const std::string key = pod.Key();
  std::vector<std::pair<std::string, MetaVictims>> answer;
  std::string log_outcome, log_detail, log_group;
  bool check_lazy = false;
  {
    std::unique_lock lock(mu_);
    LazyCheckOnExit take_check{this, &check_lazy};
    std::string reason;
    if (!Serving(&reason)) {
      *outcome = Outcome::kNotReady;
      return JsonString(503, PlatformError(key, kRoutine, "scheduler is not serving: " + reason));
    }
    auto it = pods_.find(pod.ref.uid);
    if (it == pods_.end()) {
      *outcome = Outcome::kUserError;
      return JsonString(400, UserError(key, kRoutine,
                                       "Pod does not exist, completed or has not been informed to the scheduler"));
    }
    PodEntry& e = it->second;
    if (e.state == PodState::kBinding || e.state == PodState::kBound) {
      *outcome = Outcome::kUserError;
      return JsonString(400, UserError(key, kRoutine, "Pod has already been binding to node " + e.node));
    }
    std::string err;
    const cell::PodSchedulingSpec* spec = SpecLocked(e, pod.spec_annotation, &err);
    if (!spec) {
      *outcome = Outcome::kUserError;
      return JsonString(400, UserError(key, kRoutine, err));
    }
    log_group = spec->affinity_group_name;
    ScheduleResult r = scheduler_->Schedule(pod.ref, *spec, &args->candidate_nodes,
                                            cell::SchedulingPhase::kPreempting);
    switch (r.kind) {
      case ScheduleResult::Kind::kBind:
        // Free cells appeared: the next filter binds. (Lazy preemptions made
        // while placing stand.)
        lazy_check_ = true;
        *outcome = Outcome::kNone;
        log_outcome = "bind_next_filter";
        log_detail = r.node;
        break;
      case ScheduleResult::Kind::kPreempt: {
        *outcome = Outcome::kPreempt;
        lazy_check_ = true;
        if (e.state != PodState::kPreempting) metrics_.preemptions++;
        e.state = PodState::kPreempting;
        preempting_groups_.insert(spec->affinity_group_name);
        // One node per cycle: the smallest victim node name (hived.md 7.3).
        std::string node;
        for (const auto& v : r.victims)
          if (node.empty() || v.node < node) node = v.node;
        MetaVictims mv;
        for (const auto& v : r.victims)
          if (v.node == node) mv.uids.push_back(v.pod.uid);
        answer.emplace_back(node, std::move(mv));
        log_outcome = "preempt";
        log_detail = node + ": " + std::to_string(answer.back().second.uids.size()) + " victims of " +
                     std::to_string(r.victims.size());
        break;
      }
      case ScheduleResult::Kind::kWait:
        *outcome = Outcome::kNone;
        if (e.state == PodState::kPreempting) preempting_groups_.erase(spec->affinity_group_name);
        e.state = PodState::kWaiting;
        log_outcome = "wait";
        log_detail = r.message;
        break;
      case ScheduleResult::Kind::kError:
        *outcome = Outcome::kUserError;
        return JsonString(400, UserError(key, kRoutine, r.message + VcHint(*scheduler_, *spec)));
    }
  }
  LogInfo("decision", {{"pod", pod.ref.FullName()}, {"uid", pod.ref.uid}, {"verb", "preempt"},
                       {"group", log_group}, {"outcome", log_outcome}, {"detail", log_detail}});
  if (check_lazy) MarkAnnotationsDirty();
  HttpResponse resp;
  resp.body = EncodePreemptResult(answer);
  return resp;
}

// ---------------------------------------------------------------------------
// Inspect (hived.md 11)

HttpResponse Extender::HandleInspect(const HttpRequest& req, Outcome* outcome) {
  const std::string& path = req.path;
  if (req.method != "GET" && req.method != "HEAD") {
    *outcome = Outcome::kUserError;
    return JsonString(400, "Code: 400, Message: hivedscheduler: User Error: NotImplemented: " + req.method +
                               ": " + path);
  }
  std::shared_lock lock(mu_);
  if (!scheduler_) {
    *outcome = Outcome::kNotReady;
    std::string reason;
    Serving(&reason);
    return JsonString(503, PlatformError("", "", "scheduler is not serving: " + reason));
  }
  HttpResponse resp;
  auto vc_cells = [&](const std::string& vc) { return InspectVirtualCluster(*scheduler_, vc); };
  static const std::string kGroups = "/v1/inspect/affinitygroups";
  static const std::string kStatus = "/v1/inspect/clusterstatus";
  static const std::string kVcs = "/v1/inspect/clusterstatus/virtualclusters";
  static const std::string kExplain = "/v1/inspect/explain/";
  if (path == kGroups || path == kGroups + "/") {
    resp.body = Dump(wire::AffinityGroupListToJson(scheduler_->AffinityGroups()));
  } else if (path.rfind(kGroups + "/", 0) == 0) {
    std::string name = path.substr(kGroups.size() + 1);
    auto g = scheduler_->AffinityGroup(name);
    if (!g.ok()) {
      *outcome = Outcome::kUserError;
      return JsonString(400, UserError("", "", g.status().message()));
    }
    resp.body = Dump(wire::AffinityGroupToJson(*g));
  } else if (path == kStatus || path == kStatus + "/") {
    wire::Json j;
    j["physicalCluster"] = wire::CellListToJson(scheduler_->PhysicalCluster(), true);
    wire::Json vcs = wire::Json::object();
    for (const auto& vc : scheduler_->VirtualClusterNames()) vcs[vc] = wire::CellListToJson(*vc_cells(vc), false);
    j["virtualClusters"] = vcs;
    resp.body = Dump(j);
  } else if (path == kStatus + "/physicalcluster" || path == kStatus + "/physicalcluster/") {
    resp.body = Dump(wire::CellListToJson(scheduler_->PhysicalCluster(), true));
  } else if (path == kVcs || path == kVcs + "/") {
    wire::Json vcs = wire::Json::object();
    for (const auto& vc : scheduler_->VirtualClusterNames()) vcs[vc] = wire::CellListToJson(*vc_cells(vc), false);
    resp.body = Dump(vcs);
  } else if (path.rfind(kVcs + "/", 0) == 0) {
    std::string vc = path.substr(kVcs.size() + 1);
    auto cells = vc_cells(vc);
    if (!cells.ok()) {
      *outcome = Outcome::kUserError;
      return JsonString(400, UserError("", "", cells.status().message()));
    }
    resp.body = Dump(wire::CellListToJson(*cells, false));
  } else if (path.rfind(kExplain, 0) == 0) {
    return InspectExplain(path.substr(kExplain.size()), outcome);
  } else {
    *outcome = Outcome::kNotFound;
    return JsonString(404, "Code: 404, Message: hivedscheduler: User Error: path " + path +
                               " not found; GET / lists the paths");
  }
  return resp;
}

// GET /v1/inspect/explain/<namespace>/<pod> (docs/explain.md): the decision
// the preempt call would make for a pending pod now, with its explanation,
// made on a copy of the scheduler's state (Scheduler::Explain), so that
// nothing changes. Runs under the shared lock, like every inspect view.
HttpResponse Extender::InspectExplain(const std::string& key, Outcome* outcome) {
  auto user_error = [&](int status, const std::string& m) {
    *outcome = Outcome::kUserError;
    return JsonString(status, UserError(key, "explain", m));
  };
  if (key.empty() || key.find('/') == std::string::npos)
    return user_error(400, "expected /v1/inspect/explain/<namespace>/<pod>, got \"" + key + "\"");
  auto uid = uid_of_.find(key);
  if (uid == uid_of_.end()) return user_error(404, "pod " + key + " is not known to the scheduler");
  auto it = pods_.find(uid->second);
  if (it == pods_.end()) return user_error(404, "pod " + key + " is not known to the scheduler");
  const PodEntry& e = it->second;
  HttpResponse resp;
  if (e.state == PodState::kBinding || e.state == PodState::kBound) {
    cell::ScheduleResult bound;
    bound.kind = cell::ScheduleResult::Kind::kBind;
    bound.node = e.node;
    resp.body = Dump(wire::ExplainAnswerToJson(key, StateName(e.state), bound));
    return resp;
  }
  // The spec as the pod's annotation last seen says (parsed here: the
  // entry's cache is written only under the exclusive lock).
  std::optional<cell::PodSchedulingSpec> spec = e.spec;
  if (e.spec_text) {
    auto parsed = cell::ParsePodSchedulingSpec(*e.spec_text, e.ref.ns, e.ref.name, nullptr);
    if (!parsed.ok()) return user_error(400, parsed.status().message());
    spec = std::move(parsed).value();
  }
  if (!spec)
    return user_error(400, e.spec_error.empty() ? "pod " + key + " has no scheduling spec"
                                                : e.spec_error);
  cell::ScheduleResult r =
      scheduler_->Explain(e.ref, *spec, nullptr, cell::SchedulingPhase::kPreempting);
  if (r.kind == cell::ScheduleResult::Kind::kError) return user_error(400, r.message);
  resp.body = Dump(wire::ExplainAnswerToJson(key, StateName(e.state), r));
  return resp;
}

// ---------------------------------------------------------------------------
// Metrics (extender.md 7)

namespace {

struct LeafCounts {
  int64_t free = 0, used = 0, reserved = 0, bad = 0, total = 0;
};

void CountLeaves(const cell::CellStatus& c, LeafCounts* n) {
  if (!c.cell_children.empty()) {
    for (const auto& ch : c.cell_children) CountLeaves(ch, n);
    return;
  }
  ++n->total;
  if (c.cell_healthiness == "Bad") ++n->bad;
  if (c.cell_state == "Used" || c.cell_state == "Reserving") ++n->used;
  else if (c.cell_state == "Reserved") ++n->reserved;
  else ++n->free;
}

void Gauge(std::string* out, const char* name, const char* help) {
  *out += "# HELP ";
  *out += name;
  *out += ' ';
  *out += help;
  *out += "\n# TYPE ";
  *out += name;
  *out += " gauge\n";
}

}  // namespace

HttpResponse Extender::HandleMetrics() {
  HttpResponse resp;
  resp.content_type = "text/plain; version=0.0.4; charset=utf-8";
  std::string out = metrics_.Render();
  std::shared_lock lock(mu_);
  std::string reason;
  Gauge(&out, "apiary_extender_ready", "1 when the extender serves scheduling calls.");
  out += "apiary_extender_ready " + std::string(Serving(&reason) ? "1" : "0") + "\n";
  Gauge(&out, "apiary_extender_leader", "1 while this replica holds the leader lease.");
  out += "apiary_extender_leader " + std::string(leader_ ? "1" : "0") + "\n";
  Gauge(&out, "apiary_extender_config_generation", "Configurations applied since start.");
  out += "apiary_extender_config_generation " + std::to_string(config_generation_) + "\n";
  Gauge(&out, "apiary_extender_config_error", "1 when the last configuration change was rejected.");
  out += "apiary_extender_config_error " + std::string(config_error_.empty() ? "0" : "1") + "\n";
  int64_t by_state[4] = {0, 0, 0, 0};
  for (const auto& [uid, e] : pods_) {
    (void)uid;
    ++by_state[static_cast<int>(e.state)];
  }
  Gauge(&out, "apiary_extender_pods", "Managed live pods by scheduling state.");
  for (int s = 0; s < 4; ++s)
    out += std::string("apiary_extender_pods{state=\"") + StateName(static_cast<PodState>(s)) + "\"} " +
           std::to_string(by_state[s]) + "\n";
  if (!scheduler_) {
    lock.unlock();
    resp.body = std::move(out);
    return resp;
  }
  std::map<std::string, int64_t> groups_by_state;
  int64_t lazy = 0;
  for (const auto& g : scheduler_->AffinityGroups()) {
    ++groups_by_state[g.state];
    if (g.lazy_preemption) ++lazy;
  }
  Gauge(&out, "apiary_extender_affinity_groups", "Affinity groups by state.");
  for (const char* s : {"Allocated", "Preempting", "BeingPreempted"})
    out += std::string("apiary_extender_affinity_groups{state=\"") + s + "\"} " +
           std::to_string(groups_by_state[s]) + "\n";
  Gauge(&out, "apiary_extender_lazy_preempted_groups", "Groups lazily preempted (running as opportunistic).");
  out += "apiary_extender_lazy_preempted_groups " + std::to_string(lazy) + "\n";

  std::map<std::string, LeafCounts> chains;
  for (const auto& top : scheduler_->PhysicalCluster()) CountLeaves(top, &chains[top.cell_type]);
  Gauge(&out, "apiary_extender_physical_leaf_cells",
        "Physical leaf cells (GPUs) per chain: free, used (Used or Reserving), reserved, bad, total.");
  for (const auto& [chain, n] : chains) {
    std::string l = "apiary_extender_physical_leaf_cells{chain=\"" + PromLabel(chain) + "\",status=\"";
    out += l + "free\"} " + std::to_string(n.free) + "\n";
    out += l + "used\"} " + std::to_string(n.used) + "\n";
    out += l + "reserved\"} " + std::to_string(n.reserved) + "\n";
    out += l + "bad\"} " + std::to_string(n.bad) + "\n";
    out += l + "total\"} " + std::to_string(n.total) + "\n";
  }
  Gauge(&out, "apiary_extender_vc_leaf_cells",
        "Virtual leaf cells per VC and preassigned cell type (quota), free, used, bad; opportunistic = "
        "leaves used by the VC's priority -1 pods.");
  for (const auto& vc : scheduler_->VirtualClusterNames()) {
    auto cells = scheduler_->VirtualCluster(vc);
    if (!cells.ok()) continue;
    std::map<std::pair<std::string, std::string>, LeafCounts> per;
    int64_t opportunistic = 0;
    std::string last_leaf_type;
    for (const auto& c : *cells) {
      if (c.cell_priority == cell::kOpportunisticPriority && c.leaf_cell_type.empty() &&
          c.cell_address.size() > 4 && c.cell_address.compare(c.cell_address.size() - 4, 4, "-opp") == 0) {
        ++opportunistic;
        continue;
      }
      CountLeaves(c, &per[{c.leaf_cell_type, c.cell_type}]);
    }
    for (const auto& [k, n] : per) {
      std::string l = "apiary_extender_vc_leaf_cells{vc=\"" + PromLabel(vc) + "\",leaf_cell_type=\"" +
                      PromLabel(k.first) + "\",cell_type=\"" + PromLabel(k.second) + "\",status=\"";
      out += l + "free\"} " + std::to_string(n.free) + "\n";
      out += l + "used\"} " + std::to_string(n.used + n.reserved) + "\n";
      out += l + "bad\"} " + std::to_string(n.bad) + "\n";
      out += l + "quota\"} " + std::to_string(n.total) + "\n";
    }
    out += "apiary_extender_vc_leaf_cells{vc=\"" + PromLabel(vc) + "\",status=\"opportunistic\"} " +
           std::to_string(opportunistic) + "\n";
  }
  out += RenderGuaranteeGauges(scheduler_->GuaranteeHeadroom());
  lock.unlock();
  resp.body = std::move(out);
  return resp;
}

}  // namespace apiary::extender
