#pragma once
// A small HEP-style ntuple written by the tests: trees "signal" and
// "background" with a branch of every numeric type, fixed-size, variable-size
// and std::vector arrays (ragged and not), a weight, a class label, a string
// and a NaN, each value a known function of the entry number. And small
// trees of branch kinds the column types do not tell apart (write_branch_kinds).
#include <TFile.h>
#include <TTree.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include "rootdata_util.hpp"

namespace torchclad::rootdata_testing {

constexpr int kSignalEntries = 300, kBackgroundEntries = 500;
constexpr int kNanEntry = 17;  // "nanv" is NaN there, 1 elsewhere

// Entry e of either tree (offset: 0 for signal, 10000 for background, so
// that rows tell where they came from through "i").
struct NtupleRow {
  long long e;
  bool b_o() const { return e % 2 == 1; }
  Char_t c() const { return static_cast<Char_t>(e % 100 - 50); }
  UChar_t uc() const { return static_cast<UChar_t>(e % 256); }
  Short_t s() const { return static_cast<Short_t>(-e); }
  UShort_t us() const { return static_cast<UShort_t>(e + 1); }
  Int_t i() const { return static_cast<Int_t>(3 * e); }
  UInt_t ui() const { return static_cast<UInt_t>(e + 2); }
  Long_t g() const { return static_cast<Long_t>(e - 7); }
  Long64_t l() const { return e - 1000; }
  ULong64_t ul() const { return static_cast<ULong64_t>(e + 7); }
  Float_t f() const { return 0.25f * static_cast<float>(e); }
  Double_t d() const { return 0.5 * static_cast<double>(e) + 0.125; }
  Float16_t f16() const {
    return static_cast<float>(e % 64) * 0.5f;
  }  // exact in Float16_t's 12 mantissa bits
  Double32_t d32() const { return 0.25 * static_cast<double>(e); }  // stored as a float
  Float_t w() const { return 0.5f + static_cast<float>(e % 3); }
  Int_t cls() const { return static_cast<Int_t>(e % 3); }
  Float_t fa(int k) const { return static_cast<float>(e + k); }          // fa[3]
  Int_t na() const { return static_cast<Int_t>(e % 4); }                 // va[na]
  Double_t va(int k) const { return static_cast<double>(e) + 0.5 * k; }  // ragged
  Int_t vi(int k) const { return static_cast<Int_t>(e * 10 + k); }       // vector<int>, 2 values
};

inline const std::string& ntuple_file() {
  static const std::string file = [] {
    const std::string f = tmp("ntuple.root");
    write_root(f, [](TFile&) {
      for (const auto& [name, n, offset] :
           {std::tuple<const char*, int, long long>{"signal", kSignalEntries, 0},
            std::tuple<const char*, int, long long>{"background", kBackgroundEntries, 10000}}) {
        auto* t = new TTree(name, name);
        t->SetAutoFlush(100);  // several clusters: several tasks under implicit MT
        Bool_t b_o;
        Char_t c;
        UChar_t uc;
        Short_t s;
        UShort_t us;
        Int_t i, cls, na;
        UInt_t ui;
        Long_t g;
        Long64_t l;
        ULong64_t ul;
        Float_t f, w, fa[3], nanv;
        Double_t d, va[4];
        Float16_t f16;
        Double32_t d32;
        std::vector<int> vi(2);
        std::vector<float> vr;
        std::string label_name;
        t->Branch("b_o", &b_o, "b_o/O");
        t->Branch("c", &c, "c/B");
        t->Branch("uc", &uc, "uc/b");
        t->Branch("s", &s, "s/S");
        t->Branch("us", &us, "us/s");
        t->Branch("i", &i, "i/I");
        t->Branch("ui", &ui, "ui/i");
        t->Branch("g", &g, "g/G");
        t->Branch("l", &l, "l/L");
        t->Branch("ul", &ul, "ul/l");
        t->Branch("f", &f, "f/F");
        t->Branch("d", &d, "d/D");
        t->Branch("f16", &f16, "f16/f");
        t->Branch("d32", &d32, "d32/d");
        t->Branch("w", &w, "w/F");
        t->Branch("cls", &cls, "cls/I");
        t->Branch("fa", fa, "fa[3]/F");
        t->Branch("na", &na, "na/I");
        t->Branch("va", va, "va[na]/D");
        t->Branch("vi", &vi);
        t->Branch("vr", &vr);
        t->Branch("nanv", &nanv, "nanv/F");
        t->Branch("name", &label_name);
        for (long long k = 0; k < n; ++k) {
          const NtupleRow r{k + offset};
          b_o = r.b_o(), c = r.c(), uc = r.uc(), s = r.s(), us = r.us(), i = r.i(), ui = r.ui();
          g = r.g(), l = r.l(), ul = r.ul(), f = r.f(), d = r.d(), w = r.w(), cls = r.cls();
          f16 = r.f16(), d32 = r.d32();
          for (int m = 0; m < 3; ++m) fa[m] = r.fa(m);
          na = r.na();
          for (int m = 0; m < na; ++m) va[m] = r.va(m);
          for (int m = 0; m < 2; ++m) vi[m] = r.vi(m);
          vr.assign(static_cast<size_t>(k % 3), 1.5f);
          nanv = k == kNanEntry ? std::numeric_limits<float>::quiet_NaN() : 1.0f;
          label_name = k % 2 ? "odd" : "even";
          t->Fill();
        }
      }
    });
    return f;
  }();
  return file;
}

// Tree "events" of 20 entries in `name`: jet_pt[size] of `Elem` (value k of
// entry e: 100 - 10k + e), a C string c_str ("abc<e>"), 64-bit labels far
// out of class range (l_big = 1e12 + e, ul_big = 2^64 - 1), label = e % 2,
// and a variable-size trk[ntrk] (ntrk = e % 3).
template <typename Elem>
inline std::string write_branch_kinds(const std::string& name, int size) {
  const std::string file = tmp(name);
  write_root(file, [size](TFile&) {
    auto* t = new TTree("events", "branch kinds");
    Elem jet_pt[4];
    char c_str[16];
    Long64_t l_big;
    ULong64_t ul_big = ~ULong64_t{0};
    Int_t label, ntrk;
    Float_t trk[2];
    const char code = std::is_same_v<Elem, Float_t> ? 'F' : 'D';
    t->Branch("jet_pt", jet_pt, ("jet_pt[" + std::to_string(size) + "]/" + code).c_str());
    t->Branch("c_str", c_str, "c_str/C");
    t->Branch("l_big", &l_big, "l_big/L");
    t->Branch("ul_big", &ul_big, "ul_big/l");
    t->Branch("label", &label, "label/I");
    t->Branch("ntrk", &ntrk, "ntrk/I");
    t->Branch("trk", trk, "trk[ntrk]/F");
    for (int e = 0; e < 20; ++e) {
      for (int k = 0; k < size; ++k) jet_pt[k] = static_cast<Elem>(100 - 10 * k + e);
      std::snprintf(c_str, sizeof c_str, "abc%d", e);
      l_big = 1000000000000LL + e, label = e % 2, ntrk = e % 3;
      for (int k = 0; k < ntrk; ++k) trk[k] = 1.0f;
      t->Fill();
    }
  });
  return file;
}

}  // namespace torchclad::rootdata_testing
