// torchclad::detect: any detector's scores (here hand-made ones) on windows
// read from a TTree with an SNR column give the threshold for the false-alarm
// probability, the efficiency per SNR bin and the AUC; the errors name what
// was expected and what was found.
#include <TFile.h>
#include <TTree.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "rootdata_util.hpp"
#include "torchclad/cnn.h"

using namespace torchclad::rootdata_testing;

namespace {

// 200 windows of 4 samples: even entries noise (snr 0), odd ones signals
// with SNR 5 + (entry % 10).
std::string windows_file() {
  const std::string f = tmp("detect_windows.root");
  write_root(f, [](TFile&) {
    auto* t = new TTree("w", "windows");
    float strain[4] = {0, 0, 0, 0}, snr = 0;
    int label = 0;
    t->Branch("strain", strain, "strain[4]/F");
    t->Branch("label", &label, "label/I");
    t->Branch("snr", &snr, "snr/F");
    for (int i = 0; i < 200; ++i) {
      label = i % 2;
      snr = label ? static_cast<float>(5 + i % 10) : 0.f;
      t->Fill();
    }
  });
  return f;
}

}  // namespace

TEST(Detect, ScoresThatSeparateTheClassesFindEverySignal) {
  const auto data = torchclad::BinaryDataset::from_tree(windows_file(), "w");
  std::vector<float> scores(200);
  for (int i = 0; i < 200; ++i) scores[i] = i % 2 ? 1.f + i * 1e-3f : -1.f - i * 1e-3f;
  const auto d = torchclad::detect(scores, data, 0.01);
  EXPECT_DOUBLE_EQ(d.auc, 1.0);
  EXPECT_DOUBLE_EQ(d.accuracy, 1.0);
  ASSERT_FALSE(d.efficiency.empty());
  for (double e : d.efficiency) EXPECT_DOUBLE_EQ(e, 1.0);
  EXPECT_NE(d.summary.find("AUC"), std::string::npos) << d.summary;
}

TEST(Detect, ScoresOfTheWrongLengthOrNoSnrColumnAreClearErrors) {
  const auto data = torchclad::BinaryDataset::from_tree(windows_file(), "w");
  EXPECT_TRUE(throws_with([&] { torchclad::detect(std::vector<float>(199), data); },
                          {"detect: expected one score per window (200), found 199"}));
  const auto no_snr = torchclad::BinaryDataset::from_tree(windows_file(), "w", "strain", "label", "");
  EXPECT_TRUE(throws_with([&] { torchclad::detect(std::vector<float>(200), no_snr); },
                          {"detect: the data have no SNR column"}));
}
