// torchclad datasets from RDataFrame. Separate from torchclad.h because
// instantiating RDataFrame's types costs cling about 0.4 s; cells that only
// read IDX files or TTrees by name skip it.
#ifndef TORCHCLAD_RDATAFRAME_H
#define TORCHCLAD_RDATAFRAME_H
#include <ROOT/RDataFrame.hxx>

#include "torchclad/torchclad.h"

namespace torchclad {

// Any RDataFrame node (after Filter, Define, Range...), in entry order; the
// columns as for Dataset::from_tree.
Dataset dataset_from_rdataframe(ROOT::RDF::RNode df, const std::string& image_column = "image",
                                const std::string& label_column = "label");

}  // namespace torchclad

#endif
