// The recovery driver (recovery.h): bind order, AddAllocatedPod per pod,
// FinishRecovery once.
#include "apiary/cell/recovery.h"

#include <algorithm>
#include <numeric>
#include <set>

namespace apiary::cell {

std::vector<size_t> BindOrder(std::span<const PodToRecover> pods) {
  std::vector<size_t> order(pods.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) {
    const PodToRecover& a = pods[x];
    const PodToRecover& b = pods[y];
    if (a.bind_order.has_value() != b.bind_order.has_value()) return a.bind_order.has_value();
    if (a.bind_order && *a.bind_order != *b.bind_order) return *a.bind_order < *b.bind_order;
    if (a.pod.ns != b.pod.ns) return a.pod.ns < b.pod.ns;
    return a.pod.name < b.pod.name;
  });
  return order;
}

RecoveryReport RecoverPods(Scheduler& scheduler, std::span<const PodToRecover> pods,
                           const RecoveryOptions& options) {
  RecoveryReport report;
  report.order = BindOrder(pods);
  report.status.assign(pods.size(), Status::Ok());
  std::set<std::string, std::less<>> groups;
  if (options.drop_marks_of_absent_preemptors)
    for (const PodToRecover& p : pods) groups.insert(p.spec.affinity_group_name);
  for (size_t i : report.order) {
    const PodToRecover& p = pods[i];
    std::optional<LazyPreemptionMark> mark = p.lazy_mark;
    if (mark && options.drop_marks_of_absent_preemptors && !groups.count(mark->preemptor))
      mark.reset();
    report.status[i] = scheduler.AddAllocatedPod(p.pod, p.spec, p.bind_info, mark);
    if (report.status[i].ok()) ++report.recovered;
  }
  scheduler.FinishRecovery();
  return report;
}

}  // namespace apiary::cell
