// Compares the parameters of two files of Model::save (TTree "parameters":
// name, shape, values) with float32 tolerance |a - b| <= 1e-5 + 1e-4 |a|,
// as compare_checkpoints.py does; prints "parameters match" and returns 0.
#include <TFile.h>
#include <TTreeReader.h>
#include <TTreeReaderValue.h>

#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

int compare_models(const char* a_path, const char* b_path) {
  std::unique_ptr<TFile> a(TFile::Open(a_path)), b(TFile::Open(b_path));
  if (!a || a->IsZombie() || !b || b->IsZombie()) return std::printf("cannot open both files\n"), 1;
  TTreeReader ra("parameters", a.get()), rb("parameters", b.get());
  TTreeReaderValue<std::string> na(ra, "name"), nb(rb, "name");
  TTreeReaderValue<std::vector<float>> va(ra, "values"), vb(rb, "values");
  long long count = 0, nonzero = 0;
  double largest = 0;
  while (ra.Next()) {
    if (!rb.Next() || *na != *nb || va->size() != vb->size())
      return std::printf("the files hold different parameters (%s)\n", na->c_str()), 1;
    for (size_t i = 0; i < va->size(); ++i) {
      const double x = (*va)[i], d = std::abs(x - (*vb)[i]);
      if (!(d <= 1e-5 + 1e-4 * std::abs(x)))
        return std::printf("%s[%zu] differs: %.9g vs %.9g\n", na->c_str(), i, x, (*vb)[i]), 1;
      largest = std::max(largest, d);
      nonzero += x != 0;
      ++count;
    }
  }
  if (rb.Next()) return std::printf("%s has more parameters\n", b_path), 1;
  if (count == 0 || nonzero == 0) return std::printf("no parameters, or all zero\n"), 1;
  std::printf("parameters match: %lld values, largest difference %.3g\n", count, largest);
  return 0;
}
