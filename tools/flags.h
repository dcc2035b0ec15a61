// A small command-line flag parser for the custos subcommands: `--name value`,
// `--name=value`, boolean `--name`, and an environment-variable twin per flag
// (`--data-dir` / CUSTOS_DATA_DIR). The command line wins over the environment, which wins
// over the default. Unknown flags and missing values are errors (exit code 2).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/result.h"

namespace custos::tools {

struct FlagSpec {
  std::string name;  // without the leading dashes: "data-dir"
  bool has_value = true;
  std::string default_value;
  std::string help;
};

class Flags {
 public:
  // `args` excludes the program and subcommand names.
  [[nodiscard]] static core::Result<Flags> Parse(const std::vector<std::string>& args,
                                                 const std::vector<FlagSpec>& specs);

  // The value from the command line, else CUSTOS_<NAME>, else the default (if not empty).
  [[nodiscard]] std::optional<std::string> Get(const std::string& name) const;
  [[nodiscard]] core::Result<std::string> Require(const std::string& name) const;
  [[nodiscard]] core::Result<uint64_t> GetUInt(const std::string& name, uint64_t min,
                                               uint64_t max) const;
  [[nodiscard]] bool IsSet(const std::string& name) const;
  // True if the flag was given on the command line (ignores environment and default).
  [[nodiscard]] bool values_set(const std::string& name) const { return values_.count(name) > 0; }
  [[nodiscard]] const std::vector<std::string>& positional() const { return positional_; }

 private:
  std::unordered_map<std::string, std::string> values_;
  std::unordered_map<std::string, const FlagSpec*> specs_;
  std::vector<FlagSpec> spec_storage_;
  std::vector<std::string> positional_;
};

// "CUSTOS_DATA_DIR" for "data-dir".
[[nodiscard]] std::string EnvName(const std::string& flag);
// One "  --name VALUE  help (env, default)" line per flag.
[[nodiscard]] std::string FlagsHelp(const std::vector<FlagSpec>& specs);

}  // namespace custos::tools
