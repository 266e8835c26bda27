#pragma once
// Argument checks of the torchclad operators. Each failure is a c10::Error
// (RuntimeError in Python) of the form "<op>: <argument> must be <expected>,
// found <found>".
#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

namespace torchclad::aten {

// float32 or float64, on the CPU, contiguous, of rank `dim` (shape described by `layout`).
void check_input(const at::Tensor& t, const char* op, const char* arg, int64_t dim, const char* layout);
// Same dtype as `ref` (named ref_arg).
void check_same_dtype(const at::Tensor& t, const at::Tensor& ref, const char* op, const char* arg,
                      const char* ref_arg);
// On the device of `ref`. Meta kernels run for any call with a meta tensor
// among its arguments: a mix of devices is an error, not a meta result.
void check_same_device(const at::Tensor& t, const at::Tensor& ref, const char* op, const char* arg,
                       const char* ref_arg);
void check_size(const at::Tensor& t, int64_t dim, int64_t expected, const char* op, const char* arg,
                const char* what);
void check_nonempty_batch(int64_t batch, const char* op, const char* arg);
// Class indices: int64 (or int32) [batch] on the CPU, each in [0, classes);
// returned as the int32 the kernels take.
std::vector<int32_t> class_indices(const at::Tensor& target, int64_t batch, int64_t classes, const char* op);

}  // namespace torchclad::aten
