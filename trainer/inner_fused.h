// A fused first-order inner loop for linear hypernetworks that adapt only the embedding of their
// input layer (the theory family's student): every inner step of a task -- forward pass, squared
// error, closed-form gradient with respect to the embedding, optimiser update -- runs in one
// pass over that task's support rows, in cache, with no tensor operation and no allocation per
// step.
//
// The generic inner loop (Learner, PolicyImpl::loss_and_grad) spends most of such a step on the
// bookkeeping of some twenty small tensor operations and on BLAS calls whose inner dimension is
// the 16 inputs; here the same arithmetic is one loop per support row, vectorised over the hidden
// units (AVX-512 or AVX2 where the CPU has them, chosen at run time). The values agree with the
// generic loop up to float rounding (the sums run in another order), and the result keeps the
// first-order gradient path to a meta-learned starting embedding that the generic loop has.
#pragma once

#include <optional>

#include "agents/policy.h"
#include "trainer/batch.h"
#include "trainer/inner.h"
#include "trainer/meta_learner.h"

namespace hc::trainer {

// Whether the fused loop applies: a policy whose fast parameters are exactly the embedding of a
// generated input layer (PolicyImpl::input_bank) followed by one shared output layer, squared
// error targets, dense inputs.
bool fused_inner_applies(agents::PolicyImpl& policy, const Batch& b);

// `steps` first-order inner steps of `opt` on the support set of every task of `b`; nullopt when
// fused_inner_applies() is false.
std::optional<Adapted> adapt_fused(agents::PolicyImpl& policy, const Batch& b,
                                   const InnerOptimizer& opt, int steps);

}  // namespace hc::trainer
