#include "apiary/sim/whatif.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include <nlohmann/json.hpp>

#include "apiary/cell/annotations.h"
#include "apiary/cell/text.h"
#include "apiary/sim/replay_export.h"
#include "apiary/sim/report.h"
#include "apiary/traces/gpu_sku.h"
#include "apiary/wire/inspect_json.h"

namespace apiary::sim {

using nlohmann::json;

bool ParseDuration(const std::string& text, int64_t* out) {
  if (text.empty()) return false;
  size_t pos = 0;
  double v = 0;
  try {
    v = std::stod(text, &pos);
  } catch (...) {
    return false;
  }
  std::string unit = text.substr(pos);
  double mult = 1;
  if (unit.empty() || unit == "s") mult = 1;
  else if (unit == "m" || unit == "min") mult = 60;
  else if (unit == "h") mult = 3600;
  else if (unit == "d") mult = 86400;
  else return false;
  if (!(v >= 0) || !std::isfinite(v)) return false;
  *out = static_cast<int64_t>(v * mult + 0.5);
  return true;
}

namespace {

// A duration field: a number of seconds or a ParseDuration string.
bool DurationOf(const json& v, int64_t* out) {
  if (v.is_number()) {
    const double d = v.get<double>();
    if (!(d >= 0) || !std::isfinite(d)) return false;
    *out = static_cast<int64_t>(d + 0.5);
    return true;
  }
  return v.is_string() && ParseDuration(v.get<std::string>(), out);
}

// A time: whole seconds, or an RFC 3339 time (seconds since the epoch,
// rounded down).
bool TimeOfText(const std::string& t, int64_t* out) {
  if (!t.empty() && std::all_of(t.begin(), t.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    try {
      *out = std::stoll(t);
    } catch (...) {
      return false;
    }
    return true;
  }
  auto parsed = wire::ParseRfc3339(t);
  auto nanos = parsed ? parsed->UnixNanos() : std::nullopt;
  if (!nanos) return false;
  *out = *nanos >= 0 ? *nanos / 1000000000 : -((-*nanos + 999999999) / 1000000000);
  return true;
}

bool TimeOf(const json& v, int64_t* out) {
  if (v.is_number_integer()) {
    *out = v.get<int64_t>();
    return true;
  }
  return v.is_string() && TimeOfText(v.get<std::string>(), out);
}

Status Bad(const std::string& where, const std::string& field, const std::string& why) {
  return Status::Invalid(where + "." + field + ": " + why);
}

std::string Rfc3339(int64_t seconds, int64_t nanos) {
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(nanos));
  return buf;
}

std::string Relative(int64_t t, int64_t now) {
  if (t < 0) return "-";
  if (t == now) return "now";
  return "+" + FormatDuration(static_cast<double>(t - now));
}

}  // namespace

Result<WhatIfJobs> ReadWhatIfJobs(const std::string& text, const std::string& name) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    return Status::Invalid(name + ": invalid JSON: " + e.what());
  }
  if (!j.is_object())
    return Status::Invalid(name + ": expected an object {\"now\", \"default_duration\", \"jobs\"}");
  WhatIfJobs out;
  static const std::vector<std::string> kTop = {"now", "default_duration", "jobs"};
  for (const auto& [key, value] : j.items()) {
    if (std::find(kTop.begin(), kTop.end(), key) == kTop.end())
      return Status::Invalid(name + ": " + key + ": unknown key" + cell::DidYouMean(key, kTop));
  }
  if (j.contains("now") && !TimeOf(j["now"], &out.now_s))
    return Status::Invalid(name + ": now: expected whole seconds or an RFC 3339 time, got " +
                           j["now"].dump());
  if (j.contains("default_duration") &&
      (!DurationOf(j["default_duration"], &out.default_duration_s) ||
       out.default_duration_s <= 0))
    return Status::Invalid(name + ": default_duration: bad duration " +
                           j["default_duration"].dump() +
                           " (a positive number of seconds, or e.g. \"90m\", \"2h\")");
  if (!j.contains("jobs") || j["jobs"].is_null()) return out;
  if (!j["jobs"].is_array()) return Status::Invalid(name + ": jobs: must be a list");
  static const std::vector<std::string> kKeys = {"name", "vc", "priority", "pods",
                                                 "gpus_per_pod", "leaf_cell_type", "duration",
                                                 "submit", "end"};
  static const std::set<std::string> kPendingOnly = {"vc", "pods", "gpus_per_pod",
                                                     "leaf_cell_type"};
  std::set<std::string> names;
  for (size_t i = 0; i < j["jobs"].size(); ++i) {
    const json& e = j["jobs"][i];
    WhatIfJob job;
    job.where = name + ": jobs[" + std::to_string(i) + "]";
    if (!e.is_object()) return Status::Invalid(job.where + ": must be an object");
    for (const auto& [key, value] : e.items()) {
      if (std::find(kKeys.begin(), kKeys.end(), key) == kKeys.end())
        return Bad(job.where, key, "unknown key" + cell::DidYouMean(key, kKeys));
      if (kPendingOnly.count(key) && job.pending_field.empty()) job.pending_field = key;
    }
    if (!e.contains("name") || !e["name"].is_string() || e["name"].get<std::string>().empty())
      return Bad(job.where, "name", "missing (a non-empty string)");
    job.name = e["name"];
    if (!names.insert(job.name).second)
      return Bad(job.where, "name", "\"" + job.name + "\" is listed twice");
    auto integer = [&](const char* key, int64_t lo, int64_t hi, int32_t* out) -> Status {
      if (!e.contains(key)) return Status::Ok();
      if (!e[key].is_number_integer() || e[key].get<int64_t>() < lo || e[key].get<int64_t>() > hi)
        return Bad(job.where, key,
                   "expected an integer in " + std::to_string(lo) + ".." + std::to_string(hi) +
                       ", got " + e[key].dump());
      *out = static_cast<int32_t>(e[key].get<int64_t>());
      return Status::Ok();
    };
    if (e.contains("vc")) {
      if (!e["vc"].is_string() || e["vc"].get<std::string>().empty())
        return Bad(job.where, "vc", "expected a VC name");
      job.vc = e["vc"];
    }
    if (Status st = integer("priority", cell::kOpportunisticPriority,
                            cell::kMaxGuaranteedPriority, &job.priority);
        !st.ok())
      return st;
    job.priority_given = e.contains("priority");
    if (Status st = integer("pods", 1, 100000, &job.pods); !st.ok()) return st;
    if (Status st = integer("gpus_per_pod", 1, 100000, &job.gpus_per_pod); !st.ok()) return st;
    if (e.contains("leaf_cell_type")) {
      if (!e["leaf_cell_type"].is_string()) return Bad(job.where, "leaf_cell_type", "not a string");
      job.leaf_cell_type = e["leaf_cell_type"];
    }
    if (e.contains("duration") && !DurationOf(e["duration"], &job.duration_s))
      return Bad(job.where, "duration",
                 "bad duration " + e["duration"].dump() +
                     " (seconds >= 0, or e.g. \"90m\", \"2h\", \"1.5d\")");
    if (e.contains("submit") && !TimeOf(e["submit"], &job.submit_s))
      return Bad(job.where, "submit",
                 "expected whole seconds or an RFC 3339 time, got " + e["submit"].dump());
    if (e.contains("end") && !TimeOf(e["end"], &job.end_s))
      return Bad(job.where, "end",
                 "expected whole seconds or an RFC 3339 time, got " + e["end"].dump());
    out.jobs.push_back(std::move(job));
  }
  return out;
}

namespace {

// A running job: the bound pods of one affinity group, in recovery order.
struct Group {
  std::string name;
  std::vector<const wire::BoundPod*> pods;
};

// One job of the what-if's workload before sorting.
struct Entry {
  SimJob job;
  bool running = false;
  int32_t group = -1;     // running: index into the groups
  int32_t file = -1;      // index into the jobs file, or -1
  int64_t end_s = -1;     // running
};

}  // namespace

Result<WhatIfResult> RunWhatIf(const cell::Config& config, const wire::PodList& pods,
                               const std::string& pods_name, const WhatIfJobs& jobs,
                               const WhatIfOptions& options) {
  auto cluster_r = ClusterFromHivedConfig(config, /*reference_sku=*/"");
  if (!cluster_r.ok()) return Status::Invalid("config: " + cluster_r.status().message());
  const ClusterModel& cluster = *cluster_r;
  const int64_t now = jobs.now_s;
  if (!pods.warnings.empty()) return Status::Invalid(pods_name + ": " + pods.warnings.front());

  std::map<std::string, int32_t> file_index;
  for (size_t i = 0; i < jobs.jobs.size(); ++i)
    file_index[jobs.jobs[i].name] = static_cast<int32_t>(i);
  std::vector<std::string> vc_names = cluster.vcs;
  auto known_vcs = [&] {
    std::string s;
    for (const std::string& v : vc_names) s += (s.empty() ? "" : ", ") + v;
    return " (the configuration's VCs: " + s + ")";
  };

  // Running jobs: bound pods by affinity group, groups in recovery order.
  std::vector<Group> groups;
  std::map<std::string, int32_t> group_index;
  for (const wire::BoundPod& p : pods.bound) {
    auto [it, fresh] =
        group_index.emplace(p.spec.affinity_group_name, static_cast<int32_t>(groups.size()));
    if (fresh) groups.push_back({p.spec.affinity_group_name, {}});
    groups[it->second].pods.push_back(&p);
  }
  WhatIfResult res;
  res.now_s = now;
  res.queue = QueuePolicyName(options.queue);
  res.borrow = options.borrow;
  // Pods without bind info: HiveD's are pending pods, which the jobs file
  // must describe; others are not the scheduler's business.
  for (const wire::UnboundPod& u : pods.unbound) {
    if (!u.has_spec) {
      ++res.pods_skipped;
      continue;
    }
    auto spec = cell::ParsePodSchedulingSpec(
        u.pod.Annotation(cell::kAnnotationPodSchedulingSpec), u.pod.ref.ns, u.pod.ref.name);
    if (!spec.ok()) return Status::Invalid(u.where + " (pod " + u.pod.ref.FullName() + "): " +
                                           spec.status().message());
    if (file_index.count(spec->affinity_group_name) &&
        !group_index.count(spec->affinity_group_name))
      continue;  // a pending job the jobs file describes
    return Status::Invalid(u.where + " (pod " + u.pod.ref.FullName() + "): annotation " +
                           cell::kAnnotationPodBindInfo +
                           ": missing; a pod HiveD has not bound is pending: list its group \"" +
                           spec->affinity_group_name +
                           "\" as a job in the jobs file (with vc, pods, gpus_per_pod, duration)");
  }

  Workload w;
  w.vcs = vc_names;
  std::sort(w.vcs.begin(), w.vcs.end());
  auto vc_of = [&](const std::string& vc) {
    return static_cast<int32_t>(std::lower_bound(w.vcs.begin(), w.vcs.end(), vc) - w.vcs.begin());
  };
  auto model_of = [&](const std::string& leaf_type) -> int32_t {
    if (leaf_type.empty()) return -1;
    for (size_t m = 0; m < w.models.size(); ++m)
      if (w.models[m].front() == leaf_type) return static_cast<int32_t>(m);
    w.models.push_back({leaf_type});
    return static_cast<int32_t>(w.models.size() - 1);
  };
  std::vector<std::string> leaf_types;
  for (const SkuInfo& s : cluster.skus) leaf_types.push_back(s.leaf_type);

  std::vector<Entry> entries;
  std::vector<char> group_listed(groups.size(), 0);
  auto running_entry = [&](int32_t g, const WhatIfJob* f) -> Result<Entry> {
    const Group& grp = groups[g];
    const wire::BoundPod& first = *grp.pods.front();
    // "pods.json: items[3] (pod ns/name)", as the reader names pods.
    const std::string pod = first.where + " (pod " + first.pod.ref.FullName() + ")";
    const cell::PodSchedulingSpec& spec = first.spec;
    if (cluster.FindVc(spec.virtual_cluster) < 0)
      return Status::Invalid(pod + ": pod-scheduling-spec virtualCluster: unknown VC \"" +
                             spec.virtual_cluster + "\"" + known_vcs());
    if (spec.affinity_group_members.size() != 1)
      return Status::Invalid(pod + ": pod-scheduling-spec affinityGroup.members: group \"" +
                             grp.name +
                             "\" has pods of different sizes; the what-if models a job as "
                             "equal pods");
    Entry e;
    e.running = true;
    e.group = g;
    SimJob& j = e.job;
    j.id = grp.name;
    j.vc = vc_of(spec.virtual_cluster);
    j.priority = spec.priority;
    j.num_pods = spec.affinity_group_members[0].pod_number;
    j.gpus_per_pod = spec.affinity_group_members[0].leaf_cell_number;
    j.model = model_of(spec.leaf_cell_type);
    // Expected end: the jobs file, the annotation, or now + the default.
    e.end_s = now + jobs.default_duration_s;
    std::string end_from = "the default duration";
    j.duration_s = jobs.default_duration_s;
    if (std::string a = first.pod.Annotation(kAnnotationExpectedEnd); !a.empty()) {
      if (!TimeOfText(a, &e.end_s))
        return Status::Invalid(pod + ": annotation " + kAnnotationExpectedEnd +
                               ": expected whole seconds or an RFC 3339 time, got \"" + a + "\"");
      end_from = pod + ": annotation " + kAnnotationExpectedEnd;
    }
    if (std::string a = first.pod.Annotation(kAnnotationExpectedDuration); !a.empty()) {
      if (!ParseDuration(a, &j.duration_s))
        return Status::Invalid(pod + ": annotation " + kAnnotationExpectedDuration +
                               ": bad duration \"" + a + "\" (seconds, or e.g. \"90m\", \"2h\")");
    }
    j.submit_s = first.has_time ? first.scheduled_nanos / 1000000000 : now;
    if (f) {
      if (!f->pending_field.empty())
        return Bad(f->where, f->pending_field,
                   "job \"" + f->name + "\" is running (its pods are in " + pods_name +
                       "): its shape comes from them; give only end, duration, submit and "
                       "priority");
      if (f->end_s >= 0) {
        e.end_s = f->end_s;
        end_from = f->where + ".end";
      }
      if (f->duration_s >= 0) j.duration_s = f->duration_s;
      if (f->submit_s >= 0) j.submit_s = f->submit_s;
      if (f->priority_given) j.priority = f->priority;
    }
    if (e.end_s <= now)
      return Status::Invalid(end_from + ": job \"" + grp.name + "\" is expected to end at " +
                             std::to_string(e.end_s) + ", not after now (" + std::to_string(now) +
                             "); give a later end in the jobs file");
    j.submit_s = std::min(j.submit_s, now);
    return e;
  };

  for (size_t i = 0; i < jobs.jobs.size(); ++i) {
    const WhatIfJob& f = jobs.jobs[i];
    auto g = group_index.find(f.name);
    if (g != group_index.end()) {
      auto e = running_entry(g->second, &f);
      if (!e.ok()) return e.status();
      e->file = static_cast<int32_t>(i);
      group_listed[g->second] = 1;
      entries.push_back(std::move(e).value());
      continue;
    }
    if (f.end_s >= 0)
      return Bad(f.where, "end",
                 "no running pods of group \"" + f.name + "\" in " + pods_name +
                     " (end applies to running jobs; a pending job takes duration)");
    if (f.vc.empty())
      return Bad(f.where, "vc",
                 "missing: \"" + f.name + "\" has no running pods in " + pods_name +
                     ", so it is a pending job and needs its VC");
    if (cluster.FindVc(f.vc) < 0)
      return Bad(f.where, "vc", "unknown VC \"" + f.vc + "\"" + known_vcs());
    if (!f.leaf_cell_type.empty() &&
        std::find(leaf_types.begin(), leaf_types.end(), f.leaf_cell_type) == leaf_types.end())
      return Bad(f.where, "leaf_cell_type",
                 "no chain of the configuration has leaf cell type \"" + f.leaf_cell_type + "\"" +
                     cell::DidYouMean(f.leaf_cell_type, leaf_types));
    Entry e;
    e.file = static_cast<int32_t>(i);
    SimJob& j = e.job;
    j.id = f.name;
    j.vc = vc_of(f.vc);
    j.priority = f.priority;
    j.num_pods = f.pods;
    j.gpus_per_pod = f.gpus_per_pod;
    j.model = model_of(f.leaf_cell_type);
    j.duration_s = f.duration_s >= 0 ? f.duration_s : jobs.default_duration_s;
    j.submit_s = f.submit_s >= 0 ? f.submit_s : now;
    entries.push_back(std::move(e));
  }
  for (size_t g = 0; g < groups.size(); ++g) {
    if (group_listed[g]) continue;
    auto e = running_entry(static_cast<int32_t>(g), nullptr);
    if (!e.ok()) return e.status();
    entries.push_back(std::move(e).value());
  }
  for (const Entry& e : entries)
    if (e.job.submit_s < 0)
      return Status::Invalid("job \"" + e.job.id + "\": submit time " +
                             std::to_string(e.job.submit_s) + " is negative");

  // Workload order: by submit time, ties in jobs-file order (then the
  // running groups the file does not list, in recovery order).
  std::vector<int32_t> order(entries.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int32_t>(i);
  std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
    return entries[a].job.submit_s < entries[b].job.submit_s;
  });
  std::vector<int32_t> index_of(entries.size());
  for (size_t k = 0; k < order.size(); ++k) {
    index_of[order[k]] = static_cast<int32_t>(k);
    w.jobs.push_back(entries[order[k]].job);
  }
  // Running jobs are adopted in recovery order: their completion events tie
  // in that order, as the simulation's do in start order.
  std::vector<int32_t> by_group(groups.size(), -1);
  for (size_t i = 0; i < entries.size(); ++i)
    if (entries[i].running) by_group[entries[i].group] = static_cast<int32_t>(i);
  std::vector<InitialRun> initial;
  for (size_t g = 0; g < groups.size(); ++g) {
    const Entry& e = entries[by_group[g]];
    InitialRun run;
    run.job = index_of[by_group[g]];
    run.end_s = e.end_s;
    for (const wire::BoundPod* p : groups[g].pods)
      run.pods.push_back({p->pod.ref, p->spec, p->bind_info});
    initial.push_back(std::move(run));
  }
  res.running_jobs = static_cast<int32_t>(initial.size());

  SimOptions so;
  so.queue = options.queue;
  so.borrow = options.borrow;
  so.start_s = now;
  so.initial = &initial;
  // One time-series bin: the answer uses none, and `now` may be seconds
  // since the epoch (hourly bins from 1970 would cost memory per VC).
  so.bin_s = int64_t{1} << 50;
  auto sim = Simulate(cluster, w, PolicyKind::kHived, so);
  if (!sim.ok()) return Status::Invalid(pods_name + ": " + sim.status().message());

  // Queue order now: priority, then the queue key, then workload order.
  auto qkey = [&](int32_t job) {
    const SimJob& j = w.jobs[job];
    const int64_t key = options.queue == QueuePolicy::kFifo ? j.submit_s : j.duration_s;
    return std::make_tuple(-j.priority, key, job);
  };
  std::map<int32_t, std::string> rejected(sim->rejected_jobs.begin(), sim->rejected_jobs.end());
  for (const Entry& e : entries) {
    if (e.running) continue;
    const int32_t job = index_of[&e - entries.data()];
    const SimJob& j = w.jobs[job];
    const JobRecord& rec = sim->jobs[job];
    WhatIfJobResult r;
    r.name = j.id;
    r.vc = w.vcs[j.vc];
    r.priority = j.priority;
    r.gpus = j.gpus();
    r.submit_s = j.submit_s;
    r.start_s = rec.first_start_s;
    r.end_s = rec.finish_s;
    r.preempted = rec.preemptions;
    if (rec.outcome == JobOutcome::kRejected) {
      r.status = "rejected";
      r.reason = rejected.count(job) ? rejected[job] : "rejected";
    } else {
      r.status = rec.first_start_s >= 0 ? "starts" : "waits";
    }
    for (const PreemptionEvent& p : sim->preemption_log) {
      if (p.preemptor != job) continue;
      const std::string& v = w.jobs[p.victim].id;
      if (std::find(r.preempts.begin(), r.preempts.end(), v) == r.preempts.end())
        r.preempts.push_back(v);
    }
    if (j.submit_s <= now) {
      std::vector<int32_t> ahead;
      for (const Entry& o : entries) {
        const int32_t other = index_of[&o - entries.data()];
        if (o.running || other == job || w.jobs[other].vc != j.vc || w.jobs[other].submit_s > now)
          continue;
        if (qkey(other) < qkey(job)) ahead.push_back(other);
      }
      std::sort(ahead.begin(), ahead.end(),
                [&](int32_t a, int32_t b) { return qkey(a) < qkey(b); });
      for (int32_t a : ahead) r.queue_ahead.push_back(w.jobs[a].id);
    }
    res.jobs.push_back(std::move(r));
  }

  for (const PreemptionEvent& p : sim->preemption_log)
    res.preemptions.push_back({p.time_s, w.jobs[p.preemptor].id, w.jobs[p.victim].id});

  // Per VC (configuration order).
  std::map<int32_t, int64_t> first_kill;  // job -> first time it is preempted
  for (const PreemptionEvent& p : sim->preemption_log) first_kill.emplace(p.victim, p.time_s);
  for (const std::string& name : cluster.vcs) {
    WhatIfVcResult v;
    v.name = name;
    v.quota_gpus = cluster.VcGpus(cluster.FindVc(name));
    const int32_t wvc = vc_of(name);
    bool never = false;
    int64_t idle = now;
    for (size_t k = 0; k < w.jobs.size(); ++k) {
      const SimJob& j = w.jobs[k];
      const Entry& e = entries[order[k]];
      if (j.vc != wvc) continue;
      const JobRecord& rec = sim->jobs[k];
      if (!e.running && j.submit_s <= now && rec.outcome != JobOutcome::kRejected) ++v.pending;
      if (j.priority < 0) continue;
      if (rec.outcome == JobOutcome::kUnfinished) never = true;
      if (rec.finish_s >= 0) idle = std::max(idle, rec.finish_s);
      if (!e.running) continue;
      ++v.running;
      v.used_gpus += j.gpus();
      auto kill = first_kill.find(static_cast<int32_t>(k));
      const int64_t released = kill != first_kill.end() ? kill->second : rec.finish_s;
      if (v.next_release_s < 0 || released < v.next_release_s) v.next_release_s = released;
      v.released_s = std::max(v.released_s, released);
    }
    v.idle_s = never ? -1 : idle;
    res.vcs.push_back(std::move(v));
  }
  return res;
}

std::string FormatWhatIf(const WhatIfResult& r) {
  std::ostringstream o;
  o << "what-if at t=" << r.now_s << " (hived, queue " << r.queue
    << (r.borrow ? ", borrowing" : "") << "; " << r.running_jobs << " running jobs, "
    << r.jobs.size() << " pending; no arrivals but the jobs file's)\n\n";
  auto list = [](const std::vector<std::string>& v, size_t max) {
    if (v.empty()) return std::string("-");
    std::string s;
    for (size_t i = 0; i < v.size() && i < max; ++i) s += (i ? "," : "") + v[i];
    if (v.size() > max) s += ",… (" + std::to_string(v.size()) + ")";
    return s;
  };
  std::vector<std::vector<std::string>> rows = {
      {"job", "vc", "prio", "gpus", "start", "in", "ends", "preempts", "ahead in queue"}};
  for (const WhatIfJobResult& j : r.jobs) {
    std::string start = j.status == "starts" ? std::to_string(j.start_s)
                        : j.status == "rejected" ? "rejected: " + j.reason
                                                 : "never (waits)";
    std::string ahead = std::to_string(j.queue_ahead.size());
    if (!j.queue_ahead.empty()) ahead += " (" + list(j.queue_ahead, 3) + ")";
    rows.push_back({j.name, j.vc, std::to_string(j.priority), std::to_string(j.gpus), start,
                    j.status == "starts" ? Relative(j.start_s, r.now_s) : "-",
                    j.end_s >= 0 ? std::to_string(j.end_s) : "-", list(j.preempts, 3), ahead});
  }
  auto print = [&](const std::vector<std::vector<std::string>>& t) {
    std::vector<size_t> width(t[0].size(), 0);
    for (const auto& row : t)
      for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
    for (const auto& row : t) {
      std::string line;
      for (size_t c = 0; c < row.size(); ++c) {
        line += row[c];
        if (c + 1 < row.size()) line += std::string(width[c] - row[c].size() + 2, ' ');
      }
      o << line << "\n";
    }
  };
  if (r.jobs.empty()) o << "no pending jobs\n";
  else print(rows);
  o << "\n";
  std::vector<std::vector<std::string>> vcs = {{"vc", "quota gpus", "used now", "running",
                                                "pending", "next release", "quota free",
                                                "queue drained"}};
  for (const WhatIfVcResult& v : r.vcs) {
    auto at = [&](int64_t t) {
      return t < 0 ? std::string("-") : std::to_string(t) + " (" + Relative(t, r.now_s) + ")";
    };
    vcs.push_back({v.name, std::to_string(v.quota_gpus), std::to_string(v.used_gpus),
                   std::to_string(v.running), std::to_string(v.pending), at(v.next_release_s),
                   v.running ? at(v.released_s) : "now",
                   v.idle_s < 0 ? "never" : at(v.idle_s)});
  }
  print(vcs);
  o << "\nstart/ends: seconds on the jobs file's clock; quota free: the guaranteed jobs running "
       "now have all ended (or were preempted); queue drained: the VC's last guaranteed job "
       "ends\n";
  return o.str();
}

std::string WhatIfJson(const WhatIfResult& r) {
  json o = json::object();
  o["now"] = r.now_s;
  o["policy"] = "hived";
  o["queue"] = r.queue;
  o["borrow"] = r.borrow;
  o["running_jobs"] = r.running_jobs;
  o["pods_skipped"] = r.pods_skipped;
  o["assumptions"] = {
      "running jobs end at their expected end",
      "a preempted job restarts from scratch and runs its expected duration",
      "no arrivals but the jobs file's",
      "durations are run times on this cluster (no SKU scaling, no placement model)",
      "the scheduler is rebuilt from the pods as after an extender restart (opportunistic "
      "placements follow the free-cell order recovery gives)"};
  json jobs = json::array();
  auto opt = [](int64_t t) { return t < 0 ? json(nullptr) : json(t); };
  for (const WhatIfJobResult& j : r.jobs) {
    json e = json::object();
    e["name"] = j.name;
    e["vc"] = j.vc;
    e["priority"] = j.priority;
    e["gpus"] = j.gpus;
    e["submit"] = j.submit_s;
    e["status"] = j.status;
    e["start"] = opt(j.start_s);
    e["end"] = opt(j.end_s);
    e["wait"] = j.start_s < 0 ? json(nullptr) : json(j.start_s - std::max(j.submit_s, r.now_s));
    e["reason"] = j.reason;
    e["preempted"] = j.preempted;
    e["preempts"] = j.preempts;
    e["queue_ahead"] = j.queue_ahead;
    jobs.push_back(std::move(e));
  }
  o["jobs"] = std::move(jobs);
  json vcs = json::array();
  for (const WhatIfVcResult& v : r.vcs) {
    json e = json::object();
    e["name"] = v.name;
    e["quota_gpus"] = v.quota_gpus;
    e["used_gpus"] = v.used_gpus;
    e["running"] = v.running;
    e["pending"] = v.pending;
    e["next_release"] = opt(v.next_release_s);
    e["quota_free"] = v.running ? opt(v.released_s) : json(r.now_s);
    e["queue_drained"] = opt(v.idle_s);
    vcs.push_back(std::move(e));
  }
  o["vcs"] = std::move(vcs);
  json pre = json::array();
  for (const WhatIfPreemption& p : r.preemptions)
    pre.push_back({{"time", p.time_s}, {"preemptor", p.preemptor}, {"victim", p.victim}});
  o["preemptions"] = std::move(pre);
  return o.dump(2) + "\n";
}

Status WriteSnapshot(const std::string& dir, const ClusterModel& cluster,
                     const Workload& workload, const SimSnapshot& snapshot) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::Invalid(dir + ": cannot create: " + ec.message());
  if (Status st = WriteTextFile(dir + "/config.yaml", ConfigYaml(cluster.hived)); !st.ok())
    return st;
  const std::string host_vc = cluster.vcs.empty() ? "" : cluster.vcs.front();
  // A what-if's durations are run times. When every SKU a job may use runs
  // at one speed, its reference seconds become that SKU's run time;
  // otherwise they stay reference seconds (the SKU is not known yet).
  auto run_time = [&](const SimJob& j, int64_t reference_s, int32_t sku) {
    if (sku >= 0) return traces::ScaleDuration(reference_s, cluster.skus[sku].speed);
    std::set<double> speeds;
    for (const SkuInfo& k : cluster.skus) {
      bool allowed = j.model < 0;
      if (!allowed)
        for (const std::string& m : workload.models[j.model])
          allowed |= k.name == m || k.leaf_type == m;
      if (allowed) speeds.insert(k.speed);
    }
    return speeds.size() == 1 ? traces::ScaleDuration(reference_s, *speeds.begin())
                              : reference_s;
  };
  auto sku_of_chain = [&](const std::string& chain) {
    for (const NodeGroup& g : cluster.groups)
      if (g.chain == chain) return g.sku;
    return -1;
  };
  json items = json::array();
  std::map<int32_t, const SimSnapshot::Running*> running;
  int64_t seq = 0;
  for (const SimSnapshot::Running& run : snapshot.running) {
    running[run.job] = &run;
    const SimJob& j = workload.jobs[run.job];
    if (run.pods.empty())
      return Status::Invalid("snapshot: job " + j.id +
                             " has no pods (snapshots record the hived policy only)");
    // Every pod of the job carries its start as the PodScheduled time; the
    // nanoseconds keep the start order, which a what-if recovers pods in.
    const std::string scheduled = Rfc3339(run.start_s, seq++);
    for (size_t i = 0; i < run.pods.size(); ++i) {
      cell::PodSchedulingSpec spec = run.pods[i].spec;
      spec.affinity_group_name = j.id;
      json pod = json::object();
      const std::string name = j.id + "-" + std::to_string(i);
      pod["metadata"] = {{"name", name}, {"namespace", "sim"}, {"uid", "sim-" + name}};
      json ann = json::object();
      ann[cell::kAnnotationPodSchedulingSpec] = PodSpecJson(spec);
      ann[cell::kAnnotationPodBindInfo] = cell::EmitPodBindInfo(run.pods[i].bind_info);
      if (std::string v = cell::EmitVirtualLeafCells(run.pods[i].bind_info); !v.empty())
        ann[cell::kAnnotationVirtualLeafCells] = v;
      ann[kAnnotationExpectedEnd] = std::to_string(run.end_s);
      ann[kAnnotationExpectedDuration] = std::to_string(
          run_time(j, run.restart_s, sku_of_chain(run.pods[i].bind_info.cell_chain)));
      pod["metadata"]["annotations"] = std::move(ann);
      pod["spec"] = {{"nodeName", run.pods[i].bind_info.node}};
      pod["status"] = {{"phase", "Running"},
                       {"conditions",
                        json::array({{{"type", "PodScheduled"},
                                      {"status", "True"},
                                      {"lastTransitionTime", scheduled}}})}};
      items.push_back(std::move(pod));
    }
  }
  json list = {{"apiVersion", "v1"}, {"kind", "List"}, {"items", std::move(items)}};
  if (Status st = WriteTextFile(dir + "/pods.json", list.dump(1) + "\n"); !st.ok()) return st;

  std::map<int32_t, const SimSnapshot::Waiting*> waiting;
  for (const SimSnapshot::Waiting& wj : snapshot.waiting) waiting[wj.job] = &wj;
  json jobs = json::array();
  for (size_t k = 0; k < workload.jobs.size(); ++k) {
    const SimJob& j = workload.jobs[k];
    const int32_t job = static_cast<int32_t>(k);
    if (auto r = running.find(job); r != running.end()) {
      json e = {{"name", j.id}, {"submit", j.submit_s}};
      // A job that borrowed (runs at -1) is requeued at its own priority.
      const int32_t own = cluster.FindVc(workload.vcs[j.vc]) >= 0 ? j.priority : -1;
      if (own != r->second->pods.front().spec.priority) e["priority"] = own;
      jobs.push_back(std::move(e));
      continue;
    }
    auto it = waiting.find(job);
    if (it == waiting.end()) continue;
    const bool own_vc = cluster.FindVc(workload.vcs[j.vc]) >= 0;
    json e = {{"name", j.id},
              {"vc", own_vc ? workload.vcs[j.vc] : host_vc},
              {"priority", it->second->priority},
              {"pods", j.num_pods},
              {"gpus_per_pod", j.gpus_per_pod},
              {"duration", run_time(j, it->second->remaining_s, -1)},
              {"submit", j.submit_s}};
    if (j.model >= 0) {
      for (const SkuInfo& s : cluster.skus)
        if (s.name == workload.models[j.model].front() ||
            s.leaf_type == workload.models[j.model].front()) {
          e["leaf_cell_type"] = s.leaf_type;
          break;
        }
    }
    jobs.push_back(std::move(e));
  }
  json file = {{"now", snapshot.time_s}, {"jobs", std::move(jobs)}};
  return WriteTextFile(dir + "/jobs.json", file.dump(1) + "\n");
}

}  // namespace apiary::sim
