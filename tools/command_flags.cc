#include <cstdio>

#include "storage/data_dir.h"
#include "tools/commands.h"

namespace custos::tools {

core::Result<std::unique_ptr<storage::RocksStore>> OpenDataDirStore(const std::string& data_dir,
                                                                    const core::Clock* clock) {
  CUSTOS_RETURN_IF_ERROR(storage::CheckDataDirFormat(data_dir, /*writable=*/false));
  storage::StoreOptions options;
  options.path = storage::StorePathForDataDir(data_dir);
  options.clock = clock;
  options.read_only = clock == nullptr;
  core::Result<std::unique_ptr<storage::RocksStore>> store = storage::RocksStore::Open(options);
  if (!store.ok()) {
    if (store.error().message.find("lock") != std::string::npos) {
      return core::Unavailable(store.error().message +
                               " (a server holds this data dir: stop it first)");
    }
    return store.error();
  }
  if (clock != nullptr) {
    CUSTOS_RETURN_IF_ERROR(storage::CheckDataDirFormat(data_dir, /*writable=*/true));
  }
  return store;
}

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
