#include "root_display.hpp"

#include <TBufferJSON.h>
#include <TCanvas.h>
#include <TPad.h>
#include <TClass.h>
#include <TColor.h>
#include <TError.h>
#include <TGraph.h>
#include <TH1.h>
#include <THStack.h>
#include <TInterpreter.h>
#include <TList.h>
#include <TMultiGraph.h>
#include <TROOT.h>
#include <TStyle.h>
#include <TVirtualPad.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <string_view>
#include <unistd.h>

#include "messages.hpp"

namespace host {
namespace {

constexpr int kDefaultWidth = 700, kDefaultHeight = 500;

// ROOT's "Info in <TCanvas::Print>: png file ... has been created" is not
// for the notebook.
struct QuietInfo {
  Int_t saved = gErrorIgnoreLevel;
  QuietInfo() {
    if (gErrorIgnoreLevel < kWarning) gErrorIgnoreLevel = kWarning;
  }
  ~QuietInfo() { gErrorIgnoreLevel = saved; }
};

// The pad a cell was drawing on stays current after our temporary canvas.
struct KeepPad {
  TVirtualPad* saved = gPad;
  ~KeepPad() { gPad = saved; }
};

std::string png_of(TCanvas* canvas) {
  const char* tmp = std::getenv("TMPDIR");
  std::string path = std::string(tmp && *tmp ? tmp : "/tmp") + "/torchclad-canvas-XXXXXX.png";
  const int fd = ::mkstemps(path.data(), 4);
  if (fd < 0) return "";
  ::close(fd);
  {
    QuietInfo quiet;
    canvas->SaveAs(path.c_str());
  }
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ::unlink(path.c_str());
  return bytes;
}

// The canvas as JSROOT wants it: with gStyle among its primitives (as
// JupyROOT sends it), so that JSROOT draws with the cell's style.
TString canvas_json(TCanvas* canvas) {
  TList* primitives = canvas->GetListOfPrimitives();
  const bool add_style = primitives && !primitives->FindObject(gStyle);
  if (add_style) primitives->Add(gStyle);
  TColor::DefinedColors();  // (reset ROOT's flag, as JupyROOT does)
  TString text = TBufferJSON::ConvertToJSON(canvas, 23);
  if (add_style) primitives->Remove(gStyle);
  return text;
}

nlohmann::json parse_json(const TString& text) {
  return nlohmann::json::parse(text.Data(), text.Data() + text.Length(), nullptr, /*allow_exceptions=*/false);
}

nlohmann::json bundle(const nlohmann::json& object_json, const std::string& png, const std::string& text,
                      int width, int height) {
  nlohmann::json data = {{"text/plain", text}};
  nlohmann::json metadata = nlohmann::json::object();
  if (!object_json.is_discarded() && !object_json.is_null()) {
    data[kRootMime] = object_json;
    metadata[kRootMime] = {{"width", width}, {"height", height}};
  }
  if (!png.empty()) {
    data["image/png"] = base64(png);
    metadata["image/png"] = {{"width", width}, {"height", height}};
  }
  return {{"data", data}, {"metadata", metadata}};
}

int width_of(TCanvas* c) {
  return c->GetWindowWidth() > 0 ? static_cast<int>(c->GetWindowWidth()) : kDefaultWidth;
}
int height_of(TCanvas* c) {
  return c->GetWindowHeight() > 0 ? static_cast<int>(c->GetWindowHeight()) : kDefaultHeight;
}

std::string describe(TObject* object) {
  std::ostringstream out;
  out << object->ClassName() << " \"" << object->GetName() << "\"";
  if (object->GetTitle() && *object->GetTitle()) out << " (" << object->GetTitle() << ")";
  return out.str();
}

std::string strip(std::string type) {
  for (const char* word : {"const ", "volatile "})
    for (std::size_t at; (at = type.find(word)) != std::string::npos;) type.erase(at, std::strlen(word));
  while (!type.empty() && (type.back() == ' ' || type.back() == '&' || type.back() == '*')) type.pop_back();
  if (type.size() >= 2 && type.front() == '(' && type.back() == ')')
    return strip(type.substr(1, type.size() - 2));
  return type;
}

// "int", "unsigned long", "double": only C++'s fundamental type words.
bool is_fundamental(const std::string& name) {
  static const char* const kWords[] = {"bool", "char", "char8_t", "char16_t", "char32_t", "wchar_t", "short",
                                       "int",  "long", "signed",  "unsigned", "float",    "double",  "void"};
  std::size_t at = 0;
  bool any = false;
  while (at < name.size()) {
    if (name[at] == ' ') {
      ++at;
      continue;
    }
    std::size_t end = name.find(' ', at);
    if (end == std::string::npos) end = name.size();
    const std::string word = name.substr(at, end - at);
    if (std::none_of(std::begin(kWords), std::end(kWords), [&](const char* w) { return word == w; }))
      return false;
    any = true;
    at = end;
  }
  return any;
}

}  // namespace

namespace {

// Canvases already shown or seen unchanged (a canvas not in here is new),
// each with the hash of the JSON that was shown.
std::map<const TCanvas*, std::size_t>& shown_canvases() {
  static std::map<const TCanvas*, std::size_t> shown;
  return shown;
}

// Drawing on a pad (TObject::Draw appends to it) marks it modified until
// it is painted: the canvas or any of its sub-pads.
bool modified(TPad* pad, int depth = 0) {
  if (pad->IsModified()) return true;
  if (depth > 8 || !pad->GetListOfPrimitives()) return false;
  for (TObject* o : *pad->GetListOfPrimitives())
    if (auto* sub = dynamic_cast<TPad*>(o); sub && modified(sub, depth + 1)) return true;
  return false;
}

void mark_unmodified(TPad* pad, int depth = 0) {
  pad->Modified(false);
  if (depth > 8 || !pad->GetListOfPrimitives()) return;
  for (TObject* o : *pad->GetListOfPrimitives())
    if (auto* sub = dynamic_cast<TPad*>(o)) mark_unmodified(sub, depth + 1);
}

bool listed(TList* list, const TObject* object) {
  if (list)
    for (TObject* o : *list)
      if (o == object) return true;
  return false;
}

// The object is drawn as part of a primitive: a histogram of a THStack, a
// graph of a TMultiGraph, a function (a fit) of a histogram or a graph.
bool member_of(TObject* primitive, const TObject* object) {
  if (auto* stack = dynamic_cast<THStack*>(primitive)) return listed(stack->GetHists(), object);
  if (auto* multi = dynamic_cast<TMultiGraph*>(primitive)) return listed(multi->GetListOfGraphs(), object);
  if (auto* h = dynamic_cast<TH1*>(primitive)) return listed(h->GetListOfFunctions(), object);
  if (auto* g = dynamic_cast<TGraph*>(primitive)) return listed(g->GetListOfFunctions(), object);
  return false;
}

// The object is a primitive of the pad or of one of its sub-pads, or a
// member of one of their primitives.
bool drawn_on(TPad* pad, const TObject* object, int depth = 0) {
  if (!pad->GetListOfPrimitives()) return false;
  for (TObject* o : *pad->GetListOfPrimitives()) {
    if (o == object || member_of(o, object)) return true;
    if (auto* sub = dynamic_cast<TPad*>(o); sub && depth < 8 && drawn_on(sub, object, depth + 1)) return true;
  }
  return false;
}

// The canvas painted, with every pad marked unmodified (painting can leave
// one modified: a "colz" histogram adds its palette then; and the flag is
// part of the JSON), as JSON: the one serialisation of a canvas per cell,
// both what is shown and what its hash is compared with.
TString painted_json(TCanvas* canvas) {
  canvas->Update();
  mark_unmodified(canvas);
  return canvas_json(canvas);
}

std::size_t hash_of(const TString& json) {
  return std::hash<std::string_view>{}(std::string_view(json.Data(), json.Length()));
}

// The bundle of a canvas from its painted JSON; the canvas is remembered as
// shown with that JSON's hash.
nlohmann::json show_canvas(TCanvas* canvas, const TString& json, const std::string& text) {
  nlohmann::json out = bundle(parse_json(json), png_of(canvas), text, width_of(canvas), height_of(canvas));
  shown_canvases()[canvas] = hash_of(json);
  mark_unmodified(canvas);  // (the PNG's painting)
  canvas->ResetDrawn();
  canvas->ResetUpdated();  // (Update sets it)
  return out;
}

std::string canvas_text(TCanvas* canvas) {
  return "TCanvas \"" + std::string(canvas->GetName()) + "\" (" + canvas->GetTitle() + ")";
}

}  // namespace

nlohmann::json root_object_bundle(TObject* object, const std::string& text) {
  const std::string plain = text.empty() ? describe(object) : text;
  if (auto* canvas = dynamic_cast<TCanvas*>(object)) return show_canvas(canvas, painted_json(canvas), plain);
  // JSROOT draws the object itself; the PNG needs a canvas to draw it on.
  const TString json = TBufferJSON::ConvertToJSON(object, 23);
  std::string png;
  {
    KeepPad keep;
    TCanvas canvas("__torchclad_value__", "", kDefaultWidth, kDefaultHeight);
    object->Draw();
    canvas.Update();
    png = png_of(&canvas);
    canvas.GetListOfPrimitives()->Clear();  // the object is the cell's, not the canvas's
  }
  return bundle(parse_json(json), png, plain, kDefaultWidth, kDefaultHeight);
}

CellGraphics cell_graphics(TObject* value, const std::string& value_text) {
  CellGraphics out;
  // A canvas as the value: shown once, as the value (now remembered as shown).
  if (value && dynamic_cast<TCanvas*>(value)) out.value = root_object_bundle(value, value_text);
  std::vector<TCanvas*> displayed;
  std::set<const TCanvas*> present;
  if (TSeqCollection* canvases = gROOT->GetListOfCanvases()) {
    for (TObject* o : *canvases) {
      auto* canvas = dynamic_cast<TCanvas*>(o);
      if (!canvas) continue;
      present.insert(canvas);
      // Drawn, updated or new (JupyROOT's rule; in batch mode neither flag
      // is set by `new TCanvas` or `h->Draw()`), or modified into something
      // that looks different from what was shown: a pad is marked modified
      // by drawing on it (`h->Draw()` after `h->Fill`), but also by
      // TGraph::SetPoint on any graph while it is the current pad, which
      // alone changes nothing it shows.
      const auto shown = shown_canvases().find(canvas);
      const bool flagged = canvas->IsDrawn() || canvas->IsUpdated() || shown == shown_canvases().end();
      if (!flagged && !modified(canvas)) continue;
      const TString json = painted_json(canvas);
      if (!flagged && hash_of(json) == shown->second) {
        canvas->ResetUpdated();  // (painted_json's Update)
        continue;
      }
      out.displays.push_back(show_canvas(canvas, json, canvas_text(canvas)));
      displayed.push_back(canvas);
    }
  }
  // Deleted canvases: their addresses may come back for new ones.
  for (auto it = shown_canvases().begin(); it != shown_canvases().end();)
    it = present.count(it->first) ? std::next(it) : shown_canvases().erase(it);
  if (value && out.value.is_null()) {
    const bool on_a_displayed_canvas =
        std::any_of(displayed.begin(), displayed.end(), [&](TCanvas* c) { return drawn_on(c, value); });
    out.value =
        on_a_displayed_canvas
            ? nlohmann::json{{"data", {{"text/plain", value_text.empty() ? describe(value) : value_text}}},
                             {"metadata", nlohmann::json::object()}}
            : root_object_bundle(value, value_text);
  }
  return out;
}

TObject* value_as_root_object(const std::string& type, void* address) {
  if (!address) return nullptr;
  const std::string name = strip(type);
  // `1+1`, `x` of a double: no class to look up (TClass::GetClass of a
  // fundamental type finds none, after a search of ROOT's type tables).
  if (is_fundamental(name)) return nullptr;
  static const std::string result_ptr = "ROOT::RDF::RResultPtr<";
  if (name.rfind(result_ptr, 0) == 0 && name.back() == '>') {
    // An RDataFrame result: its object (this runs the event loop, as
    // drawing it would).
    const std::string inner = name.substr(result_ptr.size(), name.size() - result_ptr.size() - 1);
    TClass* cl = TClass::GetClass(inner.c_str());
    if (!cl || !cl->InheritsFrom(TObject::Class())) return nullptr;
    char call[512];
    std::snprintf(call, sizeof call, "(long)((%s*)%p)->GetPtr()", name.c_str(), address);
    void* object = reinterpret_cast<void*>(gInterpreter->Calc(call));
    return object ? static_cast<TObject*>(cl->DynamicCast(TObject::Class(), object)) : nullptr;
  }
  TClass* cl = TClass::GetClass(name.c_str());
  if (!cl || !cl->InheritsFrom(TObject::Class())) return nullptr;
  return static_cast<TObject*>(cl->DynamicCast(TObject::Class(), address));
}

}  // namespace host
