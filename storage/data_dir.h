// A data directory's layout, its version, and how it is backed up and restored.
//
//   DIR/format            the layout's version ("1"), checked whenever the dir is opened
//   DIR/db/               the RocksDB store (StorePathForDataDir)
//   DIR/keys/             the signing keys (tokens, audit checkpoints)
//   DIR/root-client.json  the root client's credentials
//   DIR/clock-offset      a drill's mark (custos serve --clock-offset)
//
// A backup has the same layout plus custos-backup.json, its manifest, written last: a
// directory without one is not a backup (a backup that failed half-way removes itself). Its
// store is a RocksDB checkpoint, consistent as of one moment: the log up to `seq` and every
// projection, credential and consumer offset written with it. Restoring copies every file
// (a restored data dir shares nothing with the backup) into a fresh directory and renames it
// into place, so a data dir is either restored whole or not there.
//
// Thread-safety: plain functions; TakeBackup may run while the store serves.
#pragma once

#include <cstdint>
#include <string>

#include "core/clock.h"
#include "core/result.h"
#include "storage/rocks_store.h"

namespace custos::storage {

inline constexpr int kDataDirFormat = 1;

// Checks DIR/format. A dir without one (new, or written before the file existed, which is
// format 1) gets one when `writable`. Another version is refused with what to do.
[[nodiscard]] core::Status CheckDataDirFormat(const std::string& data_dir, bool writable);

struct BackupInfo {
  uint64_t seq = 0;  // the last event of the log the backup holds (0: none)
  std::string path;
  std::string time;  // when it was taken, RFC 3339
};

// Backs up the data dir `data_dir`, whose store `store` is (open, maybe serving), into `to`:
// an absolute path that does not exist yet, outside the data dir, whose parent does.
[[nodiscard]] core::Result<BackupInfo> TakeBackup(RocksStore& store, const std::string& data_dir,
                                                  const std::string& to, const core::Clock& clock);

// Makes the data dir `data_dir` (absent, or an empty directory) from the backup in `from`,
// and checks that its store opens and holds the backup's `seq`.
[[nodiscard]] core::Result<BackupInfo> RestoreBackup(const std::string& from,
                                                     const std::string& data_dir);

}  // namespace custos::storage
