#include "apiary/extender/log.h"

#include <atomic>

#include <spdlog/sinks/stdout_sinks.h>

#include "apiary/extender/json_doc.h"

namespace apiary::extender {

namespace {
std::atomic<bool> g_json{false};

bool NeedsQuote(std::string_view v) {
  if (v.empty()) return true;
  for (char c : v)
    if (c == ' ' || c == '"' || c == '=' || c == '\\' || static_cast<unsigned char>(c) < 0x20)
      return true;
  return false;
}
}  // namespace

void SetupLogging(bool json, spdlog::level::level_enum level) {
  g_json = json;
  spdlog::drop("apiary");
  auto logger = spdlog::stderr_logger_mt("apiary");
  if (json) {
    // The message is a pre-encoded list of JSON members.
    logger->set_pattern("{\"ts\":\"%Y-%m-%dT%H:%M:%S.%fZ\",\"level\":\"%l\",%v}", spdlog::pattern_time_type::utc);
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%fZ %L %v", spdlog::pattern_time_type::utc);
  }
  logger->set_level(level);
  // Flushing every line costs a write(2) per request; warnings and errors are
  // flushed at once, the rest every second.
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
  spdlog::flush_every(std::chrono::seconds(1));
}

void LogEvent(spdlog::level::level_enum level, std::string_view event,
              std::initializer_list<LogField> fields) {
  auto* logger = spdlog::default_logger_raw();
  if (!logger->should_log(level)) return;
  std::string line;
  line.reserve(128);
  if (g_json.load(std::memory_order_relaxed)) {
    line += "\"event\":";
    AppendJsonString(&line, event);
    for (const auto& [k, v] : fields) {
      line.push_back(',');
      AppendJsonString(&line, k);
      line.push_back(':');
      AppendJsonString(&line, v);
    }
  } else {
    line += "event=";
    line += event;
    for (const auto& [k, v] : fields) {
      line.push_back(' ');
      line += k;
      line.push_back('=');
      if (NeedsQuote(v)) AppendJsonString(&line, v);
      else line += v;
    }
  }
  logger->log(level, "{}", line);
}

}  // namespace apiary::extender
