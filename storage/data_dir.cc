#include "storage/data_dir.h"

#include <sys/stat.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/json_value.h"
#include "core/json_writer.h"
#include "core/private_file.h"
#include "core/time.h"

namespace custos::storage {
namespace {

namespace fs = std::filesystem;

constexpr const char* kFormatFile = "/format";
constexpr const char* kManifest = "/custos-backup.json";
// What a data dir holds besides its store; copied as they are.
constexpr const char* kCopied[] = {"keys", "root-client.json", "clock-offset"};

core::Status FsError(const std::string& what, const std::error_code& e) {
  return core::Internal(what + ": " + e.message());
}

// Copies `from` (a file, or a directory and everything in it) to `to`, which must not exist:
// directories 0700, files 0600, each synced. A symbolic link is refused, not followed.
core::Status CopyTree(const fs::path& from, const fs::path& to) {
  std::error_code e;
  const fs::file_status status = fs::symlink_status(from, e);
  if (e) return FsError("reading " + from.string(), e);
  if (fs::is_symlink(status)) {
    return core::InvalidArgument(from.string() + " is a symbolic link; a data dir holds none");
  }
  if (fs::is_directory(status)) {
    if (::mkdir(to.c_str(), 0700) != 0) return core::Internal("cannot make " + to.string());
    for (const fs::directory_entry& entry : fs::directory_iterator(from, e)) {
      CUSTOS_RETURN_IF_ERROR(CopyTree(entry.path(), to / entry.path().filename()));
    }
    if (e) return FsError("listing " + from.string(), e);
    return core::SyncPath(to.string());
  }
  if (!fs::is_regular_file(status)) {
    return core::InvalidArgument(from.string() + " is neither a file nor a directory");
  }
  fs::copy_file(from, to, fs::copy_options::none, e);
  if (e) return FsError("copying " + from.string() + " to " + to.string(), e);
  fs::permissions(to, fs::perms::owner_read | fs::perms::owner_write, e);
  if (e) return FsError("setting the mode of " + to.string(), e);
  return core::SyncPath(to.string());
}

// The store's last seq, opened read-only where it is.
core::Result<uint64_t> StoredLastSeq(const std::string& db) {
  StoreOptions options;
  options.path = db;
  options.read_only = true;
  CUSTOS_ASSIGN_OR_RETURN(std::unique_ptr<RocksStore> store, RocksStore::Open(options));
  return store->LastSeq().value();
}

// Removes a directory this code made when what was being made in it failed.
struct RemoveUnlessKept {
  fs::path path;
  bool keep = false;
  ~RemoveUnlessKept() {
    std::error_code ignored;
    if (!keep) fs::remove_all(path, ignored);
  }
};

core::Result<BackupInfo> ReadManifest(const std::string& from) {
  std::ifstream in(from + kManifest, std::ios::binary);
  if (!in) {
    return core::InvalidArgument(from + " is not a complete Custos backup (no " +
                                 std::string(kManifest + 1) + ")");
  }
  std::stringstream text;
  text << in.rdbuf();
  core::Result<core::JsonValue> json = core::ParseJson(text.str());
  const core::JsonValue* format = json.ok() ? json->Find("format") : nullptr;
  const core::JsonValue* seq = json.ok() ? json->Find("seq") : nullptr;
  const core::JsonValue* time = json.ok() ? json->Find("time") : nullptr;
  if (format == nullptr || seq == nullptr || time == nullptr || !format->AsInt() || !seq->AsInt() ||
      *seq->AsInt() < 0 || !time->is_string()) {
    return core::Corruption(from + kManifest + " is not a backup manifest");
  }
  if (*format->AsInt() != kDataDirFormat) {
    return core::InvalidArgument(from + " holds data-dir format " +
                                 std::to_string(*format->AsInt()) + "; this Custos reads format " +
                                 std::to_string(kDataDirFormat));
  }
  return BackupInfo{static_cast<uint64_t>(*seq->AsInt()), from, time->text()};
}

}  // namespace

core::Status CheckDataDirFormat(const std::string& data_dir, bool writable) {
  const std::string path = data_dir + kFormatFile;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::error_code e;
    if (fs::exists(path, e)) return core::Internal("cannot read " + path);
    if (!writable) return core::OkStatus();  // format 1, from before the file
    return core::WritePrivateFile(path, std::to_string(kDataDirFormat) + "\n");
  }
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  int format = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), format);
  if (ec != std::errc() || end != text.data() + text.size() || format < 1) {
    return core::Corruption(path + " should hold the data-dir format (a number), holds '" +
                            text.substr(0, 40) + "'");
  }
  if (format > kDataDirFormat) {
    return core::Error{core::Errc::kConflict,
                       data_dir + " was written by a newer Custos (data-dir format " +
                           std::to_string(format) + "; this one reads format " +
                           std::to_string(kDataDirFormat) +
                           "): run that version, or restore a backup taken by this one",
                       {}};
  }
  if (format < kDataDirFormat) {
    return core::Error{core::Errc::kConflict,
                       data_dir + " has data-dir format " + std::to_string(format) +
                           ", which this Custos (format " + std::to_string(kDataDirFormat) +
                           ") does not read",
                       {}};
  }
  return core::OkStatus();
}

core::Result<BackupInfo> TakeBackup(RocksStore& store, const std::string& data_dir,
                                    const std::string& to, const core::Clock& clock) {
  if (to.empty() || to.front() != '/') {
    return core::InvalidField("to", "must be an absolute path, got '" + to + "'");
  }
  fs::path target = fs::path(to).lexically_normal();
  if (!target.has_filename()) target = target.parent_path();  // a trailing slash
  std::error_code e;
  if (fs::exists(fs::symlink_status(target, e))) {
    return core::Error{core::Errc::kConflict,
                       target.string() + " already exists: a backup goes into a new directory",
                       {{"to", "already exists: a backup goes into a new directory"}}};
  }
  const fs::path parent = fs::canonical(target.parent_path(), e);
  if (e || !fs::is_directory(parent)) {
    return core::InvalidField(
        "to", "its parent directory " + target.parent_path().string() + " does not exist");
  }
  const fs::path home = fs::canonical(data_dir, e);
  if (e) return FsError("resolving " + data_dir, e).error();
  const std::string inside = (parent / target.filename()).string() + "/";
  if (inside.rfind(home.string() + "/", 0) == 0) {
    return core::InvalidField("to", "must be outside the data dir " + home.string());
  }
  target = parent / target.filename();
  if (::mkdir(target.c_str(), 0700) != 0) {
    return core::Internal("cannot make " + target.string());
  }
  RemoveUnlessKept cleanup{target};
  BackupInfo info;
  info.path = target.string();
  info.time = core::FormatTime(clock.Now());
  CUSTOS_RETURN_IF_ERROR(store.CreateCheckpoint((target / "db").string()));
  for (const char* name : kCopied) {
    const fs::path from = fs::path(data_dir) / name;
    if (!fs::exists(fs::symlink_status(from, e))) continue;
    CUSTOS_RETURN_IF_ERROR(CopyTree(from, target / name));
  }
  CUSTOS_ASSIGN_OR_RETURN(info.seq, StoredLastSeq((target / "db").string()));
  CUSTOS_RETURN_IF_ERROR(
      core::WritePrivateFile((target / "format").string(), std::to_string(kDataDirFormat) + "\n"));
  core::JsonWriter manifest;
  manifest.BeginObject()
      .Key("format")
      .UInt(kDataDirFormat)
      .Key("seq")
      .UInt(info.seq)
      .Key("time")
      .String(info.time)
      .Key("source")
      .String(home.string())
      .EndObject();
  CUSTOS_RETURN_IF_ERROR(
      core::WritePrivateFile(target.string() + kManifest, manifest.str() + "\n"));
  cleanup.keep = true;
  return info;
}

core::Result<BackupInfo> RestoreBackup(const std::string& from, const std::string& data_dir) {
  CUSTOS_ASSIGN_OR_RETURN(BackupInfo info, ReadManifest(from));
  std::error_code e;
  fs::path target = fs::path(data_dir).lexically_normal();
  if (!target.has_filename()) target = target.parent_path();
  if (fs::exists(fs::symlink_status(target, e))) {
    if (!fs::is_directory(fs::symlink_status(target, e)) || !fs::is_empty(target, e)) {
      return core::Error{core::Errc::kConflict,
                         target.string() +
                             " already exists and is not an empty directory: a "
                             "backup is restored into a new data dir",
                         {}};
    }
  }
  // Made beside the target, then renamed into place: a data dir is restored whole or not at
  // all.
  const fs::path staging = target.string() + ".restoring";
  fs::remove_all(staging, e);  // what a crashed restore left
  if (::mkdir(staging.c_str(), 0700) != 0) {
    return core::Internal("cannot make " + staging.string());
  }
  RemoveUnlessKept cleanup{staging};
  CUSTOS_RETURN_IF_ERROR(CopyTree(fs::path(from) / "db", staging / "db"));
  for (const char* name : kCopied) {
    const fs::path source = fs::path(from) / name;
    if (!fs::exists(fs::symlink_status(source, e))) continue;
    CUSTOS_RETURN_IF_ERROR(CopyTree(source, staging / name));
  }
  CUSTOS_RETURN_IF_ERROR(
      core::WritePrivateFile((staging / "format").string(), std::to_string(kDataDirFormat) + "\n"));
  CUSTOS_ASSIGN_OR_RETURN(const uint64_t seq, StoredLastSeq((staging / "db").string()));
  if (seq != info.seq) {
    return core::Corruption("the backup's store ends at seq " + std::to_string(seq) +
                            ", its manifest says " + std::to_string(info.seq));
  }
  fs::remove(target, e);  // the empty directory, if there was one
  fs::rename(staging, target, e);
  if (e) return FsError("renaming " + staging.string() + " to " + target.string(), e).error();
  cleanup.keep = true;
  CUSTOS_RETURN_IF_ERROR(core::SyncPath(target.parent_path().string()));
  info.path = target.string();
  return info;
}

}  // namespace custos::storage
