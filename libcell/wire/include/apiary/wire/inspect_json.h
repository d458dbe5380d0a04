// HiveD's inspect JSON (hived.md 11) for the scheduler's inspect views.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "apiary/cell/scheduler.h"

namespace apiary::wire {

using Json = nlohmann::ordered_json;

// A cell status in HiveD's field order; `physical` selects the name of the
// bound-cell field ("virtualCell" for physical cells, "physicalCell" for
// virtual ones).
Json CellStatusToJson(const cell::CellStatus& status, bool physical);
Json CellListToJson(const std::vector<cell::CellStatus>& cells, bool physical);
// {"metadata": {"name"}, "status": {...}} with HiveD's omission rules.
Json AffinityGroupToJson(const cell::AffinityGroupStatus& group);
// {"items": [...]}
Json AffinityGroupListToJson(const std::vector<cell::AffinityGroupStatus>& groups);
// RFC 3339 in UTC with seconds, e.g. "1970-01-01T00:00:05Z".
std::string FormatRfc3339(int64_t unix_seconds);

// An RFC 3339 time as Kubernetes writes it (Go's time.RFC3339Nano):
// "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)", 'T' and 'Z' in either
// case. `nanos` is the fraction (0..999,999,999; digits past the ninth are
// dropped). nullopt when malformed: a missing zone, a space for 'T', a
// field out of range, or anything after the zone.
struct Rfc3339Time {
  int64_t seconds = 0;  // since 1970-01-01T00:00:00Z
  int32_t nanos = 0;
  // Nanoseconds since the epoch; nullopt outside what int64 holds (the
  // years 1678-2262, also the range of a nanosecond system_clock).
  std::optional<int64_t> UnixNanos() const {
    constexpr int64_t kMaxSeconds = INT64_MAX / 1000000000 - 1;
    if (seconds > kMaxSeconds || seconds < -kMaxSeconds) return std::nullopt;
    return seconds * 1000000000 + nanos;
  }
};
std::optional<Rfc3339Time> ParseRfc3339(std::string_view text);

}  // namespace apiary::wire
