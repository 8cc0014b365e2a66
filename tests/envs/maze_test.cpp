#include <gtest/gtest.h>

#include "base/error.h"
#include "envs/grid/maze.h"

namespace hc::envs::grid {
namespace {

TEST(Maze, RandomMazesAreConnectedDeterministicAndWalled) {
  for (int size : {5, 7, 11, 15}) {
    for (uint64_t seed = 0; seed < 50; ++seed) {
      const Maze m = Maze::random(size, seed);
      EXPECT_EQ(m.rows(), Maze::random(size, seed).rows());
      const int walls = m.cells() - static_cast<int>(m.free_cells().size());
      EXPECT_GT(walls, 0) << "size " << size << " seed " << seed;
      EXPECT_GT(m.free_cells().size(), m.cells() / 3u);
      for (int a : m.free_cells())
        EXPECT_GE(m.distance(m.free_cells().front(), a), 0) << "unreachable cell " << a;
    }
  }
  EXPECT_NE(Maze::random(11, 1).rows(), Maze::random(11, 2).rows());
}

TEST(Maze, MovesStopAtWallsAndEdges) {
  const Maze m = Maze::from_rows({"..#", "...", "#.."});
  EXPECT_EQ(m.next(0, 0), 0);  // up from the top edge
  EXPECT_EQ(m.next(0, 3), 0);  // left from the left edge
  EXPECT_EQ(m.next(1, 1), 1);  // right into the wall at (0, 2)
  EXPECT_EQ(m.next(1, 2), 4);  // down
  EXPECT_EQ(m.next(3, 2), 3);  // down into the wall at (2, 0)
  EXPECT_EQ(m.distance(0, 8), 4);
  EXPECT_EQ(m.distance(8, 0), 4);
  EXPECT_EQ(m.distance(0, 2), -1);  // a wall
}

TEST(Maze, RejectsBadShapes) {
  EXPECT_THROW(Maze::random(10, 0), ConfigError);
  EXPECT_THROW(Maze::from_rows({"...", ".."}), ConfigError);
}

}  // namespace
}  // namespace hc::envs::grid
