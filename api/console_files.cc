#include "api/console_files.h"

#include <unistd.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <system_error>

#include "core/sha256.h"

namespace custos::api {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxFiles = 2000;
constexpr size_t kMaxBytes = size_t{64} << 20;
constexpr int kMaxDepth = 4;

std::string ContentTypeOf(std::string_view name) {
  struct Type {
    std::string_view ext;
    std::string_view type;
  };
  static constexpr std::array<Type, 13> kTypes{{
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".map", "application/json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".woff2", "font/woff2"},
      {".txt", "text/plain; charset=utf-8"},
      {".webmanifest", "application/manifest+json"},
      {".webp", "image/webp"},
  }};
  for (const Type& t : kTypes) {
    if (name.ends_with(t.ext)) return std::string(t.type);
  }
  return "application/octet-stream";
}

bool Hidden(const fs::path& p) {
  const std::string name = p.filename().string();
  return name.empty() || name[0] == '.';
}

}  // namespace

core::Result<std::shared_ptr<const ConsoleFiles>> ConsoleFiles::Load(const std::string& dir) {
  auto files = std::make_shared<ConsoleFiles>();
  files->dir_ = dir;
  std::error_code ec;
  const fs::path root(dir);
  if (!fs::is_directory(root, ec)) {
    return core::InvalidArgument("console dir " + dir + " is not a directory");
  }
  size_t total = 0;
  fs::recursive_directory_iterator it(root, fs::directory_options::none, ec);
  if (ec) return core::InvalidArgument("console dir " + dir + ": " + ec.message());
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) return core::InvalidArgument("console dir " + dir + ": " + ec.message());
    const fs::directory_entry& entry = *it;
    const fs::file_status status = entry.symlink_status(ec);
    if (ec) return core::InvalidArgument("console dir " + dir + ": " + ec.message());
    if (Hidden(entry.path()) || fs::is_symlink(status)) {
      if (fs::is_directory(status)) it.disable_recursion_pending();
      continue;
    }
    if (fs::is_directory(status)) {
      if (it.depth() + 1 >= kMaxDepth) {
        return core::InvalidArgument("console dir " + dir +
                                     " nests deeper than 4 levels: " + entry.path().string());
      }
      continue;
    }
    if (!fs::is_regular_file(status)) continue;
    if (files->files_.size() >= kMaxFiles) {
      return core::InvalidArgument("console dir " + dir + " holds more than 2000 files");
    }
    const uintmax_t size = entry.file_size(ec);
    if (ec || total + size > kMaxBytes) {
      return core::InvalidArgument("console dir " + dir + " holds more than 64 MiB");
    }
    std::string body(static_cast<size_t>(size), '\0');
    std::ifstream in(entry.path(), std::ios::binary);
    in.read(body.data(), static_cast<std::streamsize>(body.size()));
    if (!in || in.gcount() != static_cast<std::streamsize>(body.size())) {
      return core::InvalidArgument("console dir: cannot read " + entry.path().string());
    }
    total += body.size();
    std::string relative = entry.path().lexically_relative(root).generic_string();
    File f;
    f.content_type = ContentTypeOf(relative);
    f.etag = "\"" + core::Sha256Hex(body).substr(0, 32) + "\"";
    f.immutable = relative.starts_with("assets/");
    f.body = std::move(body);
    files->files_.emplace(std::move(relative), std::move(f));
  }
  auto index = files->files_.find("index.html");
  if (index == files->files_.end()) {
    return core::InvalidArgument("console dir " + dir +
                                 " has no index.html (build it: cmake --build build --target "
                                 "console)");
  }
  files->index_ = &index->second;
  return std::shared_ptr<const ConsoleFiles>(std::move(files));
}

const ConsoleFiles::File* ConsoleFiles::Find(std::string_view relative) const {
  auto it = files_.find(relative);
  return it == files_.end() ? nullptr : &it->second;
}

std::string ConsoleFiles::DefaultDir() {
  std::array<char, 4096> buf{};
  const ssize_t n = ::readlink("/proc/self/exe", buf.data(), buf.size() - 1);
  if (n <= 0) return "";
  const fs::path exe_dir = fs::path(std::string(buf.data(), static_cast<size_t>(n))).parent_path();
  std::error_code ec;
  for (const fs::path& candidate :
       {exe_dir / "console", exe_dir.parent_path() / "share" / "custos" / "console"}) {
    if (fs::is_regular_file(candidate / "index.html", ec)) return candidate.string();
  }
  return "";
}

}  // namespace custos::api
