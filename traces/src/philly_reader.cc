// Philly job table (Pollux artifact's philly.csv):
//   timestamp,duration,num_gpus,gpu_time,cluster
// timestamp is the submit time in the trace's local clock, read as UTC (only
// differences matter); duration is float seconds, rounded to the nearest
// second; cluster is the VC hash. See traces/README.md.
#include <cmath>

#include "apiary/traces/readers.h"
#include "parse_util.h"

namespace apiary::traces {

using internal::Row;

Result<Trace> ReadPhillyJobs(const std::string& path, const ReadOptions& options) {
  Trace trace;
  Result<std::string> ref = internal::ResolveReference(options, "P40");
  if (!ref.ok()) return ref.status();
  trace.reference_sku = *ref;

  auto reader = internal::OpenCsv(path);
  if (!reader.ok()) return reader.status();
  CsvRecord header_record;
  if (Status s = internal::ReadHeaderRecord(**reader, &header_record); !s.ok()) return s;
  auto header = internal::Header::Parse(
      path, header_record, {"timestamp", "duration", "num_gpus", "cluster"},
      {"gpu_time"}, /*allow_unknown=*/true);
  if (!header.ok()) return header.status();
  const int c_time = header->Index("timestamp");
  const int c_duration = header->Index("duration");
  const int c_gpus = header->Index("num_gpus");
  const int c_gpu_time = header->Index("gpu_time");
  const int c_vc = header->Index("cluster");
  const size_t width = header->size();

  Status s = internal::ForEachRow(
      **reader, options, &trace.stats, [&](const Row& row, int64_t index) -> Status {
        if (Status e = row.ExpectFields(width); !e.ok()) return e;
        Job job;
        job.id = "philly-" + std::to_string(index);
        if (Status e = row.DateTime(c_time, "timestamp", &job.submit_time_s); !e.ok()) return e;
        double duration = 0;
        if (Status e = row.Double(c_duration, "duration", &duration); !e.ok()) return e;
        if (duration < 0) return row.ErrorAt(c_duration, "field 'duration': negative");
        job.duration_s = std::llround(duration);
        int64_t gpus = 0;
        if (Status e = row.Integral(c_gpus, "num_gpus", &gpus); !e.ok()) return e;
        if (c_gpu_time >= 0) {
          double gpu_time = 0;  // redundant (duration × num_gpus); only checked for syntax
          if (Status e = row.Double(c_gpu_time, "gpu_time", &gpu_time); !e.ok()) return e;
        }
        job.vc = std::string(row.Trimmed(c_vc));
        if (job.vc.empty()) job.vc = options.default_vc;
        job.priority = options.default_priority;
        bool keep = true;
        if (Status e = internal::FitGpuTotal(row, c_gpus, "num_gpus", gpus, options,
                                             &trace.stats, &job, &keep);
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
