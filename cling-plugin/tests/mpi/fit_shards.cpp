// torchclad-test-fit-shards: Model::fit under torchclad::Distributed on a
// ROOT file this program writes, in one process or under mpirun; rank 0
// writes the final parameters as raw float32 and prints every epoch's
// metrics. tests/mpi/fit_shards.sh compares N ranks with batch B against one
// process with batch N*B:
//   write FILE N RANKS BATCH INTERLEAVED   the training tree "events" (x[6],
//       label, weight) of N entries and the test tree "test" (some negative
//       weights); INTERLEAVED: the same entries in the order in which RANKS
//       ranks with BATCH stream them, step by step (a rank's entries are
//       [floor(r N / RANKS), floor((r + 1) N / RANKS)))
//   memory FILE OUT BATCH whole|shard|range|sampling|shard-sampling   an
//       in-memory Dataset: whole on every rank, Distributed::shard of it, or
//       each rank reading its rows (shard_rows) and Distributed::shard(rows,
//       n); the sampling modes draw by weight (TrainOptions::weighted_sampling);
//       range-wrong gives a rank's rows of n as rows of n + 1 (an error)
//   stream FILE OUT BATCH [SEEDS]   a StreamDataset of "FILE/events" in entry
//       order, or shuffled (chunks of 16, a shuffle buffer of 40) with each
//       seed of SEEDS ("5" or "5,6": one fit per seed, of a model made anew;
//       the first writes OUT, the others OUT.SEED); with FIT_SHARDS_SPLIT=f
//       set, the train part of the stream's split(f, 3)
//   shard-op FILE split|concat   Distributed::shard of the whole set, then
//       split or concat on the shard (an error)
//   write-bad FILE N ENTRY  the same trees, x[0] of training entry ENTRY NaN
//   open PATH TREE          opens a StreamDataset; prints its entries or the error
// The model: two classes from 6 features, so the test metrics include the AUC.
#include <TFile.h>
#include <TTree.h>

#include <ROOT/RDataFrame.hxx>
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "run_report.hpp"
#include "torchclad/distributed.h"
#include "torchclad/model.h"
#include "torchclad/nn.h"
#include "torchclad/rdataframe.h"
#include "torchclad/stream.h"

namespace nn = torchclad::nn;

struct ShardSeparator : nn::Model {
  nn::Linear fc1{"fc1", 6, 16};
  nn::Act z1{16}, h1{16};
  nn::Linear fc2{"fc2", 16, 2};
  nn::Act logits{2};
  ShardSeparator() {
    inputs(6);
    classes(2);
    output(logits);
  }
  template <class T>
  static T loss(const ShardSeparator& m, const T* p, T* a, const T* x, const T* y, int n) {
    nn::linear(m.fc1, p, x, a, m.z1, n);
    nn::tanh(a, m.z1, m.h1, n);
    nn::linear(m.fc2, p, a, m.h1, m.logits, n);
    return nn::cross_entropy(a, m.logits, y, n);
  }
};
TORCHCLAD_MODEL(shard_separator, ShardSeparator)

namespace {

struct Event {
  float x[6];
  int label;
  float weight;
};

std::vector<Event> make_events(int n, unsigned seed, bool negative_weights) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> gauss(0, 1);
  std::uniform_real_distribution<float> uniform(0.5f, 1.5f);
  std::vector<Event> events(n);
  for (int i = 0; i < n; ++i) {
    Event& e = events[i];
    e.label = (i * 7 + i / 3) % 2;
    for (int f = 0; f < 6; ++f) e.x[f] = gauss(rng) + (e.label ? 0.5f : -0.5f) * (f % 2 ? 1.0f : 0.4f);
    e.weight = uniform(rng);
    if (negative_weights && i % 9 == 4) e.weight = -0.3f;  // a Monte Carlo event subtracted
  }
  return events;
}

void write_tree(TFile& file, const char* name, const std::vector<Event>& events) {
  file.cd();
  TTree tree(name, name);
  Event e{};
  tree.Branch("x", e.x, "x[6]/F");
  tree.Branch("label", &e.label, "label/I");
  tree.Branch("weight", &e.weight, "weight/F");
  for (const auto& v : events) {
    e = v;
    tree.Fill();
  }
  tree.Write();
}

void write_file(const std::string& path, const std::vector<Event>& train, const std::vector<Event>& test) {
  TFile file(path.c_str(), "RECREATE");
  if (file.IsZombie()) throw std::runtime_error("cannot write " + path);
  write_tree(file, "events", train);
  write_tree(file, "test", test);
  file.Close();
}

// The entries of `events` in the order RANKS ranks with BATCH read them, step by step.
std::vector<Event> interleave(const std::vector<Event>& events, long long ranks, long long batch) {
  const long long n = static_cast<long long>(events.size());
  std::vector<long long> next(ranks), end(ranks);
  for (long long r = 0; r < ranks; ++r) next[r] = r * n / ranks, end[r] = (r + 1) * n / ranks;
  std::vector<Event> out;
  while (static_cast<long long>(out.size()) < n)
    for (long long r = 0; r < ranks; ++r)
      for (long long k = 0; k < batch && next[r] < end[r]; ++k) out.push_back(events[next[r]++]);
  return out;
}

torchclad::TrainOptions options(int batch) {
  torchclad::TrainOptions o;
  o.epochs = torchclad::mpi_test::kEpochs;
  o.batch = batch;
  o.optimizer = torchclad::mpi_test::kOptimizer;
  o.lr = 0.2;
  o.progress = false;
  return o;
}

void report(const torchclad::Distributed& mpi, torchclad::Model& model, const torchclad::TrainResult& r,
            const std::string& out) {
  if (!mpi.is_root()) return;
  torchclad::mpi_test::report_run(model, r, out);
  std::printf("%d rank(s): %s\n", mpi.size(), r.status.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  torchclad::Distributed mpi(argc, argv);
  const std::string mode = argc > 1 ? argv[1] : "";
  try {
    if (mode == "write" && argc == 7) {
      const auto train = make_events(std::stoi(argv[3]), 1, false), test = make_events(150, 2, true);
      write_file(argv[2], train, test);
      write_file(argv[6], interleave(train, std::stoi(argv[4]), std::stoi(argv[5])), test);
      return 0;
    }
    if (mode == "write-bad" && argc == 5) {  // x[0] NaN at one entry
      auto train = make_events(std::stoi(argv[3]), 1, false);
      train.at(std::stoi(argv[4])).x[0] = std::nanf("");
      write_file(argv[2], train, make_events(150, 2, true));
      return 0;
    }
    if (mode == "open" && argc == 4) {
      torchclad::StreamDataset s({argv[2]}, argv[3], {"x"}, "label");
      std::printf("opened: %lld entries\n", s.size());
      return 0;
    }
    if (mode == "shard-op" && argc == 4) {
      const std::string op = argv[3];
      auto whole =
          torchclad::dataset_from_columns(ROOT::RDataFrame("events", argv[2]), {"x"}, "label", "weight");
      const auto shard = mpi.shard(whole);
      if (op == "split") shard.split(0.2);
      if (op == "concat") torchclad::Dataset::concat({whole, shard});
      std::printf("%s of a shard did not throw\n", op.c_str());
      return 0;
    }
    if ((mode == "memory" && argc == 6) || (mode == "stream" && (argc == 5 || argc == 6))) {
      const std::string file = argv[2], out = argv[3];
      const int batch = std::stoi(argv[4]);
      auto test = torchclad::dataset_from_columns(ROOT::RDataFrame("test", file), {"x"}, "label", "weight");
      auto model = torchclad::model("shard_separator", 7);
      auto o = options(batch);
      torchclad::TrainResult result;
      if (mode == "stream") {
        torchclad::StreamOptions so;
        so.chunk_entries = 16;
        // Without seeds, entry order: one process on the interleaved file takes the ranks' steps.
        std::vector<std::string> seeds;
        std::stringstream list(argc == 6 ? argv[5] : "");
        for (std::string seed; std::getline(list, seed, ',');) seeds.push_back(seed);
        so.shuffle = !seeds.empty();
        if (so.shuffle) so.shuffle_buffer = 40;
        for (size_t k = 0; k < std::max<size_t>(seeds.size(), 1); ++k) {
          if (so.shuffle) so.seed = std::stoull(seeds[k]);
          auto fresh = torchclad::model("shard_separator", 7);
          torchclad::StreamDataset whole({file + "/events"}, "", {"x"}, "label", "weight", so);
          // FIT_SHARDS_SPLIT=f: train on the train part of whole.split(f, 3) (each rank its share of it).
          const char* split = std::getenv("FIT_SHARDS_SPLIT");
          const auto train = split ? whole.split(std::stod(split), 3).first : whole;
          const auto r = fresh.fit(train, test, o);
          if (r.status != "finished") return 1;
          report(mpi, fresh, r, k == 0 ? out : out + "." + seeds[k]);
        }
        return 0;
      } else {
        const std::string how = argv[5];
        auto whole =
            torchclad::dataset_from_columns(ROOT::RDataFrame("events", file), {"x"}, "label", "weight");
        const long long n = whole.size();
        o.weighted_sampling = how == "sampling" || how == "shard-sampling";
        torchclad::Dataset train = whole;
        if (how == "shard" || how == "shard-sampling") {
          train = mpi.shard(whole);
        } else if (how == "range" || how == "range-wrong") {
          const auto rows = mpi.shard_rows(n);  // read only this rank's entries
          ROOT::RDataFrame df("events", file);
          // range-wrong: the rows of n, given as rows of n + 1 (a fault)
          train = mpi.shard(torchclad::dataset_from_columns(df.Range(rows.first, rows.first + rows.count),
                                                            {"x"}, "label", "weight"),
                            how == "range" ? n : n + 1);
        } else if (how != "whole" && how != "sampling") {
          throw std::runtime_error("unknown way '" + how + "'");
        }
        const auto rows = mpi.shard_rows(n);
        std::fprintf(stderr, "rank %d of %d holds %lld rows for rows [%lld, %lld) of %lld\n", mpi.rank(),
                     mpi.size(), train.size(), rows.first, rows.first + rows.count, n);
        result = model.fit(train, test, o);
      }
      report(mpi, model, result, out);
      return result.status == "finished" ? 0 : 1;
    }
    std::fprintf(
        stderr,
        "usage: torchclad-test-fit-shards write FILE N RANKS BATCH INTERLEAVED | memory FILE OUT BATCH "
        "whole|shard|range|range-wrong|sampling|shard-sampling | stream FILE OUT BATCH [SEEDS] | "
        "shard-op FILE split|concat | open PATH TREE\n");
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "torchclad-test-fit-shards (rank %d of %d): %s\n", mpi.rank(), mpi.size(), e.what());
    mpi.fail();
    return 1;
  }
}
