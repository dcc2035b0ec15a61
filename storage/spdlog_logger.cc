#include "storage/spdlog_logger.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "core/clock.h"
#include "core/json_writer.h"

namespace custos::storage {
namespace {

spdlog::level::level_enum ToSpdlog(core::log::Level level) {
  switch (level) {
    case core::log::Level::kDebug:
      return spdlog::level::debug;
    case core::log::Level::kInfo:
      return spdlog::level::info;
    case core::log::Level::kWarn:
      return spdlog::level::warn;
    case core::log::Level::kError:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

// key=value, the value quoted (with \" and \\) when it has a space, a quote or an '='.
void AppendTextField(std::string& out, const core::log::Field& f) {
  out += ' ';
  out += f.key;
  out += '=';
  if (f.value.find_first_of(" \"=\\\r\n") == std::string_view::npos && !f.value.empty()) {
    out += f.value;
    return;
  }
  out += '"';
  for (char c : f.value) {
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    if (c == '"' || c == '\\') out += '\\';
    if (c != '\r') out += c;
  }
  out += '"';
}

}  // namespace

SpdlogLogger::SpdlogLogger(LogOptions options) : options_(options) {
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  logger_ = std::make_shared<spdlog::logger>("custos", std::move(sink));
  // The line is made here (time and level included, in UTC), so the pattern is the message.
  logger_->set_pattern("%v");
  logger_->set_level(ToSpdlog(options_.level));
  logger_->flush_on(spdlog::level::trace);
}

SpdlogLogger::~SpdlogLogger() { logger_->flush(); }

void SpdlogLogger::Write(core::log::Level level, std::string_view message,
                         std::initializer_list<core::log::Field> fields) {
  const std::string now = core::FormatTime(core::SystemClock().Now());
  std::string line;
  if (options_.json) {
    core::JsonWriter w;
    w.BeginObject();
    w.Key("time").String(now);
    w.Key("level").String(core::log::ToString(level));
    w.Key("msg").String(message);
    for (const core::log::Field& f : fields) {
      if (f.key == "time" || f.key == "level" || f.key == "msg") continue;
      w.Key(f.key).String(f.value);
    }
    w.EndObject();
    line = w.Take();
  } else {
    line = now;
    line += ' ';
    line += core::log::ToString(level);
    line += ' ';
    // One message, one line: a newline inside (an error text from a library) is shown as \n.
    for (char c : message) {
      if (c == '\n') {
        line += "\\n";
      } else if (c != '\r') {
        line += c;
      }
    }
    for (const core::log::Field& f : fields) AppendTextField(line, f);
  }
  logger_->log(ToSpdlog(level), "{}", line);
}

}  // namespace custos::storage
