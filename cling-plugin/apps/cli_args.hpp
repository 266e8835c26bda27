#pragma once
// Command-line value parsing shared by the torchclad commands: a usage error
// names the flag, what it expects and what it found (exit code 2).
#include <stdexcept>
#include <string>

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

}  // namespace torchclad::cli
