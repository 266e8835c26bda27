#pragma once
// Which cell started each thread, so that a training run on a background
// thread (a cell that starts std::thread / std::async and returns) is shown
// under the cell that started it, whichever cell runs when it sends events.
//
// The host defines pthread_create (the executable's symbol comes before
// libc's for every library and for cling's JIT, as the malloc family in
// alloc_guard.cpp does): a new thread inherits its creator's origin, or,
// when the creator has none (the cell thread, ROOT's and LibTorch's threads
// started between cells), the execute request running at that moment.
#include <nlohmann/json.hpp>

namespace host {

// The execute request running now (its id), null between cells.
void set_running_execute(const nlohmann::json& id);
// The execute request this thread works for: the one that started it (or
// the thread that started it, transitively); else the one running now; else
// null.
nlohmann::json execute_of_this_thread();

}  // namespace host
