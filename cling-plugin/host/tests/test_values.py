"""A cell's value (execute_result), ROOT graphics (canvases, ROOT objects as
values) and inspect, through the real host."""

import base64
import json

from host_client import stderr_of, stdout_of

ROOT_MIME = "application/vnd.torchclad.root+json"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def results(events):
    return [e for e in events if e.get("type") == "execute_result"]


def displays(events):
    return [e for e in events if e.get("type") == "display"]


def value_text(host, code):
    reply, events = host.execute(code)
    assert reply["status"] == "ok", (reply, events)
    found = results(events)
    assert len(found) == 1, events
    return found[0]["data"]["text/plain"], events


def test_values_as_cling_prints_them(host):
    assert value_text(host, "1 + 1")[0] == "(int) 2"
    assert value_text(host, "double half = 0.5;\nhalf * 3")[0] == "(double) 1.5000000"
    assert value_text(host, 'std::string("abc")')[0] == '(std::string) "abc"'
    text, events = value_text(host, "#include <vector>\nstd::vector<int> v{1, 2, 3};\nv // a comment")
    assert text == "(std::vector<int> &) { 1, 2, 3 }"
    assert stdout_of(events) == ""


def test_a_value_ending_with_a_braced_initialiser(host):
    host.ok("struct BracedValue { int a; };\n"
            "bool operator==(const BracedValue& l, const BracedValue& r) { return l.a == r.a; }")
    assert value_text(host, "BracedValue{1} == BracedValue{1}")[0] == "(bool) true"
    assert value_text(host, "std::vector<int>{4, 5}")[0] == "(std::vector<int>) { 4, 5 }"
    # Only the cell's last '}': a braced value, then another statement and a value.
    assert value_text(host, "BracedValue{1};\nBracedValue{2}\n1 + 2")[0] == "(int) 3"
    assert value_text(host, "namespace braced_n1 {\nint a = 4;\n}\nbraced_n1::a")[0] == "(int) 4"
    assert value_text(host, "auto braced_tf() -> std::vector<int> {\n  return {1, 2};\n}\nbraced_tf().size()")[0] \
        == "(unsigned long) 2"
    # Blocks after a keyword or a function head still end their statement.
    for code in ["if (true) { int q = 2; (void)q; }", "int braced_f() noexcept { return 1; }",
                 "namespace braced_ns { int k = 1; }", "do { } while (false);"]:
        reply, events = host.execute(code)
        assert reply["status"] == "ok", (code, reply)
        assert results(events) == [], code


def test_output_of_the_expression_comes_before_its_value(host):
    host.ok('int noisy() { printf("side effect\\n"); return 7; }')
    text, events = value_text(host, "noisy()")
    assert text == "(int) 7"
    assert stdout_of(events) == "side effect\n"
    assert events.index(results(events)[0]) > max(i for i, e in enumerate(events) if e["type"] == "stream")


def test_a_cell_ending_with_a_semicolon_shows_nothing(host):
    reply, events = host.execute("int seven = 7;\nseven;")
    assert reply["status"] == "ok"
    assert results(events) == [] and stdout_of(events) == ""


def test_statements_and_void_expressions_show_nothing(host):
    for code in ["for (int i = 0; i < 2; ++i) {}", "void nothing() {}\nnothing()",
                 "if (true) { int q = 1; (void)q; }"]:
        reply, events = host.execute(code)
        assert reply["status"] == "ok", (code, reply)
        assert results(events) == [], code


def test_printf_without_semicolon_shows_its_int_as_cling_does(host):
    text, events = value_text(host, 'printf("x\\n")')
    assert text == "(int) 2" and stdout_of(events) == "x\n"


def test_a_declaration_without_semicolon_still_declares(host):
    # Not split off (it would become local): cling runs it whole, as before.
    reply, events = host.execute("int declared_here = 3")
    assert reply["status"] == "ok"
    assert value_text(host, "declared_here")[0] == "(int) 3"


def test_a_macro_call_at_the_end_runs_whole(host):
    # R__LOAD_LIBRARY expands to a pragma, which only works at the top level.
    reply, events = host.execute("int before_macro = 1;\nR__LOAD_LIBRARY(libGraf)")
    assert reply["status"] == "ok", (reply, events)
    assert results(events) == []


def test_variables_of_the_cell_are_visible_to_its_last_expression(host):
    assert value_text(host, "int a1 = 2;\nint b1 = 5;\na1 * b1")[0] == "(int) 10"
    assert value_text(host, "auto twice_of = [](int x) { return 2 * x; };\ntwice_of(21)")[0] == "(int) 42"
    assert value_text(host, "[] { return 3; }()")[0] == "(int) 3"


def test_an_error_in_the_last_expression_is_a_compile_error(host):
    reply, events = host.execute("int ok_before = 1;\nno_such_name_here + 1")
    assert reply["status"] == "error" and reply["ename"] == "CompileError"
    assert "no_such_name_here" in reply["evalue"]
    assert results(events) == []
    assert value_text(host, "ok_before")[0] == "(int) 1"  # the statements before it ran


def test_an_exception_in_the_last_expression(host):
    host.ok('#include <stdexcept>\nint thrower() { throw std::runtime_error("nope"); }')
    reply, events = host.execute("thrower()")
    assert reply["status"] == "error" and reply["ename"] == "std::runtime_error" and reply["evalue"] == "nope"


def check_root_bundle(data, typename):
    assert data[ROOT_MIME]["_typename"] == typename
    assert base64.b64decode(data["image/png"]).startswith(PNG_MAGIC)
    assert data["text/plain"]


def test_a_canvas_drawn_in_a_cell_appears_below_it(host):
    reply, events = host.execute(
        'TH1F hist_a("hist_a", "a gaussian", 40, -4, 4);\nhist_a.FillRandom("gaus", 1000);\n'
        'auto canvas_a = new TCanvas("canvas_a", "drawn", 640, 480);\nhist_a.Draw();')
    assert reply["status"] == "ok", (reply, events)
    shown = displays(events)
    assert len(shown) == 1, events
    data = shown[0]["data"]
    check_root_bundle(data, "TCanvas")
    assert shown[0]["metadata"][ROOT_MIME] == {"width": 640, "height": 480}
    primitives = [p["_typename"] for p in data[ROOT_MIME]["fPrimitives"]["arr"]]
    assert "TH1F" in primitives and "TStyle" in primitives
    assert results(events) == []
    # Not shown again by a cell that does not draw ...
    _, events = host.execute("int unrelated = 1;")
    assert displays(events) == []
    # ... but again after it is changed.
    _, events = host.execute("canvas_a->SetLogy(); canvas_a->Modified(); canvas_a->Update();")
    assert len(displays(events)) == 1


def test_the_default_canvas_of_draw(host):
    reply, events = host.execute('auto g = new TGraph(3);\ng->SetPoint(0, 0, 1); g->SetPoint(1, 1, 3); g->SetPoint(2, 2, 2);\ng->Draw("AL");')
    assert reply["status"] == "ok", (reply, events)
    shown = displays(events)
    assert len(shown) == 1
    check_root_bundle(shown[0]["data"], "TCanvas")


def test_a_root_object_as_the_value_is_drawn(host):
    text, events = value_text(host, 'auto value_h = new TH1D("value_h", "value", 10, 0, 1);\nvalue_h->Fill(0.3);\nvalue_h')
    data = results(events)[0]["data"]
    check_root_bundle(data, "TH1D")
    assert text.startswith("(TH1D *) 0x")
    assert displays(events) == []  # the temporary canvas is not shown
    # An object by reference, and a graph.
    _, events = value_text(host, "*value_h")
    check_root_bundle(results(events)[0]["data"], "TH1D")
    _, events = value_text(host, "TGraph graph_v(2); graph_v.SetPoint(0, 1, 2); graph_v.SetPoint(1, 2, 1);\ngraph_v")
    check_root_bundle(results(events)[0]["data"], "TGraph")


def test_a_value_drawn_for_its_picture_leaves_other_canvases_unshown(host):
    # The trial's case: a 2D histogram drawn on the default canvas in one
    # cell, a graph as the next cell's value: only the graph is shown.
    reply, events = host.execute('TH2F hist_2d("hist_2d", "2d", 10, 0, 1, 10, 0, 1);\n'
                                 'hist_2d.Fill(0.5, 0.5);\nhist_2d.Draw("colz");')
    assert reply["status"] == "ok", (reply, events)
    assert len(displays(events)) == 1
    _, events = value_text(host, "TGraph graph_after(2); graph_after.SetPoint(0, 1, 2); "
                                 "graph_after.SetPoint(1, 2, 1);\ngraph_after")
    check_root_bundle(results(events)[0]["data"], "TGraph")
    assert displays(events) == [], [d["data"]["text/plain"] for d in displays(events)]
    _, events = value_text(host, "hist_2d")
    assert displays(events) == []
    # A canvas the cell did change is still shown beside the value.
    _, events = value_text(host, "hist_2d.Fill(0.2, 0.2); gPad->Modified();\ngraph_after")
    assert len(displays(events)) == 1


def test_a_value_drawn_on_a_canvas_the_cell_shows_is_not_drawn_again(host):
    # The trial's `h.Draw("E"); h`: the histogram once, on its canvas with
    # "E"; the value is cling's text, as JupyROOT prints it.
    text, events = value_text(host, 'TH1F hist_e("hist_e", "errors", 20, -3, 3);\n'
                                    'hist_e.FillRandom("gaus", 200);\nhist_e.Draw("E");\nhist_e')
    shown = displays(events)
    assert len(shown) == 1, events
    canvas = shown[0]["data"][ROOT_MIME]
    primitives = canvas["fPrimitives"]
    at = [p.get("fName") for p in primitives["arr"]].index("hist_e")
    assert primitives["opt"][at] == "E"
    data = results(events)[0]["data"]
    assert set(data) == {"text/plain"}, list(data)
    assert text.startswith("(TH1F &)") and "hist_e" in text, text
    # Through a pointer, on a sub-pad, and an RDataFrame result drawn first.
    _, events = value_text(host, 'auto split_c = new TCanvas("split_c", "two", 600, 300); split_c->Divide(2);\n'
                                 'split_c->cd(2); auto on_pad = new TH1D("on_pad", "", 5, 0, 1); on_pad->Draw();\n'
                                 "on_pad")
    assert len(displays(events)) == 1 and set(results(events)[0]["data"]) == {"text/plain"}
    _, events = value_text(host, 'ROOT::RDataFrame drawn_frame(10);\nauto drawn_rdf = drawn_frame.Define("x", '
                                 '"(double)rdfentry_").Histo1D({"drawn_rdf", "", 10, 0, 10}, "x");\n'
                                 'new TCanvas("rdf_c", "", 400, 300); drawn_rdf->Draw("hist");\ndrawn_rdf')
    assert len(displays(events)) == 1 and set(results(events)[0]["data"]) == {"text/plain"}
    # Drawn in an earlier cell (its canvas not shown again): the value is drawn.
    _, events = value_text(host, "hist_e")
    assert displays(events) == []
    check_root_bundle(results(events)[0]["data"], "TH1F")
    # Drawing it for the value (after the canvases were looked at) does not
    # make its canvas show again in the next cell.
    reply, events = host.execute("int after_hist_e = 0;")
    assert reply["status"] == "ok" and displays(events) == []


MEMBERS_OF_DRAWN_PRIMITIVES = [
    # a histogram of a drawn THStack
    ('auto stack_c = new TCanvas("stack_c", "", 400, 300);\n'
     'auto in_stack = new TH1F("in_stack", "", 10, 0, 1); in_stack->Fill(0.5);\n'
     'auto stack = new THStack("stack", ""); stack->Add(in_stack); stack->Draw();\n'
     "in_stack"),
    # a graph of a drawn TMultiGraph
    ('auto multi_c = new TCanvas("multi_c", "", 400, 300);\n'
     "auto in_multi = new TGraph(2); in_multi->SetPoint(0, 0, 1); in_multi->SetPoint(1, 1, 2);\n"
     'auto multi = new TMultiGraph(); multi->Add(in_multi); multi->Draw("AL");\n'
     "in_multi"),
    # the fit function of a drawn histogram
    ('auto fit_c = new TCanvas("fit_c", "", 400, 300);\n'
     'auto fitted = new TH1F("fitted", "", 20, -3, 3); fitted->FillRandom("gaus", 500);\n'
     'fitted->Fit("gaus", "Q"); fitted->Draw();\n'
     'fitted->GetFunction("gaus")'),
]


def test_a_member_of_a_drawn_stack_or_multigraph_is_not_drawn_again(host):
    # Drawn on the canvas the cell shows, so the value is cling's text.
    for cell in MEMBERS_OF_DRAWN_PRIMITIVES:
        _, events = value_text(host, cell)
        assert len(displays(events)) == 1 and set(results(events)[0]["data"]) == {"text/plain"}, (cell, events)
    # Not drawn on a canvas: the stack's histogram alone is drawn as the value.
    _, events = value_text(host, 'auto alone = new TH1F("alone", "", 10, 0, 1); alone->Fill(0.5);\n'
                                 'auto other_stack = new THStack("other_stack", ""); other_stack->Add(alone);\n'
                                 "alone")
    check_root_bundle(results(events)[0]["data"], "TH1F")


def test_a_canvas_as_the_value_is_shown_once(host):
    _, events = value_text(host, 'auto canvas_v = new TCanvas("canvas_v", "value", 500, 300);\nvalue_h->Draw();\ncanvas_v')
    check_root_bundle(results(events)[0]["data"], "TCanvas")
    assert displays(events) == []


def test_an_rdataframe_histogram_as_the_value(host):
    _, events = value_text(host, 'ROOT::RDataFrame frame(100);\n'
                                 'auto rdf_h = frame.Define("x", "(double)rdfentry_").Histo1D({"rdf_h", "x", 10, 0, 100}, "x");\n'
                                 "rdf_h")
    data = results(events)[0]["data"]
    check_root_bundle(data, "TH1D")
    assert data[ROOT_MIME]["fEntries"] == 100


def inspect(host, code, cursor=None):
    rid = host.new_id()
    host.send({"type": "inspect", "id": rid, "code": code, "cursor_pos": len(code) if cursor is None else cursor})
    seen = host.wait_for(lambda e: e.get("type") == "inspect_reply" and e.get("id") == rid, 30)
    return seen[-1]


def test_inspect_a_root_class(host):
    reply = inspect(host, "TH1F")
    assert reply["found"] is True
    text = reply["data"]["text/plain"]
    assert "class TH1F : public TH1, public TArrayF" in text
    assert "https://root.cern/doc/master/classTH1F.html" in text
    assert "](https://root.cern/doc/master/classTH1F.html)" in reply["data"]["text/markdown"]
    assert "classROOT_1_1RDataFrame.html" in inspect(host, "ROOT::RDataFrame")["data"]["text/plain"]


def test_inspect_a_member_through_a_variable(host):
    host.ok('TH1F* inspected_h = new TH1F("inspected_h", "", 10, 0, 1);')
    text = inspect(host, "inspected_h->Fill(", len("inspected_h->Fi"))["data"]["text/plain"]
    assert "Fill(Double_t x)" in text
    text = inspect(host, "inspected_h->Draw")["data"]["text/plain"]
    assert "Draw(Option_t* option" in text.replace(" *", "*")


def test_inspect_torchclad_api_and_functions(host):
    host.ok('#include "torchclad/torchclad.h"')
    reply = inspect(host, "torchclad::show")
    assert reply["found"] is True, reply
    text = reply["data"]["text/plain"]
    assert "bool torchclad::show(const string& image_file)" in text
    assert "Shows an image file" in text  # the comment above it in torchclad.h
    host.ok("/// doubles x\nint doubler(int x) { return 2 * x; }")
    assert "int doubler(int x)" in inspect(host, "doubler(3)", 3)["data"]["text/plain"]
    assert "TH1F" in inspect(host, "inspected_h")["data"]["text/plain"]
    # Classes: the comment above them in torchclad's headers.
    text = inspect(host, "torchclad::Mlp")["data"]["text/plain"]
    assert text.startswith("class torchclad::Mlp\nA multilayer perceptron classifier: Linear layers"), text
    assert "Public members:" in text and "fit(" in text
    text = inspect(host, "torchclad::Dataset")["data"]["text/plain"]
    assert "Labelled samples in memory" in text, text
    # TrainOptions has no comment of its own: its fields, with theirs.
    text = inspect(host, "torchclad::TrainOptions opts", len("torchclad::TrainOptions"))["data"]["text/plain"]
    assert text.startswith("struct torchclad::TrainOptions\n"), text
    assert "int epochs;" in text and "adam or sgd" in text
    host.ok('#include "torchclad/model.h"')
    text = inspect(host, "torchclad::Model")["data"]["text/plain"]
    assert "models you define" in text, text  # model.h's own comment: class Model has none above it


def test_inspect_a_declaration_in_the_cell_being_edited(host):
    # Shift+Tab on a name the same cell declares: its comment comes from the
    # request's code.
    code = "/// doubles y\nint doubler_here(int y) { return 2 * y; }\nint twice_y = doubler_here(3);"
    host.ok(code)
    text = inspect(host, code, code.index("doubler_here(3)") + 3)["data"]["text/plain"]
    assert text == "int doubler_here(int y)\ndoubles y\n", text
    code = "/** A point\n *  in one dimension */\nstruct InspectedHere { double x; };\nInspectedHere here{1.5};"
    host.ok(code)
    text = inspect(host, code, code.index("InspectedHere here") + 3)["data"]["text/plain"]
    assert text.startswith("struct InspectedHere\nA point\nin one dimension\nPublic members:\n"), text
    assert "double x;" in text
    # A function in a cell's namespace, a method of a cell's class.
    code = ("namespace inspected_ns {\n/// adds one\nint inc(int x) { return x + 1; }\n}\n"
            "struct InspectedNorm {\n  /// the norm\n  double norm() const { return 1; }\n};\n"
            "InspectedNorm p2; int w = inspected_ns::inc(1); double n2 = p2.norm();")
    host.ok(code)
    text = inspect(host, code, code.index("inspected_ns::inc(1)") + 15)["data"]["text/plain"]
    assert text == "int inspected_ns::inc(int x)\nadds one\n", text
    text = inspect(host, code, code.index("p2.norm()") + 4)["data"]["text/plain"]
    assert text == "double InspectedNorm::norm() const\nthe norm\n", text


def test_inspect_comments_of_declarations_in_earlier_cells(host):
    # The case: `/// doubles x` above a function a cell declared, seen
    # from a later cell. Needs the host to give each cell it runs to
    # host::remember_cell_source (inspect.hpp): cling keeps the comment in
    # its AST, which libCling gives no access to.
    host.ok("/// doubles x, once more\nint doubler_before(int x) { return 2 * x; }")
    host.ok("/// A point, from before\nstruct InspectedBefore { double x; };")
    host.ok("/// boxes a value\ntemplate <typename T>\nstruct BoxBefore { T value; };")
    assert "doubles x, once more" in inspect(host, "doubler_before(3)", 3)["data"]["text/plain"]
    assert "A point, from before" in inspect(host, "InspectedBefore")["data"]["text/plain"]
    text = inspect(host, "BoxBefore")["data"]["text/plain"]
    assert text.startswith("template <typename T> struct BoxBefore\nboxes a value\n"), text
    # Later cells that only call it (after *, & or >, in a condition) with a
    # comment above the call do not replace its comment.
    host.ok("int twice_calls = 0;\n// only a call\ntwice_calls = 2 * doubler_before(3);\n"
            "// another call\nif (twice_calls > doubler_before(1)) twice_calls = 1;\n"
            "// and a third\nprintf(\"%d\\n\", twice_calls & doubler_before(2));")
    text = inspect(host, "doubler_before(3)", 3)["data"]["text/plain"]
    assert text == "int doubler_before(int x)\ndoubles x, once more\n", text


def test_inspect_a_cells_pow_lends_no_comment_to_libms(host):
    # `/// my pow` above the pow of a cell's namespace is mine::pow's comment,
    # not that of libm's pow overloads.
    host.ok("#include <cmath>\nnamespace mine {\n/// my pow\n"
            "double pow(double x, int n) { double r = 1; for (int i = 0; i < n; ++i) r *= x; return r; }\n}")
    reply = inspect(host, "pow(2.0, 3)", 3)
    assert reply["found"] is True, reply
    text = reply["data"]["text/plain"]
    assert "pow(double" in text and "my pow" not in text, text
    text = inspect(host, "mine::pow(2.0, 3)", len("mine::po"))["data"]["text/plain"]
    assert text == "double mine::pow(double x, int n)\nmy pow\n", text


def test_inspect_each_overload_with_its_own_comment(host):
    # Overloads a cell declared, documented in different cells: each
    # declaration with its comment, not the newest cell's for all.
    host.ok("/// one int\nint twice_over(int x) { return 2 * x; }")
    host.ok("/// a double\ndouble twice_over(double x) { return 2 * x; }")
    host.ok("/// a sum, twice\nlong twice_over(long a,\n                long b) { return 2 * (a + b); }")
    host.ok("/// two strings\nint twice_over(const std::string& s,\n  std::vector<int> v) { return 1; }")
    text = inspect(host, "twice_over(1)", 3)["data"]["text/plain"]
    assert "int twice_over(int x)\none int\n" in text, text
    assert "double twice_over(double x)\na double\n" in text, text
    assert "long twice_over(long a, long b)\na sum, twice\n" in text, text
    assert "int twice_over(const string& s, vector<int> v)\ntwo strings\n" in text, text


def test_inspect_of_printf_shows_no_cell_comment(host):
    # A cell's method named printf (another signature) and a comment above a
    # call of printf: neither is libc's printf's comment.
    host.ok("struct InspectedLogger {\n  /// prints to the log\n  int printf(const char* text) { return 0; }\n};\n"
            '// says three\nint printed_three = printf("%d\\n", 3);')
    text = inspect(host, 'printf("%d", 1)', 3)["data"]["text/plain"]
    assert "printf(const char*" in text.replace(" *", "*"), text
    assert "prints to the log" not in text and "says three" not in text, text
    text = inspect(host, "InspectedLogger::printf")["data"]["text/plain"]
    assert text == "int InspectedLogger::printf(const char* text)\nprints to the log\n", text


def test_inspect_comment_of_a_long_long_overload(host):
    # ROOT writes Long64_t/ULong64_t for the cell's long long/unsigned long long.
    host.ok("/// a long long\nint by_width(long long n) { return 1; }")
    host.ok("/// an unsigned long long\nint by_width(unsigned long long n) { return 2; }")
    host.ok("/// an int\nint by_width(int n) { return 3; }")
    text = inspect(host, "by_width(1)", 3)["data"]["text/plain"]
    assert "\na long long\n" in text and "\nan unsigned long long\n" in text, text
    assert "\nan int\n" in text, text


def test_inspect_comment_of_array_and_callback_overloads(host):
    # ROOT writes int[3] for `int a[3]` and int(*)(int) for `int (*cb)(int)`.
    host.ok("/// an array\nint by_shape(int a[3]) { return a[0]; }")
    host.ok("/// a callback\nint by_shape(int (*cb)(int)) { return cb(1); }")
    text = inspect(host, "by_shape(nullptr)", 3)["data"]["text/plain"]
    assert "\nan array\n" in text and "\na callback\n" in text, text


def test_inspect_comment_of_an_east_const_parameter(host):
    host.ok("struct EastPoint { int x; };")
    host.ok("/// by east const reference\nint east_x(EastPoint const& p) { return p.x; }")
    text = inspect(host, "east_x", 3)["data"]["text/plain"]
    assert text.endswith("\nby east const reference\n") and text.count("\n") == 2, text


def test_inspect_literals_in_defaults_do_not_swallow_the_next_overload(host):
    # The '<' and "," of default values open no bracket and end no parameter,
    # so the declarations after them are still found (here in the request's
    # code, which is read before the cells).
    host.ok("int quoted(char c = '<', int x = 0) { return x; }")
    host.ok("int quoted(const char* sep = \",\", double y = 1) { return 1; }")
    host.ok("int quoted(int y) { return y; }")
    code = ("/// with a char\nint quoted(char c = '<', int x = 0);\n"
            "/// with a separator\nint quoted(const char* sep = \",\", double y = 1);\n"
            "/// one int\nint quoted(int y);\nquoted(1)")
    text = inspect(host, code, len(code) - 3)["data"]["text/plain"]
    assert "\nwith a char\n" in text and "\nwith a separator\n" in text, text
    assert "\none int\n" in text, text


def test_inspect_overloads_in_two_scopes_keep_their_comments(host):
    host.ok("namespace sa { struct T {}; }\nnamespace sb { struct T {}; }\n"
            "/// from sa\nint scoped(sa::T x) { return 1; }\n/// from sb\nint scoped(sb::T x) { return 2; }")
    text = inspect(host, "scoped(sa::T())", 3)["data"]["text/plain"]
    assert "int scoped(sa::T x)\nfrom sa\n" in text, text
    assert "int scoped(sb::T x)\nfrom sb\n" in text, text


def test_inspect_single_cell_function_keeps_its_comment(host):
    # A spelling the comparison cannot see through (a macro): the only
    # commented declaration of the only cell function still documents it.
    host.ok("#define INSPECT_NUM double\n/// halves x\nINSPECT_NUM halved(INSPECT_NUM x) { return x / 2; }")
    text = inspect(host, "halved(1.0)", 3)["data"]["text/plain"]
    assert text == "double halved(double x)\nhalves x\n", text


def test_inspect_templates(host):
    host.ok("#include <vector>\n#include <algorithm>")
    reply = inspect(host, "std::vector")
    assert reply["found"] is True, reply
    text = reply["data"]["text/plain"]
    assert text.startswith("template <...> class std::vector\n"), text
    assert "https://en.cppreference.com/mwiki/index.php?search=std%3A%3Avector" in text
    text = inspect(host, "std::sort(v.begin(), v.end())", len("std::so"))["data"]["text/plain"]
    assert text.startswith("template <"), text
    assert "> std::sort(...)\nA function template" in text and "search=std%3A%3Asort" in text
    # ROOT's C++ has `using namespace std`: `vector` is std::vector.
    assert inspect(host, "vector")["data"]["text/plain"].startswith("template <...> class std::vector\n")
    # A variable of a standard class: its class, with the reference page.
    host.ok("std::vector<int> inspected_v{1, 2};")
    text = inspect(host, "inspected_v")["data"]["text/plain"]
    assert "class vector<int>" in text and "search=std%3A%3Avector" in text, text
    # ROOT's class templates: their reference page.
    assert "classROOT_1_1VecOps_1_1RVec.html" in inspect(host, "ROOT::VecOps::RVec")["data"]["text/plain"]
    # A template the cell being edited declares: its declaration and comment.
    code = "/// boxes a value\ntemplate <typename T>\nstruct InspectedBox { T value; };\nInspectedBox<int> b;"
    host.ok(code)
    text = inspect(host, code, code.index("InspectedBox<int>") + 3)["data"]["text/plain"]
    assert text.startswith("template <typename T> struct InspectedBox\nboxes a value\n"), text
    code = "/// twice x\ntemplate <typename T> T twice_t(T x) { return 2 * x; }\nauto t = twice_t(2.5);"
    host.ok(code)
    text = inspect(host, code, code.index("twice_t(2.5)") + 3)["data"]["text/plain"]
    assert text.startswith("template <typename T> T twice_t(T x)\ntwice x\n"), text


def test_inspect_nothing(host):
    assert inspect(host, "  ")["found"] is False
    assert inspect(host, "no_such_symbol_at_all")["found"] is False


def test_clings_std_shadowing_warning_is_a_plain_note_not_a_red_box(host):
    # `int data` shadows std::data (ROOT's cling has `using namespace std`):
    # not noise (a later `data` is ambiguous), so kept as a note on stdout.
    reply, events = host.execute("int data = 5;")
    assert reply["status"] == "ok"
    assert "shadows" not in stderr_of(events)
    assert stdout_of(events) == ("note: 'data' is also std::data (ROOT's C++ has `using namespace std`): "
                                 "in later cells write ::data\n")
    assert value_text(host, "::data + 1")[0] == "(int) 6"
    # Real warnings stay on stderr.
    reply, events = host.execute("char overflowing = 1000;")
    assert "warning: implicit conversion from 'int' to 'char' changes value from 1000" in stderr_of(events)
