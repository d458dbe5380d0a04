// The JSON form of a decision's explanation (apiary/cell/explain.h), shared
// by `apiary replay` ("explanation" in a schedule result), the extender's
// GET /v1/inspect/explain/<namespace>/<pod> and `apiary explain`. Field by
// field in docs/explain.md.
#pragma once

#include <nlohmann/json.hpp>

#include "apiary/cell/explain.h"
#include "apiary/cell/scheduler.h"
#include "apiary/cell/status.h"

namespace apiary::wire {

nlohmann::ordered_json ExplanationToJson(const cell::Explanation& e);
// The inverse of ExplanationToJson; an error names the field and the reason.
cell::Result<cell::Explanation> ExplanationFromJson(const nlohmann::json& j);

// The answer about one pod of the extender's explain path and of
// `apiary explain --json`: {"pod", "state", "result", then "node" (bind),
// "victims" (preempt: [{"pod","node"}]) or "reason" (wait), and
// "explanation" (null when none)}. `r` is not a kError result.
nlohmann::ordered_json ExplainAnswerToJson(const std::string& pod, const std::string& state,
                                           const cell::ScheduleResult& r);

}  // namespace apiary::wire
