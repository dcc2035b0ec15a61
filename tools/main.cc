// custos: the one executable. `custos <command> [flags]`; `custos help` lists the commands.
#include <sys/stat.h>

#include <cstdio>
#include <string>
#include <vector>

#include "tools/commands.h"

namespace custos::tools {

int ReportError(const std::string& command, const core::Error& error) {
  std::fprintf(stderr, "custos %s: %s\n", command.c_str(), error.message.c_str());
  return error.code == core::Errc::kInvalidArgument ? kExitUsage : kExitFailure;
}

namespace {

constexpr const char* kUsage =
    "usage: custos <command> [flags]\n"
    "\n"
    "commands:\n"
    "  serve               run the HTTP server over a data dir\n"
    "  verify FILE.jsonl   verify an exported tenant stream offline (hashes, chain, tenant_seq)\n"
    "  dump                write a tenant's stored events as JSONL from a data dir\n"
    "  append              append application events to a data dir's log\n"
    "  rebuild             verify every chain and rebuild the state from the log (server stopped)\n"
    "  backup              back up a data dir (server stopped; a running one: POST /v1/backup)\n"
    "  restore             make a data dir from a backup\n"
    "  keys rotate         retire a signing key and make a new one (server stopped; a running\n"
    "                      one: POST /v1/keys/rotate)\n"
    "  dev-kafka           run a Kafka-protocol dev cluster on 127.0.0.1 until SIGINT/SIGTERM\n"
    "  bench WORKLOAD      run a benchmark workload against its peer (see BENCHMARKS)\n"
    "  version             print the version\n"
    "\n"
    "`custos <command> --help` describes a command's flags.\n";

}  // namespace
}  // namespace custos::tools

int main(int argc, char** argv) {
  using namespace custos::tools;
  if (argc < 2) {
    std::fputs(kUsage, stderr);
    return kExitUsage;
  }
  // Whatever a command creates (stores, backups, keys) is its user's alone.
  ::umask(077);
  const std::string command = argv[1];
  const Args args(argv + 2, argv + argc);
  if (command == "serve") return RunServe(args);
  if (command == "verify") return RunVerify(args);
  if (command == "dump") return RunDump(args);
  if (command == "rebuild") return RunRebuild(args);
  if (command == "append") return RunAppend(args);
  if (command == "dev-kafka") return RunDevKafka(args);
  if (command == "bench") return RunBench(args);
  if (command == "backup") return RunBackup(args);
  if (command == "restore") return RunRestore(args);
  if (command == "keys") return RunKeys(args);
  if (command == "version" || command == "--version") {
    std::printf("custos %s\n", CUSTOS_VERSION);
    return kExitOk;
  }
  if (command == "help" || command == "--help" || command == "-h") {
    std::fputs(kUsage, stdout);
    return kExitOk;
  }
  std::fprintf(stderr, "custos: unknown command '%s'\n\n%s", command.c_str(), kUsage);
  return kExitUsage;
}
