// Precision of the per-task matrix products (bmm.h): float32, or bfloat16 operands with float32
// sums and results.
//
// bfloat16 keeps float32's exponent range with an 8-bit significand (unit roundoff u = 2^-8),
// so rounding a product's two operands moves each entry by at most (2u + u^2) sum|a||b|, while
// the CPU's bfloat16 instructions (AVX512-BF16, AMX) do several times the float32 arithmetic
// per cycle. Activations, losses and optimiser states stay float32 throughout.
#pragma once

#include <cstdint>

#include "base/config.h"

namespace hc::agents {

// learner.precision: bf16 computes the products of the query loss and of the backward pass in
// bfloat16 and keeps the inner loop in float32, whose adaptive steps amplify rounding a
// hundredfold and more in the meta-gradient, where the backward pass does not (meta_learner.cpp).
enum class Precision { kFp32, kBf16 };

// Whether this CPU multiplies bfloat16 in hardware (AVX512-BF16 or AMX), as oneDNN detects it
// at run time. Without it bfloat16 products would be emulated and slower than float32.
bool bf16_supported();

// The precision of task_bmm on the calling thread while the scope lives (float32 outside any
// scope). On a CPU without bfloat16 instructions every scope is float32.
class PrecisionScope {
 public:
  explicit PrecisionScope(Precision p);
  ~PrecisionScope();
  PrecisionScope(const PrecisionScope&) = delete;
  PrecisionScope& operator=(const PrecisionScope&) = delete;

 private:
  Precision previous_;
};

Precision current_precision();

namespace bf16 {

// A float32 operand as stored: row-major `rows` x `cols` with leading dimension `ld` and
// `batch_stride` between a batch's matrices; `transposed` says whether the stored matrix is
// op(x)^T.
struct Matrix {
  const float* data;
  int64_t rows, cols, ld, batch_stride;
  bool transposed;
};

// out[t] = op(a[t]) op(b[t]) (+ bias[t] on every row) with bfloat16 operands. out is a
// contiguous float32 [batch, m, n]; bias, if not null, a contiguous [batch, n], and mask, if not
// null, a contiguous [batch, m, n] that multiplies the result.
void matmul(int64_t batch, const Matrix& a, const Matrix& b, const float* bias, const float* mask,
            float* out);

// float32 -> bfloat16 bits, rounded to nearest even (NaN stays NaN; float32 subnormals, far
// below any value these networks compute, become zero). Only where bf16_supported().
void convert(const float* src, uint16_t* dst, int64_t n);

}  // namespace bf16
}  // namespace hc::agents

template <>
struct hc::EnumNames<hc::agents::Precision> {
  using P = hc::agents::Precision;
  static constexpr std::pair<P, const char*> values[] = {{P::kFp32, "fp32"}, {P::kBf16, "bf16"}};
};
