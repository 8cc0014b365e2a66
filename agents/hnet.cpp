#include "agents/hnet.h"

#include <cmath>

#include "agents/bmm.h"
#include "agents/init.h"

namespace hc::agents {

HnetBase::HnetBase(const HnetShape& s, Rng& rng) : s_(s) {
  // Variance-scaling uniform init with fan-in = rows of the part's embedding.
  std::vector<torch::Tensor> parts;
  for (int64_t rows : {int64_t{1}, s.num_hidden - 1, int64_t{1}}) {
    if (rows == 0) continue;
    const double bound = std::sqrt(3.0 / static_cast<double>(rows));
    parts.push_back(uniform({rows, s.templates}, -bound, bound, rng));
  }
  emb_init_ = s.learn_init ? register_parameter("emb_init", torch::cat(parts))
                           : register_buffer("emb_init", torch::cat(parts));
  if (s.latent > 0)
    latent_map_ = register_parameter(
        "latent_map", truncated_normal({s.latent, s.adapted_rows() * s.templates},
                                       1.0 / std::sqrt(static_cast<double>(s.latent)), rng));
}

Fast HnetBase::init_fast(int64_t tasks) {
  Fast fast{s_.adapts_all() ? emb_init_.expand({tasks, s_.rows(), s_.templates})
                            : emb_init_.slice(0, s_.adapt_begin, s_.adapt_stop())
                                  .expand({tasks, s_.adapted_rows(), s_.templates})};
  // A fixed starting embedding is no function of the meta-parameters: the inner loop still
  // differentiates with respect to it.
  if (!s_.learn_init) fast[0] = fast[0].clone().requires_grad_();
  if (s_.fast_bias)
    fast.push_back(torch::zeros({tasks, s_.out}, emb_init_.options()).requires_grad_());
  return fast;
}

std::vector<std::string> HnetBase::fast_names() const {
  std::vector<std::string> names{"embedding"};
  if (s_.fast_bias) names.push_back("bias");
  return names;
}

Fast HnetBase::fast_from_latent(const torch::Tensor& latent) {
  Fast fast{
      torch::matmul(latent, latent_map_).view({latent.size(0), s_.adapted_rows(), s_.templates})};
  if (s_.fast_bias) fast.push_back(torch::zeros({latent.size(0), s_.out}, latent.options()));
  return fast;
}

torch::Tensor HnetBase::embedding(const Fast& fast) const {
  if (s_.adapts_all()) return normalised(fast[0]);
  // Shared rows before and after the task-specific ones.
  const int64_t t = fast[0].size(0), begin = s_.adapt_begin, stop = s_.adapt_stop();
  std::vector<torch::Tensor> rows;
  if (begin > 0) rows.push_back(emb_init_.slice(0, 0, begin).expand({t, begin, s_.templates}));
  rows.push_back(fast[0]);
  if (stop < s_.rows())
    rows.push_back(emb_init_.slice(0, stop).expand({t, s_.rows() - stop, s_.templates}));
  return normalised(torch::cat(rows, 1));
}

torch::Tensor HnetBase::normalised(const torch::Tensor& z) const {
  if (!s_.normalize) return z;
  torch::Tensor scale;
  {
    torch::NoGradGuard constant;
    scale = std::sqrt(static_cast<double>(s_.templates)) / z.norm(2, -1, true).clamp_min(1e-12);
  }
  return z * scale;
}

torch::Tensor HnetBase::output_bias(const Fast& fast) const {
  return s_.fast_bias ? fast[1] : torch::Tensor();
}

// ---------------------------------------------------------------------------- linear

HnetLinear::HnetLinear(const HnetShape& s, Rng& rng) : HnetBase(s, rng) {
  const double std = 1.0 / std::sqrt(static_cast<double>(s.templates));
  const int64_t m = s.templates;
  in_w_ = register_parameter("in_w", truncated_normal({m, s.in * s.hidden}, std, rng));
  if (s.bias) in_b_ = register_parameter("in_b", truncated_normal({m, s.hidden}, std, rng));
  if (s.num_hidden > 1) {
    hid_w_ = register_parameter("hid_w", truncated_normal({m, s.hidden * s.hidden}, std, rng));
    if (s.bias) hid_b_ = register_parameter("hid_b", truncated_normal({m, s.hidden}, std, rng));
  }
  out_w_ = register_parameter("out_w", truncated_normal({m, s.hidden * s.out}, std, rng));
  if (s.bias) out_b_ = register_parameter("out_b", truncated_normal({m, s.out}, std, rng));
}

namespace {

// The generated bias of a row of embeddings [T, M]: none when the bank has no bias templates.
torch::Tensor generated_bias(const torch::Tensor& z, const torch::Tensor& templates) {
  return templates.defined() ? torch::matmul(z, templates) : torch::Tensor();
}

}  // namespace

Features HnetLinear::encode(const Inputs& x) {
  Features f{x, {}};
  if (x.sparse()) {
    // Input layer of every template at once: P[t, m, n, :] = x[t, n] @ W_m. The embedding only
    // mixes templates, so the inner loop never touches the wide input again.
    const int64_t m = s_.templates, h = s_.hidden;
    const torch::Tensor w = in_w_.view({m, s_.in, h}).permute({1, 0, 2}).reshape({s_.in, m * h});
    f.h = shared_linear(x, w, {})
              .view({x.tasks, x.rows, m, h})
              .permute({0, 2, 1, 3})
              .reshape({x.tasks, m, x.rows * h});
  }
  return f;
}

Layer HnetLinear::first_layer(const Fast& fast) const {
  const torch::Tensor z = embedding(fast).select(1, 0);  // [T, M]
  const torch::Tensor zs = z / std::sqrt(static_cast<double>(s_.in));
  return {torch::matmul(zs, in_w_).view({z.size(0), s_.in, s_.hidden}), generated_bias(z, in_b_)};
}

torch::Tensor HnetLinear::first(const Fast& fast, const Features& f) {
  if (!f.h.defined()) {
    const Layer l = first_layer(fast);
    return per_task_linear(f.x, l.w, l.b);
  }
  // Sparse inputs: the input layer of every template is in f.h, the embedding mixes them.
  const torch::Tensor z = embedding(fast).select(1, 0);  // [T, M]
  const torch::Tensor zs = z / std::sqrt(static_cast<double>(s_.in));
  const torch::Tensor out = task_bmm(zs.unsqueeze(1), f.h).view({z.size(0), f.x.rows, s_.hidden});
  if (!in_b_.defined()) return out;
  return out + torch::matmul(z, in_b_).unsqueeze(1);  // [T, H] bias on every row
}

std::vector<Layer> HnetLinear::network(const Fast& fast) {
  std::vector<Layer> out{first_layer(fast)};
  for (Layer& l : layers(fast)) out.push_back(std::move(l));
  return out;
}

std::vector<std::string> HnetLinear::bank_parameters() const {
  // The templates of weights and of biases alike: the generator is the linear map
  // embedding -> (weights, biases), and these are its matrices.
  std::vector<std::string> names;
  for (const auto& p : named_parameters(/*recurse=*/false))
    if (p.key() != "emb_init" && p.key() != "latent_map") names.push_back(p.key());
  return names;
}

torch::Tensor HnetLinear::input_bank() const {
  // The input layer's templates are what a task's fast parameters combine only when those are
  // exactly the input row of the embedding, unnormalised, with nothing else adapted and no
  // generated bias beside the weights.
  if (s_.adapt_begin != 0 || s_.adapt_stop() != 1 || s_.fast_bias || s_.normalize ||
      in_b_.defined())
    return {};
  return in_w_.detach().view({s_.templates, s_.in, s_.hidden});
}

std::vector<Layer> HnetLinear::layers(const Fast& fast) {
  const torch::Tensor z = embedding(fast);
  const int64_t t = z.size(0), h = s_.hidden;
  const double scale = 1.0 / std::sqrt(static_cast<double>(h));
  std::vector<Layer> out;
  // One product per hidden layer: slicing a joint product would make autograd build a
  // zero-filled gradient of all layers for each slice.
  for (int64_t l = 1; l < s_.num_hidden; ++l) {
    const torch::Tensor zl = z.select(1, l);
    out.push_back({torch::matmul(zl * scale, hid_w_).view({t, h, h}), generated_bias(zl, hid_b_)});
  }
  const torch::Tensor zo = z.select(1, s_.num_hidden);
  torch::Tensor b = generated_bias(zo, out_b_);
  if (s_.fast_bias) b = b.defined() ? b + output_bias(fast) : output_bias(fast);
  out.push_back({torch::matmul(zo * scale, out_w_).view({t, h, s_.out}), b});
  return out;
}

// ---------------------------------------------------------------------------- mlp generator

HnetMlp::HnetMlp(const HnetShape& s, int64_t gh, int64_t gl, Rng& rng) : HnetBase(s, rng) {
  const int64_t chunks[3] = {s.in * s.hidden + s.hidden, s.hidden * s.hidden + s.hidden,
                             s.hidden * s.out + s.out};
  const char* names[3] = {"in", "hid", "out"};
  for (int p = 0; p < 3; ++p) {
    // LayerNorm, then per layer Linear -> LayerNorm -> ELU.
    torch::nn::Sequential body;
    body->push_back(torch::nn::LayerNorm(torch::nn::LayerNormOptions({s.templates})));
    int64_t width = s.templates;
    for (int64_t i = 0; i < gl; ++i) {
      torch::nn::Linear lin(width, gh);
      {
        torch::NoGradGuard no_grad;
        lin->weight.copy_(
            truncated_normal({gh, width}, 1.0 / std::sqrt(static_cast<double>(width)), rng));
        lin->bias.zero_();
      }
      body->push_back(lin);
      body->push_back(torch::nn::LayerNorm(torch::nn::LayerNormOptions({gh})));
      body->push_back(torch::nn::Functional(torch::elu, 1.0, 1.0, 1.0));
      width = gh;
    }
    bodies_.push_back(register_module(std::string(names[p]) + "_body", body));
    heads_.push_back(register_parameter(
        std::string(names[p]) + "_head",
        truncated_normal({width, chunks[p]}, 1.0 / std::sqrt(static_cast<double>(width)), rng)));
  }
}

torch::Tensor HnetMlp::generate(int part, const torch::Tensor& rows) {
  return torch::matmul(bodies_[part]->forward(rows), heads_[part]);
}

Features HnetMlp::encode(const Inputs& x) { return {per_task_layout(x), {}}; }

Layer HnetMlp::first_layer(const Fast& fast) {
  const torch::Tensor z = embedding(fast).select(1, 0);
  const int64_t t = z.size(0), h = s_.hidden;
  const torch::Tensor g = generate(0, z);
  return {g.slice(1, 0, s_.in * h).view({t, s_.in, h}) / std::sqrt(static_cast<double>(s_.in)),
          g.slice(1, s_.in * h)};
}

torch::Tensor HnetMlp::first(const Fast& fast, const Features& f) {
  const Layer l = first_layer(fast);
  return per_task_linear(f.x, l.w, l.b);
}

std::vector<Layer> HnetMlp::network(const Fast& fast) {
  std::vector<Layer> out{first_layer(fast)};
  for (Layer& l : layers(fast)) out.push_back(std::move(l));
  return out;
}

std::vector<std::string> HnetMlp::bank_parameters() const {
  // The generator's weight matrices (its linear layers and heads); its biases and LayerNorm
  // gains stay, as biases do when masking any network.
  std::vector<std::string> names;
  for (const auto& p : named_parameters()) {
    const std::string& key = p.key();
    const bool head = key.size() > 5 && key.compare(key.size() - 5, 5, "_head") == 0;
    const bool linear = p.value().dim() == 2 && key.find("_body.") != std::string::npos;
    if (head || linear) names.push_back(key);
  }
  return names;
}

std::vector<Layer> HnetMlp::layers(const Fast& fast) {
  const torch::Tensor z = embedding(fast);
  const int64_t t = z.size(0), h = s_.hidden;
  const double scale = 1.0 / std::sqrt(static_cast<double>(h));
  std::vector<Layer> out;
  if (s_.num_hidden > 1) {
    const torch::Tensor g = generate(1, z.slice(1, 1, s_.num_hidden).reshape({-1, s_.templates}))
                                .view({t, s_.num_hidden - 1, -1});
    for (int64_t l = 0; l + 1 < s_.num_hidden; ++l) {
      const torch::Tensor gl = g.select(1, l);
      out.push_back({gl.slice(1, 0, h * h).view({t, h, h}) * scale, gl.slice(1, h * h)});
    }
  }
  const torch::Tensor g = generate(2, z.select(1, s_.num_hidden));
  torch::Tensor b = g.slice(1, h * s_.out);
  if (s_.fast_bias) b = b + output_bias(fast);
  out.push_back({g.slice(1, 0, h * s_.out).view({t, h, s_.out}) * scale, b});
  return out;
}

}  // namespace hc::agents
