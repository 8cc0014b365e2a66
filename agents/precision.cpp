#include "agents/precision.h"

#include <c10/util/Exception.h>
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <oneapi/dnnl/dnnl.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace hc::agents {
namespace {

thread_local Precision tl_precision = Precision::kFp32;

// Bytes of converted operands and results handled per oneDNN call: half a core's L2 cache on
// the CPUs with bfloat16 instructions (1-2 MiB), so that conversion, product and bias meet in
// cache. Over a whole batch at once, the extra passes over memory cost more than the
// arithmetic bfloat16 saves.
constexpr int64_t kChunkBytes = 512 * 1024;

// One engine and stream per thread: streams are not thread-safe, and the trainer's shards run
// on several threads at once. Primitives themselves come from oneDNN's own cache (creating one
// for a shape seen before costs about 2 us), so none are kept here.
dnnl::engine& engine() {
  thread_local dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}
dnnl::stream& stream() {
  thread_local dnnl::stream s(engine());
  return s;
}

#define HC_BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

HC_BF16_TARGET void convert_avx512(const float* src, uint16_t* dst, int64_t n) {
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 mask = n - i >= 16 ? __mmask16(0xffff) : __mmask16((1u << (n - i)) - 1u);
    const __m256bh h = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(mask, src + i));
    _mm256_mask_storeu_epi16(dst + i, mask, reinterpret_cast<const __m256i&>(h));
  }
}

// Entries [first, first + count) of a stored matrix, compact ([count, rows, cols] without
// padding), as bfloat16.
void pack(const bf16::Matrix& x, int64_t first, int64_t count, std::vector<uint16_t>& buf) {
  const int64_t size = x.rows * x.cols;
  buf.resize(static_cast<size_t>(count * size));
  const float* src = x.data + first * x.batch_stride;
  if (x.ld == x.cols && x.batch_stride == size) {
    bf16::convert(src, buf.data(), count * size);
    return;
  }
  for (int64_t t = 0; t < count; ++t)
    for (int64_t r = 0; r < x.rows; ++r)
      bf16::convert(src + t * x.batch_stride + r * x.ld, buf.data() + t * size + r * x.cols,
                    x.cols);
}

// The logical op(x) of a compact stored matrix: itself, or its transpose by strides.
dnnl::memory::desc logical(const bf16::Matrix& x, int64_t batch) {
  using dt = dnnl::memory::data_type;
  const int64_t r = x.rows, c = x.cols;
  if (x.transposed) return dnnl::memory::desc({batch, c, r}, dt::bf16, {r * c, 1, c});
  return dnnl::memory::desc({batch, r, c}, dt::bf16, {r * c, c, 1});
}

}  // namespace

bool bf16_supported() {
  static const bool supported = [] {
    // oneDNN's view decides its kernels (and honours ONEDNN_MAX_CPU_ISA); the conversion here
    // needs the instruction itself.
    const auto isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
    const auto need = static_cast<unsigned>(dnnl::cpu_isa::avx512_core_bf16);
    return (isa & need) == need && __builtin_cpu_supports("avx512bf16");
  }();
  return supported;
}

PrecisionScope::PrecisionScope(Precision p) : previous_(tl_precision) {
  tl_precision = bf16_supported() ? p : Precision::kFp32;
}

PrecisionScope::~PrecisionScope() { tl_precision = previous_; }

Precision current_precision() { return tl_precision; }

namespace bf16 {

void convert(const float* src, uint16_t* dst, int64_t n) {
  TORCH_CHECK(bf16_supported(), "bfloat16 conversion needs a CPU with AVX512-BF16");
  convert_avx512(src, dst, n);
}

void matmul(int64_t batch, const Matrix& a, const Matrix& b, const float* bias, const float* mask,
            float* out) {
  using dt = dnnl::memory::data_type;
  using dnnl::memory;
  const int64_t m = a.transposed ? a.cols : a.rows;
  const int64_t n = b.transposed ? b.rows : b.cols;
  const int64_t per_task = 2 * (a.rows * a.cols + b.rows * b.cols) + 4 * m * n;
  const int64_t chunk = std::clamp<int64_t>(kChunkBytes / std::max<int64_t>(per_task, 1), 1, batch);
  thread_local std::vector<uint16_t> abuf, bbuf;
  try {
    dnnl::engine& e = engine();
    // A bias with a batch dimension sends oneDNN 2.6 to its reference kernel; adding the
    // product to a destination that already holds the bias (a sum post-op) keeps the fast one.
    dnnl::primitive_attr attr;
    if (bias) {
      dnnl::post_ops ops;
      ops.append_sum(1.0f);
      attr.set_post_ops(ops);
    }
    for (int64_t first = 0; first < batch; first += chunk) {
      const int64_t count = std::min(chunk, batch - first);
      pack(a, first, count, abuf);
      pack(b, first, count, bbuf);
      float* dst = out + first * m * n;
      if (bias)
        for (int64_t t = 0; t < count; ++t)
          for (int64_t r = 0; r < m; ++r)
            std::memcpy(dst + (t * m + r) * n, bias + (first + t) * n, sizeof(float) * n);
      const memory::desc ad = logical(a, count), bd = logical(b, count);
      const memory::desc cd({count, m, n}, dt::f32, {m * n, n, 1});
      memory am(ad, e, abuf.data()), bm(bd, e, bbuf.data()), cm(cd, e, dst);
      dnnl::matmul(dnnl::matmul::primitive_desc(dnnl::matmul::desc(ad, bd, cd), attr, e))
          .execute(stream(), {{DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, bm}, {DNNL_ARG_DST, cm}});
      if (mask) {
        stream().wait();
        const float* pm = mask + first * m * n;
        for (int64_t j = 0; j < count * m * n; ++j) dst[j] *= pm[j];
      }
    }
    stream().wait();
  } catch (const dnnl::error& err) {
    throw std::runtime_error("bfloat16 matrix product [" + std::to_string(batch) + ", " +
                             std::to_string(m) + ", " + std::to_string(n) +
                             "] failed in oneDNN: " + err.what());
  }
}

}  // namespace bf16
}  // namespace hc::agents
