// Diagnostics formatting for configuration findings (config.h).
#include "apiary/cell/config.h"

namespace apiary::cell {

std::string Diagnostics::Format(Diagnostic::Severity severity) const {
  std::string out;
  for (const Diagnostic& d : items) {
    if (d.severity != severity) continue;
    if (!out.empty()) out += '\n';
    if (!file.empty()) {
      out += file;
      out += ": ";
    }
    if (!d.path.empty()) {
      out += d.path;
      out += ": ";
    }
    out += d.message;
  }
  return out;
}

}  // namespace apiary::cell
