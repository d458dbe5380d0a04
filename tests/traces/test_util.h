// Helpers for the traces tests: paths to bundled data and temporary files.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <string>

namespace apiary::traces::testing {

inline std::string DataPath(const std::string& relative) {
  return std::string(APIARY_SOURCE_DIR) + "/traces/data/" + relative;
}

// Writes `content` to a file named after the running test and `name`, and
// returns its path.
inline std::string WriteTemp(const std::string& name, const std::string& content) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string path = ::testing::TempDir() + "apiary_traces_" + info->test_suite_name() +
                     "_" + info->name() + "_" + name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  return path;
}

}  // namespace apiary::traces::testing
