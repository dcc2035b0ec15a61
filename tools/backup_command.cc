// custos backup --data-dir DIR --to DIR2: a backup of a stopped server's data dir (a running
// one takes it online: POST /v1/backup). custos restore --from DIR2 --data-dir DIR3: a data
// dir a server can open, made from a backup. Both print {"seq","path","time"}; the layout and
// its guarantees are storage/data_dir.h's.
#include <cstdio>

#include "core/json_writer.h"
#include "storage/data_dir.h"
#include "tools/commands.h"

namespace custos::tools {
namespace {

void PrintBackup(const storage::BackupInfo& b) {
  core::JsonWriter w;
  w.BeginObject().Key("seq").UInt(b.seq).Key("path").String(b.path);
  w.Key("time").String(b.time).EndObject();
  std::printf("%s\n", w.str().c_str());
}

}  // namespace

int RunBackup(const Args& args) {
  Flags flags;
  if (auto exit = ParseCommandFlags(
          "backup", "--data-dir DIR --to NEW_DIR", args,
          {{"data-dir", true, "",
            "the data directory (the server must be stopped; a running one: POST /v1/backup)"},
           {"to", true, "",
            "where the backup goes: an absolute path that does not exist yet, outside DIR "
            "(on another file system, so that it survives the disk)"}},
          flags)) {
    return *exit;
  }
  core::Result<std::string> data_dir = flags.Require("data-dir");
  if (!data_dir.ok()) return ReportError("backup", data_dir.error());
  core::Result<std::string> to = flags.Require("to");
  if (!to.ok()) return ReportError("backup", to.error());
  core::SystemClock clock;
  auto store = OpenDataDirStore(*data_dir, &clock);
  if (!store.ok()) return ReportError("backup", store.error());
  core::Result<storage::BackupInfo> made = storage::TakeBackup(**store, *data_dir, *to, clock);
  if (!made.ok()) {
    core::Error e = made.error();
    if (!e.fields.empty()) e.message = "--to: " + e.fields.front().message;
    return ReportError("backup", e);
  }
  PrintBackup(*made);
  return kExitOk;
}

int RunRestore(const Args& args) {
  Flags flags;
  if (auto exit = ParseCommandFlags(
          "restore", "--from BACKUP_DIR --data-dir NEW_DIR", args,
          {{"from", true, "", "a backup (custos backup, or POST /v1/backup)"},
           {"data-dir", true, "", "the data dir to make: absent, or an empty directory"}},
          flags)) {
    return *exit;
  }
  core::Result<std::string> from = flags.Require("from");
  if (!from.ok()) return ReportError("restore", from.error());
  core::Result<std::string> data_dir = flags.Require("data-dir");
  if (!data_dir.ok()) return ReportError("restore", data_dir.error());
  core::Result<storage::BackupInfo> restored = storage::RestoreBackup(*from, *data_dir);
  if (!restored.ok()) return ReportError("restore", restored.error());
  PrintBackup(*restored);
  return kExitOk;
}

}  // namespace custos::tools
