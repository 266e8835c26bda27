// A StreamDataset from cling over a file whose baskets do not inflate (trial
// 2, finding 2: under root.exe the reader thread crashed in
// TTreeReaderArray::GetSize; in the kernel next_batch waited forever): the
// error names the branch, the entry and the file, the macro goes on; and a
// split's parts hold every entry once.
//   scripts/troot -b -q 'cling-plugin/tests/macros/stream_faults.C("dir")'
R__LOAD_LIBRARY(libtorchclad_root.so)
#include "torchclad/stream.h"

#include <TBranch.h>
#include <TFile.h>
#include <TTree.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <vector>

std::vector<long long> stream_entries(torchclad::StreamDataset& s) {
  s.begin_epoch(1);
  std::vector<float> x, y;
  std::vector<long long> entries, all;
  while (s.next_batch(64, x, y, nullptr, &entries) > 0) all.insert(all.end(), entries.begin(), entries.end());
  return all;
}

void stream_faults(const char* dir = ".") {
  const std::string good = std::string(dir) + "/stream_faults.root",
                    bad = std::string(dir) + "/stream_faults_bad.root";
  long long seek = 0, first = 0;
  int bytes = 0;
  {
    TFile f(good.c_str(), "RECREATE", "", 101);  // zlib: a flipped byte fails its checksum
    TTree t("t", "t");
    t.SetAutoFlush(100);
    float x, var[3] = {0.5f, 0.5f, 0.5f};
    int n, label;
    t.Branch("x", &x, "x/F");
    t.Branch("n", &n, "n/I");
    t.Branch("var", var, "var[n]/F");
    t.Branch("label", &label, "label/I");
    for (int e = 0; e < 1000; ++e) {
      x = e % 10, n = e % 4 == 3 ? 3 : e % 4, label = e % 2;
      t.Fill();
    }
    t.Write();
    TBranch* b = t.GetBranch("n");  // its basket 5: the sizes of var in entries 500..599
    seek = b->GetBasketSeek(5), bytes = b->GetBasketBytes()[5], first = b->GetBasketEntry()[5];
  }
  std::filesystem::copy_file(good, bad, std::filesystem::copy_options::overwrite_existing);
  {
    std::fstream io(bad, std::ios::in | std::ios::out | std::ios::binary);
    for (long long off = seek + bytes - 8; off < seek + bytes; ++off) {
      char c = 0;
      io.seekg(off);
      io.get(c);
      io.seekp(off);
      io.put(static_cast<char>(~c));
    }
  }
  torchclad::StreamOptions o;
  o.chunk_entries = 64;
  o.shuffle_buffer = 200;
  torchclad::StreamDataset s({bad}, "t", {"x", "var[:2]"}, "label", "", o);
  std::string error = "no error";
  try {
    stream_entries(s);
  } catch (const std::runtime_error& e) {
    error = e.what();
  }
  torchclad::StreamDataset whole({good}, "t", {"x", "var[:2]"}, "label", "", o);
  auto parts = whole.split(0.3, 1);
  auto train = stream_entries(parts.first), test = stream_entries(parts.second);
  std::vector<long long> all = train;
  all.insert(all.end(), test.begin(), test.end());
  std::sort(all.begin(), all.end());
  bool once = all.size() == 1000;
  for (long long e = 0; once && e < 1000; ++e) once = all[e] == e;
  std::printf("corrupt basket of entry %lld: %s; split: %lld + %lld entries, each once %s\n", first,
              error.c_str(), parts.first.size(), parts.second.size(), once ? "yes" : "no");
}
