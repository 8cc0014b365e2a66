// Mask training by continuous sparsification (Savarese et al., 2020), as the reference does it:
// every masked weight w gets a logit s; during training the weight used is w * sigmoid(T s) and
// the loss is the subroutine's query loss plus a sparsity penalty lambda' * sum(sigmoid(T s));
// the temperature T rises geometrically over the epochs; Adam on the logits, the policy's own
// parameters never change. The hard mask s > 0 is what is evaluated.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "tasks/task_family.h"
#include "trainer/probe/config.h"
#include "trainer/probe/mask.h"

namespace hc::probe {

// Temperature of epoch `epoch` (0-based) of `epochs`: final^(epoch / epochs), i.e. 1 at the
// first, multiplied by final^(1/epochs) after every epoch (the reference's schedule).
double mask_temperature(int epoch, int epochs, double final);

// The penalty's weight per masked weight (lambda' above) for a mask over `masked` weights:
// lambda, scaled by lambda_weights / masked when lambda_weights > 0, times `loss_scale`. The
// reference's 1e-8 x sum over its 2.79e7 weights is a penalty of about 0.14 at its initial
// logits against a task loss of the same order; with the scaling the penalty is the same share
// of the task loss however few weights a policy has (docs/probe.md, "The sparsity penalty").
double penalty_weight(const ProbeConfig& config, int64_t masked, double loss_scale = 1.0);

// The penalty's scale for a subroutine whose best constant prediction has loss `chance_loss`
// under the training loss of `kind`: chance_loss / ln 2 for action vectors when
// config.lambda_loss (a squared error has no fixed scale: the lander's constant predictions
// lose 0.003 to 0.06, against the reference's ln 2 for its two classes), else 1.
double loss_scale(const ProbeConfig& config, tasks::TargetKind kind, double chance_loss);

// One configuration of the search.
struct MaskSetting {
  double lr = 1e-2, init = 0.0;
  std::string layers = "all";
};

struct MaskTraining {
  std::vector<torch::Tensor> logits;  // per unit; undefined for units not masked
  double final_loss = 0.0;            // task loss of the last epoch (mean over its steps)
  double first_loss = 0.0;            // task loss and penalty of the first step
  double first_penalty = 0.0;
  int64_t steps = 0;
  double seconds = 0.0;
};
// The training batches of an epoch, prepared for the masked policy.
using EpochBatches = std::function<const std::vector<std::vector<trainer::Batch>>&(int epoch)>;
// Trains mask logits: every epoch, one step per batch, in an order shuffled by `seed`, with the
// penalty's weight penalty_weight(config, masked weights, loss_scale).
MaskTraining train_mask(MaskedPolicy& model, const EpochBatches& batches, const ProbeConfig& config,
                        const MaskSetting& setting, uint64_t seed, double loss_scale = 1.0);
// The same batches every epoch.
MaskTraining train_mask(MaskedPolicy& model,
                        const std::vector<std::vector<trainer::Batch>>& batches,
                        const ProbeConfig& config, const MaskSetting& setting, uint64_t seed,
                        double loss_scale = 1.0);

}  // namespace hc::probe
