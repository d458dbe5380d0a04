// Standard Workload Format (Parallel Workloads Archive, Feitelson et al.):
// one job per line, 18 whitespace-separated numeric fields, -1 = unknown,
// header comments start with ';'. Field numbers below are the standard's
// (1-based). A "processor" is read as one GPU.
#include <array>
#include <limits>
#include <string_view>

#include "apiary/traces/readers.h"
#include "parse_util.h"

namespace apiary::traces {

using internal::Row;

namespace {

constexpr std::array<std::string_view, 18> kSwfFields = {
    "job_number",        "submit_time",      "wait_time",
    "run_time",          "allocated_procs",  "average_cpu_time",
    "used_memory",       "requested_procs",  "requested_time",
    "requested_memory",  "status",           "user_id",
    "group_id",          "executable_number", "queue_number",
    "partition_number",  "preceding_job",    "think_time"};

// 0-based indices of the fields used.
constexpr size_t kJob = 0, kSubmit = 1, kRun = 3, kAlloc = 4, kReq = 7,
                 kUser = 11, kQueue = 14;

}  // namespace

Result<Trace> ReadSwf(const std::string& path, const ReadOptions& options) {
  Trace trace;
  Result<std::string> ref = internal::ResolveReference(options, "");
  if (!ref.ok()) return ref.status();
  trace.reference_sku = *ref;

  CsvOptions csv;
  csv.whitespace_delimited = true;
  csv.comment = ';';
  auto reader = internal::OpenCsv(path, csv);
  if (!reader.ok()) return reader.status();

  Status s = internal::ForEachRow(
      **reader, options, &trace.stats, [&](const Row& row, int64_t) -> Status {
        if (Status e = row.ExpectFields(kSwfFields.size()); !e.ok()) return e;
        // Every field must be numeric, even the unused ones: a non-number
        // means the line is not SWF.
        std::array<int64_t, 18> v{};
        for (size_t i = 0; i < kSwfFields.size(); ++i) {
          if (i == 5 || i == 6) {  // averages may be fractional
            double d = 0;
            if (Status e = row.Double(i, kSwfFields[i], &d); !e.ok()) return e;
            continue;
          }
          if (Status e = row.Integral(i, kSwfFields[i], &v[i]); !e.ok()) return e;
        }
        if (Status e = row.Range(kSubmit, kSwfFields[kSubmit], v[kSubmit], 0,
                                 std::numeric_limits<int64_t>::max());
            !e.ok()) {
          return e;
        }
        if (v[kRun] < 0) {
          ++trace.stats.dropped["no_runtime"];
          return Status::Ok();
        }
        const size_t procs_field = v[kReq] > 0 ? kReq : kAlloc;
        const int64_t procs = v[procs_field];
        if (procs <= 0) {
          ++trace.stats.dropped["no_processors"];
          return Status::Ok();
        }
        Job job;
        job.id = std::to_string(v[kJob]);
        job.submit_time_s = v[kSubmit];
        job.duration_s = v[kRun];
        job.priority = options.default_priority;
        job.vc = v[kQueue] >= 0 ? "queue-" + std::to_string(v[kQueue]) : options.default_vc;
        if (v[kUser] >= 0) job.user = std::to_string(v[kUser]);
        bool keep = true;
        if (Status e = internal::FitGpuTotal(row, procs_field, kSwfFields[procs_field],
                                             procs, options, &trace.stats, &job, &keep);
            !e.ok()) {
          return e;
        }
        if (keep) trace.jobs.push_back(std::move(job));
        return Status::Ok();
      });
  if (!s.ok()) return s;
  internal::FinishTrace(options, &trace);
  return trace;
}

}  // namespace apiary::traces
