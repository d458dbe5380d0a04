#include "apiary/extender/metrics.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <utility>
#include <vector>

namespace apiary::extender {

const char* VerbName(Verb v) {
  switch (v) {
    case Verb::kFilter: return "filter";
    case Verb::kBind: return "bind";
    case Verb::kPreempt: return "preempt";
    case Verb::kInspect: return "inspect";
    case Verb::kOther: return "other";
    case Verb::kCount: break;
  }
  return "other";
}

const char* OutcomeName(Outcome o) {
  switch (o) {
    case Outcome::kBind: return "bind";
    case Outcome::kBindDirect: return "bind_direct";
    case Outcome::kPreempt: return "preempt";
    case Outcome::kWait: return "wait";
    case Outcome::kNone: return "none";
    case Outcome::kUserError: return "user_error";
    case Outcome::kInternalError: return "internal_error";
    case Outcome::kNotReady: return "not_ready";
    case Outcome::kOk: return "ok";
    case Outcome::kNotFound: return "not_found";
    case Outcome::kCount: break;
  }
  return "ok";
}

const char* HttpListenerName(HttpListener l) {
  return l == HttpListener::kHealth ? "health" : "scheduling";
}

std::string PromLabel(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out.push_back(c);
  }
  return out;
}

void Metrics::ObserveRequest(Verb verb, Outcome outcome, double seconds) {
  size_t v = static_cast<size_t>(verb);
  requests_[v][static_cast<size_t>(outcome)].fetch_add(1, std::memory_order_relaxed);
  size_t b = 0;
  while (b < kBuckets.size() && seconds > kBuckets[b]) ++b;
  buckets_[v][b].fetch_add(1, std::memory_order_relaxed);
  double nanos = seconds * 1e9;
  sum_nanos_[v].fetch_add(nanos > 0 ? static_cast<uint64_t>(nanos) : 0, std::memory_order_relaxed);
  count_[v].fetch_add(1, std::memory_order_relaxed);
}

namespace {

void Counter(std::string* out, const char* name, const char* help, uint64_t v) {
  *out += "# HELP ";
  *out += name;
  *out += ' ';
  *out += help;
  *out += "\n# TYPE ";
  *out += name;
  *out += " counter\n";
  *out += name;
  *out += ' ';
  *out += std::to_string(v);
  *out += '\n';
}

std::string FormatDouble(double d) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", d);
  return buf;
}

}  // namespace

std::string Metrics::Render() const {
  std::string out;
  out.reserve(8192);
  out += "# HELP apiary_extender_requests_total Extender HTTP requests by verb and outcome.\n";
  out += "# TYPE apiary_extender_requests_total counter\n";
  for (size_t v = 0; v < kVerbs; ++v)
    for (size_t o = 0; o < kOutcomes; ++o) {
      uint64_t n = requests_[v][o].load(std::memory_order_relaxed);
      if (n == 0) continue;
      out += "apiary_extender_requests_total{verb=\"";
      out += VerbName(static_cast<Verb>(v));
      out += "\",outcome=\"";
      out += OutcomeName(static_cast<Outcome>(o));
      out += "\"} " + std::to_string(n) + "\n";
    }
  out += "# HELP apiary_extender_request_duration_seconds Extender request latency by verb.\n";
  out += "# TYPE apiary_extender_request_duration_seconds histogram\n";
  for (size_t v = 0; v < kVerbs; ++v) {
    uint64_t count = count_[v].load(std::memory_order_relaxed);
    if (count == 0) continue;
    const char* verb = VerbName(static_cast<Verb>(v));
    uint64_t cumulative = 0;
    for (size_t b = 0; b <= kBuckets.size(); ++b) {
      cumulative += buckets_[v][b].load(std::memory_order_relaxed);
      out += "apiary_extender_request_duration_seconds_bucket{verb=\"";
      out += verb;
      out += "\",le=\"";
      out += b < kBuckets.size() ? FormatDouble(kBuckets[b]) : std::string("+Inf");
      out += "\"} " + std::to_string(cumulative) + "\n";
    }
    out += "apiary_extender_request_duration_seconds_sum{verb=\"";
    out += verb;
    out += "\"} " + FormatDouble(static_cast<double>(sum_nanos_[v].load(std::memory_order_relaxed)) / 1e9) + "\n";
    out += "apiary_extender_request_duration_seconds_count{verb=\"";
    out += verb;
    out += "\"} " + std::to_string(count) + "\n";
  }
  Counter(&out, "apiary_extender_direct_binds_total",
          "Pods bound by the extender itself (decided node not offered, or forcePodBindThreshold).",
          direct_binds.load());
  Counter(&out, "apiary_extender_api_bindings_total", "Binding calls to the API server.",
          api_bindings.load());
  Counter(&out, "apiary_extender_api_binding_errors_total", "Failed binding calls to the API server.",
          api_binding_errors.load());
  Counter(&out, "apiary_extender_evictions_total", "Victim pods evicted or deleted (self preemption).",
          evictions.load());
  Counter(&out, "apiary_extender_eviction_errors_total", "Failed victim evictions or deletions.",
          eviction_errors.load());
  Counter(&out, "apiary_extender_preemptions_total", "Preemptions started (groups turned Preempting).",
          preemptions.load());
  Counter(&out, "apiary_extender_pods_bound_elsewhere_total",
          "Pods decided for one node and bound to another by another client; their decided cells were released.",
          pods_bound_elsewhere.load());
  Counter(&out, "apiary_extender_annotation_patches_total",
          "Pod annotation patches (bind info, lazy preemption marks).", annotation_patches.load());
  Counter(&out, "apiary_extender_annotation_patch_errors_total", "Failed pod annotation patches.",
          annotation_patch_errors.load());
  Counter(&out, "apiary_extender_config_reloads_total",
          "Configuration reloads applied (rebuild and recovery).", config_reloads.load());
  Counter(&out, "apiary_extender_config_reload_errors_total",
          "Configuration changes rejected (the previous configuration stays).",
          config_reload_errors.load());
  Counter(&out, "apiary_extender_watch_restarts_total", "Pod and node watches restarted.",
          watch_restarts.load());
  Counter(&out, "apiary_extender_relists_total", "Full relists after 410 Gone or errors.",
          relists.load());
  int64_t rec = recovery_micros.load();
  out += "# HELP apiary_extender_recovery_seconds Time the last recovery (rebuild from pod annotations) took.\n";
  out += "# TYPE apiary_extender_recovery_seconds gauge\n";
  out += "apiary_extender_recovery_seconds " +
         (rec < 0 ? std::string("NaN") : FormatDouble(static_cast<double>(rec) / 1e6)) + "\n";
  out += "# HELP apiary_extender_recovered_pods Bound pods replayed by the last recovery.\n";
  out += "# TYPE apiary_extender_recovered_pods gauge\n";
  out += "apiary_extender_recovered_pods " + std::to_string(recovered_pods.load()) + "\n";
  out += "# HELP apiary_extender_watch_staleness_seconds Seconds the extender's view of the API server may be "
         "behind: 0 while the watch is open, else the time since the last list, watch event or clean watch end "
         "(NaN before the first list).\n";
  out += "# TYPE apiary_extender_watch_staleness_seconds gauge\n";
  for (WatchResource r : {kWatchPods, kWatchNodes}) {
    double s = WatchStalenessSeconds(r);
    out += std::string("apiary_extender_watch_staleness_seconds{resource=\"") +
           (r == kWatchPods ? "pods" : "nodes") + "\"} " + (s < 0 ? std::string("NaN") : FormatDouble(s)) + "\n";
  }
  RenderHttp(&out);
  return out;
}

void Metrics::WatchProgress(WatchResource r) {
  watch_progress_ns[r].store(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                 std::chrono::steady_clock::now().time_since_epoch())
                                 .count(),
                             std::memory_order_relaxed);
}

double Metrics::WatchStalenessSeconds(WatchResource r) const {
  int64_t last = watch_progress_ns[r].load(std::memory_order_relaxed);
  if (last == 0) return -1;
  if (watch_open[r].load(std::memory_order_relaxed)) return 0;
  int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                    std::chrono::steady_clock::now().time_since_epoch())
                    .count();
  return static_cast<double>(std::max<int64_t>(0, now - last)) / 1e9;
}

void Metrics::RenderHttp(std::string* out) const {
  struct Family {
    const char* name;
    const char* help;
    const char* label;
    std::vector<std::pair<HttpEvent, const char*>> events;
  };
  const Family families[] = {
      {"apiary_extender_http_connections_total",
       "Connections by listener and result: accepted; rejected (at --max-connections, none evictable); "
       "evicted_idle / evicted_slow (closed to make room for a new connection).",
       "result",
       {{HttpEvent::kAccepted, "accepted"},
        {HttpEvent::kRejected, "rejected"},
        {HttpEvent::kEvictedIdle, "evicted_idle"},
        {HttpEvent::kEvictedSlow, "evicted_slow"}}},
      {"apiary_extender_http_timeouts_total",
       "Connections closed on a deadline: request (headers + body not in within --read-timeout-ms), "
       "idle (keep-alive past --idle-timeout), write (response not taken within --write-timeout-ms).",
       "phase",
       {{HttpEvent::kTimeoutRequest, "request"},
        {HttpEvent::kTimeoutIdle, "idle"},
        {HttpEvent::kTimeoutWrite, "write"}}},
      {"apiary_extender_http_refused_total",
       "Requests refused before the handler: header_too_large 431, body_too_large 413, "
       "content_encoding 415, busy 503 (--max-inflight-bytes), malformed 400.",
       "reason",
       {{HttpEvent::kHeaderTooLarge, "header_too_large"},
        {HttpEvent::kBodyTooLarge, "body_too_large"},
        {HttpEvent::kUnsupportedEncoding, "content_encoding"},
        {HttpEvent::kBusy, "busy"},
        {HttpEvent::kMalformed, "malformed"}}},
  };
  for (const auto& f : families) {
    *out += std::string("# HELP ") + f.name + " " + f.help + "\n# TYPE " + f.name + " counter\n";
    for (size_t l = 0; l < static_cast<size_t>(HttpListener::kCount); ++l)
      for (const auto& [e, value] : f.events)
        *out += std::string(f.name) + "{listener=\"" + HttpListenerName(static_cast<HttpListener>(l)) + "\"," +
                f.label + "=\"" + value + "\"} " + std::to_string(HttpCount(static_cast<HttpListener>(l), e)) +
                "\n";
  }
  *out += "# HELP apiary_extender_http_open_connections Open connections by listener.\n"
          "# TYPE apiary_extender_http_open_connections gauge\n";
  for (size_t l = 0; l < static_cast<size_t>(HttpListener::kCount); ++l)
    *out += std::string("apiary_extender_http_open_connections{listener=\"") +
            HttpListenerName(static_cast<HttpListener>(l)) + "\"} " +
            std::to_string(http_open_connections[l].load(std::memory_order_relaxed)) + "\n";
  *out += "# HELP apiary_extender_http_inflight_request_bytes Request bytes read and not yet answered, by "
          "listener (bounded by --max-inflight-bytes).\n"
          "# TYPE apiary_extender_http_inflight_request_bytes gauge\n";
  for (size_t l = 0; l < static_cast<size_t>(HttpListener::kCount); ++l)
    *out += std::string("apiary_extender_http_inflight_request_bytes{listener=\"") +
            HttpListenerName(static_cast<HttpListener>(l)) + "\"} " +
            std::to_string(http_inflight_bytes[l].load(std::memory_order_relaxed)) + "\n";
}

}  // namespace apiary::extender
