#pragma once
// Text building inside signal handlers: into a caller's fixed buffer, no
// allocation, no locale, no stdio (async-signal-safe).
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace host {

struct SignalSafeText {
  char* data;
  std::size_t cap, n = 0;
  SignalSafeText(char* d, std::size_t c) : data(d), cap(c) {}

  void put(const char* s) {
    while (*s && n < cap) data[n++] = *s++;
  }
  void put(const char* s, std::size_t len) {
    for (std::size_t i = 0; i < len && n < cap; ++i) data[n++] = s[i];
  }
  void put_u(unsigned long long v) {
    char tmp[24];
    int k = 0;
    do {
      tmp[k++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v);
    while (k > 0 && n < cap) data[n++] = tmp[--k];
  }
  void put_hex(std::uintptr_t v) {
    put("0x");
    char tmp[20];
    int k = 0;
    do {
      tmp[k++] = "0123456789abcdef"[v & 15];
      v >>= 4;
    } while (v);
    while (k > 0 && n < cap) data[n++] = tmp[--k];
  }
  // A JSON string literal (quotes included); bytes >= 0x80 are copied (the
  // reader replaces invalid UTF-8), control characters escaped.
  void put_json(const char* s, std::size_t len) {
    put("\"");
    for (std::size_t i = 0; i < len && n + 8 < cap; ++i) {
      const unsigned char c = static_cast<unsigned char>(s[i]);
      if (c == '"')
        put("\\\"");
      else if (c == '\\')
        put("\\\\");
      else if (c == '\n')
        put("\\n");
      else if (c == '\r')
        put("\\r");
      else if (c == '\t')
        put("\\t");
      else if (c < 0x20) {
        put("\\u00");
        data[n++] = "0123456789abcdef"[c >> 4];
        data[n++] = "0123456789abcdef"[c & 15];
      } else
        data[n++] = static_cast<char>(c);
    }
    put("\"");
  }
  void put_json(const char* s) { put_json(s, std::strlen(s)); }
};

}  // namespace host
