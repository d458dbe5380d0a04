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
  Status st = impl->Build(config);
  if (!st.ok()) return st;
  if (start_healthy)
    for (NodeId n = 0; n < static_cast<NodeId>(impl->node_names_.size()); ++n)
      impl->SetNodeHealthy(n);
  std::unique_ptr<Scheduler> s(new Scheduler(std::move(impl)));
  s->feasibility_ =
      std::make_unique<const FeasibilityIndex>(FeasibilityIndex::Build(config, *derived));
  return s;
}

Scheduler::Scheduler(std::unique_ptr<SchedulerImpl> impl) : impl_(std::move(impl)) {}
Scheduler::~Scheduler() = default;

ScheduleResult Scheduler::Schedule(const PodRef& pod, const PodSchedulingSpec& spec,
                                   const std::vector<std::string>* suggested_nodes,
                                   SchedulingPhase phase) {
  ScheduleResult r = impl_->Schedule(pod, spec, suggested_nodes, phase);
  if (r.kind == ScheduleResult::Kind::kWait) {
    if (std::string why = feasibility_->NeverFits(spec); !why.empty()) r.message += "; " + why;
  }
  return r;
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

bool Scheduler::IsAllocatedPod(std::string_view uid) const {
  return impl_->pod_locs_.count(std::string(uid)) > 0;
}

Status Scheduler::SetNodeHealth(std::string_view node, bool healthy) {
  auto it = impl_->node_index_.find(std::string(node));
  if (it == impl_->node_index_.end())
    return Status::NotFound("node " + std::string(node) + " is not in the configuration");
  if (healthy) {
    impl_->SetNodeHealthy(it->second);
  } else {
    impl_->SetNodeBad(it->second);
  }
  return Status::Ok();
}

bool Scheduler::HasNode(std::string_view node) const {
  return impl_->node_index_.count(std::string(node)) > 0;
}

std::vector<std::string> Scheduler::Nodes() const { return impl_->node_names_; }

std::optional<LazyPreemptionMark> Scheduler::LazyMarkOfPod(std::string_view uid) const {
  auto it = impl_->pod_locs_.find(std::string(uid));
  if (it == impl_->pod_locs_.end()) return std::nullopt;
  return impl_->groups_[it->second.group].lazy;
}

std::vector<std::string> Scheduler::VirtualLeafCellsOfPod(std::string_view uid) const {
  auto it = impl_->pod_locs_.find(std::string(uid));
  if (it == impl_->pod_locs_.end()) return {};
  return impl_->VirtualLeafCellsOf(impl_->groups_[it->second.group]);
}

std::vector<AffinityGroupStatus> Scheduler::AffinityGroups() const {
  return impl_->AffinityGroups();
}

Result<AffinityGroupStatus> Scheduler::AffinityGroup(std::string_view name) const {
  auto it = impl_->group_index_.find(std::string(name));
  if (it == impl_->group_index_.end())
    return Status::NotFound("Affinity group " + std::string(name) +
                            " does not exist since it is not allocated or preempting");
  return impl_->GroupStatus(it->second);
}

std::vector<CellStatus> Scheduler::PhysicalCluster() const {
  return impl_->PhysicalCluster();
}

Result<std::vector<CellStatus>> Scheduler::VirtualCluster(std::string_view vc) const {
  auto it = impl_->vc_index_.find(std::string(vc));
  if (it == impl_->vc_index_.end())
    return Status::NotFound("VC " + std::string(vc) + " not found");
  return impl_->VirtualClusterStatus(it->second);
}

std::vector<std::string> Scheduler::VirtualClusterNames() const {
  std::vector<std::string> out;
  for (const Vc& vc : impl_->vcs_) out.push_back(vc.name);
  return out;
}

std::string Scheduler::CheckInvariants() const { return impl_->CheckInvariants(); }
Scheduler::Usage Scheduler::GetUsage() const { return impl_->GetUsage(); }
std::vector<VcGuarantee> Scheduler::GuaranteeHeadroom() const {
  return ComputeGuaranteeHeadroom(*impl_);
}

}  // namespace apiary::cell
