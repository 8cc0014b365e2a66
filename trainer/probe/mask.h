// Weight masks over a trained policy, and the policy seen through them.
//
// What is masked (MaskTarget), and how the mask meets adaptation:
//   network  the dense per-task network that makes the predictions (PolicyImpl::network):
//            adaptation runs on the intact policy, then every task's adapted weights are
//            multiplied by one mask shared by all tasks -- a mask over positions of the task
//            network (for anil the shared body and the adapted head, for learned_init the
//            adapted weights, for hypernetworks the weights generated for the task).
//   bank     a hypernetwork's module bank (PolicyImpl::bank_parameters), the part shared by all
//            tasks: the bank is masked before adaptation, so the task embedding adapts to what
//            is left of the modules, and the mask is trained through the inner loop as the
//            meta-parameters are.
// Masks are grouped in stages (the reference's ResNet stages): a network's layers, or a bank's
// parts in < hid < out; a layer range such as "last 2" masks the last two stages only.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/rng.h"
#include "trainer/batch.h"
#include "trainer/meta_learner.h"
#include "trainer/probe/config.h"

namespace hc::probe {

// One masked weight tensor: one logit per weight.
struct MaskUnit {
  std::string name;
  std::vector<int64_t> shape;
  int stage = 0;  // 0 = nearest the input
  int64_t numel() const;
};

// A value per weight of each unit, shaped like it; an undefined tensor stands for all ones.
using MaskValues = std::vector<torch::Tensor>;

// 1 where the logit is positive (undefined logits: the unit is not masked, all ones).
MaskValues hard_mask(const std::vector<torch::Tensor>& logits);
// 1 - mask on the masked units; units not masked stay all ones.
MaskValues ablation_of(const MaskValues& mask);
// Kept weights of the masked units (defined tensors) and their total.
int64_t kept_weights(const MaskValues& mask);
int64_t masked_weights(const MaskValues& mask);
// Uniformly random ablation of as many weights as `hard` keeps, among its masked units.
MaskValues random_ablation(const MaskValues& hard, Rng& rng);

// Which units a `layers` entry masks: "all", "last N" (the units of the last N stages), or
// named units; throws ConfigError naming the entry and the known units.
std::vector<bool> parse_layers(const std::string& spec, const std::vector<MaskUnit>& units);

// A policy whose weights of one target are multiplied by a mask. Its parameters are restored
// when it is destroyed.
class MaskedPolicy {
 public:
  // Throws hc::Error if the target does not apply to the learner's policy.
  static std::unique_ptr<MaskedPolicy> make(MaskTarget target, trainer::Learner& learner);
  virtual ~MaskedPolicy() = default;

  MaskTarget target() const { return target_; }
  const std::vector<MaskUnit>& units() const { return units_; }
  // Work that does not depend on the mask, once per set of shards (network: the adapted
  // networks). Shards must stay alive while the masked policy uses them.
  virtual void prepare(const std::vector<trainer::Batch>& shards) {}
  // Drops what prepare() kept for these shards.
  virtual void release(const std::vector<trainer::Batch>& shards) {}
  // The mean query loss over the shards' tasks with the weights multiplied by `mask`, and its
  // gradient with respect to every defined mask tensor (into `grad`, same layout).
  virtual double loss_and_grad(const std::vector<trainer::Batch>& shards, const MaskValues& mask,
                               MaskValues& grad) = 0;
  // Query outputs [T, N, C] of every shard with the weights multiplied by `mask`.
  virtual std::vector<torch::Tensor> outputs(const std::vector<trainer::Batch>& shards,
                                             const MaskValues& mask) = 0;

 protected:
  MaskedPolicy(MaskTarget target, trainer::Learner& learner) : target_(target), learner_(learner) {}
  MaskTarget target_;
  trainer::Learner& learner_;
  std::vector<MaskUnit> units_;
};

// The targets a probe covers for this learner's policy.
std::vector<MaskTarget> mask_targets(trainer::Learner& learner, ProbeTargets which);

}  // namespace hc::probe
