// Model::save and Model::load (torchclad/model.h): a model as a ROOT file.
//   TNamed "torchclad_model"  title: the definition's name
//   TNamed "source_hash"      title: the definition's source hash when saved
//   TNamed "options"          title: the last fit's options and the seed, JSON
//   TTree  "parameters"       one entry per tensor: name (string), shape
//                             (vector<Long64_t>), values (vector<float>)
//   TTree  "history"          one entry per epoch of every fit (EpochResult's
//                             fields; test_rmse, steps and steps_per_second
//                             are absent from files of older versions)
//   TTree  "standardization"  if standardised: one entry, mean and std
//                             (vector<float>, one value per feature)
//   TTree  "target_standardization"  if a regression model's targets are
//                             standardised: one entry, mean and std
//                             (vector<float>, one value per target); files
//                             written before it existed load without it
//   TTree  "features"         if the feature names are known: one entry per
//                             feature, in order, branch name (string); files
//                             without it load with the names unknown
#include <TFile.h>
#include <TNamed.h>
#include <TTree.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <utility>

#include "define/definition.hpp"
#include "rank_zero_writes.hpp"
#include "model_state.hpp"
#include "partial_file.hpp"
#include "plain_errors.hpp"

namespace torchclad {
namespace {

std::string options_json(const Model::State& s) {
  const auto& o = s.options;
  nlohmann::json j = {
      {"engine", o.engine},   {"epochs", o.epochs},       {"batch", o.batch},
      {"threads", o.threads}, {"optimizer", o.optimizer}, {"lr", o.lr},
      {"seed", o.seed},       {"init_seed", s.seed},      {"weighted_sampling", o.weighted_sampling}};
  return j.dump();
}

void read_options(const std::string& text, Model::State& s) {
  const auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return;  // options are informative: a bad one is not fatal
  auto& o = s.options;
  o.engine = j.value("engine", o.engine);
  o.epochs = j.value("epochs", o.epochs);
  o.batch = j.value("batch", o.batch);
  o.threads = j.value("threads", o.threads);
  o.optimizer = j.value("optimizer", o.optimizer);
  o.lr = j.value("lr", o.lr);
  o.seed = j.value("seed", o.seed);
  o.weighted_sampling = j.value("weighted_sampling", o.weighted_sampling);
  s.seed = j.value("init_seed", s.seed);
}

// One entry of branches mean and std (vector<float>), if the model has them.
void write_standardization(const char* name, const char* title, const torch::Tensor& mean,
                           const torch::Tensor& scale) {
  if (!mean.defined()) return;
  TTree st(name, title);
  std::vector<float> m(mean.data_ptr<float>(), mean.data_ptr<float>() + mean.numel()),
      sd(scale.data_ptr<float>(), scale.data_ptr<float>() + scale.numel());
  st.Branch("mean", &m);
  st.Branch("std", &sd);
  st.Fill();
  st.Write();
}

// Tree `name` written by write_standardization into mean and scale, which
// stay undefined if the file has no such tree (saved without it, or by an
// earlier version). `what` ("features", "targets") and the model's `width`
// check it.
void read_standardization(TFile& f, const char* name, const char* what, int width, const std::string& model,
                          const std::string& path, torch::Tensor& mean, torch::Tensor& scale) {
  auto* st = dynamic_cast<TTree*>(f.Get(name));
  if (!st) return;
  std::vector<float>*m = nullptr, *sd = nullptr;
  if (st->SetBranchAddress("mean", &m) < 0 || st->SetBranchAddress("std", &sd) < 0 || st->GetEntries() != 1 ||
      st->GetEntry(0) <= 0)
    throw std::runtime_error("Model::load: the '" + std::string(name) + "' tree of '" + path +
                             "' is not one entry of branches mean and std");
  if (static_cast<int>(m->size()) != width || static_cast<int>(sd->size()) != width)
    throw std::runtime_error("Model::load: '" + path + "' standardises " + std::to_string(m->size()) + " " +
                             what + "; model '" + model + "' has " + std::to_string(width));
  mean = torch::tensor(*m, torch::kFloat32);
  scale = torch::tensor(*sd, torch::kFloat32);
  st->ResetBranchAddresses();
}

// The feature names as a tree of one entry per feature (readable with
// TTree::Scan or RDataFrame), if they are known.
void write_feature_names(const std::vector<std::string>& names) {
  if (names.empty()) return;
  TTree t("features", "the features the model takes, in order");
  std::string name;
  t.Branch("name", &name);
  for (const auto& n : names) {
    name = n;
    t.Fill();
  }
  t.Write();
}

// The names write_feature_names stored, one per input of the model; none
// (unknown) for a file without the tree.
std::vector<std::string> read_feature_names(TFile& f, int inputs, const std::string& model,
                                            const std::string& path) {
  auto* t = dynamic_cast<TTree*>(f.Get("features"));
  if (!t) return {};
  std::string* name = nullptr;
  if (t->SetBranchAddress("name", &name) < 0)
    throw std::runtime_error("Model::load: the 'features' tree of '" + path + "' has no branch 'name'");
  if (t->GetEntries() != inputs)
    throw std::runtime_error("Model::load: '" + path + "' names " + std::to_string(t->GetEntries()) +
                             " features; model '" + model + "' takes " + std::to_string(inputs));
  std::vector<std::string> names;
  for (Long64_t i = 0; i < t->GetEntries(); ++i) {
    if (t->GetEntry(i) <= 0)
      throw std::runtime_error("Model::load: cannot read feature name " + std::to_string(i) + " of '" + path +
                               "'");
    names.push_back(*name);
  }
  t->ResetBranchAddresses();
  return names;
}

// The model's file, written at `partial` (named `path` in errors).
void write_model_as(const Model::State& s, const std::string& partial, const std::string& path) {
  const auto& def = s.model->definition();
  std::unique_ptr<TFile> f(TFile::Open(partial.c_str(), "RECREATE", "torchclad model"));
  if (!f || f->IsZombie()) throw std::runtime_error("Model::save: cannot write '" + path + "'");
  TNamed("torchclad_model", def.name.c_str()).Write();
  TNamed("source_hash", def.source_hash.c_str()).Write();
  TNamed("options", options_json(s).c_str()).Write();

  TTree params("parameters", "parameter tensors");
  std::string name;
  std::vector<Long64_t> shape;
  std::vector<float> values;
  params.Branch("name", &name);
  params.Branch("shape", &shape);
  params.Branch("values", &values);
  const float* p = s.model->params().data_ptr<float>();
  for (const auto& spec : def.params) {
    name = spec.name;
    shape.assign(spec.shape.begin(), spec.shape.end());
    values.assign(p + spec.offset, p + spec.offset + spec.numel);
    params.Fill();
  }
  params.Write();

  TTree history("history", "metrics per epoch");
  EpochResult e;
  history.Branch("epoch", &e.epoch);
  history.Branch("train_loss", &e.train_loss);
  history.Branch("test_loss", &e.test_loss);
  history.Branch("test_accuracy", &e.test_accuracy);
  history.Branch("test_auc", &e.test_auc);
  history.Branch("seconds", &e.seconds);
  history.Branch("samples_per_second", &e.samples_per_second);
  history.Branch("test_rmse", &e.test_rmse);
  history.Branch("steps", &e.steps);
  history.Branch("steps_per_second", &e.steps_per_second);
  for (const auto& h : s.history) {
    e = h;
    history.Fill();
  }
  history.Write();
  write_standardization("standardization", "feature standardisation: x -> (x - mean) / std", s.mean, s.scale);
  write_standardization("target_standardization",
                        "regression target standardisation: trained on (y - mean) / std, predicts "
                        "output * std + mean",
                        s.target_mean, s.target_scale);
  write_feature_names(s.feature_names);
  f->Close();
}

void write_model(const Model::State& s, const std::string& path) {
  const std::string partial = support::partial_path(path);
  std::error_code ec;
  try {
    write_model_as(s, partial, path);
  } catch (...) {
    std::filesystem::remove(partial, ec);  // no hidden leftover
    throw;
  }
  std::filesystem::rename(partial, path, ec);
  if (ec) {
    const std::string reason = ec.message();
    std::filesystem::remove(partial, ec);
    throw std::runtime_error("Model::save: cannot write '" + path + "': " + reason);
  }
}

std::string named(TFile& f, const char* key, const std::string& path) {
  auto* n = dynamic_cast<TNamed*>(f.Get(key));
  if (!n)
    throw std::runtime_error("Model::load: '" + path + "' is not a torchclad model file (no '" + key + "')");
  return n->GetTitle();
}

std::shared_ptr<Model::State> read_model(const std::string& path) {
  if (!std::filesystem::exists(path)) throw std::runtime_error("Model::load: no file '" + path + "'");
  std::unique_ptr<TFile> f(TFile::Open(path.c_str(), "READ"));
  if (!f || f->IsZombie())
    throw std::runtime_error("Model::load: '" + path + "' is not a readable ROOT file");
  const std::string name = named(*f, "torchclad_model", path);
  std::shared_ptr<define::Definition> def;
  try {
    def = define::find_definition(name);
  } catch (const std::exception& e) {
    throw std::runtime_error("Model::load: '" + path + "' holds model '" + name +
                             "', which is not defined in this session; run the %%clad cell, "
                             "macro or library that defines it (TORCHCLAD_MODEL(" +
                             name + ", ...)) first. (" + e.what() + ")");
  }
  auto s = std::make_shared<Model::State>();
  s->model = std::make_shared<DefinedModel>(def, 0);
  read_options(named(*f, "options", path), *s);
  const std::string saved_hash = named(*f, "source_hash", path);

  auto* params = dynamic_cast<TTree*>(f->Get("parameters"));
  if (!params) throw std::runtime_error("Model::load: '" + path + "' has no 'parameters' tree");
  std::string* pname = nullptr;
  std::vector<Long64_t>* shape = nullptr;
  std::vector<float>* values = nullptr;
  if (params->SetBranchAddress("name", &pname) < 0 || params->SetBranchAddress("shape", &shape) < 0 ||
      params->SetBranchAddress("values", &values) < 0)
    throw std::runtime_error("Model::load: the 'parameters' tree of '" + path +
                             "' lacks the branches name, shape, values");
  if (params->GetEntries() != static_cast<Long64_t>(def->params.size()))
    throw std::runtime_error("Model::load: '" + path + "' holds " + std::to_string(params->GetEntries()) +
                             " parameter tensors, model '" + name + "' has " +
                             std::to_string(def->params.size()));
  float* p = s->model->params().data_ptr<float>();
  std::vector<bool> filled(def->params.size(), false);
  for (Long64_t i = 0; i < params->GetEntries(); ++i) {
    if (params->GetEntry(i) <= 0)
      throw std::runtime_error("Model::load: cannot read parameter " + std::to_string(i) + " of '" + path +
                               "'");
    const define::ParamSpec* found = nullptr;
    try {
      found = &def->param(*pname);  // throws naming the known ones
    } catch (const std::exception& e) {
      throw std::runtime_error("Model::load: '" + path + "': " + e.what());
    }
    const auto& spec = *found;
    const size_t index = found - def->params.data();
    if (filled[index])
      throw std::runtime_error("Model::load: '" + path + "' holds parameter '" + *pname + "' twice");
    filled[index] = true;
    if (std::vector<int64_t>(shape->begin(), shape->end()) != spec.shape ||
        static_cast<int64_t>(values->size()) != spec.numel) {
      auto text = [](const auto& dims) {
        std::string t = "[";
        for (size_t d = 0; d < dims.size(); ++d) t += (d ? ", " : "") + std::to_string(dims[d]);
        return t + "]";
      };
      throw std::runtime_error("Model::load: parameter '" + *pname + "' in '" + path + "' has shape " +
                               text(*shape) + " where model '" + name + "' declares " + text(spec.shape) +
                               (saved_hash != def->source_hash
                                    ? " (the file was saved from another version of the model: source hash " +
                                          saved_hash + ", now " + def->source_hash + ")"
                                    : ""));
    }
    std::copy(values->begin(), values->end(), p + spec.offset);
  }
  params->ResetBranchAddresses();
  if (saved_hash != def->source_hash)
    std::fprintf(stderr,
                 "torchclad: Model::load: '%s' was saved from another version of model '%s' "
                 "(source hash %s, now %s); its parameters fit, so they are loaded\n",
                 path.c_str(), name.c_str(), saved_hash.c_str(), def->source_hash.c_str());

  if (auto* history = dynamic_cast<TTree*>(f->Get("history"))) {
    EpochResult e;
    history->SetBranchAddress("epoch", &e.epoch);
    history->SetBranchAddress("train_loss", &e.train_loss);
    history->SetBranchAddress("test_loss", &e.test_loss);
    history->SetBranchAddress("test_accuracy", &e.test_accuracy);
    history->SetBranchAddress("test_auc", &e.test_auc);
    history->SetBranchAddress("seconds", &e.seconds);
    history->SetBranchAddress("samples_per_second", &e.samples_per_second);
    // Files written before these branches existed load with their defaults
    // (test_rmse -1, steps and steps/s 0).
    for (auto [branch, address] : {std::pair<const char*, void*>{"test_rmse", &e.test_rmse},
                                   {"steps", &e.steps},
                                   {"steps_per_second", &e.steps_per_second}})
      if (history->GetBranch(branch)) history->SetBranchAddress(branch, address);
    for (Long64_t i = 0; i < history->GetEntries(); ++i) {
      history->GetEntry(i);
      s->history.push_back(e);
    }
    history->ResetBranchAddresses();
  }
  read_standardization(*f, "standardization", "features", def->inputs, name, path, s->mean, s->scale);
  if (def->targets == define::Targets::kRegression)
    read_standardization(*f, "target_standardization", "targets", def->target_width, name, path,
                         s->target_mean, s->target_scale);
  s->feature_names = read_feature_names(*f, def->inputs, name, path);
  s->trained = !s->history.empty();
  return s;
}

}  // namespace

void Model::save(const std::string& path) const {
  // Data-parallel (torchclad/distributed.h): rank 0 writes, every rank waits for it.
  rethrow_plain([&] { rank_zero_writes([&] { write_model(*state(), path); }); });
}

Model Model::load(const std::string& path) {
  return Model(rethrow_plain([&] { return read_model(path); }));
}

}  // namespace torchclad
