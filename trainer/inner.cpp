#include "trainer/inner.h"

#include <cmath>

namespace hc::trainer {

InnerOptimizer::State InnerOptimizer::init(const std::vector<torch::Tensor>& params) const {
  State s;
  if (kind != InnerKind::kSgd)
    for (const auto& p : params) {
      s.m.push_back(torch::zeros_like(p, torch::MemoryFormat::Contiguous));
      s.v.push_back(torch::zeros_like(p, torch::MemoryFormat::Contiguous));
    }
  return s;
}

std::vector<torch::Tensor> InnerOptimizer::clip(const std::vector<torch::Tensor>& grads) const {
  torch::Tensor sq;
  for (const auto& g : grads) {
    const torch::Tensor t = g.reshape({g.size(0), -1}).square().sum(1);
    sq = sq.defined() ? sq + t : t;
  }
  // eps inside the root keeps the derivative of the norm finite at a zero gradient.
  const torch::Tensor scale = (grad_clip / (sq + 1e-12).sqrt()).clamp_max(1.0);
  std::vector<torch::Tensor> out;
  for (const auto& g : grads) {
    std::vector<int64_t> shape(g.dim(), 1);
    shape[0] = g.size(0);
    out.push_back(g * scale.view(shape));
  }
  return out;
}

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

// The scalars of one Adam/AdamW step.
struct AdamStep {
  double b1, b2, c1, c2, eps_root, eps, lr, wd;
};

// One Adam/AdamW step of one tensor in a single pass, forward and backward:
//   m' = b1 m + (1 - b1) g          v' = b2 v + (1 - b2) g g
//   u  = (m' / c1) / (sqrt(v' / c2 + eps_root) + eps)   (+ wd p for AdamW)
//   p' = p - lr u
// Written as a dozen tensor operations this records a dozen autograd nodes per fast
// parameter and inner step, each a pass over memory (and, for the small tensors of the
// gridworld, a few microseconds of dispatch). The arithmetic here is the same, operation by
// operation, as LibTorch performs for that expression and its derivative -- scalars rounded to
// the tensor's type, the same association, gradient contributions summed in the order
// LibTorch's autograd engine adds them -- so the results are identical to the last bit.
struct FusedAdam : torch::autograd::Function<FusedAdam> {
  static tensor_list forward(AutogradContext* ctx, const torch::Tensor& p_in,
                             const torch::Tensor& g_in, const torch::Tensor& m_in,
                             const torch::Tensor& v_in, const AdamStep& k) {
    const torch::Tensor p = p_in.contiguous(), g = g_in.contiguous();
    const torch::Tensor m = m_in.contiguous(), v = v_in.contiguous();
    torch::Tensor pn = torch::empty_like(p), mn = torch::empty_like(p), vn = torch::empty_like(p);
    AT_DISPATCH_FLOATING_TYPES(p.scalar_type(), "hc::fused_adam", [&] {
      using S = scalar_t;
      const S b1 = S(k.b1), one_b1 = S(1.0 - k.b1), b2 = S(k.b2), one_b2 = S(1.0 - k.b2);
      const S c1 = S(k.c1), c2 = S(k.c2), eps_root = S(k.eps_root), eps = S(k.eps);
      const S lr = S(k.lr), wd = S(k.wd);
      const S *pp = p.data_ptr<S>(), *pg = g.data_ptr<S>(), *pm = m.data_ptr<S>(),
              *pv = v.data_ptr<S>();
      S *opn = pn.data_ptr<S>(), *omn = mn.data_ptr<S>(), *ovn = vn.data_ptr<S>();
      at::parallel_for(0, p.numel(), 1 << 14, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) {
          const S m1 = omn[i] = pm[i] * b1 + pg[i] * one_b1;
          const S v1 = ovn[i] = pv[i] * b2 + (pg[i] * one_b2) * pg[i];
          S u = (m1 / c1) / (std::sqrt(v1 / c2 + eps_root) + eps);
          if (k.wd > 0.0) u = u + pp[i] * wd;
          opn[i] = pp[i] - u * lr;
        }
      });
    });
    ctx->save_for_backward({g, mn, vn});
    ctx->set_materialize_grads(false);
    ctx->saved_data["b1"] = k.b1;
    ctx->saved_data["b2"] = k.b2;
    ctx->saved_data["c1"] = k.c1;
    ctx->saved_data["c2"] = k.c2;
    ctx->saved_data["eps_root"] = k.eps_root;
    ctx->saved_data["eps"] = k.eps;
    ctx->saved_data["lr"] = k.lr;
    ctx->saved_data["wd"] = k.wd;
    return {pn, mn, vn};
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor &g = saved[0], &mn = saved[1], &vn = saved[2];
    const auto scalar = [&](const char* name) { return ctx->saved_data[name].toDouble(); };
    // An output nobody used has no gradient (the last step's moments): where LibTorch would
    // not run that output's nodes at all, this adds nothing for it.
    const bool has_p = grads[0].defined(), has_m = grads[1].defined(), has_v = grads[2].defined();
    if (!has_p && !has_m && !has_v) return {{}, {}, {}, {}, {}};
    const auto input = [&](int i) { return grads[i].defined() ? grads[i].contiguous() : g; };
    const torch::Tensor gp = input(0), gm = input(1), gv = input(2);
    const auto output = [&](int i, bool nonzero) {
      return ctx->needs_input_grad(i) && nonzero ? torch::empty_like(g) : torch::Tensor();
    };
    torch::Tensor dp = output(0, has_p), dg = output(1, true), dm = output(2, true),
                  dv = output(3, true);
    const double wd_d = scalar("wd");
    AT_DISPATCH_FLOATING_TYPES(g.scalar_type(), "hc::fused_adam_backward", [&] {
      using S = scalar_t;
      const S b1 = S(scalar("b1")), one_b1 = S(1.0 - scalar("b1")), b2 = S(scalar("b2")),
              one_b2 = S(1.0 - scalar("b2")), c1 = S(scalar("c1")), c2 = S(scalar("c2")),
              eps_root = S(scalar("eps_root")), eps = S(scalar("eps")), lr = S(scalar("lr")),
              wd = S(wd_d);
      const S *pg = g.data_ptr<S>(), *pmn = mn.data_ptr<S>(), *pvn = vn.data_ptr<S>(),
              *ggp = gp.data_ptr<S>(), *ggm = gm.data_ptr<S>(), *ggv = gv.data_ptr<S>();
      const auto ptr = [](torch::Tensor& t) { return t.defined() ? t.data_ptr<S>() : nullptr; };
      S *odp = ptr(dp), *odg = ptr(dg), *odm = ptr(dm), *odv = ptr(dv);
      at::parallel_for(0, g.numel(), 1 << 14, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) {
          S dmn = 0, dvn = 0;
          bool any_m = has_m, any_v = has_v;
          if (has_p) {
            // p' = p - lr u: the subtraction passes -grad to lr u, the product grad * lr to u.
            const S du = (-ggp[i]) * lr;
            if (odp) odp[i] = wd_d > 0.0 ? ggp[i] + du * wd : ggp[i];
            // u = mh / d with mh = m' / c1, d = r + eps, r = sqrt(v' / c2 + eps_root).
            const S mh = pmn[i] / c1, r = std::sqrt(pvn[i] / c2 + eps_root), d = r + eps;
            const S dmh = du / d;
            const S dd = (-du) * ((mh / d) / d);
            const S dvh = dd / (S(2) * r);
            dmn = has_m ? ggm[i] + dmh / c1 : dmh / c1;
            dvn = has_v ? ggv[i] + dvh / c2 : dvh / c2;
            any_m = any_v = true;
          } else {
            dmn = has_m ? ggm[i] : S(0);
            dvn = has_v ? ggv[i] : S(0);
          }
          if (odm) odm[i] = dmn * b1;
          if (odv) odv[i] = dvn * b2;
          if (!odg) continue;
          // g enters three products: (1 - b1) g, and g' g with g' = (1 - b2) g. The engine
          // adds their contributions as it runs the nodes, latest-made first.
          const S from_gg = dvn * (pg[i] * one_b2);  // d(g' g)/dg
          const S from_g1 = (dvn * pg[i]) * one_b2;  // through g' = (1 - b2) g
          const S from_m = dmn * one_b1;
          if (any_v && any_m)
            odg[i] = (from_gg + from_g1) + from_m;
          else
            odg[i] = any_v ? from_gg + from_g1 : from_m;
        }
      });
    });
    return {dp, dg, dm, dv, torch::Tensor()};
  }
};

}  // namespace

std::vector<torch::Tensor> InnerOptimizer::step(const std::vector<torch::Tensor>& params,
                                                const std::vector<torch::Tensor>& grads,
                                                State& s) const {
  std::vector<torch::Tensor> out(params.size());
  const std::vector<torch::Tensor> clipped = grad_clip > 0.0 ? clip(grads) : grads;
  if (kind == InnerKind::kSgd) {
    for (size_t i = 0; i < params.size(); ++i) out[i] = params[i] - lr * clipped[i];
    return out;
  }
  ++s.t;
  const AdamStep k{b1,
                   b2,
                   1.0 - std::pow(b1, s.t),
                   1.0 - std::pow(b2, s.t),
                   eps_root,
                   eps,
                   lr,
                   kind == InnerKind::kAdamw ? weight_decay : 0.0};
  for (size_t i = 0; i < params.size(); ++i) {
    tensor_list r = FusedAdam::apply(params[i], clipped[i], s.m[i], s.v[i], k);
    out[i] = std::move(r[0]);
    s.m[i] = std::move(r[1]);
    s.v[i] = std::move(r[2]);
  }
  return out;
}

}  // namespace hc::trainer
