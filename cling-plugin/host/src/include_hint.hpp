#pragma once
// A hint for a cell that uses torchclad's API without its header: after a
// restart of the host (or in a new notebook) `torchclad::model(...)` gives
// cling's "'torchclad' is not a class, namespace, or enumeration" followed
// by a puzzling "note: 'torchclad' declared here". Including torchclad.h in
// every session instead would cost about 0.7 s of the host's start (a cell
// `#include "torchclad/torchclad.h"` took 0.65-0.73 s in a new host).
#include <string>
#include <vector>

namespace host {

// "" unless the diagnostics say that torchclad, or the name the cell uses
// in it, is not declared; else what to include, e.g.
//   #include "torchclad/model.h" first: it declares torchclad::model, and a
//   new or restarted kernel starts without torchclad's headers
// naming the header of include_dir/torchclad/ that declares the first name
// the cell uses after `torchclad::` (torchclad.h when none does).
std::string include_hint(const std::string& code, const std::vector<std::string>& diagnostics,
                         const std::string& include_dir);

}  // namespace host
