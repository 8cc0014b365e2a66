#include "app/run_playback.h"

#include "trainer/batch.h"
#include "trainer/closed_loop.h"

namespace hc::app {

RunPlayback::RunPlayback(const std::string& dir, bool best) : run_(trainer::load_run(dir, best)) {}

std::string RunPlayback::name() const { return std::string(name_of(run_.config.policy.name)); }

render::PlaybackPolicy::Adapted RunPlayback::adapt(const envs::EnvFamily& family, int64_t id,
                                                   uint64_t seed) const {
  const std::vector<int64_t> ids = {id};
  const std::vector<uint64_t> seeds = {seed};
  const trainer::Batch batch = trainer::make_batches(family, ids, seeds, 1)[0];
  const agents::Fast fast = run_.learner->adapt(batch).fast;
  agents::PolicyImpl& policy = *run_.policy;
  return [&policy, fast, &family](std::span<const float> obs) {
    const torch::Tensor x =
        torch::from_blob(const_cast<float*>(obs.data()), {1, static_cast<int64_t>(obs.size())})
            .clone();
    const torch::Tensor out =
        trainer::policy_outputs(policy, fast, family.binary_inputs(), x).contiguous();
    Prediction p;
    p.outputs.assign(out.data_ptr<float>(), out.data_ptr<float>() + out.size(1));
    p.action = trainer::output_action(family.action_spec(), p.outputs);
    return p;
  };
}

}  // namespace hc::app
