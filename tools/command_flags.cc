#include <cstdio>

#include "tools/commands.h"

namespace custos::tools {

std::optional<int> ParseCommandFlags(const std::string& command, const std::string& synopsis,
                                     const Args& args, std::vector<FlagSpec> specs, Flags& out,
                                     CommandFlagOptions options) {
  if (options.config_file) {
    specs.push_back(FlagSpec{"config", true, "",
                             "read these flags from FILE too: `name = value` lines with the "
                             "flags' names (`#` comments); the command line and the "
                             "environment win over it"});
  }
  specs.push_back(FlagSpec{"help", false, "", "print this help", {}, false, 'h'});
  core::Result<Flags> flags = Flags::Parse(args, specs);
  if (flags.ok() && !options.positional && !flags->positional().empty()) {
    flags = core::InvalidArgument("unexpected argument '" + flags->positional().front() + "'");
  }
  if (!flags.ok()) {
    std::fprintf(stderr, "custos %s: %s\nusage: custos %s %s\n%s", command.c_str(),
                 flags.error().message.c_str(), command.c_str(), synopsis.c_str(),
                 FlagsHelp(specs).c_str());
    return kExitUsage;
  }
  if (flags->values_set("help")) {
    std::printf("usage: custos %s %s\n%s", command.c_str(), synopsis.c_str(),
                FlagsHelp(specs).c_str());
    return kExitOk;
  }
  out = std::move(flags).value();
  return std::nullopt;
}

}  // namespace custos::tools
