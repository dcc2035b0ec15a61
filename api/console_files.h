// The console's built files (api/console, built by the CMake target `console` into
// build/console), read once when the server starts and served from memory at /console/
// (../shared/spec/CONSOLE.md). Nothing is read from disk per request, so no request can name a
// path outside the directory, and a rebuild is seen at the next start.
//
// Thread-safety: immutable after Load; share it freely.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"

namespace custos::api {

class ConsoleFiles {
 public:
  struct File {
    std::string content_type;
    std::string body;
    std::string etag;        // a strong validator: "<first 32 hex of the body's SHA-256>"
    bool immutable = false;  // under assets/: its name carries a hash of its content
  };

  // Reads every regular file under `dir` (symbolic links and names starting with '.' are
  // skipped). An error when `dir` holds no index.html, or passes the bounds: 4 levels, 2,000
  // files, 64 MiB in all (sizes are checked before anything is read).
  static core::Result<std::shared_ptr<const ConsoleFiles>> Load(const std::string& dir);

  // The file at a '/'-separated path below the directory ("index.html",
  // "assets/app-3F2K9Q1A.js"), or nullptr.
  [[nodiscard]] const File* Find(std::string_view relative) const;
  [[nodiscard]] const File& index() const { return *index_; }
  [[nodiscard]] size_t size() const { return files_.size(); }
  [[nodiscard]] const std::string& dir() const { return dir_; }

  // Where `custos serve` looks when --console-dir is not given: beside the executable
  // (build/console in a build tree), then ../share/custos/console (an installed layout).
  // "" when neither holds an index.html.
  static std::string DefaultDir();

 private:
  std::string dir_;
  std::map<std::string, File, std::less<>> files_;
  const File* index_ = nullptr;
};

}  // namespace custos::api
