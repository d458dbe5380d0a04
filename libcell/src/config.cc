// Diagnostics formatting for configuration findings (config.h).
#include "apiary/cell/config.h"

namespace apiary::cell {
namespace {

void AppendLine(const std::string& file, const Diagnostic& d, std::string* out) {
  if (!out->empty()) *out += '\n';
  if (d.severity == Diagnostic::Severity::kWarning) *out += "warning: ";
  if (!file.empty()) {
    *out += file;
    *out += ": ";
  }
  if (!d.path.empty()) {
    *out += d.path;
    *out += ": ";
  }
  *out += d.message;
}

}  // namespace

std::string Diagnostics::Format(Diagnostic::Severity severity) const {
  std::string out;
  for (const Diagnostic& d : items)
    if (d.severity == severity) AppendLine(file, d, &out);
  return out;
}

std::string Diagnostics::FormatAll() const {
  std::string out;
  for (const Diagnostic& d : items) AppendLine(file, d, &out);
  return out;
}

}  // namespace apiary::cell
