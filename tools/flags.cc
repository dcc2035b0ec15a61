#include "tools/flags.h"

#include <charconv>
#include <cstdlib>

namespace custos::tools {

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
  flags.spec_storage_ = specs;
  for (const FlagSpec& s : flags.spec_storage_) flags.specs_[s.name] = &s;
  bool only_positional = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (only_positional || arg.size() < 3 || arg.rfind("--", 0) != 0) {
      if (arg == "--") {
        only_positional = true;
        continue;
      }
      flags.positional_.push_back(arg);
      continue;
    }
    std::string name = arg.substr(2);
    std::optional<std::string> value;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    }
    auto it = flags.specs_.find(name);
    if (it == flags.specs_.end()) return core::InvalidArgument("unknown flag --" + name);
    if (!it->second->has_value) {
      if (value) return core::InvalidArgument("--" + name + " takes no value");
      flags.values_[name] = "true";
      continue;
    }
    if (!value) {
      if (i + 1 >= args.size()) return core::InvalidArgument("--" + name + " needs a value");
      value = args[++i];
    }
    flags.values_[name] = *value;
  }
  return flags;
}

std::optional<std::string> Flags::Get(const std::string& name) const {
  if (auto it = values_.find(name); it != values_.end()) return it->second;
  if (const char* env = std::getenv(EnvName(name).c_str()); env != nullptr && *env != '\0') {
    return std::string(env);
  }
  if (auto it = specs_.find(name); it != specs_.end() && !it->second->default_value.empty()) {
    return it->second->default_value;
  }
  return std::nullopt;
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
    std::string left = "  --" + s.name + (s.has_value ? " VALUE" : "");
    if (left.size() < 26) left.resize(26, ' ');
    out += left + " " + s.help + " [" + EnvName(s.name) +
           (s.default_value.empty() ? "" : ", default " + s.default_value) + "]\n";
  }
  return out;
}

}  // namespace custos::tools
