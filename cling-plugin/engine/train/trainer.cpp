#include "train/trainer.hpp"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <memory>
#include <ostream>

#include "dist/communicator.hpp"
#include "dist/data_parallel.hpp"
#include "dist/row_shards.hpp"
#include "ops/activation.hpp"
#include "train/batch_gather.hpp"
#include "train/checkpoint.hpp"
#include "train/engines.hpp"
#include "train/metrics_files.hpp"
#include "train/event_weights.hpp"

namespace torchclad::train {
namespace {

// Bytes of a group of batches (x and y) from which it is copied ahead on a
// thread of its own: below, the hand-off to the worker (a mutex and a
// wake-up) costs about what the copy does.
constexpr int64_t kGatherAheadBytes = 32 * 1024;
// The worker copies the batches of several steps at once, about this many
// bytes (at most kMaxGroupSteps steps): waking it up took about 10 µs of the
// training thread (perf, MLP 784-128-10 at batch 32 on this machine's 2
// vCPUs, about 5% of a step), now paid once a group.
constexpr int64_t kGroupBytes = 1 << 20;
constexpr int kMaxGroupSteps = 16;

// The steps whose batches one copy gathers: their rows' positions in the
// epoch's order and where each step's rows start in the copy.
struct StepGroup {
  struct Step {
    int64_t start = 0;  // the position of the step's first row in the epoch's order
    int size = 0;       // its rows (this rank's share)
    int offset = 0;     // its first row in the copy
  };
  std::vector<Step> steps;
  size_t next = 0;  // the step that comes next
  int rows() const { return steps.empty() ? 0 : steps.back().offset + steps.back().size; }
  bool next_is(int64_t start, int size) const {
    return next < steps.size() && steps[next].start == start && steps[next].size == size;
  }
};

// Up to `count` steps from the global batch beginning at `global_begin`, this
// rank's share of each (run_epochs' steps, in the same order).
StepGroup plan_group(int64_t global_begin, int count, int64_t n, int64_t global_batch, int rank, int ranks) {
  StepGroup g;
  int offset = 0;
  for (int k = 0; k < count && global_begin < n; ++k, global_begin += global_batch) {
    const dist::Share share = dist::share_of(std::min(global_batch, n - global_begin), rank, ranks);
    g.steps.push_back({global_begin + share.begin, static_cast<int>(share.size()), offset});
    offset += static_cast<int>(share.size());
  }
  return g;
}

}  // namespace

RunOutcome train_engine(DefinedModel& model, const ModelData& train, const ModelData& test, RunSpec spec,
                        const EngineStep& step, std::ostream& log, bool weighted_sampling,
                        const RowShard& shard) {
  const auto& def = model.definition();
  TORCH_CHECK(spec.epochs >= 1, "epochs must be at least 1, found ", spec.epochs);
  TORCH_CHECK(spec.batch >= 1, "batch must be at least 1, found ", spec.batch);
  TORCH_CHECK(spec.threads >= 1, "threads must be at least 1, found ", spec.threads);
  // With a shard, x and y are the shard's and w the whole set's (checked below).
  check_model_data(def, shard.total > 0 ? ModelData{train.x, train.y, {}} : train, "training");
  check_model_data(def, test, "test");
  if (shard.total > 0 && train.w.defined()) {
    TORCH_CHECK(train.w.numel() == shard.total, "model '", def.name, "': a sharded training set of ",
                shard.total, " samples needs the weights of all of them, found ", train.w.numel());
    const auto w = train.w.to(torch::kFloat64);
    TORCH_CHECK(torch::isfinite(w).all().item<bool>(), "model '", def.name,
                "': the training weights hold a non-finite value");
    TORCH_CHECK(w.sum().item<double>() > 0, "model '", def.name, "': the training weights sum to ",
                w.sum().item<double>(), "; the weighted loss and metrics need a positive sum of weights");
  }
  at::set_num_threads(spec.threads);
  const auto x = train.x.to(torch::kFloat32).contiguous();
  const auto y = train.y.to(torch::kFloat32).contiguous();
  const int64_t xw = def.inputs, yw = def.target_width, held = x.size(0);
  const int rank = dist::world().rank(), ranks = dist::world().size();
  // A shard that is the whole set (one process) trains as the whole set.
  const bool sharded = shard.total > 0 && !(shard.begin == 0 && held == shard.total);
  const int64_t n = sharded ? shard.total : held;
  spec.samples = n;
  dist::check_samples(n, "training samples");
  std::unique_ptr<dist::ShardExchange> exchange;
  if (sharded) {
    const auto own = dist::shard_of(n, rank, ranks);
    TORCH_CHECK(shard.begin == own.begin && held == own.size(), "rank ", rank, " of ", ranks,
                " must hold training rows [", own.begin, ", ", own.end, ") of ", n, ", found rows [",
                shard.begin, ", ", shard.begin + held, ")");
    exchange = std::make_unique<dist::ShardExchange>(x.data_ptr<float>(), xw, y.data_ptr<float>(), yw, n,
                                                     int64_t{spec.batch} * ranks);
  }
  EventWeights weights(train.w, n, weighted_sampling, spec.seed, def.name, spec.first_epoch);
  // The position of this rank's first sample in an epoch's order (0 in one
  // process): where a new epoch's weighted draw (and with a shard, the
  // exchange of the epoch's rows) happens. Every rank's first share is
  // non-empty (n >= ranks), so all ranks get there at the same step.
  const int64_t global_batch = int64_t{spec.batch} * ranks;
  const int64_t epoch_start = dist::share_of(std::min<int64_t>(global_batch, n), rank, ranks).begin;
  // The rows of the next group of steps are copied while the steps train on
  // this group's (train/batch_gather.hpp), when a group is large enough for
  // the copy to outweigh handing it to the worker.
  const int64_t batch_bytes = int64_t{spec.batch} * (xw + yw) * 4;
  const int group_steps = static_cast<int>(std::clamp<int64_t>(kGroupBytes / batch_bytes, 1, kMaxGroupSteps));
  BatchGather gather(group_steps * spec.batch, xw, yw, group_steps * batch_bytes >= kGatherAheadBytes);
  StepGroup current, ahead;  // the group the steps read, the group copied ahead
  int64_t planned = 0;       // the global begin of the first step no group holds yet
  // Lists the rows of the group's steps in gather.rows().
  auto list_rows = [&](const std::vector<int64_t>& order, const StepGroup& group) {
    const float* xs = x.data_ptr<float>();
    const float* ys = y.data_ptr<float>();
    BatchGather::Row* rows = gather.rows();
    for (const auto& st : group.steps)
      for (int i = 0; i < st.size; ++i) {
        const int64_t p = st.start + i, row = weights.row(order[p]);
        // With a shard: the row as the epoch's exchange brought it (x, then y).
        const float* xr = exchange ? exchange->row_at_position(p) : xs + row * xw;
        rows[st.offset + i] = {xr, exchange ? xr + xw : ys + row * yw,
                               weights.weighted() ? weights.factor(row) : 1.f};
      }
  };
  auto copy_group_ahead = [&](const std::vector<int64_t>& order) {
    ahead = gather.ahead() ? plan_group(planned, group_steps, n, global_batch, rank, ranks) : StepGroup{};
    if (ahead.steps.empty()) return;
    planned += int64_t{global_batch} * static_cast<int64_t>(ahead.steps.size());
    list_rows(order, ahead);
    gather.copy_ahead(ahead.rows());
  };
  return run_epochs(
      spec,
      [&](const std::vector<int64_t>& order, int64_t start, int size) {
        if (start == epoch_start) {
          // The epoch's order is new: nothing copied ahead of it counts.
          gather.cancel_ahead();
          current = ahead = StepGroup{};
          planned = 0;
          if (weights.sampling()) weights.draw_epoch();
          if (exchange) exchange->gather_epoch([&](int64_t p) { return weights.row(order[p]); });
        }
        if (!current.next_is(start, size)) {
          if (ahead.next_is(start, size)) {
            gather.wait_ahead();
            current = std::move(ahead);
          } else {
            // The first group of the epoch, or the next one when nothing is
            // copied ahead: copied now, then the next one ahead.
            current = plan_group(planned, group_steps, n, global_batch, rank, ranks);
            TORCH_CHECK(current.next_is(start, size), "train_engine: step at position ", start, " of ", size,
                        " rows is not the planned one (run_epochs and plan_group disagree)");
            planned += int64_t{global_batch} * static_cast<int64_t>(current.steps.size());
            list_rows(order, current);
            gather.copy_now(current.rows());
          }
          copy_group_ahead(order);
        }
        const int offset = current.steps[current.next++].offset;
        return step(gather.x() + int64_t{offset} * xw, gather.y() + int64_t{offset} * yw,
                    weights.weighted() ? gather.w() + offset : nullptr, size);
      },
      [&] { return evaluate_model(model, test); }, log);
}

namespace {

data::MnistSplit first_rows(const data::MnistSplit& split, int64_t limit) {
  if (limit <= 0 || limit >= split.images.size(0)) return split;
  return {split.images.narrow(0, 0, limit), split.labels.narrow(0, 0, limit)};
}

ModelData class_data(const data::MnistSplit& s) {
  return {s.images, s.labels.to(torch::kFloat32).unsqueeze(1)};
}

}  // namespace

TrainResult train_mlp(const data::MnistDataset& data, const TrainConfig& config, std::ostream& log) {
  TORCH_CHECK(config.train_limit >= 0 && config.test_limit >= 0,
              "train and test limits must not be negative");
  TORCH_CHECK(config.batch >= 1, "batch must be at least 1, found ", config.batch);
  std::shared_ptr<MlpEngine> engine = make_engine(config.engine, config.model, config.optimizer, config.seed);
  // The engines read class labels as int32 and int64.
  std::vector<int32_t> y32(config.batch);
  std::vector<int64_t> y64(config.batch);
  RunSpec spec = run_spec(config.engine, engine->definition().name, config);
  use_checkpoints(spec, {config.checkpoint, config.resume}, engine->model(), engine->optimizer_access(), log);
  // A shard (load_mnist_shard) is already the rank's part of the first train_limit samples.
  const bool shard = data.train_total > 0;
  TORCH_CHECK(!shard || config.train_limit <= 0 || config.train_limit >= data.train_total,
              "the training shard was read from the first ", data.train_total,
              " samples, but train_limit is ", config.train_limit);
  const RunOutcome run = train_engine(
      engine->model(), class_data(shard ? data.train : first_rows(data.train, config.train_limit)),
      class_data(first_rows(data.test, config.test_limit)), spec,
      [&](const float* x, const float* y, const float*, int n) {
        for (int i = 0; i < n; ++i) y64[i] = y32[i] = static_cast<int32_t>(y[i]);
        return engine->step(Batch{x, y32.data(), y64.data(), n});
      },
      log, false, RowShard{data.train_begin, data.train_total});
  return {run.epochs, engine, run.non_finite, run.stopped, run.message};
}

MetricsFiles command_metrics_files(const TrainConfig& c, const std::string& json, const std::string& csv) {
  MetricsFiles f;
  f.json = json;
  f.csv = csv;
  f.engine = c.engine;
  std::string widths = "[";
  for (size_t i = 0; i < c.model.widths.size(); ++i)
    widths += (i ? ", " : "") + std::to_string(c.model.widths[i]);
  f.header = {{"dataset", json_string(c.dataset)},
              {"engine", json_string(c.engine)},
              {"model", json_string("mlp")},
              {"widths", widths + "]"},
              {"activation", json_string(activation_name(c.model.activation))},
              {"optimizer", json_string(c.optimizer.kind)},
              {"lr", json_number(c.optimizer.lr)},
              {"batch", std::to_string(c.batch)},
              {"threads", std::to_string(c.threads)},
              {"seed", std::to_string(c.seed)}};
  return f;
}

void write_metrics_json(const std::string& path, const TrainConfig& c, const TrainResult& r) {
  write_metrics(command_metrics_files(c, path, ""), r.epochs, run_status(r.non_finite, r.stopped));
}

void write_metrics_csv(const std::string& path, const TrainConfig& c, const TrainResult& r) {
  write_metrics(command_metrics_files(c, "", path), r.epochs, run_status(r.non_finite, r.stopped));
}

}  // namespace torchclad::train
