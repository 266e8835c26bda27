// Compiling files of model definitions (torchclad/nn.h) into libraries that
// register their models when loaded: clang++-19 with the Clad plugin, C++20,
// the engine's and LibTorch's headers, and no cling dictionary (so neither
// rootcling's C++17 parse nor cling's view of the file's types is involved).
#include <TSystem.h>

#include <atomic>
#include <filesystem>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <unistd.h>

#include "define/definition.hpp"
#include "header_dirs.hpp"
#include "torchclad/model.h"

namespace torchclad {
namespace {

// For /bin/sh: single quotes, each ' inside written as '\''.
std::string quoted(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

bool contains(const std::string& text, const char* what) { return text.find(what) != std::string::npos; }

bool ends_with(const std::string& text, const std::string& end) {
  return text.size() >= end.size() && text.compare(text.size() - end.size(), end.size(), end) == 0;
}

// The text between `before` and the next `until` after it, or "".
std::string between(const std::string& text, const std::string& before, const std::string& until) {
  const auto at = text.find(before);
  if (at == std::string::npos) return "";
  const auto start = at + before.size(), end = text.find(until, start);
  return end == std::string::npos ? "" : text.substr(start, end - start);
}

// Where load_models builds; removed at exit (each library is removed as
// soon as it is loaded, so the directory is empty by then).
struct TemporaryDirectory {
  std::filesystem::path path;
  pid_t owner = getpid();  // a forked child that exits leaves it alone
  explicit TemporaryDirectory(std::filesystem::path p) : path(std::move(p)) {
    std::filesystem::create_directories(path);
  }
  ~TemporaryDirectory() {
    std::error_code ignored;
    if (getpid() == owner) std::filesystem::remove_all(path, ignored);
  }
};

std::vector<std::string> names_from(const std::string& source_file) {
  std::vector<std::string> names;
  for (const auto& n : define::definition_names())
    if (define::find_definition(n)->source_file == source_file) names.push_back(n);
  return names;
}

}  // namespace

std::string model_compile_command(const std::string& source, const std::string& library) {
  const std::string torch = TORCHCLAD_TORCH_ROOT;
  const HeaderDirs& headers = header_dirs();
  // Optimised as the engine is (-O3 -march=native: the library runs where it
  // is built); undefined symbols resolve against the loaded engine. Hidden
  // and -Bsymbolic: a newer version of the same file, loaded beside the
  // older, must call its own functions, not the older library's same-named
  // ones (the dynamic linker would bind those first).
  return quoted(TORCHCLAD_CXX) +
         " -std=c++20 -O3 -march=native -fPIC -shared -fvisibility=hidden -fvisibility-inlines-hidden"
         " -Wl,-Bsymbolic" +
         " -fplugin=" + quoted(TORCHCLAD_CLAD_PLUGIN) + " -DCLAD_NO_NUM_DIFF" +
         " -D_GLIBCXX_USE_CXX11_ABI=" + std::to_string(TORCHCLAD_CXX11_ABI) + " -isystem " +
         quoted(TORCHCLAD_CLAD_INCLUDE) + " -I" + quoted(headers.api) + " -I" + quoted(headers.engine) +
         " -isystem " + quoted(torch + "/include") + " -isystem " +
         quoted(torch + "/include/torch/csrc/api/include") + " -isystem " +
         quoted(TORCHCLAD_ROOT_INCLUDE_DIR) + " -Wno-#warnings " + quoted(source) + " -o " + quoted(library);
}

namespace {

// Runs the compiler; its output, as users should see it, goes to stderr.
int run_compiler(const std::string& source, const std::string& library, std::string& output) {
  FILE* compiler = popen((model_compile_command(source, library) + " 2>&1").c_str(), "r");
  if (!compiler) throw std::runtime_error("cannot run the compiler " + std::string(TORCHCLAD_CXX));
  char buffer[4096];
  for (size_t got; (got = std::fread(buffer, 1, sizeof buffer, compiler)) > 0;) output.append(buffer, got);
  const int status = pclose(compiler);
  std::fputs(compiler_output_for_users(output).c_str(), stderr);
  std::fflush(stderr);
  return status;
}

}  // namespace

int compile_models_library(const std::string& source, const std::string& library) {
  std::string output;
  return run_compiler(source, library, output);
}

std::vector<std::string> non_differentiable_calls(const std::string& compiler_output) {
  // Clad v2.4's warning, e.g. "cell.C:9:12: warning: attempted differentiation
  // of function 'mystery' without definition and no suitable overload was
  // found in namespace 'custom_derivatives'" (it then takes the derivative as 0).
  const std::string marker = "warning: attempted differentiation of function '";
  std::vector<std::string> problems;
  std::istringstream lines(compiler_output);
  for (std::string line; std::getline(lines, line);) {
    const auto at = line.find(marker);
    if (at == std::string::npos) continue;
    const auto name_start = at + marker.size(), name_end = line.find('\'', name_start);
    if (name_end == std::string::npos) continue;
    const std::string callee = line.substr(name_start, name_end - name_start);
    std::string where = line.substr(0, at);
    while (!where.empty() && (where.back() == ' ' || where.back() == ':')) where.pop_back();
    problems.push_back(where + ": Clad cannot differentiate the call to '" + callee +
                       "': it has no definition Clad can see and no custom derivative. Use a "
                       "torchclad building block, define '" +
                       callee +
                       "' in the same file so that "
                       "Clad can differentiate it, or give it a derivative in namespace "
                       "clad::custom_derivatives ('" +
                       callee + "_pullback')");
  }
  return problems;
}

std::string clad_crash(const std::string& compiler_output) {
  if (!contains(compiler_output, "PLEASE submit a bug report") &&
      !contains(compiler_output, "clang frontend command failed due to signal"))
    return "";
  // The stack dump names what Clad was building and the expression it was at:
  //   2.  Building code for '<... LC::loss<float>(...)>[name=loss, order=1, ...]'
  //   While visiting <DeclRefExpr> [ 'm.cpp:11:45', 'm.cpp:11:45']
  std::string function = between(compiler_output, "Building code for '<", "(");
  if (const auto space = function.rfind(' '); space != std::string::npos)
    function = function.substr(space + 1);
  const std::string where = between(compiler_output, "While visiting <", "\n");
  const std::string place = between(where, "[ '", "', '");
  std::string message = place.empty() ? "" : place + ": ";
  message += function.empty() ? "the compiler crashed (Clad or clang)"
                              : "Clad crashed while generating the gradient of " + function;
  return message +
         ". A known trigger is a brace cast in differentiated code, such as long{x} or int{x}: write "
         "static_cast<long>(x) instead. Otherwise move the expression into a function of its own with "
         "a custom derivative (clad::custom_derivatives), or into a torchclad building block.";
}

std::string compiler_output_for_users(const std::string& compiler_output) {
  std::istringstream lines(compiler_output);
  std::string shown;
  bool skipping_snippet = false;
  for (std::string line; std::getline(lines, line);) {
    // Clad v2.4 warns for every `using namespace` inside a differentiated
    // function; the names are already resolved, so the gradient is right.
    if (contains(line, "warning: declaration kind 'UsingDirective' is not supported")) {
      skipping_snippet = true;
      continue;
    }
    if (skipping_snippet && contains(line, " | ")) continue;  // its source line and caret
    skipping_snippet = false;
    if (ends_with(line, " generated.") && contains(line, "warning"))
      continue;  // "2 warnings generated.": counts that no longer match
    if (contains(line, "PLEASE submit a bug report")) break;  // a crash: its dump is replaced
    shown += line + "\n";
  }
  if (const std::string crash = clad_crash(compiler_output); !crash.empty())
    shown += "error: " + crash + "\n";
  return shown;
}

std::vector<std::string> load_models(const std::string& source_file) {
  namespace fs = std::filesystem;
  if (!fs::exists(source_file)) throw std::runtime_error("load_models: no file '" + source_file + "'");
  // A new library name per load, so that nothing already loaded is replaced
  // under a running model (the registry retires the older definitions).
  static std::atomic<int> loads{0};
  static const TemporaryDirectory dir(fs::temp_directory_path() /
                                      ("torchclad-models-" + std::to_string(gSystem->GetPid())));
  const std::string library =
      (dir.path / (fs::path(source_file).stem().string() + "_" + std::to_string(++loads) + ".so")).string();
  const std::string absolute = fs::absolute(source_file).string();
  // The compiler's messages are shown, and read for Clad's warnings.
  std::string output;
  const int status = run_compiler(absolute, library, output);
  if (status != 0) {
    fs::remove(library);
    const std::string crash = clad_crash(output);
    throw std::runtime_error(
        "load_models: " + source_file +
        (crash.empty() ? " did not compile (the compiler's messages are above)" : ": " + crash));
  }
  const bool loaded = gSystem->Load(library.c_str()) >= 0;
  // Loaded, the mapping stays valid without the file: nothing is left in
  // the temporary directory (a new name per load, so none is reopened).
  fs::remove(library);
  if (!loaded)
    throw std::runtime_error("load_models: cannot load the library built from " + source_file +
                             " (see the message above)");
  std::string problems;
  for (const auto& p : non_differentiable_calls(output)) problems += (problems.empty() ? "" : "\n") + p;
  if (!problems.empty()) define::withdraw_definitions_from(absolute);
  for (const auto& e : define::take_registration_errors()) problems += (problems.empty() ? "" : "\n") + e;
  if (!problems.empty()) throw std::runtime_error("load_models: " + problems);
  const auto names = names_from(absolute);
  if (names.empty())
    throw std::runtime_error("load_models: " + source_file + " defines no model (no TORCHCLAD_MODEL)");
  return names;
}

}  // namespace torchclad
