// Alibaba cluster-trace-gpu-v2023 ("openb") pod lists:
//   name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,
//   creation_time,deletion_time,scheduled_time
// or the five-column multigpu* variants (name,cpu_milli,memory_mib,num_gpu,
// gpu_milli). One job per pod. Mapping rules: traces/README.md.
#include <limits>

#include "apiary/traces/readers.h"
#include "parse_util.h"

namespace apiary::traces {

using internal::Row;

namespace {

// QoS class -> HiveD priority. BE (best effort) pods are opportunistic.
bool QosPriority(std::string_view qos, int32_t* priority) {
  if (qos == "LS" || qos == "Guaranteed") {
    *priority = 1;
  } else if (qos == "Burstable") {
    *priority = 0;
  } else if (qos == "BE") {
    *priority = -1;
  } else {
    return false;
  }
  return true;
}

}  // namespace

Result<Trace> ReadOpenbPods(const std::string& path, const ReadOptions& options) {
  Trace trace;
  Result<std::string> ref = internal::ResolveReference(options, "");
  if (!ref.ok()) return ref.status();
  trace.reference_sku = *ref;

  auto reader = internal::OpenCsv(path);
  if (!reader.ok()) return reader.status();
  CsvRecord header_record;
  if (Status s = internal::ReadHeaderRecord(**reader, &header_record); !s.ok()) return s;
  auto header = internal::Header::Parse(
      path, header_record, {"name", "num_gpu", "gpu_milli"},
      {"cpu_milli", "memory_mib", "gpu_spec", "qos", "pod_phase", "creation_time",
       "deletion_time", "scheduled_time"},
      /*allow_unknown=*/true);
  if (!header.ok()) return header.status();
  const int c_name = header->Index("name");
  const int c_cpu = header->Index("cpu_milli");
  const int c_mem = header->Index("memory_mib");
  const int c_gpus = header->Index("num_gpu");
  const int c_milli = header->Index("gpu_milli");
  const int c_spec = header->Index("gpu_spec");
  const int c_qos = header->Index("qos");
  const int c_create = header->Index("creation_time");
  const int c_delete = header->Index("deletion_time");
  const int c_sched = header->Index("scheduled_time");
  const size_t width = header->size();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMaxGpus = std::numeric_limits<int32_t>::max();

  Status s = internal::ForEachRow(
      **reader, options, &trace.stats, [&](const Row& row, int64_t index) -> Status {
        if (Status e = row.ExpectFields(width); !e.ok()) return e;
        Job job;
        job.id = std::string(row.Trimmed(c_name));
        if (job.id.empty()) return row.ErrorAt(c_name, "field 'name': empty");
        // Resources we do not model are still checked, so that a shifted
        // or corrupted row is caught.
        for (int c : {c_cpu, c_mem}) {
          if (c < 0) continue;
          int64_t v = 0;
          const char* name = c == c_cpu ? "cpu_milli" : "memory_mib";
          if (Status e = row.Integral(c, name, &v); !e.ok()) return e;
          if (Status e = row.Range(c, name, v, 0, kMax); !e.ok()) return e;
        }
        int64_t gpus = 0, milli = 0;
        if (Status e = row.Integral(c_gpus, "num_gpu", &gpus); !e.ok()) return e;
        if (Status e = row.Range(c_gpus, "num_gpu", gpus, 0, kMaxGpus); !e.ok()) return e;
        if (Status e = row.Integral(c_milli, "gpu_milli", &milli); !e.ok()) return e;
        if (Status e = row.Range(c_milli, "gpu_milli", milli, 0, 1000); !e.ok()) return e;

        job.priority = options.default_priority;
        if (c_qos >= 0 && !row.IsEmpty(c_qos) &&
            !QosPriority(row.Trimmed(c_qos), &job.priority)) {
          return row.ErrorAt(c_qos, "field 'qos': unknown class \"" +
                                        std::string(row.Trimmed(c_qos)) +
                                        "\" (expected LS, BE, Burstable or Guaranteed)");
        }
        if (c_spec >= 0) job.gpu_model = internal::CanonicalGpuList(row.Str(c_spec));
        job.vc = options.default_vc;

        if (c_create >= 0) {
          if (Status e = row.Integral(c_create, "creation_time", &job.submit_time_s); !e.ok()) {
            return e;
          }
          if (Status e = row.Range(c_create, "creation_time", job.submit_time_s, 0, kMax);
              !e.ok()) {
            return e;
          }
          job.duration_s = kUnknownDuration;
          if (c_delete >= 0 && !row.IsEmpty(c_delete)) {
            int64_t deletion = 0, start = job.submit_time_s;
            if (Status e = row.Integral(c_delete, "deletion_time", &deletion); !e.ok()) return e;
            if (c_sched >= 0 && !row.IsEmpty(c_sched)) {
              if (Status e = row.Integral(c_sched, "scheduled_time", &start); !e.ok()) return e;
              if (start < job.submit_time_s) {
                return row.ErrorAt(c_sched, "field 'scheduled_time': before creation_time");
              }
            }
            if (deletion < start) {
              return row.ErrorAt(c_delete, c_sched >= 0 && !row.IsEmpty(c_sched)
                                               ? "field 'deletion_time': before scheduled_time"
                                               : "field 'deletion_time': before creation_time");
            }
            job.duration_s = deletion - start;
            if (c_sched >= 0 && row.IsEmpty(c_sched)) {
              // Never scheduled (Pending): its lifetime is all we know.
              ++trace.stats.adjusted["unscheduled_lifetime_as_duration"];
            }
          }
        } else {
          // Time-less variant: keep the file order, durations unknown.
          job.submit_time_s = index;
          job.duration_s = kUnknownDuration;
        }

        if (gpus == 0) {
          if (!options.keep_cpu_only_jobs) {
            ++trace.stats.dropped["cpu_only"];
            return Status::Ok();
          }
          job.gpus_per_pod = 0;
        } else if (gpus == 1 && milli > 0 && milli < 1000) {
          if (options.gpu_share == GpuSharePolicy::kSkip) {
            ++trace.stats.dropped["fractional_gpu"];
            return Status::Ok();
          }
          ++trace.stats.adjusted["fractional_gpu_rounded_up"];
          if (job.duration_s > 0)
            trace.stats.added_gpu_seconds += (1000 - milli) * job.duration_s / 1000;
          job.gpus_per_pod = 1;
        } else {
          job.gpus_per_pod = static_cast<int32_t>(gpus);
        }
        job.num_pods = 1;
        trace.jobs.push_back(std::move(job));
        return Status::Ok();
      });
  if (!s.ok()) return s;
  internal::FinishTrace(options, &trace);
  return trace;
}

}  // namespace apiary::traces
