// torchclad datasets from RDataFrame. Separate from torchclad.h because
// instantiating RDataFrame's types costs cling about 0.4 s; cells that only
// read IDX files or TTrees by name skip it.
#ifndef TORCHCLAD_RDATAFRAME_H
#define TORCHCLAD_RDATAFRAME_H
#include <ROOT/RDataFrame.hxx>

#include "torchclad/cnn.h"
#include "torchclad/torchclad.h"

namespace torchclad {

// Any RDataFrame node (after Filter, Define, Range...), in entry order; the
// columns as for Dataset::from_tree.
Dataset dataset_from_rdataframe(ROOT::RDF::RNode df, const std::string& image_column = "image",
                                const std::string& label_column = "label");

// Binary windows (torchclad/cnn.h) from any RDataFrame node, in entry order;
// snr_column may be empty.
BinaryDataset binary_dataset_from_rdataframe(ROOT::RDF::RNode df,
                                             const std::string& features_column = "strain",
                                             const std::string& label_column = "label",
                                             const std::string& snr_column = "snr");

}  // namespace torchclad

#endif
