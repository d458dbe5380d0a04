// SenseTime Helios cluster_log.csv, schema as published in
// github.com/S-Lab-System-Group/HeliosData README:
//   job_id,user,vc,gpu_num,cpu_num,node_num,state,submit_time,start_time,
//   end_time,duration,queue
// Times "YYYY-MM-DD HH:MM:SS" (read as UTC); duration = end - start seconds.
#include <algorithm>
#include <limits>

#include "apiary/traces/readers.h"
#include "parse_util.h"

namespace apiary::traces {

using internal::Row;

Result<Trace> ReadHeliosJobs(const std::string& path, const ReadOptions& options) {
  Trace trace;
  Result<std::string> ref = internal::ResolveReference(options, "V100");
  if (!ref.ok()) return ref.status();
  trace.reference_sku = *ref;

  auto reader = internal::OpenCsv(path);
  if (!reader.ok()) return reader.status();
  CsvRecord header_record;
  if (Status s = internal::ReadHeaderRecord(**reader, &header_record); !s.ok()) return s;
  auto header = internal::Header::Parse(
      path, header_record,
      {"job_id", "user", "vc", "gpu_num", "node_num", "submit_time"},
      {"cpu_num", "state", "start_time", "end_time", "duration", "queue"},
      /*allow_unknown=*/true);
  if (!header.ok()) return header.status();
  const int c_id = header->Index("job_id");
  const int c_user = header->Index("user");
  const int c_vc = header->Index("vc");
  const int c_gpus = header->Index("gpu_num");
  const int c_nodes = header->Index("node_num");
  const int c_submit = header->Index("submit_time");
  const int c_start = header->Index("start_time");
  const int c_end = header->Index("end_time");
  const int c_duration = header->Index("duration");
  const size_t width = header->size();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

  Status s = internal::ForEachRow(
      **reader, options, &trace.stats, [&](const Row& row, int64_t) -> Status {
        if (Status e = row.ExpectFields(width); !e.ok()) return e;
        Job job;
        job.id = std::string(row.Trimmed(c_id));
        if (job.id.empty()) return row.ErrorAt(c_id, "field 'job_id': empty");
        job.user = std::string(row.Trimmed(c_user));
        job.vc = std::string(row.Trimmed(c_vc));
        if (job.vc.empty()) job.vc = options.default_vc;
        job.priority = options.default_priority;
        if (Status e = row.DateTime(c_submit, "submit_time", &job.submit_time_s); !e.ok()) {
          return e;
        }
        int64_t gpus = 0, nodes = 0;
        if (Status e = row.Integral(c_gpus, "gpu_num", &gpus); !e.ok()) return e;
        if (Status e = row.Range(c_gpus, "gpu_num", gpus, 0, kMax); !e.ok()) return e;
        if (Status e = row.Integral(c_nodes, "node_num", &nodes); !e.ok()) return e;
        if (Status e = row.Range(c_nodes, "node_num", nodes, 0, kMax); !e.ok()) return e;

        // Run time: the duration column, else end - start.
        bool have_duration = false;
        if (c_duration >= 0 && !row.IsEmpty(c_duration)) {
          if (Status e = row.Integral(c_duration, "duration", &job.duration_s); !e.ok()) {
            return e;
          }
          if (job.duration_s < 0) return row.ErrorAt(c_duration, "field 'duration': negative");
          have_duration = true;
        } else if (c_start >= 0 && c_end >= 0 && !row.IsEmpty(c_start) &&
                   !row.IsEmpty(c_end)) {
          int64_t start = 0, end = 0;
          if (Status e = row.DateTime(c_start, "start_time", &start); !e.ok()) return e;
          if (Status e = row.DateTime(c_end, "end_time", &end); !e.ok()) return e;
          if (end < start) return row.ErrorAt(c_end, "field 'end_time': before start_time");
          job.duration_s = end - start;
          have_duration = true;
        }
        if (!have_duration) {
          ++trace.stats.dropped["no_runtime"];
          return Status::Ok();
        }

        if (gpus == 0) {
          if (!options.keep_cpu_only_jobs) {
            ++trace.stats.dropped["cpu_only"];
            return Status::Ok();
          }
          job.num_pods = 1;
          job.gpus_per_pod = 0;
        } else if (nodes >= 1 && gpus % nodes == 0 &&
                   gpus / nodes <= std::numeric_limits<int32_t>::max() &&
                   nodes <= std::numeric_limits<int32_t>::max()) {
          // The published shape: node_num pods of gpu_num / node_num GPUs.
          job.num_pods = static_cast<int32_t>(nodes);
          job.gpus_per_pod = static_cast<int32_t>(gpus / nodes);
        } else {
          // node_num missing or not dividing gpu_num: split the total.
          bool keep = true;
          if (Status e = internal::FitGpuTotal(row, c_gpus, "gpu_num", gpus, options,
                                               &trace.stats, &job, &keep);
              !e.ok()) {
            return e;
          }
          ++trace.stats.adjusted["gpus_not_divisible_by_nodes"];
        }
        trace.jobs.push_back(std::move(job));
        return Status::Ok();
      });
  if (!s.ok()) return s;
  internal::FinishTrace(options, &trace);
  return trace;
}

}  // namespace apiary::traces
