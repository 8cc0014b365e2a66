// The `policy` section of a training config and the policy it builds.
#pragma once

#include <string>

#include "agents/policy.h"
#include "base/config.h"

namespace hc::agents {

inline constexpr const char* kPolicyNames[] = {"hnet_linear", "hnet_mlp", "anil", "learned_init"};

struct PolicyConfig {
  std::string name = "hnet_linear";
  int hidden = 32;
  int num_hidden = 2;
  int templates = 8;
  bool fast_bias = true;
  bool normalize_embedding = true;
  std::string adapt = "all";
  int generator_hidden = 32;
  int generator_layers = 4;

  template <class V>
  void fields(V& v) {
    v("name", name, "hnet_linear, hnet_mlp, anil or learned_init",
      one_of({"hnet_linear", "hnet_mlp", "anil", "learned_init"}));
    v("hidden", hidden, "width of the policy's hidden layers", in_range(1, 8192));
    v("num_hidden", num_hidden, "hidden layers of the policy", in_range(1, 16));
    v("templates", templates, "hypernetworks: modules M in each template bank", in_range(1, 1024));
    v("fast_bias", fast_bias, "hypernetworks: adapt a per-task output bias");
    v("normalize_embedding", normalize_embedding,
      "hypernetworks: rescale each embedding row to norm sqrt(M) (the scale is not "
      "differentiated)");
    v("adapt", adapt,
      "hypernetworks: which embedding rows the inner loop adapts (hidden: only the hidden "
      "layers', the input and output layers stay shared)",
      one_of({"all", "hidden"}));
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
