// The one boundary where rocksdb::Status becomes a core::Error. Private to storage/.
#pragma once

#include <rocksdb/status.h>

#include <string>
#include <string_view>

#include "core/result.h"

namespace custos::storage::internal {

// kUnavailable for I/O trouble (disk full, busy, shutting down) that a retry may cure,
// kCorruption for damaged data, kInternal otherwise.
inline core::Error FromRocks(const rocksdb::Status& s, std::string_view what) {
  std::string message = std::string(what) + ": " + s.ToString();
  if (s.IsIOError() || s.IsBusy() || s.IsTimedOut() || s.IsTryAgain() || s.IsShutdownInProgress() ||
      s.IsIncomplete() || s.IsAborted() || s.subcode() == rocksdb::Status::kNoSpace) {
    return core::Unavailable(std::move(message));
  }
  if (s.IsCorruption()) return core::Corruption(std::move(message));
  return core::Internal(std::move(message));
}

}  // namespace custos::storage::internal
