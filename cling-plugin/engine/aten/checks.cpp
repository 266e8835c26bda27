#include "aten/checks.hpp"

namespace torchclad::aten {

void check_input(const at::Tensor& t, const char* op, const char* arg, int64_t dim, const char* layout) {
  TORCH_CHECK(t.defined(), op, ": ", arg, " must be a tensor, found an undefined tensor");
  TORCH_CHECK(t.scalar_type() == at::kFloat || t.scalar_type() == at::kDouble, op, ": ", arg,
              " must be float32 or float64, found ", t.scalar_type());
  TORCH_CHECK(t.device().is_cpu(), op, ": ", arg, " must be on the CPU, found ", t.device());
  TORCH_CHECK(t.dim() == dim, op, ": ", arg, " must be ", dim, "-D ", layout, ", found ", t.dim(),
              "-D of shape ", t.sizes());
  TORCH_CHECK(t.is_contiguous(), op, ": ", arg, " must be contiguous, found strides ", t.strides(),
              " for shape ", t.sizes(), " (call .contiguous())");
}

void check_same_dtype(const at::Tensor& t, const at::Tensor& ref, const char* op, const char* arg,
                      const char* ref_arg) {
  TORCH_CHECK(t.scalar_type() == ref.scalar_type(), op, ": ", arg, " must have the dtype of ", ref_arg, " (",
              ref.scalar_type(), "), found ", t.scalar_type());
}

void check_size(const at::Tensor& t, int64_t dim, int64_t expected, const char* op, const char* arg,
                const char* what) {
  TORCH_CHECK(t.size(dim) == expected, op, ": ", arg, " size(", dim, ") must be ", expected, " (", what,
              "), found ", t.size(dim), " in shape ", t.sizes());
}

void check_nonempty_batch(int64_t batch, const char* op, const char* arg) {
  TORCH_CHECK(batch > 0, op, ": ", arg, " is an empty batch (0 rows); expected at least 1");
}

std::vector<int32_t> class_indices(const at::Tensor& target, int64_t batch, int64_t classes, const char* op) {
  TORCH_CHECK(target.defined(), op, ": target must be a tensor of class indices, found undefined");
  TORCH_CHECK(target.scalar_type() == at::kLong || target.scalar_type() == at::kInt, op,
              ": target must be int64 class indices, found ", target.scalar_type());
  TORCH_CHECK(target.device().is_cpu(), op, ": target must be on the CPU, found ", target.device());
  TORCH_CHECK(target.dim() == 1 && target.size(0) == batch, op, ": target must be 1-D [", batch,
              "] (one class index per row of the input), found shape ", target.sizes());
  auto t = target.to(at::kLong).contiguous();
  const int64_t* p = t.data_ptr<int64_t>();
  std::vector<int32_t> out(batch);
  for (int64_t i = 0; i < batch; ++i) {
    TORCH_CHECK(p[i] >= 0 && p[i] < classes, op, ": target[", i, "] = ", p[i],
                " is out of range; expected a class index in [0, ", classes, ")");
    out[i] = static_cast<int32_t>(p[i]);
  }
  return out;
}

void check_same_device(const at::Tensor& t, const at::Tensor& ref, const char* op, const char* arg,
                       const char* ref_arg) {
  TORCH_CHECK(t.device() == ref.device(), op, ": ", arg, " must be on the device of ", ref_arg, " (",
              ref.device(), "), found ", t.device());
}

}  // namespace torchclad::aten
