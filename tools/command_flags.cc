#include <cstdio>

#include "tools/commands.h"

namespace custos::tools {

std::optional<int> ParseCommandFlags(const std::string& command, const std::string& synopsis,
                                     const Args& args, std::vector<FlagSpec> specs, Flags& out) {
  specs.push_back(FlagSpec{"help", false, "", "print this help"});
  core::Result<Flags> flags = Flags::Parse(args, specs);
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
