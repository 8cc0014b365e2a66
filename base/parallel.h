// Parallel loops: tbb::parallel_for, or, under ThreadSanitizer, the same loop on plain threads.
//
// TBB hands work between threads inside libtbb, which Debian builds without ThreadSanitizer, so
// in a `-fsanitize=thread` build (the tsan preset) TSan cannot see that a task's start happens
// after the caller's writes, nor the accesses of TBB's own header code that splits and joins the
// work: every parallel loop would be reported, whatever its body does. Under ThreadSanitizer
// these loops therefore run their pieces on std::threads (as many as the current task arena
// allows), whose start and join it does see, so what the project's loop bodies share is checked
// and nothing is suppressed. TBB's scheduler itself is not what that build tests. Elsewhere they
// are tbb::parallel_for itself. Project code calls these instead of tbb::parallel_for.
#pragma once

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <utility>

#if defined(__SANITIZE_THREAD__)
#include <tbb/task_arena.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>
#define HC_TSAN 1
#else
#define HC_TSAN 0
#endif

namespace hc {

#if HC_TSAN
namespace detail {

// run(piece) for every piece, on up to the arena's concurrency of threads; the first exception
// is rethrown to the caller once every thread has stopped, as TBB does.
template <class Piece, class Run>
void run_on_threads(const std::vector<Piece>& pieces, const Run& run) {
  const size_t n =
      std::min(pieces.size(), static_cast<size_t>(tbb::this_task_arena::max_concurrency()));
  std::atomic<size_t> next{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  const auto worker = [&] {
    for (size_t i; (i = next.fetch_add(1)) < pieces.size();) {
      try {
        run(pieces[i]);
      } catch (...) {
        const std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
        next = pieces.size();
      }
    }
  };
  std::vector<std::thread> threads;
  for (size_t t = 1; t < n; ++t) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace detail
#endif

// tbb::parallel_for(first, last, f[, partitioner]): f(i) for every index in [first, last).
template <class Index, class Fn, class... Partitioner>
void parallel_for(Index first, Index last, const Fn& fn, Partitioner&&... partitioner) {
#if HC_TSAN
  std::vector<Index> indices;
  for (Index i = first; i < last; ++i) indices.push_back(i);
  detail::run_on_threads(indices, fn);
  ((void)partitioner, ...);
#else
  tbb::parallel_for(first, last, fn, std::forward<Partitioner>(partitioner)...);
#endif
}

// tbb::parallel_for(range, body[, partitioner]): body(subrange) over a split of the range (under
// ThreadSanitizer: split until indivisible, as tbb::simple_partitioner does).
template <class Range, class Body, class... Partitioner>
void parallel_for_range(const Range& range, const Body& body, Partitioner&&... partitioner) {
#if HC_TSAN
  std::vector<Range> pieces{range};
  for (size_t i = 0; i < pieces.size();) {
    if (!pieces[i].is_divisible()) {
      ++i;
      continue;
    }
    Range other(pieces[i], tbb::split());
    pieces.push_back(std::move(other));
  }
  detail::run_on_threads(pieces, body);
  ((void)partitioner, ...);
#else
  tbb::parallel_for(range, body, std::forward<Partitioner>(partitioner)...);
#endif
}

}  // namespace hc
