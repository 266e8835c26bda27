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

// The header's dimensions alone (the payload is not read).
std::vector<int64_t> read_idx_dims(const std::string& path);

// Items [first, first + count) along the first dimension (dims[0] of the
// result is count): the items before are skipped (seeked over, or
// decompressed and dropped), the items after not read. Throws as read_idx,
// and when the range is not within the file's items.
IdxArray read_idx_items(const std::string& path, int64_t first, int64_t count);

}  // namespace torchclad::data
