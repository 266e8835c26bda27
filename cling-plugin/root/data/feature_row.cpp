#include "data/feature_row.hpp"

#include <algorithm>
#include <cctype>

namespace torchclad::rootdata {
namespace {

// The row expression's statements that append a part's values to the row.
// RDataFrame takes every identifier of a jitted expression that names a
// column for that column ("f" in "0.f" if there is a column f), so the
// expression's own names are all __torchclad_*.
std::string append_values(const ColumnPart& p) {
  const std::string& c = p.alias;
  if (!p.array) return "__torchclad_r.push_back(static_cast<float>(" + c + "));\n";
  if (p.take < 0)
    return "for (auto&& __torchclad_v : " + c +
           ") __torchclad_r.push_back(static_cast<float>(__torchclad_v));\n";
  const std::string a = std::to_string(p.first), b = std::to_string(p.first + p.take);
  return "for (std::size_t __torchclad_i = " + a + "; __torchclad_i < " + b +
         "; ++__torchclad_i) __torchclad_r.push_back(" + "__torchclad_i < " + c +
         ".size() ? static_cast<float>(" + c + "[__torchclad_i]) : static_cast<float>(0));\n";
}

bool is_identifier(const std::string& column) {
  return !column.empty() && !std::isdigit(static_cast<unsigned char>(column[0])) &&
         std::all_of(column.begin(), column.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.';
         });
}

}  // namespace

ROOT::RDF::RNode define_row(ROOT::RDF::RNode df, std::vector<ColumnPart*> parts, const std::string& row,
                            const std::string& prefix, bool with_lengths) {
  ROOT::RDF::RNode node = df;
  std::vector<std::string> copied;
  for (ColumnPart* p : parts) {
    const auto it = std::find(copied.begin(), copied.end(), p->column);
    p->alias = prefix + "column" + std::to_string(it - copied.begin());
    if (it != copied.end()) continue;
    copied.push_back(p->column);
    // A copy (a Define of the one column), not an Alias: ROOT 6.40 jits an
    // expression by renaming its columns var0, var1, ... one after the
    // other, and an Alias is replaced by its column first, so columns named
    // var1, var2, var3 (TMVA's example files) read var1 for var2 and var3
    // ("{var1, var2, var3}" gave var1 twice). One column per expression
    // cannot be renamed into another. A name that is not an identifier
    // ("jet1_b-tag") cannot be an expression: aliased.
    node = is_identifier(p->column) ? node.Define(p->alias, p->column) : node.Alias(p->alias, p->column);
  }
  std::string body = "ROOT::RVecF __torchclad_r;\n";
  if (with_lengths)
    for (const ColumnPart* p : parts)
      if (p->unsized()) body += "__torchclad_r.push_back(static_cast<float>(" + p->alias + ".size()));\n";
  for (const ColumnPart* p : parts) body += append_values(*p);
  body += "return __torchclad_r;";
  return node.Define(row, body);
}

}  // namespace torchclad::rootdata
