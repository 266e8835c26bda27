#pragma once
// The torchclad commands' options: each declared once in a table (name,
// value kind, default, help text), from which one parser reads argv and
// --help is written. A usage error names the option, what it expects and
// what it found (the commands exit with code 2).
#include <functional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace torchclad::cli {

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

inline long long to_int(const std::string& flag, const std::string& v) {
  try {
    size_t used = 0;
    const long long n = std::stoll(v, &used);
    if (used == v.size()) return n;
  } catch (const std::exception&) {
  }
  throw UsageError(flag + " expects an integer, found '" + v + "'");
}

inline double to_double(const std::string& flag, const std::string& v) {
  try {
    size_t used = 0;
    const double x = std::stod(v, &used);
    if (used == v.size()) return x;
  } catch (const std::exception&) {
  }
  throw UsageError(flag + " expects a number, found '" + v + "'");
}

// A value as --help shows it ("0.01", "65536", "train").
template <class T>
std::string shown(const T& value) {
  std::ostringstream s;
  s << value;
  return s.str();
}

class Options {
 public:
  enum class Kind { kSwitch, kInteger, kNumber, kText };
  struct Option {
    std::string name;                             // "--epochs"
    Kind kind;                                    // what follows it on the command line
    std::string value;                            // the value's name in --help: N, X, DIR, ...
    std::string help;                             // lines separated by '\n'; empty: not listed in --help
    std::function<void(const std::string&)> set;  // the value's text ("" for a switch)
  };
  enum class Parsed { kRun, kHelpShown };

  // usage: the first line of --help, e.g. "usage: torchclad-train [options]".
  explicit Options(std::string usage) : usage_(std::move(usage)) {}

  // In every help text, "{default}" stands for the target's value when it is
  // declared: the default is written once, where the variable is initialised.
  Options& on(const std::string& name, const std::string& help, std::function<void()> act);
  Options& set(const std::string& name, const std::string& help, bool& target);
  template <class Int, std::enable_if_t<std::is_integral_v<Int>, int> = 0>
  Options& integer(const std::string& name, Int& target, const std::string& help) {
    return add({name, Kind::kInteger, "N", with_default(help, shown(target)),
                [&target, name](const std::string& v) { target = static_cast<Int>(to_int(name, v)); }});
  }
  Options& number(const std::string& name, double& target, const std::string& help);
  Options& text(const std::string& name, const std::string& value, std::string& target,
                const std::string& help);
  // A text value that parse turns into the option's setting (and checks).
  Options& text(const std::string& name, const std::string& value, const std::string& help,
                std::function<void(const std::string&)> parse);
  // Another name for a declared option, not listed in --help.
  Options& alias(const std::string& name, const std::string& of);
  // "-h, --help" listed with this text (--help and -h work whether listed or not).
  Options& help_line(const std::string& help);
  // The text after the options in --help.
  Options& epilogue(const std::string& text);

  // Reads argv[1..]: --help prints usage() to stdout and returns kHelpShown;
  // throws UsageError for an unknown option, a missing or a bad value.
  Parsed parse(int argc, char** argv);
  // Whether the command line gave the option (after parse).
  bool given(const std::string& name) const;
  std::string usage() const;

 private:
  Options& add(Option option);
  const Option* find(const std::string& name) const;
  static std::string with_default(const std::string& help, const std::string& value);

  std::string usage_, epilogue_, help_line_;
  std::vector<Option> options_;
  std::vector<std::pair<std::string, std::string>> aliases_;
  std::vector<std::string> given_;
};

}  // namespace torchclad::cli
