// The simulator-facing data model that every trace reader produces: jobs
// (gangs of identical pods), node inventories and read statistics.
// Plain values; no invariants beyond those documented per field.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace apiary::traces {

// duration_s when the trace does not say how long a job ran (e.g. openb
// pod lists without times). A simulator must decide what that means.
inline constexpr int64_t kUnknownDuration = -1;

// One job: `num_pods` pods of `gpus_per_pod` GPUs each, placed as one gang.
struct Job {
  std::string id;
  // Seconds. After a reader's rebasing (ReadOptions::rebase_time) the
  // earliest job of the trace submits at 0.
  int64_t submit_time_s = 0;
  // Run time in seconds on the trace's reference SKU (Trace::reference_sku),
  // or kUnknownDuration.
  int64_t duration_s = 0;
  int32_t num_pods = 1;
  int32_t gpus_per_pod = 0;
  std::string vc;
  // HiveD convention: -1 opportunistic, 0..1000 guaranteed.
  int32_t priority = 0;
  // Canonical SKU name(s) the job asks for or was observed on; several
  // alternatives are joined by '|' ("T4|V100"). Empty = any.
  std::string gpu_model;
  std::string user;
  // What the job trains, when the trace says (the canonical CSV's optional
  // model_class column): a class of the simulator's placement model
  // (resnet18, resnet50, transformer, lm). Empty = unknown.
  std::string model_class;

  int64_t total_gpus() const {
    return static_cast<int64_t>(num_pods) * gpus_per_pod;
  }
  friend bool operator==(const Job&, const Job&) = default;
};

struct ReadStats {
  // Data records read (header, comment and blank lines not counted).
  int64_t rows = 0;
  // Malformed records skipped because ReadOptions::skip_bad_rows was set.
  int64_t skipped = 0;
  // The first ReadOptions::max_error_messages messages of skipped rows,
  // each "file:line:column: reason".
  std::vector<std::string> errors;
  // Well-formed records that did not become a job/node, by reason
  // (e.g. "cpu_only", "fractional_gpu", "no_runtime").
  std::map<std::string, int64_t> dropped;
  // Records that became a job only after a documented adjustment, by reason
  // (e.g. "fractional_gpu_rounded_up", "split_into_pods").
  std::map<std::string, int64_t> adjusted;
  // GPU-seconds of demand that adjustments added: rounding a request for
  // part of one GPU up to a whole GPU adds (1 - share) x duration per pod
  // (openb; 0 where durations are unknown).
  int64_t added_gpu_seconds = 0;
};

// One line of plain English for a ReadStats::dropped / adjusted reason key
// ("cpu_only" -> "requests no GPU (CPU-only)"); the key itself when unknown.
std::string ExplainReadReason(const std::string& key);

struct Trace {
  // Sorted by (submit_time_s, input order), stably.
  std::vector<Job> jobs;
  // Canonical SKU name the durations are measured on; empty = unknown (then
  // SKU scaling is the identity).
  std::string reference_sku;
  // What was subtracted from every submit time by rebasing, in the file's
  // own time scale (Unix seconds for date-time formats read as UTC).
  int64_t time_origin_s = 0;
  ReadStats stats;
};

// One node of a cluster inventory.
struct NodeInventory {
  std::string hostname;
  // The spelling in the source file ("V100M16", "A100-SXM4-80GB", "CPU"...).
  std::string gpu_model;
  // Canonical SKU name (gpu_sku.h) when the model is known; the source
  // spelling when it is not (counted in stats.adjusted["unknown_gpu_model"]);
  // empty for CPU-only nodes (no model, or PAI's "CPU").
  std::string sku;
  int32_t gpu_count = 0;
  // CPU capacity in milli-cores; 0 = not given by the source.
  int64_t cpu_milli = 0;
  // Memory in MiB; 0 = not given by the source.
  int64_t memory_mib = 0;

  friend bool operator==(const NodeInventory&, const NodeInventory&) = default;
};

struct Inventory {
  // In file order (the configuration order used for tie-breaking).
  std::vector<NodeInventory> nodes;
  ReadStats stats;
};

// How to map a request for part of one GPU (openb gpu_milli < 1000, PAI
// plan_gpu not a multiple of 100) onto whole-GPU HiveD cells.
enum class GpuSharePolicy {
  kRoundUp,  // give the pod whole GPUs (counted in adjusted)
  kSkip,     // drop the job (counted in dropped["fractional_gpu"])
};

struct ReadOptions {
  // false: the first malformed row ends the read with its error.
  // true: malformed rows are counted in ReadStats::skipped and skipped.
  bool skip_bad_rows = false;
  size_t max_error_messages = 10;
  // Overrides the reader's default reference SKU (must be a known SKU name
  // or alias). Empty = the reader's default (see traces/README.md).
  std::string reference_sku;
  // VC for formats without one (openb, PAI, SWF without queues).
  std::string default_vc = "default";
  int32_t default_priority = 0;
  // Jobs with more GPUs than this are split into equal pods of at most this
  // many GPUs, for formats that give only a GPU total (Philly, SWF).
  int32_t max_gpus_per_pod = 8;
  GpuSharePolicy gpu_share = GpuSharePolicy::kRoundUp;
  // Keep jobs that request no GPU (gpus_per_pod = 0); default drops them
  // (counted in dropped["cpu_only"]).
  bool keep_cpu_only_jobs = false;
  // Shift submit times so that the earliest job submits at 0.
  bool rebase_time = true;
  // PAI: durations were observed on the job's GPU type; rescale them to the
  // reference SKU (SKU scaling rule in gpu_sku.h).
  bool normalize_observed_durations = true;
};

}  // namespace apiary::traces
