#include "apiary/sim/progress.h"

#include <unistd.h>

namespace apiary::sim {

bool StderrIsTerminal() { return isatty(STDERR_FILENO) == 1; }

Progress::Progress(std::string label) : label_(std::move(label)) {
  enabled_ = !label_.empty() && StderrIsTerminal();
  start_ = last_ = std::chrono::steady_clock::now();
}

Progress::~Progress() { Done(); }

void Progress::Show(double fraction, const char* detail) {
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  double since_start = std::chrono::duration<double>(now - start_).count();
  if (since_start < 1.0) return;
  if (shown_ && std::chrono::duration<double>(now - last_).count() < 0.2) return;
  last_ = now;
  shown_ = true;
  if (fraction < 0) fraction = 0;
  if (fraction > 1) fraction = 1;
  std::fprintf(stderr, "\r\033[K%s %5.1f%%  %.0fs elapsed  %s", label_.c_str(),
               fraction * 100.0, since_start, detail);
  std::fflush(stderr);
}

void Progress::Done() {
  if (shown_) {
    std::fprintf(stderr, "\r\033[K");
    std::fflush(stderr);
    shown_ = false;
  }
  enabled_ = false;
}

}  // namespace apiary::sim
