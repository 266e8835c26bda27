#include "feature_names.hpp"

#include <algorithm>
#include <cctype>
#include <optional>
#include <stdexcept>
#include <utility>

#include "text.hpp"

namespace torchclad {
namespace {

// "jet_pt[2]" -> ("jet_pt", 2); nullopt for a name without an index.
std::optional<std::pair<std::string, long long>> indexed(const std::string& name) {
  if (name.size() < 4 || name.back() != ']') return std::nullopt;
  const auto open = name.rfind('[');
  if (open == std::string::npos || open == 0 || open + 2 > name.size() - 1) return std::nullopt;
  const std::string digits = name.substr(open + 1, name.size() - open - 2);
  if (digits.empty() || !std::all_of(digits.begin(), digits.end(),
                                     [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
    return std::nullopt;
  return std::make_pair(name.substr(0, open), std::stoll(digits));
}

}  // namespace

std::string array_value_name(const std::string& column, int64_t index) {
  return column + "[" + std::to_string(index) + "]";
}

std::vector<std::string> array_feature_names(const std::string& column, int64_t n) {
  std::vector<std::string> names;
  names.reserve(n);
  for (int64_t k = 0; k < n; ++k) names.push_back(array_value_name(column, k));
  return names;
}

std::vector<std::string> feature_columns(const std::vector<std::string>& names) {
  std::vector<std::string> out;
  for (size_t i = 0; i < names.size();) {
    const auto first = indexed(names[i]);
    if (!first) {
      out.push_back(names[i++]);
      continue;
    }
    size_t j = i + 1;
    while (j < names.size()) {
      const auto next = indexed(names[j]);
      if (!next || next->first != first->first ||
          next->second != first->second + static_cast<long long>(j - i))
        break;
      ++j;
    }
    const long long a = first->second, b = a + static_cast<long long>(j - i);
    out.push_back(
        first->first + "[" +
        (b == a + 1 ? std::to_string(a) : (a == 0 ? "" : std::to_string(a)) + ":" + std::to_string(b)) + "]");
    i = j;
  }
  return out;
}

std::string feature_list(const std::vector<std::string>& names) { return join(feature_columns(names)); }

void check_feature_names(const std::vector<std::string>& expected, const std::vector<std::string>& found,
                         const std::string& where, const std::string& what_expected,
                         const std::string& what_found, const std::string& hint) {
  if (expected.empty() || found.empty() || expected == found) return;
  std::string detail;
  if (expected.size() != found.size()) {
    detail = std::to_string(found.size()) + (found.size() == 1 ? " feature" : " features") + " where " +
             std::to_string(expected.size()) + " are expected";
  } else {
    size_t k = 0;
    while (expected[k] == found[k]) ++k;
    detail =
        "feature " + std::to_string(k) + " is '" + found[k] + "' where '" + expected[k] + "' is expected";
    // Same names in another order: the silent mistake this check is for.
    auto a = expected, b = found;
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    if (a == b) detail += " (the same features in another order)";
  }
  throw std::runtime_error(where + ": " + what_found + " (" + feature_list(found) + "), but " +
                           what_expected + " (" + feature_list(expected) + "); " + detail +
                           (hint.empty() ? "" : "; " + hint));
}

}  // namespace torchclad
