// Parsing one YAML document for the operator commands (`apiary generate`,
// `check-layout`): a syntax error names the file, line and column.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>
#include <string_view>

#include "apiary/cell/status.h"

namespace apiary::cli {

inline cell::Result<YAML::Node> ParseYamlText(std::string_view text, const std::string& file) {
  try {
    return YAML::Load(std::string(text));
  } catch (const YAML::ParserException& e) {
    return cell::Status::Invalid(file + ": YAML parse error at line " +
                                 std::to_string(e.mark.line + 1) + ", column " +
                                 std::to_string(e.mark.column + 1) + ": " + e.msg + "\n");
  }
}

}  // namespace apiary::cli
