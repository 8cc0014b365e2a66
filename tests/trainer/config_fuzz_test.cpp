// Fuzzing of what users type: config files with command-line overrides, and task descriptions
// (`demo --task`). Seeded random mutations of the project's own configs -- bytes, lines, keys
// and values -- must each be accepted or rejected with hc::Error naming where the problem is;
// never a crash, a hang, or another exception.
//
//   HC_FUZZ_INPUTS=1000000 build/tests/hc_trainer_tests --gtest_filter='Fuzz.*'
//
// runs as many inputs as asked (the suite runs a few thousand); HC_FUZZ_SEED picks another
// stream. A failure prints the seed and the input that caused it.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/io.h"
#include "base/rng.h"
#include "families/registry.h"
#include "trainer/config.h"

namespace hc::trainer {
namespace {

namespace fs = std::filesystem;

int64_t env_int(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  return v ? std::atoll(v) : fallback;
}

// Every config file of the project: the seeds of the mutations.
std::vector<std::string> corpus() {
  std::vector<std::string> out;
  for (const char* dir : {"configs/quick", "configs/paper", "configs/envs"})
    for (const auto& e : fs::directory_iterator(fs::path(HYPERCOMP_SOURCE_DIR) / dir))
      if (e.path().extension() == ".yaml" && e.path().filename() != "plan.yaml")
        out.push_back(read_file(e.path().string()));
  out.push_back(read_file(std::string(HYPERCOMP_SOURCE_DIR) + "/configs/default.yaml"));
  return out;
}

// Values that stress parsers and validators: signs, overflow, special floats, wrong types.
const std::vector<std::string> kValues = {"-1",
                                          "0",
                                          "1",
                                          "-0",
                                          "2147483648",
                                          "99999999999999999999",
                                          "-9223372036854775809",
                                          "1e308",
                                          "1e-308",
                                          "nan",
                                          ".nan",
                                          "inf",
                                          ".inf",
                                          "-.inf",
                                          "0x10",
                                          "1.5",
                                          "3",
                                          "64",
                                          "1000000",
                                          "true",
                                          "false",
                                          "~",
                                          "null",
                                          "''",
                                          "\"\"",
                                          "[]",
                                          "{}",
                                          "[1, 2]",
                                          "{a: 1}",
                                          "random",
                                          "connected",
                                          "hnet_linear",
                                          "anil",
                                          "sgd",
                                          "cosine",
                                          "shards",
                                          "\"\\u0000\"",
                                          "'#'",
                                          "[\"#..#\", \"#\"]",
                                          "!!binary aGVsbG8=",
                                          "&a 1",
                                          "*a",
                                          "? x",
                                          "|\n  text",
                                          "- - -"};

// The keys of every section, and a few near misses.
std::vector<std::string> vocabulary(const std::vector<std::string>& corpus) {
  std::vector<std::string> keys = {"family", "policy", "learner", "train", "eval", "name",
                                   "nmae",   "steps",  "step",    "seeds", "<<"};
  for (const auto& text : corpus) {
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
      const auto colon = line.find(':');
      const auto start = line.find_first_not_of(' ');
      if (colon != std::string::npos && start != std::string::npos && start < colon &&
          line[start] != '#')
        keys.push_back(line.substr(start, colon - start));
    }
  }
  return keys;
}

std::string pick(Rng& rng, const std::vector<std::string>& from) {
  return from[rng.uniform_int(from.size())];
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string join(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) s += l + "\n";
  return s;
}

// One mutation of `text`: of a byte, a line, a key or a value.
std::string mutate(std::string text, Rng& rng, const std::vector<std::string>& keys) {
  std::vector<std::string> lines = lines_of(text);
  switch (rng.uniform_int(10)) {
    case 0:  // flip a byte
      if (!text.empty())
        text[rng.uniform_int(text.size())] ^= static_cast<char>(1 + rng.uniform_int(255));
      return text;
    case 1:  // insert a random byte
      text.insert(text.begin() + static_cast<int64_t>(rng.uniform_int(text.size() + 1)),
                  static_cast<char>(rng.uniform_int(256)));
      return text;
    case 2: {  // cut a range
      if (text.empty()) return text;
      const size_t at = rng.uniform_int(text.size());
      return text.erase(at, rng.uniform_int(std::min<size_t>(64, text.size() - at) + 1));
    }
    case 3:  // drop or duplicate a line
      if (lines.empty()) return text;
      if (rng.uniform_int(2)) {
        lines.erase(lines.begin() + static_cast<int64_t>(rng.uniform_int(lines.size())));
      } else {
        const size_t i = rng.uniform_int(lines.size());
        lines.insert(lines.begin() + static_cast<int64_t>(i), lines[i]);
      }
      return join(lines);
    case 4:  // change a line's indentation
      if (lines.empty()) return text;
      lines[rng.uniform_int(lines.size())].insert(0, std::string(rng.uniform_int(5), ' '));
      return join(lines);
    case 5:    // replace a value
    case 6: {  // (twice as likely: values are where validation happens)
      if (lines.empty()) return text;
      std::string& line = lines[rng.uniform_int(lines.size())];
      const auto colon = line.find(':');
      if (colon == std::string::npos) return text;
      line = line.substr(0, colon + 1) + " " + pick(rng, kValues);
      return join(lines);
    }
    case 7: {  // rename a key
      if (lines.empty()) return text;
      std::string& line = lines[rng.uniform_int(lines.size())];
      const auto colon = line.find(':');
      const auto start = line.find_first_not_of(' ');
      if (colon == std::string::npos || start == std::string::npos || start > colon) return text;
      line = line.substr(0, start) + pick(rng, keys) + line.substr(colon);
      return join(lines);
    }
    case 8: {  // give a key a second time, with another value, in the same mapping
      if (lines.empty()) return text;
      const size_t i = rng.uniform_int(lines.size());
      const auto colon = lines[i].find(':');
      if (colon == std::string::npos) return text;
      lines.insert(lines.begin() + static_cast<int64_t>(i) + 1,
                   lines[i].substr(0, colon + 1) + " " + pick(rng, kValues));
      return join(lines);
    }
    default:  // add a key with a value somewhere
      lines.insert(
          lines.begin() + static_cast<int64_t>(rng.uniform_int(lines.size() + 1)),
          std::string(2 * rng.uniform_int(2), ' ') + pick(rng, keys) + ": " + pick(rng, kValues));
      return join(lines);
  }
}

std::string random_override(Rng& rng, const std::vector<std::string>& keys) {
  static const char* kSections[] = {"family", "policy", "learner", "train", "eval", "", "x.y"};
  const std::string section = kSections[rng.uniform_int(7)];
  std::string o = section.empty() ? "" : section + ".";
  o += pick(rng, keys);
  if (rng.uniform_int(8)) o += "=" + pick(rng, kValues);  // sometimes no '=' at all
  return o;
}

struct Outcome {
  int64_t accepted = 0, rejected = 0;
  double slowest_s = 0;
};

// Runs one input; returns "" or what went wrong.
std::string try_config(const std::string& text, const std::vector<std::string>& overrides,
                       Outcome& outcome) {
  const auto t0 = std::chrono::steady_clock::now();
  std::string problem;
  try {
    load_run_config_text(text, "<fuzz>", overrides);
    ++outcome.accepted;
  } catch (const Error& e) {
    ++outcome.rejected;
    const std::string m = e.what();
    // A rejection says where: the file (with its line), or the override it came from.
    if (m.find("<fuzz>") == std::string::npos && m.find("<command line>") == std::string::npos &&
        m.find("override") == std::string::npos)
      problem = "error that names no file or override: " + m;
  } catch (const std::exception& e) {
    problem = std::string("unexpected exception: ") + e.what();
  } catch (...) {
    problem = "unexpected non-standard exception";
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  outcome.slowest_s = std::max(outcome.slowest_s, s);
  // Building a family does real work (mazes, teachers), but never more than a second or two.
  if (problem.empty() && s > 5.0) problem = fmt::format("took {:.1f} s", s);
  return problem;
}

TEST(Fuzz, ConfigFilesAndOverridesAreAcceptedOrRejectedWithAClearError) {
  const std::vector<std::string> seeds = corpus();
  const std::vector<std::string> keys = vocabulary(seeds);
  const int64_t inputs = env_int("HC_FUZZ_INPUTS", 3000);
  const uint64_t seed = static_cast<uint64_t>(env_int("HC_FUZZ_SEED", 1));
  Rng rng(seed);
  Outcome outcome;
  int failures = 0;
  for (int64_t i = 0; i < inputs && failures < 10; ++i) {
    std::string text = pick(rng, seeds);
    const int rounds = 1 + static_cast<int>(rng.uniform_int(4));
    for (int r = 0; r < rounds; ++r) text = mutate(text, rng, keys);
    std::vector<std::string> overrides;
    for (uint64_t k = rng.uniform_int(3); k-- > 0;) overrides.push_back(random_override(rng, keys));
    if (!overrides.empty() && rng.uniform_int(4) == 0)  // a key given twice: the last is in effect
      overrides.push_back(overrides[0].substr(0, overrides[0].find('=')) + "=" +
                          pick(rng, kValues));
    const std::string problem = try_config(text, overrides, outcome);
    if (!problem.empty()) {
      ++failures;
      std::string ov;
      for (const auto& o : overrides) ov += " '" + o + "'";
      ADD_FAILURE() << "seed " << seed << " input " << i << ": " << problem << "\n--- config ---\n"
                    << text << "--- overrides:" << ov;
    }
  }
  RecordProperty("inputs", std::to_string(inputs));
  RecordProperty("accepted", std::to_string(outcome.accepted));
  RecordProperty("slowest_s", std::to_string(outcome.slowest_s));
  // The mutations must reach both outcomes, or they test nothing.
  EXPECT_GT(outcome.accepted, 0);
  EXPECT_GT(outcome.rejected, 0);
}

// Config files of every kind a path can name: each is read (a regular file of a sane size) or
// refused at once with a ConfigError naming the path and what it is -- never read without end
// (a device), never blocked on (a pipe), never taken for an empty configuration (a directory).
TEST(Fuzz, ConfigPathsOfEveryKindAreReadOrRefusedNamingThem) {
  const fs::path dir = fs::temp_directory_path() / ("hc_fuzz_paths_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "adir");
  const std::string good = (dir / "good.yaml").string();
  atomic_write(good, "family: {name: compositional_goals}\n");
  atomic_write((dir / "empty.yaml").string(), "");
  fs::create_symlink(good, dir / "link.yaml");
  fs::create_symlink(dir / "adir", dir / "dirlink.yaml");
  fs::create_symlink(dir / "loop.yaml", dir / "loop.yaml");
  ASSERT_EQ(mkfifo((dir / "pipe.yaml").c_str(), 0644), 0);
  // 4 GiB, sparse: no disk is used, and reading it would take minutes and all the memory.
  { std::ofstream(dir / "huge.yaml"); }
  fs::resize_file(dir / "huge.yaml", 4ull << 30);
  struct Case {
    std::string path, expected;  // "" for a configuration that is read
  };
  const std::vector<Case> cases = {
      {good, ""},
      {(dir / "link.yaml").string(), ""},
      {(dir / "empty.yaml").string(), "missing section 'family'"},
      {(dir / "adir").string(), "is a directory, not a config file"},
      {(dir / "adir/").string(), "is a directory, not a config file"},
      {(dir / "dirlink.yaml").string(), "is a directory, not a config file"},
      {(dir / "loop.yaml").string(), "cannot open config file: Too many levels of symbolic links"},
      {(dir / "pipe.yaml").string(), "is a pipe, not a config file"},
      {(dir / "huge.yaml").string(), "is 4294967296 bytes; a config file is at most 1048576"},
      {"/dev/zero", "is a character device, not a config file"},
      {"/dev/urandom", "is a character device, not a config file"},
      {"/dev/null", "is a character device, not a config file"},
      {good + "/x", "cannot open config file: Not a directory"},
      {(dir / "missing.yaml").string(), "cannot open config file: No such file or directory"},
      {(dir / std::string(300, 'a')).string(), "cannot open config file: File name too long"},
      {"", "cannot open config file: No such file or directory"},
  };
  for (const Case& c : cases) {
    try {
      load_run_config(c.path);
      EXPECT_EQ(c.expected, "") << c.path << " was read";
    } catch (const ConfigError& e) {
      const std::string m = e.what();
      EXPECT_EQ(m.rfind(c.path + ":", 0), 0u) << "the error does not start with the path: " << m;
      EXPECT_NE(c.expected, "") << c.path << ": " << m;
      EXPECT_NE(m.find(c.expected), std::string::npos) << m;
    }
  }
  fs::remove_all(dir);
}

// Task descriptions, as `hypercomp demo --task` takes them: a task or an EnvError.
TEST(Fuzz, TaskDescriptionsAreFoundOrRejected) {
  const int64_t inputs = env_int("HC_FUZZ_INPUTS", 3000);
  const uint64_t seed = static_cast<uint64_t>(env_int("HC_FUZZ_SEED", 1));
  Rng rng(seed);
  std::vector<std::shared_ptr<tasks::TaskFamily>> families;
  for (const auto& name : families::family_names()) families.push_back(families::make_family(name));
  int64_t found = 0, rejected = 0;
  for (int64_t i = 0; i < inputs; ++i) {
    const tasks::TaskFamily& f = *families[rng.uniform_int(families.size())];
    const auto& space = f.task_space();
    std::string text =
        space.describe(space.task(static_cast<int64_t>(rng.uniform_int(space.size()))));
    for (int r = 1 + static_cast<int>(rng.uniform_int(3)); r-- > 0;) {
      switch (rng.uniform_int(4)) {
        case 0:
          if (!text.empty())
            text[rng.uniform_int(text.size())] = static_cast<char>(rng.uniform_int(256));
          break;
        case 1:
          text.insert(rng.uniform_int(text.size() + 1), pick(rng, kValues));
          break;
        case 2:
          if (!text.empty()) text.erase(rng.uniform_int(text.size()), 1 + rng.uniform_int(4));
          break;
        default:
          text = std::to_string(static_cast<int64_t>(rng.next() >> rng.uniform_int(64))) +
                 (rng.uniform_int(2) ? "" : "x");
      }
    }
    try {
      const int64_t id = space.find(text);
      EXPECT_GE(id, 0);
      EXPECT_LT(id, space.size());
      ++found;
    } catch (const EnvError&) {
      ++rejected;
    } catch (const std::exception& e) {
      ADD_FAILURE() << "seed " << seed << " input " << i << " '" << text << "' on " << f.name()
                    << ": unexpected exception " << e.what();
    }
  }
  EXPECT_GT(found, 0);
  EXPECT_GT(rejected, 0);
}

}  // namespace
}  // namespace hc::trainer
