// hypercomp._runs: trained runs, loaded with LibTorch. hypercomp.load_run imports this module on
// first use, so that everything else starts without LibTorch.
#include <fmt/format.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>
#include <memory>
#include <optional>
#include <string>

#include "base/error.h"
#include "python/convert.h"
#include "trainer/batch.h"
#include "trainer/closed_loop.h"
#include "trainer/evaluate.h"
#include "trainer/run.h"

namespace py = pybind11;

namespace hc::python {
namespace {

// A policy adapted to one task: outputs and actions for observations of that task.
class Adapted {
 public:
  Adapted(std::shared_ptr<trainer::LoadedRun> run, trainer::Adapted a)
      : run_(std::move(run)),
        fast_(std::move(a.fast)),
        support_before_(a.support_before[0].item<double>()),
        support_after_(a.support_after[0].item<double>()) {}

  // The support loss before the first and before the last inner step (trainer::Adapted).
  double support_loss_before() const { return support_before_; }
  double support_loss_after() const { return support_after_; }

  // One observation (any shape with input_dim values) gives one row; [N, ...] gives N rows.
  py::array_t<float> outputs(const py::handle& obs) const {
    const tasks::TaskFamily& f = *run_->config.family;
    const int64_t d = f.input_dim();
    const auto x = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(obs);
    if (!x || x.size() == 0 || x.size() % d != 0)
      throw ConfigError(
          fmt::format("observations: expected {} values per observation, got an "
                      "array of {} values",
                      d, x ? x.size() : 0));
    const int64_t n = x.size() / d;
    torch::Tensor out;
    {
      py::gil_scoped_release free;
      const torch::Tensor rows =
          torch::from_blob(const_cast<float*>(x.data()), {n, d}).clone().unsqueeze(0);
      torch::NoGradGuard no_grad;
      agents::PolicyImpl& policy = *run_->policy;
      agents::Inputs in;
      if (f.binary_inputs()) {
        in = agents::Inputs::from_dense_binary(rows);
      } else {
        in.tasks = 1, in.rows = n, in.dim = d, in.dense = rows;
      }
      out = n == 1 ? trainer::policy_outputs(policy, fast_, f.binary_inputs(), rows[0])
                   : policy.forward(fast_, policy.encode(in))[0];
      out = out.contiguous();
    }
    const int64_t c = out.size(1);
    const bool one = x.size() == d && (x.ndim() == 1 || x.ndim() == obs_dims(f));
    py::array_t<float> result(one ? std::vector<py::ssize_t>{c} : std::vector<py::ssize_t>{n, c});
    std::memcpy(result.mutable_data(), out.data_ptr<float>(), n * c * sizeof(float));
    return result;
  }

  // The adapted fast parameters by name (PolicyImpl::fast_names), without the task dimension:
  // for a hypernetwork its "embedding", the code the identification metrics decode.
  py::dict fast() const {
    const std::vector<std::string> names = run_->policy->fast_names();
    if (names.size() != fast_.size())
      throw Error(fmt::format("fast: the policy names {} fast parameters but adapted {}",
                              names.size(), fast_.size()));
    py::dict out;
    for (size_t i = 0; i < names.size(); ++i) {
      const torch::Tensor t = fast_[i][0].detach().to(torch::kFloat32).contiguous();
      py::array_t<float> a(std::vector<py::ssize_t>(t.sizes().begin(), t.sizes().end()));
      std::memcpy(a.mutable_data(), t.data_ptr<float>(), t.numel() * sizeof(float));
      out[py::str(names[i])] = a;
    }
    return out;
  }

  // The actions evaluation takes from these outputs (trainer::output_actions).
  py::object act(const py::handle& obs) const {
    const auto* ef = envs::as_env_family(*run_->config.family);
    if (!ef)
      throw Error(fmt::format("act(): '{}' has no environment; use outputs()",
                              run_->config.family->name()));
    const py::array_t<float> out = outputs(obs);
    const bool one = out.ndim() == 1;
    const int64_t n = one ? 1 : out.shape(0), c = out.shape(one ? 0 : 1);
    const torch::Tensor rows =
        torch::from_blob(const_cast<float*>(out.data()), {n, c}, torch::kFloat32);
    const std::vector<envs::Action> actions = trainer::output_actions(ef->action_spec(), rows);
    if (one) return from_action(ef->action_spec(), actions[0]);
    const envs::ActionSpec& spec = ef->action_spec();
    if (spec.discrete) {
      py::array_t<int64_t> a(n);
      for (int64_t i = 0; i < n; ++i) a.mutable_data()[i] = actions[i].index;
      return a;
    }
    py::array_t<float> a({n, static_cast<int64_t>(spec.n)});
    for (int64_t i = 0; i < n; ++i)
      std::memcpy(a.mutable_data() + i * spec.n, actions[i].value.data(), spec.n * sizeof(float));
    return a;
  }

 private:
  // The dimensions of one observation (1 for supervised inputs).
  static py::ssize_t obs_dims(const tasks::TaskFamily& f) {
    const auto* ef = envs::as_env_family(f);
    return ef ? static_cast<py::ssize_t>(ef->observation_spec().shape.size()) : 1;
  }

  std::shared_ptr<trainer::LoadedRun> run_;
  agents::Fast fast_;
  double support_before_, support_after_;
};

class Run {
 public:
  Run(const std::string& dir, bool best)
      : run_(std::make_shared<trainer::LoadedRun>(trainer::load_run(dir, best))) {}

  const tasks::TaskFamily& family() const { return *run_->config.family; }

  // Adapts on the support set of `data`: a dict from Family.task_data (its "support", and its
  // "latent", which task-conditioned imitation runs use instead), or a dataset dict; with
  // `inner_steps` instead of the run's learner.inner_steps.
  Adapted adapt(const py::dict& data, std::optional<int> inner_steps) const {
    const tasks::TaskFamily& f = family();
    tasks::TaskData td;
    const bool whole = data.contains("support");
    td.support = dataset_from(f, whole ? data["support"].cast<py::dict>() : data,
                              whole ? "support" : "data");
    td.latent.assign(f.task_space().latent_dim(), 0.0f);
    if (data.contains("latent")) {
      const auto l =
          py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(data["latent"]);
      if (!l || l.size() != static_cast<py::ssize_t>(td.latent.size()))
        throw ConfigError(fmt::format("latent: expected {} values", td.latent.size()));
      td.latent.assign(l.data(), l.data() + l.size());
    } else if (run_->learner->imitation()) {
      throw ConfigError(
          "this run imitates given the true task latent: pass the dict of Family.task_data, or "
          "add its 'latent'");
    }
    td.task = f.task_space().task(data.contains("task") ? data["task"].cast<int64_t>() : 0);
    trainer::Adapted a;
    {
      py::gil_scoped_release free;
      const std::vector<int64_t> ids = {td.task.id};
      const std::vector<uint64_t> seeds = {0};
      const trainer::Batch b = trainer::pack(f, std::span(&td, 1), ids, seeds, f.binary_inputs());
      a = run_->learner->adapt(b, inner_steps);
    }
    return Adapted(run_, std::move(a));
  }

  // The run's evaluation sets: [{"name", "tasks", "seeds", "held_out"}] (trainer::make_eval_sets).
  py::list eval_sets() const {
    py::list out;
    for (const trainer::EvalSet& s :
         trainer::make_eval_sets(family(), run_->config.eval, run_->config.train.seed)) {
      py::dict d;
      d["name"] = s.name;
      d["tasks"] = as_array(s.ids);
      py::array_t<uint64_t> seeds(static_cast<py::ssize_t>(s.seeds.size()));
      std::copy(s.seeds.begin(), s.seeds.end(), seeds.mutable_data());
      d["seeds"] = seeds;
      d["held_out"] = s.draw == trainer::Draw::kHeldOut;
      out.append(d);
    }
    return out;
  }

  py::dict info() const {
    py::dict d;
    d["dir"] = run_->dir;
    d["checkpoint"] = run_->checkpoint;
    d["step"] = run_->step;
    d["family"] = family().name();
    d["family_config"] = to_python(family().config());
    d["config"] = to_python(run_->config.to_yaml());
    return d;
  }

 private:
  std::shared_ptr<trainer::LoadedRun> run_;
};

}  // namespace
}  // namespace hc::python

PYBIND11_MODULE(_runs, m) {
  using namespace hc::python;
  m.doc() = "hypercomp's trained runs (LibTorch).";
  // Errors are translated by _core's translators (imported first by the package): they match
  // hypercomp's exception types by name, whichever module threw them.
  py::class_<Adapted>(m, "Adapted")
      .def("outputs", &Adapted::outputs, py::arg("observations"))
      .def("act", &Adapted::act, py::arg("observations"))
      .def_property_readonly("fast", &Adapted::fast)
      .def_property_readonly("support_loss_before", &Adapted::support_loss_before)
      .def_property_readonly("support_loss_after", &Adapted::support_loss_after);
  py::class_<Run>(m, "Run")
      .def(py::init<const std::string&, bool>(), py::arg("dir"), py::arg("best"))
      .def("adapt", &Run::adapt, py::arg("data"), py::arg("inner_steps") = py::none())
      .def("eval_sets", &Run::eval_sets)
      .def_property_readonly("info", &Run::info);
}
