// Observation and action specifications, and the action type.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <numeric>
#include <span>
#include <string>
#include <vector>

#include "base/rng.h"

namespace hc::envs {

// Shape and per-element bounds of an observation; observations are flat float32 arrays in
// row-major order. Bounds may be infinite (velocities next to 0/1 contact flags).
struct ObservationSpec {
  std::vector<int> shape;          // e.g. {rows, cols, channels} or {components}
  std::vector<float> low, high;    // one bound per element (size() of each)
  bool binary = false;             // every value is exactly 0 or 1 (one-hot encodings)
  std::vector<std::string> names;  // names along the last axis: channels, or vector components

  // A rows x cols grid of one-hot channels, every element 0 or 1.
  static ObservationSpec grid(int rows, int cols, std::vector<std::string> channels);
  // A vector of named components with their bounds.
  static ObservationSpec vector(std::vector<std::string> names, std::vector<float> low,
                                std::vector<float> high);

  int64_t size() const {
    return std::accumulate(shape.begin(), shape.end(), int64_t{1}, std::multiplies<>());
  }
  // True if `obs` has the right size and every value respects its bounds (and binary-ness).
  bool contains(std::span<const float> obs) const;
  // Why `obs` is not contained ("" if it is): the first offending element, its value and bounds.
  std::string violation(std::span<const float> obs) const;
};

// Discrete actions are indices in [0, n); box actions are vectors of n components, each within
// its own [low, high].
struct ActionSpec {
  bool discrete = true;
  int n = 0;                       // number of discrete actions, or dimension of the box
  std::vector<std::string> names;  // one name per discrete action, or per box component
  std::vector<float> low, high;    // box: bounds of every component (finite)

  static ActionSpec actions(std::vector<std::string> names);
  static ActionSpec box(std::vector<std::string> names, std::vector<float> low,
                        std::vector<float> high);
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
  std::span<const float> vector() const { return {value.data(), static_cast<size_t>(dim)}; }
  bool operator==(const Action& o) const;
};

// Throws EnvError unless `a` is a valid action under `spec`: the right kind and dimension, every
// component finite and within its bound. The message names the component and the bound.
void validate_action(const ActionSpec& spec, const Action& a);
// A uniformly random valid action.
Action sample(const ActionSpec& spec, Rng& rng);
// "right" or "(0.25, -1)", for traces.
std::string to_string(const ActionSpec& spec, const Action& a);

}  // namespace hc::envs
