#include "data/column_spec.hpp"

#include <algorithm>
#include <stdexcept>

#include "data/branch_check.hpp"
#include "src/text.hpp"

namespace torchclad::rootdata {
namespace {

std::string trim(std::string s) {
  const auto b = s.find_first_not_of(' '), e = s.find_last_not_of(' ');
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

}  // namespace

bool is_integer_type(const std::string& t) {
  static const char* names[] = {
      "Bool_t",        "Char_t",       "UChar_t",       "Short_t",      "UShort_t",           "Int_t",
      "UInt_t",        "Long_t",       "ULong_t",       "Long64_t",     "ULong64_t",          "bool",
      "char",          "signed char",  "unsigned char", "short",        "unsigned short",     "int",
      "unsigned int",  "long",         "unsigned long", "long long",    "unsigned long long", "int8_t",
      "uint8_t",       "int16_t",      "uint16_t",      "int32_t",      "uint32_t",           "int64_t",
      "uint64_t",      "std::int8_t",  "std::uint8_t",  "std::int16_t", "std::uint16_t",      "std::int32_t",
      "std::uint32_t", "std::int64_t", "std::uint64_t", "size_t",       "std::size_t"};
  return std::find(std::begin(names), std::end(names), t) != std::end(names);
}

bool is_number_type(const std::string& t) {
  return is_integer_type(t) || t == "Float_t" || t == "Double_t" || t == "float" || t == "double" ||
         t == "Float16_t" || t == "Double32_t";
}

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

const char* const kExpectedNumbers =
    "one number per entry (Bool_t, Char_t, UChar_t, Short_t, UShort_t, Int_t, UInt_t, Long_t, "
    "ULong_t, Long64_t, ULong64_t, Float_t, Double_t) or an array of numbers (fixed-size or "
    "variable-size array branch, RVec, std::vector)";

std::string label_range_error(const std::string& column, long long value, const std::string& entry) {
  return value < 0 ? "negative label " + std::to_string(value) + " in column '" + column + "' at " + entry +
                         "; labels must be class indices >= 0"
                   : "label " + std::to_string(value) + " in column '" + column + "' at " + entry +
                         " is not a class index: labels must be class indices from 0 to " +
                         std::to_string(kMaxLabel) + " (is it an event number or an ID column?)";
}

namespace {

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

  ColumnPart part(const std::string& role, const std::string& spec) const {
    ColumnPart p{role, spec, spec};
    // "name[k]", "name[:n]", "name[a:b]", unless a column is really called so.
    if (!has(spec) && !spec.empty() && spec.back() == ']') {
      const auto open = spec.rfind('[');
      const std::string inside =
          open == std::string::npos ? "" : spec.substr(open + 1, spec.size() - open - 2);
      const auto colon = inside.find(':');
      auto number = [](const std::string& d) {
        return !d.empty() && d.size() <= 9 && d.find_first_not_of("0123456789") == std::string::npos;
      };
      const std::string lo = colon == std::string::npos ? inside : inside.substr(0, colon);
      const std::string hi = colon == std::string::npos ? "" : inside.substr(colon + 1);
      const bool ok = open != std::string::npos && open > 0 &&
                      (colon == std::string::npos ? number(lo)
                                                  : (lo.empty() || number(lo)) && number(hi) &&
                                                        std::stoll(hi) > (lo.empty() ? 0 : std::stoll(lo)));
      if (!ok)
        throw std::runtime_error(where + ": " + role + " " + quote(spec) +
                                 ": expected a column name, 'name[k]' for value k of an array column (from "
                                 "0, as in ROOT), 'name[:n]' for its first n values or 'name[a:b]' for "
                                 "values a to b - 1");
      p.column = spec.substr(0, open);
      p.first = lo.empty() ? 0 : std::stoll(lo);
      p.take = colon == std::string::npos ? 1 : std::stoll(hi) - p.first;
    }
    if (!has(p.column)) missing(role, p.column);
    p.type = type_of(p.column);
    if (is_number_type(p.type)) {
      if (p.take >= 0)
        throw std::runtime_error(where + ": " + role + " " + quote(spec) + ": column " + quote(p.column) +
                                 " holds one " + p.type + " per entry, not an array; write " +
                                 quote(p.column));
      return p;
    }
    const auto elem = array_element(p.type);
    if (!elem || !is_number_type(*elem))
      throw std::runtime_error(where + ": " + role + " column " + quote(p.column) + " has type " + p.type +
                               "; expected " + kExpectedNumbers);
    p.array = true;
    return p;
  }
};

}  // namespace

ResolvedColumns resolve_columns(ROOT::RDF::RNode df, const ColumnRequest& request, const std::string& where) {
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
  ResolvedColumns out;
  std::vector<ColumnPart>& parts = out.parts;
  for (const auto& f : request.features) parts.push_back(r.part("feature", f));
  for (const auto& t : request.targets) parts.push_back(r.part("target", t));

  if (!request.label.empty()) {
    if (!r.has(request.label)) r.missing("label", request.label);
    const std::string type = out.label_type = r.type_of(request.label);
    if (!is_integer_type(type))
      throw std::runtime_error(
          where + ": label column " + quote(request.label) + " has type " + type +
          "; expected one integer per entry (a class index >= 0, or 0/1: Int_t, Bool_t, UChar_t, "
          "Long64_t, ...)" +
          (is_number_type(type)
               ? "; a float column of class numbers (0.0, 1.0, ...) becomes one with Define(\"label\", "
                 "\"int(" +
                     request.label +
                     ")\") on an RDataFrame (Snapshot that to a file for a "
                     "StreamDataset); for float targets use regression_dataset_from_columns or "
                     "StreamDataset::regression"
               : ""));
  }
  if (!request.weight.empty()) {
    ColumnPart weight{"weight", request.weight, request.weight};
    if (!r.has(request.weight)) r.missing("weight", request.weight);
    weight.type = r.type_of(request.weight);
    if (!is_number_type(weight.type))
      throw std::runtime_error(where + ": weight column " + quote(request.weight) + " has type " +
                               weight.type +
                               "; expected one number per entry (Float_t, Double_t, "
                               "Int_t, ...)");
    out.weight = weight;
  }
  check_branches(df, out, request.label, where);
  return out;
}

}  // namespace torchclad::rootdata
