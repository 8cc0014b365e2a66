#include "trainer/probe/parts.h"

#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include "base/error.h"

namespace hc::probe {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// JSON has no NaN (a subroutine without a measure, a mask without random ablations): null.
json num(double v) { return std::isnan(v) ? json(nullptr) : json(v); }
double num(const json& j) {
  return j.is_null() ? std::numeric_limits<double>::quiet_NaN() : j.get<double>();
}
json nums(const std::vector<double>& v) {
  json a = json::array();
  for (double x : v) a.push_back(num(x));
  return a;
}
std::vector<double> nums(const json& j) {
  std::vector<double> v;
  for (const json& x : j) v.push_back(num(x));
  return v;
}

json mask_json(const MaskResult& m) {
  json rand = json::array();
  for (const auto& r : m.random_ablated) rand.push_back(nums(r));
  return {{"seed", m.seed},
          {"kept", num(m.kept)},
          {"subnetwork", nums(m.subnetwork)},
          {"ablated", nums(m.ablated)},
          {"random_ablated", rand},
          {"untrained", m.untrained},
          {"untrained_full", nums(m.untrained_full)},
          {"untrained_subnetwork", nums(m.untrained_subnetwork)},
          {"untrained_ablated", nums(m.untrained_ablated)},
          {"untrained_kept", num(m.untrained_kept)},
          {"seconds", m.seconds}};
}
MaskResult mask_of(const json& j) {
  MaskResult m;
  m.seed = j.at("seed").get<uint64_t>();
  m.kept = num(j.at("kept"));
  m.subnetwork = nums(j.at("subnetwork"));
  m.ablated = nums(j.at("ablated"));
  for (const json& r : j.at("random_ablated")) m.random_ablated.push_back(nums(r));
  m.untrained = j.at("untrained").get<bool>();
  m.untrained_full = nums(j.at("untrained_full"));
  m.untrained_subnetwork = nums(j.at("untrained_subnetwork"));
  m.untrained_ablated = nums(j.at("untrained_ablated"));
  m.untrained_kept = num(j.at("untrained_kept"));
  m.seconds = j.at("seconds").get<double>();
  return m;
}

json entry_json(const SearchEntry& e) {
  return {{"lr", e.setting.lr},
          {"init", e.setting.init},
          {"layers", e.setting.layers},
          {"target_accuracy", num(e.target_accuracy)},
          {"full_accuracy", num(e.full_accuracy)},
          {"ablation_score", num(e.ablation_score)},
          {"kept", num(e.kept)},
          {"removed", e.removed},
          {"passes", e.passes},
          {"final_loss", num(e.training.final_loss)},
          {"first_loss", num(e.training.first_loss)},
          {"first_penalty", num(e.training.first_penalty)},
          {"steps", e.training.steps},
          {"seconds", e.training.seconds}};
}
SearchEntry entry_of(const json& j) {
  SearchEntry e;
  e.setting = {j.at("lr").get<double>(), j.at("init").get<double>(),
               j.at("layers").get<std::string>()};
  e.target_accuracy = num(j.at("target_accuracy"));
  e.full_accuracy = num(j.at("full_accuracy"));
  e.ablation_score = num(j.at("ablation_score"));
  e.kept = num(j.at("kept"));
  e.removed = j.at("removed").get<int64_t>();
  e.passes = j.at("passes").get<bool>();
  e.training.final_loss = num(j.at("final_loss"));
  e.training.first_loss = num(j.at("first_loss"));
  e.training.first_penalty = num(j.at("first_penalty"));
  e.training.steps = j.at("steps").get<int64_t>();
  e.training.seconds = j.at("seconds").get<double>();
  return e;
}

ModelProbe probe_of(const json& j) {
  ModelProbe m;
  m.label = j.at("label").get<std::string>();
  m.policy = j.at("policy").get<std::string>();
  m.family = j.at("family").get<std::string>();
  if (!parse_name(j.at("target").get<std::string>(), m.target))
    throw Error(fmt::format("unknown mask target '{}'", j.at("target").get<std::string>()));
  for (const json& u : j.at("units"))
    m.units.push_back({u.at("name").get<std::string>(), u.at("shape").get<std::vector<int64_t>>(),
                       u.at("stage").get<int>()});
  m.subroutines = j.at("subroutines").get<std::vector<std::string>>();
  m.descriptions = j.at("descriptions").get<std::vector<std::string>>();
  m.chance = nums(j.at("chance"));
  m.full = nums(j.at("full"));
  m.chance_loss = nums(j.at("chance_loss"));
  m.rows = j.at("rows").get<std::vector<int64_t>>();
  m.tasks = j.at("tasks").get<std::vector<int64_t>>();
  m.seconds = j.at("seconds").get<double>();
  for (const json& p : j.at("probes")) {
    SubroutineProbe sp;
    sp.index = p.at("index").get<size_t>();
    sp.chosen = p.at("chosen").get<int>();
    sp.threshold_met = p.at("threshold_met").get<bool>();
    sp.seconds = p.at("seconds").get<double>();
    for (const json& e : p.at("search")) sp.search.push_back(entry_of(e));
    for (const json& r : p.at("masks")) sp.masks.push_back(mask_of(r));
    m.probes.push_back(std::move(sp));
  }
  return m;
}

}  // namespace

json PartKey::to_json() const {
  return {{"run", run},
          {"checkpoint", checkpoint},
          {"checkpoint_bytes", checkpoint_bytes},
          {"checkpoint_time", checkpoint_time},
          {"target", target},
          {"subroutine", subroutine},
          {"settings", settings}};
}

PartKey part_key(const std::string& run, const std::string& checkpoint, MaskTarget target,
                 const std::string& subroutine, const ProbeConfig& config) {
  PartKey k;
  k.run = run;
  k.checkpoint = fs::path(checkpoint).filename().string();
  k.checkpoint_bytes = static_cast<int64_t>(fs::file_size(checkpoint));
  k.checkpoint_time = fs::last_write_time(checkpoint).time_since_epoch().count();
  k.target = name_of(target);
  k.subroutine = subroutine;
  k.settings = to_yaml(probe_config_yaml(config));
  return k;
}

std::string part_file_name(const PartKey& key) {
  std::string run = fs::path(key.run).lexically_normal().string();
  while (!run.empty() && run.back() == '/') run.pop_back();
  for (char& c : run)
    if (c == '/' || c == '\\' || c == ':') c = '_';
  return fmt::format("{}.{}.{}.{}.json", run, key.checkpoint, key.target, key.subroutine);
}

json part_json(const PartKey& key, const ModelProbe& m) {
  json units = json::array();
  for (const MaskUnit& u : m.units)
    units.push_back({{"name", u.name}, {"shape", u.shape}, {"stage", u.stage}});
  json probes = json::array();
  for (const SubroutineProbe& sp : m.probes) {
    json search = json::array(), masks = json::array();
    for (const SearchEntry& e : sp.search) search.push_back(entry_json(e));
    for (const MaskResult& r : sp.masks) masks.push_back(mask_json(r));
    probes.push_back({{"index", sp.index},
                      {"chosen", sp.chosen},
                      {"threshold_met", sp.threshold_met},
                      {"seconds", sp.seconds},
                      {"search", search},
                      {"masks", masks}});
  }
  return {{"key", key.to_json()},
          {"probe",
           {{"label", m.label},
            {"policy", m.policy},
            {"family", m.family},
            {"target", name_of(m.target)},
            {"units", units},
            {"subroutines", m.subroutines},
            {"descriptions", m.descriptions},
            {"chance", nums(m.chance)},
            {"full", nums(m.full)},
            {"chance_loss", nums(m.chance_loss)},
            {"rows", m.rows},
            {"tasks", m.tasks},
            {"seconds", m.seconds},
            {"probes", probes}}}};
}

std::optional<ModelProbe> read_part(const std::string& path, const PartKey& key) {
  if (!fs::exists(path)) return std::nullopt;
  try {
    std::ifstream in(path);
    const json j = json::parse(in);
    // The key as saved, compared whole: any field that differs means another part.
    if (j.at("key") != key.to_json()) return std::nullopt;
    return probe_of(j.at("probe"));
  } catch (const json::exception& e) {
    throw Error(fmt::format("{}: not a saved probe part ({}); remove it to probe the part again",
                            path, e.what()));
  }
}

}  // namespace hc::probe
