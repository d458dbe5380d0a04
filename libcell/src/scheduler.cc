// The public facade: Scheduler forwards to the engine (engine/), which
// holds all state; see docs/ARCHITECTURE.md for the engine modules.
#include "engine/headroom.h"
#include "engine/scheduler_impl.h"

#include "apiary/cell/config_derived.h"
#include "apiary/cell/feasibility.h"

namespace apiary::cell {

Result<std::unique_ptr<Scheduler>> Scheduler::Create(const Config& config,
                                                     const Clock* clock,
                                                     bool start_healthy) {
  // DeriveConfig validates first and fails with the formatted errors.
  auto derived = DeriveConfig(config);
  if (!derived.ok()) return derived.status();
  auto impl = std::make_unique<SchedulerImpl>(clock);
  Status st = impl->Build(config, *derived);
  if (!st.ok()) return st;
  if (start_healthy) impl->SetAllNodesHealthy();
  std::unique_ptr<Scheduler> s(new Scheduler(std::move(impl)));
  s->feasibility_ =
      std::make_unique<const FeasibilityIndex>(FeasibilityIndex::Build(config, *derived));
  return s;
}

Scheduler::Scheduler(std::unique_ptr<SchedulerImpl> impl) : impl_(std::move(impl)) {}
Scheduler::~Scheduler() = default;

ScheduleResult Scheduler::Schedule(const PodRef& pod, const PodSchedulingSpec& spec,
                                   const std::vector<std::string>* suggested_nodes,
                                   SchedulingPhase phase, bool explain) {
  if (explain) return ScheduleExplained(*impl_, *feasibility_, pod, spec, suggested_nodes, phase);
  ScheduleResult r = impl_->Schedule(pod, spec, suggested_nodes, phase);
  if (r.kind == ScheduleResult::Kind::kWait) {
    if (std::string why = feasibility_->NeverFits(spec); !why.empty()) r.message += "; " + why;
  }
  return r;
}

// The explained decision (explain.h): the chains are analysed before the
// decision (a preemption reserves the cells it takes), the victims after.
ScheduleResult Scheduler::ScheduleExplained(SchedulerImpl& impl,
                                            const FeasibilityIndex& feasibility,
                                            const PodRef& pod, const PodSchedulingSpec& spec,
                                            const std::vector<std::string>* suggested_nodes,
                                            SchedulingPhase phase) {
  const bool existed = impl.HasGroup(spec.affinity_group_name);
  Explanation e = impl.ExplainRequest(spec, suggested_nodes);
  ScheduleResult r = impl.Schedule(pod, spec, suggested_nodes, phase);
  if (r.kind != ScheduleResult::Kind::kWait && r.kind != ScheduleResult::Kind::kPreempt)
    return r;
  // A preempting group whose placement went bad is cancelled and scheduled
  // anew (6.1 step 2); a wait changes nothing more, so the state now is the
  // one that new decision saw.
  if (existed && r.kind == ScheduleResult::Kind::kWait &&
      !impl.HasGroup(spec.affinity_group_name))
    e = impl.ExplainRequest(spec, suggested_nodes);
  if (r.kind == ScheduleResult::Kind::kWait) {
    if (std::string why = feasibility.NeverFits(spec); !why.empty()) {
      r.message += "; " + why;
      e.never_fits = why;
    }
  }
  impl.ExplainResult(spec, r, e);
  if (!e.never_fits.empty()) e.summary = e.never_fits;
  r.explanation = std::make_shared<const Explanation>(std::move(e));
  return r;
}

ScheduleResult Scheduler::Explain(const PodRef& pod, const PodSchedulingSpec& spec,
                                  const std::vector<std::string>* suggested_nodes,
                                  SchedulingPhase phase) const {
  SchedulerImpl copy(*impl_);
  return ScheduleExplained(copy, *feasibility_, pod, spec, suggested_nodes, phase);
}

Status Scheduler::AddAllocatedPod(const PodRef& pod, const PodSchedulingSpec& spec,
                                  const PodBindInfo& bind_info,
                                  const std::optional<LazyPreemptionMark>& mark) {
  return impl_->AddAllocatedPod(pod, spec, bind_info, mark);
}

void Scheduler::FinishRecovery() { impl_->FinishRecovery(); }

Status Scheduler::DeleteAllocatedPod(std::string_view uid) {
  return impl_->DeleteAllocatedPod(uid);
}

bool Scheduler::DeleteUnallocatedPod(std::string_view uid) {
  return impl_->DeleteUnallocatedPod(uid);
}

bool Scheduler::IsAllocatedPod(std::string_view uid) const { return impl_->IsAllocatedPod(uid); }

Status Scheduler::SetNodeHealth(std::string_view node, bool healthy) {
  return impl_->SetNodeHealth(node, healthy);
}

bool Scheduler::HasNode(std::string_view node) const { return impl_->HasNode(node); }

std::vector<std::string> Scheduler::Nodes() const { return impl_->NodeNames(); }

std::optional<LazyPreemptionMark> Scheduler::LazyMarkOfPod(std::string_view uid) const {
  return impl_->LazyMarkOfPod(uid);
}

std::vector<std::string> Scheduler::VirtualLeafCellsOfPod(std::string_view uid) const {
  return impl_->VirtualLeafCellsOfPod(uid);
}

std::vector<AffinityGroupStatus> Scheduler::AffinityGroups() const {
  return impl_->AffinityGroups();
}

Result<AffinityGroupStatus> Scheduler::AffinityGroup(std::string_view name) const {
  return impl_->AffinityGroup(name);
}

std::vector<CellStatus> Scheduler::PhysicalCluster() const {
  return impl_->PhysicalCluster();
}

Result<std::vector<CellStatus>> Scheduler::VirtualCluster(std::string_view vc) const {
  return impl_->VirtualCluster(vc);
}

std::vector<std::string> Scheduler::VirtualClusterNames() const {
  return impl_->VirtualClusterNames();
}

TreeView Scheduler::Trees() const { return TreeView(impl_.get()); }

std::string Scheduler::CheckInvariants() const { return impl_->CheckInvariants(); }
Scheduler::Usage Scheduler::GetUsage() const { return impl_->GetUsage(); }
std::vector<VcGuarantee> Scheduler::GuaranteeHeadroom() const {
  return ComputeGuaranteeHeadroom(*impl_);
}

}  // namespace apiary::cell
