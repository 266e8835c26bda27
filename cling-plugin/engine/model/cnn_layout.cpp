#include "model/cnn_layout.hpp"

#include <c10/util/Exception.h>

#include <limits>

#include "kernels/cnn.hpp"

namespace torchclad::model {
namespace k = torchclad::kernels;

int CnnLayout::block(int b, int f) const { return table[b * k::kCnnBlockFields + f]; }

CnnLayout CnnLayout::make(const CnnConfig& config, int64_t batch) {
  const int64_t blocks = static_cast<int64_t>(config.blocks.size());
  TORCH_CHECK(blocks >= 1 && blocks <= k::kMaxCnnBlocks, "torchclad CNN: 1 to ", k::kMaxCnnBlocks,
              " conv blocks, found ", blocks);
  TORCH_CHECK(config.input_length >= 1, "torchclad CNN: input_length must be at least 1, found ",
              config.input_length);
  TORCH_CHECK(config.hidden >= 1, "torchclad CNN: hidden must be at least 1, found ", config.hidden);
  TORCH_CHECK(batch >= 1, "torchclad CNN: batch must be at least 1, found ", batch);
  constexpr int64_t kIntMax = std::numeric_limits<int>::max();
  CnnLayout L;
  L.table.assign(k::kCnnTableSize, 0);
  L.blocks = static_cast<int>(blocks);
  L.batch = static_cast<int>(batch);
  L.input_length = config.input_length;
  int64_t p = 0, a = 0, col = 0;
  int64_t cin = 1, lin = config.input_length;
  for (int64_t b = 0; b < blocks; ++b) {
    const auto& blk = config.blocks[b];
    TORCH_CHECK(blk.channels >= 1 && blk.kernel >= 1 && blk.pool >= 1, "torchclad CNN: block ", b,
                " needs channels, kernel and pool of at least 1, found ", blk.channels, ", ", blk.kernel,
                ", ", blk.pool);
    const int64_t lconv = lin - blk.kernel + 1;
    TORCH_CHECK(lconv >= 1, "torchclad CNN: block ", b, " has kernel ", blk.kernel,
                " longer than its input (length ", lin, "): the signal shrinks to nothing");
    const int64_t lpool = lconv / blk.pool;
    TORCH_CHECK(lpool >= 1, "torchclad CNN: block ", b, " pools ", lconv, " samples by ", blk.pool,
                ": the signal shrinks to nothing");
    int* f = L.table.data() + b * k::kCnnBlockFields;
    f[k::kCnnCin] = static_cast<int>(cin);
    f[k::kCnnLin] = static_cast<int>(lin);
    f[k::kCnnCout] = blk.channels;
    f[k::kCnnK] = blk.kernel;
    f[k::kCnnLconv] = static_cast<int>(lconv);
    f[k::kCnnPool] = blk.pool;
    f[k::kCnnLpool] = static_cast<int>(lpool);
    f[k::kCnnWeight] = static_cast<int>(p);
    p += int64_t{blk.channels} * cin * blk.kernel;
    f[k::kCnnBias] = static_cast<int>(p);
    p += blk.channels;
    f[k::kCnnConv] = static_cast<int>(a);
    a += int64_t{blk.channels} * batch * lconv;
    f[k::kCnnPooled] = static_cast<int>(a);
    a += int64_t{blk.channels} * batch * lpool;
    f[k::kCnnAct] = static_cast<int>(a);
    a += int64_t{blk.channels} * batch * lpool;
    TORCH_CHECK(a <= kIntMax && p <= kIntMax, "torchclad CNN: batch ", batch,
                " needs buffers past 2^31 elements");
    col = std::max<int64_t>(col, k::conv1d_col_size(static_cast<int>(batch), static_cast<int>(cin),
                                                    blk.kernel, static_cast<int>(lconv)));
    cin = blk.channels;
    lin = lpool;
  }
  int* h = L.table.data();
  h[k::kCnnCol] = static_cast<int>(a);
  a += col;
  h[k::kCnnLastC] = static_cast<int>(cin);
  h[k::kCnnLastL] = static_cast<int>(lin);
  h[k::kCnnLastAct] = L.table[(blocks - 1) * k::kCnnBlockFields + k::kCnnAct];
  L.features = static_cast<int>(cin * lin);
  L.hidden = config.hidden;
  h[k::kCnnFlat] = static_cast<int>(a);
  a += batch * L.features;
  h[k::kCnnFeatures] = L.features;
  h[k::kCnnHidden] = L.hidden;
  h[k::kCnnW1] = static_cast<int>(p);
  p += int64_t{L.hidden} * L.features;
  h[k::kCnnB1] = static_cast<int>(p);
  p += L.hidden;
  h[k::kCnnH] = static_cast<int>(a);
  a += batch * L.hidden;
  h[k::kCnnHAct] = static_cast<int>(a);
  a += batch * L.hidden;
  h[k::kCnnW2] = static_cast<int>(p);
  p += L.hidden;
  h[k::kCnnB2] = static_cast<int>(p);
  p += 1;
  h[k::kCnnLogits] = static_cast<int>(a);
  a += batch;
  TORCH_CHECK(a <= kIntMax && p <= kIntMax, "torchclad CNN: batch ", batch,
              " needs buffers past 2^31 elements");
  L.param_count = p;
  L.act_count = a;
  return L;
}

}  // namespace torchclad::model
