// A stand-in for libFuzzer's main() when the fuzz targets are built without
// Clang: runs every file of the given corpus directories through
// LLVMFuzzerTestOneInput, then --runs=N inputs made by seeded random
// mutations of them (byte flips, insertions, deletions, duplications, JSON
// and YAML tokens). Deterministic for a given --seed. A crash or sanitizer
// report fails the ctest exactly as under libFuzzer.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <csignal>
#include <unistd.h>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc, char*** argv);

namespace {
// The input being run, written to ./fuzz-crash-<pid> if it crashes.
const std::string* g_current = nullptr;

void OnCrash(int sig) {
  if (g_current) {
    std::string path = "fuzz-crash-" + std::to_string(getpid());
    if (FILE* f = std::fopen(path.c_str(), "wb")) {
      std::fwrite(g_current->data(), 1, g_current->size(), f);
      std::fclose(f);
      std::fprintf(stderr, "fuzz driver: crashing input saved to %s (%zu bytes)\n", path.c_str(), g_current->size());
    }
  }
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

void RunOne(const std::string& s) {
  g_current = &s;
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  g_current = nullptr;
}
}  // namespace

int main(int argc, char** argv) {
  for (int sig : {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL}) std::signal(sig, OnCrash);
  long runs = 10000;
  uint64_t seed = 1;
  std::vector<std::string> inputs;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--runs=", 0) == 0 || a.rfind("-runs=", 0) == 0) {
      runs = std::stol(a.substr(a.find('=') + 1));
    } else if (a.rfind("--seed=", 0) == 0 || a.rfind("-seed=", 0) == 0) {
      seed = std::stoull(a.substr(a.find('=') + 1));
    } else if (std::filesystem::is_directory(a)) {
      for (const auto& e : std::filesystem::recursive_directory_iterator(a))
        if (e.is_regular_file()) inputs.push_back(e.path().string());
    } else if (std::filesystem::is_regular_file(a)) {
      inputs.push_back(a);
    }
  }
  if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
  std::sort(inputs.begin(), inputs.end());
  std::vector<std::string> corpus;
  for (const auto& path : inputs) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    corpus.push_back(ss.str());
    RunOne(corpus.back());
  }
  if (corpus.empty()) corpus.push_back("");
  static const char* kTokens[] = {"{", "}", "[", "]", "\"", ",", ":", "null", "true", "-1", "1e999", "\\u0000",
                                  "\\ud800", "\n", "- ", ": ", "\xff", "{\"Pod\":", "\"NodeNames\":[",
                                  "leafCellNumber: ", "priority: ", "affinityGroup:\n  name: g\n"};
  std::mt19937_64 rng(seed);
  for (long r = 0; r < runs; ++r) {
    std::string s = corpus[rng() % corpus.size()];
    int n = 1 + static_cast<int>(rng() % 8);
    for (int k = 0; k < n; ++k) {
      size_t pos = s.empty() ? 0 : rng() % (s.size() + 1);
      switch (rng() % 6) {
        case 0:
          if (!s.empty()) s[pos % s.size()] = static_cast<char>(rng());
          break;
        case 1: s.insert(pos, 1, static_cast<char>(rng())); break;
        case 2:
          if (!s.empty()) s.erase(pos % s.size(), 1 + rng() % 16);
          break;
        case 3:
          if (!s.empty()) {
            size_t from = rng() % s.size();
            std::string piece = s.substr(from, 1 + rng() % 64);
            s.insert(pos, piece);
          }
          break;
        case 4: s.insert(pos, kTokens[rng() % (sizeof kTokens / sizeof kTokens[0])]); break;
        case 5:
          if (s.size() > 1) s.resize(rng() % s.size());
          break;
      }
    }
    RunOne(s);
  }
  std::printf("fuzz driver: %zu corpus inputs, %ld mutated runs, seed %llu: no crash\n", corpus.size(), runs,
              static_cast<unsigned long long>(seed));
  return 0;
}
