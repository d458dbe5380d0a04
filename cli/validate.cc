#include <algorithm>
#include <ostream>

#include "apiary/cell/config_derived.h"
#include "apiary/cell/config_loader.h"
#include "replay.h"

namespace apiary::cli {

int RunValidate(const std::string& config_path, bool strict, std::ostream& out,
                std::ostream& err) {
  auto loaded = cell::LoadConfigFile(config_path);
  if (!loaded.ok()) {
    err << loaded.status().message();
    if (!loaded.status().message().empty() && loaded.status().message().back() != '\n')
      err << '\n';
    return 2;
  }
  std::string warnings = loaded->diagnostics.Format(cell::Diagnostic::Severity::kWarning);
  if (!warnings.empty()) {
    err << warnings;
    if (warnings.back() != '\n') err << '\n';
  }
  if (strict && !warnings.empty()) {
    size_t n = std::count_if(
        loaded->diagnostics.items.begin(), loaded->diagnostics.items.end(),
        [](const cell::Diagnostic& d) { return d.severity == cell::Diagnostic::Severity::kWarning; });
    err << config_path << ": rejected by --strict: " << n << (n == 1 ? " warning\n" : " warnings\n");
    return 2;
  }
  out << config_path << ": valid\n" << cell::SummarizeConfig(loaded->config);
  return 0;
}

}  // namespace apiary::cli
