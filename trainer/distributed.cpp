#include "trainer/distributed.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netdb.h>
#include <torch/csrc/jit/serialization/pickle.h>
#include <torch/csrc/distributed/c10d/FileStore.hpp>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <cstdlib>
#include <cstring>

namespace hc::trainer {
namespace {

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  const long x = std::strtol(v, &end, 10);
  if (*end != '\0' || x < 0 || x > 1'000'000)
    throw ConfigError(
        fmt::format("environment variable {}='{}': expected a non-negative integer", name, v));
  return static_cast<int>(x);
}

std::string env_string(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// HOST:PORT (HOST may be a bracketed IPv6 address) split in two.
std::pair<std::string, uint16_t> host_port(const std::string& master) {
  const size_t colon = master.rfind(':');
  std::string host = colon == std::string::npos ? "" : master.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  const std::string port = colon == std::string::npos ? "" : master.substr(colon + 1);
  char* end = nullptr;
  const long p = port.empty() ? -1 : std::strtol(port.c_str(), &end, 10);
  if (host.empty() || p < 1 || p > 65535 || *end != '\0')
    throw ConfigError(
        fmt::format("--master '{}': expected HOST:PORT with a port from 1 to 65535", master));
  return {host, static_cast<uint16_t>(p)};
}

bool is_loopback(const std::string& host) {
  if (host == "localhost") return true;
  in_addr a4{};
  if (inet_pton(AF_INET, host.c_str(), &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
  in6_addr a6{};
  if (inet_pton(AF_INET6, host.c_str(), &a6) == 1) return IN6_IS_ADDR_LOOPBACK(&a6);
  return false;
}

// c10d logs through glog, which starts by complaining that it was not initialised ("Logging
// before InitGoogleLogging()") and then repeats, as warnings, what the exception it throws says.
// Every failure reaches the user as one error of ours, so glog is initialised to stderr and kept
// to fatal messages.
void quiet_c10d_logging() {
  if (google::IsGoogleLoggingInitialized()) return;
  FLAGS_logtostderr = true;  // never log files in /tmp
  FLAGS_minloglevel = google::GLOG_FATAL;
  google::InitGoogleLogging("hypercomp");
}

// An exception's message without LibTorch's backtrace.
std::string describe(const std::exception& e) {
  if (const auto* c = dynamic_cast<const c10::Error*>(&e)) return c->what_without_backtrace();
  return e.what();
}

}  // namespace

void DistOptions::check_timeout(double seconds) {
  // Written so that NaN fails too.
  if (!(seconds >= kMinTimeout && seconds <= kMaxTimeout))
    throw ConfigError(fmt::format("--dist-timeout {}: expected a number of seconds from {} to {}",
                                  seconds, kMinTimeout, kMaxTimeout));
}

void DistOptions::complete_from_environment() {
  if (world_size <= 0) world_size = env_int("WORLD_SIZE", 1);
  if (rank < 0) rank = env_int("RANK", 0);
  if (local_ranks <= 0) local_ranks = env_int("LOCAL_WORLD_SIZE", 1);
  if (master.empty() && file.empty()) {
    file = env_string("HYPERCOMP_RENDEZVOUS_FILE");
    const std::string addr = env_string("MASTER_ADDR"), port = env_string("MASTER_PORT");
    if (file.empty() && (!addr.empty() || !port.empty()))
      master = fmt::format("{}:{}", addr.empty() ? "127.0.0.1" : addr, port);
  }
  if (world_size < 1) throw ConfigError("--world-size must be at least 1");
  if (rank >= world_size)
    throw ConfigError(fmt::format("--rank {} is out of range for --world-size {}: expected 0 to {}",
                                  rank, world_size, world_size - 1));
  check_timeout(timeout_s);
  if (!distributed()) return;
  if (master.empty() && file.empty())
    throw ConfigError(fmt::format(
        "--world-size {} needs a rendezvous: --master HOST:PORT (rank 0's address; or "
        "MASTER_ADDR and MASTER_PORT) or --rendezvous-file PATH on a file system every rank sees",
        world_size));
  if (!master.empty() && !file.empty())
    throw ConfigError("give --master or --rendezvous-file, not both");
  if (!master.empty()) host_port(master);  // checks the form
  if (bind.empty()) {
    // Never a wildcard: the transport listens on one address, the one the peers use.
    if (!file.empty()) {
      bind = "127.0.0.1";
    } else {
      const std::string host = host_port(master).first;
      if (rank == 0 || is_loopback(host))
        bind = is_loopback(host) ? "127.0.0.1" : host;
      else
        throw ConfigError(fmt::format(
            "rank {} of a multi-machine run needs --bind ADDR: the address of this machine that "
            "the other ranks can reach (its transport listens there and nowhere else)",
            rank));
    }
  }
}

struct Group::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> pg;
};

Group::Group(const DistOptions& o)
    : impl_(std::make_unique<Impl>()), rank_(o.rank), size_(o.world_size) {
  DistOptions::check_timeout(o.timeout_s);
  quiet_c10d_logging();
  const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(o.timeout_s * 1000));
  try {
    if (!o.file.empty()) {
      where_ = fmt::format("rendezvous file {}", o.file);
      impl_->store = c10::make_intrusive<c10d::FileStore>(o.file, o.world_size);
      impl_->store->setTimeout(timeout);
    } else {
      const auto [host, port] = host_port(o.master);
      where_ = fmt::format("rank 0's store at {}", o.master);
      c10d::TCPStoreOptions so;
      so.port = port;
      so.isServer = o.rank == 0;
      so.numWorkers = o.world_size;
      so.waitWorkers = false;  // the process group's rendezvous below waits, with the timeout
      so.timeout = timeout;
      impl_->store = c10::make_intrusive<c10d::TCPStore>(host, so);
    }
    auto options = c10d::ProcessGroupGloo::Options::create(timeout);
    options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(o.bind));
    options->threads = 1;  // one collective at a time; the compute threads are the trainer's
    impl_->pg = c10::make_intrusive<c10d::ProcessGroupGloo>(
        c10::make_intrusive<c10d::PrefixStore>("hypercomp", impl_->store), o.rank, o.world_size,
        options);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    const std::string what = describe(e);
    if (o.rank == 0 && !o.master.empty() &&
        what.find("Address already in use") != std::string::npos)
      throw Error(fmt::format(
          "rank 0 cannot host the rendezvous store at {}: the port is in use by another "
          "process; choose another (launch --master-port, train --master, or MASTER_PORT)",
          o.master));
    throw Error(fmt::format(
        "rank {} of {} could not join the group through {} (its transport on {}) within {} s: "
        "{} (are all {} ranks started, with the same rendezvous?)",
        o.rank, o.world_size, where_, o.bind, o.timeout_s, what, o.world_size));
  }
}

Group::~Group() = default;

template <class F>
void Group::collective(const char* what, F&& f) {
  const auto t0 = std::chrono::steady_clock::now();
  try {
    f();
  } catch (const std::exception& e) {
    throw DistError(
        fmt::format("rank {} of {}: {} failed: {}; another rank died, was stopped or cannot be "
                    "reached ({})",
                    rank_, size_, what, describe(e), where_));
  }
  ++stats_.collectives;
  stats_.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void Group::sum(torch::Tensor& t) {
  TORCH_CHECK(t.is_contiguous(), "Group::sum needs a contiguous tensor");
  stats_.bytes_reduced += static_cast<int64_t>(t.numel() * t.element_size());
  collective("all-reduce", [&] {
    std::vector<at::Tensor> v{t};
    impl_->pg->allreduce(v)->wait();
  });
}

void Group::max(torch::Tensor& t) {
  collective("all-reduce (max)", [&] {
    std::vector<at::Tensor> v{t};
    impl_->pg->allreduce(v, c10d::AllreduceOptions{c10d::ReduceOp::MAX})->wait();
  });
}

std::vector<std::string> Group::all_gather(const std::string& bytes) {
  // Sizes first, then every rank's bytes padded to the largest.
  torch::Tensor size = torch::tensor({static_cast<int64_t>(bytes.size())}, torch::kInt64);
  std::vector<std::vector<at::Tensor>> sizes(1);
  for (int r = 0; r < size_; ++r) sizes[0].push_back(torch::empty({1}, torch::kInt64));
  collective("all-gather (sizes)", [&] {
    std::vector<at::Tensor> in{size};
    impl_->pg->allgather(sizes, in)->wait();
  });
  int64_t longest = 1;
  for (const auto& s : sizes[0]) longest = std::max(longest, s.item<int64_t>());
  torch::Tensor mine = torch::zeros({longest}, torch::kUInt8);
  std::memcpy(mine.data_ptr(), bytes.data(), bytes.size());
  std::vector<std::vector<at::Tensor>> all(1);
  for (int r = 0; r < size_; ++r) all[0].push_back(torch::empty({longest}, torch::kUInt8));
  collective("all-gather", [&] {
    std::vector<at::Tensor> in{mine};
    impl_->pg->allgather(all, in)->wait();
  });
  std::vector<std::string> out;
  for (int r = 0; r < size_; ++r)
    out.emplace_back(static_cast<const char*>(all[0][r].data_ptr()),
                     static_cast<size_t>(sizes[0][r].item<int64_t>()));
  return out;
}

std::string Group::broadcast(const std::string& bytes, int root) {
  torch::Tensor size = torch::tensor({static_cast<int64_t>(bytes.size())}, torch::kInt64);
  collective("broadcast (size)", [&] {
    std::vector<at::Tensor> v{size};
    impl_->pg->broadcast(v, c10d::BroadcastOptions{root})->wait();
  });
  const int64_t n = size.item<int64_t>();
  torch::Tensor data = torch::zeros({std::max<int64_t>(n, 1)}, torch::kUInt8);
  if (rank_ == root) std::memcpy(data.data_ptr(), bytes.data(), bytes.size());
  collective("broadcast", [&] {
    std::vector<at::Tensor> v{data};
    impl_->pg->broadcast(v, c10d::BroadcastOptions{root})->wait();
  });
  return std::string(static_cast<const char*>(data.data_ptr()), static_cast<size_t>(n));
}

void Group::barrier() {
  collective("barrier", [&] { impl_->pg->barrier()->wait(); });
}

std::string pickle(const std::vector<torch::Tensor>& tensors) {
  c10::impl::GenericList list(c10::AnyType::get());
  for (const auto& t : tensors)
    list.push_back(t.defined() ? c10::IValue(t.contiguous()) : c10::IValue());
  const std::vector<char> bytes = torch::jit::pickle_save(c10::IValue(list));
  return std::string(bytes.begin(), bytes.end());
}

std::vector<torch::Tensor> unpickle(const std::string& bytes, const char* what) {
  try {
    const c10::IValue v = torch::jit::pickle_load(std::vector<char>(bytes.begin(), bytes.end()));
    std::vector<torch::Tensor> out;
    for (const c10::IValue& t : v.toListRef())
      out.push_back(t.isNone() ? torch::Tensor() : t.toTensor());
    return out;
  } catch (const c10::Error& e) {
    throw DistError(
        fmt::format("malformed {} from another rank: {}", what, e.what_without_backtrace()));
  }
}

std::pair<int, int> rank_shards(int shards, int world, int rank) {
  return {shards * rank / world, shards * (rank + 1) / world};
}

}  // namespace hc::trainer
