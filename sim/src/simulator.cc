#include "apiary/sim/simulator.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <set>

#include "apiary/sim/event_queue.h"
#include "apiary/sim/progress.h"
#include "apiary/traces/gpu_sku.h"

namespace apiary::sim {

Result<QueuePolicy> ParseQueuePolicy(const std::string& name) {
  if (name == "fifo") return QueuePolicy::kFifo;
  if (name == "sjf" || name == "shortest-first") return QueuePolicy::kShortestFirst;
  return Status::Invalid("unknown queue policy \"" + name + "\" (expected fifo or sjf)");
}

const char* QueuePolicyName(QueuePolicy q) {
  return q == QueuePolicy::kFifo ? "fifo" : "sjf";
}

namespace {

constexpr int32_t kCompletion = 1;

enum class State : int8_t { kPending, kWaiting, kRunning, kDone, kRejected };

// A VC queue's order: higher priority first, then the policy's key, then the
// workload index (total, so the order never depends on insertion history).
struct QKey {
  int32_t neg_priority;
  int64_t key;
  int32_t job;
  bool operator<(const QKey& o) const {
    if (neg_priority != o.neg_priority) return neg_priority < o.neg_priority;
    if (key != o.key) return key < o.key;
    return job < o.job;
  }
};

struct ShapeKey {
  int32_t pods, gpus_per_pod, model, priority;
  bool operator==(const ShapeKey&) const = default;
};

// Adds `level` per second over [a, b) to the bins.
void AddRange(std::vector<int64_t>& bins, int64_t bin_s, int64_t level, int64_t a, int64_t b) {
  while (a < b) {
    const int64_t k = a / bin_s;
    const int64_t end = std::min(b, (k + 1) * bin_s);
    if (static_cast<int64_t>(bins.size()) <= k) bins.resize(k + 1, 0);
    bins[k] += level * (end - a);
    a = end;
  }
}

class Engine {
 public:
  Engine(const ClusterModel& cluster, const Workload& workload, const AllocatorContext& ctx,
         Allocator& alloc, const SimOptions& options, const BoundPlacement* placement,
         SimResult& result)
      : cluster_(cluster), w_(workload), ctx_(ctx), alloc_(alloc), opt_(options),
        placement_(placement), r_(result), progress_(options.progress_label) {
    const size_t n = w_.jobs.size(), nv = w_.vcs.size();
    state_.assign(n, State::kPending);
    epoch_.assign(n, 0);
    queued_since_.assign(n, 0);
    run_start_.assign(n, 0);
    run_end_.assign(n, 0);
    start_seq_.assign(n, 0);
    progress_ref_.assign(n, 0);
    qkey_.resize(n);
    queue_.resize(nv);
    sizes_.resize(nv);
    memo_.resize(nv);
    alloc_level_.assign(nv, 0);
    r_.jobs.resize(n);
    r_.vc_alloc.resize(nv);
    r_.bin_s = opt_.bin_s;
    r_.total_gpus = cluster_.TotalGpus();
    for (size_t i = 0; i < n; ++i) r_.jobs[i].submit_s = w_.jobs[i].submit_s;
    if (placement_) {
      run_speed_.assign(n, 1.0);
      for (size_t i = 0; i < n; ++i) r_.jobs[i].job_class = placement_->job_class[i];
    }
  }

  Status Run() {
    const int32_t n = static_cast<int32_t>(w_.jobs.size());
    EventQueue events(static_cast<uint64_t>(n));  // arrivals own seq 0..n-1
    events_ = &events;
    if (opt_.initial) {
      Status st = AdoptInitial();
      if (!st.ok()) return st;
    }
    size_t next = 0;
    // Jobs adopted as running never arrive.
    auto skip_adopted = [&] {
      while (next < w_.jobs.size() && state_[next] != State::kPending) ++next;
    };
    // Jobs submitted before the start arrive at it (sorted by submit, so the
    // arrival times stay in order).
    auto arrival = [&](size_t i) { return std::max(w_.jobs[i].submit_s, opt_.start_s); };
    char detail[96];
    skip_adopted();
    while (next < w_.jobs.size() || !events.empty()) {
      int64_t t = INT64_MAX;
      if (next < w_.jobs.size()) t = arrival(next);
      if (!events.empty()) t = std::min(t, events.Top().time);
      if (opt_.snapshot && !opt_.snapshot->taken && t > opt_.snapshot_at_s) TakeSnapshot();
      Advance(t);
      alloc_.SetTime(t);
      bool released = false;
      while (next < w_.jobs.size() && arrival(next) == t) {
        Arrive(static_cast<int32_t>(next++));
        skip_adopted();
      }
      while (!events.empty() && events.Top().time == t) {
        Event e = events.Pop();
        if (e.kind == kCompletion && e.epoch == epoch_[e.job] &&
            state_[e.job] == State::kRunning) {
          Complete(e.job);
          released = true;
        }
      }
      Pass(released);
      UpdateDerivedLevels();
      if (opt_.check_invariants) {
        std::string v = alloc_.CheckInvariants();
        if (!v.empty())
          return Status::Internal("invariant broken at t=" + std::to_string(now_) + ": " + v);
      }
      if (!opt_.progress_label.empty()) {
        std::snprintf(detail, sizeof detail, "day %.1f, %zu/%zu jobs submitted, %zu waiting",
                      static_cast<double>(now_) / 86400.0, next, w_.jobs.size(), waiting_);
        progress_.Tick(static_cast<double>(next) / std::max<size_t>(1, w_.jobs.size()), detail);
      }
    }
    progress_.Done();
    if (opt_.snapshot && !opt_.snapshot->taken) TakeSnapshot();
    Finish();
    return Status::Ok();
  }

 private:
  // ---- Time series ---------------------------------------------------------

  void Advance(int64_t t) {
    if (t <= now_) return;
    for (size_t v = 0; v < alloc_level_.size(); ++v)
      if (alloc_level_[v]) AddRange(r_.vc_alloc[v], opt_.bin_s, alloc_level_[v], now_, t);
    if (waiting_) AddRange(r_.waiting, opt_.bin_s, static_cast<int64_t>(waiting_), now_, t);
    if (idle_level_) AddRange(r_.idle_while_waiting, opt_.bin_s, idle_level_, now_, t);
    if (frag_level_) AddRange(r_.fragmented, opt_.bin_s, frag_level_, now_, t);
    now_ = t;
  }

  void UpdateDerivedLevels() {
    const int64_t free = alloc_.FreeGpus();
    idle_level_ = waiting_ > 0 ? free : 0;
    int64_t frag = 0;
    if (waiting_ > 0) {
      for (size_t v = 0; v < queue_.size(); ++v) {
        const auto& g = sizes_[v][0];
        if (g.empty()) continue;
        int64_t h = std::min(alloc_.Headroom(static_cast<int32_t>(v), TopPriority(v)), free);
        if (g.begin()->first <= h) frag += h;
      }
    }
    frag_level_ = std::min(frag, free);
  }

  // ---- Queues --------------------------------------------------------------

  int32_t TopPriority(size_t vc) const {
    return queue_[vc].empty() ? 0 : std::max(0, -queue_[vc].begin()->neg_priority);
  }

  void Enqueue(int32_t job) {
    const SimJob& j = w_.jobs[job];
    const int32_t prio = ctx_.EffectivePriority(j);
    const int64_t remaining = j.duration_s - progress_ref_[job];
    int64_t key = opt_.queue_key ? opt_.queue_key(j, remaining)
                  : opt_.queue == QueuePolicy::kFifo ? j.submit_s
                                                     : remaining;
    qkey_[job] = QKey{-prio, key, job};
    queue_[j.vc].insert(qkey_[job]);
    ++sizes_[j.vc][prio < 0 ? 1 : 0][j.gpus()];
    state_[job] = State::kWaiting;
    queued_since_[job] = now_;
    ++waiting_;
  }

  void Dequeue(int32_t job) {
    const SimJob& j = w_.jobs[job];
    queue_[j.vc].erase(qkey_[job]);
    auto& m = sizes_[j.vc][ctx_.EffectivePriority(j) < 0 ? 1 : 0];
    auto it = m.find(j.gpus());
    if (--it->second == 0) m.erase(it);
    r_.jobs[job].wait_s += now_ - queued_since_[job];
    --waiting_;
  }

  // Could any waiting job of the VC fit the policy's headroom?
  bool AnyFits(size_t vc) const {
    const auto& g = sizes_[vc][0];
    const auto& o = sizes_[vc][1];
    const int32_t v = static_cast<int32_t>(vc);
    if (!g.empty() && g.begin()->first <= alloc_.Headroom(v, TopPriority(vc))) return true;
    if (!o.empty() && o.begin()->first <= alloc_.Headroom(v, -1)) return true;
    if (borrow_ && !g.empty() && g.begin()->first <= alloc_.Headroom(v, -1)) return true;
    return false;
  }

  // ---- Live state: adoption and snapshots ---------------------------------

  // The jobs of SimOptions::initial run from start_s; their completion
  // events are scheduled in the list's order (ties at equal end times).
  Status AdoptInitial() {
    Advance(opt_.start_s);
    alloc_.SetTime(opt_.start_s);
    for (const InitialRun& run : *opt_.initial) {
      if (run.job < 0 || static_cast<size_t>(run.job) >= w_.jobs.size())
        return Status::Invalid("initial run of job index " + std::to_string(run.job) +
                               ": not in the workload");
      const SimJob& j = w_.jobs[run.job];
      if (state_[run.job] != State::kPending)
        return Status::Invalid("job " + j.id + ": adopted twice");
      if (run.end_s <= opt_.start_s)
        return Status::Invalid("job " + j.id + ": ends at " + std::to_string(run.end_s) +
                               ", not after the start " + std::to_string(opt_.start_s));
      auto pr = alloc_.Adopt(run.job, run.pods);
      if (!pr.ok()) return pr.status();
      JobRecord& rec = r_.jobs[run.job];
      rec.nodes_offset = static_cast<int32_t>(r_.node_pool.size());
      rec.nodes_count = static_cast<int32_t>(pr->nodes.size());
      r_.node_pool.insert(r_.node_pool.end(), pr->nodes.begin(), pr->nodes.end());
      rec.first_start_s = opt_.start_s;
      rec.sku = pr->sku;
      state_[run.job] = State::kRunning;
      run_start_[run.job] = opt_.start_s;
      run_end_[run.job] = run.end_s;
      start_seq_[run.job] = next_start_seq_++;
      if (placement_) run_speed_[run.job] = cluster_.skus[pr->sku].speed;
      events_->Push(run.end_s, kCompletion, run.job, epoch_[run.job]);
      alloc_level_[j.vc] += j.gpus();
    }
    alloc_.FinishAdoption();
    return Status::Ok();
  }

  void TakeSnapshot() {
    SimSnapshot& s = *opt_.snapshot;
    s.taken = true;
    s.time_s = opt_.snapshot_at_s;
    s.running.clear();
    s.waiting.clear();
    std::vector<int32_t> running;
    for (size_t i = 0; i < w_.jobs.size(); ++i) {
      const int32_t job = static_cast<int32_t>(i);
      const SimJob& j = w_.jobs[i];
      if (state_[i] == State::kRunning) running.push_back(job);
      if (state_[i] == State::kWaiting)
        s.waiting.push_back({job, j.duration_s - progress_ref_[i], ctx_.EffectivePriority(j)});
    }
    std::sort(running.begin(), running.end(),
              [&](int32_t a, int32_t b) { return start_seq_[a] < start_seq_[b]; });
    for (int32_t job : running)
      s.running.push_back({job, run_start_[job], run_end_[job],
                           w_.jobs[job].duration_s - progress_ref_[job], alloc_.PodsOf(job)});
  }

  // ---- Job lifecycle -------------------------------------------------------

  void Arrive(int32_t job) {
    ++r_.events;
    std::string why;
    if (!alloc_.CanEverFit(job, &why)) {
      state_[job] = State::kRejected;
      r_.jobs[job].outcome = JobOutcome::kRejected;
      r_.rejected_jobs.emplace_back(job, why);
      ++rejects_[why];
      return;
    }
    Enqueue(job);
    arrivals_.push_back(job);
  }

  void Start(int32_t job, const PlaceResult& pr) {
    const SimJob& j = w_.jobs[job];
    const int32_t sku = pr.sku;
    Dequeue(job);
    JobRecord& rec = r_.jobs[job];
    if (rec.first_start_s < 0) rec.first_start_s = now_;
    rec.sku = sku;
    state_[job] = State::kRunning;
    run_start_[job] = now_;
    const int64_t remaining = j.duration_s - progress_ref_[job];
    const int64_t len = traces::ScaleDuration(remaining, RunSpeed(job, pr));
    events_->Push(now_ + len, kCompletion, job, epoch_[job]);
    run_end_[job] = now_ + len;
    start_seq_[job] = next_start_seq_++;
    alloc_level_[j.vc] += j.gpus();
  }

  // The speed of the run starting now: the SKU's, or the placement model's
  // (recorded with the spread).
  double RunSpeed(int32_t job, const PlaceResult& pr) {
    if (!placement_) return cluster_.skus[pr.sku].speed;
    APIARY_CHECK(!pr.nodes.empty());
    const SimJob& j = w_.jobs[job];
    const Spread spread = placement_->SpreadOf(cluster_, pr.nodes, pr.leaves, j.gpus());
    const int32_t group = cluster_.nodes[pr.nodes[0]].group;
    JobRecord& rec = r_.jobs[job];
    const double speed =
        placement_->Speed(cluster_, j, job, pr.sku, group, spread, &rec.placement_factor);
    rec.spread = static_cast<int8_t>(spread);
    rec.speed = speed;
    run_speed_[job] = speed;
    return speed;
  }

  void Complete(int32_t job) {
    ++r_.events;
    const SimJob& j = w_.jobs[job];
    alloc_.Release(job);
    JobRecord& rec = r_.jobs[job];
    const int64_t ran = now_ - run_start_[job];
    rec.gpu_seconds += j.gpus() * ran;
    rec.last_run_s = ran;
    rec.finish_s = now_;
    rec.outcome = JobOutcome::kDone;
    state_[job] = State::kDone;
    alloc_level_[j.vc] -= j.gpus();
    r_.makespan_s = std::max(r_.makespan_s, now_);
  }

  void Kill(int32_t job) {
    APIARY_CHECK(state_[job] == State::kRunning);
    ++r_.events;
    ++r_.preemptions;
    const SimJob& j = w_.jobs[job];
    alloc_.Release(job);
    JobRecord& rec = r_.jobs[job];
    const int64_t ran = now_ - run_start_[job];
    const double speed = placement_ ? run_speed_[job] : cluster_.skus[rec.sku].speed;
    int64_t saved = 0;  // reference seconds kept by checkpoints
    if (opt_.checkpoint_interval_s > 0) {
      const int64_t done = static_cast<int64_t>(std::floor(static_cast<double>(ran) * speed));
      saved = done / opt_.checkpoint_interval_s * opt_.checkpoint_interval_s;
      saved = std::min(saved, j.duration_s - progress_ref_[job]);
      progress_ref_[job] += saved;
    }
    const int64_t kept = std::min(ran, traces::ScaleDuration(saved, speed));
    rec.gpu_seconds += j.gpus() * ran;
    rec.lost_gpu_seconds += j.gpus() * (ran - kept);
    ++rec.preemptions;
    ++epoch_[job];  // its completion event is now stale
    alloc_level_[j.vc] -= j.gpus();
    Enqueue(job);
    memo_valid_ = false;
    preempted_ = true;
  }

  void Reject(int32_t job, const std::string& why) {
    Dequeue(job);
    state_[job] = State::kRejected;
    r_.jobs[job].outcome = JobOutcome::kRejected;
    r_.rejected_jobs.emplace_back(job, why.empty() ? "rejected by the policy" : why);
    ++rejects_[why.empty() ? "rejected by the policy" : why];
  }

  // Tries one waiting job (and, when borrowing, the same job as an
  // opportunistic one); returns true when it started.
  bool TryJob(int32_t job) {
    const int32_t prio = ctx_.EffectivePriority(w_.jobs[job]);
    if (TryAs(job, prio, false)) return true;
    if (borrow_ && prio >= 0 && state_[job] == State::kWaiting && !preempted_)
      return TryAs(job, -1, true);
    return false;
  }

  bool TryAs(int32_t job, int32_t prio, bool opportunistic) {
    const SimJob& j = w_.jobs[job];
    if (j.gpus() > alloc_.Headroom(j.vc, prio)) return false;
    const ShapeKey shape{j.num_pods, j.gpus_per_pod, j.model, prio};
    auto& memo = memo_[j.vc];
    if (std::find(memo.begin(), memo.end(), shape) != memo.end()) return false;
    for (int attempt = 0;; ++attempt) {
      ++r_.place_calls;
      PlaceResult pr = alloc_.TryPlace(job, opportunistic);
      switch (pr.kind) {
        case PlaceResult::Kind::kPlaced:
          r_.jobs[job].nodes_offset = static_cast<int32_t>(r_.node_pool.size());
          r_.jobs[job].nodes_count = static_cast<int32_t>(pr.nodes.size());
          r_.node_pool.insert(r_.node_pool.end(), pr.nodes.begin(), pr.nodes.end());
          Start(job, pr);
          if (opportunistic) ++r_.borrowed_starts;
          return true;
        case PlaceResult::Kind::kWait:
          memo.push_back(shape);
          return false;
        case PlaceResult::Kind::kReject:
          Reject(job, pr.message);
          return false;
        case PlaceResult::Kind::kPreempt:
          // Victims die now; the preemptor then takes their cells.
          APIARY_CHECK(attempt < 4 && !pr.victims.empty());
          for (int32_t v : pr.victims) {
            r_.preemption_log.push_back({now_, job, v});
            Kill(v);
          }
          break;
      }
    }
  }

  void ClearMemo() {
    for (auto& m : memo_) m.clear();
    memo_valid_ = true;
  }

  void Pass(bool released) {
    bool full = released;
    while (true) {
      preempted_ = false;
      if (full) {
        ClearMemo();
        for (size_t v = 0; v < queue_.size() && !preempted_; ++v) {
          auto& q = queue_[v];
          for (auto it = q.begin(); it != q.end() && !preempted_;) {
            if (!AnyFits(v)) break;
            const int32_t job = it->job;
            ++it;  // TryJob may erase `job` from the queue
            TryJob(job);
          }
        }
      } else {
        if (!memo_valid_) ClearMemo();
        std::sort(arrivals_.begin(), arrivals_.end(), [&](int32_t a, int32_t b) {
          const SimJob& ja = w_.jobs[a];
          const SimJob& jb = w_.jobs[b];
          if (ja.vc != jb.vc) return ja.vc < jb.vc;
          return qkey_[a] < qkey_[b];
        });
        for (int32_t job : arrivals_) {
          if (state_[job] != State::kWaiting) continue;
          TryJob(job);
          if (preempted_) break;
        }
      }
      arrivals_.clear();
      if (!preempted_) return;
      full = true;  // cells were released: everyone waiting may fit now
    }
  }

  void Finish() {
    for (size_t i = 0; i < w_.jobs.size(); ++i) {
      if (state_[i] == State::kWaiting) {
        r_.jobs[i].wait_s += now_ - queued_since_[i];
        r_.jobs[i].outcome = JobOutcome::kUnfinished;
      }
    }
    for (auto& [why, count] : rejects_) r_.reject_reasons.emplace_back(why, count);
    r_.wait_reasons = alloc_.WaitReasons();
    r_.explained_jobs = alloc_.ExplainedJobs();
    // Every series covers the same bins.
    size_t bins = static_cast<size_t>((now_ + opt_.bin_s - 1) / opt_.bin_s);
    for (auto& s : r_.vc_alloc) bins = std::max(bins, s.size());
    bins = std::max({bins, r_.waiting.size(), r_.idle_while_waiting.size(), r_.fragmented.size()});
    for (auto& s : r_.vc_alloc) s.resize(bins, 0);
    r_.waiting.resize(bins, 0);
    r_.idle_while_waiting.resize(bins, 0);
    r_.fragmented.resize(bins, 0);
  }

  const ClusterModel& cluster_;
  const Workload& w_;
  const AllocatorContext& ctx_;
  Allocator& alloc_;
  const SimOptions& opt_;
  const BoundPlacement* placement_;  // null: the SKU-only model
  SimResult& r_;
  const bool borrow_ = opt_.borrow && alloc_.SupportsBorrowing();
  Progress progress_;
  EventQueue* events_ = nullptr;

  int64_t now_ = 0;
  std::vector<State> state_;
  std::vector<int32_t> epoch_;
  std::vector<int64_t> queued_since_, run_start_, progress_ref_;
  std::vector<int64_t> run_end_, start_seq_;  // [job] of its current run
  int64_t next_start_seq_ = 0;
  std::vector<double> run_speed_;  // [job] speed of its current run (placement model)
  std::vector<QKey> qkey_;
  std::vector<std::set<QKey>> queue_;  // [vc]
  // [vc][0 guaranteed, 1 opportunistic]: waiting jobs by GPU count.
  std::vector<std::array<std::map<int64_t, int32_t>, 2>> sizes_;
  std::vector<std::vector<ShapeKey>> memo_;  // [vc] shapes that failed
  bool memo_valid_ = true;
  bool preempted_ = false;
  std::vector<int32_t> arrivals_;  // arrived this instant
  size_t waiting_ = 0;
  std::vector<int64_t> alloc_level_;
  int64_t idle_level_ = 0, frag_level_ = 0;
  std::map<std::string, int64_t> rejects_;
};

}  // namespace

Result<SimResult> Simulate(const ClusterModel& cluster, const Workload& workload,
                           PolicyKind policy, const SimOptions& options) {
  if (options.bin_s <= 0) return Status::Invalid("the time-series bin must be positive");
  if (options.checkpoint_interval_s < 0)
    return Status::Invalid("the checkpoint interval must not be negative");
  for (const SimJob& j : workload.jobs)
    if (j.submit_s < 0 || j.duration_s < 0 || j.num_pods <= 0 || j.gpus_per_pod <= 0)
      return Status::Invalid("job " + j.id +
                             ": negative time or no GPUs (the simulator needs submit >= 0, "
                             "duration >= 0, pods and GPUs > 0)");
  AllocatorContext ctx = MakeAllocatorContext(cluster, workload, options.unknown_vc);
  if (policy == PolicyKind::kHived) ctx.replay_log = options.replay_log;
  ctx.keep_bind_info = options.snapshot != nullptr;
  ctx.explain = options.explain && policy == PolicyKind::kHived;
  std::optional<BoundPlacement> bound;
  if (options.placement) {
    auto b = BindPlacementModel(*options.placement, cluster, workload, options.class_seed);
    if (!b.ok()) return b.status();
    bound = std::move(b).value();
    ctx.topology_blind = ctx.record_placement = true;
  }
  auto alloc = MakeAllocator(policy, ctx);
  if (!alloc.ok()) return alloc.status();
  SimResult result;
  result.policy = policy;
  result.placement_model = bound.has_value();
  auto t0 = std::chrono::steady_clock::now();
  Engine engine(cluster, workload, ctx, **alloc, options, bound ? &*bound : nullptr, result);
  Status st = engine.Run();
  if (!st.ok()) return st;
  result.wall_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return result;
}

}  // namespace apiary::sim
