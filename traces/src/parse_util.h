// Internal helpers shared by the readers: typed field access that reports
// "file:line:column: reason", header-to-column maps, the bad-row policy and
// the final sort/rebase of a trace. Not installed; not part of the API.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "apiary/traces/csv.h"
#include "apiary/traces/status.h"
#include "apiary/traces/trace.h"

namespace apiary::traces::internal {

std::string_view Trim(std::string_view s);

// Strict number syntax (surrounding blanks allowed): optional sign, digits.
bool ParseInt64(std::string_view s, int64_t* out);
// Finite decimal or scientific number.
bool ParseDouble(std::string_view s, double* out);
// A number with no fractional part, written as "12", "12.0" or "1.2e1".
bool ParseIntegral(std::string_view s, int64_t* out);
// "YYYY-MM-DD HH:MM:SS" (or 'T' instead of the space; optional fractional
// seconds are rejected) read as UTC -> Unix seconds.
bool ParseDateTime(std::string_view s, int64_t* unix_seconds);
// "YYYY-MM-DD" -> Unix seconds at 00:00 UTC.
bool ParseDate(std::string_view s, int64_t* unix_seconds);

// Typed access to one record; every failure names the file, line, column
// and field.
class Row {
 public:
  Row(const std::string& file, const CsvRecord& record)
      : file_(file), record_(record) {}

  size_t size() const { return record_.size(); }
  const CsvRecord& record() const { return record_; }
  std::string_view Str(size_t i) const { return record_.fields[i]; }
  std::string_view Trimmed(size_t i) const { return Trim(record_.fields[i]); }
  bool IsEmpty(size_t i) const { return Trimmed(i).empty(); }

  Status ErrorAt(size_t i, const std::string& reason) const;
  Status ErrorAtEnd(const std::string& reason) const;
  // Exactly `n` fields.
  Status ExpectFields(size_t n) const;

  Status Int(size_t i, std::string_view name, int64_t* out) const;
  Status Int32(size_t i, std::string_view name, int32_t* out) const;
  Status Double(size_t i, std::string_view name, double* out) const;
  Status Integral(size_t i, std::string_view name, int64_t* out) const;
  Status DateTime(size_t i, std::string_view name, int64_t* out) const;
  // Like the above, but an empty field leaves *out alone and sets *present.
  Status OptDouble(size_t i, std::string_view name, double* out, bool* present) const;
  Status OptInt(size_t i, std::string_view name, int64_t* out, bool* present) const;
  // Fails unless lo <= v <= hi.
  Status Range(size_t i, std::string_view name, int64_t v, int64_t lo,
               int64_t hi) const;

 private:
  Status Bad(size_t i, std::string_view name, std::string_view expected) const;
  const std::string& file_;
  const CsvRecord& record_;
};

// Column indices by header name.
class Header {
 public:
  // Reads names from `record`. Unknown names are an error unless
  // allow_unknown; every name in `required` must be present; duplicates are
  // an error.
  static Result<Header> Parse(const std::string& file, const CsvRecord& record,
                              std::initializer_list<std::string_view> required,
                              std::initializer_list<std::string_view> optional,
                              bool allow_unknown);
  // -1 when absent.
  int Index(std::string_view name) const;
  size_t size() const { return names_.size(); }

 private:
  std::vector<std::string> names_;
};

// Applies ReadOptions::skip_bad_rows.
class BadRows {
 public:
  BadRows(const ReadOptions& options, ReadStats* stats)
      : options_(options), stats_(stats) {}
  // `error` is a malformed-row error. Returns OK when the row is to be
  // skipped and reading continues, otherwise the error itself.
  Status Handle(Status error);

 private:
  const ReadOptions& options_;
  ReadStats* stats_;
};

// Reads the remaining records of `reader`, calling fn(const Row&, int64_t
// data_index) -> Status for each well-formed one (data_index counts every
// data record, good or bad, from 0). Lexical errors and fn's errors go
// through the bad-row policy. Counts stats->rows.
template <typename Fn>
Status ForEachRow(CsvReader& reader, const ReadOptions& options,
                  ReadStats* stats, Fn&& fn) {
  BadRows bad(options, stats);
  CsvRecord record;
  Status error;
  int64_t index = 0;
  while (reader.Next(&record, &error)) {
    ++stats->rows;
    Status s = error.ok() ? fn(Row(reader.name(), record), index) : error;
    ++index;
    if (!s.ok()) {
      Status h = bad.Handle(std::move(s));
      if (!h.ok()) return h;
    }
  }
  return Status::Ok();
}

// Reads the header record. Error if the file has no record at all.
Status ReadHeaderRecord(CsvReader& reader, CsvRecord* record);

// Opens a CSV reader; on failure returns the error.
Result<std::unique_ptr<CsvReader>> OpenCsv(const std::string& path,
                                           CsvOptions options = {});

// Resolves the reference SKU: options.reference_sku if set, else
// `reader_default`; canonical name, or an error for unknown names.
Result<std::string> ResolveReference(const ReadOptions& options,
                                     std::string_view reader_default);

// Splits `gpus` (> 0) into equal pods of at most `max_per_pod` GPUs: one pod
// if it fits, else the largest divisor of gpus that is <= max_per_pod.
// Returns false if max_per_pod < 1 or a count does not fit in int32.
bool SplitIntoPods(int64_t gpus, int32_t max_per_pod, int32_t* num_pods,
                   int32_t* gpus_per_pod);

// Sets job->num_pods / gpus_per_pod from a job's GPU total (field `i` of
// `row`, for messages). A GPU-less job is kept as 1 pod × 0 GPUs if
// options.keep_cpu_only_jobs, else *keep = false and dropped["cpu_only"] is
// counted. Totals above options.max_gpus_per_pod are split (SplitIntoPods)
// and counted in adjusted["split_into_pods"].
Status FitGpuTotal(const Row& row, size_t i, std::string_view name, int64_t gpus,
                   const ReadOptions& options, ReadStats* stats, Job* job,
                   bool* keep);

// Canonicalises a '|'-separated list of GPU model spellings, dropping
// empties and duplicates (first occurrence kept).
std::string CanonicalGpuList(std::string_view spec);

// Stable sort by submit time, then rebase (options.rebase_time).
void FinishTrace(const ReadOptions& options, Trace* trace);

}  // namespace apiary::traces::internal
