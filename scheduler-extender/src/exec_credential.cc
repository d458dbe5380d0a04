// The kubeconfig exec credential plugin (client-go's ExecCredential
// protocol): running it and decoding its answer (kube_client.h).
#include <sys/wait.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "apiary/extender/json_doc.h"
#include "apiary/extender/kube_client.h"
#include "apiary/wire/inspect_json.h"
#include "kube_internal.h"

extern char** environ;

namespace apiary::extender {

using cell::Result;
using cell::Status;
using kube_internal::CheckClientIdentity;
using kube_internal::ChildResult;
using kube_internal::RunChild;
using kube_internal::TrimForMessage;

Result<ExecCredential> RunExecPlugin(const KubeConfig& config, const std::atomic<bool>* cancel) {
  if (!config.exec) return Status::Invalid(config.source + ": no exec credential plugin configured");
  const ExecConfig& e = *config.exec;
  const std::string who = "exec credential plugin of kubeconfig user \"" + e.user + "\" (" + e.command + ")";

  // KUBERNETES_EXEC_INFO: the ExecCredential request.
  std::string info = "{\"apiVersion\":" + JsonQuote(e.api_version) +
                     ",\"kind\":\"ExecCredential\",\"spec\":{\"interactive\":false";
  if (e.provide_cluster_info) {
    info += ",\"cluster\":{\"server\":" + JsonQuote(config.server);
    if (!config.ca_pem.empty()) {
      static const char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
      std::string b64;
      const std::string& in = config.ca_pem;
      for (size_t i = 0; i < in.size(); i += 3) {
        uint32_t v = static_cast<uint32_t>(static_cast<unsigned char>(in[i])) << 16;
        if (i + 1 < in.size()) v |= static_cast<uint32_t>(static_cast<unsigned char>(in[i + 1])) << 8;
        if (i + 2 < in.size()) v |= static_cast<uint32_t>(static_cast<unsigned char>(in[i + 2]));
        b64.push_back(kB64[(v >> 18) & 63]);
        b64.push_back(kB64[(v >> 12) & 63]);
        b64.push_back(i + 1 < in.size() ? kB64[(v >> 6) & 63] : '=');
        b64.push_back(i + 2 < in.size() ? kB64[v & 63] : '=');
      }
      info += ",\"certificate-authority-data\":" + JsonQuote(b64);
    }
    info += std::string(",\"insecure-skip-tls-verify\":") + (config.insecure ? "true" : "false") + "}";
  }
  info += "}}";

  // The environment: ours, then the kubeconfig's env (overriding), then
  // KUBERNETES_EXEC_INFO.
  std::vector<std::string> env;
  auto overridden = [&](std::string_view entry) {
    std::string_view name = entry.substr(0, entry.find('='));
    if (name == "KUBERNETES_EXEC_INFO") return true;
    for (const auto& [k, v] : e.env)
      if (k == name) return true;
    return false;
  };
  for (char** p = environ; p && *p; ++p)
    if (!overridden(*p)) env.emplace_back(*p);
  for (const auto& [k, v] : e.env) env.push_back(k + "=" + v);
  env.push_back("KUBERNETES_EXEC_INFO=" + info);

  std::vector<std::string> argv{e.command};
  argv.insert(argv.end(), e.args.begin(), e.args.end());
  ChildResult r = RunChild(argv, env, e.timeout, e.max_output_bytes, cancel);

  if (r.spawn_error != 0) {
    std::string m = who + ": cannot run: " + std::strerror(r.spawn_error);
    if (r.spawn_error == ENOENT)
      m = who + (e.command.find('/') == std::string::npos ? ": command not found in PATH" : ": no such file");
    if (!e.install_hint.empty()) m += "; installHint: " + TrimForMessage(e.install_hint);
    return Status::Invalid(m);
  }
  if (r.cancelled) return Status::Invalid(who + ": cancelled (client stopping); killed");
  if (r.timed_out)
    return Status::Invalid(who + ": did not finish within " + std::to_string(e.timeout.count()) + " ms; killed");
  if (r.too_much_output)
    return Status::Invalid(who + ": wrote more than " + std::to_string(e.max_output_bytes) +
                           " bytes to stdout; killed");
  const std::string stderr_text = TrimForMessage(r.err);
  if (r.exited && WIFSIGNALED(r.wait_status))
    return Status::Invalid(who + ": killed by signal " + std::to_string(WTERMSIG(r.wait_status)) +
                           (stderr_text.empty() ? "" : ": " + stderr_text));
  if (r.exited && WIFEXITED(r.wait_status) && WEXITSTATUS(r.wait_status) != 0) {
    std::string m = who + ": exited with status " + std::to_string(WEXITSTATUS(r.wait_status)) + ": " +
                    (stderr_text.empty() ? "(no stderr output)" : stderr_text);
    if (WEXITSTATUS(r.wait_status) == 127 && !e.install_hint.empty())
      m += "; installHint: " + TrimForMessage(e.install_hint);
    return Status::Invalid(m);
  }

  // The ExecCredential response.
  auto doc = JsonDoc::Parse(r.out);
  if (!doc.ok())
    return Status::Invalid(who + ": stdout is not an ExecCredential: " + doc.status().message() +
                           (r.out.empty() ? " (empty output)" : ""));
  JsonRef root = doc->root();
  if (!root.IsObject())
    return Status::Invalid(who + ": stdout is not an ExecCredential: a JSON " + root.TypeName() +
                           ", not an object");
  JsonRef kind = root.Find("kind");
  if (!kind.IsString() || kind.str() != "ExecCredential")
    return Status::Invalid(who + ": stdout has kind " +
                           (kind.IsString() ? JsonQuote(kind.str()) : std::string(kind.TypeName())) +
                           ", want \"ExecCredential\"");
  JsonRef api_version = root.Find("apiVersion");
  if (!api_version.IsString() || api_version.str() != e.api_version)
    return Status::Invalid(who + ": stdout has apiVersion " +
                           (api_version.IsString() ? JsonQuote(api_version.str())
                                                   : std::string(api_version.TypeName())) +
                           ", want " + JsonQuote(e.api_version) + " (users[" + e.user + "].user.exec.apiVersion)");
  JsonRef status = root.Find("status");
  if (!status.IsObject()) return Status::Invalid(who + ": the ExecCredential has no status");
  ExecCredential cred;
  // A string field of status: absent/null = "", another type = an error.
  auto string_field = [&](const char* name, std::string* out) -> Status {
    JsonRef v = status.Find(name);
    if (v.IsNull()) return Status::Ok();
    if (!v.IsString())
      return Status::Invalid(who + ": status." + name + " is a JSON " + v.TypeName() + ", not a string");
    *out = std::string(v.str());
    return Status::Ok();
  };
  if (Status st = string_field("token", &cred.token); !st.ok()) return st;
  if (Status st = string_field("clientCertificateData", &cred.client_cert_pem); !st.ok()) return st;
  if (Status st = string_field("clientKeyData", &cred.client_key_pem); !st.ok()) return st;
  if (cred.client_cert_pem.empty() != cred.client_key_pem.empty())
    return Status::Invalid(who + ": status." +
                           (cred.client_cert_pem.empty() ? "clientKeyData is set without clientCertificateData"
                                                         : "clientCertificateData is set without clientKeyData") +
                           "; a client certificate needs both");
  if (!cred.client_cert_pem.empty()) {
    std::string err = CheckClientIdentity(cred.client_cert_pem, cred.client_key_pem,
                                          "status.clientCertificateData", "status.clientKeyData");
    if (!err.empty()) return Status::Invalid(who + ": " + err);
  }
  if (cred.token.empty() && cred.client_cert_pem.empty())
    return Status::Invalid(who + ": status.token is missing or empty, and there is no client certificate "
                           "(status.clientCertificateData + clientKeyData)");
  JsonRef exp = status.Find("expirationTimestamp");
  if (!exp.IsNull()) {
    std::optional<int64_t> nanos;  // beyond a nanosecond clock's range is no usable expiry either
    if (exp.IsString())
      if (auto parsed = wire::ParseRfc3339(exp.str())) nanos = parsed->UnixNanos();
    if (!nanos)
      return Status::Invalid(who + ": status.expirationTimestamp " +
                             (exp.IsString() ? JsonQuote(exp.str()) : std::string(exp.raw())) +
                             " is not an RFC 3339 time");
    cred.expiry = std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::nanoseconds(*nanos)));
  }
  return cred;
}

}  // namespace apiary::extender
