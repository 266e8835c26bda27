#include "writer.hpp"

#include <TFile.h>
#include <TGraph.h>
#include <TNamed.h>
#include <TTree.h>

#include <chrono>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <stdexcept>

#include "psd.hpp"
#include "windows.hpp"
#include "partial_file.hpp"

namespace torchclad::gw {
namespace {

constexpr long long kChunk = 512;  // windows generated in parallel, then written
const int kCompression =
    std::getenv("TORCHCLAD_GW_COMPRESSION") ? std::atoi(std::getenv("TORCHCLAD_GW_COMPRESSION")) : 501;

class Progress {
 public:
  Progress(bool on, long long total) : on_(on), total_(total), start_(clock::now()) {}
  void update(const char* tree, long long done) {
    if (!on_) return;
    const double s = seconds();
    const double eta = done > 0 ? s * (total_ - done) / done : 0;
    std::fprintf(stderr, "\rgwsim: %-5s %lld/%lld windows (%3.0f%%), %.1f s, eta %.0f s   ", tree, done,
                 total_, 100.0 * done / std::max(1LL, total_), s, eta);
    std::fflush(stderr);
  }
  void finish() {
    if (on_) std::fputc('\n', stderr);
  }
  double seconds() const { return std::chrono::duration<double>(clock::now() - start_).count(); }

 private:
  using clock = std::chrono::steady_clock;
  bool on_;
  long long total_;
  clock::time_point start_;
};

void write_tree(TFile& file, const WindowGenerator& gen, int tree, const char* name, long long count,
                Progress& progress, long long& done) {
  file.cd();
  auto* t = new TTree(name, "whitened strain windows (torchclad-gw)");  // owned by the file
  const long long n = gen.samples();
  std::vector<float> strain(n);
  WindowRecord r;
  t->Branch("strain", strain.data(), ("strain[" + std::to_string(n) + "]/F").c_str());
  t->Branch("label", &r.label, "label/I");
  t->Branch("snr", &r.snr, "snr/F");
  t->Branch("mass1", &r.mass1, "mass1/F");
  t->Branch("mass2", &r.mass2, "mass2/F");
  t->Branch("merger_time", &r.merger_time, "merger_time/F");
  t->Branch("phase", &r.phase, "phase/F");
  const auto labels = gen.labels(tree, count);
  const int threads = gen.options().threads;
  for (long long first = 0; first < count; first += kChunk) {
    const long long c = std::min(kChunk, count - first);
    const auto b = gen.generate(tree, labels, first, c, threads, false);
    const float* s = b.strain.data_ptr<float>();
    const int* label = b.label.data_ptr<int>();
    const float *snr = b.snr.data_ptr<float>(), *m1 = b.mass1.data_ptr<float>(),
                *m2 = b.mass2.data_ptr<float>();
    const float *tm = b.merger_time.data_ptr<float>(), *ph = b.phase.data_ptr<float>();
    for (long long i = 0; i < c; ++i) {
      std::memcpy(strain.data(), s + i * n, n * sizeof(float));
      r.label = label[i];
      r.snr = snr[i];
      r.mass1 = m1[i];
      r.mass2 = m2[i];
      r.merger_time = tm[i];
      r.phase = ph[i];
      t->Fill();
    }
    done += c;
    progress.update(name, done);
  }
  t->Write();
}

}  // namespace

long long write_file(const SimulationOptions& o, const std::string& path) {
  const WindowGenerator gen(o);  // validates
  if (path.empty()) throw std::invalid_argument("output path: expected a file name, found ''");
  const std::string partial = torchclad::support::partial_path(path);
  if (FILE* f = std::fopen(partial.c_str(), "wb")) {
    std::fclose(f);
  } else {
    throw std::runtime_error("cannot write " + path + ": " + std::strerror(errno));
  }
  const long long total = o.train + o.test;
  try {
    std::unique_ptr<TFile> file(TFile::Open(partial.c_str(), "RECREATE"));
    if (!file || file->IsZombie())
      throw std::runtime_error("cannot open " + path + " (written as " + partial + ") as a ROOT file");
    // Whitened noise is close to incompressible: ZSTD at its fastest level
    // (ROOT's default level 5 tripled the time for 1-2% smaller files).
    file->SetCompressionSettings(kCompression);
    Progress progress(o.progress, total);
    long long done = 0;
    write_tree(*file, gen, 0, "train", o.train, progress, done);
    write_tree(*file, gen, 1, "test", o.test, progress, done);
    progress.finish();

    file->cd();
    TNamed meta("gw_parameters", parameters_json(o).c_str());
    meta.Write();
    const auto& psd = gen.segment_psd();
    const double df = gen.segment_df();
    TGraph graph;
    graph.SetName("psd");
    graph.SetTitle("aLIGO design PSD (zero detuning, high power);frequency [Hz];S_{n}(f) [1/Hz]");
    for (size_t k = 1; k < psd.size(); ++k)
      if (psd[k] > 0) graph.AddPoint(k * df, psd[k]);
    graph.Write();
    file->Close();
    if (file->TestBit(TFile::kWriteError))
      throw std::runtime_error("write error on " + path + " (written as " + partial + ")");
  } catch (...) {
    std::remove(partial.c_str());
    throw;
  }
  std::error_code ec;
  std::filesystem::rename(partial, path, ec);
  if (ec) {
    std::remove(partial.c_str());
    throw std::runtime_error("cannot write " + path + " (renaming " + partial + " to it): " + ec.message());
  }
  return total;
}

long long simulate(const SimulationOptions& options, const std::string& path) {
  return write_file(options, path);
}

}  // namespace torchclad::gw
