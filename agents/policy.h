// Policies: a per-task MLP whose weights come from task-specific ("fast") parameters and
// meta-parameters. Every policy is the same computation underneath -- a stack of dense layers
// with per-task weights -- and differs only in how fast parameters make those weights:
//   hnet_linear   weights = linear combination of a template bank, weighted by an embedding
//   hnet_mlp      weights = nonlinear hypernetwork (MLP) of an embedding
//   anil          a shared MLP body; the fast parameters are the last layer
//   learned_init  the fast parameters are all the weights (MAML)
// All forward passes are batched over the tasks of a meta-batch (a leading task dimension).
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "agents/inputs.h"
#include "agents/loss.h"

namespace hc::agents {

// Task-specific parameters of a batch of tasks, each with a leading task dimension.
using Fast = std::vector<torch::Tensor>;

// What a policy computes from a batch's inputs once, before adaptation: the inputs themselves
// and, where useful, work that does not depend on the fast parameters (the ANIL body, or the
// input layer of every template of a linear hypernetwork).
struct Features {
  Inputs x;
  torch::Tensor h;
};

// A dense layer with per-task weights: out = in @ w + b; w [T, in, out], b [T, out].
struct Layer {
  torch::Tensor w, b;
};

class PolicyImpl : public torch::nn::Module {
 public:
  // Fast parameters at the start of adaptation: differentiable functions of the
  // meta-parameters, with a leading dimension of `tasks`.
  virtual Fast init_fast(int64_t tasks) = 0;
  virtual std::vector<std::string> fast_names() const = 0;
  virtual Features encode(const Inputs& x) = 0;
  // The per-task network: the pre-activation of its first layer, and the dense layers after it
  // (ReLU before each of them, nothing after the last).
  virtual torch::Tensor first(const Fast& fast, const Features& f) = 0;
  virtual std::vector<Layer> layers(const Fast& fast) = 0;
  // The whole per-task network as dense layers, the first one included, with every weight
  // materialised (first() may avoid that): what forward() computes, in a form whose weights
  // can be inspected and masked. Layers shared by all tasks have a leading dimension of 1.
  virtual std::vector<Layer> network(const Fast& fast) = 0;
  // The parameters that make the per-task weights from the fast parameters -- a hypernetwork's
  // module bank (templates, or the generator's weight matrices) -- by name; none for MLPs.
  virtual std::vector<std::string> bank_parameters() const { return {}; }
  // The input layer's module bank [M, in, hidden] when a task's fast parameters are exactly the
  // M weights that combine it (a linear hypernetwork adapting only its input row, unnormalised,
  // no fast bias, no generated bias), so that a linear map from the fast parameters to the true
  // modules can be read back as combinations of templates (the reference's template alignment);
  // undefined otherwise.
  virtual torch::Tensor input_bank() const { return {}; }
  // Task-conditioned policies (imitation): fast parameters given ground-truth latents [T, L].
  virtual Fast fast_from_latent(const torch::Tensor& latent) = 0;

  // Outputs [T, N, C].
  torch::Tensor forward(const Fast& fast, const Features& f);
  // Per-task losses [T] and the gradient of their sum with respect to every fast parameter.
  // The gradient of the network's dense layers is written out in closed form (ReLU masks are
  // constants), and autograd only maps it back through the small weight generators; with
  // create_graph the result can be differentiated again (second-order meta-gradients).
  std::pair<torch::Tensor, Fast> loss_and_grad(const Fast& fast, const Features& f,
                                               const Targets& y, bool create_graph);
};

using Policy = std::shared_ptr<PolicyImpl>;

// Outputs [T, N, C] of dense layers as PolicyImpl::network() gives them: ReLU before every
// layer but the first, nothing after the last.
torch::Tensor network_forward(const std::vector<Layer>& net, const Inputs& x);

}  // namespace hc::agents
