#pragma once
// ROOT graphics in the notebook, as JupyROOT shows them: the canvases a cell
// drew appear below it, and a ROOT object that is a cell's value is drawn.
// Each goes out as one MIME bundle:
//   application/vnd.torchclad.root+json  TBufferJSON of the object (JSROOT
//                                        draws it in the lab extension)
//   image/png                            base64, for other frontends
//   text/plain                           a line naming the object
// Runs on the cell thread, with ROOT in batch mode (no X needed).
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

class TObject;

namespace host {

inline constexpr const char* kRootMime = "application/vnd.torchclad.root+json";

// The bundle of a ROOT object (a canvas as it is; anything else drawn on a
// temporary canvas for the PNG). text/plain is `text` when given.
nlohmann::json root_object_bundle(TObject* object, const std::string& text = "");

// Canvases drawn or updated since the last call (JupyROOT's rule: TCanvas
// IsDrawn() or IsUpdated()), as bundles with transient display ids; their
// flags are reset.
std::vector<nlohmann::json> changed_canvases();

// The canvas flags reset without showing anything (a cell whose value is a
// canvas shows it once, as its result).
void forget_canvas_changes(TObject* canvas);

// The ROOT object a cell's value refers to, or null: `type` as cling names
// the value's type ("TH1F *", "TGraph &", "ROOT::RDF::RResultPtr<TH1D>"),
// `address` the pointer's value (for a pointer) or the object's address.
TObject* value_as_root_object(const std::string& type, void* address);

}  // namespace host
