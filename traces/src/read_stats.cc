// Plain-English reasons for ReadStats keys, so that every run can say what
// the readers dropped and changed (sim/FIDELITY.md lists them per reader).
#include <map>
#include <string>

#include "apiary/traces/trace.h"

namespace apiary::traces {

std::string ExplainReadReason(const std::string& key) {
  static const std::map<std::string, std::string> kText = {
      {"cpu_only", "requests no GPU (CPU-only)"},
      {"fractional_gpu", "asks for part of one GPU (fractional requests skipped)"},
      {"fractional_gpu_rounded_up", "asked for part of one GPU: given a whole GPU"},
      {"no_runtime", "no run time in the trace (never started, or no end time)"},
      {"no_processors", "asks for no processor"},
      {"no_instances", "no task instance"},
      {"too_large", "more pods or GPUs than the model can hold"},
      {"task_without_job", "task row whose job is not in the job table"},
      {"split_into_pods", "more GPUs than one node holds: split into equal pods"},
      {"gpus_not_divisible_by_nodes",
       "GPU total not divisible by the node count: pods rounded up to equal sizes"},
      {"unscheduled_lifetime_as_duration",
       "never scheduled: its lifetime (creation to deletion) taken as run time"},
      {"heterogeneous_tasks_max_gpus", "tasks of different sizes: every pod gets the largest"},
      {"duration_normalized_to_reference",
       "run time observed on another GPU: rescaled to the reference SKU"},
      {"gpu_model_missing", "GPU node without a model name: treated as CPU-only"},
      {"unknown_gpu_model", "GPU model not in the SKU table: kept under its own spelling"},
      // The simulator's own selection (MakeWorkload).
      {"unknown_duration", "run time unknown: cannot be simulated"},
      {"no_gpus", "no GPU"},
      {"time_window", "submitted outside --from/--to"},
      {"sample", "not drawn by --sample"},
      {"max_jobs", "beyond --max-jobs"},
  };
  auto it = kText.find(key);
  return it == kText.end() ? key : it->second;
}

}  // namespace apiary::traces
