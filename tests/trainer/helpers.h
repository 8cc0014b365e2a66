// Small synthetic batches and policies for trainer tests.
#pragma once

#include <torch/torch.h>

#include "agents/factory.h"
#include "trainer/batch.h"

namespace hc::trainer::testing {

// `tasks` tasks with `rows` rows each (the last task's set one row shorter, to exercise
// padding), random inputs (one-hot-like 0/1 if `binary`), random targets of `kind`.
inline SetTensors synthetic_set(int64_t tasks, int64_t rows, int64_t dim, int64_t classes,
                                tasks::TargetKind kind, bool binary, torch::Dtype dtype,
                                uint64_t seed) {
  torch::manual_seed(static_cast<int64_t>(seed));
  const auto opt = torch::TensorOptions().dtype(dtype);
  SetTensors s;
  torch::Tensor x = binary ? (torch::rand({tasks, rows, dim}, opt) < 0.3).to(dtype)
                           : torch::rand({tasks, rows, dim}, opt) * 2 - 1;
  s.y.kind = kind;
  s.y.mask = torch::ones({tasks, rows}, opt);
  s.y.mask[tasks - 1][rows - 1] = 0;
  x[tasks - 1][rows - 1] = 0;
  s.y.labels = torch::randint(classes, {tasks, rows}, torch::kInt64);
  if (kind == tasks::TargetKind::kSoft)
    s.y.values = torch::softmax(torch::randn({tasks, rows, classes}, opt) * 3, -1);
  if (kind == tasks::TargetKind::kValues || kind == tasks::TargetKind::kActions ||
      kind == tasks::TargetKind::kRegression)
    s.y.values = torch::randn({tasks, rows, classes}, opt);
  if (s.y.values.defined()) s.y.labels = s.y.values.argmax(-1);
  s.y.finish(classes);
  s.x = binary ? agents::Inputs::from_dense_binary(x) : agents::Inputs{tasks, rows, dim, x};
  s.episode = torch::zeros({tasks, rows}, torch::kInt64);
  s.step = torch::arange(rows).expand({tasks, rows}).contiguous();
  return s;
}

inline Batch synthetic_batch(int64_t tasks, int64_t dim, int64_t classes, tasks::TargetKind kind,
                             bool binary, torch::Dtype dtype, uint64_t seed, int64_t latent = 4) {
  Batch b;
  b.tasks = tasks;
  b.support = synthetic_set(tasks, 6, dim, classes, kind, binary, dtype, seed);
  b.query = synthetic_set(tasks, 5, dim, classes, kind, binary, dtype, seed + 1);
  b.latents = torch::rand({tasks, latent}, torch::TensorOptions().dtype(dtype));
  return b;
}

// Every policy's name, from the one list of them.
inline std::vector<std::string> policy_names() {
  std::vector<std::string> names;
  for (const auto& [kind, name] : EnumNames<agents::PolicyKind>::values) names.push_back(name);
  return names;
}

inline agents::PolicyConfig tiny_policy(const std::string& name) {
  agents::PolicyConfig c;
  c.name = enum_value<agents::PolicyKind>(name);
  c.hidden = 5;
  c.num_hidden = 2;
  c.templates = 3;
  c.generator_hidden = 4;
  c.generator_layers = 2;
  return c;
}

}  // namespace hc::trainer::testing
