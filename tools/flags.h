// The custos subcommands' flags, from one definition (a FlagSpec list) read three ways with
// Boost.Program_options: the command line (`--name value`, `--name=value`, boolean `--name`,
// `-h`), an environment-variable twin per flag (`--data-dir` / CUSTOS_DATA_DIR) and, where a
// command takes `--config FILE`, a file of `name = value` lines (INI, as Program_options reads
// it; `#` starts a comment). The command line wins over the environment, which wins over the
// file, which wins over the default; on the command line the last of a flag given twice wins.
// Unknown flags, missing values, a single-valued flag given twice in a file and values outside
// a flag's choices are errors (exit code 2).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/result.h"

namespace custos::tools {

struct FlagSpec {
  std::string name;       // without the leading dashes: "data-dir"
  bool has_value = true;  // false: a switch, `--name` (`name = true|false` in a file)
  std::string default_value;
  std::string help;
  std::vector<std::string> choices;  // when not empty, the only values allowed
  bool repeatable = false;           // given any number of times; GetAll reads them
  char short_name = 0;               // `-h` for help; nothing else has one
};

class Flags {
 public:
  // `args` excludes the program and subcommand names. With a spec named "config", a file it
  // names (on the command line or in CUSTOS_CONFIG) is read for the other flags.
  [[nodiscard]] static core::Result<Flags> Parse(const std::vector<std::string>& args,
                                                 const std::vector<FlagSpec>& specs);

  // The value from the command line, else CUSTOS_<NAME>, else the config file, else the
  // default (if not empty). For a repeatable flag, its last value from the first source
  // that has any.
  [[nodiscard]] std::optional<std::string> Get(const std::string& name) const;
  // Every value of a repeatable flag from every source: the file's, then the environment's
  // (its twin holds one value per line), then the command line's — so that where a later
  // value overrides an earlier one (a Kafka property set twice), the command line wins.
  [[nodiscard]] std::vector<std::string> GetAll(const std::string& name) const;
  [[nodiscard]] core::Result<std::string> Require(const std::string& name) const;
  [[nodiscard]] core::Result<uint64_t> GetUInt(const std::string& name, uint64_t min,
                                               uint64_t max) const;
  [[nodiscard]] bool IsSet(const std::string& name) const;
  // True if the flag was given on the command line (ignores environment, file and default).
  [[nodiscard]] bool values_set(const std::string& name) const { return values_.count(name) > 0; }
  [[nodiscard]] const std::vector<std::string>& positional() const { return positional_; }

 private:
  using Values = std::unordered_map<std::string, std::vector<std::string>>;
  [[nodiscard]] const std::vector<std::string>* Find(const std::string& name) const;

  Values values_;       // the command line
  Values environment_;  // CUSTOS_<NAME>, read once at Parse
  Values file_;         // --config FILE
  std::unordered_map<std::string, FlagSpec> specs_;
  std::vector<std::string> positional_;
};

// "CUSTOS_DATA_DIR" for "data-dir".
[[nodiscard]] std::string EnvName(const std::string& flag);
// One "  --name VALUE  help [env, default, choices]" line per flag.
[[nodiscard]] std::string FlagsHelp(const std::vector<FlagSpec>& specs);

}  // namespace custos::tools
