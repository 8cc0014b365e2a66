#include "envs/grid/maze.h"

#include <fmt/format.h>

#include <deque>

#include "base/error.h"
#include "base/rng.h"

namespace hc::envs::grid {

Maze Maze::from_rows(const std::vector<std::string>& rows) {
  Maze m;
  m.size_ = static_cast<int>(rows.size());
  for (const auto& r : rows)
    if (static_cast<int>(r.size()) != m.size_)
      throw ConfigError(fmt::format("maze rows must form a square: {} rows but a row of {} cells",
                                    rows.size(), r.size()));
  m.wall_.resize(static_cast<size_t>(m.size_) * m.size_);
  for (int r = 0; r < m.size_; ++r)
    for (int c = 0; c < m.size_; ++c) m.wall_[r * m.size_ + c] = rows[r][c] == '#';
  m.finish();
  return m;
}

Maze Maze::random(int size, uint64_t seed, double complexity, double density) {
  if (size < 3 || size % 2 == 0)
    throw ConfigError(fmt::format("maze size {}: expected an odd integer >= 3", size));
  // Work on a bordered (size + 2) grid whose border is wall; walls live on the even lattice
  // and grow two cells at a time, always into free cells, so no wall ever closes a loop and
  // the free space stays connected.
  const int n = size + 2;
  std::vector<uint8_t> w(static_cast<size_t>(n) * n, 0);
  for (int i = 0; i < n; ++i) w[i] = w[(n - 1) * n + i] = w[i * n] = w[i * n + n - 1] = 1;
  Rng rng(derive_seed(seed, {0x3a2e}));
  const int lattice = n / 2 + 1;  // even coordinates 0, 2, ..., n - 1
  const int walks = static_cast<int>(density * (n / 2) * (n / 2));
  const int walk_len = static_cast<int>(complexity * 5 * 2 * n);
  for (int k = 0; k < walks; ++k) {
    int y = 2 * static_cast<int>(rng.uniform_int(lattice));
    int x = 2 * static_cast<int>(rng.uniform_int(lattice));
    w[y * n + x] = 1;
    for (int s = 0; s < walk_len; ++s) {
      int cand[4][2], c = 0;
      if (x > 1) cand[c][0] = y, cand[c++][1] = x - 2;
      if (x < n - 2) cand[c][0] = y, cand[c++][1] = x + 2;
      if (y > 1) cand[c][0] = y - 2, cand[c++][1] = x;
      if (y < n - 2) cand[c][0] = y + 2, cand[c++][1] = x;
      const int pick = static_cast<int>(rng.uniform_int(c));
      const int ny = cand[pick][0], nx = cand[pick][1];
      if (!w[ny * n + nx]) {
        w[ny * n + nx] = 1;
        w[((y + ny) / 2) * n + (x + nx) / 2] = 1;
        y = ny;
        x = nx;
      }
    }
  }
  Maze m;
  m.size_ = size;
  m.wall_.resize(static_cast<size_t>(size) * size);
  for (int r = 0; r < size; ++r)
    for (int c = 0; c < size; ++c) m.wall_[r * size + c] = w[(r + 1) * n + c + 1];
  m.finish();
  return m;
}

void Maze::finish() {
  const int n = cells();
  free_.clear();
  for (int c = 0; c < n; ++c)
    if (!wall_[c]) free_.push_back(c);
  next_.resize(static_cast<size_t>(n) * 4);
  for (int c = 0; c < n; ++c) {
    const int r = c / size_, col = c % size_;
    for (int m = 0; m < 4; ++m) {
      const int nr = r + kMoves[m][0], nc = col + kMoves[m][1];
      const bool inside = nr >= 0 && nr < size_ && nc >= 0 && nc < size_;
      next_[c * 4 + m] = inside && !wall_[nr * size_ + nc] ? nr * size_ + nc : c;
    }
  }
  // Breadth-first search from every free cell.
  dist_.assign(static_cast<size_t>(n) * n, -1);
  std::deque<int> queue;
  for (int src : free_) {
    int16_t* d = dist_.data() + static_cast<size_t>(src) * n;
    d[src] = 0;
    queue.push_back(src);
    while (!queue.empty()) {
      const int c = queue.front();
      queue.pop_front();
      for (int m = 0; m < 4; ++m) {
        const int nb = next_[c * 4 + m];
        if (d[nb] < 0) {
          d[nb] = static_cast<int16_t>(d[c] + 1);
          queue.push_back(nb);
        }
      }
    }
  }
}

std::vector<std::string> Maze::rows() const {
  std::vector<std::string> out(size_, std::string(size_, '.'));
  for (int c = 0; c < cells(); ++c)
    if (wall_[c]) out[c / size_][c % size_] = '#';
  return out;
}

}  // namespace hc::envs::grid
