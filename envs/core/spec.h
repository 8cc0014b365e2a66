// Observation and action specifications, and the action type.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <numeric>
#include <span>
#include <string>
#include <vector>

namespace hc::envs {

// Shape and bounds of an observation; observations are flat float32 arrays in row-major order.
struct ObservationSpec {
  std::vector<int> shape;               // e.g. {rows, cols, channels}
  float low = 0.0f;                     // every value is >= low
  float high = 1.0f;                    // every value is <= high
  bool binary = false;                  // every value is exactly 0 or 1 (one-hot encodings)
  std::vector<std::string> channel_names;  // names of the last axis, when it is a channel axis

  int64_t size() const {
    return std::accumulate(shape.begin(), shape.end(), int64_t{1}, std::multiplies<>());
  }
  // True if `obs` has the right size and every value respects the bounds (and binary-ness).
  bool contains(std::span<const float> obs) const;
};

// Discrete actions are indices in [0, n); continuous actions are vectors of n values in
// [low, high].
struct ActionSpec {
  bool discrete = true;
  int n = 0;                        // number of discrete actions, or continuous dimension
  std::vector<std::string> names;   // one name per discrete action
  float low = -1.0f, high = 1.0f;  // bounds of every continuous component
};

// One action: a discrete index or a small continuous vector, stored inline (no allocation).
struct Action {
  static constexpr int kMaxDim = 8;
  int index = -1;                      // discrete action, or -1
  int dim = 0;                         // number of continuous components
  std::array<float, kMaxDim> value{};  // continuous components

  static Action discrete(int a) {
    Action x;
    x.index = a;
    return x;
  }
  static Action continuous(std::span<const float> v);
};

// Throws EnvError unless `a` is a valid action under `spec`.
void validate_action(const ActionSpec& spec, const Action& a);

}  // namespace hc::envs
