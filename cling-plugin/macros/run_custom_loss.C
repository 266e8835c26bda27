// Compiles custom_loss.C with Clad through ACLiC and runs it:
//   scripts/troot -b -q cling-plugin/macros/run_custom_loss.C
R__LOAD_LIBRARY(libtorchclad_root.so)
#include "torchclad/aclic.h"

#include <TROOT.h>
#include <TSystem.h>

int run_custom_loss() {
  std::string error;
  if (!torchclad::use_clad_in_aclic(&error)) {
    Error("run_custom_loss", "%s", error.c_str());
    return 1;
  }
  const TString dir = gSystem->DirName(__FILE__);
  // Build products go under the working directory, not beside the macro.
  gSystem->SetBuildDir(TString(gSystem->WorkingDirectory()) + "/aclic", kTRUE);
  if (gSystem->CompileMacro(dir + "/custom_loss.C", "k") == 0) {
    Error("run_custom_loss", "ACLiC could not compile custom_loss.C (see the messages above)");
    return 1;
  }
  const double worst = gROOT->ProcessLine("custom_loss()");
  return worst < 1e-6 ? 0 : 1;
}
