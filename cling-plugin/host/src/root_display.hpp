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

// The bundle of a ROOT object (a canvas as it is, then remembered as shown;
// anything else drawn on a temporary canvas for the PNG). text/plain is
// `text` when given.
nlohmann::json root_object_bundle(TObject* object, const std::string& text = "");

// What a cell shows of ROOT graphics, as JupyROOT shows it:
//   displays  the canvases drawn or updated since they were last shown
//             (JupyROOT's rule: TCanvas IsDrawn() or IsUpdated(); here also
//             a new canvas, and a modified one that now looks different),
//             with their flags reset;
//   value     the bundle of the cell's value when it is a ROOT object (null
//             when `value` is null): a canvas is shown once, as the value
//             and not among the displays; an object drawn on one of the
//             displayed canvases (`h.Draw("E"); h`) is not drawn again: its
//             value is cling's text (as JupyROOT prints it), the picture is
//             the canvas's; any other object is drawn.
struct CellGraphics {
  std::vector<nlohmann::json> displays;
  nlohmann::json value;
};
CellGraphics cell_graphics(TObject* value, const std::string& value_text);

// The ROOT object a cell's value refers to, or null: `type` as cling names
// the value's type ("TH1F *", "TGraph &", "ROOT::RDF::RResultPtr<TH1D>"),
// `address` the pointer's value (for a pointer) or the object's address.
TObject* value_as_root_object(const std::string& type, void* address);

}  // namespace host
