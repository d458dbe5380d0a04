// Where the Kubernetes client's settings come from: the in-cluster service
// account, a kubeconfig file (with its exec credential plugin settings), or
// a bare API server address (kube_client.h).
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "apiary/cell/text.h"
#include "apiary/extender/kube_client.h"
#include "kube_internal.h"

namespace apiary::extender {

using cell::Result;
using cell::Status;

namespace kube_internal {

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Invalid(path + ": cannot read: " + std::strerror(errno));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string TrimForMessage(std::string_view s, size_t max) {
  auto space = [](char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  if (s.size() > max) return std::string(s.substr(0, max)) + "...";
  return std::string(s);
}

}  // namespace kube_internal

using kube_internal::CheckCaBundle;
using kube_internal::CheckClientIdentity;
using kube_internal::ReadFile;
using kube_internal::Trim;

namespace {

Result<std::string> Base64Decode(std::string_view in, const std::string& what) {
  static const std::string kChars =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  uint32_t buf = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=' || c == '\n' || c == '\r' || c == ' ') continue;
    size_t v = kChars.find(c);
    if (v == std::string::npos) return Status::Invalid(what + ": invalid base64");
    buf = (buf << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buf >> bits) & 0xFF));
    }
  }
  return out;
}

// Finds list[i] with .name == name and returns list[i][field].
YAML::Node Named(const YAML::Node& list, const std::string& name, const char* field) {
  if (!list || !list.IsSequence()) return YAML::Node();
  for (const auto& item : list)
    if (item["name"] && item["name"].as<std::string>() == name) return item[field];
  return YAML::Node();
}

std::string Resolve(const std::string& base_dir, const std::string& path) {
  if (path.empty() || path[0] == '/') return path;
  return (std::filesystem::path(base_dir) / path).string();
}

// ---------------------------------------------------------------------------
// kubeconfig users[].user.exec

constexpr char kExecV1[] = "client.authentication.k8s.io/v1";
constexpr char kExecV1beta1[] = "client.authentication.k8s.io/v1beta1";
constexpr char kExecV1alpha1[] = "client.authentication.k8s.io/v1alpha1";

// A scalar field of `node` as a string; `*out` untouched when absent/null.
Status ScalarField(const YAML::Node& node, const char* key, const std::string& where, std::string* out) {
  YAML::Node v = node[key];
  if (!v || v.IsNull()) return Status::Ok();
  if (!v.IsScalar()) return Status::Invalid(where + "." + key + ": must be a string");
  *out = v.as<std::string>();
  return Status::Ok();
}

Result<ExecConfig> ParseExec(const YAML::Node& exec, const std::string& where,
                             const std::string& kubeconfig_path) {
  if (!exec.IsMap()) return Status::Invalid(where + ": must be a mapping");
  ExecConfig e;
  if (auto st = ScalarField(exec, "command", where, &e.command); !st.ok()) return st;
  if (e.command.empty()) return Status::Invalid(where + ".command: missing (the plugin to run)");
  if (auto st = ScalarField(exec, "apiVersion", where, &e.api_version); !st.ok()) return st;
  if (e.api_version.empty())
    return Status::Invalid(where + ".apiVersion: missing (" + kExecV1 + " or " + kExecV1beta1 + ")");
  if (e.api_version == kExecV1alpha1)
    return Status::Invalid(where + ".apiVersion: " + e.api_version + " is not supported; use " + kExecV1 +
                           " or " + kExecV1beta1);
  if (e.api_version != kExecV1 && e.api_version != kExecV1beta1)
    return Status::Invalid(where + ".apiVersion: \"" + e.api_version + "\" is not supported; use " + kExecV1 +
                           " or " + kExecV1beta1);
  if (YAML::Node args = exec["args"]; args && !args.IsNull()) {
    if (!args.IsSequence()) return Status::Invalid(where + ".args: must be a list of strings");
    for (size_t i = 0; i < args.size(); ++i) {
      if (!args[i].IsScalar())
        return Status::Invalid(where + ".args[" + std::to_string(i) + "]: must be a string");
      e.args.push_back(args[i].as<std::string>());
    }
  }
  if (YAML::Node env = exec["env"]; env && !env.IsNull()) {
    if (!env.IsSequence()) return Status::Invalid(where + ".env: must be a list of {name, value}");
    for (size_t i = 0; i < env.size(); ++i) {
      const std::string at = where + ".env[" + std::to_string(i) + "]";
      if (!env[i].IsMap()) return Status::Invalid(at + ": must be a mapping with name and value");
      std::string name, value;
      if (auto st = ScalarField(env[i], "name", at, &name); !st.ok()) return st;
      if (auto st = ScalarField(env[i], "value", at, &value); !st.ok()) return st;
      if (name.empty() || name.find('=') != std::string::npos)
        return Status::Invalid(at + ".name: missing or contains '='");
      e.env.emplace_back(name, value);
    }
  }
  if (auto st = ScalarField(exec, "installHint", where, &e.install_hint); !st.ok()) return st;
  if (YAML::Node p = exec["provideClusterInfo"]; p && !p.IsNull()) {
    bool b = false;
    if (!p.IsScalar() || !YAML::convert<bool>::decode(p, b))
      return Status::Invalid(where + ".provideClusterInfo: must be true or false");
    e.provide_cluster_info = b;
  }
  std::string mode;
  if (auto st = ScalarField(exec, "interactiveMode", where, &mode); !st.ok()) return st;
  if (mode == "Always")
    return Status::Invalid(where + ".interactiveMode: Always is not supported (apiary-extender runs without a "
                           "terminal); use Never or IfAvailable");
  if (!mode.empty() && mode != "Never" && mode != "IfAvailable")
    return Status::Invalid(where + ".interactiveMode: \"" + mode + "\" is not one of Never, IfAvailable, Always");
  // A relative path (with a separator) is relative to the kubeconfig's
  // directory; a bare name is looked up in PATH when run.
  if (e.command.find('/') != std::string::npos && e.command[0] != '/') {
    std::error_code ec;
    std::filesystem::path dir = std::filesystem::absolute(kubeconfig_path, ec).parent_path();
    e.command = (dir / e.command).lexically_normal().string();
  }
  return e;
}

}  // namespace

Result<KubeConfig> InClusterConfig(const std::string& root) {
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
  if (!host || !*host || !port || !*port)
    return Status::Invalid(
        "no Kubernetes API server configured: not in a cluster (KUBERNETES_SERVICE_HOST/PORT unset); "
        "pass --kubeconfig or --master, or set kubeConfigFilePath / kubeApiServerAddress");
  KubeConfig c;
  std::string h = host;
  if (h.find(':') != std::string::npos) h = "[" + h + "]";  // IPv6
  c.server = "https://" + h + ":" + port;
  c.token_file = root + "/token";
  auto tok = ReadFile(c.token_file);
  if (!tok.ok()) return Status::Invalid("in-cluster: " + tok.status().message());
  auto ca = ReadFile(root + "/ca.crt");
  if (!ca.ok()) return Status::Invalid("in-cluster: " + ca.status().message());
  c.ca_pem = *ca;
  if (std::string err = CheckCaBundle(c.ca_pem, "in-cluster: " + root + "/ca.crt"); !err.empty())
    return Status::Invalid(err);
  if (auto ns = ReadFile(root + "/namespace"); ns.ok()) c.ns = Trim(*ns);
  c.source = "in-cluster";
  return c;
}

Result<KubeConfig> LoadKubeconfig(const std::string& path, const std::string& context_name) {
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  if (Status utf8 = cell::CheckUtf8(*text, path); !utf8.ok()) return utf8;
  const std::string dir = std::filesystem::path(path).parent_path().string();
  KubeConfig c;
  c.source = "kubeconfig " + path;
  try {
    YAML::Node root = YAML::Load(*text);
    std::string ctx = context_name;
    if (ctx.empty() && root["current-context"]) ctx = root["current-context"].as<std::string>();
    YAML::Node context = Named(root["contexts"], ctx, "context");
    if (!context) return Status::Invalid(path + ": context \"" + ctx + "\" not found");
    std::string cluster_name = context["cluster"] ? context["cluster"].as<std::string>() : "";
    std::string user_name = context["user"] ? context["user"].as<std::string>() : "";
    if (context["namespace"]) c.ns = context["namespace"].as<std::string>();
    YAML::Node cluster = Named(root["clusters"], cluster_name, "cluster");
    if (!cluster) return Status::Invalid(path + ": cluster \"" + cluster_name + "\" not found");
    if (!cluster["server"]) return Status::Invalid(path + ": clusters[" + cluster_name + "].cluster.server: missing");
    c.server = cluster["server"].as<std::string>();
    if (cluster["insecure-skip-tls-verify"]) c.insecure = cluster["insecure-skip-tls-verify"].as<bool>();
    if (cluster["certificate-authority-data"]) {
      auto d = Base64Decode(cluster["certificate-authority-data"].as<std::string>(),
                            path + ": certificate-authority-data");
      if (!d.ok()) return d.status();
      c.ca_pem = *d;
    } else if (cluster["certificate-authority"]) {
      auto d = ReadFile(Resolve(dir, cluster["certificate-authority"].as<std::string>()));
      if (!d.ok()) return d.status();
      c.ca_pem = *d;
    }
    // With insecure-skip-tls-verify the CA is never used.
    if (!c.ca_pem.empty() && !c.insecure) {
      std::string err = CheckCaBundle(c.ca_pem, path + ": clusters[" + cluster_name + "].cluster.certificate-authority" +
                                                    (cluster["certificate-authority-data"] ? "-data" : ""));
      if (!err.empty()) return Status::Invalid(err);
    }
    YAML::Node user = Named(root["users"], user_name, "user");
    if (user) {
      const std::string where = path + ": users[" + user_name + "].user";
      if (user["auth-provider"] && !user["auth-provider"].IsNull())
        return Status::Invalid(where + ".auth-provider: auth-provider plugins are not supported; "
                               "use an exec credential plugin, a token, tokenFile or client certificate");
      if (user["token"]) c.token = user["token"].as<std::string>();
      if (user["tokenFile"]) c.token_file = Resolve(dir, user["tokenFile"].as<std::string>());
      if (YAML::Node exec = user["exec"]; exec && !exec.IsNull()) {
        if (!c.token.empty() || !c.token_file.empty())
          return Status::Invalid(where + ".exec: cannot be combined with token or tokenFile; keep one of them");
        auto e = ParseExec(exec, where + ".exec", path);
        if (!e.ok()) return e.status();
        e->user = user_name;
        c.exec = std::move(*e);
      }
      if (user["client-certificate-data"]) {
        auto d = Base64Decode(user["client-certificate-data"].as<std::string>(), path + ": client-certificate-data");
        if (!d.ok()) return d.status();
        c.client_cert_pem = *d;
      } else if (user["client-certificate"]) {
        auto d = ReadFile(Resolve(dir, user["client-certificate"].as<std::string>()));
        if (!d.ok()) return d.status();
        c.client_cert_pem = *d;
      }
      if (user["client-key-data"]) {
        auto d = Base64Decode(user["client-key-data"].as<std::string>(), path + ": client-key-data");
        if (!d.ok()) return d.status();
        c.client_key_pem = *d;
      } else if (user["client-key"]) {
        auto d = ReadFile(Resolve(dir, user["client-key"].as<std::string>()));
        if (!d.ok()) return d.status();
        c.client_key_pem = *d;
      }
      if (c.client_cert_pem.empty() != c.client_key_pem.empty())
        return Status::Invalid(where + (c.client_cert_pem.empty() ? ": client-key(-data) without client-certificate(-data)"
                                                                  : ": client-certificate(-data) without client-key(-data)") +
                               "; a client certificate needs both");
      if (!c.client_cert_pem.empty()) {
        if (c.exec)
          return Status::Invalid(where + ".exec: cannot be combined with client-certificate/client-key; "
                                 "the plugin provides the credentials");
        std::string err = CheckClientIdentity(c.client_cert_pem, c.client_key_pem, where + ".client-certificate",
                                              where + ".client-key");
        if (!err.empty()) return Status::Invalid(err);
      }
    }
  } catch (const YAML::Exception& e) {
    return Status::Invalid(path + ": " + e.what());
  }
  return c;
}

Result<KubeConfig> ResolveKubeConfig(const std::string& master, const std::string& kubeconfig) {
  if (!kubeconfig.empty()) {
    auto c = LoadKubeconfig(kubeconfig);
    if (!c.ok()) return c;
    if (!master.empty()) {
      c->server = master;
      c->source += " (server overridden by the API server address)";
    }
    return c;
  }
  if (!master.empty()) {
    KubeConfig c;
    c.server = master;
    c.source = "API server address " + master;
    return c;
  }
  return InClusterConfig();
}
}  // namespace apiary::extender
