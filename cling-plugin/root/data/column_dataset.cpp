#include "data/column_dataset.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <stdexcept>

#include "data/column_spec.hpp"
#include "data/feature_row.hpp"
#include "data/tree_dataset.hpp"
#include "src/feature_names.hpp"
#include "src/text.hpp"

namespace torchclad::rootdata {
namespace {

constexpr const char* kRowColumn = "__torchclad_row";
constexpr const char* kNoLabelColumn = "__torchclad_no_label";

// After a read failed on rows of different lengths: which array column
// varies, from its shortest to its longest entry (one more event loop).
void explain_ragged(const std::string& where, ROOT::RDF::RNode node, const std::vector<ColumnPart>& parts) {
  std::vector<std::pair<const ColumnPart*,
                        std::pair<ROOT::RDF::RResultPtr<long long>, ROOT::RDF::RResultPtr<long long>>>>
      lengths;
  for (const ColumnPart& p : parts) {
    if (!p.unsized()) continue;
    const std::string len = "__torchclad_length_" + p.alias;
    auto n = node.Define(len, "static_cast<long long>(" + p.alias + ".size())");
    lengths.push_back({&p, {n.Min<long long>(len), n.Max<long long>(len)}});
  }
  for (auto& [p, range] : lengths) {
    const long long lo = *range.first, hi = *range.second;
    if (lo != hi)
      throw std::runtime_error(
          where + ": " + p->role + " column " + quote(p->column) + " (" + p->type +
          ") holds arrays of different lengths, from " + std::to_string(lo) + " to " + std::to_string(hi) +
          " values per entry; every row needs the same number of values: write " + quote(p->column + "[:n]") +
          " to take the first n values, padded with 0 where an entry has fewer");
  }
}

// The first NaN or infinite value of x [N, K], as an error naming its column.
void check_finite(const std::string& where, const torch::Tensor& x, const char* what,
                  const std::vector<std::string>& names) {
  const auto bad = torch::isfinite(x).logical_not().nonzero();
  if (bad.size(0) == 0) return;
  const int64_t row = bad[0][0].item<int64_t>();
  const int64_t col = x.dim() == 2 ? bad[0][1].item<int64_t>() : 0;
  const float v = x.dim() == 2 ? x[row][col].item<float>() : x[row].item<float>();
  throw std::runtime_error(where + ": " + what + " " + quote(names[col]) + " is " +
                           (std::isnan(v) ? "NaN"
                            : v > 0       ? "+inf"
                                          : "-inf") +
                           " at row " + std::to_string(row) +
                           " (rows in entry order); expected finite numbers (a value too large "
                           "for float32 becomes inf)");
}

}  // namespace

ColumnData read_columns(ROOT::RDF::RNode df, const ColumnRequest& request, const std::string& where) {
  auto resolved = resolve_columns(df, request, where);
  std::vector<ColumnPart>& parts = resolved.parts;
  ColumnPart weight = resolved.weight.value_or(ColumnPart{"weight", "", ""});

  // One row per entry: [lengths of the whole arrays | features | targets | weight].
  // The lengths let us check each array's length on its own, and name each value.
  ROOT::RDF::RNode node = df;
  try {
    std::vector<ColumnPart*> all;
    for (ColumnPart& p : parts) all.push_back(&p);
    if (!request.weight.empty()) all.push_back(&weight);
    node = define_row(df, all, kRowColumn, "__torchclad_", true);
    if (request.label.empty()) node = node.Define(kNoLabelColumn, [] { return 0; });
  } catch (const std::exception& e) {
    throw std::runtime_error(where + ": cannot combine the columns into a row: " + e.what());
  }

  data::MnistSplit rows;
  const std::string label = request.label.empty() ? kNoLabelColumn : request.label;
  // What the event loop reads, in the user's names (the row and the
  // DataLoader's class and weight columns are helper columns).
  std::string reading = "the columns ";
  for (size_t i = 0; i < parts.size(); ++i) reading += (i ? ", " : "") + quote(parts[i].spec);
  auto user_column = [](const std::string& c) { return !c.empty() && c.rfind("__torchclad", 0) != 0; };
  if (user_column(request.label)) reading += ", label " + quote(request.label);
  if (user_column(request.weight)) reading += ", weight " + quote(request.weight);
  try {
    rows = read_rdataframe(node, kRowColumn, label, where, reading);
  } catch (const std::runtime_error& e) {
    // That error names the combined row column; find the user's column.
    if (std::string(e.what()).find("different lengths") != std::string::npos)
      explain_ragged(where, node, parts);
    throw;
  }

  // Split the rows, checking each whole array's length.
  const torch::Tensor& x = rows.images;
  int64_t h = 0;
  std::vector<int64_t> lengths;  // per part
  for (const ColumnPart& p : parts) {
    if (p.unsized()) {
      const auto len = x.select(1, h);
      const auto other = len.ne(len[0]).nonzero();
      if (other.size(0) > 0) {
        const int64_t row = other[0][0].item<int64_t>();
        throw std::runtime_error(where + ": " + p.role + " column " + quote(p.column) + " (" + p.type +
                                 ") holds arrays of different lengths: " +
                                 std::to_string(static_cast<long long>(len[0].item<float>())) +
                                 " values at row 0, " +
                                 std::to_string(static_cast<long long>(len[row].item<float>())) + " at row " +
                                 std::to_string(row) + "; write " + quote(p.column + "[:n]") +
                                 " to take the first n values, padded with 0 where an entry has fewer");
      }
      lengths.push_back(static_cast<int64_t>(len[0].item<float>()));
      ++h;
    } else {
      lengths.push_back(p.array ? p.take : 1);
    }
  }
  ColumnData out;
  std::vector<std::string> target_names;
  int64_t f = 0, t = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    auto& names = parts[i].role == "feature" ? out.feature_names : target_names;
    for (int64_t k = 0; k < lengths[i]; ++k)
      names.push_back(parts[i].array ? array_value_name(parts[i].column, parts[i].first + k)
                                     : parts[i].column);
    (parts[i].role == "feature" ? f : t) += lengths[i];
  }
  if (f == 0)
    throw std::runtime_error(where + ": the feature columns hold no values (empty arrays in every entry)");
  out.features = x.narrow(1, h, f).contiguous();
  check_finite(where, out.features, "feature", out.feature_names);
  if (!request.targets.empty()) {
    if (t == 0)
      throw std::runtime_error(where + ": the target columns hold no values (empty arrays in every entry)");
    out.targets = x.narrow(1, h + f, t).contiguous();
    check_finite(where, out.targets, "target", target_names);
  }
  if (!request.weight.empty()) {
    out.weights = x.select(1, h + f + t).contiguous();
    check_finite(where, out.weights, "weight", {request.weight});
  }
  out.labels = rows.labels;
  return out;
}

}  // namespace torchclad::rootdata
