// Files only the server's own user may touch: the data directory, its keys, the root
// credentials. A directory that belongs to another user is refused rather than used (whoever
// owns it could read or replace what the server writes there); files are written through a
// fresh temporary file (O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600), fsynced, renamed into place
// and the directory fsynced; a file that exists but cannot be read is an error, never a
// reason to make a new one.
//
// Thread-safety: plain functions over the file system.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace custos::core {

// Creates `dir` (mode 0700) if missing. An existing one must be a real directory (not a
// symbolic link) owned by this process's effective user; its mode is narrowed to 0700 (the
// chmod checked). kFailedPrecondition otherwise, naming the owner.
[[nodiscard]] Status EnsurePrivateDir(const std::string& dir);

// fsync of a file or directory ("" is the current directory).
[[nodiscard]] Status SyncPath(const std::string& path);

// Replaces `path` with `content`, durably and atomically, mode 0600.
[[nodiscard]] Status WritePrivateFile(const std::string& path, std::string_view content);

// The content of `path`; nullopt when it does not exist. A file that is a symbolic link,
// belongs to another user, is readable or writable by others, or cannot be read is an error.
[[nodiscard]] Result<std::optional<std::string>> ReadPrivateFile(const std::string& path);

}  // namespace custos::core
