// Parallel loops: tbb::parallel_for, with the ordering TBB guarantees made visible to
// ThreadSanitizer.
//
// TBB promises that everything the calling thread did before a parallel loop happens before
// each of the loop's tasks, and that everything the tasks did happens before the loop returns.
// Those edges are made inside libtbb, which Debian builds without ThreadSanitizer, so in a
// `-fsanitize=thread` build (the tsan preset) every access in a task would be reported as a race
// with the caller. Under ThreadSanitizer these wrappers state the two edges with its annotation
// interface (a release before the loop, an acquire when a task starts; a release when it ends,
// an acquire after the loop); anything else a task shares is still checked. Elsewhere they are
// tbb::parallel_for itself. Project code calls these instead of tbb::parallel_for.
#pragma once

#include <tbb/parallel_for.h>

#include <utility>

#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#define HC_TSAN 1
#else
#define HC_TSAN 0
#endif

namespace hc {

namespace detail {

// The two synchronisation points of one loop, as addresses ThreadSanitizer can key them on.
struct ForkJoin {
  char fork = 0, join = 0;
#if HC_TSAN
  ForkJoin() { __tsan_release(&fork); }
  void task_begins() { __tsan_acquire(&fork); }
  void task_ends() { __tsan_release(&join); }
  void loop_returned() { __tsan_acquire(&join); }
#else
  void task_begins() {}
  void task_ends() {}
  void loop_returned() {}
#endif
};

}  // namespace detail

// tbb::parallel_for(first, last, f[, partitioner]): f(i) for every index in [first, last).
template <class Index, class Fn, class... Partitioner>
void parallel_for(Index first, Index last, const Fn& fn, Partitioner&&... partitioner) {
  detail::ForkJoin sync;
  tbb::parallel_for(
      first, last,
      [&](Index i) {
        sync.task_begins();
        fn(i);
        sync.task_ends();
      },
      std::forward<Partitioner>(partitioner)...);
  sync.loop_returned();
}

// tbb::parallel_for(range, body[, partitioner]): body(subrange) over a split of the range.
template <class Range, class Body, class... Partitioner>
void parallel_for_range(const Range& range, const Body& body, Partitioner&&... partitioner) {
  detail::ForkJoin sync;
  tbb::parallel_for(
      range,
      [&](const Range& r) {
        sync.task_begins();
        body(r);
        sync.task_ends();
      },
      std::forward<Partitioner>(partitioner)...);
  sync.loop_returned();
}

}  // namespace hc
