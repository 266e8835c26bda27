#pragma once
// Runs f, turning the engine's c10::Error into a std::runtime_error with its
// message only: cling prints what() of uncaught exceptions, and c10's
// carries a C++ backtrace that buries the message.
#include <c10/util/Exception.h>

#include <iostream>
#include <ostream>
#include <stdexcept>

namespace torchclad {

template <typename F>
auto rethrow_plain(F&& f) {
  try {
    return f();
  } catch (const c10::Error& e) {
    throw std::runtime_error(e.what_without_backtrace());
  }
}

// Where the API's training log goes: stderr with a progress bar, nowhere
// without (in a notebook the live display shows the run, and stderr would
// print as red boxes under it; failures are in the returned result).
inline std::ostream& training_log(bool progress) {
  struct NullBuffer : std::streambuf {
    int overflow(int c) override { return c; }
  };
  static NullBuffer null_buffer;
  static std::ostream null_stream(&null_buffer);
  return progress ? std::cerr : null_stream;
}

}  // namespace torchclad
