// Meta-training across processes and machines on torch's c10d: a store for the rendezvous
// (TCPStore on rank 0's address, or a FileStore on a shared path) and ProcessGroupGloo for the
// collectives. Every rank runs the same outer loop on its share of the meta-batch's shards; the
// meta-gradient is summed across ranks each step, so every rank applies the same update.
#pragma once

#include <torch/torch.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/error.h"

namespace hc::trainer {

// A collective failed: a rank died, stopped, sent something malformed, or cannot be reached.
class DistError : public Error {
 public:
  using Error::Error;
};

struct DistOptions {
  int world_size = 1;
  int rank = 0;
  std::string master;      // HOST:PORT of rank 0's TCPStore
  std::string file;        // or: a FileStore path every rank can reach (shared file system)
  std::string bind;        // address this rank's Gloo transport listens on
  double timeout_s = 600;  // how long a collective waits for a rank before failing
  int local_ranks = 1;     // ranks on this machine (threads per rank default to cores / this)

  bool distributed() const { return world_size > 1; }
  // The accepted --dist-timeout, in seconds: a rank's own start takes seconds, and a collective's
  // deadline is kept in milliseconds.
  static constexpr double kMinTimeout = 1, kMaxTimeout = 1e6;
  // Throws a ConfigError naming --dist-timeout unless it is a number in [kMinTimeout, kMaxTimeout].
  static void check_timeout(double seconds);
  // Fills what was not given on the command line from MASTER_ADDR, MASTER_PORT, WORLD_SIZE,
  // RANK, LOCAL_WORLD_SIZE and HYPERCOMP_RENDEZVOUS_FILE, then checks the whole.
  void complete_from_environment();
};

// Traffic of a group, for logs and benchmarks.
struct CommStats {
  int64_t collectives = 0;
  int64_t bytes_reduced = 0;  // payload of the all-reduces (each rank's contribution)
  double seconds = 0;         // wall time inside collectives (waiting for peers included)
};

class Group {
 public:
  // Joins the group: blocks until every rank has joined or the timeout passes (an Error naming
  // the store and the ranks missing).
  explicit Group(const DistOptions& options);
  ~Group();
  Group(const Group&) = delete;
  Group& operator=(const Group&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }

  // In-place sums and maxima over ranks (float, double or int64 tensors, contiguous).
  void sum(torch::Tensor& t);
  void max(torch::Tensor& t);
  // Every rank's bytes, in rank order (sizes may differ).
  std::vector<std::string> all_gather(const std::string& bytes);
  // `root`'s bytes on every rank.
  std::string broadcast(const std::string& bytes, int root = 0);
  void barrier();

  const CommStats& stats() const { return stats_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int rank_ = 0, size_ = 1;
  std::string where_;  // the rendezvous, for messages
  CommStats stats_;
  template <class F>
  void collective(const char* what, F&& f);
};

// Tensors to bytes and back (torch's pickle format), to move evaluation results and training
// state between ranks.
std::string pickle(const std::vector<torch::Tensor>& tensors);
std::vector<torch::Tensor> unpickle(const std::string& bytes, const char* what);

// The shards [first, last) of `shards` that rank `rank` of `world` computes: contiguous, near
// equal, in shard order.
std::pair<int, int> rank_shards(int shards, int world, int rank);

}  // namespace hc::trainer
