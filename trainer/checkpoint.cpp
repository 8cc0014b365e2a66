#include "trainer/checkpoint.h"

#include <fmt/format.h>

#include <cstring>
#include <sstream>

#include "base/error.h"
#include "base/io.h"

namespace hc::trainer {
namespace {

constexpr char kMagic[8] = {'H', 'C', 'C', 'K', 'P', 'T', '0', '1'};
constexpr int64_t kFormat = 1;

}  // namespace

void save_checkpoint(const std::string& path, agents::PolicyImpl& policy,
                     torch::optim::Optimizer* optimizer, const CheckpointState& s) {
  torch::serialize::OutputArchive ar;
  ar.write("format", c10::IValue(kFormat));
  ar.write("step", c10::IValue(s.step));
  ar.write("skipped", c10::IValue(s.skipped));
  ar.write("best_valid_loss", c10::IValue(s.best_valid_loss));
  ar.write("best_step", c10::IValue(s.best_step));
  ar.write("metrics_lines", c10::IValue(s.metrics_lines));
  ar.write("train_csv_lines", c10::IValue(s.train_csv_lines));
  ar.write("eval_csv_lines", c10::IValue(s.eval_csv_lines));
  ar.write("threads", c10::IValue(s.threads));
  ar.write("wall_time", c10::IValue(s.wall_time));
  ar.write("config", c10::IValue(s.config));
  for (const auto& p : policy.named_parameters()) ar.write("params/" + p.key(), p.value().detach());
  if (optimizer) {
    torch::serialize::OutputArchive opt;
    optimizer->save(opt);
    ar.write("optimizer", opt);
  }
  std::ostringstream bytes;
  ar.save_to(bytes);
  std::string data = bytes.str();
  const uint64_t sum = checksum(data);
  data.append(reinterpret_cast<const char*>(&sum), sizeof(sum));
  data.append(kMagic, sizeof(kMagic));
  atomic_write(path, data);
}

CheckpointState load_checkpoint(const std::string& path, agents::PolicyImpl& policy,
                                torch::optim::Optimizer* optimizer) {
  std::string data;
  try {
    data = read_file(path);
  } catch (const Error&) {
    throw Error(fmt::format("checkpoint '{}' does not exist or cannot be read", path));
  }
  if (data.size() < 16 || std::memcmp(data.data() + data.size() - 8, kMagic, 8) != 0)
    throw Error(fmt::format("checkpoint '{}' is truncated or not a hypercomp checkpoint", path));
  uint64_t stored;
  std::memcpy(&stored, data.data() + data.size() - 16, 8);
  data.resize(data.size() - 16);
  if (checksum(data) != stored)
    throw Error(fmt::format("checkpoint '{}' is corrupt (checksum mismatch)", path));

  CheckpointState s;
  try {
    std::istringstream in(data);
    torch::serialize::InputArchive ar;
    ar.load_from(in);
    c10::IValue v;
    ar.read("format", v);
    if (v.toInt() != kFormat)
      throw Error(fmt::format("checkpoint '{}' has format {}, this build reads format {}", path,
                              v.toInt(), kFormat));
    ar.read("step", v), s.step = v.toInt();
    ar.read("skipped", v), s.skipped = v.toInt();
    ar.read("best_valid_loss", v), s.best_valid_loss = v.toDouble();
    ar.read("best_step", v), s.best_step = v.toInt();
    ar.read("metrics_lines", v), s.metrics_lines = v.toInt();
    ar.read("train_csv_lines", v), s.train_csv_lines = v.toInt();
    ar.read("eval_csv_lines", v), s.eval_csv_lines = v.toInt();
    ar.read("threads", v), s.threads = v.toInt();
    ar.read("wall_time", v), s.wall_time = v.toDouble();
    ar.read("config", v), s.config = v.toStringRef();
    torch::NoGradGuard no_grad;
    for (auto& p : policy.named_parameters()) {
      torch::Tensor t;
      if (!ar.try_read("params/" + p.key(), t))
        throw Error(fmt::format("checkpoint '{}' does not fit this policy: no parameter '{}'", path,
                                p.key()));
      if (!t.sizes().equals(p.value().sizes()))
        throw Error(fmt::format(
            "checkpoint '{}' does not fit this policy: parameter '{}' has shape {}, expected {}",
            path, p.key(), c10::str(t.sizes()), c10::str(p.value().sizes())));
      p.value().copy_(t);
    }
    if (optimizer) {
      torch::serialize::InputArchive opt;
      ar.read("optimizer", opt);
      optimizer->load(opt);
    }
  } catch (const c10::Error& e) {
    throw Error(
        fmt::format("checkpoint '{}' cannot be read: {}", path, e.what_without_backtrace()));
  }
  return s;
}

}  // namespace hc::trainer
