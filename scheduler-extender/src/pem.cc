// PEM certificates and keys for the Kubernetes client (kube_internal.h):
// reading them with OpenSSL, checking a client identity and a CA bundle.
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "kube_internal.h"

namespace apiary::extender::kube_internal {

namespace {

// OpenSSL would prompt on the terminal for an encrypted key's passphrase;
// a daemon must not, so there is none.
int NoPassphrase(char*, int, int, void*) { return 0; }

}  // namespace

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

}  // namespace apiary::extender::kube_internal
