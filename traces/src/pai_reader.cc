// Alibaba PAI 2020 (cluster-trace-gpu-v2020) job and task tables, schema as
// published (the .header files and the data README):
//   pai_job_table:  job_name,inst_id,user,status,start_time,end_time
//   pai_task_table: job_name,task_name,inst_num,status,start_time,end_time,
//                   plan_cpu,plan_mem,plan_gpu,gpu_type
// The published CSVs have no header line. job.start_time is the submit
// time; task start/end are launch/completion; plan_gpu is percent of one GPU.
// Aggregation rules (one job per job_name): traces/README.md.
#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_map>

#include "apiary/traces/gpu_sku.h"
#include "apiary/traces/readers.h"
#include "parse_util.h"

namespace apiary::traces {

using internal::Row;

namespace {

struct PaiJob {
  Job job;
  int64_t pods = 0;
  int64_t min_gpus = std::numeric_limits<int64_t>::max();
  int64_t max_gpus = 0;
  bool fractional = false;
  // Span of the GPU tasks (all tasks for CPU-only jobs).
  bool have_span = false;
  int64_t first_start = 0;
  int64_t last_end = 0;
  bool have_cpu_span = false;
  int64_t cpu_first_start = 0;
  int64_t cpu_last_end = 0;
  std::vector<std::string> gpu_types;
};

// True if the first record is a header line whose first column is `first`.
bool IsHeader(const CsvRecord& record, std::string_view first) {
  return record.size() > 0 && internal::Trim(record.fields[0]) == first;
}

Status SecondsField(const Row& row, size_t i, std::string_view name, int64_t* out,
                    bool* present) {
  double v = 0;
  if (Status e = row.OptDouble(i, name, &v, present); !e.ok() || !*present) return e;
  if (v < 0) return row.ErrorAt(i, "field '" + std::string(name) + "': negative");
  *out = std::llround(v);
  return Status::Ok();
}

}  // namespace

Result<Trace> ReadPaiJobs(const std::string& job_table_path,
                          const std::string& task_table_path,
                          const ReadOptions& options) {
  Trace trace;
  Result<std::string> ref = internal::ResolveReference(options, "V100");
  if (!ref.ok()) return ref.status();
  trace.reference_sku = *ref;

  std::vector<PaiJob> jobs;
  std::unordered_map<std::string, size_t> by_name;

  // Pass 1: the job table.
  {
    auto reader = internal::OpenCsv(job_table_path);
    if (!reader.ok()) return reader.status();
    bool first = true;
    Status s = internal::ForEachRow(
        **reader, options, &trace.stats, [&](const Row& row, int64_t) -> Status {
          if (first) {
            first = false;
            if (IsHeader(row.record(), "job_name")) {
              --trace.stats.rows;
              return Status::Ok();
            }
          }
          if (Status e = row.ExpectFields(6); !e.ok()) return e;
          PaiJob pj;
          pj.job.id = std::string(row.Trimmed(0));
          if (pj.job.id.empty()) return row.ErrorAt(0, "field 'job_name': empty");
          if (by_name.count(pj.job.id) != 0) {
            return row.ErrorAt(0, "field 'job_name': duplicate job \"" + pj.job.id + "\"");
          }
          pj.job.user = std::string(row.Trimmed(2));
          bool present = false;
          if (Status e = SecondsField(row, 4, "start_time", &pj.job.submit_time_s, &present);
              !e.ok()) {
            return e;
          }
          if (!present) return row.ErrorAt(4, "field 'start_time': empty (submit time required)");
          int64_t end = 0;
          if (Status e = SecondsField(row, 5, "end_time", &end, &present); !e.ok()) return e;
          pj.job.vc = options.default_vc;
          pj.job.priority = options.default_priority;
          by_name.emplace(pj.job.id, jobs.size());
          jobs.push_back(std::move(pj));
          return Status::Ok();
        });
    if (!s.ok()) return s;
  }

  // Pass 2: the task table, aggregated into the jobs.
  {
    auto reader = internal::OpenCsv(task_table_path);
    if (!reader.ok()) return reader.status();
    bool first = true;
    Status s = internal::ForEachRow(
        **reader, options, &trace.stats, [&](const Row& row, int64_t) -> Status {
          if (first) {
            first = false;
            if (IsHeader(row.record(), "job_name")) {
              --trace.stats.rows;
              return Status::Ok();
            }
          }
          if (Status e = row.ExpectFields(10); !e.ok()) return e;
          int64_t inst = 0;
          if (Status e = row.Integral(2, "inst_num", &inst); !e.ok()) return e;
          if (Status e = row.Range(2, "inst_num", inst, 0, std::numeric_limits<int32_t>::max());
              !e.ok()) {
            return e;
          }
          int64_t start = 0, end = 0;
          bool has_start = false, has_end = false;
          if (Status e = SecondsField(row, 4, "start_time", &start, &has_start); !e.ok()) return e;
          if (Status e = SecondsField(row, 5, "end_time", &end, &has_end); !e.ok()) return e;
          for (size_t c : {6u, 7u}) {  // plan_cpu, plan_mem: checked, not modelled
            double v = 0;
            bool present = false;
            if (Status e = row.OptDouble(c, c == 6 ? "plan_cpu" : "plan_mem", &v, &present);
                !e.ok()) {
              return e;
            }
          }
          double plan_gpu = 0;
          bool has_gpu = false;
          if (Status e = row.OptDouble(8, "plan_gpu", &plan_gpu, &has_gpu); !e.ok()) return e;
          if (plan_gpu < 0) return row.ErrorAt(8, "field 'plan_gpu': negative");

          auto it = by_name.find(std::string(row.Trimmed(0)));
          if (it == by_name.end()) {
            ++trace.stats.dropped["task_without_job"];
            return Status::Ok();
          }
          PaiJob& pj = jobs[it->second];
          const bool timed = has_start && has_end;
          if (plan_gpu <= 0) {
            if (timed) {
              pj.cpu_first_start = pj.have_cpu_span ? std::min(pj.cpu_first_start, start) : start;
              pj.cpu_last_end = pj.have_cpu_span ? std::max(pj.cpu_last_end, end) : end;
              pj.have_cpu_span = true;
            }
            return Status::Ok();
          }
          // GPUs per instance: plan_gpu is in percent of one GPU.
          const double whole = std::ceil(plan_gpu / 100.0);
          if (whole * 100.0 != plan_gpu) pj.fractional = true;
          const int64_t gpus = static_cast<int64_t>(whole);
          pj.pods += inst;
          pj.min_gpus = std::min(pj.min_gpus, gpus);
          pj.max_gpus = std::max(pj.max_gpus, gpus);
          if (timed) {
            pj.first_start = pj.have_span ? std::min(pj.first_start, start) : start;
            pj.last_end = pj.have_span ? std::max(pj.last_end, end) : end;
            pj.have_span = true;
          }
          std::string type = CanonicalGpuModel(row.Str(9));
          if (!type.empty() &&
              std::find(pj.gpu_types.begin(), pj.gpu_types.end(), type) == pj.gpu_types.end()) {
            pj.gpu_types.push_back(std::move(type));
          }
          return Status::Ok();
        });
    if (!s.ok()) return s;
  }

  // Assemble, in job-table order.
  for (PaiJob& pj : jobs) {
    Job& job = pj.job;
    const bool gpu_job = pj.max_gpus > 0;
    if (!gpu_job) {
      if (!options.keep_cpu_only_jobs) {
        ++trace.stats.dropped["cpu_only"];
        continue;
      }
      if (!pj.have_cpu_span || pj.cpu_last_end < pj.cpu_first_start) {
        ++trace.stats.dropped["no_runtime"];
        continue;
      }
      job.num_pods = 1;
      job.gpus_per_pod = 0;
      job.duration_s = pj.cpu_last_end - pj.cpu_first_start;
      trace.jobs.push_back(std::move(job));
      continue;
    }
    if (pj.fractional && options.gpu_share == GpuSharePolicy::kSkip) {
      ++trace.stats.dropped["fractional_gpu"];
      continue;
    }
    if (pj.pods == 0) {
      ++trace.stats.dropped["no_instances"];
      continue;
    }
    if (pj.pods > std::numeric_limits<int32_t>::max() ||
        pj.max_gpus > std::numeric_limits<int32_t>::max()) {
      ++trace.stats.dropped["too_large"];
      continue;
    }
    if (!pj.have_span || pj.last_end < pj.first_start) {
      ++trace.stats.dropped["no_runtime"];
      continue;
    }
    if (pj.fractional) ++trace.stats.adjusted["fractional_gpu_rounded_up"];
    if (pj.min_gpus != pj.max_gpus) ++trace.stats.adjusted["heterogeneous_tasks_max_gpus"];
    job.num_pods = static_cast<int32_t>(pj.pods);
    job.gpus_per_pod = static_cast<int32_t>(pj.max_gpus);
    job.duration_s = pj.last_end - pj.first_start;
    for (const std::string& t : pj.gpu_types) {
      if (!job.gpu_model.empty()) job.gpu_model.push_back('|');
      job.gpu_model += t;
    }
    // The run time was observed on the job's GPU type; express it on the
    // reference SKU: d_ref = d_obs × speed(observed) / speed(reference).
    if (options.normalize_observed_durations && pj.gpu_types.size() == 1 &&
        !trace.reference_sku.empty() && pj.gpu_types[0] != trace.reference_sku) {
      const GpuSku* observed = FindGpuSku(pj.gpu_types[0]);
      if (observed != nullptr && observed->disclosed) {
        Result<double> ref_vs_observed =
            RelativeSpeed(trace.reference_sku, pj.gpu_types[0]);
        if (ref_vs_observed.ok()) {
          job.duration_s = ScaleDuration(job.duration_s, *ref_vs_observed);
          ++trace.stats.adjusted["duration_normalized_to_reference"];
        }
      }
    }
    trace.jobs.push_back(std::move(job));
  }
  internal::FinishTrace(options, &trace);
  return trace;
}

}  // namespace apiary::traces
