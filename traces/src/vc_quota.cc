#include "apiary/traces/vc_quota.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <tuple>
#include <unordered_set>

#include "parse_util.h"

namespace apiary::traces {

using internal::Row;

namespace {
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
}  // namespace

Result<VcQuotas> ReadVcQuotas(const std::string& path, const ReadOptions& options) {
  VcQuotas quotas;
  CsvOptions csv;
  csv.comment = '#';
  auto reader = internal::OpenCsv(path, csv);
  if (!reader.ok()) return reader.status();
  CsvRecord header_record;
  if (Status s = internal::ReadHeaderRecord(**reader, &header_record); !s.ok()) return s;

  // "vc,node num" is the HeliosArtifact file for Philly; anything else must
  // be the canonical quota CSV.
  const bool helios_style =
      std::any_of(header_record.fields.begin(), header_record.fields.end(),
                  [](const std::string& f) { return internal::Trim(f) == "node num"; });
  Result<internal::Header> header =
      helios_style
          ? internal::Header::Parse(path, header_record, {"vc", "node num"}, {},
                                    /*allow_unknown=*/false)
          : internal::Header::Parse(path, header_record, {"vc"},
                                    {"nodes", "gpus", "gpu_model"},
                                    /*allow_unknown=*/false);
  if (!header.ok()) return header.status();
  const int c_vc = header->Index("vc");
  const int c_nodes = header->Index(helios_style ? "node num" : "nodes");
  const int c_gpus = header->Index("gpus");
  const int c_model = header->Index("gpu_model");
  if (c_nodes < 0 && c_gpus < 0) {
    return Status::Error(FormatLocation(path, header_record.line, 1,
                                        "missing column 'nodes' or 'gpus'"));
  }
  const size_t width = header->size();
  std::unordered_set<std::string> seen;

  Status s = internal::ForEachRow(
      **reader, options, &quotas.stats, [&](const Row& row, int64_t) -> Status {
        if (Status e = row.ExpectFields(width); !e.ok()) return e;
        VcQuota q;
        q.vc = std::string(row.Trimmed(c_vc));
        if (q.vc.empty()) return row.ErrorAt(c_vc, "field 'vc': empty");
        if (c_model >= 0) q.gpu_model = internal::CanonicalGpuList(row.Str(c_model));
        // One row per VC, or per VC and GPU model (a quota on each SKU).
        const std::string key = q.vc + '\n' + q.gpu_model;
        if (seen.count(key) != 0) {
          return row.ErrorAt(c_vc, "field 'vc': VC \"" + q.vc + "\" listed twice" +
                                       (q.gpu_model.empty() ? "" : " for " + q.gpu_model));
        }
        for (auto [c, out, name] :
             {std::tuple{c_nodes, &q.nodes, helios_style ? "node num" : "nodes"},
              std::tuple{c_gpus, &q.gpus, "gpus"}}) {
          if (c < 0 || row.IsEmpty(c)) continue;
          if (Status e = row.Integral(c, name, out); !e.ok()) return e;
          if (Status e = row.Range(c, name, *out, 0, kMax); !e.ok()) return e;
        }
        if (q.nodes == kQuotaNotGiven && q.gpus == kQuotaNotGiven) {
          return row.ErrorAt(c_vc, "VC \"" + q.vc + "\" has neither nodes nor gpus");
        }
        seen.insert(key);
        quotas.vcs.push_back(std::move(q));
        return Status::Ok();
      });
  if (!s.ok()) return s;
  return quotas;
}

Result<VcQuotas> ReadHeliosVcGpus(const std::string& path, const std::string& date,
                                  const ReadOptions& options) {
  VcQuotas quotas;
  int64_t wanted = 0;
  if (!date.empty() && !internal::ParseDate(date, &wanted)) {
    return Status::Error("invalid date '" + date + "' (expected YYYY-MM-DD)");
  }
  auto reader = internal::OpenCsv(path);
  if (!reader.ok()) return reader.status();
  CsvRecord header_record;
  if (Status s = internal::ReadHeaderRecord(**reader, &header_record); !s.ok()) return s;
  auto header = internal::Header::Parse(path, header_record, {"date"}, {},
                                        /*allow_unknown=*/true);
  if (!header.ok()) return header.status();
  const int c_date = header->Index("date");
  const int c_total = header->Index("total");
  const size_t width = header->size();
  bool found = false;

  Status s = internal::ForEachRow(
      **reader, options, &quotas.stats, [&](const Row& row, int64_t) -> Status {
        if (Status e = row.ExpectFields(width); !e.ok()) return e;
        int64_t day = 0;
        if (!internal::ParseDate(row.Str(c_date), &day)) {
          return row.ErrorAt(c_date, "field 'date': expected YYYY-MM-DD, got \"" +
                                         std::string(row.Str(c_date)) + "\"");
        }
        std::vector<VcQuota> vcs;
        int64_t sum = 0;
        for (size_t i = 0; i < width; ++i) {
          if (static_cast<int>(i) == c_date || static_cast<int>(i) == c_total) continue;
          const std::string name(internal::Trim(header_record.fields[i]));
          VcQuota q;
          q.vc = name;
          if (Status e = row.Integral(i, name, &q.gpus); !e.ok()) return e;
          if (Status e = row.Range(i, name, q.gpus, 0, kMax / 1024); !e.ok()) return e;
          sum += q.gpus;
          vcs.push_back(std::move(q));
        }
        if (c_total >= 0) {
          int64_t total = 0;
          if (Status e = row.Integral(c_total, "total", &total); !e.ok()) return e;
          if (total != sum) {
            return row.ErrorAt(c_total, "field 'total': " + std::to_string(total) +
                                            " != sum of VC columns " + std::to_string(sum));
          }
        }
        if (!found && (date.empty() || day == wanted)) {
          found = true;
          quotas.vcs = std::move(vcs);
        }
        return Status::Ok();
      });
  if (!s.ok()) return s;
  if (!found) {
    return Status::Error(path + ": no row for date " + (date.empty() ? "(any)" : date));
  }
  return quotas;
}

VcQuotas DeriveVcQuotas(const Trace& trace, int64_t total_units, int32_t gpus_per_unit) {
  using Wide = __int128;
  std::map<std::string, Wide> demand;  // ordered by name: the tie-break rule
  for (const Job& job : trace.jobs) {
    const Wide seconds = std::max<int64_t>(job.duration_s, 1);
    demand[job.vc] += static_cast<Wide>(job.total_gpus()) * seconds;
  }
  Wide total_demand = 0;
  for (const auto& [vc, d] : demand) total_demand += d;

  VcQuotas out;
  if (demand.empty()) return out;
  total_units = std::max<int64_t>(total_units, 0);
  struct Share {
    std::string vc;
    int64_t units;
    Wide remainder;
  };
  std::vector<Share> shares;
  int64_t assigned = 0;
  for (const auto& [vc, d] : demand) {
    // Without any demand, split evenly.
    const Wide num = total_demand > 0 ? static_cast<Wide>(total_units) * d
                                      : static_cast<Wide>(total_units);
    const Wide den = total_demand > 0 ? total_demand : static_cast<Wide>(demand.size());
    shares.push_back({vc, static_cast<int64_t>(num / den), num % den});
    assigned += shares.back().units;
  }
  // Largest remainder first; equal remainders in name order.
  std::vector<size_t> order(shares.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return shares[a].remainder > shares[b].remainder;
  });
  for (size_t k = 0; assigned < total_units && k < order.size(); ++k, ++assigned) {
    ++shares[order[k]].units;
  }
  for (const Share& sh : shares) {
    VcQuota q;
    q.vc = sh.vc;
    q.nodes = sh.units;
    q.gpus = sh.units * gpus_per_unit;
    out.vcs.push_back(std::move(q));
  }
  return out;
}

Status WriteVcQuotas(const VcQuotas& quotas, const std::string& path) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return Status::Error(path + ": cannot open for writing: " + std::strerror(errno));
  out << "vc,nodes,gpus,gpu_model\n";
  for (const VcQuota& q : quotas.vcs) {
    out << CsvQuote(q.vc) << ',';
    if (q.nodes != kQuotaNotGiven) out << q.nodes;
    out << ',';
    if (q.gpus != kQuotaNotGiven) out << q.gpus;
    out << ',' << CsvQuote(q.gpu_model) << '\n';
  }
  out.flush();
  if (!out) return Status::Error(path + ": write failed");
  return Status::Ok();
}

}  // namespace apiary::traces
