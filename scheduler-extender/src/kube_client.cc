#include "apiary/extender/kube_client.h"

#include <httplib.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <yaml-cpp/yaml.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "apiary/cell/text.h"
#include "apiary/extender/json_doc.h"
#include "apiary/extender/log.h"
#include "apiary/wire/inspect_json.h"

extern char** environ;

namespace apiary::extender {

using cell::Result;
using cell::Status;

namespace {

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Invalid(path + ": cannot read: " + std::strerror(errno));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

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

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
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



// Trims ASCII whitespace on both ends and caps the length for messages.
std::string TrimForMessage(std::string_view s, size_t max = 4096) {
  auto space = [](char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  if (s.size() > max) return std::string(s.substr(0, max)) + "...";
  return std::string(s);
}

class Fd {
 public:
  Fd() = default;
  ~Fd() { Close(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int* ptr() { return &fd_; }
  int get() const { return fd_; }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

struct ChildResult {
  int spawn_error = 0;  // errno of posix_spawnp, 0 = started
  int wait_status = 0;  // of waitpid, when exited
  bool exited = false;
  bool timed_out = false;
  bool too_much_output = false;
  bool cancelled = false;
  std::string out, err;
};

// Runs argv[0] (PATH lookup for a bare name) with `env`, stdin from
// /dev/null, in its own process group; collects stdout (up to
// `max_out` bytes) and stderr (the first 64 KiB). Kills the group on
// timeout, excess output or `cancel`; always reaps the child.
ChildResult RunChild(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                     std::chrono::milliseconds timeout, size_t max_out, const std::atomic<bool>* cancel) {
  ChildResult res;
  constexpr size_t kMaxErr = 64 * 1024;
  Fd out_r, err_r;
  Fd out_w, err_w;
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) {
    res.spawn_error = errno;
    return res;
  }
  *out_r.ptr() = p[0];
  *out_w.ptr() = p[1];
  if (pipe2(p, O_CLOEXEC) != 0) {
    res.spawn_error = errno;
    return res;
  }
  *err_r.ptr() = p[0];
  *err_w.ptr() = p[1];

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out_w.get(), 1);
  posix_spawn_file_actions_adddup2(&fa, err_w.get(), 2);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
  // Sockets and files this process opened without O_CLOEXEC stay here.
  posix_spawn_file_actions_addclosefrom_np(&fa, 3);
#endif
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t mask;
  sigemptyset(&mask);
  posix_spawnattr_setsigmask(&attr, &mask);  // the extender blocks signals for sigwait
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int sig : {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGCHLD}) sigaddset(&defaults, sig);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);

  std::vector<char*> args, envp;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  pid_t pid = -1;
  res.spawn_error = posix_spawnp(&pid, args[0], &fa, &attr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (res.spawn_error != 0) return res;
  auto reap = [&](bool kill_first) {
    if (kill_first) {
      ::kill(-pid, SIGKILL);
      ::kill(pid, SIGKILL);
    }
    int status = 0;
    pid_t r;
    do r = ::waitpid(pid, &status, 0);
    while (r < 0 && errno == EINTR);
    res.exited = r == pid;
    res.wait_status = status;
  };
  // Our copies of the write ends: EOF once the child (and whatever it
  // started) closed theirs.
  out_w.Close();
  err_w.Close();

  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool out_open = true, err_open = true;
  char buf[65536];
  while (out_open || err_open) {
    if (cancel && cancel->load()) {
      res.cancelled = true;
      break;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      res.timed_out = true;
      break;
    }
    pollfd fds[2];
    nfds_t n = 0;
    if (out_open) fds[n++] = {out_r.get(), POLLIN, 0};
    if (err_open) fds[n++] = {err_r.get(), POLLIN, 0};
    int wait_ms = static_cast<int>(std::min<int64_t>(left.count(), cancel ? 100 : 1000));
    int pr = ::poll(fds, n, wait_ms);
    if (pr < 0 && errno != EINTR) {
      res.timed_out = true;  // cannot wait for output: give up on the child
      break;
    }
    for (nfds_t i = 0; pr > 0 && i < n; ++i) {
      if (fds[i].revents == 0) continue;
      ssize_t got = ::read(fds[i].fd, buf, sizeof buf);
      if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      bool is_out = fds[i].fd == out_r.get();
      if (got <= 0) {
        (is_out ? out_open : err_open) = false;
        continue;
      }
      if (is_out) {
        res.out.append(buf, static_cast<size_t>(got));
        if (res.out.size() > max_out) res.too_much_output = true;
      } else if (res.err.size() < kMaxErr) {
        res.err.append(buf, std::min(static_cast<size_t>(got), kMaxErr - res.err.size()));
      }
    }
    if (res.too_much_output) break;
  }
  if (res.timed_out || res.too_much_output || res.cancelled) {
    reap(true);
    return res;
  }
  // Both pipes closed: the child is exiting (or closed them and lingers).
  for (int sleep_ms = 1;;) {
    int status = 0;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      res.exited = true;
      res.wait_status = status;
      return res;
    }
    if (r < 0 && errno != EINTR) return res;  // not ours to reap (SIGCHLD ignored)
    if (std::chrono::steady_clock::now() >= deadline) {
      res.timed_out = true;
      reap(true);
      return res;
    }
    if (cancel && cancel->load()) {
      res.cancelled = true;
      reap(true);
      return res;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms));
    sleep_ms = std::min(sleep_ms * 2, 50);
  }
}

}  // namespace

namespace {

// OpenSSL would prompt on the terminal for an encrypted key's passphrase;
// a daemon must not, so there is none.
int NoPassphrase(char*, int, int, void*) { return 0; }

// Every certificate in `pem`, in order; the caller frees them (FreeAll).
// Leaves OpenSSL's error queue empty: reading stops on the error the end of
// the text raises, and a stale error would fail a later, unrelated TLS call
// on this thread.
std::vector<X509*> ReadPemCertificates(const std::string& pem) {
  std::vector<X509*> out;
  BIO* b = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  while (X509* x = b ? PEM_read_bio_X509(b, nullptr, NoPassphrase, nullptr) : nullptr) out.push_back(x);
  BIO_free(b);
  ERR_clear_error();
  return out;
}

void FreeAll(std::vector<X509*>& certs) {
  for (X509* x : certs) X509_free(x);
  certs.clear();
}

EVP_PKEY* ReadPemKey(const std::string& pem) {
  BIO* b = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* key = b ? PEM_read_bio_PrivateKey(b, nullptr, NoPassphrase, nullptr) : nullptr;
  BIO_free(b);
  return key;
}

// "" when the certificate and key parse and belong together, else the
// reason, naming the field. Leaves OpenSSL's error queue empty (a stale
// error there would fail a later, unrelated TLS call on this thread).
std::string CheckClientIdentity(const std::string& cert_pem, const std::string& key_pem,
                                const std::string& cert_field, const std::string& key_field) {
  std::string err;
  std::vector<X509*> certs = ReadPemCertificates(cert_pem);
  EVP_PKEY* key = certs.empty() ? nullptr : ReadPemKey(key_pem);
  if (certs.empty()) err = cert_field + ": not a PEM certificate";
  else if (!key) err = key_field + ": not a PEM private key (encrypted keys are not supported)";
  else if (X509_check_private_key(certs[0], key) != 1) err = key_field + ": does not match the certificate in " + cert_field;
  FreeAll(certs);
  if (key) EVP_PKEY_free(key);
  ERR_clear_error();
  return err;
}

// "" when `pem` holds at least one PEM certificate, else the reason.
std::string CheckCaBundle(const std::string& pem, const std::string& field) {
  std::vector<X509*> certs = ReadPemCertificates(pem);
  const bool any = !certs.empty();
  FreeAll(certs);
  return any ? "" : field + ": no PEM certificate in it";
}

}  // namespace

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

std::string KubeMicroTime() {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count() % 1000000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[80];
  std::snprintf(out, sizeof out, "%s.%06lldZ", buf, static_cast<long long>(us));
  return out;
}


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

std::string StatusMessage(const HttpResult& r) {
  if (r.status == 0 || !r.error.empty()) return r.error;  // (a 2xx stream can end in an error)
  auto doc = JsonDoc::Parse(r.body);
  if (doc.ok()) {
    JsonRef m = doc->root().Find("message");
    if (m.IsString()) return std::string(m.str());
  }
  std::string b = r.body.substr(0, 512);
  return b.empty() ? "HTTP " + std::to_string(r.status) : b;
}

std::string PathEscape(std::string_view s) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string PodPath(const cell::PodRef& pod) {
  return "/api/v1/namespaces/" + PathEscape(pod.ns) + "/pods/" + PathEscape(pod.name);
}

namespace {

// cpp-httplib's name for a failed request, with what an operator checks.
std::string TransportError(httplib::Error e, bool https) {
  std::string m = httplib::to_string(e);
  if (e == httplib::Error::SSLServerVerification)
    m += " (the API server's certificate is not signed by the configured certificate authority, or does not "
         "name the server's host; check certificate-authority(-data) and server)";
  else if (e == httplib::Error::SSLConnection)
    m += " (TLS handshake failed: the server does not speak TLS there, or a proxy in front of it refused "
         "this client's certificate)";
  else if ((e == httplib::Error::Read || e == httplib::Error::Write) && https)
    m += " (the connection was closed, or no answer came within the timeout)";
  return m;
}

}  // namespace

// ---------------------------------------------------------------------------

KubeClient::KubeClient(KubeConfig config, std::string user_agent, std::chrono::milliseconds timeout)
    : config_(std::move(config)), user_agent_(std::move(user_agent)), timeout_(timeout) {
  std::string s = config_.server;
  while (!s.empty() && s.back() == '/') s.pop_back();
  https_ = s.rfind("https://", 0) == 0;
  std::string rest = s;
  if (auto p = rest.find("://"); p != std::string::npos) rest = rest.substr(p + 3);
  if (auto slash = rest.find('/'); slash != std::string::npos) rest = rest.substr(0, slash);
  port_ = https_ ? 443 : 80;
  std::string host = rest;
  if (!rest.empty() && rest[0] == '[') {
    auto close = rest.find(']');
    host = rest.substr(1, close == std::string::npos ? std::string::npos : close - 1);
    if (close != std::string::npos && close + 1 < rest.size() && rest[close + 1] == ':')
      port_ = std::atoi(rest.c_str() + close + 2);
  } else if (auto colon = rest.rfind(':'); colon != std::string::npos) {
    host = rest.substr(0, colon);
    port_ = std::atoi(rest.c_str() + colon + 1);
  }
  host_ = host;
  token_ = config_.token;
  if (https_ && !config_.ca_pem.empty() && !config_.insecure) {
    // cpp-httplib adds the system's CAs to an in-memory CA store it is given,
    // but trusts only the file when given a CA file; kubectl trusts only the
    // configured CA. So the CA goes into an anonymous in-memory file, read
    // through /proc/self/fd by every new connection.
    ca_fd_ = memfd_create("apiary-api-ca", MFD_CLOEXEC);
    if (ca_fd_ >= 0) {
      size_t done = 0;
      while (done < config_.ca_pem.size()) {
        ssize_t n = write(ca_fd_, config_.ca_pem.data() + done, config_.ca_pem.size() - done);
        if (n <= 0) break;
        done += static_cast<size_t>(n);
      }
      if (done == config_.ca_pem.size()) {
        ca_path_ = "/proc/self/fd/" + std::to_string(ca_fd_);
      } else {
        close(ca_fd_);
        ca_fd_ = -1;
      }
    }
    if (ca_path_.empty())
      LogWarn("ca_file_unavailable", {{"source", config_.source},
                                      {"detail", "memfd_create failed; the system's CAs are trusted too"}});
  }
  if (!config_.client_cert_pem.empty() && !config_.client_key_pem.empty())
    identity_ = std::make_shared<const ClientIdentity>(
        ClientIdentity{config_.client_cert_pem, config_.client_key_pem, /*gen=*/0});
}

KubeClient::~KubeClient() {
  Stop();
  // Pooled connections read the CA file only when they connect; none is
  // left now.
  pool_.clear();
  if (ca_fd_ >= 0) close(ca_fd_);
}

KubeClient::Credential KubeClient::Credentials() {
  Credential c;
  if (config_.exec) {
    std::lock_guard lock(token_mu_);
    RefreshExec();
    c.token = token_;
    c.identity = identity_;
    c.exec_seq = exec_valid_ ? exec_seq_ : 0;
    return c;
  }
  c.identity = identity_;  // fixed for the client's life without a plugin
  if (config_.token_file.empty()) {
    c.token = config_.token;
    return c;
  }
  std::lock_guard lock(token_mu_);
  auto now = std::chrono::steady_clock::now();
  if (token_.empty() || now - token_read_ > std::chrono::minutes(1)) {
    auto t = ReadFile(config_.token_file);
    if (t.ok()) token_ = Trim(*t);
    else LogWarn("token_read_failed", {{"file", config_.token_file}, {"error", t.status().message()}});
    token_read_ = now;
  }
  c.token = token_;
  return c;
}

void KubeClient::RefreshExec() {
  const ExecConfig& e = *config_.exec;
  auto now = std::chrono::steady_clock::now();
  if (exec_valid_ && now >= token_expiry_) {
    exec_valid_ = false;
    token_.clear();
    identity_.reset();
  }
  if (exec_valid_ && now < token_refresh_) return;
  // Expired, about to expire, rejected with 401, or never fetched. After a
  // failure, wait out the backoff (with the old credential while it is valid).
  if (now < exec_retry_) return;
  auto cred = RunExecPlugin(config_, &stopped_);
  now = std::chrono::steady_clock::now();
  if (!cred.ok()) {
    LogError("exec_credential_failed",
             {{"source", config_.source}, {"user", e.user}, {"error", cred.status().message()}});
    exec_retry_ = now + e.failure_backoff;
    return;
  }
  token_ = std::move(cred->token);
  if (cred->client_cert_pem.empty()) {
    identity_.reset();
  } else if (!identity_ || identity_->cert_pem != cred->client_cert_pem || identity_->key_pem != cred->client_key_pem) {
    // A new identity: pooled connections made with the old one are dropped.
    identity_ = std::make_shared<const ClientIdentity>(
        ClientIdentity{std::move(cred->client_cert_pem), std::move(cred->client_key_pem), exec_seq_ + 1});
    if (!https_)
      LogWarn("exec_client_certificate_unused",
              {{"source", config_.source}, {"user", e.user}, {"detail", "the API server address is not https"}});
  }
  exec_valid_ = true;
  ++exec_seq_;
  exec_retry_ = {};
  std::string expires = "never (until the API server answers 401)";
  if (cred->expiry) {
    // Refresh a little before the expiry: a fifth of the lifetime, at most 10 s.
    auto left = std::chrono::duration_cast<std::chrono::steady_clock::duration>(*cred->expiry -
                                                                                std::chrono::system_clock::now());
    if (left.count() < 0) left = left.zero();
    auto margin = std::min<std::chrono::steady_clock::duration>(std::chrono::seconds(10), left / 5);
    token_expiry_ = now + left;
    token_refresh_ = token_expiry_ - margin;
    expires = wire::FormatRfc3339(std::chrono::system_clock::to_time_t(*cred->expiry));
  } else {
    token_expiry_ = token_refresh_ = std::chrono::steady_clock::time_point::max();
  }
  std::string kind = token_.empty() ? "client certificate" : identity_ ? "token and client certificate" : "token";
  LogInfo("exec_credential", {{"source", config_.source}, {"user", e.user}, {"kind", kind}, {"expires", expires}});
}

void KubeClient::Unauthorized(uint64_t exec_seq) {
  if (!config_.exec || exec_seq == 0) return;
  std::lock_guard lock(token_mu_);
  if (!exec_valid_ || exec_seq_ != exec_seq) return;  // already replaced
  exec_valid_ = false;
  token_.clear();
  identity_.reset();
  LogWarn("exec_credential_rejected", {{"source", config_.source}, {"user", config_.exec->user}});
}

std::unique_ptr<httplib::ClientImpl> KubeClient::NewClient(std::chrono::milliseconds read_timeout,
                                                           const ClientIdentity* identity) {
  std::unique_ptr<httplib::ClientImpl> c;
  if (https_) {
    // The client certificate (checked when loaded from the kubeconfig or
    // received from the exec plugin), then any intermediates.
    std::vector<X509*> certs;
    EVP_PKEY* key = nullptr;
    if (identity) {
      certs = ReadPemCertificates(identity->cert_pem);
      key = ReadPemKey(identity->key_pem);
      ERR_clear_error();
      if (certs.empty() || !key) LogError("client_certificate_unreadable", {{"source", config_.source}});
    }
    auto ssl = std::make_unique<httplib::SSLClient>(host_, port_, certs.empty() ? nullptr : certs[0], key);
    // The whole chain is sent, as client-go does (the context takes its own
    // references).
    for (size_t i = 1; i < certs.size(); ++i) SSL_CTX_add1_chain_cert(ssl->ssl_context(), certs[i]);
    FreeAll(certs);
    if (key) EVP_PKEY_free(key);
    if (!ca_path_.empty()) {
      ssl->set_ca_cert_path(ca_path_.c_str());
    } else if (!config_.ca_pem.empty()) {
      X509_STORE* store = X509_STORE_new();
      std::vector<X509*> cas = ReadPemCertificates(config_.ca_pem);
      for (X509* ca : cas) X509_STORE_add_cert(store, ca);
      FreeAll(cas);
      ssl->set_ca_cert_store(store);
    }
    ssl->enable_server_certificate_verification(!config_.insecure);
    c = std::move(ssl);
  } else {
    c = std::make_unique<httplib::ClientImpl>(host_, port_);
  }
  c->set_keep_alive(true);
  c->set_tcp_nodelay(true);
  // No Accept-Encoding: the API server does not compress watches anyway, and
  // this keeps cpp-httplib's compression paths (unneeded here) out of play.
  c->set_decompress(false);
  c->set_connection_timeout(std::chrono::duration_cast<std::chrono::seconds>(timeout_).count(),
                            (timeout_.count() % 1000) * 1000);
  c->set_read_timeout(read_timeout.count() / 1000, (read_timeout.count() % 1000) * 1000);
  c->set_write_timeout(timeout_.count() / 1000, (timeout_.count() % 1000) * 1000);
  return c;
}

std::unique_ptr<httplib::ClientImpl> KubeClient::Acquire(const Credential& cred) {
  const uint64_t gen = cred.identity ? cred.identity->gen : 0;
  std::vector<std::unique_ptr<httplib::ClientImpl>> stale;  // closed outside the lock
  {
    std::lock_guard lock(pool_mu_);
    // Exec identities get increasing generations (0: none, or the
    // kubeconfig's fixed one). A connection of an older identity is stale;
    // one of a newer identity belongs to requests that already hold the
    // newer credential and is left for them.
    for (size_t i = pool_.size(); i-- > 0;) {
      const uint64_t g = pool_[i].first;
      if (g == gen) {
        auto c = std::move(pool_[i].second);
        pool_.erase(pool_.begin() + static_cast<std::ptrdiff_t>(i));
        return c;
      }
      if (g < gen || gen == 0) {
        stale.push_back(std::move(pool_[i].second));
        pool_.erase(pool_.begin() + static_cast<std::ptrdiff_t>(i));
      }
    }
  }
  return NewClient(timeout_, cred.identity.get());
}

void KubeClient::Release(std::unique_ptr<httplib::ClientImpl> c, const Credential& cred) {
  std::lock_guard lock(pool_mu_);
  if (pool_.size() < 16) pool_.emplace_back(cred.identity ? cred.identity->gen : 0, std::move(c));
}

HttpResult KubeClient::Do(const std::string& method, const std::string& path, const std::string& body,
                          const std::string& content_type) {
  const Credential cred = Credentials();
  auto c = Acquire(cred);
  httplib::Headers headers = {{"User-Agent", user_agent_}, {"Accept", "application/json"}};
  if (!cred.token.empty()) headers.emplace("Authorization", "Bearer " + cred.token);
  httplib::Result r(nullptr, httplib::Error::Unknown);
  HttpResult out;
  bool too_large = false;
  if (method == "GET") {
    // Lists can be large: read into a bounded body instead of httplib's.
    r = c->Get(
        path.c_str(), headers, [&](const httplib::Response&) { return true; },
        [&](const char* data, size_t len) {
          if (out.body.size() + len > max_response_bytes_) {
            too_large = true;
            return false;
          }
          out.body.append(data, len);
          return true;
        });
  } else if (method == "POST") r = c->Post(path.c_str(), headers, body, content_type.c_str());
  else if (method == "PUT") r = c->Put(path.c_str(), headers, body, content_type.c_str());
  else if (method == "PATCH") r = c->Patch(path.c_str(), headers, body, content_type.c_str());
  else if (method == "DELETE") r = c->Delete(path.c_str(), headers, body, content_type.c_str());
  if (too_large) {
    out.body.clear();
    out.error = method + " " + path + ": response larger than the limit of " + std::to_string(max_response_bytes_) +
                " bytes";
    return out;  // the connection is mid-body: not pooled
  }
  if (!r) {
    out.error = method + " " + path + ": " + TransportError(r.error(), https_);
    // The connection may be broken; do not pool it.
    return out;
  }
  out.status = r->status;
  if (method != "GET") out.body = std::move(r->body);
  Release(std::move(c), cred);
  if (out.status == 401) Unauthorized(cred.exec_seq);
  return out;
}

HttpResult KubeClient::Stream(const std::string& path,
                              const std::function<bool(std::string_view)>& on_line,
                              std::chrono::milliseconds read_timeout, const std::function<void(int)>& on_open) {
  HttpResult out;
  const Credential cred = Credentials();
  auto c = NewClient(read_timeout, cred.identity.get());
  {
    // Checked under the lock Stop() takes, so a stream is either stopped by
    // Stop() or never starts.
    std::lock_guard lock(pool_mu_);
    if (stopped_) {
      out.error = "client stopped";
      return out;
    }
    streams_.insert(c.get());
  }
  httplib::Headers headers = {{"User-Agent", user_agent_}, {"Accept", "application/json"}};
  if (!cred.token.empty()) headers.emplace("Authorization", "Bearer " + cred.token);
  std::string buffer;
  bool ok_status = false;
  auto r = c->Get(
      path.c_str(), headers,
      [&](const httplib::Response& resp) {
        out.status = resp.status;
        ok_status = resp.status >= 200 && resp.status < 300;
        if (on_open) on_open(resp.status);
        return true;
      },
      [&](const char* data, size_t len) {
        if (stopped_) return false;
        if (!ok_status) {
          if (out.body.size() < 65536) out.body.append(data, len);
          return true;
        }
        buffer.append(data, len);
        size_t start = 0;
        for (;;) {
          size_t nl = buffer.find('\n', start);
          if (nl == std::string::npos) break;
          std::string_view line(buffer.data() + start, nl - start);
          start = nl + 1;
          if (line.empty()) continue;
          if (!on_line(line)) return false;
        }
        buffer.erase(0, start);
        if (buffer.size() > max_event_bytes_) {
          out.error = "watch event larger than the limit of " + std::to_string(max_event_bytes_) + " bytes";
          buffer.clear();
          return false;
        }
        return true;
      });
  {
    std::lock_guard lock(pool_mu_);
    streams_.erase(c.get());
  }
  if (!r && out.status == 0 && out.error.empty()) out.error = TransportError(r.error(), https_);
  if (out.status == 401) Unauthorized(cred.exec_seq);
  if (ok_status && !buffer.empty()) on_line(buffer);  // a final line without '\n'
  return out;
}

void KubeClient::Stop() {
  std::lock_guard lock(pool_mu_);
  stopped_ = true;
  for (auto* c : streams_) c->stop();
}

// ---------------------------------------------------------------------------
// ClusterApi

namespace {

ApiStatus ToStatus(const HttpResult& r) {
  ApiStatus s;
  s.code = r.status;
  if (r.status < 200 || r.status >= 300) s.message = StatusMessage(r);
  return s;
}

std::string AnnotationsJson(const std::vector<std::pair<std::string, std::string>>& a) {
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : a) {
    if (!first) out.push_back(',');
    first = false;
    AppendJsonString(&out, k);
    out.push_back(':');
    AppendJsonString(&out, v);
  }
  out.push_back('}');
  return out;
}

}  // namespace

ApiStatus KubeClient::PatchPodAnnotations(const cell::PodRef& pod, const AnnotationPatch& patch) {
  // A JSON merge patch; metadata.uid makes it fail (immutable field) if the
  // name now belongs to another pod.
  std::string body = "{\"metadata\":{\"uid\":" + JsonQuote(pod.uid) + ",\"annotations\":{";
  bool first = true;
  for (const auto& [k, v] : patch) {
    if (!first) body.push_back(',');
    first = false;
    AppendJsonString(&body, k);
    body.push_back(':');
    if (v) AppendJsonString(&body, *v);
    else body += "null";
  }
  body += "}}}";
  return ToStatus(Do("PATCH", PodPath(pod), body, "application/merge-patch+json"));
}

ApiStatus KubeClient::CreateBinding(const BindingRequest& req) {
  // One call (extender.md 4.2): the API server merges the Binding's
  // annotations into the pod in the same write that sets spec.nodeName, so a
  // pod never carries a placement without its node or a node without its
  // placement, and a bind costs one round trip. metadata.uid is a
  // precondition: a recreated pod of the same name is never bound.
  std::string body = "{\"kind\":\"Binding\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":" +
                     JsonQuote(req.pod.name) + ",\"namespace\":" + JsonQuote(req.pod.ns) +
                     ",\"uid\":" + JsonQuote(req.pod.uid) + ",\"annotations\":" +
                     AnnotationsJson(req.annotations) + "},\"target\":{\"kind\":\"Node\",\"apiVersion\":\"v1\",\"name\":" +
                     JsonQuote(req.node) + "}}";
  HttpResult r = Do("POST", PodPath(req.pod) + "/binding", body);
  ApiStatus st = ToStatus(r);
  if (r.status == 409) {
    // "pod X is already assigned to node \"N\"": a retry after a lost reply
    // is a success when N is the decided node.
    static const std::string kMarker = "already assigned to node \"";
    auto p = st.message.find(kMarker);
    if (p != std::string::npos) {
      auto e = st.message.find('"', p + kMarker.size());
      if (e != std::string::npos) st.assigned_node = st.message.substr(p + kMarker.size(), e - p - kMarker.size());
    }
    if (st.assigned_node.empty()) {
      HttpResult g = Do("GET", PodPath(req.pod));
      if (g.status == 200) {
        auto doc = JsonDoc::Parse(g.body);
        if (doc.ok()) {
          JsonRef uid = doc->root().Find("metadata").Find("uid");
          JsonRef node = doc->root().Find("spec").Find("nodeName");
          if (uid.IsString() && uid.str() == req.pod.uid && node.IsString())
            st.assigned_node = std::string(node.str());
        }
      }
    }
  }
  return st;
}

ApiStatus KubeClient::EvictPod(const cell::PodRef& pod) {
  std::string body = "{\"apiVersion\":\"policy/v1\",\"kind\":\"Eviction\",\"metadata\":{\"name\":" +
                     JsonQuote(pod.name) + ",\"namespace\":" + JsonQuote(pod.ns) +
                     "},\"deleteOptions\":{\"preconditions\":{\"uid\":" + JsonQuote(pod.uid) + "}}}";
  return ToStatus(Do("POST", PodPath(pod) + "/eviction", body));
}

ApiStatus KubeClient::DeletePod(const cell::PodRef& pod) {
  std::string body = "{\"kind\":\"DeleteOptions\",\"apiVersion\":\"v1\",\"preconditions\":{\"uid\":" +
                     JsonQuote(pod.uid) + "}}";
  return ToStatus(Do("DELETE", PodPath(pod), body));
}

void KubeClient::RecordEvent(const cell::PodRef& pod, const std::string& type, const std::string& reason,
                             const std::string& message) {
  std::string now = wire::FormatRfc3339(std::time(nullptr));
  std::string body =
      "{\"apiVersion\":\"v1\",\"kind\":\"Event\",\"metadata\":{\"generateName\":" + JsonQuote(pod.name + ".") +
      ",\"namespace\":" + JsonQuote(pod.ns) + "},\"involvedObject\":{\"apiVersion\":\"v1\",\"kind\":\"Pod\","
      "\"name\":" + JsonQuote(pod.name) + ",\"namespace\":" + JsonQuote(pod.ns) + ",\"uid\":" + JsonQuote(pod.uid) +
      "},\"reason\":" + JsonQuote(reason) + ",\"message\":" + JsonQuote(message) + ",\"type\":" + JsonQuote(type) +
      ",\"source\":{\"component\":\"apiary-extender\"},\"reportingComponent\":\"apiary-extender\","
      "\"firstTimestamp\":" + JsonQuote(now) + ",\"lastTimestamp\":" + JsonQuote(now) +
      ",\"count\":1}";
  HttpResult r = Do("POST", "/api/v1/namespaces/" + PathEscape(pod.ns) + "/events", body);
  if (r.status < 200 || r.status >= 300)
    LogDebug("event_failed", {{"pod", pod.FullName()}, {"error", StatusMessage(r)}});
}

}  // namespace apiary::extender
