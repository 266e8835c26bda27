#include "cells.hpp"

#include <TInterpreter.h>
#include <TClass.h>
#include <TDataType.h>
#include <TGlobal.h>
#include <TInterpreterValue.h>
#include <TROOT.h>
#include <TError.h>
#include <TSystem.h>
#include <TTabCom.h>

#include <cxxabi.h>
#include <cctype>
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <regex>  // only Cells::run_clad's check of a %%clad NAME, which execute() bounds first
#include <sstream>
#include <typeinfo>

#include "capture.hpp"
#include "cell_errors.hpp"
#include "cell_jump.hpp"
#include "cell_models.hpp"
#include "cell_processes.hpp"
#include "cell_timing.hpp"
#include "cell_variables.hpp"
#include "cpp_text.hpp"
#include "crash_report.hpp"
#include "include_hint.hpp"
#include "inspect.hpp"
#include "last_expression.hpp"
#include "leading_definitions.hpp"
#include "quick_cell.hpp"
#include "root_names.hpp"
#include "root_display.hpp"
#include "scope_completion.hpp"
#include "root_lock_tracker.hpp"
#include "signals.hpp"
#include "stack_scan.hpp"
#include "torchclad/aclic.h"
#include "torchclad/telemetry.h"

namespace host {
namespace {

constexpr std::size_t kMaxTracebackLines = 400;

// Removes cling's per-input namespaces ("__cling_N5::"), where types
// declared in a cell live. A plain scan: type names come from user code.
std::string without_cling_namespaces(std::string text) {
  static const std::string marker = "__cling_N";
  std::size_t at = 0;
  while ((at = text.find(marker, at)) != std::string::npos) {
    std::size_t end = at + marker.size();
    while (end < text.size() && std::isdigit(static_cast<unsigned char>(text[end]))) ++end;
    if (end > at + marker.size() && text.compare(end, 2, "::") == 0)
      text.erase(at, end + 2 - at);
    else
      at = end;
  }
  return text;
}

std::string demangle(const char* name) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> out(abi::__cxa_demangle(name, nullptr, nullptr, &status), std::free);
  return without_cling_namespaces(status == 0 && out ? std::string(out.get()) : std::string(name));
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
    start = end + 1;
  }
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  if (lines.size() > kMaxTracebackLines) {
    lines.resize(kMaxTracebackLines);
    lines.push_back("[... diagnostics cut at " + std::to_string(kMaxTracebackLines) + " lines]");
  }
  return lines;
}

std::string trim(const std::string& s) {
  const char* ws = " \t\r\n";
  std::size_t b = s.find_first_not_of(ws);
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

// The message of the first "error:" diagnostic (clang/cling and compiler
// format: "file:line:col: error: message"), or "".
std::string first_error(const std::vector<std::string>& lines) {
  for (const auto& line : lines) {
    for (const char* marker : {"fatal error: ", "error: "}) {
      std::size_t at = line.find(marker);
      if (at != std::string::npos) return trim(line.substr(at + std::strlen(marker)));
    }
  }
  return "";
}

// One ProcessLine, with the landing pad of the forced interrupt and of a
// crash recovered from.
struct Landing {
  enum Kind { kReturned, kForced, kException, kCrash } kind = kReturned;
  std::string ename, evalue;
  JumpCause jump;  // kForced, kCrash
};

// The exception a cell threw (called in its catch block), as the landing
// reports it: its type and what().
void land_exception(Landing* landing) {
  landing->kind = Landing::kException;
  try {
    throw;
  } catch (const std::exception& e) {
    landing->ename = demangle(typeid(e).name());
    landing->evalue = e.what();
  } catch (...) {
    const std::type_info* t = abi::__cxa_current_exception_type();
    landing->ename = t ? demangle(t->name()) : "unknown exception";
    landing->evalue = "a C++ exception of type " + landing->ename + " left the cell";
  }
}

// The cell's statements through ProcessLine, landing in `landing`; with
// `declare`, a definition through Declare (cling parses it as it is, without
// its wrap point: CellPiece::declare), a failure as kRecoverable.
__attribute__((noinline)) void guarded_process_line(const char* code, TInterpreter::EErrorCode* err,
                                                    Landing* landing, bool declare = false) {
  if (sigsetjmp(g_cell_jump, 1) != 0) {
    arm_cell_jump(false);
    landing->jump = last_jump_cause();
    landing->kind = landing->jump.signal ? Landing::kCrash : Landing::kForced;
    return;
  }
  scrub_stack_below(1 << 20);  // what earlier cells left (see cell_jump.hpp)
  timing::mark("scrubbed");
  set_landing_frame(__builtin_frame_address(0));
  arm_cell_jump(true);
  try {
    if (!declare)
      gInterpreter->ProcessLine(code, err);
    else if (!gInterpreter->Declare(code))
      *err = TInterpreter::kRecoverable;
    arm_cell_jump(false);
  } catch (...) {
    arm_cell_jump(false);
    land_exception(landing);
  }
}

// The cell's last expression, evaluated without cling's value printer (its
// text becomes the execute_result). Same landing pads as ProcessLine.
__attribute__((noinline)) void guarded_evaluate(const char* expression, TInterpreterValue* value, bool* ok,
                                                Landing* landing) {
  if (sigsetjmp(g_cell_jump, 1) != 0) {
    arm_cell_jump(false);
    landing->jump = last_jump_cause();
    landing->kind = landing->jump.signal ? Landing::kCrash : Landing::kForced;
    return;
  }
  scrub_stack_below(1 << 20);
  timing::mark("scrubbed");
  set_landing_frame(__builtin_frame_address(0));
  arm_cell_jump(true);
  try {
    *ok = gInterpreter->Evaluate(expression, *value) != 0;
    arm_cell_jump(false);
  } catch (...) {
    arm_cell_jump(false);
    land_exception(landing);
  }
}

// `a * b` is a declaration when `a` names a type, else a product.
bool names_a_type(const std::string& name) {
  // Not kTRUE: loading ROOT's whole list of globals slows every later cell (see fundamental_type).
  if (gROOT->GetGlobal(name.c_str(), kFALSE)) return false;
  return gROOT->GetType(name.c_str()) != nullptr || TClass::GetClass(name.c_str(), kTRUE, kTRUE) != nullptr;
}

// quick_cell's lookups. Not GetGlobal(name, kTRUE): it took 1-75 ms for a
// name cling does not know, and made every later ProcessLine slower (1.38 ->
// 2.44 ms, medians of 3 runs in root -b); the globals cells declared are in ROOT's
// list without it.
bool fundamental_type(std::string type) {
  if (type.rfind("const ", 0) == 0) type.erase(0, 6);
  if (type.empty() || type.find_first_of("*&[<:(") != std::string::npos) return false;
  const TDataType* t = gROOT->GetType(type.c_str());
  return t && t->GetType() > 0 && t->GetType() != kVoid_t;
}
bool fundamental_variable(const std::string& name) {
  const TGlobal* global = gROOT->GetGlobal(name.c_str(), kFALSE);
  const char* type = global ? global->GetFullTypeName() : nullptr;  // null for a variable cling redefined
  return type && fundamental_type(type);
}

// Appended to each piece of a quick cell sent to cling: that transaction is
// compiled at level 0 (cling's pragma, read at code generation, so after the
// code it keeps the diagnostics' line numbers; the session's level stays).
constexpr const char* kUnoptimized = "\n#pragma cling optimize(0)\n";

// A cell's value as cling prints it ("(int) 5"), and the ROOT object it
// refers to (or that an RDataFrame result holds), if any.
struct CellValue {
  bool shown = false;  // false for void
  std::string text;
  TObject* object = nullptr;
};

CellValue read_value(const TInterpreterValue& value) {
  CellValue out;
  if (!value.IsValid()) return out;
  const auto [type, text] = value.ToTypeAndValueString();
  if (type == "(void)" || type == "void") return out;
  out.shown = true;
  out.text = value.ToString();
  while (!out.text.empty() && (out.text.back() == '\n' || out.text.back() == ' ')) out.text.pop_back();
  std::string bare = type;
  if (bare.size() >= 2 && bare.front() == '(' && bare.back() == ')') bare = bare.substr(1, bare.size() - 2);
  // A pointer's value, or where cling keeps an object (by reference or copy).
  out.object = value_as_root_object(bare, value.GetAsPointer());
  return out;
}

// Splits the leading preprocessor lines (#include, #pragma, #define, #undef)
// off a cell. cling puts them inside the function that wraps the statements
// when statements follow (getWrapPoint wraps from offset 0), where an
// included header's namespaces are an error; run separately, they act at
// global scope, as in a macro. A cell with leading #if/#ifdef is not split.
std::pair<std::string, std::string> split_leading_directives(const std::string& code) {
  std::size_t pos = 0, end_of_directives = 0;
  bool any = false;
  while (pos < code.size()) {
    std::size_t eol = code.find('\n', pos);
    if (eol == std::string::npos) eol = code.size();
    const std::string line = code.substr(pos, eol - pos);
    const std::string t = trim(line);
    if (t.empty() || t.rfind("//", 0) == 0) {
      pos = eol + 1;
      continue;
    }
    if (t[0] != '#') break;
    std::string keyword = trim(t.substr(1));
    keyword = keyword.substr(0, keyword.find_first_of(" \t<\"("));
    if (keyword != "include" && keyword != "pragma" && keyword != "define" && keyword != "undef")
      return {"", code};
    // Continuation lines of a #define.
    std::size_t next = eol;
    while (next < code.size() && next > pos && code[next - 1] == '\\') {
      std::size_t e = code.find('\n', next + 1);
      next = e == std::string::npos ? code.size() : e;
    }
    any = true;
    pos = next + 1;
    end_of_directives = std::min(pos, code.size());
  }
  if (!any || trim(code.substr(end_of_directives)).empty()) return {"", code};
  // Keep the rest on its own lines (blank lines keep cling's line numbers
  // aligned with the cell's).
  const std::size_t directive_lines = std::count(code.begin(), code.begin() + end_of_directives, '\n');
  return {code.substr(0, end_of_directives),
          std::string(directive_lines, '\n') + code.substr(end_of_directives)};
}

bool is_identifier(const std::string& s) {
  return !s.empty() && !std::isdigit(static_cast<unsigned char>(s[0])) &&
         std::all_of(s.begin(), s.end(), identifier_char);
}

// The NAME of "%%clad NAME" names the library's files (NAME.C, NAME_C.so,
// NAME_C_ACLiC_dict.cxx ...), which must fit in a file name (255 bytes).
constexpr std::size_t kMaxCladName = 200;

// Why a %%clad NAME cannot be used, or "" (an empty NAME is fine).
std::string clad_name_problem(const std::string& name) {
  if (name.size() > kMaxCladName)
    return "%%clad NAME: the library name names files, so it has at most " + std::to_string(kMaxCladName) +
           " characters; found " + std::to_string(name.size());
  if (!name.empty() && !is_identifier(name))
    return "%%clad NAME: the library name must be a C identifier, found \"" + name + "\"";
  return "";
}

// The error reply of a cell whose own code crashed and was jumped out of.
CellResult crash_result(const JumpCause& jump, const std::vector<std::string>& diagnostics) {
  CellResult result;
  result.status = "error";
  result.crash_signal = jump.signal;
  result.ename = signal_name(jump.signal);
  std::string what;
  switch (jump.signal) {
    case SIGSEGV:
    case SIGBUS: {
      char address[32];
      std::snprintf(address, sizeof address, "0x%lx", static_cast<unsigned long>(jump.address));
      what = std::string("the cell's code made an invalid memory access at address ") + address +
             " (a null, dangling or out-of-bounds pointer, or a stack overflow?)";
      break;
    }
    case SIGABRT: {
      what = "the cell's code called abort() (a failed assertion, std::terminate or abort())";
      // A failed assert() printed why on stderr just before.
      for (const auto& line : diagnostics)
        if (line.find("Assertion") != std::string::npos && line.find("failed") != std::string::npos)
          what += ": " + trim(line);
      break;
    }
    case SIGFPE:
      what = "the cell's code raised an arithmetic exception (an integer division by zero?)";
      break;
    case SIGILL:
      what = "the cell's code ran an illegal instruction (undefined behaviour the compiler trapped?)";
      break;
    default:
      what = "the cell's code crashed";
      break;
  }
  result.evalue = what +
                  "; the host jumped out of it, as ROOT's prompt does, and the session goes on "
                  "(objects the cell was building may have leaked)";
  result.traceback = {result.ename + ": " + result.evalue};
  return result;
}

// Code points <-> bytes in UTF-8 text (Jupyter counts cursor positions in
// code points).
std::size_t byte_offset(const std::string& s, long code_points) {
  std::size_t i = 0;
  for (long cp = 0; i < s.size() && cp < code_points; ++cp) {
    ++i;
    while (i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) ++i;
  }
  return i;
}
long code_points(const std::string& s, std::size_t bytes) {
  long n = 0;
  for (std::size_t i = 0; i < bytes && i < s.size(); ++i)
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) ++n;
  return n;
}

}  // namespace

EngineInfo Cells::start(const std::string& engine_library, const std::string& include_dir) {
  gROOT->SetBatch(kTRUE);
  // Thread safety makes ROOT's core mutex real; the tracker wrapped around it
  // is what tells the forced interrupt that the cell is in user code.
  ROOT::EnableThreadSafety();
  install_user_code_tracker();
  engine_.library = engine_library;
  engine_.include_dir = include_dir;
  // The host links libtorchclad_root.so; loading it through gSystem tells
  // ROOT (and cling's library lookup) about it.
  int rc = gSystem->Load(engine_library.c_str());
  engine_.loaded = rc >= 0;
  if (!engine_.loaded)
    engine_.error = "gSystem->Load(\"" + engine_library + "\") returned " + std::to_string(rc);
  gInterpreter->AddIncludePath(include_dir.c_str());
  // The gravitational-wave simulator (torchclad/gw_simulator.h) is ready in
  // every cell when it was built beside the engine; other libraries there
  // load by name with gSystem->Load.
  const auto slash = engine_library.rfind('/');
  if (slash != std::string::npos) {
    const std::string dir = engine_library.substr(0, slash);
    gSystem->AddDynamicPath(dir.c_str());
    // Cling's own library lookup too (gSystem's path is not it): a macro's
    // R__LOAD_LIBRARY(libtorchclad_root.so), as the README teaches, runs
    // with .x in a cell as it does in root.exe.
    gInterpreter->Declare(("#pragma cling add_library_path(\"" + dir + "\")").c_str());
    const std::string gw = dir + "/libtorchclad_gw.so";
    if (!gSystem->AccessPathName(gw.c_str())) gSystem->Load(gw.c_str());
  }
  engine_.clad_available = torchclad::use_clad_in_aclic(&engine_.clad_error);
  return engine_;
}

CellResult Cells::execute(const std::string& code, const std::string& cell_id) {
  // A cell that closed or replaced fd 1 or 2 does not take the output of the
  // cells after it.
  capture_.reattach();
  timing::mark("reattach");
  if (code.size() > kMaxCellBytes) {
    CellResult r;
    r.status = "error";
    r.ename = "CellTooLarge";
    r.evalue = "the cell has " + std::to_string(code.size()) + " bytes; the host runs cells of at most " +
               std::to_string(kMaxCellBytes) + " bytes (" + kCellLimitReason +
               "): put large data in a file and read it from the cell";
    r.traceback = {r.ename + ": " + r.evalue};
    return r;
  }
  const std::string stripped = trim(code);
  if (stripped.empty()) return {};
  remember_cell_source(code);  // the comments inspect shows for its declarations
  // %%clad is the one cell magic the host knows: it compiles those cells.
  // Recognising magics is the bridge's (it answers the others itself and
  // never sends them): any other text, '%' included, is C++ for cling.
  if (stripped.rfind("%%clad", 0) == 0) {
    std::size_t start = code.find("%%");
    std::size_t eol = code.find('\n', start);
    std::string header = code.substr(start, eol == std::string::npos ? std::string::npos : eol - start);
    std::string body = eol == std::string::npos ? "" : code.substr(eol + 1);
    std::istringstream words(header);
    std::string magic, name;
    words >> magic >> name;
    if (magic == "%%clad") {
      // Checked here, without a regex over user input, so that run_clad's
      // own check only ever sees a short identifier.
      if (const std::string problem = clad_name_problem(name); !problem.empty()) {
        CellResult r;
        r.status = "error";
        r.ename = "BadMagic";
        r.evalue = problem;
        r.traceback = {r.evalue};
        return r;
      }
      return run_clad(header, body, cell_id);
    }
  }
  remember_identifiers(code);
  remember_using_directives(code);
  timing::mark("identifiers");
  return run_cling(code);
}

CellResult Cells::run_cling(const std::string& code) {
  CellResult result;
  bool failed_in_declare = false;  // Declare allows no redefinition: its error gets a hint
  capture_.begin_recording();
  reinstall_handlers();
  timing::mark("handlers");
  refresh_unsafe_code_ranges();
  set_phase(Phase::kCling);
  timing::mark("prepared");
  TInterpreter::EErrorCode err = TInterpreter::kNoError;
  Landing landing;
  // The cell goes to ProcessLine, as in ROOT's own notebook kernel: cling
  // keeps a leading definition (function, class, namespace, template) global
  // and wraps the statements after it in a function that it runs
  // (cling::utils::getWrapPoint). Leading #include lines go first, on their
  // own (split_leading_directives), and so does each leading definition
  // (split_leading_definitions): cling keeps only the first.
  // A last expression without ';' is evaluated on its own (split_last_expression):
  // its value is the cell's execute_result rather than cling's printout.
  const auto [directives, rest] = split_leading_directives(code);
  const SplitCell split = split_last_expression(rest, names_a_type);
  std::unique_ptr<TInterpreterValue> value;
  timing::mark("split");
  // Code that runs once and instantiates nothing: not worth optimizing (quick_cell.hpp).
  const bool quick = quick_cell(code, {fundamental_variable, fundamental_type});  // no directive either
  const std::string unoptimized = quick ? kUnoptimized : "";
  if (quick) timing::mark("quick");
  if (!directives.empty()) guarded_process_line(directives.c_str(), &err, &landing);
  if (landing.kind == Landing::kReturned && err == TInterpreter::kNoError &&
      !trim(split.statements).empty()) {
    // Each leading definition on its own: cling keeps only the first global.
    for (const CellPiece& piece : split_leading_definitions(split.statements)) {
      guarded_process_line((piece.code + (piece.declare ? "" : unoptimized)).c_str(), &err, &landing,
                           piece.declare);
      if (landing.kind != Landing::kReturned || err != TInterpreter::kNoError) {
        failed_in_declare = piece.declare;
        break;
      }
    }
    timing::mark("process_line");
  }
  if (landing.kind == Landing::kReturned && err == TInterpreter::kNoError && !split.expression.empty()) {
    value = gInterpreter->MakeInterpreterValue();
    bool ok = false;
    guarded_evaluate((split.expression + unoptimized).c_str(), value.get(), &ok, &landing);
    timing::mark("evaluate");
    if (landing.kind == Landing::kException && landing.ename == "cling::CompilationException") {
      // Evaluate reports some compile errors so (the diagnostic is on stderr).
      landing.kind = Landing::kReturned;
      ok = false;
    }
    if (!ok) {
      err = TInterpreter::kRecoverable;
      value.reset();
    }
  }
  // A process that the cell forked ran the rest of the cell; it ends here,
  // before it could read the host's output pipes or write on its channel.
  if (in_forked_child()) end_forked_child();
  set_phase(Phase::kIdle);
  if (landing.kind != Landing::kReturned) {
    // Out of cling without its own cleanup (a jump), or through it by an
    // exception: tell ROOT the line is over.
    const bool from_initializer = (landing.kind == Landing::kCrash || landing.kind == Landing::kForced) &&
                                  landing.jump.from_initializer;
    if (from_initializer) release_locks_left_by_initializer();
    const int levels = reset_after_unwind();
    if (landing.kind == Landing::kForced || landing.kind == Landing::kCrash)
      for (int i = 0; i < levels; ++i) gInterpreter->ForgetMutexState();
    // ProcessLine's InterpreterMutexRegistrationRAII, jumped over while it
    // still held the lock (outside user code, cling had not rewound it).
    if (from_initializer) gInterpreter->ForgetMutexState();
    gROOT->SetLineHasBeenProcessed();
    reinstall_handlers();  // system() in the cell may have left SIGINT ignored
  }
  // What the cell drew, as JupyROOT shows it; then its value. Not after a
  // crash or a forced interrupt, where ROOT's state is suspect.
  std::vector<nlohmann::json> displays;
  nlohmann::json value_json;
  if (landing.kind == Landing::kReturned || landing.kind == Landing::kException) {
    try {
      CellValue shown;
      if (value && landing.kind == Landing::kReturned) shown = read_value(*value);
      timing::mark("value_text");
      CellGraphics graphics = cell_graphics(shown.object, shown.text);
      displays = std::move(graphics.displays);
      if (!graphics.value.is_null())
        value_json = std::move(graphics.value);
      else if (shown.shown)
        value_json = {{"data", {{"text/plain", shown.text}}}, {"metadata", nlohmann::json::object()}};
      timing::mark("canvases");
    } catch (const std::exception& e) {
      std::fprintf(stderr, "torchclad: could not show the cell's graphics: %s\n", e.what());
    }
  }
  capture_.drain();
  timing::mark("drained");
  const std::vector<std::string> diagnostics = split_lines(capture_.end_recording());
  result.displays = std::move(displays);
  result.value = std::move(value_json);

  if (landing.kind == Landing::kCrash) return crash_result(landing.jump, diagnostics);
  if (landing.kind == Landing::kForced) {
    result.status = "aborted";
    result.ename = "Interrupted";
    result.evalue =
        "the cell was interrupted: the host jumped out of the running code (as ROOT's prompt does "
        "on Ctrl-C); objects it was building may have leaked";
    result.interrupt = "forced";
    return result;
  }
  if (landing.kind == Landing::kException) {
    result.status = "error";
    result.ename = landing.ename;
    result.evalue = landing.evalue;
    result.traceback = {landing.ename + ": " + landing.evalue};
    return result;
  }
  if (err == TInterpreter::kProcessing && !gInterpreter->GetMore()) {
    // Not waiting for input: a meta command (.L, .x, .I, ...) reports
    // kProcessing; it failed if it printed an error.
    const bool failed = std::any_of(diagnostics.begin(), diagnostics.end(), [](const std::string& l) {
      return l.find("error:") != std::string::npos || l.find("Error in <") != std::string::npos;
    });
    err = failed ? TInterpreter::kRecoverable : TInterpreter::kNoError;
  }
  if (err == TInterpreter::kProcessing) {
    // Incomplete input (an unclosed brace, parenthesis or comment): cling
    // waits for more; cancel it so the next cell starts clean.
    gInterpreter->ProcessLine(".@");
    capture_.drain();
    result.status = "error";
    result.ename = "IncompleteInput";
    result.evalue = "the cell ends inside a block, parenthesis, string or comment (a missing '}'?)";
    result.traceback = {result.evalue};
    return result;
  }
  if (err != TInterpreter::kNoError) {
    result.status = "error";
    result.traceback = diagnostics;
    result.evalue = first_error(diagnostics);
    if (!result.evalue.empty()) {
      result.ename = "CompileError";
      // torchclad's API used without its header (after a restart): say which.
      if (const std::string hint = include_hint(code, diagnostics, engine_.include_dir); !hint.empty()) {
        result.evalue += " (" + hint + ")";
        result.traceback.push_back("hint: " + hint);
      }
      if (failed_in_declare &&
          (result.evalue.rfind("redefinition of", 0) == 0 ||
           result.evalue.rfind("functions that differ only in their return type", 0) == 0)) {
        // A function that went through Declare (leading_definitions.hpp),
        // run again, or one returning a class the cell redefined.
        const std::string hint =
            "cling cannot define again a function written with noexcept, try, a constructor's initializer "
            "list or as a literal operator; rename it, or restart the kernel";
        result.evalue += " (" + hint + ")";
        result.traceback.push_back("hint: " + hint);
      }
    } else {
      auto aborted = std::find_if(diagnostics.begin(), diagnostics.end(), [](const std::string& l) {
        return l.find("Execution of your code was aborted") != std::string::npos ||
               l.find("Error in <") != std::string::npos;
      });
      result.ename = "InterpreterError";
      result.evalue = aborted != diagnostics.end() ? trim(*aborted)
                                                   : "cling could not run the cell (error code " +
                                                         std::to_string(static_cast<int>(err)) + ")";
    }
    return result;
  }
  // An interrupt came, and the cell's code still ran to its end (it stopped
  // at the stop request, or finished first): that is a normal end, ok. The
  // reply notes the request.
  if (interrupt_requested.load()) result.interrupt = "cooperative";
  return result;
}

CellResult Cells::run_clad(const std::string& header_line, const std::string& body,
                           const std::string& cell_id) {
  CellResult result;
  if (!engine_.clad_available) {
    result.status = "error";
    result.ename = "CladUnavailable";
    result.evalue = engine_.clad_error;
    result.traceback = {engine_.clad_error};
    return result;
  }
  std::istringstream words(header_line);
  std::string magic, name;
  words >> magic >> name;
  ++clad_cells_;
  const bool named = !name.empty();
  static const std::regex identifier("[A-Za-z_][A-Za-z0-9_]*");
  if (name.empty() && !cell_id.empty()) {
    name = "clad_";
    for (char c : cell_id) name += identifier_char(c) ? c : '_';
  } else if (name.empty()) {
    name = "clad_cell_" + std::to_string(clad_cells_);
  } else if (!std::regex_match(name, identifier)) {
    result.status = "error";
    result.ename = "BadMagic";
    result.evalue = "%%clad NAME: the library name must be a C identifier, found \"" + name + "\"";
    result.traceback = {result.evalue};
    return result;
  }
  remember_identifiers(body);
  const std::string path = workdir_ + "/" + name + ".C";
  const bool models = defines_models(body);
  // Line 1 is the magic's: line numbers match the cell.
  const std::string source = std::string(models ? kModelCellPrelude : kCladCellPrelude) + "\n" + body + "\n";
  bool changed = false;  // a named cell run again with new code
  {
    std::ifstream in(path);
    if (in) {
      std::string old((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      changed = old != source;
    }
  }
  {
    std::ofstream out(path);
    out << source;
    if (!out) {
      result.status = "error";
      result.ename = "OSError";
      result.evalue = "cannot write " + path;
      return result;
    }
  }
  capture_.begin_recording();
  reinstall_handlers();
  set_phase(Phase::kExternal);
  // ACLiC: rootcling for the dictionary (so that cling sees the
  // declarations), clang++-19 + Clad for the library, then loads it.
  // k: keep the library; O: optimized.
  int ok = 0;
  try {
    if (models) {
      // Model cells: no dictionary, a new library per change (nothing
      // loaded is unloaded, so later cells' state stays; the registry
      // retires the older definitions). Unchanged, it is loaded again if
      // another cell took one of its models' names meanwhile.
      const auto loaded = model_cell_sources_.find(name);
      const auto before = model_sources();
      bool current = loaded != model_cell_sources_.end() && loaded->second == source;
      for (const auto& model : cell_models_[name])
        current = current && before.count(model) && before.at(model) == path;
      ok = compile_and_load_model_cell(path, name, !current);
      if (ok) {
        model_cell_sources_[name] = source;
        cell_models_[name] = models_from(path);
        // A model of another cell replaced by this one: said, not an error.
        if (const std::string notices = replacement_notices(before, path); !notices.empty())
          std::fputs(notices.c_str(), stderr);
      } else {
        model_cell_sources_.erase(name);
      }
    } else {
      // f: rebuild even if the file looks older than the library (rewritten
      // within the same second). ACLiC's "Info in <TUnixSystem::ACLiC>:
      // creating shared library" is not for the notebook; warnings and
      // errors still show.
      struct QuietInfo {
        Int_t saved = gErrorIgnoreLevel;
        QuietInfo() { gErrorIgnoreLevel = std::max<Int_t>(gErrorIgnoreLevel, kWarning); }
        ~QuietInfo() { gErrorIgnoreLevel = saved; }
      } quiet;
      ok = gSystem->CompileMacro(path.c_str(), changed ? "kfO" : "kO");
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
  }
  set_phase(Phase::kIdle);
  reinstall_handlers();
  capture_.drain();
  const std::vector<std::string> diagnostics = split_lines(capture_.end_recording());
  if (children_killed.load()) {
    result.status = "aborted";
    result.ename = "Interrupted";
    result.evalue = "the %%clad compilation was interrupted (its compiler processes were killed)";
    result.interrupt = "killed-compiler";
    return result;
  }
  if (!ok) {
    result.status = "error";
    result.ename = "CladCompileError";
    result.evalue = first_cell_error(diagnostics, path, cell_label(name, named));
    if (result.evalue.empty())
      result.evalue = (models ? "clang++ could not compile " : "ACLiC could not compile ") + path;
    if (models) record_failed_model_cell(source, named ? "cell " + name : "its %%clad cell", result.evalue);
    result.traceback = diagnostics;
    return result;
  }
  if (const std::string problem = models ? "" : first_cell_error(diagnostics, path, cell_label(name, named));
      !problem.empty()) {
    // Compiled and loaded, but cling refused its declarations (typically a
    // function that an earlier %%clad cell defined too): later cells would
    // call the earlier definition.
    result.status = "error";
    result.ename = "CladLoadError";
    result.evalue = problem + " (" + name + " was built, but cling rejected its declarations; give " +
                    "the cell a name, %%clad NAME, so that running it again replaces its library)";
    result.traceback = diagnostics;
    return result;
  }
  if (const std::string problem = models ? cell_model_problems(diagnostics, path) : ""; !problem.empty()) {
    model_cell_sources_.erase(name);  // run again unchanged, it compiles and reports again
    result.status = "error";
    result.ename = "CladModelError";
    result.evalue = in_cell_terms(problem.substr(0, problem.find('\n')), path, cell_label(name, named));
    result.traceback = split_lines(problem);
    return result;
  }
  if (interrupt_requested.load()) {
    result.status = "aborted";
    result.ename = "Interrupted";
    result.evalue = "the cell was interrupted";
    result.interrupt = "cooperative";
  }
  return result;
}

void Cells::remember_identifiers(const std::string& code) {
  // A plain scan, linear in the cell: libstdc++'s std::regex recursed once
  // per character of a long identifier and overflowed the stack.
  constexpr std::size_t kMinLength = 3, kMaxLength = 256;  // longer: not worth completing
  for (std::size_t i = 0; i < code.size() && identifiers_.size() < 20000;) {
    if (!identifier_char(code[i])) {
      ++i;
      continue;
    }
    std::size_t end = i;
    while (end < code.size() && identifier_char(code[end])) ++end;
    const std::size_t length = end - i;
    const bool number = std::isdigit(static_cast<unsigned char>(code[i]));
    if (!number && length >= kMinLength && length <= kMaxLength) identifiers_.insert(code.substr(i, length));
    i = end;
  }
}

// Where the text to complete is a file name: a preprocessor line (`#include
// <TH1`) or a meta-command (`.L mac`, `.x`), which TTabCom completes.
static bool directive_line(const std::string& line, std::size_t token) {
  const std::size_t first = line.find_first_not_of(" \t");
  if (first != std::string::npos && line[first] == '#') return true;
  if (first != std::string::npos && line[first] == '.') {  // `.L name`, not a chain's `  .Fil`
    std::size_t k = first + 1;
    while (k < line.size() && identifier_char(line[k])) ++k;
    if (k > first + 1 && k < token && line[k] == ' ') return true;
  }
  return false;
}

// Where the token is inside a string literal (`TFile f("/tmp/da`,
// `TH1D h("h", "My first histo`): the position of its opening quote, or npos.
static std::size_t opening_quote(const std::string& line, std::size_t token) {
  std::size_t quote = std::string::npos;
  for (std::size_t i = 0; i < token; ++i) {
    if (line[i] == '\\' && quote != std::string::npos)
      ++i;
    else if (line[i] == '"')
      quote = quote == std::string::npos ? i : std::string::npos;
  }
  return quote;
}

// Inside a string, the files of the directory written before the token
// (the working directory if none) whose names start with `partial`. Not
// TTabCom: in a string that is no path (a histogram's title) it loaded
// ROOT's list of globals, and every later cell was slower.
static std::vector<std::string> file_completions(const std::string& directory, const std::string& partial) {
  constexpr std::size_t kMaxFiles = 1000;
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator(directory.empty() ? "." : directory, ec);
       !ec && it != std::filesystem::directory_iterator() && out.size() < kMaxFiles; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind(partial, 0) == 0 && name != partial) out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

nlohmann::json Cells::complete(const std::string& code, long cursor_pos) {
  const std::size_t cursor = byte_offset(code, cursor_pos < 0 ? 0 : cursor_pos);
  std::string line = code.substr(0, cursor);
  if (std::size_t nl = line.rfind('\n'); nl != std::string::npos) line = line.substr(nl + 1);
  if (line.size() > 1500) {  // TTabCom works on a 2 KiB line buffer
    std::size_t cut = line.find_last_of(";{}", line.size() - 1);
    line = cut == std::string::npos ? line.substr(line.size() - 1500) : line.substr(cut + 1);
    if (line.size() > 1500) line = line.substr(line.size() - 1500);
  }
  std::size_t token = line.size();
  while (token > 0 && identifier_char(line[token - 1])) --token;
  const std::string partial = line.substr(token);

  std::vector<std::string> matches, signatures;
  auto add = [&](const std::string& m) {
    if (!m.empty() && std::find(matches.begin(), matches.end(), m) == matches.end()) matches.push_back(m);
  };
  // TTabCom: the completion of ROOT's prompt and of JupyROOT. Hook() either
  // completes the buffer in place (>= 0), lists candidates (-2) or finds
  // nothing (-1).
  static TTabCom* tabcom = new TTabCom;
  auto hook = [&](std::string text, std::string* completed, std::vector<std::string>* listed) {
    char buf[2048];
    std::snprintf(buf, sizeof buf, "%s", text.c_str());
    int loc = static_cast<int>(std::strlen(buf));
    std::ostringstream out;
    int rc = tabcom->Hook(buf, &loc, out);
    if (completed) *completed = buf;
    if (listed) {
      std::istringstream in(out.str());
      for (std::string l; std::getline(in, l);)
        if (!trim(l).empty()) listed->push_back(trim(l));
    }
    return rc;
  };
  // TTabCom only where reflection cannot answer: on a member (`v.`,
  // `h.GetXaxis()->Set`, `h.Fill(`) it loads ROOT's list of globals and may
  // run the expression to learn its type, and with the globals loaded every
  // later cell is slower (root_names.hpp). Plain names, members, member
  // calls and scopes come from reflection (scope_completion.hpp); TTabCom
  // answers a directive's file name (`#include <TH1`, `.L mac`), a free
  // function's signatures (`myf(`) and a scope reflection misses; a file
  // name in a string is listed here (file_completions).
  const bool member =
      (token >= 1 && line[token - 1] == '.') || (token >= 2 && line.compare(token - 2, 2, "->") == 0);
  const bool scope = token >= 2 && line.compare(token - 2, 2, "::") == 0;
  const std::size_t quote = opening_quote(line, token);
  const bool in_string = quote != std::string::npos;
  const bool directive = !in_string && directive_line(line, token);
  const bool file_name = in_string || directive;
  const bool plain_name = !partial.empty() && !member && !scope && !file_name;
  const std::optional<std::vector<std::string>> member_call =
      file_name ? std::nullopt : member_signatures(line);
  const bool free_call = !member_call && !file_name && ends_with_a_call(line);  // `myf(`
  try {
    if (in_string)
      for (const auto& m : file_completions(line.substr(quote + 1, token - quote - 1), partial)) add(m);
    else if (plain_name)
      for (const auto& m : name_completions(partial, identifiers_, *root_names(capture_.original_stderr())))
        add(m);
    else if (member_call)
      signatures = *member_call;
    else if (!file_name && !free_call)
      for (const auto& m : scope_completions(line)) add(m);
  } catch (...) {
  }
  if (matches.empty() && (directive || free_call || scope)) try {
      std::string completed;
      std::vector<std::string> listed;
      int rc = hook(line, &completed, &listed);
      if (rc == -2 && !line.empty() && line.back() == '(') {
        signatures = listed;
      } else if (rc == -2) {
        for (const auto& m : listed)
          if (m.rfind(partial, 0) == 0) add(m);
      } else if (rc >= 0 && completed.size() >= token && completed.compare(0, token, line, 0, token) == 0) {
        // Completed in place (a unique match or the common prefix): list again
        // from there.
        std::vector<std::string> again;
        if (hook(completed, nullptr, &again) == -2 && completed.back() != '(') {
          for (const auto& m : again)
            if (m.rfind(partial, 0) == 0) add(m);
        }
        if (matches.empty()) add(completed.substr(token));
      }
    } catch (...) {
    }
  capture_.drain();
  if (matches.empty() && !partial.empty() && signatures.empty()) {
    for (auto it = identifiers_.lower_bound(partial); it != identifiers_.end() && it->rfind(partial, 0) == 0;
         ++it)
      if (*it != partial) add(*it);
  }
  const long end_cp = code_points(code, cursor);
  nlohmann::json reply = {{"matches", matches},
                          {"cursor_start", end_cp - static_cast<long>(partial.size())},
                          {"cursor_end", end_cp}};
  if (!signatures.empty()) reply["signatures"] = signatures;
  return reply;
}

}  // namespace host
