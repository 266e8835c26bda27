// Points ACLiC at clang++-19 with the Clad plugin. ACLiC compiles a macro
// with the command in gSystem->GetMakeSharedLib() and first runs rootcling
// over it for a dictionary; rootcling is cling (C++17, no Clad), so it gets
// __CLAD__ defined, which lets it parse clad::gradient calls (it only needs
// declarations; the derivatives come from the real compile).
#include "torchclad/aclic.h"

#include <TEnv.h>
#include <TInterpreter.h>
#include <TString.h>
#include <TSystem.h>

#include "header_dirs.hpp"

#include <filesystem>

namespace torchclad {

bool use_clad_in_aclic(std::string* error) {
  static bool done = false;
  if (done) return true;
  const std::string plugin = TORCHCLAD_CLAD_PLUGIN, clad_include = TORCHCLAD_CLAD_INCLUDE,
                    cxx = TORCHCLAD_CXX;
  for (const auto& [path, what] : {std::pair{plugin, "the Clad plugin"}, {cxx, "clang++-19"}}) {
    if (!std::filesystem::exists(path)) {
      if (error)
        *error = std::string("torchclad: ") + what + " is missing (" + path +
                 "); ACLiC cannot compile macros with Clad. Install Clad v2.4+ built against "
                 "LLVM 19 into /opt/clad (see the README) and rebuild torchclad.";
      return false;
    }
  }
  TString cmd = gSystem->GetMakeSharedLib();
  // Compile and link with clang++-19 (C++20, as the engine); keep Clad's own
  // headers' warnings quiet (-isystem) so the user's diagnostics stand out.
  const TString compile =
      TString::Format("%s -fplugin=%s -DCLAD_NO_NUM_DIFF -isystem %s -Wno-#warnings -Wno-unused-parameter",
                      cxx.c_str(), plugin.c_str(), clad_include.c_str());
  cmd.ReplaceAll("c++ -fPIC -c", compile + " -fPIC -c");
  cmd.ReplaceAll("; c++ ", TString("; ") + cxx.c_str() + " ");
  cmd.ReplaceAll("-std=c++17", "-std=c++20");
  if (!cmd.Contains(plugin.c_str())) {
    if (error)
      *error = std::string("torchclad: ACLiC's compile command has an unexpected form, not changed: ") +
               gSystem->GetMakeSharedLib();
    return false;
  }
  gSystem->SetMakeSharedLib(cmd);
  // torchclad/nn.h (model definitions) includes the engine's kernels.
  // LibTorch's include dirs are not added: its headers need C++20 (ATen.h
  // stops with #error otherwise), and rootcling, like the cling that parses
  // the dictionary when the library loads, is C++17. Model files and %%clad
  // cells that define models are compiled without a dictionary
  // (model_compiler.cpp), with LibTorch's headers.
  const HeaderDirs& headers = header_dirs();
  gSystem->AddIncludePath(TString::Format("-I%s -I%s", headers.api.c_str(), headers.engine.c_str()));
  gInterpreter->AddIncludePath(clad_include.c_str());
  gInterpreter->AddIncludePath(headers.engine.c_str());
  gEnv->SetValue("ACLiC.ExtraRootclingFlags", TString::Format("-D__CLAD__ -I%s", clad_include.c_str()));
  done = true;
  return true;
}

}  // namespace torchclad
