#pragma once
// Broken copies of ROOT files the tests wrote, for the stream's read errors:
// a basket whose bytes are flipped (the file opens, the basket fails to
// inflate), a file cut short. Each helper checks that ROOT itself fails to
// read what it broke, so a test on such a file cannot pass by reading good
// data. And `within`, a bound on a call that must not hang.
#include <TBranch.h>
#include <TError.h>
#include <TFile.h>
#include <TTree.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <thread>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace torchclad::stream_testing {

// Basket `basket` of `branch` in `tree` of file `src`: its first entry and
// where it lies in the file.
struct BasketPlace {
  long long first_entry = 0, seek = 0;
  int bytes = 0;
};

inline BasketPlace basket_place(const std::string& src, const std::string& tree, const std::string& branch,
                                int basket) {
  TDirectory::TContext keep;
  TFile f(src.c_str(), "READ");
  auto* t = f.Get<TTree>(tree.c_str());
  TBranch* b = t ? t->GetBranch(branch.c_str()) : nullptr;
  if (!b || basket >= b->GetWriteBasket())
    throw std::runtime_error("basket_place: no basket " + std::to_string(basket) + " of branch '" + branch +
                             "' in " + src);
  return {b->GetBasketEntry()[basket], b->GetBasketSeek(basket), b->GetBasketBytes()[basket]};
}

// Whether ROOT fails to read `branch` at `entry` (its basket does not inflate).
inline bool root_fails_reading(const std::string& file, const std::string& tree, const std::string& branch,
                               long long entry) {
  TDirectory::TContext keep;
  const int level = gErrorIgnoreLevel;
  gErrorIgnoreLevel = kFatal;  // the expected errors, unprinted
  TFile f(file.c_str(), "READ");
  auto* t = f.Get<TTree>(tree.c_str());
  TBranch* b = t ? t->GetBranch(branch.c_str()) : nullptr;
  const bool fails = !b || b->GetEntry(entry) < 0;
  gErrorIgnoreLevel = level;
  return fails;
}

// A copy of `src` at `dst` with basket `basket` of `branch` broken: the last
// 8 bytes of its compressed record (zlib's checksum and the data before it)
// and a byte in its middle inverted. Returns the basket's first entry;
// throws if ROOT still reads it.
inline long long corrupt_basket(const std::string& src, const std::string& dst, const std::string& tree,
                                const std::string& branch, int basket) {
  const BasketPlace at = basket_place(src, tree, branch, basket);
  std::filesystem::copy_file(src, dst, std::filesystem::copy_options::overwrite_existing);
  std::fstream io(dst, std::ios::in | std::ios::out | std::ios::binary);
  std::vector<long long> offsets = {at.seek + at.bytes / 2};
  for (int k = 1; k <= 8; ++k) offsets.push_back(at.seek + at.bytes - k);
  for (long long off : offsets) {
    char c = 0;
    io.seekg(off);
    io.get(c);
    io.seekp(off);
    io.put(static_cast<char>(~c));
  }
  io.close();
  if (!root_fails_reading(dst, tree, branch, at.first_entry))
    throw std::runtime_error("corrupt_basket: ROOT still reads branch '" + branch + "' at entry " +
                             std::to_string(at.first_entry) + " of " + dst);
  return at.first_entry;
}

// A copy of `src` at `dst` holding its first `keep` bytes.
inline void truncate_copy(const std::string& src, const std::string& dst, long long keep) {
  std::filesystem::copy_file(src, dst, std::filesystem::copy_options::overwrite_existing);
  std::filesystem::resize_file(dst, static_cast<std::uintmax_t>(keep));
}

// Runs f on a thread of its own and rethrows what it throws. A reader that
// hangs fails the test and ends the program (its thread cannot be joined).
inline void within(int seconds, const std::function<void()>& f) {
  auto done = std::make_shared<std::promise<void>>();
  auto result = done->get_future();
  std::thread([done, f] {
    try {
      f();
      done->set_value();
    } catch (...) {
      done->set_exception(std::current_exception());
    }
  }).detach();
  if (result.wait_for(std::chrono::seconds(seconds)) != std::future_status::ready) {
    ADD_FAILURE() << "the stream did not return within " << seconds << " s";
    std::fprintf(stderr, "a stream hung: ending the test program\n");
    std::_Exit(1);
  }
  result.get();
}

}  // namespace torchclad::stream_testing
