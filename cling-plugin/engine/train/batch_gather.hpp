#pragma once
// A batch's rows (picked by a shuffled order, anywhere in the training set)
// copied into contiguous buffers, x [size, x_width], y [size, y_width] and
// one loss factor per row, as the engines read a batch. Two sets of buffers:
// while steps train on one, the rows of the next ones can be copied into
// the other on a thread of its own (train_engine copies the batches of a
// group of steps at once: one wake-up of the worker a group), so the copy,
// which reads rows from all over the set, no longer adds to the step's time.
// The rows and their order are the caller's either way: the same batches,
// the same steps.
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace torchclad::train {

class BatchGather {
 public:
  struct Row {
    const float* x = nullptr;  // x_width floats
    const float* y = nullptr;  // y_width floats
    float w = 1;               // the row's loss factor
  };
  // Buffers for `capacity` rows; the worker thread only with `ahead`.
  BatchGather(int capacity, int64_t x_width, int64_t y_width, bool ahead);
  ~BatchGather();  // waits for a copy in flight
  BatchGather(const BatchGather&) = delete;
  BatchGather& operator=(const BatchGather&) = delete;

  bool ahead() const { return worker_.joinable(); }
  // Where the caller lists the rows of the next copy (capacity entries).
  Row* rows() { return rows_.data(); }
  // The `size` rows listed copied now into the buffers the step reads next.
  void copy_now(int size);
  // Starts copying the `size` rows listed into the other buffers, on the
  // worker with ahead() (without, the copy is made by wait_ahead), and
  // returns; wait_ahead() makes them the batch. The rows' data must stay as
  // it is until then, and rows() is the copy's until then too.
  void copy_ahead(int size);
  // Waits for the copy copy_ahead started (rethrows what it threw) and
  // makes its buffers the batch. Without a copy in flight: nothing.
  void wait_ahead();
  // Waits for a copy in flight and drops it (the batch stays as it was).
  void cancel_ahead();

  // The batch: the buffers the last copy_now or wait_ahead filled.
  const float* x() const { return x_[current_].data(); }
  const float* y() const { return y_[current_].data(); }
  const float* w() const { return w_[current_].data(); }

 private:
  void copy(int size, int slot);
  void run();  // the worker's loop

  int64_t x_width_, y_width_;
  std::vector<Row> rows_;
  std::vector<float> x_[2], y_[2], w_[2];
  int current_ = 0;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool job_ = false, quit_ = false;   // under mutex_
  int job_size_ = -1, job_slot_ = 0;  // the copy in flight; size -1: none
  std::exception_ptr error_;
  std::thread worker_;  // last: started once the members above exist
};

}  // namespace torchclad::train
