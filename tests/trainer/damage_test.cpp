// Damaged run directories: every class of damage to every file of a stopped and of a finished
// run, then resume, eval and compare. Each case ends one of two ways: the run is intact, or
// repaired or finished again to exactly the files of the undamaged run (same metrics); or an
// hc::Error names the damaged file. Never a damaged run accepted as it is, never an error that
// does not say where, never another exception.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>

#include "base/error.h"
#include "base/io.h"
#include "tests/trainer/process.h"
#include "trainer/compare.h"
#include "trainer/run.h"

namespace hc::trainer {
namespace {

namespace fs = std::filesystem;

// Evaluations at 0, 4 and 8; a checkpoint every 2 steps; a train record every step.
const char* kConfig = R"(family: {name: compositional_goals, grid_size: 5, num_mazes: 2}
policy: {name: hnet_linear, hidden: 8, templates: 4}
learner: {meta_batch: 4, inner_steps: 1, inner_optimizer: sgd}
train: {steps: 8, eval_every: 4, checkpoint_every: 2, log_every: 1, threads: 1}
eval: {tasks: 4, identification_tasks: 4, closed_loop_tasks: 2}
)";

struct Damage {
  std::string name;
  std::string file;  // the damaged file, which an error must name
  std::function<void(const fs::path&)> apply;
  bool finished_only = false;
};

std::string bytes_of(const fs::path& p) { return read_file(p.string()); }
void put(const fs::path& p, const std::string& bytes) { atomic_write(p.string(), bytes); }

// The damages: of bytes, of lines, of shape, of kind (a directory, a link) and of meaning (a
// value changed consistently).
std::vector<Damage> damages() {
  // The control: an undamaged run is resumed and evaluated as it is.
  std::vector<Damage> d = {{"nothing damaged", "", [](const fs::path&) {}}};
  const auto each = [&](const std::string& file, bool finished_only = false) {
    const auto add = [&, file](const std::string& name, std::function<void(const fs::path&)> f) {
      d.push_back({file + ": " + name, file, std::move(f), finished_only});
    };
    add("emptied", [file](const fs::path& r) { put(r / file, ""); });
    add("cut in half", [file](const fs::path& r) {
      const std::string b = bytes_of(r / file);
      put(r / file, b.substr(0, b.size() / 2));
    });
    add("byte flipped at a third", [file](const fs::path& r) {
      std::string b = bytes_of(r / file);
      if (!b.empty()) b[b.size() / 3] ^= 0x04;
      put(r / file, b);
    });
    add("byte flipped near the end", [file](const fs::path& r) {
      std::string b = bytes_of(r / file);
      if (b.size() > 8) b[b.size() - 8] ^= 0x04;
      put(r / file, b);
    });
    add("filled with NUL bytes",
        [file](const fs::path& r) { put(r / file, std::string(bytes_of(r / file).size(), '\0')); });
    add("deleted", [file](const fs::path& r) { fs::remove(r / file); });
    add("replaced by a directory", [file](const fs::path& r) {
      fs::remove(r / file);
      fs::create_directory(r / file);
    });
  };
  for (const char* f : {"metrics.jsonl", "train.csv", "eval.csv", "checkpoint.pt", "config.yaml"})
    each(f);
  each("summary.json", /*finished_only=*/true);
  const auto lines = [&](const std::string& file, const std::string& name,
                         std::function<std::string(const std::string&)> edit,
                         bool finished_only = false) {
    d.push_back({file + ": " + name, file,
                 [file, edit](const fs::path& r) { put(r / file, edit(bytes_of(r / file))); },
                 finished_only});
  };
  const auto without_last_line = [](const std::string& t) {
    return t.substr(0, t.rfind('\n', t.size() - 2) + 1);
  };
  lines("metrics.jsonl", "last record dropped", without_last_line);
  lines("metrics.jsonl", "first record dropped",
        [](const std::string& t) { return t.substr(t.find('\n') + 1); });
  lines("metrics.jsonl", "last record repeated",
        [&](const std::string& t) { return t + t.substr(without_last_line(t).size()); });
  lines("metrics.jsonl", "a torn line appended",
        [](const std::string& t) { return t + "{\"kind\": \"ev"; });
  lines("metrics.jsonl", "a record appended",
        [](const std::string& t) { return t + "{\"kind\":\"train\",\"step\":99,\"loss\":1.0}\n"; });
  lines("eval.csv", "header dropped",
        [](const std::string& t) { return t.substr(t.find('\n') + 1); });
  lines("config.yaml", "a value changed",
        [](std::string t) { return t.replace(t.find("inner_lr: "), 10, "inner_lr: 0.25 #"); });
  lines("config.yaml", "train.steps changed",
        [](std::string t) { return t.replace(t.find("  steps: 8"), 10, "  steps: 12"); });
  lines("config.yaml", "a section given twice",
        [](const std::string& t) { return t + "train: {steps: 9}\n"; });
  // summary.json: of another shape, or of another run, or inconsistent with the history.
  for (const std::string& json : {"[]", "{}", "null", "\"finished\"", "{\"final\": []}",
                                  "{\"final\": {\"ood/acc\": \"high\"}}"})
    lines(
        "summary.json", "holding " + json, [json](const std::string&) { return json + "\n"; },
        true);
  const auto edit_summary = [&](const std::string& name,
                                std::function<void(nlohmann::json&)> edit) {
    lines(
        "summary.json", name,
        [edit](const std::string& t) {
          nlohmann::json j = nlohmann::json::parse(t);
          edit(j);
          return j.dump(2) + "\n";
        },
        true);
  };
  edit_summary("steps changed", [](nlohmann::json& j) { j["steps"] = 12; });
  edit_summary("best_step changed", [](nlohmann::json& j) { j["best_step"] = 2; });
  edit_summary("a final metric changed", [](nlohmann::json& j) { j["final"]["ood/loss"] = 0.5; });
  edit_summary("a best metric changed", [](nlohmann::json& j) { j["best"]["ood/loss"] = 0.5; });
  edit_summary("final dropped", [](nlohmann::json& j) { j.erase("final"); });
  edit_summary("wall_time_s a string", [](nlohmann::json& j) { j["wall_time_s"] = "1 h"; });
  // The lock file: never followed, never written through.
  d.push_back({".lock: a symbolic link to a user's file", ".lock", [](const fs::path& r) {
                 fs::remove(r / ".lock");
                 put(r.parent_path() / "users-file", "keep me\n");
                 fs::create_symlink(r.parent_path() / "users-file", r / ".lock");
               }});
  d.push_back({".lock: a hard link to a user's file", ".lock", [](const fs::path& r) {
                 fs::remove(r / ".lock");
                 put(r.parent_path() / "users-file", "keep me\n");
                 fs::create_hard_link(r.parent_path() / "users-file", r / ".lock");
               }});
  d.push_back({".lock: a directory", ".lock", [](const fs::path& r) {
                 fs::remove(r / ".lock");
                 fs::create_directory(r / ".lock");
               }});
  return d;
}

class Damaged : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = fs::temp_directory_path() / ("hc_damage_" + std::to_string(::getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_);
    config_ = (root_ / "config.yaml").string();
    put(config_, kConfig);
    TrainOptions o;
    o.config = config_;
    o.run_dir = (root_ / "finished").string();
    o.quiet = true;
    train(o);
    // Stopped halfway through its 7th record (train record of step 5), after the checkpoint of
    // step 4: the 13th append (metrics.jsonl and its CSV each count).
    EXPECT_EQ(run({"train", config_, "--run-dir", (root_ / "stopped").string(), "-q"},
                  {"HC_CRASH_POINT=metrics_append:13"}),
              -1);
    for (const char* state : {"stopped", "finished"}) {
      EvalOptions e;
      e.run_dir = (root_ / state).string();
      e.quiet = true;
      evaluation_[state] = evaluate_run(e);
      fs::remove(root_ / state / "eval-latest.json");
    }
  }
  static void TearDownTestSuite() { fs::remove_all(root_); }

  // A damaged copy of the stopped or finished run.
  static fs::path damaged(const std::string& state, const Damage& damage, const std::string& op) {
    const fs::path copy = root_ / "cases" / (state + "-" + op);
    fs::remove_all(copy.parent_path());
    fs::create_directories(copy.parent_path());
    fs::copy(root_ / state, copy, fs::copy_options::recursive);
    damage.apply(copy);
    return copy;
  }

  // "" if the run in `dir` holds exactly what the undamaged finished run holds.
  static std::string differences(const fs::path& dir) {
    for (const char* f : {"metrics.jsonl", "train.csv", "eval.csv"})
      if (!fs::is_regular_file(dir / f) || bytes_of(dir / f) != bytes_of(root_ / "finished" / f))
        return std::string(f) + " differs from the undamaged run's";
    const auto a = read_json((root_ / "finished" / "summary.json").string());
    const auto b = read_json((dir / "summary.json").string());
    for (const char* key : {"final", "best", "best_step", "steps"})
      if (a[key] != b[key]) return std::string("summary.json's ") + key + " differs";
    return "";
  }

  static fs::path root_;
  static std::string config_;
  static std::map<std::string, Metrics> evaluation_;  // of the undamaged runs' last checkpoints
};

fs::path Damaged::root_;
std::string Damaged::config_;
std::map<std::string, Metrics> Damaged::evaluation_;

// The same metrics, NaN (undefined) where the other is NaN.
bool same_metrics(const Metrics& a, const Metrics& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].first != b[i].first ||
        !(a[i].second == b[i].second || (std::isnan(a[i].second) && std::isnan(b[i].second))))
      return false;
  return true;
}

// Counts of each outcome, reported with the test.
struct Tally {
  std::map<std::string, int> counts;
  void add(const std::string& op, const std::string& outcome) { ++counts[op + " " + outcome]; }
  std::string text() const {
    std::string s;
    for (const auto& [k, v] : counts) s += fmt::format("{}{}: {}", s.empty() ? "" : ", ", k, v);
    return s;
  }
};

// An error must name the damaged file.
void expect_named(const std::string& what, const Damage& damage, const std::string& where) {
  EXPECT_NE(what.find(damage.file), std::string::npos)
      << where << ": the error does not name " << damage.file << ": " << what;
}

TEST_F(Damaged, EveryDamageIsRepairedToTheSameRunOrRefusedNamingTheFile) {
  Tally tally;
  int cases = 0;
  for (const std::string state : {"stopped", "finished"})
    for (const Damage& damage : damages()) {
      if (damage.finished_only && state != "finished") continue;
      ++cases;
      const bool control = damage.file.empty();
      const std::string where = state + " run, " + damage.name;
      // `op` on a damaged copy: it succeeds as `outcome` (its own checks), or an Error names the
      // damaged file; an undamaged run is never refused.
      const auto attempt = [&](const std::string& op, const std::string& outcome,
                               const std::function<void(const fs::path&)>& work) {
        const fs::path dir = damaged(state, damage, op);
        try {
          work(dir);
          tally.add(state + " " + op, outcome);
        } catch (const Error& e) {
          EXPECT_FALSE(control) << where << ": an undamaged run was refused: " << e.what();
          expect_named(e.what(), damage, where + ", " + op);
          tally.add(state + " " + op, "refused");
        } catch (const std::exception& e) {
          ADD_FAILURE() << where << ": " << op << " threw " << e.what();
        }
      };
      // Resume: the same run as the undamaged one, and never a write through the lock.
      attempt("resume", "same run", [&](const fs::path& dir) {
        TrainOptions o;
        o.resume = dir.string();
        o.quiet = true;
        train(o);
        EXPECT_EQ(differences(dir), "")
            << where << ": resume succeeded, but the run is not the undamaged one";
      });
      if (fs::exists(root_ / "cases" / "users-file"))
        EXPECT_EQ(bytes_of(root_ / "cases" / "users-file"), "keep me\n")
            << where << ": the lock wrote through a link";
      // Eval of the last checkpoint: the undamaged run's evaluation, and a finished run as it
      // was.
      attempt("eval", "same evaluation", [&](const fs::path& dir) {
        EvalOptions o;
        o.run_dir = dir.string();
        o.quiet = true;
        EXPECT_TRUE(same_metrics(evaluate_run(o), evaluation_[state])) << where;
        if (state == "finished")
          EXPECT_EQ(differences(dir), "") << where << ": eval accepted a damaged run";
      });
    }
  RecordProperty("cases", cases);
  RecordProperty("outcomes", tally.text());
  std::printf("%d damage cases: %s\n", cases, tally.text().c_str());
}

// compare reuses a finished run only if it is intact; one whose history lost records is refused
// naming the file; one whose summary is damaged is finished again, to the same results.
TEST_F(Damaged, CompareReusesOnlyIntactFinishedRuns) {
  Plan plan;
  PlanGroup g;
  g.name = "g";
  g.runs.push_back({config_, "", {}});
  plan.groups.push_back(g);
  CompareOptions o;
  o.runs_root = (root_ / "compare").string();
  o.quiet = true;
  const fs::path run = root_ / "compare" / "g" / "hnet_linear";
  const auto place = [&](const std::function<void(const fs::path&)>& damage) {
    fs::remove_all(root_ / "compare");
    fs::create_directories(run.parent_path());
    fs::copy(root_ / "finished", run, fs::copy_options::recursive);
    damage(run);
  };
  const auto reference = read_json((root_ / "finished" / "summary.json").string());

  place([](const fs::path&) {});
  Comparison c = compare(plan, o);
  EXPECT_EQ(c.groups[0].runs[0].trials[0].summary, reference) << "intact: reused as it is";

  place([](const fs::path& r) {
    const std::string t = bytes_of(r / "metrics.jsonl");
    put(r / "metrics.jsonl", t.substr(0, t.find('\n') + 1));  // 1 of its 15 records left
  });
  try {
    compare(plan, o);
    ADD_FAILURE() << "a run that lost records was reused";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find((run / "metrics.jsonl").string()), std::string::npos)
        << e.what();
  }

  for (const char* summary : {"{}", "[]", "null"}) {
    place([&](const fs::path& r) { put(r / "summary.json", summary); });
    c = compare(plan, o);
    EXPECT_EQ(differences(run), "") << summary;
    EXPECT_EQ(c.groups[0].runs[0].trials[0].summary["final"], reference["final"]) << summary;
  }
}

}  // namespace
}  // namespace hc::trainer
