#include "trainer/checkpoint.h"

#include <fmt/format.h>

#include <cstring>
#include <sstream>

#include "base/error.h"
#include "base/io.h"
#include "trainer/config.h"

namespace hc::trainer {
namespace {

constexpr char kMagic[8] = {'H', 'C', 'C', 'K', 'P', 'T', '0', '1'};
// Format 2 records checksums and CSV columns of the metrics files; format 1 only line counts.
constexpr int64_t kFormat = 2;

}  // namespace

std::string checkpoint_bytes(agents::PolicyImpl& policy, torch::optim::Optimizer* optimizer,
                             const CheckpointState& s) {
  torch::serialize::OutputArchive ar;
  ar.write("format", c10::IValue(kFormat));
  ar.write("step", c10::IValue(s.step));
  ar.write("skipped", c10::IValue(s.skipped));
  ar.write("best_valid_loss", c10::IValue(s.best_valid_loss));
  ar.write("best_step", c10::IValue(s.best_step));
  for (int f = 0; f < 3; ++f) {
    const MetricsFileState& m = s.metrics.files[f];
    const std::string key = std::string("metrics/") + MetricsFiles::kNames[f];
    ar.write(key + "/lines", c10::IValue(m.lines));
    ar.write(key + "/checksum", c10::IValue(static_cast<int64_t>(m.checksum)));
    ar.write(key + "/header", c10::IValue(m.header));
  }
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
  return data;
}

void save_checkpoint(const std::string& path, agents::PolicyImpl& policy,
                     torch::optim::Optimizer* optimizer, const CheckpointState& s) {
  atomic_write(path, checkpoint_bytes(policy, optimizer, s));
}

namespace {

std::string read_checkpoint(const std::string& path) {
  try {
    return read_file(path);
  } catch (const Error&) {
    throw Error(fmt::format("checkpoint '{}' does not exist or cannot be read", path));
  }
}

// Checks the bytes and reads the state; loads the parameters into `policy` unless it is null.
CheckpointState parse(std::string data, const std::string& path, agents::PolicyImpl* policy,
                      torch::optim::Optimizer* optimizer, const std::string& config_file,
                      const std::string& config_text) {
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
    const int64_t format = v.toInt();
    if (format != kFormat && format != 1)
      throw Error(fmt::format("checkpoint '{}' has format {}, this build reads formats 1 and {}",
                              path, format, kFormat));
    ar.read("step", v), s.step = v.toInt();
    ar.read("skipped", v), s.skipped = v.toInt();
    ar.read("best_valid_loss", v), s.best_valid_loss = v.toDouble();
    ar.read("best_step", v), s.best_step = v.toInt();
    if (format == 1) {
      s.metrics.has_checksums = false;
      const char* old[3] = {"metrics_lines", "train_csv_lines", "eval_csv_lines"};
      for (int f = 0; f < 3; ++f) ar.read(old[f], v), s.metrics.files[f].lines = v.toInt();
    } else {
      for (int f = 0; f < 3; ++f) {
        MetricsFileState& m = s.metrics.files[f];
        const std::string key = std::string("metrics/") + MetricsFiles::kNames[f];
        ar.read(key + "/lines", v), m.lines = v.toInt();
        ar.read(key + "/checksum", v), m.checksum = static_cast<uint64_t>(v.toInt());
        ar.read(key + "/header", v), m.header = v.toStringRef();
      }
    }
    ar.read("threads", v), s.threads = v.toInt();
    ar.read("wall_time", v), s.wall_time = v.toDouble();
    ar.read("config", v), s.config = v.toStringRef();
    if (!config_file.empty() && s.config != config_text &&
        !same_run_config(s.config, config_text, path + " (its stored configuration)"))
      throw Error(fmt::format("checkpoint '{}' was written by another configuration than '{}'",
                              path, config_file));
    if (!policy) return s;
    torch::NoGradGuard no_grad;
    for (auto& p : policy->named_parameters()) {
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

}  // namespace

CheckpointState load_checkpoint(const std::string& path, agents::PolicyImpl& policy,
                                torch::optim::Optimizer* optimizer, const std::string& config_file,
                                const std::string& config_text) {
  return parse(read_checkpoint(path), path, &policy, optimizer, config_file, config_text);
}

CheckpointState read_checkpoint_state(const std::string& path, const std::string& config_file,
                                      const std::string& config_text) {
  return parse(read_checkpoint(path), path, nullptr, nullptr, config_file, config_text);
}

CheckpointState load_checkpoint_bytes(std::string data, const std::string& path,
                                      agents::PolicyImpl& policy,
                                      torch::optim::Optimizer* optimizer,
                                      const std::string& config_file,
                                      const std::string& config_text) {
  return parse(std::move(data), path, &policy, optimizer, config_file, config_text);
}

}  // namespace hc::trainer
