// Compiling files of model definitions (torchclad/nn.h) into libraries that
// register their models when loaded: clang++-19 with the Clad plugin, C++20,
// the engine's and LibTorch's headers, and no cling dictionary (so neither
// rootcling's C++17 parse nor cling's view of the file's types is involved).
#include <TSystem.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <stdexcept>
#include <unistd.h>

#include "define/definition.hpp"
#include "header_dirs.hpp"
#include "text.hpp"
#include "torchclad/model.h"

namespace torchclad {
namespace {

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

// The first error of the compiler's output, without its file position.
std::string first_compile_error(const std::string& compiler_output) {
  std::istringstream lines(compiler_output);
  for (std::string line; std::getline(lines, line);)
    if (const auto at = line.find(" error: "); at != std::string::npos) return line.substr(at + 8);
  return "";
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
  return shell_quote(TORCHCLAD_CXX) +
         " -std=c++20 -O3 -march=native -fPIC -shared -fvisibility=hidden -fvisibility-inlines-hidden"
         " -Wl,-Bsymbolic" +
         " -fplugin=" + shell_quote(TORCHCLAD_CLAD_PLUGIN) + " -DCLAD_NO_NUM_DIFF" +
         " -D_GLIBCXX_USE_CXX11_ABI=" + std::to_string(TORCHCLAD_CXX11_ABI) + " -isystem " +
         shell_quote(TORCHCLAD_CLAD_INCLUDE) + " -I" + shell_quote(headers.api) + " -I" +
         shell_quote(headers.engine) + " -isystem " + shell_quote(torch + "/include") + " -isystem " +
         shell_quote(torch + "/include/torch/csrc/api/include") + " -isystem " +
         shell_quote(TORCHCLAD_ROOT_INCLUDE_DIR) + " -Wno-#warnings " + shell_quote(source) + " -o " +
         shell_quote(library);
}

namespace {

// Runs the compiler; its output, as users should see it, goes to stderr.
// include_nn: torchclad/nn.h before the file's first line, as a %%clad cell
// has it (a cell pasted into a file needs no include added). The Clad plugin
// defines __CLAD__ after the -include'd headers, and Clad's header asserts
// it: defined here first, as the plugin defines it ("1").
int run_compiler(const std::string& source, const std::string& library, std::string& output,
                 bool include_nn = false) {
  const std::string command =
      model_compile_command(source, library) + (include_nn ? " -D__CLAD__=1 -include torchclad/nn.h" : "");
  FILE* compiler = popen((command + " 2>&1").c_str(), "r");
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
  // The user's own calls first: a call into the standard library (std::lgamma
  // on a float) also makes Clad warn inside <cmath> ('__builtin_lgammaf'),
  // which names neither the user's file nor the function they wrote.
  std::vector<std::string> ordered, library_calls;
  for (auto& p : problems)
    (p.rfind("/usr/", 0) != 0 && p.find("/include/c++/") == std::string::npos &&
             p.find("the call to '__builtin_") == std::string::npos
         ? ordered
         : library_calls)
        .push_back(std::move(p));
  ordered.insert(ordered.end(), library_calls.begin(), library_calls.end());
  problems = std::move(ordered);
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

namespace {

// One diagnostic of the compiler: the "In file included from" lines before
// it, its first line ("file:line:col: error: ..."), then its source snippet
// and notes. Lines that are none of these ("2 errors generated.") stand alone.
struct Diagnostic {
  std::vector<std::string> lines;
  std::size_t head = 0;  // index of the first line in lines
  const std::string& first() const { return lines[head]; }
};

bool is_diagnostic_head(const std::string& line) {
  return contains(line, ": error: ") || contains(line, ": warning: ") || contains(line, ": fatal error: ");
}

std::vector<Diagnostic> diagnostics_of(const std::string& compiler_output) {
  std::vector<Diagnostic> out;
  std::vector<std::string> included_from;
  // A diagnostic headed by `line`, after the "In file included from" lines before it.
  auto start_diagnostic = [&](const std::string& line) {
    Diagnostic d;
    d.lines = std::move(included_from);
    included_from.clear();
    d.head = d.lines.size();
    d.lines.push_back(line);
    out.push_back(std::move(d));
  };
  std::istringstream lines(compiler_output);
  for (std::string line; std::getline(lines, line);) {
    const bool continues = !is_diagnostic_head(line) && !out.empty() && included_from.empty() &&
                           (contains(line, ": note: ") || contains(line, " | ") || line.rfind("  ", 0) == 0);
    if (line.rfind("In file included from ", 0) == 0) {
      included_from.push_back(line);
    } else if (continues) {
      out.back().lines.push_back(line);  // its snippet, caret or note
    } else {
      start_diagnostic(line);  // a diagnostic's first line, or a line standing alone
    }
  }
  for (auto& line : included_from) out.push_back(Diagnostic{{line}, 0});
  return out;
}

// "int", "unsigned long", "std::size_t", "int64_t": a type that is an integer.
bool is_integer_type(const std::string& type) {
  for (const char* word : {"int", "long", "short", "char", "bool", "unsigned", "signed"})
    if (type.find(word) != std::string::npos) return true;
  return ends_with(type, "_t");
}

// The text of the first argument of the call to `function` at or after
// column `column` (from 1) of line `line` of `file`; "" if not found.
std::string call_argument(const std::string& file, long line, long column, const std::string& function) {
  std::ifstream in(file);
  std::string text;
  for (long n = 1; n <= line && std::getline(in, text); ++n) {
  }
  if (!in && text.empty()) return "";
  const std::size_t from = column > 0 ? static_cast<std::size_t>(column - 1) : 0;
  std::size_t call = text.find(function + "(", from);
  if (call == std::string::npos) return "";
  std::size_t start = call + function.size() + 1, end = start;
  for (int depth = 0; end < text.size(); ++end) {
    const char c = text[end];
    if (c == '(' || c == '[' || c == '{') ++depth;
    if ((c == ')' || c == ',') && depth == 0) break;
    if (c == ')' || c == ']' || c == '}') --depth;
  }
  return end < text.size() ? text.substr(start, end - start) : "";
}

// Clad's error for a math function called with an integer, e.g.
//   m.C:3:57: error: user-defined derivative for 'exp<int>' was provided but
//   not used; expected signature 'clad::ValueAndPushforward<...> (int, int)'
// (its derivatives take floating-point values): the message a user can act
// on, at the same place. Sets *function ("exp"); "" for other lines.
std::string integer_argument_error(const std::string& line, std::string* function) {
  const std::string marker = "error: user-defined derivative for '";
  const auto at = line.find(marker);
  if (at == std::string::npos || !contains(line, "was provided but not used")) return "";
  const auto name_start = at + marker.size(), name_end = line.find('\'', name_start);
  if (name_end == std::string::npos) return "";
  const std::string name = line.substr(name_start, name_end - name_start);  // "exp<int>"
  const auto open = name.find('<');
  if (open == std::string::npos || name.back() != '>') return "";
  if (!is_integer_type(name.substr(open + 1, name.size() - open - 2))) return "";
  *function = name.substr(0, open);
  // "file:line:col: " before the marker
  const std::string where = line.substr(0, at);
  std::string file = where;
  long line_number = 0, column = 0;
  std::size_t c2 = where.rfind(':', where.size() >= 2 ? where.size() - 2 : 0);
  if (c2 != std::string::npos && c2 > 0) {
    std::size_t c1 = where.rfind(':', c2 - 1);
    if (c1 != std::string::npos && c1 > 0) {
      std::size_t c0 = where.rfind(':', c1 - 1);
      if (c0 != std::string::npos) {
        file = where.substr(0, c0);
        line_number = std::atol(where.c_str() + c0 + 1);
        column = std::atol(where.c_str() + c1 + 1);
      }
    }
  }
  std::string argument = call_argument(file, line_number, column, *function);
  if (argument.empty()) argument = "k";
  return where + "error: std::" + *function +
         " is called with an integer argument: Clad differentiates it on floating-point values; " +
         "convert the argument, e.g. std::" + *function + "(T(" + argument + "))";
}

}  // namespace

std::string compiler_output_for_users(const std::string& compiler_output) {
  // A crash's stack dump is replaced (clad_crash below).
  std::string output = compiler_output;
  if (const auto crash_at = output.find("PLEASE submit a bug report"); crash_at != std::string::npos)
    output.resize(output.rfind('\n', crash_at) == std::string::npos ? 0 : output.rfind('\n', crash_at) + 1);
  std::vector<Diagnostic> diagnostics = diagnostics_of(output);
  // Math functions called with an integer (Clad's template error, translated).
  std::vector<std::string> integer_calls;
  for (auto& d : diagnostics) {
    std::string function;
    const std::string plain = integer_argument_error(d.first(), &function);
    if (plain.empty()) continue;
    integer_calls.push_back(function);
    std::vector<std::string> kept(d.lines.begin(), d.lines.begin() + static_cast<long>(d.head));
    kept.push_back(plain);
    // its source snippet, not the notes about Clad's derivative signatures
    for (std::size_t i = d.head + 1; i < d.lines.size() && !contains(d.lines[i], ": note: "); ++i)
      kept.push_back(d.lines[i]);
    d.lines = std::move(kept);
  }
  std::string shown;
  std::vector<std::string> shown_heads;
  bool dropped = false;
  for (const auto& d : diagnostics) {
    const std::string& head = d.first();
    // Clad v2.4 warns for every `using namespace` inside a differentiated
    // function; the names are already resolved, so the gradient is right.
    bool drop = contains(head, "warning: declaration kind 'UsingDirective' is not supported");
    // The same error again (Clad reports one per float and double gradient).
    drop = drop || (is_diagnostic_head(head) &&
                    std::find(shown_heads.begin(), shown_heads.end(), head) != shown_heads.end());
    // What follows from an integer call: Clad went into the library's
    // integer overload and met its builtin.
    for (const auto& f : integer_calls)
      drop = drop || contains(head, ("attempted differentiation of function '__builtin_" + f + "'").c_str());
    if (drop) {
      dropped = true;
      continue;
    }
    // "2 warnings generated.": counts that no longer match
    if (ends_with(head, " generated.") && (contains(head, "warning") || dropped)) continue;
    if (is_diagnostic_head(head)) shown_heads.push_back(head);
    for (const auto& line : d.lines) shown += line + "\n";
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
  // Which file defines each model now: a model of another file replaced by
  // this one is said (not an error: the newer definition wins).
  std::map<std::string, std::string> sources_before;
  for (const auto& n : define::definition_names())
    sources_before[n] = define::find_definition(n)->source_file;
  // The compiler's messages are shown, and read for Clad's warnings.
  std::string output;
  const int status = run_compiler(absolute, library, output, /*include_nn=*/true);
  if (status != 0) {
    fs::remove(library);
    const std::string crash = clad_crash(output);
    const std::string why = crash.empty() ? first_compile_error(output) : crash;
    std::ifstream in(absolute);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (const auto& n : define::declared_model_names(text)) {
      const bool kept = define::record_failed_build(
          n, "model '" + n + "' has no working definition: the latest build of " + source_file +
                 " did not compile" + (why.empty() ? "" : " (" + why + ")") + "; fix it and run it again");
      if (kept)
        std::fprintf(stderr, "torchclad: model '%s' keeps the definition of the last build that compiled\n",
                     n.c_str());
    }
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
  for (const auto& n : names)
    if (auto old = sources_before.find(n); old != sources_before.end() && old->second != absolute)
      std::fprintf(stderr,
                   "torchclad: model '%s' (defined by file '%s') is replaced by the one in file '%s'\n",
                   n.c_str(), old->second.c_str(), absolute.c_str());
  if (names.empty())
    throw std::runtime_error("load_models: " + source_file + " defines no model (no TORCHCLAD_MODEL)");
  return names;
}

}  // namespace torchclad
