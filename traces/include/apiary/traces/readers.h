// Readers for public GPU-cluster traces and node inventories, and for the
// project's canonical CSV formats. Column mappings, unit conversions and
// every judgement call (fractional GPUs, pod splitting, priorities, default
// reference SKUs) are documented in traces/README.md.
//
// Common contract of every reader:
//  * A malformed row makes the read fail with "file:line:column: reason",
//    unless options.skip_bad_rows: then it is counted in stats.skipped and the
//    first options.max_error_messages messages are kept in stats.errors.
//    Errors that concern the whole file (cannot open, missing header column,
//    unknown reference SKU) always fail.
//  * Well-formed rows that do not become a job are counted by reason in
//    stats.dropped; rows changed to fit the model are counted in
//    stats.adjusted.
//  * Jobs are sorted by (submit time, input order), stably; with
//    options.rebase_time the first job submits at 0.
//  * Streaming: memory is O(jobs), not O(file). Not thread-safe per call,
//    but calls are independent (no shared state).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "apiary/traces/status.h"
#include "apiary/traces/trace.h"

namespace apiary::traces {

// ---- Job traces -----------------------------------------------------------

// Philly job table as carried by the Pollux artifact
// (timestamp,duration,num_gpus,gpu_time,cluster). Default reference SKU P40.
Result<Trace> ReadPhillyJobs(const std::string& path,
                             const ReadOptions& options = {});

// Alibaba openb pod list (11 columns, or the 5-column multigpu variants).
// One job per pod. Default reference SKU: none.
Result<Trace> ReadOpenbPods(const std::string& path,
                            const ReadOptions& options = {});

// Alibaba PAI 2020 pai_job_table + pai_task_table (header-less as
// published; a header line matching the .header file is also accepted).
// One job per job_name with at least one GPU task. Default reference V100.
Result<Trace> ReadPaiJobs(const std::string& job_table_path,
                          const std::string& task_table_path,
                          const ReadOptions& options = {});

// SenseTime Helios cluster_log.csv. Default reference SKU V100.
Result<Trace> ReadHeliosJobs(const std::string& path,
                             const ReadOptions& options = {});

// Standard Workload Format (18 whitespace-separated fields, ';' comments).
// A "processor" is taken to be one GPU. Default reference SKU: none.
Result<Trace> ReadSwf(const std::string& path, const ReadOptions& options = {});

// The canonical job CSV (traces/README.md). A "# reference_sku: NAME"
// comment line sets the reference SKU (options.reference_sku overrides it).
Result<Trace> ReadCanonicalJobs(const std::string& path,
                                const ReadOptions& options = {});

// Writes `trace` as canonical CSV (with its reference_sku directive).
// Reading the result back yields the same jobs (with rebase_time=false).
Status WriteCanonicalJobs(const Trace& trace, const std::string& path);

enum class TraceFormat { kPhilly, kOpenb, kPai, kHelios, kSwf, kCanonical };

// "philly", "openb", "pai", "helios", "swf", "canonical".
Result<TraceFormat> ParseTraceFormat(std::string_view name);
std::string_view TraceFormatName(TraceFormat format);

// Dispatches on `format`. `paths` holds one file, or two for kPai
// (job table, task table).
Result<Trace> ReadTrace(TraceFormat format, const std::vector<std::string>& paths,
                        const ReadOptions& options = {});

// ---- Node inventories -----------------------------------------------------

// openb_node_list_*.csv (sn,cpu_milli,memory_mib,gpu,model).
Result<Inventory> ReadOpenbNodes(const std::string& path,
                                 const ReadOptions& options = {});

// pai_machine_spec.csv (header-less: machine,gpu_type,cap_cpu,cap_mem,
// cap_gpu; cores and GB converted to milli-cores and MiB).
Result<Inventory> ReadPaiMachineSpec(const std::string& path,
                                     const ReadOptions& options = {});

// Spot-GPU node_info_df.csv (gpu_model,gpu_capacity_num,cpu_num,node_name;
// no memory column).
Result<Inventory> ReadSpotGpuNodes(const std::string& path,
                                   const ReadOptions& options = {});

// Canonical node CSV: hostname,gpu_model,gpu_count[,cpu_milli][,memory_mib].
Result<Inventory> ReadCanonicalNodes(const std::string& path,
                                     const ReadOptions& options = {});

Status WriteCanonicalNodes(const Inventory& inventory, const std::string& path);

enum class InventoryFormat { kOpenb, kPaiMachineSpec, kSpotGpu, kCanonical };

// "openb", "pai", "spot", "canonical".
Result<InventoryFormat> ParseInventoryFormat(std::string_view name);

Result<Inventory> ReadInventory(InventoryFormat format, const std::string& path,
                                const ReadOptions& options = {});

}  // namespace apiary::traces
