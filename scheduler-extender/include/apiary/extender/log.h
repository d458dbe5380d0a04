// Structured logging on top of spdlog: one line per event, with the event
// name and key/value fields, as logfmt (`event=bind pod=ns/p node=n`) or, with
// SetJsonLogs(true), as one JSON object per line. Thread-safe (spdlog's
// default logger is).
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include <spdlog/spdlog.h>

namespace apiary::extender {

using LogField = std::pair<std::string_view, std::string_view>;

// Configures the default spdlog logger: JSON or text lines on stderr.
void SetupLogging(bool json, spdlog::level::level_enum level);

void LogEvent(spdlog::level::level_enum level, std::string_view event,
              std::initializer_list<LogField> fields);

inline void LogInfo(std::string_view event, std::initializer_list<LogField> fields = {}) {
  LogEvent(spdlog::level::info, event, fields);
}
inline void LogWarn(std::string_view event, std::initializer_list<LogField> fields = {}) {
  LogEvent(spdlog::level::warn, event, fields);
}
inline void LogError(std::string_view event, std::initializer_list<LogField> fields = {}) {
  LogEvent(spdlog::level::err, event, fields);
}
inline void LogDebug(std::string_view event, std::initializer_list<LogField> fields = {}) {
  LogEvent(spdlog::level::debug, event, fields);
}

}  // namespace apiary::extender
