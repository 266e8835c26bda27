// The simulator from C++: option errors, determinism by seed (whatever the
// thread count), 50/50 labels, unit-variance whitened noise, the injected
// SNR, and the ROOT file's content and metadata.
#include <TFile.h>
#include <TGraph.h>
#include <TLeaf.h>
#include <TNamed.h>
#include <TTree.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>

#include "psd.hpp"
#include "snr.hpp"
#include "torchclad/gw_simulator.h"
#include "waveform.hpp"
#include "windows.hpp"

namespace gw = torchclad::gw;

namespace {

gw::SimulationOptions small() {
  gw::SimulationOptions o;
  o.train = 64;
  o.test = 16;
  o.progress = false;
  return o;
}

void expect_invalid(const std::function<void(gw::SimulationOptions&)>& change, const std::string& message) {
  auto o = small();
  change(o);
  try {
    gw::validate(o);
    ADD_FAILURE() << "no error; expected: " << message;
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what();
  }
}

std::string test_dir() {
  const char* d = std::getenv("GW_TEST_DIR");
  return d ? d : std::filesystem::temp_directory_path().string();
}

}  // namespace

TEST(GwOptions, DefaultsAreValid) { EXPECT_NO_THROW(gw::validate(gw::SimulationOptions{})); }

TEST(GwOptions, BadParametersNameExpectedAndFound) {
  expect_invalid([](auto& o) { o.mass_min = -1; }, "mass_min: expected a mass in solar masses > 0, found -1");
  expect_invalid([](auto& o) { o.mass_max = 0; }, "mass_max: expected a mass in solar masses > 0, found 0");
  expect_invalid([](auto& o) { o.mass_min = 30, o.mass_max = 10; },
                 "mass_min 30 > mass_max 10: expected mass_min <= mass_max");
  expect_invalid([](auto& o) { o.snr_min = 0; }, "snr_min: expected an SNR > 0, found 0");
  expect_invalid([](auto& o) { o.snr_min = -3; }, "snr_min: expected an SNR > 0, found -3");
  expect_invalid([](auto& o) { o.snr_min = 12, o.snr_max = 8; },
                 "snr_min 12 > snr_max 8: expected snr_min <= snr_max");
  expect_invalid([](auto& o) { o.sample_rate = 1024; },
                 "sample_rate 1024 Hz is too low for the band: expected a Nyquist frequency >= 550 Hz");
  expect_invalid([](auto& o) { o.duration = 0.25; },
                 "duration 0.25 s is shorter than the band needs: expected at least 0.5 s");
  expect_invalid([](auto& o) { o.duration = 0.7001; }, "expected a whole number of samples");
  expect_invalid([](auto& o) { o.train = 0, o.test = 0; },
                 "train + test: expected at least one window, found 0");
  expect_invalid([](auto& o) { o.train = -5; }, "train: expected a window count >= 0, found -5");
  expect_invalid([](auto& o) { o.mass_max = 100; }, "mass_max 100 is too heavy for the band");
  expect_invalid([](auto& o) { o.merger_max = 1.5; }, "expected 0 < merger_min <= merger_max <= 1");
  expect_invalid([](auto& o) { o.band_high = 10; }, "band_high 10 Hz: expected > band_low 20 Hz");
}

TEST(GwOptions, UnwritableOutputIsARuntimeError) {
  auto o = small();
  try {
    gw::simulate(o, "/no-such-dir/gw.root");
    ADD_FAILURE() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot write /no-such-dir/gw.root: "), std::string::npos)
        << e.what();
  }
}

TEST(GwPhysics, PsdAndIsco) {
  // lalsimulation 6.2.1: SimNoisePSDaLIGOZeroDetHighPower(100), (20); ISCO of 10+20.
  EXPECT_NEAR(gw::aligo_psd(100) / 1.5232930939569254e-47, 1.0, 1e-4);
  EXPECT_NEAR(gw::aligo_psd(20) / 4.2864610907273415e-46, 1.0, 1e-4);
  EXPECT_NEAR(gw::isco_frequency(10, 20), 146.57249202122674, 1e-9);
  // The 2PN time to merger of 5+5 from 20 Hz is about 19 s.
  EXPECT_NEAR(gw::time_to_merger({5, 5, 1}, 20), 19.0, 1.0);
}

TEST(GwGenerator, DeterministicBySeedWhateverTheThreads) {
  auto o = small();
  const gw::WindowGenerator gen(o);
  const auto labels = gen.labels(0, 32);
  const auto one = gen.generate(0, labels, 0, 32, 1, false);
  const auto two = gen.generate(0, labels, 0, 32, 2, false);
  EXPECT_TRUE(torch::equal(one.strain, two.strain));
  EXPECT_TRUE(torch::equal(one.snr, two.snr));
  EXPECT_TRUE(torch::equal(one.mass1, two.mass1));
  // A window does not depend on which batch it is generated in.
  const auto tail = gen.generate(0, labels, 16, 16, 2, false);
  EXPECT_TRUE(torch::equal(one.strain.slice(0, 16), tail.strain));
  // Another seed, other windows; the test tree differs from the train tree.
  o.seed = 43;
  const gw::WindowGenerator other(o);
  EXPECT_FALSE(torch::equal(other.generate(0, labels, 0, 32, 2, false).strain, one.strain));
  EXPECT_FALSE(torch::equal(gen.generate(1, labels, 0, 32, 2, false).strain, one.strain));
}

TEST(GwGenerator, HalfSignalHalfNoise) {
  const gw::WindowGenerator gen(small());
  for (long long n : {1000LL, 64LL, 7LL}) {
    const auto labels = gen.labels(0, n);
    long long signals = 0;
    for (int l : labels) signals += l;
    EXPECT_EQ(signals, n / 2) << n;
  }
  const auto labels = gen.labels(0, 64);
  const auto b = gen.generate(0, labels, 0, 64, 0, false);
  EXPECT_EQ(b.label.sum().item<int>(), 32);
  const auto noise = b.label == 0, signal = b.label == 1;
  EXPECT_TRUE((b.snr.masked_select(noise) == 0).all().item<bool>());
  EXPECT_TRUE((b.mass1.masked_select(noise) == 0).all().item<bool>());
  EXPECT_TRUE((b.merger_time.masked_select(noise) == -1).all().item<bool>());
  const auto snr = b.snr.masked_select(signal), m1 = b.mass1.masked_select(signal),
             m2 = b.mass2.masked_select(signal);
  const auto tm = b.merger_time.masked_select(signal);
  EXPECT_TRUE(((snr >= 5) & (snr <= 20)).all().item<bool>());
  EXPECT_TRUE(((m2 >= 5) & (m1 >= m2) & (m1 <= 50)).all().item<bool>());
  EXPECT_TRUE(((tm >= 0.5) & (tm <= 0.9)).all().item<bool>());
}

TEST(GwGenerator, WhitenedNoiseHasUnitVariance) {
  auto o = small();
  o.duration = 2;
  const gw::WindowGenerator gen(o);
  const std::vector<int> labels(300, 0);
  const auto b = gen.generate(0, labels, 0, 300, 0, false);  // 300 x 4096 samples
  EXPECT_NEAR(b.strain.mean().item<double>(), 0.0, 0.01);
  EXPECT_NEAR(b.strain.var().item<double>(), 1.0, 0.02);
  // Per window too (the variance is not carried by a few windows).
  const auto per_window = b.strain.var(1);
  EXPECT_GT(per_window.min().item<double>(), 0.8);
  EXPECT_LT(per_window.max().item<double>(), 1.2);
}

TEST(GwGenerator, InjectionHasItsTargetSnrInsideTheWindow) {
  const gw::WindowGenerator gen(small());
  const std::vector<int> labels(16, 1);
  const auto b = gen.generate(0, labels, 0, 16, 0, true);
  for (int i = 0; i < 16; ++i) {
    const double snr = gw::optimal_snr(b.signal[i], 2048, 20, 0);
    EXPECT_NEAR(snr / b.snr[i].item<double>(), 1.0, 1e-5) << i;
  }
  // Signal windows carry more power than unit-variance noise.
  EXPECT_GT(b.strain.var().item<double>(), 1.0);
}

TEST(GwFile, ContentAndMetadata) {
  auto o = small();
  o.train = 40;
  o.test = 12;
  o.seed = 7;
  const std::string path = test_dir() + "/gw-test-file.root";
  std::filesystem::remove(path);
  EXPECT_EQ(gw::simulate(o, path), 52);
  EXPECT_FALSE(std::filesystem::exists(test_dir() + "/.gw-test-file.root.partial"));
  std::unique_ptr<TFile> f(TFile::Open(path.c_str()));
  ASSERT_TRUE(f && !f->IsZombie());
  auto* train = f->Get<TTree>("train");
  auto* test = f->Get<TTree>("test");
  ASSERT_TRUE(train && test);
  EXPECT_EQ(train->GetEntries(), 40);
  EXPECT_EQ(test->GetEntries(), 12);
  for (const char* b : {"strain", "label", "snr", "mass1", "mass2", "merger_time", "phase"})
    EXPECT_TRUE(train->GetBranch(b)) << b;
  auto* leaf = train->GetLeaf("strain");
  ASSERT_TRUE(leaf);
  EXPECT_EQ(leaf->GetLen(), 2048);
  EXPECT_STREQ(leaf->GetTypeName(), "Float_t");
  EXPECT_STREQ(train->GetLeaf("label")->GetTypeName(), "Int_t");

  std::vector<float> strain(2048);
  int label = -1;
  float snr = 0;
  train->SetBranchAddress("strain", strain.data());
  train->SetBranchAddress("label", &label);
  train->SetBranchAddress("snr", &snr);
  const gw::WindowGenerator gen(o);
  const auto labels = gen.labels(0, 40);
  const auto batch = gen.generate(0, labels, 0, 40, 1, false);
  int signals = 0;
  for (int i = 0; i < 40; ++i) {
    train->GetEntry(i);
    signals += label;
    EXPECT_EQ(label, labels[i]);
    EXPECT_EQ(snr, batch.snr[i].item<float>());
    EXPECT_EQ(strain[100], batch.strain[i][100].item<float>());
  }
  EXPECT_EQ(signals, 20);

  auto* meta = f->Get<TNamed>("gw_parameters");
  ASSERT_TRUE(meta);
  const std::string json = meta->GetTitle();
  for (const char* key : {"\"seed\": 7", "\"train\": 40", "\"test\": 12", "\"sample_rate\": 2048",
                          "\"duration\": 1", "\"mass_min\": 5", "\"mass_max\": 50", "\"snr_min\": 5",
                          "\"snr_max\": 20", "\"generator\": \"torchclad-gw"})
    EXPECT_NE(json.find(key), std::string::npos) << key << " in " << json;
  auto* psd = f->Get<TGraph>("psd");
  ASSERT_TRUE(psd);
  EXPECT_GT(psd->GetN(), 100);
  EXPECT_NEAR(psd->Eval(100) / gw::aligo_psd(100), 1.0, 1e-3);
}
