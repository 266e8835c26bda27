#pragma once
// Helpers shared by the ROOT data tests (tests/test_rootdata*.cpp, one
// executable): the temporary directory (scratch_dir.hpp), ROOT files written by the tests,
// implicit MT for a scope, and error messages checked part by part.
#include <ROOT/RDataFrame.hxx>
#include <TFile.h>
#include <TROOT.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "scratch_dir.hpp"

namespace torchclad::rootdata_testing {

using torchclad::testing::tmp;
using torchclad::testing::tmp_dir;

// Writes a ROOT file with trees made by `fill` (called with the open file as gDirectory).
inline void write_root(const std::string& path, const std::function<void(TFile&)>& fill) {
  TDirectory::TContext keep;
  TFile f(path.c_str(), "RECREATE");
  ASSERT_FALSE(f.IsZombie()) << path;
  fill(f);
  f.Write();
  f.Close();
}

// Implicit MT on (2 threads) for the scope.
struct ImplicitMT {
  ImplicitMT() { ROOT::EnableImplicitMT(2); }
  ~ImplicitMT() { ROOT::DisableImplicitMT(); }
  ImplicitMT(const ImplicitMT&) = delete;
  ImplicitMT& operator=(const ImplicitMT&) = delete;
};

// f() throws std::runtime_error whose message contains every part.
inline ::testing::AssertionResult throws_with(const std::function<void()>& f,
                                              const std::vector<std::string>& parts) {
  try {
    f();
  } catch (const std::runtime_error& e) {
    const std::string msg = e.what();
    for (const auto& p : parts)
      if (msg.find(p) == std::string::npos)
        return ::testing::AssertionFailure() << "message \"" << msg << "\" lacks \"" << p << "\"";
    if (std::getenv("TORCHCLAD_SHOW_ERRORS")) std::printf("[ message  ] %s\n", msg.c_str());
    return ::testing::AssertionSuccess() << msg;
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "not a runtime_error: " << e.what();
  }
  return ::testing::AssertionFailure() << "no exception";
}

}  // namespace torchclad::rootdata_testing
