#pragma once
// Reader for the IDX format of MNIST-style data sets (big-endian header:
// two zero bytes, element type code, number of dimensions; then one 32-bit
// size per dimension; then the elements). Kept free of LibTorch so that it
// can be tested and reused without it.
#include <cstdint>
#include <string>
#include <vector>

namespace torchclad::data {

struct IdxArray {
  std::vector<int64_t> dims;
  std::vector<uint8_t> data;  // product(dims) elements, row-major
};

// Reads an IDX file, raw or gzip-compressed (detected by the 1f 8b magic, not
// the file name). Only element type 0x08 (unsigned byte), the one MNIST uses,
// is supported. Throws std::runtime_error naming the file, what was expected
// and what was found: bad magic, unsupported type, bad dimensions, truncated
// payload, trailing bytes, corrupt gzip stream, unreadable file.
IdxArray read_idx(const std::string& path);

}  // namespace torchclad::data
