// A caching allocator for LibTorch's CPU tensors.
//
// A second-order meta-step allocates the same few gigabytes of large intermediate tensors on
// every step. Returned to the C library, those blocks go back to the kernel and come back as
// fresh pages: about half a million page faults per hyperteacher step, a fifth of its time.
// This cache keeps freed large blocks and hands them out again (best fit within a size class),
// so steady-state steps touch no new pages. Small blocks still go to the C library. The cache
// holds at most as many bytes as the peak of live large blocks seen so far, so memory stays
// within twice the working set however the tensor sizes vary from step to step. It also counts
// the bytes of every live tensor, large or small, which the trainer uses to measure how much
// memory a configuration needs before it starts.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>

namespace hc::agents {

// Makes the cache LibTorch's CPU allocator (idempotent, thread-safe).
void install_tensor_cache();
// Frees every cached block.
void release_tensor_cache();

struct TensorCacheStats {
  size_t live_bytes = 0, cached_bytes = 0, peak_live_bytes = 0;  // of large blocks
  size_t hits = 0, misses = 0;
};
TensorCacheStats tensor_cache_stats();

// Runs `work` and returns the peak of the tensor bytes it held at once beyond what was live
// before (large and small blocks): how much memory that work needs.
int64_t measure_tensor_peak(const std::function<void()>& work);

}  // namespace hc::agents
