// fake-kube-apiserver: the test fake of fake_apiserver.h as a process.
//   fake-kube-apiserver [--port N] [--host H] [--tls-cert F --tls-key F [--client-ca F]]
// Prints "listening on <port>" on stdout once serving; stops on SIGTERM/SIGINT.
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "fake_apiserver.h"

int main(int argc, char** argv) {
  int port = 0;
  std::string host = "127.0.0.1";
  std::string cert, key, client_ca;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--port") && i + 1 < argc) port = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--host") && i + 1 < argc) host = argv[++i];
    else if (!std::strcmp(argv[i], "--tls-cert") && i + 1 < argc) cert = argv[++i];
    else if (!std::strcmp(argv[i], "--tls-key") && i + 1 < argc) key = argv[++i];
    else if (!std::strcmp(argv[i], "--client-ca") && i + 1 < argc) client_ca = argv[++i];
    else {
      std::fprintf(stderr, "usage: %s [--port N] [--host H] [--tls-cert F --tls-key F [--client-ca F]]\n",
                   argv[0]);
      return 2;
    }
  }
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
  apiary::testing::FakeApiServer server;
  if (!cert.empty() || !key.empty()) server.EnableTls(cert, key, client_ca);
  int p = server.Start(port, host);
  if (p <= 0) {
    std::fprintf(stderr, "cannot listen on %s:%d\n", host.c_str(), port);
    return 1;
  }
  std::printf("listening on %d\n", p);
  std::fflush(stdout);
  int sig = 0;
  sigwait(&set, &sig);
  server.Stop();
  return 0;
}
