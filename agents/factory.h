// The `policy` section of a training config and the policy it builds.
#pragma once

#include <string>

#include "agents/kinds.h"
#include "agents/policy.h"
#include "base/config.h"

namespace hc::agents {

struct PolicyConfig {
  PolicyKind name = PolicyKind::kHnetLinear;
  int hidden = 32;
  int num_hidden = 2;
  int templates = 8;
  bool fast_bias = true;
  bool normalize_embedding = true;
  AdaptRows adapt = AdaptRows::kAll;
  bool learn_embedding_init = true;
  bool bias = true;
  int generator_hidden = 32;
  int generator_layers = 4;

  template <class V>
  void fields(V& v) {
    v("name", name, "the policy");
    v("hidden", hidden, "width of the policy's hidden layers", in_range(1, 8192));
    v("num_hidden", num_hidden, "hidden layers of the policy", in_range(1, 16));
    v("templates", templates, "hypernetworks: modules M in each template bank", in_range(1, 1024));
    v("fast_bias", fast_bias, "hypernetworks: adapt a per-task output bias");
    v("normalize_embedding", normalize_embedding,
      "hypernetworks: rescale each embedding row to norm sqrt(M) (the scale is not "
      "differentiated)");
    v("adapt", adapt,
      "hypernetworks: which embedding rows the inner loop adapts (hidden: only the hidden "
      "layers', the input and output layers stay shared; input: only the input layer's)");
    v("learn_embedding_init", learn_embedding_init,
      "hypernetworks: meta-learn the embedding adaptation starts from (else it stays at its "
      "random draw, the reference theory's constant initialisation)");
    v("bias", bias, "hnet_linear: the generated layers have biases");
    v("generator_hidden", generator_hidden, "hnet_mlp: width of the weight generator",
      in_range(1, 4096));
    v("generator_layers", generator_layers, "hnet_mlp: layers of the weight generator",
      in_range(1, 16));
  }
};

struct PolicyDims {
  int64_t in = 0, out = 0;
  int64_t latent = 0;  // > 0 builds a task-conditioned policy (imitation)
};

Policy make_policy(const PolicyConfig& config, const PolicyDims& dims, uint64_t seed);

}  // namespace hc::agents
