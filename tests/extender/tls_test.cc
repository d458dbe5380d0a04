// The API client over TLS against the fake API server in HTTPS mode: the
// in-cluster service account (token + CA, the server named by IP address),
// server verification failures, client certificates from a kubeconfig, and
// the kubeconfig's client-certificate validation.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include "apiary/extender/kube_client.h"
#include "fake_apiserver.h"
#include "test_pki.h"
#include "test_util.h"

namespace apiary::extender {
namespace {

using apiary::testing::FakeApiServer;
using apiary::testing::TestPki;

void WriteText(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

bool Has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Sets an environment variable for its scope; the old value (or its
// absence) comes back on destruction.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_) setenv(name_, old_->c_str(), 1);
    else unsetenv(name_);
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = apiary::testing::TempDir("tls");
    pki_ = std::make_unique<TestPki>(dir_);
    if (!pki_->ok()) GTEST_SKIP() << "the openssl command failed (is Debian's openssl installed?)";
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  // Starts `api` on HTTPS with the server certificate; with `client_ca`,
  // client certificates signed by the test CA are required.
  int StartTls(FakeApiServer* api, bool client_ca) {
    api->EnableTls(pki_->Path("server.crt"), pki_->Path("server.key"), client_ca ? pki_->Path("ca.crt") : "");
    return api->Start();
  }
  std::string dir_;
  std::unique_ptr<TestPki> pki_;
};

TEST_F(TlsTest, InClusterServiceAccountOverVerifiedTls) {
  FakeApiServer api;
  int port = StartTls(&api, /*client_ca=*/false);
  ASSERT_GT(port, 0);
  api.RequireBearerToken("sa-token");
  const std::string sa = dir_ + "/serviceaccount";
  std::filesystem::create_directories(sa);
  WriteText(sa + "/token", "sa-token\n");
  std::filesystem::copy_file(pki_->Path("ca.crt"), sa + "/ca.crt");
  WriteText(sa + "/namespace", "kube-system");
  auto config = [&] {
    ScopedEnv host("KUBERNETES_SERVICE_HOST", "127.0.0.1");
    ScopedEnv service_port("KUBERNETES_SERVICE_PORT", std::to_string(port));
    return InClusterConfig(sa);
  }();
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->server, "https://127.0.0.1:" + std::to_string(port));
  EXPECT_EQ(config->ns, "kube-system");

  KubeClient client(*config, "test", std::chrono::seconds(5));
  HttpResult r = client.Do("GET", "/api/v1/nodes");
  EXPECT_EQ(r.status, 200) << r.error << r.body;
  EXPECT_EQ(api.BearerTokens().back(), "sa-token");
  // Watches run over TLS too.
  int lines = 0;
  HttpResult w = client.Stream("/api/v1/nodes?watch=1&timeoutSeconds=1", [&](std::string_view) {
    ++lines;
    return true;
  }, std::chrono::seconds(5));
  EXPECT_EQ(w.status, 200) << w.error;
}

TEST_F(TlsTest, AnUntrustedServerCertificateIsRefusedWithAClearError) {
  FakeApiServer api;
  int port = StartTls(&api, /*client_ca=*/false);
  ASSERT_GT(port, 0);
  KubeConfig c;
  c.server = "https://127.0.0.1:" + std::to_string(port);
  c.source = "test";
  c.ca_pem = pki_->Pem("other-ca.crt");  // not the CA that signed the server
  KubeClient client(c, "test", std::chrono::seconds(5));
  HttpResult r = client.Do("GET", "/api/v1/nodes");
  EXPECT_EQ(r.status, 0);
  EXPECT_TRUE(Has(r.error, "certificate authority")) << r.error;
  EXPECT_EQ(api.RequestCount("GET /api/v1/nodes"), 0);

  // The right CA, but a certificate that names another host.
  FakeApiServer misnamed_api;
  misnamed_api.EnableTls(pki_->Path("misnamed.crt"), pki_->Path("misnamed.key"));
  int misnamed_port = misnamed_api.Start();
  ASSERT_GT(misnamed_port, 0);
  KubeConfig m = c;
  m.server = "https://127.0.0.1:" + std::to_string(misnamed_port);
  m.ca_pem = pki_->Pem("ca.crt");
  KubeClient misnamed(m, "test", std::chrono::seconds(5));
  r = misnamed.Do("GET", "/api/v1/nodes");
  EXPECT_EQ(r.status, 0);
  EXPECT_TRUE(Has(r.error, "does not name the server's host")) << r.error;
  // The same CA and certificate, with the server named as the certificate
  // does, is accepted: the refusal above was about the name alone.
  m.server = "https://127.0.0.1:" + std::to_string(port);
  KubeClient named(m, "test", std::chrono::seconds(5));
  EXPECT_EQ(named.Do("GET", "/api/v1/nodes").status, 200);

  // insecure-skip-tls-verify accepts it.
  c.server = "https://127.0.0.1:" + std::to_string(port);
  c.ca_pem = pki_->Pem("other-ca.crt");
  c.insecure = true;
  KubeClient insecure(c, "test", std::chrono::seconds(5));
  EXPECT_EQ(insecure.Do("GET", "/api/v1/nodes").status, 200);
}

// A configured CA is the only one trusted, as with kubectl: not the system's
// (OpenSSL's default paths, here pointed at the other CA by SSL_CERT_FILE)
// in addition.
TEST_F(TlsTest, TheConfiguredCaIsTheOnlyTrustedOne) {
  FakeApiServer api;
  api.EnableTls(pki_->Path("other-server.crt"), pki_->Path("other-server.key"));
  int port = api.Start();
  ASSERT_GT(port, 0);
  std::optional<ScopedEnv> system_ca(std::in_place, "SSL_CERT_FILE", pki_->Path("other-ca.crt"));
  KubeConfig c;
  c.server = "https://127.0.0.1:" + std::to_string(port);
  c.source = "test";
  c.ca_pem = pki_->Pem("ca.crt");
  KubeClient client(c, "test", std::chrono::seconds(5));
  HttpResult r = client.Do("GET", "/api/v1/nodes");
  // Without a CA in the config, the system's trust applies.
  KubeConfig system = c;
  system.ca_pem.clear();
  KubeClient system_client(system, "test", std::chrono::seconds(5));
  HttpResult s = system_client.Do("GET", "/api/v1/nodes");
  system_ca.reset();
  EXPECT_EQ(r.status, 0) << "a certificate from a CA outside the configured one was accepted";
  EXPECT_TRUE(Has(r.error, "certificate authority")) << r.error;
  EXPECT_EQ(s.status, 200) << s.error;
}

TEST_F(TlsTest, KubeconfigClientCertificateAuthenticates) {
  FakeApiServer api;
  int port = StartTls(&api, /*client_ca=*/true);
  ASSERT_GT(port, 0);
  const std::string server = "https://127.0.0.1:" + std::to_string(port);
  auto kubeconfig = [&](const std::string& user) {
    std::string path = dir_ + "/kubeconfig";
    WriteText(path, "apiVersion: v1\nkind: Config\ncurrent-context: t\nclusters:\n- name: c\n  cluster:\n"
                    "    server: " + server + "\n    certificate-authority: ca.crt\ncontexts:\n"
                    "- name: t\n  context: {cluster: c, user: u}\nusers:\n- name: u\n  user:\n" + user);
    return LoadKubeconfig(path);
  };
  // Files relative to the kubeconfig.
  auto config = kubeconfig("    client-certificate: client.crt\n    client-key: client.key\n");
  ASSERT_TRUE(config.ok()) << config.status().message();
  KubeClient client(*config, "test", std::chrono::seconds(5));
  HttpResult r = client.Do("GET", "/api/v1/pods");
  EXPECT_EQ(r.status, 200) << r.error;

  EXPECT_EQ(api.ClientCertificates().back(), "apiary-extender");

  // Without a certificate, or with one from another CA: 401 (the API server
  // asks for a certificate in the handshake but does not require one).
  auto none = kubeconfig("    token: x\n");
  ASSERT_TRUE(none.ok()) << none.status().message();
  KubeClient anonymous(*none, "test", std::chrono::seconds(5));
  r = anonymous.Do("GET", "/api/v1/pods");
  EXPECT_EQ(r.status, 401) << r.error;
  EXPECT_EQ(api.ClientCertificates().back(), "");
  auto other = kubeconfig("    client-certificate: other-client.crt\n    client-key: other-client.key\n");
  ASSERT_TRUE(other.ok()) << other.status().message();
  KubeClient intruder(*other, "test", std::chrono::seconds(5));
  EXPECT_EQ(intruder.Do("GET", "/api/v1/pods").status, 401);
  EXPECT_EQ(api.ClientCertificates().back(), "unverified:intruder");
}

TEST_F(TlsTest, KubeconfigClientCertificateErrorsNameTheField) {
  auto load = [&](const std::string& user) {
    std::string path = dir_ + "/kubeconfig";
    WriteText(path, "apiVersion: v1\nkind: Config\ncurrent-context: t\nclusters:\n- name: c\n  cluster:\n"
                    "    server: https://10.0.0.1:6443\ncontexts:\n- name: t\n  context: {cluster: c, user: u}\n"
                    "users:\n- name: u\n  user:\n" + user);
    auto c = LoadKubeconfig(path);
    return c.ok() ? std::string("ok") : c.status().message();
  };
  std::string m = load("    client-certificate: client.crt\n");
  EXPECT_TRUE(Has(m, "users[u].user: client-certificate(-data) without client-key(-data)")) << m;
  m = load("    client-key: client.key\n");
  EXPECT_TRUE(Has(m, "client-key(-data) without client-certificate(-data)")) << m;
  m = load("    client-certificate: client.key\n    client-key: client.key\n");
  EXPECT_TRUE(Has(m, "users[u].user.client-certificate: not a PEM certificate")) << m;
  m = load("    client-certificate: client.crt\n    client-key: client.crt\n");
  EXPECT_TRUE(Has(m, "users[u].user.client-key: not a PEM private key")) << m;
  m = load("    client-certificate: client.crt\n    client-key: other-client.key\n");
  EXPECT_TRUE(Has(m, "client-key: does not match the certificate")) << m;
  m = load("    client-certificate: client.crt\n    client-key: client.key\n"
           "    exec: {apiVersion: client.authentication.k8s.io/v1, command: /bin/true}\n");
  EXPECT_TRUE(Has(m, "users[u].user.exec: cannot be combined with client-certificate")) << m;
  EXPECT_EQ(load("    client-certificate: client.crt\n    client-key: client.key\n"), "ok");
}

}  // namespace
}  // namespace apiary::extender
