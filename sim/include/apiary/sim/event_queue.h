// The simulator's event queue: a 4-ary min-heap of events ordered by
// (time, sequence). The sequence number is assigned at push time and is
// unique, so the order is total and never depends on heap internals: the same
// pushes give the same pops, byte for byte, on every run (DESIGN.md,
// determinism).
//
// A 4-ary heap is half as deep as a binary one and its four children share a
// cache line or two, which makes Pop (the costly half) markedly faster at
// the heap sizes a large simulation reaches.
//
// Complexity: Push and Pop O(log n), Top O(1). No allocation in steady state
// once the heap has grown to its working size (Reserve to pre-size it).
// Not thread-safe (one simulation = one thread).
#pragma once

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

namespace apiary::sim {

struct Event {
  int64_t time = 0;   // simulated seconds
  uint64_t seq = 0;   // push order; breaks ties between equal times
  int32_t kind = 0;   // caller-defined
  int32_t job = 0;    // caller-defined payload (a job index)
  int32_t epoch = 0;  // caller-defined payload (invalidates stale events)

  // Strict "comes before". One 128-bit comparison (time, then seq), which
  // compiles to flag arithmetic rather than two unpredictable branches.
  // Times are never negative in a simulation (they start at 0).
  bool Before(const Event& o) const {
    return Key() < o.Key();
  }
  unsigned __int128 Key() const {
    return (static_cast<unsigned __int128>(static_cast<uint64_t>(time)) << 64) | seq;
  }
};

class EventQueue {
 public:
  explicit EventQueue(uint64_t first_seq = 0) : next_seq_(first_seq) {}

  void Reserve(size_t n) { heap_.reserve(n); }
  bool empty() const { return heap_.empty(); }
  size_t size() const { return heap_.size(); }
  // Precondition: !empty().
  const Event& Top() const { return heap_.front(); }

  // Pushes an event stamped with the next sequence number; returns it.
  uint64_t Push(int64_t time, int32_t kind, int32_t job, int32_t epoch = 0) {
    Event e{time, next_seq_++, kind, job, epoch};
    heap_.push_back(e);
    SiftUp(heap_.size() - 1);
    return e.seq;
  }

  // Removes and returns the first event. Precondition: !empty().
  Event Pop() {
    Event top = heap_.front();
    Event last = heap_.back();
    heap_.pop_back();
    if (!heap_.empty()) {
      heap_.front() = last;
      SiftDown(0);
    }
    return top;
  }

  uint64_t next_seq() const { return next_seq_; }

 private:
  static constexpr size_t kArity = 4;

  void SiftUp(size_t i) {
    Event e = heap_[i];
    while (i > 0) {
      size_t parent = (i - 1) / kArity;
      if (!e.Before(heap_[parent])) break;
      heap_[i] = heap_[parent];
      i = parent;
    }
    heap_[i] = e;
  }
  void SiftDown(size_t i) {
    const size_t n = heap_.size();
    Event e = heap_[i];
    while (true) {
      size_t first = kArity * i + 1;
      if (first >= n) break;
      size_t last = std::min(first + kArity, n);
      size_t best = first;
      unsigned __int128 best_key = heap_[first].Key();
      for (size_t c = first + 1; c < last; ++c) {
        const unsigned __int128 k = heap_[c].Key();
        const bool less = k < best_key;
        best = less ? c : best;
        best_key = less ? k : best_key;
      }
      if (!heap_[best].Before(e)) break;
      heap_[i] = heap_[best];
      i = best;
    }
    heap_[i] = e;
  }

  std::vector<Event> heap_;
  uint64_t next_seq_;
};

}  // namespace apiary::sim
