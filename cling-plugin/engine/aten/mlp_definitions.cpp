#include "aten/mlp_definitions.hpp"

#include <map>
#include <mutex>
#include <utility>
#include <vector>

#include "model/mlp_definition.hpp"

namespace torchclad::aten {
namespace {

using Key = std::pair<std::vector<int64_t>, int>;

struct Cache {
  std::mutex mutex;
  std::map<Key, std::shared_ptr<define::Definition>> definitions;
};

Cache& cache() {
  static Cache c;
  return c;
}

}  // namespace

std::shared_ptr<define::Definition> mlp_definition_of(at::IntArrayRef widths, Activation act,
                                                      const char* op) {
  Key key{widths.vec(), static_cast<int>(act)};
  auto& c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mutex);
    const auto it = c.definitions.find(key);
    // A definition replaced in the registry (a library of the same name
    // loaded again) is dead: ask the registry again.
    if (it != c.definitions.end() && *it->second->alive) return it->second;
  }
  // The registry has its own lock; ours is not held while it makes one.
  std::shared_ptr<define::Definition> def;
  try {
    def = mlp_definition(MlpConfig{key.first, act});
  } catch (const std::exception& e) {
    TORCH_CHECK(false, op, ": ", e.what());
  }
  std::lock_guard<std::mutex> lock(c.mutex);
  c.definitions[std::move(key)] = def;  // a racing call stores the same definition
  return def;
}

}  // namespace torchclad::aten
