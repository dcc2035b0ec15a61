#include "core/log.h"

#include <atomic>
#include <cstdio>

#include "core/clock.h"

namespace custos::core::log {
namespace {

std::atomic<Logger*> installed{nullptr};

// Before a logger is installed: one text line per message on stderr, written at once.
void WriteFallback(Level level, std::string_view message, std::initializer_list<Field> fields) {
  std::string line = FormatTime(SystemClock().Now());
  line += ' ';
  line += ToString(level);
  line += ' ';
  line += message;
  for (const Field& f : fields) {
    line += ' ';
    line += f.key;
    line += '=';
    line += f.value;
  }
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace

std::string_view ToString(Level level) {
  switch (level) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
  }
  return "info";
}

bool ParseLevel(std::string_view text, Level& out) {
  for (Level l : {Level::kDebug, Level::kInfo, Level::kWarn, Level::kError}) {
    if (text == ToString(l)) {
      out = l;
      return true;
    }
  }
  if (text == "warning") {
    out = Level::kWarn;
    return true;
  }
  return false;
}

void Install(Logger* logger) { installed.store(logger); }

bool Enabled(Level level) {
  Logger* logger = installed.load();
  return logger == nullptr ? level >= Level::kInfo : logger->Enabled(level);
}

void Write(Level level, std::string_view message, std::initializer_list<Field> fields) {
  Logger* logger = installed.load();
  if (logger == nullptr) {
    if (level >= Level::kInfo) WriteFallback(level, message, fields);
    return;
  }
  if (logger->Enabled(level)) logger->Write(level, message, fields);
}

}  // namespace custos::core::log
