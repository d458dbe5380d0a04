// Heap-allocation counting for the benchmarks and the allocation test.
//
// alloc_counter.cc replaces the global operator new / delete (every form) of
// the binary it is linked into with versions that count calls and forward to
// malloc / free. The counters are relaxed atomics: one uncontended increment
// per allocation, which does not move the latencies this folder measures.
//
// Link alloc_counter.cc into a binary at most once (a program may replace
// the global allocation functions only once). Thread safety: the counters
// may be read from any thread; a Scope only makes sense on a single thread
// doing all the allocating, which is how the scheduler is driven.
#pragma once

#include <cstdint>

namespace apiary::bench {

struct AllocCounts {
  uint64_t news = 0;     // calls to any operator new
  uint64_t deletes = 0;  // calls to any operator delete with a non-null ptr
  uint64_t bytes = 0;    // bytes requested from operator new
};

// Totals since the program started.
AllocCounts CurrentAllocCounts();

// Counts what happens between its construction and Delta().
class AllocScope {
 public:
  AllocScope() : start_(CurrentAllocCounts()) {}
  AllocCounts Delta() const {
    AllocCounts now = CurrentAllocCounts();
    return {now.news - start_.news, now.deletes - start_.deletes,
            now.bytes - start_.bytes};
  }

 private:
  AllocCounts start_;
};

}  // namespace apiary::bench
