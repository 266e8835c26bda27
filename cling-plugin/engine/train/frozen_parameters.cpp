#include "train/frozen_parameters.hpp"

#include <stdexcept>

namespace torchclad::train {

std::vector<std::pair<int64_t, int64_t>> frozen_ranges(const define::Definition& def,
                                                       const std::vector<std::string>& frozen) {
  std::vector<std::pair<int64_t, int64_t>> ranges;
  for (const auto& entry : frozen) {
    bool found = false;
    for (const auto& p : def.params) {
      const bool match =
          p.name == entry || (p.name.size() > entry.size() && p.name.compare(0, entry.size(), entry) == 0 &&
                              (entry.back() == '.' || p.name[entry.size()] == '.'));
      if (!match || entry.empty()) continue;
      found = true;
      ranges.push_back({p.offset, p.offset + p.numel});
    }
    if (!found) {
      std::string names;
      for (const auto& p : def.params) names += (names.empty() ? "" : ", ") + p.name;
      throw std::invalid_argument("frozen: '" + entry + "' names no parameter of model '" + def.name +
                                  "' (its parameters: " + names + "; a layer name freezes all of its own)");
    }
  }
  return ranges;
}

}  // namespace torchclad::train
