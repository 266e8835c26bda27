#include "data/idx.hpp"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace torchclad::data {
namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw std::runtime_error("read_idx: " + path + ": " + what);
}

std::string hex(unsigned byte) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02X", byte);
  return buf;
}

std::string dims_string(const std::vector<int64_t>& dims) {
  std::string s;
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? "x" : "") + std::to_string(dims[i]);
  return s;
}

// A file read either raw or through zlib, chosen by sniffing the gzip magic so
// that a misnamed file still loads (and a plain file is never fed to zlib).
class Input {
 public:
  explicit Input(const std::string& path) : path_(path) {
    raw_ = std::fopen(path.c_str(), "rb");
    if (!raw_) fail(path, std::string("cannot open: ") + std::strerror(errno));
    unsigned char magic[2];
    size_t n = std::fread(magic, 1, 2, raw_);
    if (n == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
      std::fclose(raw_);
      raw_ = nullptr;
      gz_ = gzopen(path.c_str(), "rb");
      if (!gz_) fail(path, std::string("cannot open with zlib: ") + std::strerror(errno));
      gzbuffer(gz_, 1 << 17);  // fewer read calls than zlib's 8 KiB default
    } else {
      std::rewind(raw_);
    }
  }
  ~Input() {
    if (raw_) std::fclose(raw_);
    if (gz_) gzclose(gz_);
  }
  Input(const Input&) = delete;
  Input& operator=(const Input&) = delete;

  // Reads up to n bytes; fewer only at end of file. Stream errors throw.
  size_t read(void* buf, size_t n) {
    if (raw_) {
      size_t got = std::fread(buf, 1, n, raw_);
      if (got < n && std::ferror(raw_)) fail(path_, std::string("read error: ") + std::strerror(errno));
      return got;
    }
    size_t got = 0;
    while (got < n) {
      unsigned want = static_cast<unsigned>(std::min<size_t>(n - got, INT_MAX));
      int r = gzread(gz_, static_cast<char*>(buf) + got, want);
      if (r < 0) gz_fail();
      if (r == 0) break;
      got += static_cast<size_t>(r);
    }
    // zlib reports a cut-off stream as a soft error (Z_BUF_ERROR) after
    // returning what it could decode, so check explicitly.
    if (got < n) {
      int err = Z_OK;
      gzerror(gz_, &err);
      if (err != Z_OK) gz_fail();
    }
    return got;
  }

  // Skips n bytes: a seek, or (gzip) decompressing and dropping them. A
  // skip past the end shows as the short read after it.
  void skip(int64_t n) {
    if (n == 0) return;
    if (raw_) {
      if (std::fseek(raw_, static_cast<long>(n), SEEK_CUR) != 0)
        fail(path_, std::string("seek error: ") + std::strerror(errno));
    } else if (gzseek(gz_, static_cast<z_off_t>(n), SEEK_CUR) < 0) {
      gz_fail();
    }
  }

 private:
  [[noreturn]] void gz_fail() {
    int err = Z_OK;
    std::string msg = gzerror(gz_, &err);
    if (err == Z_ERRNO) msg = std::strerror(errno);
    // zlib prefixes its message with the path; we already name the file.
    if (msg.rfind(path_ + ": ", 0) == 0) msg.erase(0, path_.size() + 2);
    fail(path_, "corrupt gzip stream: " + msg);
  }

  std::string path_;
  std::FILE* raw_ = nullptr;
  gzFile gz_ = nullptr;
};

}  // namespace

namespace {

// The header: the dimensions and their product.
IdxArray read_header(Input& in, const std::string& path, int64_t& count) {
  unsigned char header[4];
  size_t n = in.read(header, 4);
  if (n < 4) fail(path, "file too short for the IDX header: expected 4 bytes, found " + std::to_string(n));
  if (header[0] != 0 || header[1] != 0)
    fail(path,
         "bad IDX magic: expected first two bytes 0x00 0x00, found " + hex(header[0]) + " " + hex(header[1]));
  const unsigned type = header[2];
  if (type != 0x08) {
    const char* name = type == 0x09   ? " (signed byte)"
                       : type == 0x0B ? " (int16)"
                       : type == 0x0C ? " (int32)"
                       : type == 0x0D ? " (float32)"
                       : type == 0x0E ? " (float64)"
                                      : " (not an IDX type)";
    fail(path, "unsupported IDX element type code " + hex(type) + name + ": expected 0x08 (unsigned byte)");
  }
  const int ndims = header[3];
  if (ndims < 1 || ndims > 4)
    fail(path, "bad IDX dimension count: expected 1..4, found " + std::to_string(ndims));

  IdxArray out;
  count = 1;
  for (int i = 0; i < ndims; ++i) {
    unsigned char b[4];
    n = in.read(b, 4);
    if (n < 4)
      fail(path, "file too short for the IDX header: expected " + std::to_string(4 + 4 * ndims) +
                     " bytes, found " + std::to_string(4 + 4 * i + n));
    const uint32_t d = uint32_t{b[0]} << 24 | uint32_t{b[1]} << 16 | uint32_t{b[2]} << 8 | b[3];
    // The format's sizes are signed 32-bit; a set top bit is a negative size.
    if (d > INT32_MAX)
      fail(path, "bad size of dimension " + std::to_string(i) + ": expected 0..2147483647, found " +
                     std::to_string(static_cast<int32_t>(d)));
    out.dims.push_back(d);
    if (__builtin_mul_overflow(count, int64_t{d}, &count))
      fail(path, "IDX dimensions " + dims_string(out.dims) + "... overflow a 64-bit element count");
  }

  return out;
}

}  // namespace

IdxArray read_idx(const std::string& path) {
  Input in(path);
  int64_t count = 0;
  IdxArray out = read_header(in, path, count);
  size_t n = 0;

  // Grow the buffer as data arrives rather than trusting the header with one
  // huge allocation: a bogus size then fails as truncation, not bad_alloc.
  const auto expected = static_cast<size_t>(count);
  size_t got = 0;
  while (got < expected) {
    size_t want = std::min<size_t>(expected - got, size_t{1} << 24);
    out.data.resize(got + want);
    n = in.read(out.data.data() + got, want);
    got += n;
    if (n < want) break;
  }
  if (got < expected)
    fail(path, "truncated IDX payload for dimensions " + dims_string(out.dims) + ": expected " +
                   std::to_string(expected) + " bytes, found " + std::to_string(got));

  size_t extra = 0;
  unsigned char scratch[1 << 16];
  while ((n = in.read(scratch, sizeof scratch)) > 0) extra += n;
  if (extra > 0)
    fail(path, "trailing bytes after the IDX payload for dimensions " + dims_string(out.dims) +
                   ": expected " + std::to_string(expected) + " bytes, found " +
                   std::to_string(expected + extra) + " (" + std::to_string(extra) + " extra)");
  return out;
}

std::vector<int64_t> read_idx_dims(const std::string& path) {
  Input in(path);
  int64_t count = 0;
  return read_header(in, path, count).dims;
}

IdxArray read_idx_items(const std::string& path, int64_t first, int64_t count) {
  Input in(path);
  int64_t elements = 0;
  IdxArray out = read_header(in, path, elements);
  const int64_t items = out.dims[0];
  if (first < 0 || count < 0 || first + count > items)
    fail(path, "items [" + std::to_string(first) + ", " + std::to_string(first + count) +
                   ") asked for, but the file holds " + std::to_string(items));
  const int64_t item_bytes = items ? elements / items : 0;
  in.skip(first * item_bytes);
  const auto expected = static_cast<size_t>(count * item_bytes);
  out.data.resize(expected);
  const size_t got = in.read(out.data.data(), expected);
  if (got < expected)
    fail(path, "truncated IDX payload for dimensions " + dims_string(out.dims) + ": expected items [" +
                   std::to_string(first) + ", " + std::to_string(first + count) + ") of " +
                   std::to_string(item_bytes) + " bytes, found " + std::to_string(got) + " of their " +
                   std::to_string(expected) + " bytes");
  out.dims[0] = count;
  return out;
}

}  // namespace torchclad::data
