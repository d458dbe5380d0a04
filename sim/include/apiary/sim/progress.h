// A progress line on stderr for long runs: shown only when stderr is a
// terminal and the work has lasted over a second, refreshed at most ~5 times
// a second, erased when done. Cheap enough to call in a hot loop (it reads
// the clock every 4096 calls).
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace apiary::sim {

bool StderrIsTerminal();

class Progress {
 public:
  // An empty label disables the line.
  explicit Progress(std::string label);
  ~Progress();
  // `fraction` in [0, 1]; `detail` is appended to the line.
  void Tick(double fraction, const char* detail = "") {
    if (!enabled_ || (++calls_ & 4095) != 0) return;
    Show(fraction, detail);
  }
  void Show(double fraction, const char* detail);  // unthrottled by calls
  void Done();

 private:
  std::string label_;
  bool enabled_ = false;
  bool shown_ = false;
  uint64_t calls_ = 0;
  std::chrono::steady_clock::time_point start_, last_;
};

}  // namespace apiary::sim
