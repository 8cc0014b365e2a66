// Controls: policies whose structure is known, probed to show that the probe can answer both
// ways -- "holds" where the subroutines live in separate weights, "no" where nothing was
// learned.
//
// The control family has two subroutines, a and b. A task is (part, variant): a row shows one
// of F features (one-hot) and the answer is one of F classes, a permutation of the features
// chosen by the variant -- a shift for part a, a reflection for part b. Both parts answer in the
// same classes, so no output unit belongs to one part. The variant is hidden and inferred from
// the support set (real adaptation). Controls:
//   dense         anil whose two blocks each see only their part's inputs (xa or xb): the
//                 cross-block weights are held at zero in training, then every weight gets
//                 N(0, noise) -- a dense network whose parts are separate in magnitude only.
//   shared        anil on one input x shared by both parts (and a part flag): the first layer
//                 encodes x for both, one weight per feature, and only the later layers split
//                 by part. A mask over every layer that does part a must keep that encoding, and
//                 its ablation breaks both parts; masks over the later layers can separate them.
//                 Each later block reads every feature unit, and the other part's flag holds it
//                 off (a fixed inhibitory weight), so that each block works for its part only.
//   bank          hnet_linear on the dense control's inputs whose templates split by part:
//                 half the templates have entries only in part a's block of every generated
//                 layer, half only in b's (held at zero in training, then noise).
//   untrained     the dense control's architecture, never trained (negative).
//   unstructured  the same, trained on the whole task with no structure imposed (what the
//                 method finds there is reported, not prescribed).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tasks/task_family.h"
#include "trainer/meta_learner.h"
#include "trainer/probe/search.h"

namespace hc::probe {

enum class ControlKind { kDense, kShared, kBank, kUntrained, kUnstructured };

}  // namespace hc::probe

template <>
struct hc::EnumNames<hc::probe::ControlKind> {
  using K = hc::probe::ControlKind;
  static constexpr std::pair<K, const char*> values[] = {{K::kDense, "dense"},
                                                         {K::kShared, "shared"},
                                                         {K::kBank, "bank"},
                                                         {K::kUntrained, "untrained"},
                                                         {K::kUnstructured, "unstructured"}};
};

namespace hc::probe {

struct ControlConfig {
  int features = 4;      // F: features and classes per part
  int variants = 4;      // hidden variants (permutations) per part
  int support_rows = 8;  // rows of a support set
  int query_rows = 16;   // rows of a query set
  int block = 16;        // hidden units per part (the networks are 2 x block wide)
  int steps = 1500;      // meta-training steps
  int meta_batch = 16;
  double outer_lr = 3e-3;
  double noise = 0.01;  // std of the noise added to every weight after training
  // Answer with action vectors (the class one-hot, squared error) instead of classes, with a
  // tolerance (0.8) that the mean action (1/F per component) passes on every row: the lander's
  // case (where the mean passes on 98% of a module's rows) taken to its end, which accuracy
  // cannot score and the loss metric can.
  bool actions = false;
  int threads = 1;
};

// The control family; `shared`: one input x for both parts plus a part flag, else disjoint
// inputs [xa, xb].
class ControlFamily : public tasks::TaskFamily {
 public:
  ControlFamily(const ControlConfig& c, bool shared);
  int input_dim() const override;
  int output_dim() const override { return c_.features; }
  tasks::TargetKind target_kind() const override {
    return c_.actions ? tasks::TargetKind::kActions : tasks::TargetKind::kLabels;
  }
  double action_tolerance() const override { return c_.actions ? 0.8 : 0.0; }
  bool binary_inputs() const override { return true; }
  tasks::TaskData make_task_data(const tasks::Task& task, uint64_t seed) const override;
  std::vector<tasks::Subroutine> subroutines() const override;

 protected:
  YAML::Node config_fields() const override;

 private:
  ControlConfig c_;
  bool shared_;
};

// A control model, trained (unless untrained) with seed `seed`.
struct Control {
  ControlKind kind;
  std::string label;  // e.g. "dense (anil)"
  std::unique_ptr<ControlFamily> family;
  std::unique_ptr<trainer::Learner> learner;
  agents::PolicyConfig policy;
  trainer::LearnerConfig learning;
  uint64_t seed = 0;
  // The probe's view: untrained policies of the same architecture, no structure imposed.
  ProbeModel model() const;
};
Control make_control(ControlKind kind, const ControlConfig& config, uint64_t seed);

}  // namespace hc::probe
