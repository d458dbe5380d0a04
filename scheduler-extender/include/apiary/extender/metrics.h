// Prometheus text-format metrics for the extender (extender.md 7): request
// counts per verb and outcome, latency histograms per verb, and counters for
// binds, evictions and reconfigurations. Gauges that describe the scheduler's
// state (pods by state, cells per VC and chain) are computed at scrape time by
// the Extender and appended to Render()'s output.
//
// Thread safety: every method may be called concurrently (relaxed atomics;
// a scrape sees each counter's value at some moment during the scrape).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "apiary/cell/headroom.h"

namespace apiary::extender {

enum class Verb : uint8_t { kFilter, kBind, kPreempt, kInspect, kOther, kCount };
const char* VerbName(Verb v);

enum class Outcome : uint8_t {
  kBind,           // filter decided a node / bind succeeded
  kBindDirect,     // filter: bound by the extender outside the offered nodes
  kPreempt,        // filter/preempt: victims named or being evicted
  kWait,           // filter: wait
  kNone,           // preempt: no preemption now
  kUserError,      // 400-class
  kInternalError,  // 500-class
  kNotReady,       // recovering, not leader, no configuration
  kOk,             // inspect and others: 2xx
  kNotFound,       // 404
  kCount
};
const char* OutcomeName(Outcome o);

// The HTTP front door (server.h): which listener, and what happened to a
// connection or request there.
enum class HttpListener : uint8_t { kScheduling, kHealth, kCount };
const char* HttpListenerName(HttpListener l);
enum class HttpEvent : uint8_t {
  kAccepted,             // connection accepted
  kRejected,             // connection refused: at --max-connections, none evictable
  kEvictedIdle,          // idle connection closed to make room for a new one
  kEvictedSlow,          // connection slower than the grace closed to make room
  kTimeoutRequest,       // request (headers + body, TLS handshake) past its deadline
  kTimeoutIdle,          // keep-alive connection idle past the idle timeout
  kTimeoutWrite,         // response not taken by the client in time
  kHeaderTooLarge,       // 431: header bytes or count over the limit
  kBodyTooLarge,         // 413: body bytes over --max-body-bytes
  kUnsupportedEncoding,  // 415: Content-Encoding / Transfer-Encoding other than identity, chunked
  kBusy,                 // 503: request bytes in flight over --max-inflight-bytes
  kMalformed,            // 400: not HTTP/1.x
  kCount
};

class Metrics {
 public:
  // Latency buckets in seconds (upper bounds), +Inf implied.
  static constexpr std::array<double, 14> kBuckets = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
      0.025,  0.05,    0.1,    0.25,  0.5,    1.0,   5.0};

  void ObserveRequest(Verb verb, Outcome outcome, double seconds);

  std::atomic<uint64_t> direct_binds{0};
  std::atomic<uint64_t> api_bindings{0};
  std::atomic<uint64_t> api_binding_errors{0};
  std::atomic<uint64_t> evictions{0};
  std::atomic<uint64_t> eviction_errors{0};
  std::atomic<uint64_t> preemptions{0};  // preemptions started (groups turned Preempting)
  // Pods decided here for one node and bound to another by someone else.
  std::atomic<uint64_t> pods_bound_elsewhere{0};
  std::atomic<uint64_t> annotation_patches{0};
  std::atomic<uint64_t> annotation_patch_errors{0};
  std::atomic<uint64_t> config_reloads{0};
  std::atomic<uint64_t> config_reload_errors{0};
  std::atomic<uint64_t> watch_restarts{0};
  std::atomic<uint64_t> relists{0};
  std::atomic<int64_t> recovery_micros{-1};  // -1 = not recovered yet
  std::atomic<int64_t> recovered_pods{0};

  void CountHttp(HttpListener l, HttpEvent e) {
    http_events_[static_cast<size_t>(l)][static_cast<size_t>(e)].fetch_add(1, std::memory_order_relaxed);
  }
  uint64_t HttpCount(HttpListener l, HttpEvent e) const {
    return http_events_[static_cast<size_t>(l)][static_cast<size_t>(e)].load(std::memory_order_relaxed);
  }
  // Gauges kept by the server's I/O threads.
  std::array<std::atomic<int64_t>, static_cast<size_t>(HttpListener::kCount)> http_open_connections{};
  std::array<std::atomic<int64_t>, static_cast<size_t>(HttpListener::kCount)> http_inflight_bytes{};

  // The informer's view of the API server, per resource (WatchResource):
  // whether a watch stream is open, and when it last made progress (a list,
  // a watch opened, an event or bookmark, a watch closed by the server's
  // timeout), as steady_clock nanoseconds since its epoch; 0 = never.
  // Rendered as apiary_extender_watch_staleness_seconds: 0 while a watch is
  // open, else the time since the last progress.
  enum WatchResource : size_t { kWatchPods = 0, kWatchNodes = 1 };
  std::array<std::atomic<bool>, 2> watch_open{};
  std::array<std::atomic<int64_t>, 2> watch_progress_ns{};
  void WatchProgress(WatchResource r);
  // Seconds since the last progress (0 while a watch is open; -1 = never).
  double WatchStalenessSeconds(WatchResource r) const;

  // The counters and histograms above in Prometheus text format.
  std::string Render() const;

 private:
  void RenderHttp(std::string* out) const;
  static constexpr size_t kVerbs = static_cast<size_t>(Verb::kCount);
  static constexpr size_t kOutcomes = static_cast<size_t>(Outcome::kCount);
  std::array<std::array<std::atomic<uint64_t>, kOutcomes>, kVerbs> requests_{};
  std::array<std::array<std::atomic<uint64_t>, kBuckets.size() + 1>, kVerbs> buckets_{};
  std::array<std::atomic<uint64_t>, kVerbs> sum_nanos_{};
  std::array<std::atomic<uint64_t>, kVerbs> count_{};
  std::array<std::array<std::atomic<uint64_t>, static_cast<size_t>(HttpEvent::kCount)>,
             static_cast<size_t>(HttpListener::kCount)>
      http_events_{};
};

// Escapes a Prometheus label value.
std::string PromLabel(std::string_view v);

// The guarantee headroom gauges (apiary/cell/headroom.h; extender.md
// "Guarantee headroom"): apiary_vc_guarantee_cells,
// apiary_vc_guarantee_placeable_cells and apiary_vc_guarantee_doomed_cells
// by vc, chain, level and cell_type, and apiary_vc_guarantee_broken and
// apiary_vc_guarantee_at_risk by vc and chain, with HELP and TYPE lines.
std::string RenderGuaranteeGauges(const std::vector<cell::VcGuarantee>& headroom);

}  // namespace apiary::extender
