// Loading a HiveD scheduler config from YAML (hived.md 2, 3). One of
// libcell's two YAML edges (the other is the pod annotations,
// annotations.h); yaml-cpp stays out of this header.
#pragma once

#include <string>
#include <string_view>

#include "apiary/cell/config.h"
#include "apiary/cell/status.h"

namespace apiary::cell {

struct LoadedConfig {
  Config config;
  Diagnostics diagnostics;  // warnings (errors make the load fail)
};

// Parses `text` as either a bare HiveD config or an OpenPAI
// services-configuration.yaml whose `hivedscheduler.config` holds the config
// as a string, then runs ValidateConfig. `file` names the source in messages.
// On failure the Status message holds every error, one per line, each
// "<file>: <yaml path>: <reason>" in document order.
Result<LoadedConfig> LoadConfigText(std::string_view text,
                                    const std::string& file);

// Reads the file and calls LoadConfigText.
Result<LoadedConfig> LoadConfigFile(const std::string& path);

}  // namespace apiary::cell
