// The canonical job CSV (format documented in traces/README.md) and the
// format dispatcher.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <unordered_set>

#include "apiary/traces/gpu_sku.h"
#include "apiary/traces/readers.h"
#include "parse_util.h"

namespace apiary::traces {

using internal::Row;

namespace {

constexpr std::string_view kDirective = "reference_sku:";

}  // namespace

Result<Trace> ReadCanonicalJobs(const std::string& path, const ReadOptions& options) {
  Trace trace;
  CsvOptions csv;
  csv.comment = '#';
  auto reader = internal::OpenCsv(path, csv);
  if (!reader.ok()) return reader.status();
  CsvRecord header_record;
  if (Status s = internal::ReadHeaderRecord(**reader, &header_record); !s.ok()) return s;
  auto header = internal::Header::Parse(
      path, header_record, {"id", "submit_time_s", "duration_s", "num_pods", "gpus_per_pod"},
      {"vc", "priority", "gpu_model", "user", "model_class"}, /*allow_unknown=*/false);
  if (!header.ok()) return header.status();
  const int c_id = header->Index("id");
  const int c_submit = header->Index("submit_time_s");
  const int c_duration = header->Index("duration_s");
  const int c_pods = header->Index("num_pods");
  const int c_gpus = header->Index("gpus_per_pod");
  const int c_vc = header->Index("vc");
  const int c_priority = header->Index("priority");
  const int c_model = header->Index("gpu_model");
  const int c_user = header->Index("user");
  const int c_class = header->Index("model_class");
  const size_t width = header->size();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  std::unordered_set<std::string> ids;

  Status s = internal::ForEachRow(
      **reader, options, &trace.stats, [&](const Row& row, int64_t) -> Status {
        if (Status e = row.ExpectFields(width); !e.ok()) return e;
        Job job;
        job.id = std::string(row.Str(c_id));
        if (job.id.empty()) return row.ErrorAt(c_id, "field 'id': empty");
        if (ids.count(job.id) != 0) {
          return row.ErrorAt(c_id, "field 'id': duplicate id \"" + job.id + "\"");
        }
        if (Status e = row.Int(c_submit, "submit_time_s", &job.submit_time_s); !e.ok()) return e;
        if (Status e = row.Range(c_submit, "submit_time_s", job.submit_time_s, 0, kMax); !e.ok()) {
          return e;
        }
        if (Status e = row.Int(c_duration, "duration_s", &job.duration_s); !e.ok()) return e;
        if (Status e = row.Range(c_duration, "duration_s", job.duration_s, kUnknownDuration, kMax);
            !e.ok()) {
          return e;
        }
        if (Status e = row.Int32(c_pods, "num_pods", &job.num_pods); !e.ok()) return e;
        if (Status e = row.Range(c_pods, "num_pods", job.num_pods, 1,
                                 std::numeric_limits<int32_t>::max());
            !e.ok()) {
          return e;
        }
        if (Status e = row.Int32(c_gpus, "gpus_per_pod", &job.gpus_per_pod); !e.ok()) return e;
        if (Status e = row.Range(c_gpus, "gpus_per_pod", job.gpus_per_pod, 0,
                                 std::numeric_limits<int32_t>::max());
            !e.ok()) {
          return e;
        }
        job.vc = c_vc >= 0 ? std::string(row.Trimmed(c_vc)) : std::string();
        if (job.vc.empty()) job.vc = options.default_vc;
        job.priority = options.default_priority;
        if (c_priority >= 0 && !row.IsEmpty(c_priority)) {
          if (Status e = row.Int32(c_priority, "priority", &job.priority); !e.ok()) return e;
          if (Status e = row.Range(c_priority, "priority", job.priority, -1, 1000); !e.ok()) {
            return e;
          }
        }
        if (c_model >= 0) job.gpu_model = internal::CanonicalGpuList(row.Str(c_model));
        if (c_user >= 0) job.user = std::string(row.Str(c_user));
        if (c_class >= 0) job.model_class = std::string(row.Trimmed(c_class));
        ids.insert(job.id);
        if (job.gpus_per_pod == 0 && !options.keep_cpu_only_jobs) {
          ++trace.stats.dropped["cpu_only"];
          return Status::Ok();
        }
        trace.jobs.push_back(std::move(job));
        return Status::Ok();
      });
  if (!s.ok()) return s;

  // "# reference_sku: NAME" anywhere in the file; the last one wins.
  std::string file_reference;
  for (const auto& [line, text] : (*reader)->comments()) {
    std::string_view t = internal::Trim(text);
    if (t.substr(0, kDirective.size()) != kDirective) continue;
    std::string_view name = internal::Trim(t.substr(kDirective.size()));
    if (!name.empty() && FindGpuSku(name) == nullptr) {
      return Status::Error(FormatLocation(path, line, 1,
                                          "unknown reference SKU '" + std::string(name) + "'"));
    }
    file_reference = std::string(name);
  }
  Result<std::string> ref = internal::ResolveReference(options, file_reference);
  if (!ref.ok()) return ref.status();
  trace.reference_sku = *ref;
  internal::FinishTrace(options, &trace);
  return trace;
}

Status WriteCanonicalJobs(const Trace& trace, const std::string& path) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return Status::Error(path + ": cannot open for writing: " + std::strerror(errno));
  if (!trace.reference_sku.empty()) out << "# reference_sku: " << trace.reference_sku << "\n";
  // model_class only when some job has one: older readers keep working.
  const bool classes = std::any_of(trace.jobs.begin(), trace.jobs.end(),
                                   [](const Job& j) { return !j.model_class.empty(); });
  out << "id,submit_time_s,duration_s,num_pods,gpus_per_pod,vc,priority,gpu_model,user"
      << (classes ? ",model_class\n" : "\n");
  for (const Job& j : trace.jobs) {
    out << CsvQuote(j.id) << ',' << j.submit_time_s << ',' << j.duration_s << ','
        << j.num_pods << ',' << j.gpus_per_pod << ',' << CsvQuote(j.vc) << ',' << j.priority
        << ',' << CsvQuote(j.gpu_model) << ',' << CsvQuote(j.user);
    if (classes) out << ',' << CsvQuote(j.model_class);
    out << '\n';
  }
  out.flush();
  if (!out) return Status::Error(path + ": write failed");
  return Status::Ok();
}

Result<TraceFormat> ParseTraceFormat(std::string_view name) {
  if (name == "philly") return TraceFormat::kPhilly;
  if (name == "openb") return TraceFormat::kOpenb;
  if (name == "pai") return TraceFormat::kPai;
  if (name == "helios") return TraceFormat::kHelios;
  if (name == "swf") return TraceFormat::kSwf;
  if (name == "canonical" || name == "csv") return TraceFormat::kCanonical;
  return Status::Error("unknown trace format '" + std::string(name) +
                       "' (expected philly, openb, pai, helios, swf or canonical)");
}

std::string_view TraceFormatName(TraceFormat format) {
  switch (format) {
    case TraceFormat::kPhilly: return "philly";
    case TraceFormat::kOpenb: return "openb";
    case TraceFormat::kPai: return "pai";
    case TraceFormat::kHelios: return "helios";
    case TraceFormat::kSwf: return "swf";
    case TraceFormat::kCanonical: return "canonical";
  }
  return "?";
}

Result<Trace> ReadTrace(TraceFormat format, const std::vector<std::string>& paths,
                        const ReadOptions& options) {
  const size_t want = format == TraceFormat::kPai ? 2 : 1;
  if (paths.size() != want) {
    return Status::Error(std::string(TraceFormatName(format)) + " trace: expected " +
                         std::to_string(want) + " file(s), got " +
                         std::to_string(paths.size()));
  }
  switch (format) {
    case TraceFormat::kPhilly: return ReadPhillyJobs(paths[0], options);
    case TraceFormat::kOpenb: return ReadOpenbPods(paths[0], options);
    case TraceFormat::kPai: return ReadPaiJobs(paths[0], paths[1], options);
    case TraceFormat::kHelios: return ReadHeliosJobs(paths[0], options);
    case TraceFormat::kSwf: return ReadSwf(paths[0], options);
    case TraceFormat::kCanonical: return ReadCanonicalJobs(paths[0], options);
  }
  return Status::Error("unknown trace format");
}

}  // namespace apiary::traces
