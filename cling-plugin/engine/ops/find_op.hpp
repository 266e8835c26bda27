#pragma once
// The typed dispatcher handle of a torchclad operator, for the C++ API's
// wrappers (ops.cpp, cnn_ops.cpp); each wrapper looks its operator up once.
#include <ATen/core/dispatch/Dispatcher.h>

namespace torchclad::detail {

template <typename Signature>
c10::TypedOperatorHandle<Signature> find_op(const char* name) {
  return c10::Dispatcher::singleton().findSchemaOrThrow(name, "").typed<Signature>();
}

}  // namespace torchclad::detail
