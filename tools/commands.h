// The subcommands of the `custos` executable. Each takes its arguments (after the
// subcommand's name) and returns the process exit code: 0 success, 1 failure (a failed
// verification, an unavailable store), 2 usage error.
#pragma once

#include <string>
#include <vector>

#include "core/clock.h"
#include "core/result.h"

namespace custos::tools {

using Args = std::vector<std::string>;

int RunVerify(const Args& args);
int RunDump(const Args& args);
int RunRebuild(const Args& args);
int RunAppend(const Args& args);
int RunDevKafka(const Args& args);
int RunBench(const Args& args);
int RunServe(const Args& args);
int RunBackup(const Args& args);
int RunRestore(const Args& args);
int RunKeys(const Args& args);

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

// Prints "custos <command>: <message>" to stderr and returns the exit code for the error
// (kExitUsage for invalid arguments, kExitFailure otherwise).
int ReportError(const std::string& command, const core::Error& error);

}  // namespace custos::tools

#include <optional>

#include "storage/rocks_store.h"
#include "tools/flags.h"

namespace custos::tools {

// Opens a data dir's store for a command, its format checked first (and stamped once the
// store is open, when writable): read-only without a clock, writable with one. A store
// held by a running server is named as such.
[[nodiscard]] core::Result<std::unique_ptr<storage::RocksStore>> OpenDataDirStore(
    const std::string& data_dir, const core::Clock* clock);

struct CommandFlagOptions {
  bool positional = false;   // the command takes arguments besides flags
  bool config_file = false;  // `--config FILE` is added
};

// Parses a command's flags (`-h/--help` is added). Returns an exit code when the command
// should stop here (help printed, or a usage error reported), nullopt to go on.
std::optional<int> ParseCommandFlags(const std::string& command, const std::string& synopsis,
                                     const Args& args, std::vector<FlagSpec> specs, Flags& out,
                                     CommandFlagOptions options = {});

}  // namespace custos::tools
