#pragma once
// One temporary directory per test program for the files its tests write
// (tmp("name") is a path in it), removed when the tests have run.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

namespace torchclad::testing {

namespace scratch_detail {
struct RemoveAtEnd : ::testing::Environment {
  explicit RemoveAtEnd(std::filesystem::path d) : dir(std::move(d)) {}
  void TearDown() override { std::filesystem::remove_all(dir); }
  std::filesystem::path dir;
};
}  // namespace scratch_detail

inline const std::filesystem::path& tmp_dir() {
  static const std::filesystem::path dir = [] {
    auto d = std::filesystem::temp_directory_path() / ("torchclad-tests-" + std::to_string(getpid()));
    std::filesystem::remove_all(d);
    std::filesystem::create_directories(d);
    return d;
  }();
  return dir;
}

inline std::string tmp(const std::string& name) { return (tmp_dir() / name).string(); }

// Registered before main runs the tests: gtest tears it down after them.
inline const ::testing::Environment* const scratch_cleanup =
    ::testing::AddGlobalTestEnvironment(new scratch_detail::RemoveAtEnd(tmp_dir()));

}  // namespace torchclad::testing
