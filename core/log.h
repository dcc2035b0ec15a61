// The Log port: where the server's messages go. Library code (core, projections, storage,
// api) says what happened through these functions, with a level and named fields (tenant,
// request id, …); the process decides how it is written by installing a Logger —
// `custos serve` installs spdlog's, in text or JSON lines (storage/spdlog_logger.h). Until one
// is installed, messages go to stderr as text lines, so a test or a tool sees them.
//
// A message never carries a secret (password, client secret, token): callers pass ids, types
// and reasons only.
//
// Thread-safety: the functions may be called from any thread; Install before any thread that
// logs starts, and keep the logger alive until they have stopped.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

namespace custos::core::log {

enum class Level : int { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// "debug", "info", "warn", "error".
[[nodiscard]] std::string_view ToString(Level level);
// Accepts the words above (and "warning"); false otherwise.
[[nodiscard]] bool ParseLevel(std::string_view text, Level& out);

// A named value a message carries: {"tenant", "acme"}.
struct Field {
  std::string_view key;
  std::string_view value;
};

class Logger {
 public:
  virtual ~Logger() = default;
  // Called only for messages at or above the logger's level (Enabled).
  virtual void Write(Level level, std::string_view message,
                     std::initializer_list<Field> fields) = 0;
  [[nodiscard]] virtual bool Enabled(Level level) const = 0;
};

// Installs `logger` for the whole process (nullptr: back to stderr text).
void Install(Logger* logger);

void Write(Level level, std::string_view message, std::initializer_list<Field> fields = {});
[[nodiscard]] bool Enabled(Level level);

inline void Debug(std::string_view message, std::initializer_list<Field> fields = {}) {
  Write(Level::kDebug, message, fields);
}
inline void Info(std::string_view message, std::initializer_list<Field> fields = {}) {
  Write(Level::kInfo, message, fields);
}
inline void Warn(std::string_view message, std::initializer_list<Field> fields = {}) {
  Write(Level::kWarn, message, fields);
}
inline void Error(std::string_view message, std::initializer_list<Field> fields = {}) {
  Write(Level::kError, message, fields);
}

}  // namespace custos::core::log
