"""A cell that uses torchclad's API without its header (a new or restarted
kernel) is told which header to include, through the real host."""


def evalue_of(host, code):
    reply, _ = host.execute(code)
    assert reply["status"] == "error" and reply["ename"] == "CompileError", reply
    return reply["evalue"]


def test_the_header_to_include_is_named(fresh_host):
    host = fresh_host()
    # Trial 2's case: cling's "'torchclad' is not a class, namespace, or
    # enumeration" and "note: 'torchclad' declared here", nothing else.
    assert evalue_of(host, 'auto m = torchclad::model("mlp");') == (
        "'torchclad' is not a class, namespace, or enumeration (#include \"torchclad/model.h\" first: it "
        "declares torchclad::model, and a new or restarted kernel starts without torchclad's headers)")
    assert '#include "torchclad/torchclad.h" first: it declares torchclad::show' in evalue_of(
        host, 'torchclad::show("plot.png")')  # a last expression (Evaluate) too
    # A class forward-declared in torchclad.h is defined in model.h.
    assert '#include "torchclad/model.h" first: it declares torchclad::Model,' in evalue_of(
        host, "torchclad::Model* no_model = nullptr;")
    assert "for model definitions, compiled with Clad in %%clad cells" in evalue_of(
        host, "torchclad::nn::Linear* no_layer;")
    assert evalue_of(host, "torchclad::no_such_api(1);").endswith(
        '(#include "torchclad/torchclad.h" first, or the header of torchclad/ that declares what the cell uses: '
        "a new or restarted kernel starts without torchclad's headers)")
    # With torchclad.h included, a name from another header.
    host.ok('#include "torchclad/torchclad.h"')
    assert evalue_of(host, "torchclad::StreamDataset* no_stream;") == (
        "no type named 'StreamDataset' in namespace 'torchclad' (#include \"torchclad/stream.h\" first: it "
        "declares torchclad::StreamDataset)")
    # No hint for a name no header declares, nor for other namespaces.
    assert evalue_of(host, "torchclad::no_such_api(1);") == "no member named 'no_such_api' in namespace 'torchclad'"
    assert evalue_of(host, "int torchclad_like = 1;\ntorchclad_like::x;") == (
        "'torchclad_like' is not a class, namespace, or enumeration")
    host.ok('#include "torchclad/stream.h"\ntorchclad::StreamDataset* hinted_stream = nullptr;')
