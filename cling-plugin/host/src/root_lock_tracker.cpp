#include "root_lock_tracker.hpp"

#include <TInterpreter.h>
#include <TROOT.h>
#include <TVirtualMutex.h>
#include <TVirtualRWMutex.h>

#include <algorithm>
#include <atomic>

#include "cell_jump.hpp"

namespace host {
namespace {

// Written by the cell thread only; read by signal handlers on it.
constexpr int kMaxDepth = 64;
std::atomic<int> g_user_depth{0};  // user-code levels entered (cling rewound the lock)
std::atomic<int> g_locks{0};       // ROOT core-mutex locks held by the cell thread
int g_locks_at_entry[kMaxDepth];   // g_locks when each user-code level was entered
bool g_tracker_active = false;

// The ROOT locks the cell thread holds, in order, with their hints.
struct HeldLock {
  bool write;
  ROOT::TVirtualRWMutex::Hint_t* hint;
};
constexpr int kMaxHeld = 64;
HeldLock g_held[kMaxHeld];
int g_held_count = 0;  // entries beyond kMaxHeld are counted, not kept

class TrackingCoreMutex final : public ROOT::TVirtualRWMutex {
 public:
  explicit TrackingCoreMutex(ROOT::TVirtualRWMutex* inner) : inner_(inner) {}

  Hint_t* ReadLock() override {
    const bool me = on_cell_thread();
    if (me) g_locks.fetch_add(1);
    Hint_t* hint = inner_->ReadLock();
    if (me) remember(false, hint);
    return hint;
  }
  void ReadUnLock(Hint_t* hint) override {
    inner_->ReadUnLock(hint);
    if (on_cell_thread()) forget(false);
  }
  Hint_t* WriteLock() override {
    const bool me = on_cell_thread();
    if (me) g_locks.fetch_add(1);
    Hint_t* hint = inner_->WriteLock();
    if (me) remember(true, hint);
    return hint;
  }
  void WriteUnLock(Hint_t* hint) override {
    inner_->WriteUnLock(hint);
    if (on_cell_thread()) forget(true);
  }
  std::unique_ptr<State> GetStateBefore() override { return inner_->GetStateBefore(); }
  // TCling rewinds the lock when cling enters user code
  // (TClingCallbacks::EnteringUserCode) and re-applies it on return.
  std::unique_ptr<StateDelta> Rewind(const State& earlier) override {
    auto delta = inner_->Rewind(earlier);
    if (on_cell_thread()) {
      int d = g_user_depth.load();
      if (d < kMaxDepth) g_locks_at_entry[d] = g_locks.load();
      g_user_depth.store(d + 1);
    }
    return delta;
  }
  void Apply(std::unique_ptr<StateDelta>&& delta) override {
    if (on_cell_thread() && g_user_depth.load() > 0) g_user_depth.fetch_sub(1);
    inner_->Apply(std::move(delta));
  }
  TVirtualRWMutex* Factory(Bool_t recursive) override { return inner_->Factory(recursive); }

  void release_down_to(int held) {
    while (g_held_count > held && g_held_count <= kMaxHeld) {
      const HeldLock last = g_held[g_held_count - 1];
      if (last.write)
        WriteUnLock(last.hint);
      else
        ReadUnLock(last.hint);
    }
  }

 private:
  static void remember(bool write, Hint_t* hint) {
    if (g_held_count < kMaxHeld) g_held[g_held_count] = {write, hint};
    ++g_held_count;
  }
  // The most recent lock of that kind (locks are released last first).
  static void forget(bool write) {
    g_locks.fetch_sub(1);
    if (g_held_count > kMaxHeld) {
      --g_held_count;
      return;
    }
    for (int i = g_held_count - 1; i >= 0; --i) {
      if (g_held[i].write != write) continue;
      for (int j = i; j + 1 < g_held_count; ++j) g_held[j] = g_held[j + 1];
      --g_held_count;
      return;
    }
  }

  ROOT::TVirtualRWMutex* inner_;
};

TrackingCoreMutex* g_tracker = nullptr;

}  // namespace

void install_user_code_tracker() {
  if (!ROOT::gCoreMutex) return;  // ROOT::EnableThreadSafety() not called
  g_tracker = new TrackingCoreMutex(ROOT::gCoreMutex);
  // TThread::Init() made these three one object; keep it so.
  ROOT::gCoreMutex = g_tracker;
  gInterpreterMutex = g_tracker;
  gROOTMutex = g_tracker;
  g_tracker_active = true;
}

bool user_code_tracker_active() { return g_tracker_active && ROOT::gCoreMutex != nullptr; }

int user_code_depth() { return g_user_depth.load(); }

bool root_lock_taken_in_user_code() {
  const int depth = g_user_depth.load();
  return depth > 0 && g_locks.load() != g_locks_at_entry[std::min(depth, kMaxDepth) - 1];
}

LockMark mark_root_locks() { return {g_locks.load(), g_held_count}; }

int root_locks_since(const LockMark& mark) {
  if (g_held_count > kMaxHeld) return -1;
  return g_locks.load() - mark.locks;
}

void release_root_locks_since(const LockMark& mark) {
  if (g_tracker) g_tracker->release_down_to(mark.held);
}

int forget_user_code_levels(const LockMark& mark) {
  const int levels = g_user_depth.load();
  g_user_depth.store(0);
  g_locks.store(mark.locks);
  g_held_count = mark.held;
  return levels;
}

}  // namespace host
