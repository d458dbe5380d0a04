// Running a child process with bounded time and output (kube_internal.h):
// the exec credential plugin's runner.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <thread>

#include "kube_internal.h"

namespace apiary::extender::kube_internal {

namespace {

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

}  // namespace

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

}  // namespace apiary::extender::kube_internal
