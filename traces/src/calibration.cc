// Readers of the calibration measurements (calibration.h). Each file is read
// with the same strict CSV machinery as the traces, so a damaged copy fails
// loudly with the file, line and column instead of skewing the model.
#include "apiary/traces/calibration.h"

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <limits>

#include "apiary/traces/readers.h"
#include "parse_util.h"

namespace apiary::traces {

using internal::Row;

namespace {

// Opens `path`, maps the `columns` (all required; other columns ignored) and
// calls fn(row, column indices) for every record; any bad record is an error.
template <typename Fn>
Status ReadColumns(const std::string& path, std::initializer_list<std::string_view> columns,
                   Fn&& fn) {
  auto reader = internal::OpenCsv(path);
  if (!reader.ok()) return reader.status();
  CsvRecord header_record;
  if (Status s = internal::ReadHeaderRecord(**reader, &header_record); !s.ok()) return s;
  auto header = internal::Header::Parse(path, header_record, columns, {}, /*allow_unknown=*/true);
  if (!header.ok()) return header.status();
  std::vector<int> idx;
  for (std::string_view c : columns) idx.push_back(header->Index(c));
  const size_t width = header->size();
  ReadOptions options;  // strict: the first bad row is the error
  ReadStats stats;
  return internal::ForEachRow(**reader, options, &stats, [&](const Row& row, int64_t) -> Status {
    if (Status e = row.ExpectFields(width); !e.ok()) return e;
    return fn(row, idx);
  });
}

// A measured throughput or time: finite and > 0.
Status Positive(const Row& row, int i, std::string_view name, double* out) {
  if (Status e = row.Double(i, name, out); !e.ok()) return e;
  if (!(*out > 0))
    return row.ErrorAt(i, "field '" + std::string(name) + "': must be a positive measurement");
  return Status::Ok();
}

Status Count(const Row& row, int i, std::string_view name, int32_t* out) {
  if (Status e = row.Int32(i, name, out); !e.ok()) return e;
  return row.Range(i, name, *out, 1, std::numeric_limits<int32_t>::max());
}

Status NonEmpty(const Row& row, int i, std::string_view name, std::string* out) {
  *out = std::string(row.Trimmed(i));
  if (out->empty()) return row.ErrorAt(i, "field '" + std::string(name) + "': empty");
  return Status::Ok();
}

}  // namespace

Result<std::vector<GavelConsolidationRow>> ReadGavelConsolidation(const std::string& path) {
  std::vector<GavelConsolidationRow> out;
  Status s = ReadColumns(
      path,
      {"worker_type", "model", "batch_size", "scale_factor", "consolidated_steps_per_s",
       "unconsolidated_steps_per_s"},
      [&](const Row& row, const std::vector<int>& c) -> Status {
        GavelConsolidationRow r;
        if (Status e = NonEmpty(row, c[0], "worker_type", &r.worker); !e.ok()) return e;
        if (Status e = NonEmpty(row, c[1], "model", &r.model); !e.ok()) return e;
        if (Status e = Count(row, c[2], "batch_size", &r.batch_size); !e.ok()) return e;
        if (Status e = Count(row, c[3], "scale_factor", &r.gpus); !e.ok()) return e;
        if (Status e = Positive(row, c[4], "consolidated_steps_per_s", &r.consolidated); !e.ok())
          return e;
        if (Status e = Positive(row, c[5], "unconsolidated_steps_per_s", &r.unconsolidated);
            !e.ok())
          return e;
        out.push_back(std::move(r));
        return Status::Ok();
      });
  if (!s.ok()) return s;
  return out;
}

Result<std::vector<GavelSkuRow>> ReadGavelSkuThroughputs(const std::string& path) {
  std::vector<GavelSkuRow> out;
  Status s = ReadColumns(
      path, {"model", "batch_size", "k80_steps_per_s", "p100_steps_per_s", "v100_steps_per_s"},
      [&](const Row& row, const std::vector<int>& c) -> Status {
        GavelSkuRow r;
        if (Status e = NonEmpty(row, c[0], "model", &r.model); !e.ok()) return e;
        if (!row.IsEmpty(c[1]))
          if (Status e = Count(row, c[1], "batch_size", &r.batch_size); !e.ok()) return e;
        if (Status e = Positive(row, c[2], "k80_steps_per_s", &r.k80); !e.ok()) return e;
        if (Status e = Positive(row, c[3], "p100_steps_per_s", &r.p100); !e.ok()) return e;
        if (Status e = Positive(row, c[4], "v100_steps_per_s", &r.v100); !e.ok()) return e;
        out.push_back(std::move(r));
        return Status::Ok();
      });
  if (!s.ok()) return s;
  return out;
}

Result<std::vector<PolluxPairRow>> ReadPolluxPairs(const std::string& path) {
  std::vector<PolluxPairRow> out;
  Status s = ReadColumns(
      path,
      {"model", "num_gpus", "local_bsz", "packed_placement", "spread_placement",
       "packed_step_time_s", "spread_step_time_s"},
      [&](const Row& row, const std::vector<int>& c) -> Status {
        PolluxPairRow r;
        if (Status e = NonEmpty(row, c[0], "model", &r.model); !e.ok()) return e;
        if (Status e = Count(row, c[1], "num_gpus", &r.gpus); !e.ok()) return e;
        if (Status e = Count(row, c[2], "local_bsz", &r.local_bsz); !e.ok()) return e;
        if (Status e = NonEmpty(row, c[3], "packed_placement", &r.packed); !e.ok()) return e;
        if (Status e = NonEmpty(row, c[4], "spread_placement", &r.spread); !e.ok()) return e;
        if (Status e = Positive(row, c[5], "packed_step_time_s", &r.packed_step_s); !e.ok())
          return e;
        if (Status e = Positive(row, c[6], "spread_step_time_s", &r.spread_step_s); !e.ok())
          return e;
        out.push_back(std::move(r));
        return Status::Ok();
      });
  if (!s.ok()) return s;
  return out;
}

Result<std::vector<PolluxPlacementRow>> ReadPolluxPlacements(const std::string& path) {
  std::vector<PolluxPlacementRow> out;
  Status s = ReadColumns(path, {"placement", "local_bsz", "step_time", "sync_time"},
                         [&](const Row& row, const std::vector<int>& c) -> Status {
                           PolluxPlacementRow r;
                           if (Status e = NonEmpty(row, c[0], "placement", &r.placement); !e.ok())
                             return e;
                           if (Status e = Count(row, c[1], "local_bsz", &r.local_bsz); !e.ok())
                             return e;
                           if (Status e = Positive(row, c[2], "step_time", &r.step_s); !e.ok())
                             return e;
                           if (Status e = row.Double(c[3], "sync_time", &r.sync_s); !e.ok())
                             return e;
                           out.push_back(std::move(r));
                           return Status::Ok();
                         });
  if (!s.ok()) return s;
  return out;
}

double Median(std::vector<double> v) {
  if (v.empty()) return std::numeric_limits<double>::quiet_NaN();
  const size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid), v.end());
  const double hi = v[mid];
  if (v.size() % 2 == 1) return hi;
  const double lo = *std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid));
  return (lo + hi) / 2;
}

}  // namespace apiary::traces
