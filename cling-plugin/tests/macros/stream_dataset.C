// A StreamDataset from cling (torchclad/stream.h as root.exe parses it): a
// file written here, two epochs read batch by batch while the reader thread
// runs beside the interpreter, every entry once per epoch, the same order for
// the same seed, then an RDataFrame on the same file, and an error.
//   scripts/troot -b -q 'cling-plugin/tests/macros/stream_dataset.C("dir", false)'
R__LOAD_LIBRARY(libtorchclad_root.so)
#include "torchclad/stream.h"

#include <ROOT/RDataFrame.hxx>
#include <TFile.h>
#include <TROOT.h>
#include <TTree.h>

#include <algorithm>
#include <cstdio>
#include <stdexcept>
#include <vector>

std::vector<long long> epoch_entries(torchclad::StreamDataset& s, int epoch) {
  s.begin_epoch(epoch);
  std::vector<float> x, y;
  std::vector<long long> entries, all;
  while (s.next_batch(64, x, y, nullptr, &entries) > 0) all.insert(all.end(), entries.begin(), entries.end());
  return all;
}

void stream_dataset(const char* dir = ".", bool imt = false) {
  if (imt) ROOT::EnableImplicitMT(2);
  const std::string file = std::string(dir) + "/stream_dataset.root";
  {
    TFile f(file.c_str(), "RECREATE");
    TTree t("events", "events");
    float m_jj;
    int label;
    t.Branch("m_jj", &m_jj, "m_jj/F");
    t.Branch("label", &label, "label/I");
    for (int e = 0; e < 5000; ++e) {
      m_jj = 50 + e % 100, label = e % 2;
      t.Fill();
    }
    t.Write();
  }
  torchclad::StreamOptions o;
  o.chunk_entries = 700;
  o.shuffle_buffer = 1000;
  torchclad::StreamDataset s({file}, "events", {"m_jj"}, "label", "", o);
  auto first = epoch_entries(s, 1), second = epoch_entries(s, 2);
  auto sorted = first;
  std::sort(sorted.begin(), sorted.end());
  bool each_once = sorted.size() == 5000;
  for (long long e = 0; each_once && e < 5000; ++e) each_once = sorted[e] == e;
  torchclad::StreamDataset again({file}, "events", {"m_jj"}, "label", "", o);
  const bool same = epoch_entries(again, 1) == first;
  std::printf("stream: %lld entries, each once %s, same seed same order %s, epochs differ %s, peak rows %s; ",
              s.size(), each_once ? "yes" : "no", same ? "yes" : "no", first != second ? "yes" : "no",
              s.peak_rows_held() <= s.rows_bound() ? "bounded" : "unbounded");
  ROOT::RDataFrame df("events", file);
  std::printf("count %llu; ", *df.Count());
  try {
    torchclad::StreamDataset bad({file}, "events", {"m_bb"}, "label");
  } catch (const std::runtime_error& e) {
    std::printf("error: %s\n", e.what());
  }
}
