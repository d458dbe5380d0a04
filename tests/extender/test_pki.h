// A throwaway PKI for the TLS tests, made with the openssl command (Debian's
// `openssl`, installed by scripts/install-deps.sh): a CA; a server
// certificate for 127.0.0.1 and localhost signed by it ("server"), and one
// for another name only ("misnamed"); a client certificate
// (CN=apiary-extender) signed by it; and an unrelated second CA with its own
// client and server certificates ("other-client", "other-server"). EC P-256 keys, valid for two days.
#pragma once

#include <cstdlib>
#include <string>

#include "test_util.h"

namespace apiary::testing {

class TestPki {
 public:
  explicit TestPki(const std::string& dir) : dir_(dir) {
    const std::string ext = dir_ + "/server.ext";
    WriteFile(ext, "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
    WriteFile(dir_ + "/client.ext", "extendedKeyUsage=clientAuth\n");
    WriteFile(dir_ + "/misnamed.ext", "subjectAltName=DNS:elsewhere.example\nextendedKeyUsage=serverAuth\n");
    ok_ = MakeCa("ca") && MakeCa("other-ca") && MakeLeaf("server", "kube-apiserver", "ca", "server.ext") &&
          MakeLeaf("misnamed", "elsewhere.example", "ca", "misnamed.ext") &&
          MakeLeaf("client", "apiary-extender", "ca", "client.ext") &&
          MakeLeaf("other-client", "intruder", "other-ca", "client.ext") &&
          MakeLeaf("other-server", "kube-apiserver", "other-ca", "server.ext");
  }

  bool ok() const { return ok_; }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }
  std::string Pem(const std::string& name) const { return ReadAll(Path(name)); }

 private:
  static void WriteFile(const std::string& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
  }
  bool Run(const std::string& cmd) const {
    return std::system(("cd '" + dir_ + "' && " + cmd + " >/dev/null 2>&1").c_str()) == 0;
  }
  bool MakeCa(const std::string& name) const {
    return Run("openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=" +
               name + " -keyout " + name + ".key -out " + name + ".crt");
  }
  bool MakeLeaf(const std::string& name, const std::string& cn, const std::string& ca, const std::string& ext) const {
    return Run("openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=" + cn +
               " -keyout " + name + ".key -out " + name + ".csr") &&
           Run("openssl x509 -req -in " + name + ".csr -CA " + ca + ".crt -CAkey " + ca + ".key -CAcreateserial" +
               " -days 2 -extfile " + ext + " -out " + name + ".crt");
  }

  std::string dir_;
  bool ok_ = false;
};

}  // namespace apiary::testing
