#include "agents/policy.h"

#include <optional>

#include "agents/bmm.h"

namespace hc::agents {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

// ReLU as a product with a constant mask, {z * mask, mask} with mask = (z > 0): its derivative
// is the same mask, and no autograd node materialises zeros for the mask's own gradient. One
// pass over z makes both (a comparison, a conversion and a product would make three).
struct MaskedRelu : torch::autograd::Function<MaskedRelu> {
  static tensor_list forward(AutogradContext* ctx, const torch::Tensor& z_in) {
    const torch::Tensor z = z_in.contiguous();
    torch::Tensor act = torch::empty_like(z), mask = torch::empty_like(z);
    AT_DISPATCH_FLOATING_TYPES(z.scalar_type(), "hc::masked_relu", [&] {
      const scalar_t* pz = z.data_ptr<scalar_t>();
      scalar_t *pa = act.data_ptr<scalar_t>(), *pm = mask.data_ptr<scalar_t>();
      at::parallel_for(0, z.numel(), 1 << 16, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) {
          const scalar_t m = pz[i] > scalar_t(0) ? scalar_t(1) : scalar_t(0);
          pm[i] = m;
          pa[i] = pz[i] * m;  // not max(z, 0): the same values (and signed zeros) as z * mask
        }
      });
    });
    ctx->mark_non_differentiable({mask});
    ctx->save_for_backward({mask});
    ctx->set_materialize_grads(false);  // the mask's gradient is never used: no zeros for it
    return {act, mask};
  }
  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    if (!grads[0].defined()) return {torch::Tensor()};
    return {grads[0] * ctx->get_saved_variables()[0]};
  }
};

// Below this many entries the fused kernel's fixed cost (a custom autograd node) outweighs the
// memory passes it saves (the gridworlds' activations are a few thousand entries).
constexpr int64_t kFusedReluMin = int64_t{1} << 16;

}  // namespace

torch::Tensor network_forward(const std::vector<Layer>& net, const Inputs& x) {
  torch::Tensor z;
  for (size_t i = 0; i < net.size(); ++i) {
    const Layer& l = net[i];
    const bool shared = l.w.size(0) == 1 && x.tasks != 1;
    if (i == 0) {
      z = shared ? shared_linear(x, l.w[0], l.b.defined() ? l.b[0] : torch::Tensor())
                 : per_task_linear(per_task_layout(x), l.w, l.b);
    } else {
      const torch::Tensor a = torch::relu(z);
      if (!shared)
        z = task_baddbmm(l.b, a, l.w);
      else
        z = l.b.defined() ? torch::matmul(a, l.w[0]) + l.b[0] : torch::matmul(a, l.w[0]);
    }
  }
  return z;
}

torch::Tensor PolicyImpl::forward(const Fast& fast, const Features& f) {
  torch::Tensor z = first(fast, f);
  for (const Layer& l : layers(fast)) z = task_baddbmm(l.b, torch::relu(z), l.w);
  return z;
}

std::pair<torch::Tensor, Fast> PolicyImpl::loss_and_grad(const Fast& fast, const Features& f,
                                                         const Targets& y, bool create_graph) {
  const torch::Tensor z0 = first(fast, f);
  const std::vector<Layer> ls = layers(fast);
  std::vector<torch::Tensor> outputs{z0}, grads;
  torch::Tensor loss;
  {
    // First order needs no graph of the dense part: only its values.
    std::optional<torch::NoGradGuard> no_grad;
    if (!create_graph) no_grad.emplace();
    std::vector<torch::Tensor> acts, masks;
    torch::Tensor z = z0;
    for (const Layer& l : ls) {
      if (z.numel() >= kFusedReluMin) {
        tensor_list relu = MaskedRelu::apply(z);
        acts.push_back(std::move(relu[0]));
        masks.push_back(std::move(relu[1]));
      } else {
        // Small activations: three ATen operations cost less than one custom autograd node,
        // and compute the same values.
        torch::Tensor mask;
        {
          torch::NoGradGuard constant;
          mask = z.gt(0).to(z.scalar_type());
        }
        acts.push_back(z * mask);
        masks.push_back(std::move(mask));
      }
      z = task_baddbmm(l.b, acts.back(), l.w);
    }
    loss = task_loss(z, y).detach();
    torch::Tensor g = task_loss_grad(z, y);
    std::vector<torch::Tensor> dw(ls.size()), db(ls.size());
    for (size_t i = ls.size(); i-- > 0;) {
      dw[i] = task_bmm(acts[i], g, /*ta=*/true, /*tb=*/false);
      if (ls[i].b.defined()) db[i] = g.sum(1);
      g = task_bmm_masked(g, ls[i].w, /*ta=*/false, /*tb=*/true, masks[i]);
    }
    grads.push_back(g);
    for (size_t i = 0; i < ls.size(); ++i) {
      outputs.push_back(ls[i].w);
      grads.push_back(dw[i]);
      if (!ls[i].b.defined()) continue;  // a layer without bias
      outputs.push_back(ls[i].b);
      grads.push_back(db[i]);
    }
  }
  // Map the gradient back through the weight generators (small) to the fast parameters.
  Fast g = torch::autograd::grad(outputs, fast, grads, /*retain_graph=*/create_graph,
                                 /*create_graph=*/create_graph, /*allow_unused=*/true);
  for (size_t i = 0; i < g.size(); ++i)
    if (!g[i].defined()) g[i] = torch::zeros_like(fast[i]);
  return {loss, g};
}

}  // namespace hc::agents
