// HiveD's inspect JSON (hived.md 11) for the scheduler's inspect views.
#pragma once

#include <nlohmann/json.hpp>

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

}  // namespace apiary::wire
