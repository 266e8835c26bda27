#include "messages.hpp"

#include <algorithm>
#include <TROOT.h>

#include "cells.hpp"

#if __has_include(<torch/headeronly/version.h>)
#include <torch/headeronly/version.h>
#elif __has_include(<torch/version.h>)
#include <torch/version.h>
#endif
#if __has_include(<clad/Differentiator/Version.inc>)
#include <clad/Differentiator/Version.inc>
#endif

namespace host {

nlohmann::json telemetry_event(const torchclad::telemetry::Event& e) {
  nlohmann::json j = {
      {"kind", e.kind},
      {"run_id", e.run_id},
      {"engine", e.engine},
      {"model", e.model},
      {"optimizer", e.optimizer},
      {"batch", e.batch},
      {"threads", e.threads},
      {"epochs", e.epochs},
      {"epoch", e.epoch},
      {"step", e.step},
      {"total_steps", e.total_steps},
      {"loss", e.loss},
      {"test_loss", e.test_loss},
      {"test_accuracy", e.test_accuracy >= 0 ? nlohmann::json(e.test_accuracy) : nlohmann::json()},
      {"test_auc", e.test_auc >= 0 ? nlohmann::json(e.test_auc) : nlohmann::json()},
      {"samples_per_second", e.samples_per_second},
      {"status", e.status},
      {"message", e.message}};
  return j;  // non-finite numbers (a diverged loss) become null
}

nlohmann::json versions() {
  nlohmann::json v;
  v["root"] = gROOT->GetVersion();
  v["root_git"] = gROOT->GetGitCommit();
  // ROOT's cling has no version call of its own outside its headers: the
  // clang it is built on and its language standard identify it.
  const char* clang = reinterpret_cast<const char*>(gROOT->ProcessLine("(const char*)__clang_version__;"));
  const long cxx = static_cast<long>(gROOT->ProcessLine("__cplusplus;"));
  std::string clang_version = clang ? clang : "?";
  while (!clang_version.empty() && clang_version.back() == ' ') clang_version.pop_back();
  v["cling"] = std::string("cling (ROOT ") + gROOT->GetVersion() + "), clang " + clang_version;
  v["cling_cplusplus"] = cxx;
  v["torchclad"] = TORCHCLAD_VERSION;
#ifdef CLAD_VERSION_STRING
  v["clad"] = CLAD_VERSION_STRING;
#else
  v["clad"] = nullptr;
#endif
#ifdef TORCH_VERSION
  v["libtorch"] = TORCH_VERSION;
#else
  v["libtorch"] = nullptr;
#endif
  v["host_compiler"] = __VERSION__;
  return v;
}

nlohmann::json execute_reply(const nlohmann::json& id, const CellResult& r, long execution_count) {
  nlohmann::json j = {{"type", "execute_reply"}, {"id", id},
                      {"status", r.status},      {"execution_count", execution_count},
                      {"ename", r.ename},        {"evalue", r.evalue},
                      {"traceback", r.traceback}};
  if (!r.interrupt.empty()) j["interrupt"] = r.interrupt;
  return j;
}

nlohmann::json error_message(const nlohmann::json& id, const std::string& ename, const std::string& evalue) {
  return {{"type", "error"}, {"id", id}, {"ename", ename}, {"evalue", evalue}};
}

std::string base64(const std::string& bytes) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    const std::size_t n = std::min<std::size_t>(3, bytes.size() - i);
    unsigned v = static_cast<unsigned char>(bytes[i]) << 16;
    if (n > 1) v |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    if (n > 2) v |= static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += n > 1 ? kAlphabet[(v >> 6) & 63] : '=';
    out += n > 2 ? kAlphabet[v & 63] : '=';
  }
  return out;
}

}  // namespace host
