#pragma once
// What a cell-facing StreamDataset (torchclad/stream.h) holds: the reader
// (data/stream_reader.hpp). Shared by stream_api.cpp and model_stream_fit.cpp.
#include <memory>

#include "data/stream_reader.hpp"
#include "torchclad/stream.h"

namespace torchclad {

struct StreamDataset::Impl {
  std::unique_ptr<rootdata::ColumnStream> stream;
  StreamOptions options;
};

}  // namespace torchclad
