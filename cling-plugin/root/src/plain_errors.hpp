#pragma once
// Runs f, turning the engine's c10::Error into a std::runtime_error with its
// message only: cling prints what() of uncaught exceptions, and c10's
// carries a C++ backtrace that buries the message.
#include <c10/util/Exception.h>

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

}  // namespace torchclad
