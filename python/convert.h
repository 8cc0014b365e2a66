// Conversions between hypercomp's C++ types and Python objects, shared by the modules _core and
// _runs: families from keyword arguments, YAML values, tasks, specs, actions, datasets.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <yaml-cpp/yaml.h>

#include <memory>
#include <string>
#include <vector>

#include "envs/core/env_family.h"
#include "tasks/task_family.h"

namespace hc::python {

namespace py = pybind11;

// hypercomp.Error (RuntimeError), and its subclasses ConfigError and EnvError, raised for
// hc::Error, hc::ConfigError and hc::EnvError thrown by either module, with their messages.
void register_errors(py::module_& m);

// A registered family built from keyword arguments, each a key of its `family` section (dotted
// keys and dicts reach nested keys); errors name the key and what it expects, as in a file.
std::shared_ptr<const tasks::TaskFamily> make_family(const std::string& name,
                                                     const py::dict& config);
// Every config key of a family: [{"key", "default", "doc", "expected"}].
py::list config_keys(const std::string& name);

// YAML to Python: mappings to dicts, sequences to lists, scalars to int, float, bool, None or
// str (in that order of preference).
py::object to_python(const YAML::Node& node);

py::array_t<int64_t> as_array(const std::vector<int64_t>& ids);
py::array_t<float> as_array(const std::vector<float>& v);
// {"train": ids, "ood": ids, "ood_hot<h>": ids, ...}
py::dict splits_dict(const tasks::TaskFamily& family);
// {"id", "description", "weights", "latent", "hotness"}
py::dict task_dict(const tasks::TaskFamily& family, const tasks::Task& task);
py::dict observation_spec_dict(const envs::ObservationSpec& spec);
py::dict action_spec_dict(const envs::ActionSpec& spec);

// A Python action (an int, or a sequence of floats for a box) as an Action, and back.
envs::Action to_action(const envs::ActionSpec& spec, const py::handle& action);
py::object from_action(const envs::ActionSpec& spec, const envs::Action& a);
// A batch of actions, ints [B] or floats [B, n], into `out`, whose Actions are discrete ones or
// all of this spec's kind (a VectorEnv's buffer, made once).
void to_actions(const envs::ActionSpec& spec, const py::handle& actions,
                std::vector<envs::Action>& out);

// A dataset as a dict of arrays: inputs [rows, input_dim], labels [rows], targets
// [rows, output_dim], mask, episode and step [rows] (keys the target kind does not use are
// absent); and back, checking shapes against the family.
py::dict dataset_dict(const tasks::TaskFamily& family, const tasks::Dataset& d);
tasks::Dataset dataset_from(const tasks::TaskFamily& family, const py::dict& d,
                            const std::string& what);
// {"task", "weights", "latent", "support", "query"}
py::dict task_data_dict(const tasks::TaskFamily& family, const tasks::TaskData& d);

// Expert episodes as batched arrays: per step observations, actions, rewards (action_values),
// episode and step; per episode task, weights, latent, return, success, length.
py::dict episodes_dict(const envs::EnvFamily& family, const std::vector<tasks::Task>& tasks,
                       const std::vector<envs::Episode>& episodes, bool values);

}  // namespace hc::python
