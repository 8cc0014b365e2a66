#include "agents/tensor_cache.h"

#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>

#include <algorithm>
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
      void* p = c10::alloc_cpu(n);
      return {p, p, &c10::free_cpu, c10::Device(c10::DeviceType::CPU)};
    }
    void* p = take(size_class(n));
    return {p, p, &release, c10::Device(c10::DeviceType::CPU)};
  }
  c10::DeleterFnPtr raw_deleter() const override { return &release; }

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
    return stats_;
  }

 private:
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
    live_[p] = got;
    stats_.live_bytes += got;
    stats_.peak_live_bytes = std::max(stats_.peak_live_bytes, stats_.live_bytes);
    return p;
  }

  static void release(void* p) {
    Cache& c = instance();
    std::lock_guard<std::mutex> lock(c.mutex_);
    auto it = c.live_.find(p);
    if (it == c.live_.end()) {  // a small block
      c10::free_cpu(p);
      return;
    }
    const size_t size = it->second;
    c.live_.erase(it);
    c.stats_.live_bytes -= size;
    c.free_.emplace(size, p);
    c.stats_.cached_bytes += size;
    // Keep the cache within the peak working set: drop the largest blocks first.
    while (c.stats_.cached_bytes > c.stats_.peak_live_bytes && !c.free_.empty()) {
      auto last = std::prev(c.free_.end());
      c.stats_.cached_bytes -= last->first;
      c10::free_cpu(last->second);
      c.free_.erase(last);
    }
  }

  mutable std::mutex mutex_;
  mutable std::multimap<size_t, void*> free_;
  mutable std::unordered_map<void*, size_t> live_;
  mutable TensorCacheStats stats_;
};

}  // namespace

void install_tensor_cache() {
  static std::once_flag once;
  std::call_once(once, [] { c10::SetCPUAllocator(&Cache::instance(), /*priority=*/10); });
}

void release_tensor_cache() { Cache::instance().clear(); }

TensorCacheStats tensor_cache_stats() { return Cache::instance().stats(); }

}  // namespace hc::agents
