// The HiveD policy: the production engine (apiary::cell::Scheduler), driven
// with the extender's calls. Nothing here decides placement; it only turns
// jobs into affinity groups and results back into job indices.
#include <algorithm>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "allocator_impls.h"
#include "apiary/cell/scheduler.h"
#include "apiary/sim/replay_export.h"

namespace apiary::sim::internal {
namespace {

using cell::ScheduleResult;

// Pods per job that fit in `gpus` GPUs of nodes of `gpn` GPUs, when the GPUs
// are whole nodes first and a partial node last (a quota in cells).
int64_t PodsThatFit(int64_t gpus, int32_t gpn, int32_t gpp) {
  if (gpp > gpn || gpp <= 0) return 0;
  return (gpus / gpn) * (gpn / gpp) + (gpus % gpn) / gpp;
}

class HivedAllocator : public Allocator {
 public:
  explicit HivedAllocator(const AllocatorContext& ctx)
      : ctx_(ctx), groups_per_model_(GroupsPerModel(ctx)) {}

  Status Init() {
    const ClusterModel& c = *ctx_.cluster;
    auto s = cell::Scheduler::Create(c.hived, &clock_, /*start_healthy=*/true);
    if (!s.ok()) return Status::Invalid("HiveD configuration: " + s.status().message());
    sched_ = std::move(s).value();
    for (const NodeGroup& g : c.groups) chain_sku_.emplace_back(g.chain, g.sku);
    for (size_t v = 0; v < c.vcs.size(); ++v) vc_quota_.push_back(c.VcGpus(static_cast<int32_t>(v)));
    vc_used_.assign(c.vcs.size(), 0);
    vc_priorities_.resize(c.vcs.size());
    free_ = c.TotalGpus();
    node_index_.reserve(c.nodes.size());
    for (size_t n = 0; n < c.nodes.size(); ++n)
      node_index_.emplace(c.nodes[n].name, static_cast<int32_t>(n));
    // Opportunistic jobs of VCs without a quota ride on the first VC's name:
    // HiveD needs a known VC, and priority -1 ignores its quota anyway.
    if (!c.vcs.empty()) host_vc_ = c.vcs.front();
    const size_t n = ctx_.workload->jobs.size();
    running_.resize(n);
    model_leaf_types_.push_back({""});
    for (const auto& skus : ctx_.model_skus) {
      std::vector<std::string> lts;
      for (int32_t s2 : skus) {
        const std::string& lt = c.skus[s2].leaf_type;
        if (std::find(lts.begin(), lts.end(), lt) == lts.end()) lts.push_back(lt);
      }
      model_leaf_types_.push_back(std::move(lts));
    }
    return Status::Ok();
  }

  PolicyKind kind() const override { return PolicyKind::kHived; }
  void SetTime(int64_t now) override { clock_.Set(now); }

  bool CanEverFit(int32_t job, std::string* why) const override {
    const SimJob& j = ctx_.workload->jobs[job];
    const ClusterModel& c = *ctx_.cluster;
    const auto* groups = FitGroups(ctx_, groups_per_model_, j,
                                   ctx_.unknown_vc == UnknownVc::kReject, "VC without a quota", why);
    if (!groups) return false;
    const int32_t cvc = ctx_.vc_map[j.vc];
    const bool guaranteed = cvc >= 0 && j.priority >= 0;
    bool pod_too_big = guaranteed;
    for (int32_t g : *groups) {
      const NodeGroup& grp = c.groups[g];
      if (!guaranteed) {
        if (PodsThatFit(grp.gpus(), grp.gpus_per_node, j.gpus_per_pod) >= j.num_pods) return true;
        continue;
      }
      // HiveD places each pod of a guaranteed group inside one of its VC's
      // cells: cells smaller than a node (--quota-level gpu) hold only pods
      // that fit in them, whatever the VC's quota adds up to.
      const int64_t gpus = c.vc_group_gpus[cvc][g];
      const int64_t cell = c.vc_group_cell_gpus[cvc][g];
      if (cell <= 0 || j.gpus_per_pod > cell) continue;
      pod_too_big = false;
      const int64_t pods = cell >= grp.gpus_per_node
                               ? PodsThatFit(gpus, grp.gpus_per_node, j.gpus_per_pod)
                               : (gpus / cell) * (cell / j.gpus_per_pod);
      if (pods >= j.num_pods) return true;
    }
    *why = !guaranteed ? "larger than the cluster"
           : pod_too_big
               ? "a pod larger than every virtual cell of its VC (HiveD places a pod inside "
                 "one cell of the VC's quota; see --quota-level)"
               : "larger than the VC's quota";
    return false;
  }

  int64_t Headroom(int32_t vc, int32_t priority) const override {
    const int32_t cvc = ctx_.vc_map[vc];
    if (cvc >= 0 && priority >= 0) {
      // A guaranteed job may preempt lower-priority guaranteed jobs of its
      // own VC: then the whole quota is within reach.
      const auto& running = vc_priorities_[cvc];
      if (!running.empty() && running.begin()->first < priority) return vc_quota_[cvc];
      return vc_quota_[cvc] - vc_used_[cvc];
    }
    return free_;
  }

  bool SupportsBorrowing() const override { return true; }

  PlaceResult TryPlace(int32_t job, bool opportunistic) override {
    const SimJob& j = ctx_.workload->jobs[job];
    const int32_t cvc = ctx_.vc_map[j.vc];
    Running& run = running_[job];
    if (run.pods.empty()) {
      run.pods.resize(j.num_pods);
      for (int32_t i = 0; i < j.num_pods; ++i) {
        cell::PodRef& p = run.pods[i];
        p.uid = std::to_string(job) + "-" + std::to_string(i);
        p.ns = "sim";
        p.name = p.uid;
      }
    }
    cell::PodSchedulingSpec& spec = run.spec;
    spec.virtual_cluster = cvc >= 0 ? ctx_.cluster->vcs[cvc] : host_vc_;
    spec.priority = opportunistic ? cell::kOpportunisticPriority : ctx_.EffectivePriority(j);
    spec.leaf_cell_number = j.gpus_per_pod;
    spec.affinity_group_name = "sim/" + std::to_string(job);
    spec.affinity_group_members = {{j.num_pods, j.gpus_per_pod}};
    spec.lazy_preemption_enable = false;
    spec.ignore_k8s_suggested_nodes = true;

    PlaceResult out;
    bool waited = false;  // some alternative GPU model could fit later
    std::string error;
    for (const std::string& lt : model_leaf_types_[j.model + 1]) {
      spec.leaf_cell_type = lt;
      if (ctx_.replay_log) {
        spec_json_ = PodSpecJson(spec);
        ctx_.replay_log->Schedule(run.pods[0], spec_json_);
      }
      ScheduleResult r = sched_->Schedule(run.pods[0], spec, nullptr,
                                          cell::SchedulingPhase::kPreempting, ctx_.explain);
      switch (r.kind) {
        case ScheduleResult::Kind::kBind:
          return Commit(job, r);
        case ScheduleResult::Kind::kPreempt: {
          out.kind = PlaceResult::Kind::kPreempt;
          for (const cell::Victim& v : r.victims) {
            int32_t victim = static_cast<int32_t>(std::strtol(v.pod.uid.c_str(), nullptr, 10));
            if (std::find(out.victims.begin(), out.victims.end(), victim) == out.victims.end())
              out.victims.push_back(victim);
          }
          std::sort(out.victims.begin(), out.victims.end());
          return out;
        }
        case ScheduleResult::Kind::kError:
          // E.g. the VC has no cells of this GPU model; another may do.
          // Drop the "[uid(pod)]: " prefix: the reason is counted per kind.
          error = r.message.substr(r.message.find("]: ") == std::string::npos
                                       ? 0
                                       : r.message.find("]: ") + 3);
          break;
        case ScheduleResult::Kind::kWait:
          out.message = r.message;
          waited = true;
          if (r.explanation) NoteWait(job, *r.explanation);
          break;
      }
    }
    if (!waited) {
      out.kind = PlaceResult::Kind::kReject;
      out.message = error;
      return out;
    }
    out.kind = PlaceResult::Kind::kWait;
    return out;
  }

  void Release(int32_t job) override {
    Running& run = running_[job];
    for (const cell::PodRef& p : run.pods) {
      if (ctx_.replay_log) ctx_.replay_log->Delete(p);
      cell::Status st = sched_->DeleteAllocatedPod(p.uid);
      APIARY_CHECK(st.ok());
    }
    const SimJob& j = ctx_.workload->jobs[job];
    if (run.guaranteed) {
      const int32_t cvc = ctx_.vc_map[j.vc];
      vc_used_[cvc] -= j.gpus();
      auto it = vc_priorities_[cvc].find(run.spec.priority);
      if (--it->second == 0) vc_priorities_[cvc].erase(it);
    }
    free_ += j.gpus();
    run = Running();
  }

  int64_t FreeGpus() const override { return free_; }

  Result<PlaceResult> Adopt(int32_t job, const std::vector<AdoptedPod>& pods) override {
    const SimJob& j = ctx_.workload->jobs[job];
    Running& run = running_[job];
    APIARY_CHECK(run.pods.empty() && !pods.empty());
    PlaceResult out;
    // The pods take the names TryPlace gives (victims map back to jobs by
    // uid) and the job's group name, as if the simulation had placed them.
    for (size_t i = 0; i < pods.size(); ++i) {
      cell::PodRef ref;
      ref.uid = std::to_string(job) + "-" + std::to_string(i);
      ref.ns = "sim";
      ref.name = ref.uid;
      cell::PodSchedulingSpec spec = pods[i].spec;
      spec.affinity_group_name = "sim/" + std::to_string(job);
      cell::Status st = sched_->AddAllocatedPod(ref, spec, pods[i].bind_info);
      if (!st.ok()) {
        for (const cell::PodRef& done : run.pods) (void)sched_->DeleteAllocatedPod(done.uid);
        run = Running();
        return Status::Invalid("pod " + pods[i].ref.FullName() + " (job " + j.id +
                               "): the scheduler refuses its bind info: " + st.message());
      }
      run.pods.push_back(ref);
      run.spec = spec;
      if (ctx_.keep_bind_info) run.binds.push_back(pods[i].bind_info);
      auto it = node_index_.find(pods[i].bind_info.node);
      APIARY_CHECK(it != node_index_.end());  // AddAllocatedPod knew the node
      if (std::find(out.nodes.begin(), out.nodes.end(), it->second) == out.nodes.end())
        out.nodes.push_back(it->second);
      out.leaves.insert(out.leaves.end(), pods[i].bind_info.leaf_cell_isolation.begin(),
                        pods[i].bind_info.leaf_cell_isolation.end());
    }
    for (const auto& [chain, sku] : chain_sku_)
      if (chain == pods[0].bind_info.cell_chain) out.sku = sku;
    APIARY_CHECK(out.sku >= 0);
    out.kind = PlaceResult::Kind::kPlaced;
    Account(job);
    return out;
  }

  void FinishAdoption() override { sched_->FinishRecovery(); }

  std::vector<AdoptedPod> PodsOf(int32_t job) const override {
    const Running& run = running_[job];
    std::vector<AdoptedPod> out;
    for (size_t i = 0; i < run.pods.size() && i < run.binds.size(); ++i) {
      AdoptedPod p{run.pods[i], run.spec, run.binds[i]};
      p.bind_info.virtual_leaf_cells = sched_->VirtualLeafCellsOfPod(run.pods[i].uid);
      out.push_back(std::move(p));
    }
    return out;
  }

  std::string CheckInvariants() const override {
    std::string s = sched_->CheckInvariants();
    if (!s.empty()) return s;
    auto u = sched_->GetUsage();
    if (u.total_leaves - u.used_leaves != free_)
      return "free GPUs " + std::to_string(free_) + " but the scheduler has " +
             std::to_string(u.total_leaves - u.used_leaves);
    return "";
  }

 public:
  std::vector<std::pair<std::string, int64_t>> WaitReasons() const override {
    return {wait_reasons_.begin(), wait_reasons_.end()};
  }
  int64_t ExplainedJobs() const override { return static_cast<int64_t>(explained_.size()); }

 private:
  // SimOptions::explain: a job counts once per rule, at its first wait (a
  // job tried on several GPU models counts the rules of the first one).
  void NoteWait(int32_t job, const cell::Explanation& e) {
    if (!explained_.insert(job).second) return;
    std::set<std::string> rules;
    for (const cell::ExplainChain& c : e.chains) rules.insert(c.rule);
    if (!e.never_fits.empty()) rules.insert("never-fits");
    for (const std::string& r : rules) ++wait_reasons_[r];
  }
  std::unordered_set<int32_t> explained_;
  std::map<std::string, int64_t> wait_reasons_;

  struct Running {
    std::vector<cell::PodRef> pods;
    cell::PodSchedulingSpec spec;
    bool guaranteed = false;
    // Each pod's bind info (AllocatorContext::record_placement only: what a
    // snapshot of the simulation writes).
    std::vector<cell::PodBindInfo> binds;
  };

  // Counts a job that just started running in its VC's quota.
  void Account(int32_t job) {
    const SimJob& j = ctx_.workload->jobs[job];
    Running& run = running_[job];
    run.guaranteed = run.spec.priority >= 0;
    if (run.guaranteed) {
      const int32_t cvc = ctx_.vc_map[j.vc];
      vc_used_[cvc] += j.gpus();
      ++vc_priorities_[cvc][run.spec.priority];
    }
    free_ -= j.gpus();
  }

  PlaceResult Commit(int32_t job, const ScheduleResult& first) {
    const SimJob& j = ctx_.workload->jobs[job];
    Running& run = running_[job];
    PlaceResult out;
    cell::Status st = sched_->AddAllocatedPod(run.pods[0], run.spec, first.bind_info);
    APIARY_CHECK(st.ok());
    Placed(job, run.pods[0], first, out);
    for (int32_t i = 1; i < j.num_pods; ++i) {
      if (ctx_.replay_log) ctx_.replay_log->Schedule(run.pods[i], spec_json_);
      ScheduleResult r = sched_->Schedule(run.pods[i], run.spec, nullptr,
                                          cell::SchedulingPhase::kPreempting);
      // The group is allocated: every later pod reads its slot.
      APIARY_CHECK(r.kind == ScheduleResult::Kind::kBind);
      st = sched_->AddAllocatedPod(run.pods[i], run.spec, r.bind_info);
      APIARY_CHECK(st.ok());
      Placed(job, run.pods[i], r, out);
    }
    out.kind = PlaceResult::Kind::kPlaced;
    for (const auto& [chain, sku] : chain_sku_)
      if (chain == first.cell_chain) out.sku = sku;
    APIARY_CHECK(out.sku >= 0);
    Account(job);
    return out;
  }

  // Records a bound pod: its node among the job's nodes, its GPUs for the
  // placement model (record_placement), and the bind in the replay log.
  void Placed(int32_t job, const cell::PodRef& pod, const ScheduleResult& r, PlaceResult& out) {
    auto it = node_index_.find(r.node);
    APIARY_CHECK(it != node_index_.end());
    if (std::find(out.nodes.begin(), out.nodes.end(), it->second) == out.nodes.end())
      out.nodes.push_back(it->second);
    if (ctx_.record_placement)
      out.leaves.insert(out.leaves.end(), r.leaf_cells.begin(), r.leaf_cells.end());
    if (ctx_.keep_bind_info) running_[job].binds.push_back(r.bind_info);
    if (ctx_.replay_log) ctx_.replay_log->Bound(pod, r.node, r.leaf_cells);
  }

  const AllocatorContext& ctx_;
  std::vector<std::vector<int32_t>> groups_per_model_;
  std::unordered_map<std::string, int32_t> node_index_;  // node name -> ClusterModel::nodes
  std::string spec_json_;  // the spec of the job being placed (replay log)
  std::vector<std::vector<std::string>> model_leaf_types_;
  cell::ManualClock clock_{0};
  std::unique_ptr<cell::Scheduler> sched_;
  std::vector<std::pair<std::string, int32_t>> chain_sku_;
  std::vector<int64_t> vc_quota_, vc_used_;
  // [vc] priority -> running guaranteed jobs of the VC at that priority.
  std::vector<std::map<int32_t, int32_t>> vc_priorities_;
  int64_t free_ = 0;
  std::string host_vc_;
  std::vector<Running> running_;
};

}  // namespace

Result<std::unique_ptr<Allocator>> MakeHivedAllocator(const AllocatorContext& ctx) {
  auto a = std::make_unique<HivedAllocator>(ctx);
  Status st = a->Init();
  if (!st.ok()) return st;
  return std::unique_ptr<Allocator>(std::move(a));
}

}  // namespace apiary::sim::internal
