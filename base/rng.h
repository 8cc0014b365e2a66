// Seeded random numbers with results that do not depend on the compiler or standard library.
//
// std::uniform_int_distribution and friends are implementation-defined, so the same seed could
// give different tasks on another toolchain; every draw in hypercomp goes through Rng instead.
#pragma once

#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <numbers>
#include <span>
#include <utility>

namespace hc {

// SplitMix64 finaliser: a bijective mixer used to turn (seed, stream ids) into generator states.
constexpr uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Derives an independent seed from a base seed and a path of stream ids, e.g.
// derive_seed(run_seed, {kTrainStream, step, slot}). Different paths give unrelated seeds.
constexpr uint64_t derive_seed(uint64_t seed, std::initializer_list<uint64_t> path) {
  uint64_t h = mix64(seed);
  for (uint64_t id : path) h = mix64(h ^ mix64(id + 0x632be59bd9b4e019ULL));
  return h;
}

// xoshiro256** generator (Blackman & Vigna): small state, fast, good statistical quality.
class Rng {
 public:
  explicit Rng(uint64_t seed = 0) { this->seed(seed); }

  void seed(uint64_t seed) {
    uint64_t x = seed;
    for (auto& s : s_) s = mix64(x++);
  }

  uint64_t next() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  // Uniform integer in [0, n); n > 0. Lemire's multiply-shift with rejection (unbiased).
  uint64_t uniform_int(uint64_t n) {
    unsigned __int128 m = static_cast<unsigned __int128>(next()) * n;
    auto low = static_cast<uint64_t>(m);
    if (low < n) {
      const uint64_t threshold = (0 - n) % n;
      while (low < threshold) {
        m = static_cast<unsigned __int128>(next()) * n;
        low = static_cast<uint64_t>(m);
      }
    }
    return static_cast<uint64_t>(m >> 64);
  }

  // Uniform integer in [lo, hi].
  int64_t uniform_int(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(uniform_int(static_cast<uint64_t>(hi - lo) + 1));
  }

  // Uniform double in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

  // Standard normal (Box-Muller; one value per call keeps the stream position simple).
  double normal() {
    double u1 = uniform();
    while (u1 <= 0.0) u1 = uniform();
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
  }

  // Normal(0, 1) truncated to [-2, 2] by rejection, the usual truncated-normal initialiser.
  double truncated_normal() {
    double x = normal();
    while (std::abs(x) > 2.0) x = normal();
    return x;
  }

  // Fisher-Yates shuffle.
  template <class T>
  void shuffle(std::span<T> xs) {
    for (size_t i = xs.size(); i > 1; --i) {
      const size_t j = uniform_int(i);
      std::swap(xs[i - 1], xs[j]);
    }
  }

  // The whole state, for checkpoints.
  std::span<const uint64_t, 4> state() const { return s_; }
  void set_state(std::span<const uint64_t, 4> s) {
    for (int i = 0; i < 4; ++i) s_[i] = s[i];
  }

 private:
  static constexpr uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

}  // namespace hc
