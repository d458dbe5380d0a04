#include "parse_util.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <limits>

#include "apiary/traces/gpu_sku.h"

namespace apiary::traces::internal {

std::string_view Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\r')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r')) --e;
  return s.substr(b, e - b);
}

bool ParseInt64(std::string_view s, int64_t* out) {
  s = Trim(s);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return false;
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return false;
  *out = v;
  return true;
}

bool ParseDouble(std::string_view s, double* out) {
  s = Trim(s);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return false;
  double v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || !std::isfinite(v)) {
    return false;
  }
  *out = v;
  return true;
}

bool ParseIntegral(std::string_view s, int64_t* out) {
  if (ParseInt64(s, out)) return true;
  double d = 0;
  if (!ParseDouble(s, &d)) return false;
  // 2^63 is exactly representable; anything at or beyond it overflows.
  if (d != std::trunc(d) || d >= 9223372036854775808.0 || d < -9223372036854775808.0) {
    return false;
  }
  *out = static_cast<int64_t>(d);
  return true;
}

namespace {

bool Digits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

bool DateAt(std::string_view s, int64_t* days) {
  int y, m, d;
  if (!Digits(s, 0, 4, &y) || s[4] != '-' || !Digits(s, 5, 2, &m) ||
      s[7] != '-' || !Digits(s, 8, 2, &d)) {
    return false;
  }
  const std::chrono::year_month_day ymd{std::chrono::year{y},
                                        std::chrono::month{static_cast<unsigned>(m)},
                                        std::chrono::day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return false;
  *days = std::chrono::sys_days{ymd}.time_since_epoch().count();
  return true;
}

}  // namespace

bool ParseDate(std::string_view s, int64_t* unix_seconds) {
  s = Trim(s);
  int64_t days = 0;
  if (s.size() != 10 || !DateAt(s, &days)) return false;
  *unix_seconds = days * 86400;
  return true;
}

bool ParseDateTime(std::string_view s, int64_t* unix_seconds) {
  s = Trim(s);
  int64_t days = 0;
  int hh, mm, ss;
  if (s.size() != 19 || !DateAt(s, &days) || (s[10] != ' ' && s[10] != 'T') ||
      !Digits(s, 11, 2, &hh) || s[13] != ':' || !Digits(s, 14, 2, &mm) ||
      s[16] != ':' || !Digits(s, 17, 2, &ss) || hh > 23 || mm > 59 || ss > 60) {
    return false;
  }
  *unix_seconds = days * 86400 + hh * 3600 + mm * 60 + ss;
  return true;
}

Status Row::ErrorAt(size_t i, const std::string& reason) const {
  if (i >= record_.size()) return ErrorAtEnd(reason);
  return Status::Error(FormatLocation(file_, record_.field_lines[i],
                                      record_.field_columns[i], reason));
}

Status Row::ErrorAtEnd(const std::string& reason) const {
  return Status::Error(
      FormatLocation(file_, record_.end_line, record_.end_column, reason));
}

Status Row::ExpectFields(size_t n) const {
  if (record_.size() == n) return Status::Ok();
  const std::string reason = "expected " + std::to_string(n) + " fields, got " +
                             std::to_string(record_.size());
  if (record_.size() < n) return ErrorAtEnd(reason);
  return ErrorAt(n, reason);
}

Status Row::Bad(size_t i, std::string_view name, std::string_view expected) const {
  std::string value(Str(i));
  if (value.size() > 40) value = value.substr(0, 37) + "...";
  return ErrorAt(i, "field '" + std::string(name) + "': expected " +
                        std::string(expected) + ", got \"" + value + "\"");
}

Status Row::Int(size_t i, std::string_view name, int64_t* out) const {
  if (!ParseInt64(Str(i), out)) return Bad(i, name, "an integer");
  return Status::Ok();
}

Status Row::Int32(size_t i, std::string_view name, int32_t* out) const {
  int64_t v = 0;
  if (!ParseInt64(Str(i), &v) || v < std::numeric_limits<int32_t>::min() ||
      v > std::numeric_limits<int32_t>::max()) {
    return Bad(i, name, "a 32-bit integer");
  }
  *out = static_cast<int32_t>(v);
  return Status::Ok();
}

Status Row::Double(size_t i, std::string_view name, double* out) const {
  if (!ParseDouble(Str(i), out)) return Bad(i, name, "a number");
  return Status::Ok();
}

Status Row::Integral(size_t i, std::string_view name, int64_t* out) const {
  if (!ParseIntegral(Str(i), out)) return Bad(i, name, "a whole number");
  return Status::Ok();
}

Status Row::DateTime(size_t i, std::string_view name, int64_t* out) const {
  if (!ParseDateTime(Str(i), out)) {
    return Bad(i, name, "a date-time \"YYYY-MM-DD HH:MM:SS\"");
  }
  return Status::Ok();
}

Status Row::OptDouble(size_t i, std::string_view name, double* out,
                      bool* present) const {
  *present = !IsEmpty(i);
  if (!*present) return Status::Ok();
  return Double(i, name, out);
}

Status Row::OptInt(size_t i, std::string_view name, int64_t* out,
                   bool* present) const {
  *present = !IsEmpty(i);
  if (!*present) return Status::Ok();
  return Int(i, name, out);
}

Status Row::Range(size_t i, std::string_view name, int64_t v, int64_t lo,
                  int64_t hi) const {
  if (v >= lo && v <= hi) return Status::Ok();
  std::string reason = "field '" + std::string(name) + "': " + std::to_string(v) +
                       " is out of range [" + std::to_string(lo) + ", ";
  reason += hi == std::numeric_limits<int64_t>::max() ? std::string("inf")
                                                      : std::to_string(hi);
  return ErrorAt(i, reason + "]");
}

Result<Header> Header::Parse(const std::string& file, const CsvRecord& record,
                             std::initializer_list<std::string_view> required,
                             std::initializer_list<std::string_view> optional,
                             bool allow_unknown) {
  Header h;
  Row row(file, record);
  for (size_t i = 0; i < record.size(); ++i) {
    std::string name(Trim(record.fields[i]));
    if (std::find(h.names_.begin(), h.names_.end(), name) != h.names_.end()) {
      return row.ErrorAt(i, "duplicate column '" + name + "'");
    }
    const bool known =
        std::find(required.begin(), required.end(), name) != required.end() ||
        std::find(optional.begin(), optional.end(), name) != optional.end();
    if (!known && !allow_unknown) {
      return row.ErrorAt(i, "unknown column '" + name + "'");
    }
    h.names_.push_back(std::move(name));
  }
  for (std::string_view want : required) {
    if (h.Index(want) < 0) {
      return Status::Error(FormatLocation(file, record.line, 1,
                                          "missing column '" + std::string(want) + "'"));
    }
  }
  return h;
}

int Header::Index(std::string_view name) const {
  for (size_t i = 0; i < names_.size(); ++i) {
    if (names_[i] == name) return static_cast<int>(i);
  }
  return -1;
}

Status BadRows::Handle(Status error) {
  if (error.ok()) return error;
  if (!options_.skip_bad_rows) return error;
  ++stats_->skipped;
  if (stats_->errors.size() < options_.max_error_messages) {
    stats_->errors.push_back(error.message());
  }
  return Status::Ok();
}

Result<std::unique_ptr<CsvReader>> OpenCsv(const std::string& path,
                                           CsvOptions options) {
  return CsvReader::Open(path, options);
}

Result<std::string> ResolveReference(const ReadOptions& options,
                                     std::string_view reader_default) {
  std::string_view want =
      options.reference_sku.empty() ? reader_default : options.reference_sku;
  if (want.empty()) return std::string();
  const GpuSku* sku = FindGpuSku(want);
  if (sku == nullptr) {
    return Status::Error("unknown reference SKU '" + std::string(want) + "'");
  }
  return std::string(sku->name);
}

bool SplitIntoPods(int64_t gpus, int32_t max_per_pod, int32_t* num_pods,
                   int32_t* gpus_per_pod) {
  if (max_per_pod < 1 || gpus < 1) return false;
  int64_t per = gpus <= max_per_pod ? gpus : 1;
  if (gpus > max_per_pod) {
    for (int64_t d = max_per_pod; d >= 1; --d) {
      if (gpus % d == 0) {
        per = d;
        break;
      }
    }
  }
  const int64_t pods = gpus / per;
  if (pods > std::numeric_limits<int32_t>::max()) return false;
  *num_pods = static_cast<int32_t>(pods);
  *gpus_per_pod = static_cast<int32_t>(per);
  return true;
}

std::string CanonicalGpuList(std::string_view spec) {
  std::vector<std::string> seen;
  size_t start = 0;
  while (start <= spec.size()) {
    size_t bar = spec.find('|', start);
    if (bar == std::string_view::npos) bar = spec.size();
    std::string model = CanonicalGpuModel(spec.substr(start, bar - start));
    if (!model.empty() && std::find(seen.begin(), seen.end(), model) == seen.end()) {
      seen.push_back(std::move(model));
    }
    start = bar + 1;
  }
  std::string out;
  for (const std::string& m : seen) {
    if (!out.empty()) out.push_back('|');
    out += m;
  }
  return out;
}

void FinishTrace(const ReadOptions& options, Trace* trace) {
  std::stable_sort(trace->jobs.begin(), trace->jobs.end(),
                   [](const Job& a, const Job& b) {
                     return a.submit_time_s < b.submit_time_s;
                   });
  trace->time_origin_s = 0;
  if (options.rebase_time && !trace->jobs.empty()) {
    const int64_t origin = trace->jobs.front().submit_time_s;
    for (Job& job : trace->jobs) job.submit_time_s -= origin;
    trace->time_origin_s = origin;
  }
}

}  // namespace apiary::traces::internal

namespace apiary::traces::internal {

Status ReadHeaderRecord(CsvReader& reader, CsvRecord* record) {
  Status error;
  if (!reader.Next(record, &error)) {
    return Status::Error(FormatLocation(reader.name(), 1, 1,
                                        "empty file (expected a header line)"));
  }
  return error;
}

}  // namespace apiary::traces::internal

namespace apiary::traces::internal {

Status FitGpuTotal(const Row& row, size_t i, std::string_view name, int64_t gpus,
                   const ReadOptions& options, ReadStats* stats, Job* job,
                   bool* keep) {
  *keep = true;
  if (gpus < 0) return row.Range(i, name, gpus, 0, std::numeric_limits<int64_t>::max());
  if (gpus == 0) {
    if (!options.keep_cpu_only_jobs) {
      *keep = false;
      ++stats->dropped["cpu_only"];
      return Status::Ok();
    }
    job->num_pods = 1;
    job->gpus_per_pod = 0;
    return Status::Ok();
  }
  if (!SplitIntoPods(gpus, options.max_gpus_per_pod, &job->num_pods,
                     &job->gpus_per_pod)) {
    return row.ErrorAt(i, "field '" + std::string(name) + "': cannot split " +
                              std::to_string(gpus) + " GPUs into pods of at most " +
                              std::to_string(options.max_gpus_per_pod));
  }
  if (job->num_pods > 1) ++stats->adjusted["split_into_pods"];
  return Status::Ok();
}

}  // namespace apiary::traces::internal
