#pragma once
// Where a request's time goes, for the latency benchmark: with
// TORCHCLAD_TIMING set in the host's environment, every execute logs one
// line on the host's own stderr (the bridge's log shows it as "host: ...")
// with the microseconds from the frame's arrival to each step. Off (the
// default), a mark is one load of a bool.
#include <chrono>
#include <cstdint>

namespace host::timing {

bool enabled();
// Where the lines go: the host's own stderr (fd 2 is the cells' capture pipe).
void set_log_fd(int fd);

// The control thread read a frame; it was an execute, queued for the cell
// thread (its clock starts at the frame's arrival). The benchmark sends one
// execute at a time: a second one queued behind the first restarts the clock.
void frame_arrived();
void execute_queued();
// The cell thread took a request off the queue: the marks start over.
void dequeued();
// A step of the running execute, by a static name.
void mark(const char* step);
// After the reply is sent: writes the line and starts over.
void finish(const char* what);

}  // namespace host::timing
