// `apiary explain`: why one pod waits or would preempt (docs/explain.md).
// Asks a running extender (GET /v1/inspect/explain/<namespace>/<pod>) or a
// replay state (a config and an events file, replayed first), and prints the
// explanation as text or, with --json, the extender's JSON answer.
#pragma once

#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

namespace apiary::cli {

struct ExplainOptions {
  std::string url;     // http://host:port of a running extender, or
  std::string config;  // a scheduler config and
  std::string events;  // the events file to replay before asking
  std::string pod;     // namespace/name ("default/" when no namespace)
  bool json = false;
};

// The answer as text: "<pod>: <result>" and the explanation
// (cell::FormatExplanation); an error names the field when `answer` is not
// the extender's schema.
std::string RenderExplainAnswer(const nlohmann::json& answer, std::string* error);

// Exit code: 0 when answered, 2 on bad input or an unreachable extender.
int RunExplain(const ExplainOptions& options, std::ostream& out, std::ostream& err);

}  // namespace apiary::cli
