// Internal helpers shared by the Kubernetes client's files (kubeconfig.cc,
// exec_credential.cc, kube_client.cc, cluster_api.cc, subprocess.cc, pem.cc);
// not part of the extender's interface.
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <atomic>
#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "apiary/cell/status.h"

namespace apiary::extender::kube_internal {

// ---- files and text (kubeconfig.cc) ----

// The whole file; an error names the path and the reason.
cell::Result<std::string> ReadFile(const std::string& path);
// Drops trailing newlines, carriage returns and spaces.
std::string Trim(std::string s);
// Trims ASCII whitespace on both ends and caps the length for messages.
std::string TrimForMessage(std::string_view s, size_t max = 4096);

// ---- PEM (pem.cc) ----

// Every certificate in `pem`, in order; the caller frees them (FreeAll).
// Leaves OpenSSL's error queue empty: reading stops on the error the end of
// the text raises, and a stale error would fail a later, unrelated TLS call
// on this thread.
std::vector<X509*> ReadPemCertificates(const std::string& pem);
void FreeAll(std::vector<X509*>& certs);
EVP_PKEY* ReadPemKey(const std::string& pem);
// "" when the certificate and key parse and belong together, else the
// reason, naming the field. Leaves OpenSSL's error queue empty (a stale
// error there would fail a later, unrelated TLS call on this thread).
std::string CheckClientIdentity(const std::string& cert_pem, const std::string& key_pem,
                                const std::string& cert_field, const std::string& key_field);
// "" when `pem` holds at least one PEM certificate, else the reason.
std::string CheckCaBundle(const std::string& pem, const std::string& field);

// ---- subprocesses (subprocess.cc) ----

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
                     std::chrono::milliseconds timeout, size_t max_out, const std::atomic<bool>* cancel);

}  // namespace apiary::extender::kube_internal
