#include "cli_args.hpp"

#include <algorithm>
#include <iostream>

namespace torchclad::cli {

namespace {

constexpr size_t kNameColumn = 20;  // "  --strain-column NAME  default strain": help at column 24

// What follows an option, as a usage error says it.
std::string expected(const Options::Option& o) {
  switch (o.kind) {
    case Options::Kind::kInteger:
      return "an integer";
    case Options::Kind::kNumber:
      return "a number";
    default:
      return "a value (" + o.value + ")";
  }
}

}  // namespace

Options& Options::add(Option option) {
  if (find(option.name)) throw std::logic_error("option " + option.name + " declared twice");
  options_.push_back(std::move(option));
  return *this;
}

std::string Options::with_default(const std::string& help, const std::string& value) {
  std::string s = help;
  for (size_t at; (at = s.find("{default}")) != std::string::npos;) s.replace(at, 9, value);
  return s;
}

Options& Options::on(const std::string& name, const std::string& help, std::function<void()> act) {
  return add({name, Kind::kSwitch, "", help, [act](const std::string&) { act(); }});
}

Options& Options::set(const std::string& name, const std::string& help, bool& target) {
  return on(name, help, [&target] { target = true; });
}

Options& Options::number(const std::string& name, double& target, const std::string& help) {
  return add({name, Kind::kNumber, "X", with_default(help, shown(target)),
              [&target, name](const std::string& v) { target = to_double(name, v); }});
}

Options& Options::text(const std::string& name, const std::string& value, std::string& target,
                       const std::string& help) {
  return add({name, Kind::kText, value, with_default(help, target),
              [&target](const std::string& v) { target = v; }});
}

Options& Options::text(const std::string& name, const std::string& value, const std::string& help,
                       std::function<void(const std::string&)> parse) {
  return add({name, Kind::kText, value, help, std::move(parse)});
}

Options& Options::alias(const std::string& name, const std::string& of) {
  if (!find(of)) throw std::logic_error("alias " + name + " of undeclared option " + of);
  aliases_.emplace_back(name, of);
  return *this;
}

Options& Options::help_line(const std::string& help) {
  options_.push_back({"-h, --help", Kind::kSwitch, "", help, nullptr});
  return *this;
}

Options& Options::epilogue(const std::string& text) {
  epilogue_ = text;
  return *this;
}

const Options::Option* Options::find(const std::string& name) const {
  std::string real = name;
  for (const auto& [alias, of] : aliases_)
    if (alias == name) real = of;
  for (const auto& o : options_)
    if (o.name == real && o.set) return &o;
  return nullptr;
}

Options::Parsed Options::parse(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      std::cout << usage();
      return Parsed::kHelpShown;
    }
    const Option* o = find(flag);
    if (!o) throw UsageError("unknown option '" + flag + "'");
    given_.push_back(o->name);
    if (o->kind == Kind::kSwitch) {
      o->set("");
      continue;
    }
    if (i + 1 >= argc) throw UsageError(flag + " expects " + expected(*o) + ", found nothing");
    o->set(argv[++i]);
  }
  return Parsed::kRun;
}

bool Options::given(const std::string& name) const {
  return std::find(given_.begin(), given_.end(), name) != given_.end();
}

std::string Options::usage() const {
  std::string s = usage_ + "\n\n";
  for (const auto& o : options_) {
    if (o.help.empty()) continue;
    std::string name = o.name + (o.value.empty() ? "" : " " + o.value);
    name.resize(std::max(kNameColumn, name.size()), ' ');
    std::string help = o.help;
    for (size_t at = 0; (at = help.find('\n', at)) != std::string::npos; at += kNameColumn + 5)
      help.insert(at + 1, std::string(kNameColumn + 4, ' '));
    s += "  " + name + "  " + help + "\n";
  }
  if (!epilogue_.empty()) s += "\n" + epilogue_;
  return s;
}

}  // namespace torchclad::cli
