#include "python/convert.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <cstring>

#include "base/error.h"
#include "families/registry.h"

namespace hc::python {
namespace {

// A Python value as a YAML node.
YAML::Node to_yaml(const py::handle& v) {
  if (v.is_none()) return YAML::Node(YAML::NodeType::Null);
  if (PyBool_Check(v.ptr())) return YAML::Node(v.cast<bool>());
  if (PyIndex_Check(v.ptr()))
    return YAML::Node(py::reinterpret_steal<py::int_>(PyNumber_Index(v.ptr())).cast<int64_t>());
  if (PyFloat_Check(v.ptr()) || (py::hasattr(v, "__float__") && !py::isinstance<py::str>(v)))
    return YAML::Node(py::float_(py::reinterpret_borrow<py::object>(v)).cast<double>());
  if (py::isinstance<py::str>(v)) return YAML::Node(v.cast<std::string>());
  if (py::isinstance<py::dict>(v)) {
    YAML::Node map(YAML::NodeType::Map);
    for (const auto& [k, x] : v.cast<py::dict>()) map[py::str(k).cast<std::string>()] = to_yaml(x);
    return map;
  }
  if (py::isinstance<py::sequence>(v)) {
    YAML::Node seq(YAML::NodeType::Sequence);
    for (const py::handle x : v) seq.push_back(to_yaml(x));
    return seq;
  }
  throw ConfigError(
      fmt::format("cannot use a {} as a config value",
                  py::str(py::type::handle_of(v).attr("__name__")).cast<std::string>()));
}

std::string type_name(const py::handle& v) {
  return py::str(py::type::handle_of(v).attr("__name__")).cast<std::string>();
}

template <class T>
py::array_t<T> array(std::vector<py::ssize_t> shape, const T* data) {
  py::array_t<T> a(shape);
  size_t n = 1;
  for (auto s : shape) n *= static_cast<size_t>(s);
  if (n) std::memcpy(a.mutable_data(), data, n * sizeof(T));
  return a;
}

template <class T, class U>
py::array_t<T> array_of(std::vector<py::ssize_t> shape, const std::vector<U>& v) {
  py::array_t<T> a(shape);
  for (size_t i = 0; i < v.size(); ++i) a.mutable_data()[i] = static_cast<T>(v[i]);
  return a;
}

// An array argument of a dataset with the given trailing size (0: one value per row).
template <class T>
py::array_t<T, py::array::c_style | py::array::forcecast> column(const py::dict& d, const char* key,
                                                                 const std::string& what,
                                                                 int64_t rows, int64_t width) {
  const py::object v = d[key];
  auto a = py::array_t<T, py::array::c_style | py::array::forcecast>::ensure(v);
  if (!a)
    throw ConfigError(
        fmt::format("{}['{}']: expected an array, got a {}", what, key, type_name(v)));
  const bool ok = width == 0 ? a.ndim() == 1 && a.shape(0) == rows
                             : a.ndim() == 2 && a.shape(0) == rows && a.shape(1) == width;
  if (!ok) {
    std::vector<py::ssize_t> shape(a.shape(), a.shape() + a.ndim());
    throw ConfigError(fmt::format("{}['{}']: expected shape ({}{}), got ({})", what, key, rows,
                                  width ? fmt::format(", {}", width) : ",",
                                  fmt::join(shape, ", ")));
  }
  return a;
}

}  // namespace

void register_errors(py::module_& m) {
  static py::exception<Error> error(m, "Error", PyExc_RuntimeError);
  static py::exception<ConfigError> config_error(m, "ConfigError", error.ptr());
  static py::exception<EnvError> env_error(m, "EnvError", error.ptr());
  // Most derived first; the message is the one the CLI prints.
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const ConfigError& e) {
      config_error(e.what());
    } catch (const EnvError& e) {
      env_error(e.what());
    } catch (const Error& e) {
      error(e.what());
    }
  });
}

std::shared_ptr<const tasks::TaskFamily> make_family(const std::string& name,
                                                     const py::dict& config) {
  const families::FamilyInfo& info = families::find_family(name);
  YAML::Node section(YAML::NodeType::Map);
  section["name"] = name;
  for (const auto& [k, v] : config) {
    // "a.b" reaches key b of mapping a, as the CLI's overrides do.
    const std::string key = py::str(k).cast<std::string>();
    YAML::Node at = section;
    size_t start = 0;
    for (size_t dot; (dot = key.find('.', start)) != std::string::npos; start = dot + 1) {
      const std::string part = key.substr(start, dot - start);
      if (!at[part] || !at[part].IsMap()) at[part] = YAML::Node(YAML::NodeType::Map);
      at.reset(at[part]);
    }
    at[key.substr(start)] = to_yaml(v);
  }
  return info.make(section, "keyword arguments");
}

py::list config_keys(const std::string& name) {
  py::list out;
  for (const auto& e : families::find_family(name).docs()) {
    py::dict d;
    d["key"] = e.key;
    d["default"] = to_python(YAML::Load(e.value));
    d["doc"] = e.doc;
    d["expected"] = e.expected;
    out.append(d);
  }
  return out;
}

py::object to_python(const YAML::Node& node) {
  if (!node || node.IsNull()) return py::none();
  if (node.IsMap()) {
    py::dict d;
    for (const auto& kv : node) d[py::str(kv.first.Scalar())] = to_python(kv.second);
    return d;
  }
  if (node.IsSequence()) {
    py::list l;
    for (const auto& x : node) l.append(to_python(x));
    return l;
  }
  const std::string& s = node.Scalar();
  int64_t i = 0;
  if (auto r = std::from_chars(s.data(), s.data() + s.size(), i);
      r.ec == std::errc() && r.ptr == s.data() + s.size())
    return py::int_(i);
  char* end = nullptr;
  const double x = std::strtod(s.c_str(), &end);
  if (!s.empty() && end == s.c_str() + s.size()) return py::float_(x);
  if (s == "true") return py::bool_(true);
  if (s == "false") return py::bool_(false);
  if (s == "~" || s == "null") return py::none();
  return py::str(s);
}

py::array_t<int64_t> as_array(const std::vector<int64_t>& ids) {
  return array<int64_t>({static_cast<py::ssize_t>(ids.size())}, ids.data());
}
py::array_t<float> as_array(const std::vector<float>& v) {
  return array<float>({static_cast<py::ssize_t>(v.size())}, v.data());
}

py::dict splits_dict(const tasks::TaskFamily& family) {
  const tasks::Splits& s = family.splits();
  py::dict d;
  d["train"] = as_array(s.train);
  d["ood"] = as_array(s.ood);
  for (const auto& [h, ids] : s.ood_by_hotness)
    d[py::str(fmt::format("ood_hot{}", h))] = as_array(ids);
  return d;
}

py::dict task_dict(const tasks::TaskFamily& family, const tasks::Task& task) {
  const tasks::TaskSpace& space = family.task_space();
  py::dict d;
  d["id"] = task.id;
  d["description"] = space.describe(task);
  d["weights"] = as_array(task.weights);
  d["latent"] = as_array(space.latent(task));
  d["hotness"] = space.hotness(task);
  return d;
}

py::dict observation_spec_dict(const envs::ObservationSpec& spec) {
  const std::vector<py::ssize_t> shape(spec.shape.begin(), spec.shape.end());
  py::dict d;
  d["shape"] = py::tuple(py::cast(shape));
  d["low"] = array<float>(shape, spec.low.data());
  d["high"] = array<float>(shape, spec.high.data());
  d["binary"] = spec.binary;
  d["names"] = spec.names;
  return d;
}

py::dict action_spec_dict(const envs::ActionSpec& spec) {
  py::dict d;
  d["discrete"] = spec.discrete;
  d["n"] = spec.n;
  d["names"] = spec.names;
  d["low"] = spec.discrete ? py::object(py::none()) : as_array(spec.low);
  d["high"] = spec.discrete ? py::object(py::none()) : as_array(spec.high);
  return d;
}

envs::Action to_action(const envs::ActionSpec& spec, const py::handle& a) {
  if (spec.discrete) {
    if (!PyBool_Check(a.ptr()) && PyIndex_Check(a.ptr())) {
      const py::object i = py::reinterpret_steal<py::object>(PyNumber_Index(a.ptr()));
      int overflow = 0;
      const long long v = PyLong_AsLongLongAndOverflow(i.ptr(), &overflow);
      if (!overflow && v >= 0 && v < spec.n) return envs::Action::discrete(static_cast<int>(v));
    } else if (const auto arr = py::array::ensure(a);
               arr && arr.ndim() == 0 && (arr.dtype().kind() == 'i' || arr.dtype().kind() == 'u')) {
      return to_action(spec, arr.attr("item")());  // a 0-d integer array
    }
    throw EnvError(fmt::format("invalid action {}: expected a discrete action in [0, {})",
                               py::repr(a).cast<std::string>(), spec.n));
  }
  auto v = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(a);
  if (!v || v.ndim() != 1 || v.shape(0) != spec.n)
    throw EnvError(fmt::format("invalid action {}: expected a continuous vector of {} values",
                               py::repr(a).cast<std::string>(), spec.n));
  return envs::Action::continuous(std::span<const float>(v.data(), spec.n));
}

py::object from_action(const envs::ActionSpec& spec, const envs::Action& a) {
  if (spec.discrete) return py::int_(a.index);
  return as_array(std::vector<float>(a.vector().begin(), a.vector().end()));
}

void to_actions(const envs::ActionSpec& spec, const py::handle& actions,
                std::vector<envs::Action>& out) {
  const auto b = static_cast<py::ssize_t>(out.size());
  const py::array raw = py::array::ensure(actions);
  if (!raw) throw EnvError(fmt::format("actions: expected an array, got a {}", type_name(actions)));
  if (spec.discrete) {
    if (raw.dtype().kind() != 'i' && raw.dtype().kind() != 'u')
      throw EnvError(fmt::format("actions: expected integers, got an array of dtype {}",
                                 py::str(raw.dtype()).cast<std::string>()));
    const auto a = py::array_t<int64_t, py::array::c_style | py::array::forcecast>::ensure(raw);
    if (a.ndim() != 1 || a.shape(0) != b)
      throw EnvError(fmt::format("actions: expected shape ({},), got {}", b,
                                 py::str(raw.attr("shape")).cast<std::string>()));
    const int64_t* p = a.data();
    for (py::ssize_t i = 0; i < b; ++i)
      if (p[i] < 0 || p[i] >= spec.n)
        throw EnvError(
            fmt::format("invalid action {} (actions[{}]): expected a discrete action in [0, {})",
                        p[i], i, spec.n));
    // Only the index changes: writing whole Actions (44 bytes each) cost a tenth of a step at
    // B = 1024.
    for (py::ssize_t i = 0; i < b; ++i) out[i].index = static_cast<int>(p[i]);
    return;
  }
  const auto a = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(raw);
  if (a.ndim() != 2 || a.shape(0) != b || a.shape(1) != spec.n)
    throw EnvError(fmt::format("actions: expected shape ({}, {}), got {}", b, spec.n,
                               py::str(raw.attr("shape")).cast<std::string>()));
  const float* p = a.data();
  for (py::ssize_t i = 0; i < b; ++i)
    out[i] = envs::Action::continuous(std::span<const float>(p + i * spec.n, spec.n));
}

py::dict dataset_dict(const tasks::TaskFamily& family, const tasks::Dataset& d) {
  const auto rows = static_cast<py::ssize_t>(d.rows);
  py::dict out;
  out["inputs"] = array<float>({rows, family.input_dim()}, d.inputs.data());
  if (!d.labels.empty()) out["labels"] = array_of<int64_t>({rows}, d.labels);
  if (!d.targets.empty())
    out["targets"] = array<float>({rows, family.output_dim()}, d.targets.data());
  out["mask"] = array<float>({rows}, d.mask.data());
  if (d.episodes > 0) {
    out["episode"] = array_of<int64_t>({rows}, d.episode);
    out["step"] = array_of<int64_t>({rows}, d.step);
  }
  return out;
}

tasks::Dataset dataset_from(const tasks::TaskFamily& family, const py::dict& d,
                            const std::string& what) {
  using tasks::TargetKind;
  const TargetKind kind = family.target_kind();
  if (!d.contains("inputs")) throw ConfigError(fmt::format("{}: no 'inputs'", what));
  const auto inputs = py::array::ensure(d["inputs"]);
  if (!inputs || inputs.ndim() != 2)
    throw ConfigError(fmt::format("{}['inputs']: expected an array of shape (rows, {})", what,
                                  family.input_dim()));
  tasks::Dataset out;
  out.rows = inputs.shape(0);
  if (out.rows < 1) throw ConfigError(fmt::format("{}: no rows", what));
  const auto x = column<float>(d, "inputs", what, out.rows, family.input_dim());
  out.inputs.assign(x.data(), x.data() + x.size());
  const bool labels = kind == TargetKind::kLabels, targets = kind != TargetKind::kLabels;
  const char* needed = labels ? "labels" : "targets";
  if (!d.contains(needed))
    throw ConfigError(fmt::format("{}: no '{}' (a '{}' family's {} are {})", what, needed,
                                  family.name(), needed, tasks::to_string(kind)));
  if (targets) {
    const auto t = column<float>(d, "targets", what, out.rows, family.output_dim());
    out.targets.assign(t.data(), t.data() + t.size());
  }
  if (kind != TargetKind::kActions) {
    if (d.contains("labels")) {
      const auto l = column<int64_t>(d, "labels", what, out.rows, 0);
      for (int64_t r = 0; r < out.rows; ++r) {
        if (l.data()[r] < 0 || l.data()[r] >= family.output_dim())
          throw ConfigError(fmt::format("{}['labels'][{}] is {}, expected a class in [0, {})", what,
                                        r, l.data()[r], family.output_dim()));
        out.labels.push_back(static_cast<int32_t>(l.data()[r]));
      }
    } else {  // the class a target row prefers
      const int64_t c = family.output_dim();
      for (int64_t r = 0; r < out.rows; ++r)
        out.labels.push_back(static_cast<int32_t>(
            std::max_element(out.targets.begin() + r * c, out.targets.begin() + (r + 1) * c) -
            (out.targets.begin() + r * c)));
    }
  }
  if (d.contains("mask")) {
    const auto m = column<float>(d, "mask", what, out.rows, 0);
    out.mask.assign(m.data(), m.data() + out.rows);
  } else {
    out.mask.assign(out.rows, 1.0f);
  }
  if (d.contains("episode") != d.contains("step"))
    throw ConfigError(fmt::format("{}: 'episode' and 'step' go together", what));
  if (d.contains("episode")) {
    const auto e = column<int64_t>(d, "episode", what, out.rows, 0);
    const auto s = column<int64_t>(d, "step", what, out.rows, 0);
    for (int64_t r = 0; r < out.rows; ++r) {
      out.episode.push_back(static_cast<int32_t>(e.data()[r]));
      out.step.push_back(static_cast<int32_t>(s.data()[r]));
      out.episodes = std::max<int>(out.episodes, static_cast<int>(e.data()[r]) + 1);
    }
  }
  return out;
}

py::dict task_data_dict(const tasks::TaskFamily& family, const tasks::TaskData& d) {
  py::dict out;
  out["task"] = d.task.id;
  out["weights"] = as_array(d.task.weights);
  out["latent"] = as_array(d.latent);
  out["support"] = dataset_dict(family, d.support);
  out["query"] = dataset_dict(family, d.query);
  return out;
}

py::dict episodes_dict(const envs::EnvFamily& family, const std::vector<tasks::Task>& tasks,
                       const std::vector<envs::Episode>& episodes, bool values) {
  const envs::ActionSpec& act = family.action_spec();
  const auto& shape = family.observation_spec().shape;
  const int64_t n_obs = family.observation_spec().size();
  const auto num = static_cast<py::ssize_t>(episodes.size());
  py::ssize_t rows = 0;
  for (const auto& ep : episodes) rows += ep.steps();
  std::vector<py::ssize_t> obs_shape = {rows};
  obs_shape.insert(obs_shape.end(), shape.begin(), shape.end());
  py::array_t<float> obs(obs_shape), rewards(rows);
  py::array_t<int64_t> episode(rows), step(rows);
  py::array actions = act.discrete
                          ? py::array(py::array_t<int64_t>(rows))
                          : py::array(py::array_t<float>({rows, static_cast<py::ssize_t>(act.n)}));
  py::array_t<float> action_values({values ? rows : 0, static_cast<py::ssize_t>(act.n)});
  const int latent_dim = family.task_space().latent_dim();
  const auto n_weights = static_cast<py::ssize_t>(tasks.empty() ? 0 : tasks[0].weights.size());
  py::array_t<float> weights({num, n_weights});
  py::array_t<float> latent({num, static_cast<py::ssize_t>(latent_dim)}), returns(num);
  py::array_t<int64_t> task(num), length(num);
  py::array_t<bool> success(num);
  py::ssize_t r = 0;
  for (py::ssize_t j = 0; j < num; ++j) {
    const envs::Episode& ep = episodes[j];
    for (int s = 0; s < ep.steps(); ++s, ++r) {
      std::memcpy(obs.mutable_data() + r * n_obs, ep.observations.data() + s * n_obs,
                  n_obs * sizeof(float));
      if (act.discrete)
        static_cast<int64_t*>(actions.mutable_data())[r] = ep.actions[s].index;
      else
        std::memcpy(static_cast<float*>(actions.mutable_data()) + r * act.n,
                    ep.actions[s].value.data(), act.n * sizeof(float));
      if (values)
        std::memcpy(action_values.mutable_data() + r * act.n, ep.values.data() + s * act.n,
                    act.n * sizeof(float));
      rewards.mutable_data()[r] = ep.rewards[s];
      episode.mutable_data()[r] = j;
      step.mutable_data()[r] = s;
    }
    task.mutable_data()[j] = tasks[j].id;
    std::copy(tasks[j].weights.begin(), tasks[j].weights.end(),
              weights.mutable_data() + j * n_weights);
    family.task_space().latent(
        tasks[j], std::span<float>(latent.mutable_data() + j * latent_dim, latent_dim));
    returns.mutable_data()[j] = ep.total_return(family.discount());
    success.mutable_data()[j] = ep.success;
    length.mutable_data()[j] = ep.steps();
  }
  py::dict d;
  d["observations"] = obs;
  d["actions"] = actions;
  if (values) d["action_values"] = action_values;
  d["rewards"] = rewards;
  d["episode"] = episode;
  d["step"] = step;
  d["task"] = task;
  d["weights"] = weights;
  d["latent"] = latent;
  d["returns"] = returns;
  d["success"] = success;
  d["length"] = length;
  return d;
}

}  // namespace hc::python
