// A kubeconfig that is not UTF-8, or cannot be read, says so with the byte
// offset or the OS reason (issue 17: every YAML input, every "cannot open").
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "apiary/extender/kube_client.h"
#include "test_util.h"

namespace apiary::extender {
namespace {

TEST(KubeconfigTextTest, NotUtf8IsRefusedWithTheByteOffsetAndMissingWithTheReason) {
  std::string dir = apiary::testing::TempDir("kubeconfig-text");
  std::ofstream(dir + "/config") << "apiVersion: v1\nkind: Config\ncurrent-context: t\xE9st\n";
  auto c = LoadKubeconfig(dir + "/config");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), dir + "/config: not valid UTF-8: byte 0xE9 at byte offset 46 "
                                        "(line 3, column 19)");
  auto missing = LoadKubeconfig(dir + "/absent");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(), dir + "/absent: cannot read: No such file or directory");
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

}  // namespace
}  // namespace apiary::extender
