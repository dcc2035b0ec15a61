#include "tools/flags.h"

#include <boost/program_options.hpp>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace custos::tools {
namespace po = boost::program_options;
namespace {

constexpr const char* kPositional = "custos-positional";
constexpr const char* kFromEnvironment = "environment";

// The Program_options description of the specs: what each takes, for the command line (a
// switch may stand alone) or for a file (every line has a value).
po::options_description Describe(const std::vector<FlagSpec>& specs, bool command_line) {
  po::options_description description;
  for (const FlagSpec& s : specs) {
    if (!command_line && (s.short_name != 0 || s.name == "config")) continue;
    const std::string name = s.short_name != 0 ? s.name + "," + s.short_name : s.name;
    po::typed_value<std::string>* value = po::value<std::string>();
    // A switch on the command line takes no value (`--check FILE` leaves FILE positional).
    if (!s.has_value && command_line) value->zero_tokens()->implicit_value("true");
    description.add_options()(name.c_str(), value);
  }
  if (command_line) {
    description.add_options()(kPositional, po::value<std::vector<std::string>>());
  }
  return description;
}

// Program_options' own messages name options its way; ours are "--name …".
core::Error UsageError(const po::error& e, const std::string& where) {
  if (const auto* unknown = dynamic_cast<const po::unknown_option*>(&e)) {
    const std::string name = unknown->get_option_name();  // a file's names have no dashes
    return core::InvalidArgument(where + "unknown flag " + (name[0] == '-' ? "" : "--") + name);
  }
  if (const auto* syntax = dynamic_cast<const po::invalid_syntax*>(&e)) {
    std::string name = syntax->get_option_name();
    if (name.rfind("--", 0) != 0) name = "--" + name;
    switch (syntax->kind()) {
      case po::invalid_syntax::missing_parameter:
        return core::InvalidArgument(where + name + " needs a value");
      case po::invalid_syntax::extra_parameter:
        return core::InvalidArgument(where + name + " takes no value");
      default:
        break;
    }
  }
  return core::InvalidArgument(where + e.what());
}

// Adds what one source said to `into`, one list of values per flag.
core::Status Collect(const po::parsed_options& parsed, const std::string& where,
                     std::unordered_map<std::string, FlagSpec> const& specs,
                     std::unordered_map<std::string, std::vector<std::string>>& into,
                     std::vector<std::string>* positional) {
  for (const po::option& o : parsed.options) {
    if (o.string_key == kPositional) {
      if (positional != nullptr)
        positional->insert(positional->end(), o.value.begin(), o.value.end());
      continue;
    }
    const FlagSpec& spec = specs.at(o.string_key);
    std::vector<std::string>& values = into[o.string_key];
    if (!values.empty() && !spec.repeatable) {
      // On the command line the last one wins, so that a wrapper can append an override;
      // in a file a second line for the same flag is a mistake.
      if (positional != nullptr) {
        values.clear();
      } else {
        return core::InvalidArgument(where + "--" + spec.name + " is given more than once");
      }
    }
    values.push_back(o.value.empty() ? std::string("true") : o.value.front());
  }
  return core::OkStatus();
}

// Switches are true or false; flags with choices take one of them.
// `where` prefixes the message ("FILE: "); kFromEnvironment names the variable instead.
core::Status CheckValues(const std::unordered_map<std::string, std::vector<std::string>>& values,
                         const std::unordered_map<std::string, FlagSpec>& specs,
                         const std::string& where) {
  for (const auto& [name, list] : values) {
    const FlagSpec& spec = specs.at(name);
    std::vector<std::string> allowed = spec.choices;
    if (!spec.has_value) allowed = {"true", "false"};
    if (allowed.empty()) continue;
    for (const std::string& v : list) {
      bool ok = false;
      for (const std::string& a : allowed) ok = ok || v == a;
      if (ok) continue;
      std::string one_of;
      for (size_t i = 0; i < allowed.size(); ++i) {
        one_of += (i == 0 ? "" : i + 1 == allowed.size() ? " or " : ", ") + allowed[i];
      }
      const std::string named = where == kFromEnvironment ? EnvName(name) : where + "--" + name;
      return core::InvalidArgument(named + " must be " + one_of + ", got '" + v + "'");
    }
  }
  return core::OkStatus();
}

std::vector<std::string> SplitLines(const std::string& text, bool keep_empty = false) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    if (end > start || keep_empty) lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

}  // namespace

std::string EnvName(const std::string& flag) {
  std::string env = "CUSTOS_";
  for (char c : flag) {
    env += c == '-' ? '_' : static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
  }
  return env;
}

core::Result<Flags> Flags::Parse(const std::vector<std::string>& args,
                                 const std::vector<FlagSpec>& specs) {
  Flags flags;
  for (const FlagSpec& s : specs) flags.specs_[s.name] = s;

  po::positional_options_description positional;
  positional.add(kPositional, -1);
  try {
    // No abbreviations: a flag is named in full, so that adding one never changes another.
    const po::parsed_options parsed =
        po::command_line_parser(args)
            .options(Describe(specs, /*command_line=*/true))
            .positional(positional)
            .style(po::command_line_style::unix_style & ~po::command_line_style::allow_guessing)
            .run();
    CUSTOS_RETURN_IF_ERROR(Collect(parsed, "", flags.specs_, flags.values_, &flags.positional_));
  } catch (const po::error& e) {
    return UsageError(e, "");
  }
  CUSTOS_RETURN_IF_ERROR(CheckValues(flags.values_, flags.specs_, ""));

  for (const FlagSpec& s : specs) {
    if (s.short_name != 0) continue;
    const char* env = std::getenv(EnvName(s.name).c_str());
    if (env == nullptr || *env == '\0') continue;
    std::vector<std::string> values =
        s.repeatable ? SplitLines(env) : std::vector<std::string>{env};
    if (!values.empty()) flags.environment_[s.name] = std::move(values);
  }
  CUSTOS_RETURN_IF_ERROR(CheckValues(flags.environment_, flags.specs_, kFromEnvironment));

  if (flags.specs_.count("config") > 0) {
    if (std::optional<std::string> path = flags.Get("config")) {
      std::ifstream file(*path);
      if (!file) return core::InvalidArgument("--config: cannot read " + *path);
      std::stringstream text;
      text << file.rdbuf();
      const std::string where = *path + ": ";
      // Program_options cuts a line at its first '#', inside a value too: a password with one
      // would be shortened without a word. Refused instead.
      size_t number = 0;
      for (const std::string& line : SplitLines(text.str(), /*keep_empty=*/true)) {
        ++number;
        const size_t first = line.find_first_not_of(" \t");
        if (first != std::string::npos && line[first] != '#' && line[first] != ';' &&
            line.find('#') != std::string::npos) {
          return core::InvalidArgument(
              where + "line " + std::to_string(number) +
              ": '#' starts a comment, so a value cannot hold one; give such a value in the "
              "environment or on the command line (a secret: in a --…-file)");
        }
      }
      std::istringstream in(text.str());
      try {
        const po::parsed_options parsed =
            po::parse_config_file(in, Describe(specs, /*command_line=*/false));
        CUSTOS_RETURN_IF_ERROR(Collect(parsed, where, flags.specs_, flags.file_, nullptr));
      } catch (const po::error& e) {
        return UsageError(e, where);
      }
      CUSTOS_RETURN_IF_ERROR(CheckValues(flags.file_, flags.specs_, where));
    }
  }
  return flags;
}

const std::vector<std::string>* Flags::Find(const std::string& name) const {
  for (const Values* source : {&values_, &environment_, &file_}) {
    if (auto it = source->find(name); it != source->end() && !it->second.empty()) {
      return &it->second;
    }
  }
  return nullptr;
}

std::optional<std::string> Flags::Get(const std::string& name) const {
  if (const std::vector<std::string>* values = Find(name)) return values->back();
  if (auto it = specs_.find(name); it != specs_.end() && !it->second.default_value.empty()) {
    return it->second.default_value;
  }
  return std::nullopt;
}

std::vector<std::string> Flags::GetAll(const std::string& name) const {
  std::vector<std::string> all;
  for (const Values* source : {&file_, &environment_, &values_}) {
    if (auto it = source->find(name); it != source->end()) {
      all.insert(all.end(), it->second.begin(), it->second.end());
    }
  }
  return all;
}

core::Result<std::string> Flags::Require(const std::string& name) const {
  std::optional<std::string> v = Get(name);
  if (!v || v->empty()) {
    return core::InvalidArgument("--" + name + " (or " + EnvName(name) + ") is required");
  }
  return *v;
}

core::Result<uint64_t> Flags::GetUInt(const std::string& name, uint64_t min, uint64_t max) const {
  CUSTOS_ASSIGN_OR_RETURN(std::string text, Require(name));
  uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size() || v < min || v > max) {
    return core::InvalidArgument("--" + name + " must be an integer from " + std::to_string(min) +
                                 " to " + std::to_string(max) + ", got '" + text + "'");
  }
  return v;
}

bool Flags::IsSet(const std::string& name) const {
  std::optional<std::string> v = Get(name);
  return v && *v != "false" && *v != "0";
}

std::string FlagsHelp(const std::vector<FlagSpec>& specs) {
  std::string out;
  for (const FlagSpec& s : specs) {
    std::string left =
        s.short_name != 0 ? std::string("  -") + s.short_name + ", --" + s.name : "  --" + s.name;
    left += s.has_value ? " VALUE" : "";
    if (left.size() < 26) left.resize(26, ' ');
    std::string notes = s.short_name != 0 ? "" : EnvName(s.name);
    if (!s.default_value.empty()) notes += ", default " + s.default_value;
    if (!s.choices.empty()) {
      notes += ", one of";
      for (const std::string& c : s.choices) notes += " " + c;
    }
    if (s.repeatable) notes += ", repeatable";
    out += left + " " + s.help + (notes.empty() ? "" : " [" + notes + "]") + "\n";
  }
  return out;
}

}  // namespace custos::tools
