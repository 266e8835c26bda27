#include "cling_noise.hpp"

#include <vector>

namespace host {
namespace {

const std::string kShadowStart = "warning: '";
const std::string kShadowMiddle = "' shadows a declaration with the same name in the 'std' namespace";

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) {
      lines.push_back(text.substr(start));
      break;
    }
    lines.push_back(text.substr(start, end + 1 - start));
    start = end + 1;
  }
  return lines;
}

// The shadowed name, when the line is that warning.
std::string shadowed_name(const std::string& line) {
  const std::size_t middle = line.find(kShadowMiddle);
  if (middle == std::string::npos) return "";
  const std::size_t start = line.rfind(kShadowStart, middle);
  if (start == std::string::npos) return "";
  return line.substr(start + kShadowStart.size(), middle - start - kShadowStart.size());
}

bool is_caret_line(const std::string& line) {
  bool caret = false;
  for (char c : line) {
    if (c == '^' || c == '~')
      caret = true;
    else if (c != ' ' && c != '\t' && c != '\n')
      return false;
  }
  return caret;
}

}  // namespace

SoftenedOutput soften_cling_noise(const std::string& text) {
  SoftenedOutput out;
  if (text.find(kShadowMiddle) == std::string::npos) {
    out.stderr_text = text;
    return out;
  }
  const std::vector<std::string> lines = lines_of(text);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string name = shadowed_name(lines[i]);
    if (name.empty()) {
      out.stderr_text += lines[i];
      continue;
    }
    out.stdout_note += "note: '" + name + "' is also std::" + name +
                       " (ROOT's C++ has `using namespace std`): in later cells write ::" + name + "\n";
    // The source line and the caret under it.
    if (i + 2 < lines.size() && is_caret_line(lines[i + 2])) i += 2;
  }
  return out;
}

}  // namespace host
