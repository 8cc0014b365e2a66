// Hypernetwork policies: the target MLP's weights are generated from a task embedding.
//
// The target network is split into three parts, each with its own generator: the input layer,
// the hidden layers (one generator shared by all of them: "chunking", so a module is reused in
// every hidden layer), and the output layer. The embedding has one row per generated layer,
// each row renormalised to norm sqrt(M) (the scale is not differentiated). Generated weights
// are scaled by 1/sqrt(fan_in) in the target network.
#pragma once

#include "agents/policy.h"
#include "base/rng.h"

namespace hc::agents {

struct HnetShape {
  int64_t in = 0, hidden = 0, num_hidden = 1, out = 0;
  int64_t templates = 8;  // M: modules in each bank (embedding size)
  bool fast_bias = true;  // a per-task output bias, reset to zero for every task and adapted
  bool normalize = true;  // rescale embedding rows to norm sqrt(M), scale not differentiated
  bool bias = true;       // the generated layers have biases (else weights only)
  // The embedding rows that are task-specific, [adapt_begin, adapt_end); the others are shared
  // by every task (meta-parameters). adapt_end <= 0 counts from rows().
  int64_t adapt_begin = 0, adapt_end = 0;
  bool learn_init = true;  // the starting embedding is meta-learned (else fixed at its draw)
  int64_t latent = 0;      // > 0: task-conditioned (imitation) with this latent size
  int64_t rows() const { return num_hidden + 1; }  // embedding rows: input, hidden..., output
  int64_t adapt_stop() const { return adapt_end > 0 ? adapt_end : rows() + adapt_end; }
  int64_t adapted_rows() const { return adapt_stop() - adapt_begin; }
  bool adapts_all() const { return adapt_begin == 0 && adapt_stop() == rows(); }
};

// Shared by both hypernetworks: embeddings, normalisation, fast parameters, conditioning.
class HnetBase : public PolicyImpl {
 public:
  Fast init_fast(int64_t tasks) override;
  std::vector<std::string> fast_names() const override;
  Fast fast_from_latent(const torch::Tensor& latent) override;

 protected:
  HnetBase(const HnetShape& s, Rng& rng);
  // The whole embedding [T, R, M] of the fast parameters, normalised.
  torch::Tensor embedding(const Fast& fast) const;
  torch::Tensor normalised(const torch::Tensor& z) const;
  torch::Tensor output_bias(const Fast& fast) const;  // [T, out] or undefined
  HnetShape s_;
  torch::Tensor emb_init_;    // [R, M]
  torch::Tensor latent_map_;  // [latent, R * M] (conditioned policies)
};

// Weights are linear combinations of a bank of M templates.
class HnetLinear : public HnetBase {
 public:
  HnetLinear(const HnetShape& s, Rng& rng);
  Features encode(const Inputs& x) override;
  torch::Tensor first(const Fast& fast, const Features& f) override;
  std::vector<Layer> layers(const Fast& fast) override;
  std::vector<Layer> network(const Fast& fast) override;
  std::vector<std::string> bank_parameters() const override;
  torch::Tensor input_bank() const override;

 private:
  Layer first_layer(const Fast& fast) const;
  torch::Tensor in_w_, in_b_, hid_w_, hid_b_, out_w_, out_b_;  // [M, chunk]
};

// Weights come from an MLP of the embedding (LayerNorm, ELU), one per part.
class HnetMlp : public HnetBase {
 public:
  HnetMlp(const HnetShape& s, int64_t generator_hidden, int64_t generator_layers, Rng& rng);
  Features encode(const Inputs& x) override;
  torch::Tensor first(const Fast& fast, const Features& f) override;
  std::vector<Layer> layers(const Fast& fast) override;
  std::vector<Layer> network(const Fast& fast) override;
  std::vector<std::string> bank_parameters() const override;

 private:
  Layer first_layer(const Fast& fast);
  torch::Tensor generate(int part, const torch::Tensor& rows);  // [K, M] -> [K, chunk]
  std::vector<torch::nn::Sequential> bodies_;
  std::vector<torch::Tensor> heads_;  // [hidden, chunk]
};

}  // namespace hc::agents
