#include "core/private_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>

namespace custos::core {
namespace {

std::string Errno() { return std::strerror(errno); }

std::string Octal(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

}  // namespace

Status SyncPath(const std::string& path) {
  const int fd = ::open(path.empty() ? "." : path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Unavailable("cannot open " + path + " to sync it: " + Errno());
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!synced) return Unavailable("cannot sync " + path + ": " + Errno());
  return OkStatus();
}

Status EnsurePrivateDir(const std::string& dir) {
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) {
    if (errno != ENOENT) return Unavailable("cannot inspect " + dir + ": " + Errno());
    const std::filesystem::path parent = std::filesystem::path(dir).parent_path();
    std::error_code ec;
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
      return Unavailable("cannot create " + dir + ": " + Errno());
    }
    if (::lstat(dir.c_str(), &st) != 0)
      return Unavailable("cannot inspect " + dir + ": " + Errno());
  }
  if (S_ISLNK(st.st_mode)) {
    return Error{Errc::kPermissionDenied, dir + " is a symbolic link; give a real directory", {}};
  }
  if (!S_ISDIR(st.st_mode)) return Error{Errc::kPermissionDenied, dir + " is not a directory", {}};
  if (st.st_uid != ::geteuid()) {
    return Error{Errc::kPermissionDenied,
                 dir + " belongs to uid " + std::to_string(st.st_uid) +
                     ", not to this server's uid " + std::to_string(::geteuid()) +
                     ": refusing to keep keys and credentials where another user can reach them",
                 {}};
  }
  if ((st.st_mode & 0777) != 0700 && ::chmod(dir.c_str(), 0700) != 0) {
    return Error{Errc::kPermissionDenied,
                 "cannot narrow " + dir + " (mode " + Octal(st.st_mode) + ") to 0700: " + Errno(),
                 {}};
  }
  return OkStatus();
}

Status WritePrivateFile(const std::string& path, std::string_view content) {
  const std::string dir = std::filesystem::path(path).parent_path().string();
  // A name nobody can have planted: O_EXCL fails on anything already there, O_NOFOLLOW on a
  // link.
  static std::atomic<uint64_t> counter{0};
  std::string tmp;
  int fd = -1;
  for (int attempt = 0; attempt < 8 && fd < 0; ++attempt) {
    tmp = path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(++counter);
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0 && errno != EEXIST) {
      return Unavailable("cannot create " + tmp + ": " + Errno());
    }
  }
  if (fd < 0) return Unavailable("cannot create a temporary file beside " + path);
  bool ok = ::fchmod(fd, 0600) == 0;  // whatever the umask
  size_t done = 0;
  while (ok && done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  const std::string failure = ok ? "" : Errno();
  ok = ::close(fd) == 0 && ok;
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = failure.empty() ? Errno() : failure;
    ::unlink(tmp.c_str());
    return Unavailable("cannot write " + path + ": " + why);
  }
  return SyncPath(dir);
}

Result<std::optional<std::string>> ReadPrivateFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::optional<std::string>();
    if (errno == ELOOP) {
      return Error{Errc::kPermissionDenied, path + " is a symbolic link; refusing it", {}};
    }
    return Unavailable("cannot read " + path + ": " + Errno());
  }
  struct stat st {};
  std::string out;
  Status status = OkStatus();
  if (::fstat(fd, &st) != 0) {
    status = Unavailable("cannot inspect " + path + ": " + Errno());
  } else if (st.st_uid != ::geteuid()) {
    status = Error{Errc::kPermissionDenied,
                   path + " belongs to uid " + std::to_string(st.st_uid) +
                       ", not to this server's uid " + std::to_string(::geteuid()),
                   {}};
  } else if ((st.st_mode & 077) != 0) {
    status = Error{Errc::kPermissionDenied,
                   path + " has mode " + Octal(st.st_mode) +
                       ": others may read or change it; make it 0600 (chmod 600)",
                   {}};
  } else {
    char buf[4096];
    while (true) {
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        status = Unavailable("cannot read " + path + ": " + Errno());
        break;
      }
      if (n == 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  CUSTOS_RETURN_IF_ERROR(status);
  return std::optional<std::string>(std::move(out));
}

}  // namespace custos::core
