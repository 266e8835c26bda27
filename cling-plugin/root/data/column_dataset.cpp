#include "data/column_dataset.hpp"

#include <algorithm>
#include <cmath>
#include <optional>
#include <stdexcept>

#include "data/tree_dataset.hpp"

namespace torchclad::rootdata {
namespace {

std::string quote(const std::string& s) { return "'" + s + "'"; }

std::string trim(std::string s) {
  const auto b = s.find_first_not_of(' '), e = s.find_last_not_of(' ');
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

bool is_integer_type(const std::string& t) {
  static const char* names[] = {
      "Bool_t",        "Char_t",         "UChar_t",       "Short_t",        "UShort_t",
      "Int_t",         "UInt_t",         "Long_t",        "ULong_t",        "Long64_t",
      "ULong64_t",     "bool",           "char",          "signed char",    "unsigned char",
      "short",         "unsigned short", "int",           "unsigned int",   "long",
      "unsigned long", "long long",      "unsigned long long", "int8_t",   "uint8_t",
      "int16_t",       "uint16_t",       "int32_t",       "uint32_t",       "int64_t",
      "uint64_t",      "std::int8_t",    "std::uint8_t",  "std::int16_t",   "std::uint16_t",
      "std::int32_t",  "std::uint32_t",  "std::int64_t",  "std::uint64_t",  "size_t",
      "std::size_t"};
  return std::find(std::begin(names), std::end(names), t) != std::end(names);
}

bool is_number_type(const std::string& t) {
  return is_integer_type(t) || t == "Float_t" || t == "Double_t" || t == "float" || t == "double" ||
         t == "Float16_t" || t == "Double32_t";
}

// The element type of "ROOT::VecOps::RVec<Float_t>", "vector<double>",
// "std::vector<int,allocator<int> >", ...; nullopt for anything else.
std::optional<std::string> array_element(const std::string& type) {
  const auto lt = type.find('<'), gt = type.rfind('>');
  if (lt == std::string::npos || gt == std::string::npos || gt < lt) return std::nullopt;
  const std::string outer = trim(type.substr(0, lt));
  if (outer != "ROOT::VecOps::RVec" && outer != "ROOT::RVec" && outer != "RVec" && outer != "vector" &&
      outer != "std::vector")
    return std::nullopt;
  std::string inner = type.substr(lt + 1, gt - lt - 1);
  if (const auto comma = inner.find(','); comma != std::string::npos) inner.resize(comma);
  return trim(inner);
}

constexpr const char* kExpectedNumbers =
    "one number per entry (Bool_t, Char_t, UChar_t, Short_t, UShort_t, Int_t, UInt_t, Long_t, "
    "ULong_t, Long64_t, ULong64_t, Float_t, Double_t) or an array of numbers (fixed-size or "
    "variable-size array branch, RVec, std::vector)";

// One feature or target entry of the request: a column, whole or its first n values.
struct Part {
  std::string role;  // "feature" or "target"
  std::string spec;  // as written: "m_jj", "jet_pt[4]"
  std::string column;
  std::string type;
  bool array = false;
  long long take = -1;  // n of "name[n]"; -1: every value
  std::string alias;    // the column under a name that is valid C++ in the row expression
  bool unsized() const { return array && take < 0; }
};

struct Resolver {
  const std::string& where;
  mutable ROOT::RDF::RNode df;  // GetColumnType is not const
  std::vector<std::string> columns;

  bool has(const std::string& c) const {
    if (std::find(columns.begin(), columns.end(), c) != columns.end()) return true;
    // A friend tree's column by its short name ("y" for "fr.y") is not listed.
    try {
      df.GetColumnType(c);
      return true;
    } catch (const std::exception&) {
      return false;
    }
  }

  [[noreturn]] void missing(const std::string& role, const std::string& c) const {
    std::string visible;
    for (const auto& name : columns)
      if (name.rfind('#', 0) != 0 && name.rfind("__torchclad", 0) != 0)
        visible += (visible.empty() ? "" : ", ") + name;
    throw std::runtime_error(where + ": no " + role + " column " + quote(c) +
                             "; the columns are: " + visible);
  }

  std::string type_of(const std::string& c) const {
    try {
      return df.GetColumnType(c);
    } catch (const std::exception& e) {
      throw std::runtime_error(where + ": the type of column " + quote(c) + ": " + e.what());
    }
  }

  Part part(const std::string& role, const std::string& spec) const {
    Part p{role, spec, spec};
    // "name[n]", unless a column is really called so.
    if (!has(spec) && !spec.empty() && spec.back() == ']') {
      const auto open = spec.rfind('[');
      const std::string digits =
          open == std::string::npos ? "" : spec.substr(open + 1, spec.size() - open - 2);
      if (open == std::string::npos || open == 0 || digits.empty() ||
          digits.find_first_not_of("0123456789") != std::string::npos || digits.size() > 9 ||
          std::stoll(digits) < 1)
        throw std::runtime_error(where + ": " + role + " " + quote(spec) +
                                 ": expected a column name, or 'name[n]' with n >= 1 for the "
                                 "first n values of an array column");
      p.column = spec.substr(0, open);
      p.take = std::stoll(digits);
    }
    if (!has(p.column)) missing(role, p.column);
    p.type = type_of(p.column);
    if (is_number_type(p.type)) {
      if (p.take >= 0)
        throw std::runtime_error(where + ": " + role + " " + quote(spec) + ": column " +
                                 quote(p.column) + " holds one " + p.type +
                                 " per entry, not an array; write " + quote(p.column));
      return p;
    }
    const auto elem = array_element(p.type);
    if (!elem || !is_number_type(*elem))
      throw std::runtime_error(where + ": " + role + " column " + quote(p.column) + " has type " +
                               p.type + "; expected " + kExpectedNumbers);
    p.array = true;
    return p;
  }
};

// The row expression's statements that append a part's values to the row.
// RDataFrame takes every identifier of a jitted expression that names a
// column for that column ("f" in "0.f" if there is a column f), so the
// expression's own names are all __torchclad_*.
std::string append_values(const Part& p) {
  const std::string& c = p.alias;
  if (!p.array) return "__torchclad_r.push_back(static_cast<float>(" + c + "));\n";
  if (p.take < 0)
    return "for (auto&& __torchclad_v : " + c + ") __torchclad_r.push_back(static_cast<float>(__torchclad_v));\n";
  const std::string n = std::to_string(p.take);
  return "for (std::size_t __torchclad_i = 0; __torchclad_i < " + n + "; ++__torchclad_i) __torchclad_r.push_back(" +
         "__torchclad_i < " + c + ".size() ? static_cast<float>(" + c + "[__torchclad_i]) : static_cast<float>(0));\n";
}

constexpr const char* kRowColumn = "__torchclad_row";
constexpr const char* kNoLabelColumn = "__torchclad_no_label";

// After a read failed on rows of different lengths: which array column
// varies, from its shortest to its longest entry (one more event loop).
void explain_ragged(const std::string& where, ROOT::RDF::RNode node, const std::vector<Part>& parts) {
  std::vector<std::pair<const Part*, std::pair<ROOT::RDF::RResultPtr<long long>, ROOT::RDF::RResultPtr<long long>>>>
      lengths;
  for (const Part& p : parts) {
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
          ") holds arrays of different lengths, from " + std::to_string(lo) + " to " +
          std::to_string(hi) + " values per entry; every row needs the same number of values: write " +
          quote(p->column + "[n]") + " to take the first n values, padded with 0 where an entry has fewer");
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
                           (std::isnan(v) ? "NaN" : v > 0 ? "+inf" : "-inf") + " at row " +
                           std::to_string(row) +
                           " (rows in entry order); expected finite numbers (a value too large "
                           "for float32 becomes inf)");
}

}  // namespace

ColumnData read_columns(ROOT::RDF::RNode df, const ColumnRequest& request, const std::string& where) {
  if (request.features.empty())
    throw std::runtime_error(where + ": no feature columns given; expected at least one");
  {
    std::vector<std::string> all = request.features;
    all.insert(all.end(), request.targets.begin(), request.targets.end());
    for (size_t i = 0; i < all.size(); ++i)
      if (std::find(all.begin(), all.begin() + i, all[i]) != all.begin() + i)
        throw std::runtime_error(where + ": " + quote(all[i]) + " is listed twice");
  }
  Resolver r{where, df, {}};
  try {
    r.columns = df.GetColumnNames();
  } catch (const std::exception& e) {
    throw std::runtime_error(where + ": " + e.what());
  }
  std::vector<Part> parts;
  for (const auto& f : request.features) parts.push_back(r.part("feature", f));
  for (const auto& t : request.targets) parts.push_back(r.part("target", t));

  if (!request.label.empty()) {
    if (!r.has(request.label)) r.missing("label", request.label);
    const std::string type = r.type_of(request.label);
    if (!is_integer_type(type))
      throw std::runtime_error(
          where + ": label column " + quote(request.label) + " has type " + type +
          "; expected one integer per entry (a class index >= 0, or 0/1: Int_t, Bool_t, UChar_t, "
          "Long64_t, ...)" +
          (is_number_type(type) ? "; for float targets use regression_dataset_from_columns" : ""));
  }
  Part weight{"weight", request.weight, request.weight};
  if (!request.weight.empty()) {
    if (!r.has(request.weight)) r.missing("weight", request.weight);
    weight.type = r.type_of(request.weight);
    if (!is_number_type(weight.type))
      throw std::runtime_error(where + ": weight column " + quote(request.weight) + " has type " +
                               weight.type + "; expected one number per entry (Float_t, Double_t, "
                               "Int_t, ...)");
  }

  // One row per entry: [lengths of the whole arrays | features | targets | weight].
  // The lengths let us check each array's length on its own, and name each value.
  ROOT::RDF::RNode node = df;
  std::string body = "ROOT::RVecF __torchclad_r;\n";
  std::vector<std::string> aliased;
  auto alias_of = [&](const std::string& column) {
    const auto it = std::find(aliased.begin(), aliased.end(), column);
    const std::string name = "__torchclad_column" + std::to_string(it - aliased.begin());
    if (it == aliased.end()) {
      aliased.push_back(column);
      node = node.Alias(name, column);
    }
    return name;
  };
  try {
    for (Part& p : parts) p.alias = alias_of(p.column);
    if (!request.weight.empty()) weight.alias = alias_of(weight.column);
    for (const Part& p : parts)
      if (p.unsized()) body += "__torchclad_r.push_back(static_cast<float>(" + p.alias + ".size()));\n";
    for (const Part& p : parts) body += append_values(p);
    if (!request.weight.empty()) body += append_values(weight);
    body += "return __torchclad_r;";
    node = node.Define(kRowColumn, body);
    if (request.label.empty()) node = node.Define(kNoLabelColumn, [] { return 0; });
  } catch (const std::exception& e) {
    throw std::runtime_error(where + ": cannot combine the columns into a row: " + e.what());
  }

  data::MnistSplit rows;
  const std::string label = request.label.empty() ? kNoLabelColumn : request.label;
  try {
    rows = read_rdataframe(node, kRowColumn, label, where);
  } catch (const std::runtime_error& e) {
    // That error names the combined row column; find the user's column.
    if (std::string(e.what()).find("different lengths") != std::string::npos) explain_ragged(where, node, parts);
    throw;
  }

  // Split the rows, checking each whole array's length.
  const torch::Tensor& x = rows.images;
  int64_t h = 0;
  std::vector<int64_t> lengths;  // per part
  for (const Part& p : parts) {
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
                                 std::to_string(row) + "; write " + quote(p.column + "[n]") +
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
      names.push_back(parts[i].array ? parts[i].column + "[" + std::to_string(k) + "]" : parts[i].column);
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
