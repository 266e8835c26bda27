#pragma once
// The cell thread's view of ROOT's core mutex. After ROOT::EnableThreadSafety()
// the host replaces ROOT::gCoreMutex by a delegating mutex that sees the cell
// thread enter and leave user code (TCling rewinds the interpreter lock when
// cling enters user code, TClingCallbacks::EnteringUserCode, and re-applies
// it on return) and every ROOT lock it takes, with its hint. The reads are
// async-signal-safe: the jump decision (cell_jump.cpp) runs in handlers.

namespace host {

void install_user_code_tracker();
bool user_code_tracker_active();

// Levels of user code the cell thread is in (0: in cling, or not in a cell).
int user_code_depth();
// True if the cell thread took a ROOT lock since it entered the innermost
// user-code level (it is inside ROOT). Only meaningful at depth > 0.
bool root_lock_taken_in_user_code();

// The locks the cell thread holds at one point (taken when a cell starts).
struct LockMark {
  int locks = 0;  // lock calls not yet matched by an unlock
  int held = 0;   // entries of the held-lock record
};
LockMark mark_root_locks();
// Locks taken since the mark, or -1 if there were too many to record.
int root_locks_since(const LockMark& mark);
// Unlocks, last first, the locks taken since the mark: what the lock guards
// of the frames a jump skipped would have done. Normal context only.
void release_root_locks_since(const LockMark& mark);
// After a jump: the thread is outside user code again, with the counts of
// the mark. Returns how many user-code levels were left without cleanup.
int forget_user_code_levels(const LockMark& mark);

}  // namespace host
