// The commands' option table (apps/cli_args.hpp, trainer_options.hpp): what
// it parses into the variables, the usage errors, and the --help it writes.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cli_args.hpp"
#include "trainer_options.hpp"

namespace {

using torchclad::cli::Options;
using torchclad::cli::UsageError;

// Parses the arguments after a command name.
Options::Parsed parse(Options& o, std::vector<std::string> args) {
  args.insert(args.begin(), "cmd");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return o.parse(static_cast<int>(argv.size()), argv.data());
}

std::string error_of(Options& o, const std::vector<std::string>& args) {
  try {
    parse(o, args);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "(no error)";
}

// The shape of the trainers' configs (train::RunOptions and its extensions).
struct Config {
  struct {
    std::string kind = "adam";
    double lr = 1e-3;
  } optimizer;
  int epochs = 5, batch = 64, threads = 1;
  uint64_t seed = 42;
  bool progress = true;
  int64_t train_limit = 0, test_limit = 0;
  std::string checkpoint;
  bool resume = false;
};

TEST(CliArgs, SetsEachKindOfValue) {
  int epochs = 5;
  double lr = 0.1;
  std::string data;
  bool stream = false;
  std::vector<std::string> parts;
  Options o("usage: cmd");
  o.integer("--epochs", epochs, "default {default}")
      .number("--lr", lr, "default {default}")
      .text("--data", "DIR", data, "a directory")
      .set("--stream", "stream", stream)
      .text("--parts", "LIST", "parts", [&](const std::string& v) { parts.push_back(v); })
      .alias("--part", "--parts");
  EXPECT_EQ(parse(o, {"--epochs", "7", "--lr", "-2.5e-3", "--data", "d", "--stream", "--part", "a"}),
            Options::Parsed::kRun);
  EXPECT_EQ(epochs, 7);
  EXPECT_DOUBLE_EQ(lr, -2.5e-3);
  EXPECT_EQ(data, "d");
  EXPECT_TRUE(stream);
  EXPECT_EQ(parts, std::vector<std::string>{"a"});
  EXPECT_TRUE(o.given("--parts"));  // under its own name when given by an alias
  EXPECT_FALSE(o.given("--nothing"));
}

TEST(CliArgs, UsageErrorsNameTheOptionWhatItExpectsAndWhatItFound) {
  int n = 0;
  double x = 0;
  std::string s;
  Options o("usage: cmd");
  o.integer("--epochs", n, "").number("--lr", x, "").text("--data", "DIR", s, "");
  EXPECT_EQ(error_of(o, {"--bogus", "1"}), "unknown option '--bogus'");
  EXPECT_EQ(error_of(o, {"data"}), "unknown option 'data'");
  EXPECT_EQ(error_of(o, {"--epochs", "five"}), "--epochs expects an integer, found 'five'");
  EXPECT_EQ(error_of(o, {"--epochs", "5x"}), "--epochs expects an integer, found '5x'");
  EXPECT_EQ(error_of(o, {"--lr", "fast"}), "--lr expects a number, found 'fast'");
  EXPECT_EQ(error_of(o, {"--epochs"}), "--epochs expects an integer, found nothing");
  EXPECT_EQ(error_of(o, {"--lr"}), "--lr expects a number, found nothing");
  EXPECT_EQ(error_of(o, {"--data"}), "--data expects a value (DIR), found nothing");
}

TEST(CliArgs, HelpListsTheOptionsWithTheirDefaults) {
  int chunk = 65536;
  std::string tree = "train", hidden = "x";
  Options o("usage: cmd [options]");
  o.integer("--chunk-entries", chunk, "entries per chunk, default {default}")
      .text("--train-tree", "NAME", tree, "default {default}\nsecond line")
      .text("--hidden", "NAME", hidden, "")
      .help_line("this help")
      .epilogue("More text.\n");
  EXPECT_EQ(o.usage(),
            "usage: cmd [options]\n\n"
            "  --chunk-entries N     entries per chunk, default 65536\n"
            "  --train-tree NAME     default train\n"
            "                        second line\n"
            "  -h, --help            this help\n"
            "\nMore text.\n");
  EXPECT_EQ(parse(o, {"--help"}), Options::Parsed::kHelpShown);
  EXPECT_EQ(parse(o, {"-h"}), Options::Parsed::kHelpShown);
}

TEST(CliArgs, TrainersShareTheirOptions) {
  Config c;
  c.epochs = 6;
  const torchclad::cli::TrainerWording w{"windows", 0.01, "", "", "one engine"};
  Options o("usage: cmd");
  torchclad::cli::add_optimizer_options(o, c, w);
  torchclad::cli::add_sample_options(o, c, w);
  torchclad::cli::add_checkpoint_options(o, c, w);
  const auto help = o.usage();
  EXPECT_NE(help.find("  --epochs N            default 6\n"), std::string::npos) << help;
  EXPECT_NE(help.find("  --lr X                learning rate, default 0.001 (adam) / 0.01 (sgd)\n"),
            std::string::npos)
      << help;
  EXPECT_NE(help.find("  --test-limit N        evaluate on the first N test windows only\n"),
            std::string::npos)
      << help;
  ASSERT_EQ(parse(o, {"--optimizer", "sgd", "--seed", "7", "--train-limit", "100", "--checkpoint", "f",
                      "--resume", "--quiet"}),
            Options::Parsed::kRun);
  torchclad::cli::apply_optimizer_defaults(o, c, w);
  EXPECT_EQ(c.optimizer.kind, "sgd");
  EXPECT_DOUBLE_EQ(c.optimizer.lr, 0.01);  // sgd's default without --lr
  EXPECT_EQ(c.seed, 7u);
  EXPECT_EQ(c.train_limit, 100);
  EXPECT_EQ(c.checkpoint, "f");
  EXPECT_TRUE(c.resume);
  EXPECT_FALSE(c.progress);

  Config given;
  Options o2("usage: cmd");
  torchclad::cli::add_optimizer_options(o2, given, w);
  ASSERT_EQ(parse(o2, {"--optimizer", "sgd", "--lr", "0.2"}), Options::Parsed::kRun);
  torchclad::cli::apply_optimizer_defaults(o2, given, w);
  EXPECT_DOUBLE_EQ(given.optimizer.lr, 0.2);  // --lr given: kept
}

TEST(CliArgs, RunSummaryAsTheTrainersLogIt) {
  Config c;
  EXPECT_EQ(torchclad::cli::run_summary(c, 1), "adam lr 0.001, batch 64, threads 1, seed 42");
  c.optimizer = {"sgd", 0.05};
  EXPECT_EQ(torchclad::cli::run_summary(c, 4),
            "sgd lr 0.05, batch 64, threads 1, seed 42; 4 ranks, global batch 256");
}

TEST(CliArgs, AnOptionIsDeclaredOnce) {
  int a = 0, b = 0;
  Options o("usage: cmd");
  o.integer("--n", a, "");
  EXPECT_THROW(o.integer("--n", b, ""), std::logic_error);
  EXPECT_THROW(o.alias("--m", "--undeclared"), std::logic_error);
}

}  // namespace
