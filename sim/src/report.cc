#include "apiary/sim/report.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace apiary::sim {
namespace {

using Json = nlohmann::ordered_json;

double Round3(double x) { return std::round(x * 1000.0) / 1000.0; }

std::string Fixed(double x, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, x);
  return buf;
}

std::string Pad(const std::string& s, size_t width, bool left = false) {
  if (s.size() >= width) return s;
  return left ? s + std::string(width - s.size(), ' ') : std::string(width - s.size(), ' ') + s;
}

std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos && (s.empty() || s[0] != '#')) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

Json DistJson(const Distribution& d) {
  Json j;
  j["count"] = d.count;
  j["mean_s"] = Round3(d.mean);
  j["p50_s"] = d.p50;
  j["p95_s"] = d.p95;
  j["p99_s"] = d.p99;
  j["max_s"] = d.max;
  return j;
}

const char* OutcomeName(JobOutcome o) {
  switch (o) {
    case JobOutcome::kDone: return "done";
    case JobOutcome::kRejected: return "rejected";
    case JobOutcome::kUnfinished: return "unfinished";
  }
  return "?";
}

}  // namespace

Status WriteTextFile(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  if (!f) return Status::Invalid(path + ": cannot open for writing: " + std::strerror(errno));
  f << text;
  f.close();
  if (!f) return Status::Invalid(path + ": write failed");
  return Status::Ok();
}

Status MakeDirectories(const std::string& dir) {
  std::string cur;
  size_t i = 0;
  while (i <= dir.size()) {
    size_t slash = dir.find('/', i);
    if (slash == std::string::npos) slash = dir.size();
    cur = dir.substr(0, slash);
    if (!cur.empty()) {
      struct stat st;
      if (stat(cur.c_str(), &st) != 0) {
        if (mkdir(cur.c_str(), 0755) != 0)
          return Status::Invalid(cur + ": cannot create directory");
      } else if (!S_ISDIR(st.st_mode)) {
        return Status::Invalid(cur + ": exists and is not a directory");
      }
    }
    i = slash + 1;
  }
  return Status::Ok();
}

namespace {

std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

bool HaveGnuplot() { return std::system("command -v gnuplot >/dev/null 2>&1") == 0; }

// The placement model's columns, after all the others (none when it is off,
// so that the file is what the simulator writes without the model).
std::string PlacementColumns(const SimResult& r, const JobRecord* rec) {
  if (!r.placement_model) return "";
  if (!rec) return ",job_class,spread,speed";
  char speed[32] = "";
  if (rec->spread >= 0) std::snprintf(speed, sizeof speed, "%.4f", rec->speed);
  return std::string(",") + JobClassName(rec->job_class) + "," +
         (rec->spread >= 0 ? SpreadName(static_cast<Spread>(rec->spread)) : "") + "," + speed;
}

std::string JobsCsv(const Workload& w, const ClusterModel& c, const SimResult& r) {
  std::string out =
      "id,vc,submit_s,num_pods,gpus_per_pod,duration_ref_s,outcome,first_start_s,finish_s,"
      "wait_s,jct_s,preemptions,sku,gpu_seconds,lost_gpu_seconds,nodes,span" +
      PlacementColumns(r, nullptr) + "\n";
  out.reserve(out.size() + w.jobs.size() * 128);
  // Appends in place: one row per job, without temporaries (82k rows per
  // policy on Philly).
  auto num = [&out](int64_t v) {
    char buf[24];
    const auto res = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, res.ptr);
    out += ',';
  };
  std::string nodes;
  for (size_t i = 0; i < w.jobs.size(); ++i) {
    const SimJob& j = w.jobs[i];
    const JobRecord& rec = r.jobs[i];
    out += CsvField(j.id);
    out += ',';
    out += CsvField(w.vcs[j.vc]);
    out += ',';
    num(j.submit_s);
    num(j.num_pods);
    num(j.gpus_per_pod);
    num(j.duration_s);
    out += OutcomeName(rec.outcome);
    out += ',';
    num(rec.first_start_s);
    num(rec.finish_s);
    num(rec.wait_s);
    num(rec.jct_s());
    num(rec.preemptions);
    if (rec.sku >= 0) out += CsvField(c.skus[rec.sku].name);
    out += ',';
    num(rec.gpu_seconds);
    num(rec.lost_gpu_seconds);
    const std::vector<int32_t> placed = r.NodesOf(i);
    nodes.clear();
    for (size_t k = 0; k < placed.size(); ++k) {
      if (k) nodes += ';';
      nodes += c.nodes[placed[k]].name;
    }
    out += CsvField(nodes);
    out += ',';
    out += c.SpanOf(placed);
    out += PlacementColumns(r, &rec);
    out += '\n';
  }
  return out;
}

std::string TimeSeriesCsv(const Workload& w, const SimResult& r) {
  std::string out =
      "bin_start_s,day,alloc_gpus,utilization,waiting_jobs,idle_while_waiting_gpus,"
      "fragmented_gpus";
  for (const std::string& vc : w.vcs) out += "," + CsvField("alloc_" + vc);
  out += "\n";
  const double bin = static_cast<double>(r.bin_s);
  for (int64_t b = 0; b < r.bins(); ++b) {
    int64_t total = 0;
    for (const auto& s : r.vc_alloc) total += s[b];
    out += std::to_string(b * r.bin_s) + "," + Fixed(static_cast<double>(b * r.bin_s) / 86400.0, 4) +
           "," + Fixed(total / bin, 3) + "," +
           Fixed(r.total_gpus ? total / bin / static_cast<double>(r.total_gpus) : 0.0, 5) + "," +
           Fixed(r.waiting[b] / bin, 3) + "," + Fixed(r.idle_while_waiting[b] / bin, 3) + "," +
           Fixed(r.fragmented[b] / bin, 3);
    for (const auto& s : r.vc_alloc) out += "," + Fixed(s[b] / bin, 3);
    out += "\n";
  }
  return out;
}

// Sorted waits of finished jobs, sampled to at most ~2000 CDF points.
std::string WaitCdfBlock(const SimResult& r) {
  std::vector<int64_t> waits;
  for (const JobRecord& j : r.jobs)
    if (j.outcome == JobOutcome::kDone) waits.push_back(j.wait_s);
  std::sort(waits.begin(), waits.end());
  std::string out;
  const size_t n = waits.size();
  if (n == 0) return "0.01 0\n";
  const size_t points = std::min<size_t>(n, 2000);
  for (size_t k = 0; k < points; ++k) {
    size_t idx = points == 1 ? n - 1 : k * (n - 1) / (points - 1);
    // Jobs that waited less than a second (usually 0) sit at the left edge.
    double minutes = std::max(static_cast<double>(waits[idx]) / 60.0, 0.01);
    out += Fixed(minutes, 4) + " " + Fixed(static_cast<double>(idx + 1) / n, 6) + "\n";
  }
  return out;
}

// Thicker lines for earlier policies, so that identical curves (hived and
// static often coincide) stay visible on top of each other.
std::string LineWidth(size_t i, size_t n) {
  return Fixed(1.2 + 2.5 * static_cast<double>(n - 1 - i) / static_cast<double>(std::max<size_t>(n - 1, 1)), 1);
}

const char* kTerminals =
    "reset\n"
    "do for [fmt in \"png svg\"] {\n"
    "  if (fmt eq \"png\") { set terminal pngcairo size 960,540 font \",10\" }"
    " else { set terminal svg size 960,540 dynamic font \",10\" }\n";

}  // namespace

std::string FormatFindings(const std::vector<PolicySummary>& ss) {
  const PolicySummary* base = nullptr;
  for (const PolicySummary& s : ss)
    if (s.policy == "static") base = &s;
  if (!base) return "";
  std::ostringstream o;
  // A VC "waits longer" under a sharing policy than on its own partition
  // when its mean wait is over 1 s and 1 % above the partition's.
  auto worse = [](double a, double b) { return a > b + std::max(1.0, 0.01 * b); };
  for (const PolicySummary& s : ss) {
    if (&s == base) continue;
    std::vector<std::string> longer, shorter;
    for (size_t v = 0; v < s.vcs.size(); ++v) {
      const VcSummary& x = s.vcs[v];
      const VcSummary& b = base->vcs[v];
      if (b.quota_gpus == 0 || x.wait.count == 0 || b.wait.count == 0) continue;
      if (worse(x.wait.mean, b.wait.mean))
        longer.push_back(x.vc + " (mean " + FormatDuration(x.wait.mean) + " vs " +
                         FormatDuration(b.wait.mean) + ", p95 " +
                         FormatDuration(static_cast<double>(x.wait.p95)) + " vs " +
                         FormatDuration(static_cast<double>(b.wait.p95)) + ")");
      else if (worse(b.wait.mean, x.wait.mean))
        shorter.push_back(x.vc);
    }
    int64_t vcs_with_quota = 0;
    for (const VcSummary& b : base->vcs) vcs_with_quota += b.quota_gpus > 0 && b.wait.count > 0;
    o << "* " << s.policy << ": " << longer.size() << " of " << vcs_with_quota
      << " VCs wait longer than on their own static partition";
    if (!longer.empty()) {
      o << ": ";
      for (size_t i = 0; i < longer.size(); ++i) o << (i ? "; " : "") << longer[i];
    }
    o << "; " << shorter.size() << " wait less";
    if (!shorter.empty()) {
      o << " (";
      for (size_t i = 0; i < shorter.size(); ++i) o << (i ? ", " : "") << shorter[i];
      o << ")";
    }
    o << ".\n";
  }
  o << "* p99 wait overall:";
  for (const PolicySummary& s : ss)
    o << " " << s.policy << " " << FormatDuration(static_cast<double>(s.wait.p99)) << ",";
  o.seekp(-1, std::ios_base::cur);
  o << "; fragmented GPUs (time average):";
  for (const PolicySummary& s : ss) o << " " << s.policy << " " << Fixed(s.mean_fragmented, 1) << ",";
  o.seekp(-1, std::ios_base::cur);
  o << ".\n";
  return o.str();
}

std::string FormatDuration(double s) {
  if (s < 60) return Fixed(s, 0) + "s";
  if (s < 3600) return Fixed(s / 60, 1) + "m";
  if (s < 86400 * 2) return Fixed(s / 3600, 1) + "h";
  return Fixed(s / 86400, 1) + "d";
}

std::string FormatComparisonTable(const std::vector<PolicySummary>& ss) {
  std::ostringstream o;
  o << Pad("policy", 8, true) << Pad("done", 8) << Pad("rej", 6) << Pad("unfin", 6)
    << Pad("wait mean", 10) << Pad("p50", 8) << Pad("p95", 8) << Pad("p99", 8)
    << Pad("JCT mean", 10) << Pad("JCT p95", 9) << Pad("util", 7) << Pad("idle|wait", 10)
    << Pad("frag", 7) << Pad("preempt", 8) << Pad("makespan", 10) << "\n";
  for (const PolicySummary& s : ss) {
    o << Pad(s.policy, 8, true) << Pad(std::to_string(s.done), 8)
      << Pad(std::to_string(s.rejected), 6) << Pad(std::to_string(s.unfinished), 6)
      << Pad(FormatDuration(s.wait.mean), 10) << Pad(FormatDuration(s.wait.p50), 8)
      << Pad(FormatDuration(s.wait.p95), 8) << Pad(FormatDuration(s.wait.p99), 8)
      << Pad(FormatDuration(s.jct.mean), 10) << Pad(FormatDuration(s.jct.p95), 9)
      << Pad(Fixed(100 * s.utilization, 1) + "%", 7) << Pad(Fixed(s.mean_idle_while_waiting, 1), 10)
      << Pad(Fixed(s.mean_fragmented, 1), 7) << Pad(std::to_string(s.preemptions), 8)
      << Pad(FormatDuration(static_cast<double>(s.makespan_s)), 10) << "\n";
  }
  return o.str();
}

std::string FormatWaitReasons(const std::vector<PolicySummary>& ss) {
  std::ostringstream o;
  for (const PolicySummary& s : ss) {
    if (s.wait_reasons.empty()) continue;
    o << s.policy << ": " << s.explained_jobs
      << " jobs waited with an explanation (a job held back by the simulator's GPU-count "
         "quota check before it reaches the engine has none), by the rules of their first wait:";
    for (size_t i = 0; i < s.wait_reasons.size(); ++i)
      o << (i ? ";" : "") << " " << s.wait_reasons[i].first << " " << s.wait_reasons[i].second;
    o << "\n";
  }
  return o.str();
}

std::string FormatExclusions(const std::vector<PolicySummary>& ss) {
  std::ostringstream o;
  for (const PolicySummary& s : ss) {
    if (s.rejected == 0 && s.unfinished == 0) continue;
    o << s.policy << ": waits and JCTs above are over " << s.done << " finished of " << s.jobs
      << " jobs; left out: ";
    if (s.rejected) {
      o << s.rejected << " rejected (";
      for (size_t i = 0; i < s.reject_reasons.size(); ++i)
        o << (i ? "; " : "") << s.reject_reasons[i].second << " " << s.reject_reasons[i].first;
      o << ")";
    }
    if (s.unfinished) o << (s.rejected ? ", " : "") << s.unfinished << " never finished";
    o << "\n";
  }
  return o.str();
}

std::string FormatVcTable(const std::vector<PolicySummary>& ss) {
  if (ss.empty()) return "";
  std::ostringstream o;
  o << Pad("VC", 10, true) << Pad("quota", 7) << Pad("jobs", 7);
  for (const PolicySummary& s : ss) o << Pad(s.policy + " p95", 12);
  for (const PolicySummary& s : ss) o << Pad(s.policy + " mean", 12);
  o << "\n";
  for (size_t v = 0; v < ss[0].vcs.size(); ++v) {
    const VcSummary& base = ss[0].vcs[v];
    o << Pad(base.vc, 10, true) << Pad(std::to_string(base.quota_gpus), 7)
      << Pad(std::to_string(base.jobs), 7);
    for (const PolicySummary& s : ss) o << Pad(FormatDuration(static_cast<double>(s.vcs[v].wait.p95)), 12);
    for (const PolicySummary& s : ss) o << Pad(FormatDuration(s.vcs[v].wait.mean), 12);
    o << "\n";
  }
  return o.str();
}

std::string SummaryJson(const Scenario& sc, const RunMeta& meta,
                        const std::vector<PolicySummary>& ss) {
  Json root;
  root["trace"] = sc.trace_description;
  root["cluster"] = sc.cluster_description;
  root["total_gpus"] = sc.cluster.TotalGpus();
  root["jobs"] = static_cast<int64_t>(sc.workload.jobs.size());
  root["queue_policy"] = QueuePolicyName(meta.options.queue);
  root["checkpoint_interval_s"] = meta.options.checkpoint_interval_s;
  root["borrow"] = meta.options.borrow;
  root["unknown_vc"] =
      meta.options.unknown_vc == UnknownVc::kOpportunistic ? "opportunistic" : "reject";
  root["bin_s"] = meta.options.bin_s;
  if (meta.options.placement)  // absent when off: nothing of the model in the file
    root["placement_model"] = {{"class_seed", meta.options.class_seed},
                               {"baselines", "topology-blind (GPU by GPU)"}};
  root["notes"] = sc.notes;
  Json readers = Json::array();
  for (const ReaderReport& r : sc.readers) {
    Json j;
    j["what"] = r.what;
    j["path"] = r.path;
    j["rows"] = r.rows;
    j["kept"] = r.kept;
    j["unit"] = r.unit;
    j["skipped"] = r.skipped;
    Json d = Json::object(), a = Json::object();
    for (const auto& [k, n] : r.dropped) d[k] = n;
    for (const auto& [k, n] : r.adjusted) a[k] = n;
    j["dropped"] = d;
    j["adjusted"] = a;
    j["added_gpu_seconds"] = r.added_gpu_seconds;
    readers.push_back(j);
  }
  root["readers"] = readers;
  Json quotas = Json::object();
  for (size_t v = 0; v < sc.cluster.vcs.size(); ++v)
    quotas[sc.cluster.vcs[v]] = sc.cluster.VcGpus(static_cast<int32_t>(v));
  root["vc_quota_gpus"] = quotas;
  Json policies = Json::array();
  for (const PolicySummary& s : ss) {
    Json p;
    p["policy"] = s.policy;
    p["jobs"] = s.jobs;
    p["done"] = s.done;
    p["rejected"] = s.rejected;
    p["unfinished"] = s.unfinished;
    p["wait"] = DistJson(s.wait);
    p["jct"] = DistJson(s.jct);
    p["makespan_s"] = s.makespan_s;
    p["utilization"] = Round3(s.utilization);
    p["busy_gpu_seconds"] = s.busy_gpu_seconds;
    p["job_gpu_seconds"] = s.job_gpu_seconds;
    p["lost_gpu_seconds"] = s.lost_gpu_seconds;
    p["mean_idle_while_waiting_gpus"] = Round3(s.mean_idle_while_waiting);
    p["mean_fragmented_gpus"] = Round3(s.mean_fragmented);
    p["mean_waiting_jobs"] = Round3(s.mean_waiting_jobs);
    p["preemptions"] = s.preemptions;
    p["borrowed_starts"] = s.borrowed_starts;
    Json rej = Json::object();
    for (const auto& [why, n] : s.reject_reasons) rej[why] = n;
    p["reject_reasons"] = rej;
    if (!s.wait_reasons.empty()) {
      Json waits = Json::object();
      for (const auto& [rule, n] : s.wait_reasons) waits[rule] = n;
      p["wait_reasons"] = waits;  // run --explain
      p["explained_jobs"] = s.explained_jobs;
    }
    Json vcs = Json::array();
    for (const VcSummary& v : s.vcs) {
      Json j;
      j["vc"] = v.vc;
      j["quota_gpus"] = v.quota_gpus;
      j["jobs"] = v.jobs;
      j["done"] = v.done;
      j["rejected"] = v.rejected;
      j["unfinished"] = v.unfinished;
      j["wait"] = DistJson(v.wait);
      j["jct"] = DistJson(v.jct);
      j["mean_alloc_gpus"] = Round3(v.mean_alloc_gpus);
      j["peak_alloc_gpus"] = Round3(v.peak_alloc_gpus);
      vcs.push_back(std::move(j));
    }
    p["vcs"] = std::move(vcs);
    policies.push_back(std::move(p));
  }
  root["policies"] = std::move(policies);
  return root.dump(2) + "\n";
}

Result<std::vector<std::string>> WriteOutputs(const std::string& dir, const Scenario& sc,
                                              const RunMeta& meta,
                                              const std::vector<SimResult>& results,
                                              const std::vector<PolicySummary>& ss, bool plots) {
  std::vector<std::string> notes;
  Status st = MakeDirectories(dir);
  if (!st.ok()) return st;
  auto write = [&](const std::string& name, const std::string& text) {
    return WriteTextFile(dir + "/" + name, text);
  };
  if (!(st = write("summary.json", SummaryJson(sc, meta, ss))).ok()) return st;
  for (const SimResult& r : results) {
    const std::string p(PolicyName(r.policy));
    if (!(st = write("jobs-" + p + ".csv", JobsCsv(sc.workload, sc.cluster, r))).ok()) return st;
    if (!(st = write("timeseries-" + p + ".csv", TimeSeriesCsv(sc.workload, r))).ok()) return st;
  }

  // ---- Plot data and scripts ----
  std::string cdf;
  double lowest = 1.0;  // the smallest CDF value plotted: where the y axis starts
  for (const SimResult& r : results) {
    int64_t done = 0, zero = 0;
    for (const JobRecord& j : r.jobs)
      if (j.outcome == JobOutcome::kDone) {
        ++done;
        zero += j.wait_s < 1;
      }
    if (done) lowest = std::min(lowest, static_cast<double>(zero) / static_cast<double>(done));
    cdf += WaitCdfBlock(r) + "\n\n";
  }
  const double ymin = std::floor(lowest * 20.0) / 20.0;
  if (!(st = write("wait_cdf.dat", cdf)).ok()) return st;
  std::string gp = std::string("# Queueing-delay CDF per policy (apiary-sim).\n") + kTerminals +
                   "  set output \"wait_cdf.\".fmt\n"
                   "  set title \"Queueing delay CDF (finished jobs)\"\n"
                   "  set xlabel \"wait (minutes, log scale; 0 plotted at 0.01)\"\n"
                   "  set ylabel \"fraction of jobs waiting at most x\"\n  set logscale x\n"
                   "  set yrange [" + Fixed(ymin, 2) + ":1.002]\n  set grid\n"
                   "  set key right bottom\n  plot ";
  for (size_t i = 0; i < results.size(); ++i)
    gp += std::string(i ? ", " : "") + "\"wait_cdf.dat\" index " + std::to_string(i) +
          " using 1:2 with steps lw " + LineWidth(i, results.size()) + " title \"" +
          std::string(PolicyName(results[i].policy)) + "\"";
  gp += "\n  unset logscale x\n}\n";
  if (!(st = write("wait_cdf.gp", gp)).ok()) return st;

  // Curves of several policies often lie on top of each other: below them,
  // each policy's allocation minus the first's, bin by bin (a run that has
  // ended allocates 0), so a reader sees where and by how much they differ.
  const bool diff_panel = results.size() >= 2;
  if (diff_panel) {
    std::string diff = "# day";
    for (size_t i = 1; i < results.size(); ++i)
      diff += " " + std::string(PolicyName(results[i].policy)) + "_minus_" +
              std::string(PolicyName(results[0].policy)) + "_gpus";
    diff += "\n";
    int64_t bins = 0;
    for (const SimResult& r : results) bins = std::max(bins, r.bins());
    auto alloc = [](const SimResult& r, int64_t b) {
      int64_t total = 0;
      if (b < r.bins())
        for (const auto& s : r.vc_alloc) total += s[b];
      return static_cast<double>(total) / static_cast<double>(r.bin_s);
    };
    for (int64_t b = 0; b < bins; ++b) {
      diff += Fixed(static_cast<double>(b * results[0].bin_s) / 86400.0, 4);
      for (size_t i = 1; i < results.size(); ++i)
        diff += " " + Fixed(alloc(results[i], b) - alloc(results[0], b), 3);
      diff += "\n";
    }
    if (!(st = write("allocation_diff.dat", diff)).ok()) return st;
  }
  gp = std::string("# GPU allocation over time per policy (apiary-sim).\n") + kTerminals +
       "  set output \"allocation.\".fmt\n" +
       (diff_panel ? "  set multiplot layout 2,1\n" : "") +
       "  set title \"GPUs allocated (" + std::to_string(sc.cluster.TotalGpus()) +
       " in the cluster; bin " + FormatDuration(static_cast<double>(meta.options.bin_s)) +
       ")\"\n  set xlabel \"day\"\n  set ylabel \"allocated GPUs\"\n"
       "  set datafile separator \",\"\n  set key top right\n  set grid\n"
       "  set yrange [0:*]\n  plot ";
  for (size_t i = 0; i < results.size(); ++i) {
    const std::string p(PolicyName(results[i].policy));
    gp += std::string(i ? ", " : "") + "\"timeseries-" + p +
          ".csv\" every ::1 using 2:3 with lines lw " + LineWidth(i, results.size()) +
          " title \"" + p + "\"";
  }
  gp += "\n  set datafile separator whitespace\n";
  if (diff_panel) {
    const std::string base(PolicyName(results[0].policy));
    gp += "  set title \"Difference to " + base + " (GPUs; above 0: more allocated than " + base +
          ")\"\n  set ylabel \"GPUs minus " + base + "\"\n  set yrange [*:*]\n"
          "  set xzeroaxis lt -1\n  plot ";
    for (size_t i = 1; i < results.size(); ++i)
      gp += std::string(i > 1 ? ", " : "") + "\"allocation_diff.dat\" using 1:" +
            std::to_string(i + 1) + " with lines lc " + std::to_string(i + 1) + " title \"" +
            std::string(PolicyName(results[i].policy)) + " - " + base + "\"";
    gp += "\n  unset multiplot\n";
  }
  gp += "}\n";
  if (!(st = write("allocation.gp", gp)).ok()) return st;

  // A VC without finished jobs has no wait: "-" (missing, no bar, labelled
  // "n/a"), which must not look like a wait of 0 (labelled "0").
  std::string vcdat = "# vc";
  for (const PolicySummary& s : ss) vcdat += " " + s.policy + "_p95_h " + s.policy + "_mean_h";
  vcdat += "\n";
  if (!ss.empty())
    for (size_t v = 0; v < ss[0].vcs.size(); ++v) {
      vcdat += ss[0].vcs[v].vc;
      for (const PolicySummary& s : ss) {
        if (s.vcs[v].done == 0) {
          vcdat += " - -";
          continue;
        }
        vcdat += " " + Fixed(static_cast<double>(s.vcs[v].wait.p95) / 3600.0, 4) + " " +
                 Fixed(s.vcs[v].wait.mean / 3600.0, 4);
      }
      vcdat += "\n";
    }
  if (!(st = write("vc_waits.dat", vcdat)).ok()) return st;
  gp = std::string("# p95 queueing delay per VC and policy (apiary-sim).\n") + kTerminals +
       "  set output \"vc_waits.\".fmt\n"
       "  set multiplot layout 2,1 title \"Queueing delay per VC (finished jobs)\"\n"
       "  set style data histograms\n"
       "  set style histogram clustered gap 1\n  set style fill solid 0.8 border -1\n"
       "  set boxwidth 0.9\n  set xtics rotate by -30 font \",8\"\n  set grid ytics\n"
       "  set yrange [0:*]\n  set key top right\n  set datafile missing \"-\"\n";
  for (int panel = 0; panel < 2; ++panel) {
    gp += panel == 0 ? "  set ylabel \"p95 wait (hours)\"\n"
                     : "  set ylabel \"mean wait (hours)\"\n";
    // The target (p95) as a dashed line across the panel.
    if (panel == 0 && meta.wait_target_s > 0)
      gp += "  set arrow 1 from graph 0, first " +
            Fixed(static_cast<double>(meta.wait_target_s) / 3600.0, 4) + " to graph 1, first " +
            Fixed(static_cast<double>(meta.wait_target_s) / 3600.0, 4) +
            " nohead dt 2 lw 2 lc rgb \"red\" front\n"
            "  set label 1 \"target " + FormatDuration(static_cast<double>(meta.wait_target_s)) +
            "\" at graph 0.01, first " +
            Fixed(static_cast<double>(meta.wait_target_s) / 3600.0, 4) +
            " offset 0,0.6 tc rgb \"red\" front\n";
    if (panel == 1 && meta.wait_target_s > 0) gp += "  unset arrow 1\n  unset label 1\n";
    gp += "  plot ";
    for (size_t i = 0; i < ss.size(); ++i)
      gp += std::string(i ? ", " : "") + "\"vc_waits.dat\" using " +
            std::to_string(2 + 2 * i + panel) + ":xtic(1) title \"" + ss[i].policy + "\"";
    // Bars of height 0 are invisible: label them "0", and missing ones "n/a"
    // (bar i of N sits at x + (i - (N - 1) / 2) / (N + gap), gap 1).
    for (size_t i = 0; i < ss.size(); ++i) {
      const std::string col = std::to_string(2 + 2 * i + panel);
      const std::string offset =
          Fixed((static_cast<double>(i) - (static_cast<double>(ss.size()) - 1) / 2.0) /
                    (static_cast<double>(ss.size()) + 1.0),
                4);
      gp += ", \"vc_waits.dat\" using ($0 + " + offset + "):(0):(valid(" + col +
            ") ? (column(" + col + ") == 0 ? \"0\" : \"\") : \"n/a\") with labels offset 0,0.5 "
            "font \",7\" notitle";
    }
    gp += "\n";
  }
  gp += "  unset multiplot\n}\n";
  if (!(st = write("vc_waits.gp", gp)).ok()) return st;

  bool plotted = false;
  if (plots) {
    if (!HaveGnuplot()) {
      notes.push_back("gnuplot not found: plots not drawn (install gnuplot-nox, then run "
                      "gnuplot wait_cdf.gp allocation.gp vc_waits.gp in " + dir + ")");
    } else {
      std::string cmd = "cd " + ShellQuote(dir) +
                        " && gnuplot wait_cdf.gp allocation.gp vc_waits.gp 2>gnuplot.log";
      if (std::system(cmd.c_str()) != 0)
        notes.push_back("gnuplot failed; see " + dir + "/gnuplot.log");
      else
        plotted = true;
    }
  }

  // ---- report.md ----
  std::ostringstream md;
  md << "# Apiary simulation report\n\n";
  md << "Command: `" << meta.command << "`\n\n";
  md << "* Trace: " << sc.trace_description << "\n";
  md << "* Cluster: " << sc.cluster_description << "\n";
  md << "* Queue policy: " << QueuePolicyName(meta.options.queue)
     << "; preempted jobs "
     << (meta.options.checkpoint_interval_s > 0
             ? "resume from checkpoints every " +
                   FormatDuration(static_cast<double>(meta.options.checkpoint_interval_s))
             : std::string("restart from scratch"))
     << "\n";
  md << "* Borrowing: "
     << (meta.options.borrow
             ? "on: a guaranteed job that does not fit its VC's quota runs opportunistically "
               "on idle GPUs (preemptible) under hived and quota"
             : "off: guaranteed jobs run only within their VC's quota")
     << "\n";
  for (const std::string& n : sc.notes) md << "* " << n << "\n";
  md << "\n## Inputs: what was kept, dropped and changed\n\n";
  for (const ReaderReport& r : sc.readers) md << "* " << r.Format() << "\n";
  md << "\n## Placement policies compared\n\n"
        "* **hived**: Apiary's production engine (`apiary::cell::Scheduler`), driven with the "
        "extender's calls: topology-aware buddy allocation of each VC's virtual cells.\n"
        "* **static**: static partitioning; each VC runs only on its own nodes (first-fit), "
        "no sharing.\n"
        "* **quota**: quota-only sharing without topology (capacity-scheduler style): a job is "
        "admitted while its VC stays within quota, then placed first-fit on any node.\n\n";
  md << "## Comparison\n\n";
  md << "| policy | done | rejected | unfinished | wait mean | p50 | p95 | p99 | JCT mean | JCT "
        "p95 | utilization | idle GPUs while jobs wait | fragmented GPUs | preemptions | makespan "
        "|\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const PolicySummary& s : ss)
    md << "| " << s.policy << " | " << s.done << " | " << s.rejected << " | " << s.unfinished
       << " | " << FormatDuration(s.wait.mean) << " | " << FormatDuration(s.wait.p50) << " | "
       << FormatDuration(s.wait.p95) << " | " << FormatDuration(s.wait.p99) << " | "
       << FormatDuration(s.jct.mean) << " | " << FormatDuration(s.jct.p95) << " | "
       << Fixed(100 * s.utilization, 1) << "% | " << Fixed(s.mean_idle_while_waiting, 1) << " | "
       << Fixed(s.mean_fragmented, 1) << " | " << s.preemptions << " | "
       << FormatDuration(static_cast<double>(s.makespan_s)) << " |\n";
  if (const std::string waits = FormatWaitReasons(ss); !waits.empty()) {
    md << "\n**Why jobs waited** (`--explain`; a job counts once per rule named at its first "
          "wait, over the chains tried; rules in docs/explain.md):\n\n";
    std::istringstream lines(waits);
    for (std::string line; std::getline(lines, line);) md << "* " << line << "\n";
  }
  const std::string exclusions = FormatExclusions(ss);
  if (!exclusions.empty()) {
    md << "\n**Not in the waits:**\n\n";
    std::istringstream lines(exclusions);
    for (std::string line; std::getline(lines, line);) md << "* " << line << "\n";
  }
  md << "\nWaits and JCTs are over finished jobs; a job's wait is all the time it spent "
        "queued (again after each preemption). *Idle GPUs while jobs wait*: time-average of "
        "free GPUs while at least one job waits that no waiting job could use (after every "
        "scheduling pass). *Fragmented GPUs*: the part of those free GPUs that a waiting job's "
        "VC still had quota for, with a job small enough waiting — GPUs lost to placement, not "
        "to quota.\n\n";
  if (!results.empty() && results[0].placement_model) md << PlacementMarkdown(results);
  const std::string findings = FormatFindings(ss);
  if (!findings.empty()) {
    md << "## What sharing costs or buys each VC\n\n"
          "Each VC against its own static partition (same quota, no sharing), by mean "
          "wait of finished jobs:\n\n"
       << findings
       << "\nHow to read it. HiveD promises every VC cells as good as a private cluster's: "
          "its VCs should never wait longer than on their partition, and buddy allocation "
          "packs each VC's jobs so that its own fragmentation is no worse. Quota-only "
          "sharing can make a VC wait although it has quota left, because other VCs' jobs "
          "fragment the shared nodes — HiveD's *sharing anomaly*; the fragmented-GPU column "
          "measures that stranded capacity (free GPUs within a waiting VC's quota). A "
          "difference in mean wait can also come from queue dynamics alone: a large job "
          "that starts sooner delays the small ones behind it (see the per-job CSVs).\n\n";
  }
  if (!ss.empty()) {
    md << "## Waits per VC\n\n| VC | quota GPUs | jobs |";
    for (const PolicySummary& s : ss) md << " " << s.policy << " p95 | " << s.policy << " mean |";
    md << "\n|---|---:|---:|";
    for (size_t i = 0; i < ss.size(); ++i) md << "---:|---:|";
    md << "\n";
    for (size_t v = 0; v < ss[0].vcs.size(); ++v) {
      md << "| " << ss[0].vcs[v].vc << " | " << ss[0].vcs[v].quota_gpus << " | "
         << ss[0].vcs[v].jobs << " |";
      for (const PolicySummary& s : ss)
        md << " " << FormatDuration(static_cast<double>(s.vcs[v].wait.p95)) << " | "
           << FormatDuration(s.vcs[v].wait.mean) << " |";
      md << "\n";
    }
  }
  md << "\n## Plots\n\n";
  if (plotted) {
    md << "![Queueing-delay CDF](wait_cdf.png)\n\n([SVG](wait_cdf.svg))\n\n";
    md << "![GPU allocation over time](allocation.png)\n\n([SVG](allocation.svg))\n\n";
    md << "![p95 wait per VC](vc_waits.png)\n\n([SVG](vc_waits.svg))\n\n";
  } else {
    md << "Not drawn (no gnuplot); the scripts `wait_cdf.gp`, `allocation.gp` and "
          "`vc_waits.gp` draw them from the data files here.\n\n";
  }
  md << "The CDF's y axis starts at the share of jobs that did not wait at all; where curves "
        "coincide (hived and static often do: HiveD gives each VC what a private cluster "
        "would), the thinner line is drawn over the thicker one.\n\n";
  md << "## Files\n\n* [summary.json](summary.json): every number above, per policy and VC\n";
  for (const SimResult& r : results) {
    const std::string p(PolicyName(r.policy));
    md << "* [jobs-" << p << ".csv](jobs-" << p << ".csv): one row per job; [timeseries-" << p
       << ".csv](timeseries-" << p << ".csv): allocation, waiting jobs, idle and fragmented "
       << "GPUs per " << FormatDuration(static_cast<double>(meta.options.bin_s)) << " bin, per VC\n";
  }
  if (!(st = write("report.md", md.str())).ok()) return st;
  return notes;
}

}  // namespace apiary::sim
