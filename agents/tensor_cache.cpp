#include "agents/tensor_cache.h"

#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>

#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <unordered_map>

namespace hc::agents {
namespace {

constexpr size_t kMinCached = size_t{256} << 10;  // smaller blocks go straight to malloc

// Rounds up to one of 8 classes per power of two, so a block serves requests up to 12.5% smaller.
size_t size_class(size_t n) {
  size_t p = 1;
  while (p * 2 <= n) p *= 2;
  const size_t step = std::max<size_t>(p / 8, 4096);
  return (n + step - 1) / step * step;
}

class Cache final : public c10::Allocator {
 public:
  c10::DataPtr allocate(size_t n) const override {
    if (n < kMinCached) {
      // The C library knows a small block's size: counted without a lookup or a lock.
      void* p = c10::alloc_cpu(n);
      count(static_cast<int64_t>(malloc_usable_size(p)));
      return {p, p, &release_small, c10::Device(c10::DeviceType::CPU)};
    }
    void* p = take(size_class(n));
    return {p, p, &release, c10::Device(c10::DeviceType::CPU)};
  }
  c10::DeleterFnPtr raw_deleter() const override { return &release_any; }

  static Cache& instance() {
    static Cache* cache = new Cache;  // never destroyed: tensors may outlive static teardown
    return *cache;
  }

  void clear() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [size, p] : free_) c10::free_cpu(p);
    free_.clear();
    stats_.cached_bytes = 0;
  }

  TensorCacheStats stats() {
    std::lock_guard<std::mutex> lock(mutex_);
    TensorCacheStats s = stats_;
    s.live_bytes = large_live_;
    s.peak_live_bytes = large_peak_;
    return s;
  }

  void start_measure() {
    live_.store(0);
    peak_.store(0);
    measuring_.store(true);
  }
  int64_t stop_measure() {
    measuring_.store(false);
    return peak_.load();
  }

 private:
  // While measuring: the bytes allocated since the start minus those freed, and the peak of that
  // sum. Atomics, so that small blocks need no lock; outside a measurement one relaxed load.
  static void count(int64_t delta) {
    Cache& c = instance();
    if (!c.measuring_.load(std::memory_order_relaxed)) return;
    const int64_t now = c.live_.fetch_add(delta) + delta;
    int64_t peak = c.peak_.load();
    while (now > peak && !c.peak_.compare_exchange_weak(peak, now)) {
    }
  }

  static void release_small(void* p) {
    count(-static_cast<int64_t>(malloc_usable_size(p)));
    c10::free_cpu(p);
  }

  // For blocks released through raw_deleter(), which does not say which kind they are.
  static void release_any(void* p) {
    bool large;
    {
      Cache& c = instance();
      std::lock_guard<std::mutex> lock(c.mutex_);
      large = c.large_.count(p) > 0;
    }
    large ? release(p) : release_small(p);
  }

  void* take(size_t size) const {
    std::lock_guard<std::mutex> lock(mutex_);
    // Best fit among cached blocks of this size class or the next one up.
    auto it = free_.lower_bound(size);
    void* p;
    size_t got;
    if (it != free_.end() && it->first <= size + size / 8) {
      p = it->second;
      got = it->first;
      free_.erase(it);
      stats_.cached_bytes -= got;
      ++stats_.hits;
    } else {
      p = c10::alloc_cpu(size);
      got = size;
      ++stats_.misses;
    }
    large_[p] = got;
    large_live_ += got;
    large_peak_ = std::max(large_peak_, large_live_);
    count(static_cast<int64_t>(got));
    return p;
  }

  static void release(void* p) {
    Cache& c = instance();
    std::lock_guard<std::mutex> lock(c.mutex_);
    auto it = c.large_.find(p);
    const size_t size = it->second;
    c.large_.erase(it);
    c.large_live_ -= size;
    count(-static_cast<int64_t>(size));
    c.free_.emplace(size, p);
    c.stats_.cached_bytes += size;
    // Keep the cache within the peak of live large blocks: drop the largest blocks first.
    while (c.stats_.cached_bytes > c.large_peak_ && !c.free_.empty()) {
      auto last = std::prev(c.free_.end());
      c.stats_.cached_bytes -= last->first;
      c10::free_cpu(last->second);
      c.free_.erase(last);
    }
  }

  mutable std::mutex mutex_;
  mutable std::multimap<size_t, void*> free_;
  mutable std::unordered_map<void*, size_t> large_;
  mutable size_t large_live_ = 0, large_peak_ = 0;
  mutable TensorCacheStats stats_;
  std::atomic<int64_t> live_{0}, peak_{0};
  std::atomic<bool> measuring_{false};
};

}  // namespace

void install_tensor_cache() {
  static std::once_flag once;
  std::call_once(once, [] { c10::SetCPUAllocator(&Cache::instance(), /*priority=*/10); });
}

void release_tensor_cache() { Cache::instance().clear(); }

TensorCacheStats tensor_cache_stats() { return Cache::instance().stats(); }

int64_t measure_tensor_peak(const std::function<void()>& work) {
  install_tensor_cache();
  Cache::instance().start_measure();
  try {
    work();
  } catch (...) {
    Cache::instance().stop_measure();
    throw;
  }
  return Cache::instance().stop_measure();
}

}  // namespace hc::agents
