// A fixed-size thread pool for running independent simulations in parallel.
// Tasks are taken in submission order; results go wherever the task writes
// them (by index), so the output never depends on scheduling.
//
// Thread-safe: Submit and Wait may be called from one owner thread; tasks
// run on the workers. The destructor waits for every submitted task.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace apiary::sim {

class ThreadPool {
 public:
  // threads <= 0: std::thread::hardware_concurrency() (at least 1).
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()); }
  void Submit(std::function<void()> task);
  // Blocks until every submitted task has finished.
  void Wait();

 private:
  void Work();

  std::mutex mu_;
  std::condition_variable work_cv_, done_cv_;
  std::deque<std::function<void()>> tasks_;
  size_t running_ = 0;
  bool stop_ = false;
  std::vector<std::thread> workers_;
};

// Runs fn(0..n-1) on the pool and waits.
void ParallelFor(ThreadPool& pool, size_t n, const std::function<void(size_t)>& fn);

}  // namespace apiary::sim
