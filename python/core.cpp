// hypercomp._core: the task families, their environments one at a time (the Gymnasium API is
// completed in hypercomp/__init__.py) and batched (VectorEnv, stepping in C++ into NumPy
// buffers), experts and demonstrations. No LibTorch: trained runs are in _runs (runs.cpp).
#include <fmt/format.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <tbb/task_arena.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "envs/core/vector_env.h"
#include "families/registry.h"
#include "python/convert.h"
#ifdef HYPERCOMP_HAVE_RENDER
#include "render/canvas.h"
#endif

namespace py = pybind11;

namespace hc::python {
namespace {

using envs::Action;
using envs::EnvFamily;
using tasks::Task;
using tasks::TaskFamily;

constexpr uint64_t kTaskDraw = 0x7a5c;

// A family as Python sees it: the family and its registry entry.
struct Family {
  std::shared_ptr<const TaskFamily> family;
  const families::FamilyInfo* info;

  const EnvFamily& env_family(std::string_view what) const {
    return envs::require_env_family(*family, what);
  }
  const tasks::TaskSpace& space() const { return family->task_space(); }

  // A task id from an int or a description ("quadrant=2 interaction=0 ...").
  int64_t task_id(const py::handle& task) const {
    if (py::isinstance<py::str>(task)) return space().find(task.cast<std::string>());
    if (PyBool_Check(task.ptr()) || !PyIndex_Check(task.ptr()))
      throw ConfigError(fmt::format("task {}: expected a task id or a description",
                                    py::repr(task).cast<std::string>()));
    const int64_t id = task.cast<int64_t>();
    space().task(id);  // range check, with the family's message
    return id;
  }
  // The task ids of a split name ("train", "ood", "ood_hot4"), of a task, or of a list of tasks.
  std::vector<int64_t> task_ids(const py::handle& tasks) const {
    // NumPy arrays define __index__ too (for their size-one case): an array is a list of ids
    // unless it has no dimensions.
    if (py::isinstance<py::array>(tasks)) {
      const auto a = py::reinterpret_borrow<py::array>(tasks);
      if (a.ndim() == 0) return {task_id(a.attr("item")())};
    } else if (PyIndex_Check(tasks.ptr())) {
      return {task_id(tasks)};
    }
    if (!py::isinstance<py::str>(tasks)) {
      std::vector<int64_t> ids;
      for (const py::handle t : tasks) ids.push_back(task_id(t));
      if (ids.empty()) throw ConfigError("tasks: expected at least one task, got none");
      return ids;
    }
    const std::string name = tasks.cast<std::string>();
    const tasks::Splits& s = family->splits();
    std::vector<std::string> names = {"train", "ood"};
    for (const auto& [h, ids] : s.ood_by_hotness) names.push_back(fmt::format("ood_hot{}", h));
    const std::vector<int64_t>* ids = nullptr;
    if (name == "train") ids = &s.train;
    if (name == "ood") ids = &s.ood;
    for (const auto& [h, hot] : s.ood_by_hotness)
      if (name == fmt::format("ood_hot{}", h)) ids = &hot;
    if (!ids)
      throw ConfigError(fmt::format("split '{}' of '{}': expected one of {}", name, family->name(),
                                    fmt::join(names, ", ")));
    if (ids->empty())
      throw ConfigError(fmt::format("split '{}' of '{}' is empty", name, family->name()));
    return *ids;
  }
  // The task with id `id` and, if given, these combination weights (else the family's instance
  // for `seed`: continuous weights drawn from it where the family uses them).
  Task instance(int64_t id, const py::handle& weights, uint64_t seed) const {
    if (weights.is_none()) return family->instance(space().task(id), seed);
    Task t = space().task(id);
    t.weights = weights.cast<std::vector<float>>();
    space().validate(t);
    return t;
  }
};

// The task of every episode: drawn uniformly from `ids` with the episode's seed, with its
// instance's weights drawn from that seed too. One list and one rule for Env and VectorEnv.
struct EpisodeTasks {
  std::shared_ptr<const TaskFamily> family;
  std::vector<int64_t> ids;
  Task operator()(uint64_t episode_seed) const {
    Rng rng(derive_seed(episode_seed, {kTaskDraw}));
    const int64_t id = ids.size() == 1 ? ids[0] : ids[rng.uniform_int(ids.size())];
    return family->instance(family->task_space().task(id), episode_seed);
  }
};

// The seed of episode k of an environment whose first episode has seed `first` (the rule of
// envs::VectorEnv's autoreset).
uint64_t episode_seed(uint64_t first, int64_t k) {
  return k == 0 ? first : derive_seed(first, {static_cast<uint64_t>(k)});
}

// The name of an end reason, made once per reason (info dicts are built at every step). Never
// freed: Python objects must not outlive the interpreter in static destructors.
py::str end_name(envs::EndReason r) {
  static const auto* names = [] {
    auto* n = new std::vector<py::str>;
    for (int i = 0; i <= static_cast<int>(envs::EndReason::kTimeLimit); ++i)
      n->emplace_back(std::string(envs::to_string(static_cast<envs::EndReason>(i))));
    return n;
  }();
  return (*names)[static_cast<size_t>(r)];
}

// One environment: Gymnasium's reset/step, the expert and the picture.
class Env {
 public:
  Env(Family family, const py::handle& tasks, uint64_t seed, int width, int height)
      : family_(std::move(family)),
        f_(family_.env_family("hypercomp.make")),
        env_(f_.make_env()),
        expert_(f_.make_expert()),
        tasks_{family_.family, family_.task_ids(tasks)},
        first_seed_(seed),
        width_(width),
        height_(height) {
    if (width < 16 || height < 16 || width > 4096 || height > 4096)
      throw ConfigError(
          fmt::format("render size {}x{}: expected 16 to 4096 pixels a side", width, height));
  }

  py::tuple reset(std::optional<uint64_t> seed, const py::handle& options) {
    if (seed) first_seed_ = *seed, episode_ = 0;
    const uint64_t s = episode_seed(first_seed_, episode_++);
    Task task;
    if (!options.is_none() && options.cast<py::dict>().contains("task")) {
      const py::dict o = options.cast<py::dict>();
      const py::object weights = o.contains("weights") ? py::object(o["weights"]) : py::none();
      task = family_.instance(family_.task_id(o["task"]), weights, s);
    } else {
      task = tasks_(s);
    }
    env_->reset(s, task);
    return py::make_tuple(observation(), info());
  }

  py::tuple step(const py::handle& action) {
    const envs::StepResult r = env_->step(to_action(f_.action_spec(), action));
    return py::make_tuple(observation(), r.reward, r.terminated, r.truncated, info());
  }

  py::array_t<float> observation() const {
    const auto& spec = f_.observation_spec();
    py::array_t<float> obs(std::vector<py::ssize_t>(spec.shape.begin(), spec.shape.end()));
    env_->observe(std::span<float>(obs.mutable_data(), static_cast<size_t>(spec.size())));
    return obs;
  }

  py::dict info() const {
    py::dict d;
    d["task"] = env_->task().id;
    d["end"] = end_name(env_->end_reason());
    d["success"] = env_->success();
    return d;
  }

  py::object expert_action() const {
    if (!env_->started() || env_->done())
      throw EnvError("expert_action(): no running episode (call reset())");
    return from_action(f_.action_spec(), expert_->act(*env_, {}));
  }

  py::dict task() const {
    if (!env_->started()) throw EnvError("task: no episode yet (call reset())");
    return task_dict(*family_.family, env_->task());
  }

  py::array_t<uint8_t> render() {
#ifdef HYPERCOMP_HAVE_RENDER
    if (!env_->started()) throw EnvError("render(): no episode yet (call reset())");
    if (!canvas_) canvas_ = std::make_unique<render::Canvas>(width_, height_);
    canvas_->clear({255, 255, 255});
    render::draw_scene(env_->scene(), *canvas_);
    py::array_t<uint8_t> rgb({height_, width_, 3});
    const std::vector<uint8_t>& rgba = canvas_->pixels();
    uint8_t* out = rgb.mutable_data();
    for (size_t p = 0, n = static_cast<size_t>(width_) * height_; p < n; ++p)
      for (int c = 0; c < 3; ++c) out[3 * p + c] = rgba[4 * p + c];
    return rgb;
#else
    throw Error("render(): hypercomp was built without its renderer (HYPERCOMP_RENDER=OFF)");
#endif
  }

  int elapsed() const { return env_->elapsed(); }
  int max_steps() const { return env_->max_steps(); }

 private:
  Family family_;
  const EnvFamily& f_;
  std::unique_ptr<envs::Env> env_;
  std::unique_ptr<envs::Expert> expert_;
  EpisodeTasks tasks_;
  uint64_t first_seed_;
  int64_t episode_ = 0;
  int width_, height_;
#ifdef HYPERCOMP_HAVE_RENDER
  std::unique_ptr<render::Canvas> canvas_;
#endif
};

// B environments stepped together in C++ (envs::VectorEnv: TBB, next-step autoreset), every
// result written into NumPy arrays that are views of its buffers: no copy per step, and the
// same array objects returned by every call. The arrays keep the buffers alive.
class VectorEnv {
 public:
  // `threads`: the most threads a step uses (0: every core).
  VectorEnv(const Family& family, int num_envs, const py::handle& tasks, uint64_t seed, int threads)
      : f_(family.env_family("hypercomp.VectorEnv")),
        s_(std::make_shared<State>(family, f_, num_envs, tasks)),
        seed_(seed),
        actions_(num_envs),
        arena_(threads > 0 ? threads : tbb::task_arena::automatic) {
    if (threads < 0)
      throw ConfigError(fmt::format("threads = {}: expected 0 (every core) or more", threads));
    State* s = s_.get();
    s->venv.set_task_schedule([s](int i, int64_t k) {
      Task t = s->tasks(episode_seed(s->seeds[i], k));
      s->task[i] = t.id;
      return t;
    });
    const py::capsule keep(new std::shared_ptr<State>(s_),
                           [](void* p) { delete static_cast<std::shared_ptr<State>*>(p); });
    const auto& shape = f_.observation_spec().shape;
    std::vector<py::ssize_t> obs_shape = {num_envs};
    obs_shape.insert(obs_shape.end(), shape.begin(), shape.end());
    obs_ = view<float>(s->venv.observations().data(), obs_shape, keep);
    rewards_ = view<float>(s->venv.rewards().data(), {num_envs}, keep);
    terminated_ = view<bool>(s->venv.terminated().data(), {num_envs}, keep);
    truncated_ = view<bool>(s->venv.truncated().data(), {num_envs}, keep);
    info_["task"] = view<int64_t>(s->task.data(), {num_envs}, keep);
    static_assert(sizeof(envs::EndReason) == 1, "info['end'] is a uint8 view");
    info_["end"] = view<uint8_t>(s->venv.ends().data(), {num_envs}, keep);
    info_["success"] = view<bool>(s->venv.success().data(), {num_envs}, keep);
  }

  // Environment i's first episode has seed derive_seed(seed, {i}).
  py::tuple reset(std::optional<uint64_t> seed) {
    if (seed) seed_ = *seed;
    std::vector<Task> tasks(s_->seeds.size());
    for (size_t i = 0; i < tasks.size(); ++i) {
      s_->seeds[i] = derive_seed(seed_, {static_cast<uint64_t>(i)});
      tasks[i] = s_->tasks(s_->seeds[i]);
      s_->task[i] = tasks[i].id;
    }
    {
      py::gil_scoped_release free;
      arena_.execute([&] { s_->venv.reset(tasks, s_->seeds); });
    }
    return py::make_tuple(obs_, info_);
  }

  py::tuple step(const py::handle& actions) {
    to_actions(f_.action_spec(), actions, actions_);
    {
      py::gil_scoped_release free;
      arena_.execute([&] { s_->venv.step(actions_); });
    }
    return py::make_tuple(obs_, rewards_, terminated_, truncated_, info_);
  }

  // The expert's action in every environment (in one whose episode has just ended, the action
  // the next step ignores: 0, or zeros).
  py::array expert_actions() const {
    const envs::ActionSpec& spec = f_.action_spec();
    const envs::VectorEnv& venv = s_->venv;
    const int b = venv.size();
    if (!venv.env(0).started()) throw EnvError("expert_actions(): call reset() first");
    std::vector<Action> a(b);
    for (int i = 0; i < b; ++i)
      a[i] = venv.env(i).done() ? Action{} : expert_->act(venv.env(i), {});
    if (spec.discrete) {
      py::array_t<int64_t> out(b);
      for (int i = 0; i < b; ++i) out.mutable_data()[i] = std::max(a[i].index, 0);
      return out;
    }
    py::array_t<float> out({b, spec.n});
    for (int i = 0; i < b; ++i)
      for (int c = 0; c < spec.n; ++c) out.mutable_data()[i * spec.n + c] = a[i].value[c];
    return out;
  }

  int size() const { return s_->venv.size(); }

 private:
  struct State {
    State(const Family& family, const EnvFamily& f, int num_envs, const py::handle& ids)
        : family(family.family),
          venv(f, num_envs),
          tasks{family.family, family.task_ids(ids)},
          seeds(num_envs),
          task(num_envs, -1) {}
    std::shared_ptr<const TaskFamily> family;  // outlives the environments made from it
    envs::VectorEnv venv;
    EpisodeTasks tasks;
    std::vector<uint64_t> seeds;  // of every environment's first episode
    std::vector<int64_t> task;    // info: the task each environment plays (set as drawn)
  };

  template <class T, class U>
  static py::array view(const U* data, std::vector<py::ssize_t> shape, const py::capsule& keep) {
    py::array a(py::dtype::of<T>(), std::move(shape), {}, reinterpret_cast<const T*>(data), keep);
    a.attr("setflags")(py::arg("write") = false);
    return a;
  }

  const EnvFamily& f_;
  std::shared_ptr<State> s_;
  std::unique_ptr<envs::Expert> expert_ = f_.make_expert();
  uint64_t seed_;
  std::vector<Action> actions_;
  tbb::task_arena arena_;
  py::object obs_, rewards_, terminated_, truncated_;
  py::dict info_;
};

// Expert demonstrations of `num` episodes, batched: episode j plays a task drawn from `tasks`
// with seed derive_seed(seed, {j}), all stepped together (envs::rollout).
py::dict demonstrations(const Family& family, int num, const py::handle& tasks, uint64_t seed,
                        bool values) {
  if (num < 1) throw ConfigError(fmt::format("num = {}: expected at least 1", num));
  const EnvFamily& f = family.env_family("Family.demonstrations");
  if (values && f.target_kind() != tasks::TargetKind::kValues)
    throw ConfigError(
        fmt::format("action values: '{}' has no expert with exact action values", f.name()));
  const EpisodeTasks draw{family.family, family.task_ids(tasks)};
  std::vector<Task> instances(num);
  std::vector<uint64_t> seeds(num);
  for (int j = 0; j < num; ++j) {
    seeds[j] = derive_seed(seed, {static_cast<uint64_t>(j)});
    instances[j] = draw(seeds[j]);
  }
  std::vector<envs::Episode> episodes;
  {
    py::gil_scoped_release free;
    envs::VectorEnv venv(f, num);
    const auto expert = f.make_expert();
    episodes =
        envs::rollout(venv, instances, seeds, envs::expert_actor(*expert), {.values = values});
  }
  return episodes_dict(f, instances, episodes, values);
}

}  // namespace
}  // namespace hc::python

PYBIND11_MODULE(_core, m) {
  using namespace hc;
  using namespace hc::python;
  m.doc() = "hypercomp's environments, families and experts (no LibTorch).";
  register_errors(m);

  m.def("families", &families::family_names, "The registered family names, in order.");
  m.def("summary", [](const std::string& name) { return families::find_family(name).summary; });
  m.def("config_keys", [](const std::string& name) { return config_keys(name); });
  m.def("closed_loop_seed", &envs::closed_loop_seed, py::arg("data_seed"),
        "The seed of the episode evaluation plays with a policy adapted on the task data of "
        "this seed.");
  m.def(
      "derive_seed", [](uint64_t seed, uint64_t id) { return derive_seed(seed, {id}); },
      py::arg("seed"), py::arg("id"),
      "The seed of stream `id` of `seed` (episode k after the first, environment i of a "
      "VectorEnv, demonstration j).");
  m.def("end_reasons", [] {
    std::vector<std::string> names;
    for (int i = 0; i <= static_cast<int>(envs::EndReason::kTimeLimit); ++i)
      names.emplace_back(envs::to_string(static_cast<envs::EndReason>(i)));
    return names;
  });

  py::class_<Family>(m, "Family")
      .def(py::init([](const std::string& name, const py::dict& config) {
             return Family{make_family(name, config), &families::find_family(name)};
           }),
           py::arg("name"), py::arg("config"))
      .def_property_readonly("name", [](const Family& f) { return f.family->name(); })
      .def_property_readonly("summary", [](const Family& f) { return f.info->summary; })
      .def_property_readonly("config",
                             [](const Family& f) { return to_python(f.family->config()); })
      .def_property_readonly("num_tasks", [](const Family& f) { return f.space().size(); })
      .def_property_readonly(
          "has_env", [](const Family& f) { return envs::as_env_family(*f.family) != nullptr; })
      .def_property_readonly("input_dim", [](const Family& f) { return f.family->input_dim(); })
      .def_property_readonly("output_dim", [](const Family& f) { return f.family->output_dim(); })
      .def_property_readonly(
          "target_kind",
          [](const Family& f) { return std::string(to_string(f.family->target_kind())); })
      .def_property_readonly("latent_dim", [](const Family& f) { return f.space().latent_dim(); })
      .def_property_readonly("splits", [](const Family& f) { return splits_dict(*f.family); })
      .def("split", [](const Family& f, const py::str& name) { return as_array(f.task_ids(name)); })
      .def("task_id", &Family::task_id, py::arg("task"))
      .def(
          "task",
          [](const Family& f, const py::handle& task) {
            return task_dict(*f.family, f.space().task(f.task_id(task)));
          },
          py::arg("task"))
      .def(
          "latents",
          [](const Family& f, const py::handle& tasks) {
            const std::vector<int64_t> ids = f.task_ids(tasks);
            const int dim = f.space().latent_dim();
            py::array_t<float> out(
                {static_cast<py::ssize_t>(ids.size()), static_cast<py::ssize_t>(dim)});
            for (size_t i = 0; i < ids.size(); ++i)
              f.space().latent(f.space().task(ids[i]),
                               std::span<float>(out.mutable_data() + i * dim, dim));
            return out;
          },
          py::arg("tasks"))
      .def("generated_bank",
           [](const Family& f) -> py::object {
             const std::optional<tasks::ModuleBank> bank = f.family->generated_bank();
             if (!bank) return py::none();
             py::array_t<float> out({static_cast<py::ssize_t>(bank->modules),
                                     static_cast<py::ssize_t>(bank->in),
                                     static_cast<py::ssize_t>(bank->out)});
             std::copy(bank->weights.begin(), bank->weights.end(), out.mutable_data());
             return out;
           })
      .def_property_readonly("observation_spec",
                             [](const Family& f) {
                               return observation_spec_dict(
                                   f.env_family("Family.observation_spec").observation_spec());
                             })
      .def_property_readonly(
          "action_spec",
          [](const Family& f) {
            return action_spec_dict(f.env_family("Family.action_spec").action_spec());
          })
      .def_property_readonly(
          "max_steps",
          [](const Family& f) { return f.env_family("Family.max_steps").make_env()->max_steps(); })
      .def_property_readonly(
          "discount", [](const Family& f) { return f.env_family("Family.discount").discount(); })
      .def(
          "task_data",
          [](const Family& f, const py::handle& task, uint64_t seed, bool held_out) {
            const int64_t id = f.task_id(task);
            const tasks::Task& t = f.space().task(id);
            tasks::TaskData d;
            {
              py::gil_scoped_release free;
              d = held_out ? f.family->make_held_out_data(t, seed)
                           : f.family->make_task_data(t, seed);
            }
            return task_data_dict(*f.family, d);
          },
          py::arg("task"), py::arg("seed"), py::arg("held_out") = false)
      .def("demonstrations", &demonstrations, py::arg("num"), py::arg("tasks"), py::arg("seed"),
           py::arg("action_values"));

  py::class_<Env>(m, "Env")
      .def(py::init<Family, const py::handle&, uint64_t, int, int>(), py::arg("family"),
           py::arg("tasks"), py::arg("seed"), py::arg("width"), py::arg("height"))
      .def("reset", &Env::reset, py::arg("seed") = py::none(), py::arg("options") = py::none())
      .def("step", &Env::step, py::arg("action"))
      .def("expert_action", &Env::expert_action)
      .def("render", &Env::render)
      .def_property_readonly("task", &Env::task)
      .def_property_readonly("elapsed", &Env::elapsed)
      .def_property_readonly("max_steps", &Env::max_steps);

  py::class_<VectorEnv>(m, "VectorEnv")
      .def(py::init<const Family&, int, const py::handle&, uint64_t, int>(), py::arg("family"),
           py::arg("num_envs"), py::arg("tasks"), py::arg("seed"), py::arg("threads"))
      .def("reset", &VectorEnv::reset, py::arg("seed") = py::none())
      .def("step", &VectorEnv::step, py::arg("actions"))
      .def("expert_actions", &VectorEnv::expert_actions)
      .def_property_readonly("num_envs", &VectorEnv::size);
}
