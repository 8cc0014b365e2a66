// Square gridworld layouts: walls, free cells and all-pairs shortest-path distances. Built once
// per family and shared read-only by every environment and worker.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace hc::envs::grid {

// Moves in action order: up, right, down, left (row, column deltas).
inline constexpr std::array<std::array<int, 2>, 4> kMoves = {{{-1, 0}, {0, 1}, {1, 0}, {0, -1}}};
inline constexpr const char* kMoveNames[] = {"up", "right", "down", "left"};

class Maze {
 public:
  // `rows` are strings of '#' (wall) and any other character (free), all of equal length.
  static Maze from_rows(const std::vector<std::string>& rows);
  // A random maze grown from `seed` on an odd size x size grid (walls inside the grid, no
  // border): walls grow as random walks two cells at a time from random even cells of a
  // bordered grid, which keeps every free cell reachable. Deterministic in (size, seed).
  static Maze random(int size, uint64_t seed, double complexity = 0.75, double density = 0.75);

  int size() const { return size_; }
  int cells() const { return size_ * size_; }
  bool wall(int cell) const { return wall_[cell] != 0; }
  bool wall(int row, int col) const { return wall_[row * size_ + col] != 0; }
  const std::vector<int>& free_cells() const { return free_; }
  // Cell reached by move m (0..3) from `cell`; moving off the grid or into a wall stays put.
  int next(int cell, int m) const { return next_[cell * 4 + m]; }
  // Shortest-path distance in moves between two free cells (-1 if unreachable).
  int distance(int from, int to) const { return dist_[from * cells() + to]; }
  std::vector<std::string> rows() const;

 private:
  void finish();  // computes free cells, moves and distances
  int size_ = 0;
  std::vector<uint8_t> wall_;
  std::vector<int> free_;
  std::vector<int> next_;
  std::vector<int16_t> dist_;
};

}  // namespace hc::envs::grid
