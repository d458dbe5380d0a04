// Schedules a few pods with libcell, linked through find_package(apiary).
// Usage: schedule_pods CONFIG.yaml   (e.g. examples/configs/hived-basic.yaml)
#include <iostream>

#include "apiary/cell/annotations.h"
#include "apiary/cell/config_loader.h"
#include "apiary/cell/scheduler.h"
#include "apiary/wire/inspect_json.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: schedule_pods CONFIG.yaml\n";
    return 2;
  }
  auto loaded = apiary::cell::LoadConfigFile(argv[1]);
  if (!loaded.ok()) {
    std::cerr << loaded.status().message() << "\n";
    return 2;
  }
  apiary::cell::ManualClock clock(0);
  auto scheduler = apiary::cell::Scheduler::Create(loaded->config, &clock);
  if (!scheduler.ok()) {
    std::cerr << scheduler.status().message() << "\n";
    return 2;
  }
  int failures = 0;
  const char* specs[] = {
      "{virtualCluster: prod, priority: 10, leafCellNumber: 1}",
      "{virtualCluster: prod, priority: 10, leafCellNumber: 8}",
      "{virtualCluster: research, priority: 1, leafCellNumber: 2}",
  };
  int n = 0;
  for (const char* text : specs) {
    apiary::cell::PodRef pod{"uid-" + std::to_string(n), "demo", "pod-" + std::to_string(n)};
    ++n;
    auto spec = apiary::cell::ParsePodSchedulingSpec(text, pod.ns, pod.name);
    if (!spec.ok()) {
      std::cerr << spec.status().message() << "\n";
      return 2;
    }
    auto r = (*scheduler)->Schedule(pod, *spec, nullptr, apiary::cell::SchedulingPhase::kPreempting);
    if (r.kind != apiary::cell::ScheduleResult::Kind::kBind) {
      std::cout << pod.FullName() << ": not bound: " << r.message << "\n";
      ++failures;
      continue;
    }
    auto st = (*scheduler)->AddAllocatedPod(pod, *spec, r.bind_info);
    std::cout << pod.FullName() << " -> " << r.node << " GPUs "
              << apiary::cell::EmitLeafCellIsolation(r.leaf_cells)
              << (st.ok() ? "" : " (commit failed: " + st.message() + ")") << "\n";
  }
  // Walking the trees read-only (apiary/cell/cell_tree.h): used GPUs per node.
  apiary::cell::TreeView trees = (*scheduler)->Trees();
  for (apiary::cell::CellId c{0}; c < apiary::cell::CellId(trees.PhysicalCellCount()); ++c) {
    apiary::cell::PhysicalCellView cell = trees.Physical(c);
    if (cell.level == 1 && cell.state == apiary::cell::CellState::kUsed)
      std::cout << "used: " << trees.NodeName(cell.node) << " GPU " << cell.leaf_index << " by "
                << trees.GroupName(cell.group) << "\n";
  }
  // What the extender's /v1/inspect/affinitygroups/ would answer.
  std::cout << "inspect: "
            << apiary::wire::AffinityGroupListToJson((*scheduler)->AffinityGroups()).dump() << "\n";
  return failures == 0 ? 0 : 1;
}
