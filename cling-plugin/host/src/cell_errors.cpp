#include "cell_errors.hpp"

#include <cstdlib>
#include <cstring>

namespace host {
namespace {

std::string trim(const std::string& s) {
  const char* ws = " \t\r\n";
  const std::size_t b = s.find_first_not_of(ws);
  return b == std::string::npos ? "" : s.substr(b, s.find_last_not_of(ws) - b + 1);
}

// The line number in "<source_path>:<line>:<col>" (or "<source_path>:<line>"), 0 if
// the place is elsewhere.
long line_in(const std::string& place, const std::string& source_path) {
  if (place.size() <= source_path.size() + 1 || place.compare(0, source_path.size(), source_path) != 0 ||
      place[source_path.size()] != ':')
    return 0;
  return std::atol(place.c_str() + source_path.size() + 1);
}

std::string with_place(const std::string& text, const std::string& place) {
  bool quoted = false;
  for (std::size_t i = 0; i + 1 < text.size(); ++i) {
    if (text[i] == '\'') quoted = !quoted;
    if (!quoted && text[i] == ':' && text[i + 1] == ' ')
      return text.substr(0, i) + " (" + place + ")" + text.substr(i);
  }
  return text + " (" + place + ")";
}

}  // namespace

std::string cell_label(const std::string& name, bool named) { return named ? "cell " + name : "this cell"; }

std::string in_cell_terms(const std::string& message, const std::string& source_path,
                          const std::string& label) {
  // "path:line:col: text": the place ends at the first ": " after the path.
  if (message.compare(0, source_path.size(), source_path) != 0) return message;
  const std::size_t end = message.find(": ", source_path.size());
  if (end == std::string::npos) return message;
  const long line = line_in(message.substr(0, end), source_path);
  if (line <= 0) return message;
  return with_place(message.substr(end + 2), label + ", line " + std::to_string(line));
}

std::string first_cell_error(const std::vector<std::string>& diagnostics, const std::string& source_path,
                             const std::string& label) {
  for (const auto& line : diagnostics) {
    for (const char* marker : {"fatal error: ", "error: "}) {
      const std::size_t at = line.find(marker);
      if (at == std::string::npos) continue;
      const std::string text = trim(line.substr(at + std::strlen(marker)));
      std::string place = line.substr(0, at);
      while (!place.empty() && (place.back() == ' ' || place.back() == ':')) place.pop_back();
      const long number = line_in(place, source_path);
      return number > 0 ? with_place(text, label + ", line " + std::to_string(number)) : text;
    }
  }
  return "";
}

}  // namespace host
