#include "agents/factory.h"

#include "agents/hnet.h"
#include "agents/mlp.h"
#include "base/error.h"

namespace hc::agents {

Policy make_policy(const PolicyConfig& c, const PolicyDims& dims, uint64_t seed) {
  Rng rng(derive_seed(seed, {0x90115}));
  if (c.name == PolicyKind::kHnetLinear || c.name == PolicyKind::kHnetMlp) {
    HnetShape s;
    s.in = dims.in;
    s.hidden = c.hidden;
    s.num_hidden = c.num_hidden;
    s.out = dims.out;
    s.templates = c.templates;
    s.fast_bias = c.fast_bias;
    s.normalize = c.normalize_embedding;
    switch (c.adapt) {
      case AdaptRows::kAll:
        break;
      case AdaptRows::kHidden:
        if (c.num_hidden < 2)
          throw ConfigError(
              "policy.adapt: 'hidden' needs num_hidden >= 2 (a generated hidden layer)");
        s.adapt_begin = 1;
        s.adapt_end = -1;
        break;
      case AdaptRows::kInput:
        s.adapt_end = 1;
        break;
    }
    s.learn_init = c.learn_embedding_init;
    s.bias = c.bias;
    if (!c.bias && c.name != PolicyKind::kHnetLinear)
      throw ConfigError(
          "policy.bias: false applies to hnet_linear only (hnet_mlp generates "
          "biases with its weights)");
    s.latent = dims.latent;
    if (c.name == PolicyKind::kHnetLinear) return std::make_shared<HnetLinear>(s, rng);
    return std::make_shared<HnetMlp>(s, c.generator_hidden, c.generator_layers, rng);
  }
  MlpShape s;
  s.in = dims.in;
  s.hidden = c.hidden;
  s.num_hidden = c.num_hidden;
  s.out = dims.out;
  s.adapt_all = c.name == PolicyKind::kLearnedInit;
  s.latent = dims.latent;
  return std::make_shared<Mlp>(s, rng);
}

}  // namespace hc::agents
