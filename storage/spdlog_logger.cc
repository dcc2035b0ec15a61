#include "storage/spdlog_logger.h"

#include <algorithm>

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

// Text for a terminal: \n for a newline, \xHH for any other control character (an escape
// sequence in a library's error text must not rewrite the operator's screen).
void AppendPrintable(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\n') {
      out += "\\n";
    } else if (u < 0x20 || u == 0x7f) {
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    } else {
      out += c;
    }
  }
}

// key=value, the value quoted (with \" and \\) when it has a space, a quote, an '=' or a
// control character.
void AppendTextField(std::string& out, const core::log::Field& f) {
  out += ' ';
  out += f.key;
  out += '=';
  const bool plain = !f.value.empty() && std::none_of(f.value.begin(), f.value.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return c == ' ' || c == '"' || c == '=' || c == '\\' || u < 0x20 || u == 0x7f;
  });
  if (plain) {
    out += f.value;
    return;
  }
  std::string escaped;
  for (char c : f.value) {
    if (c == '"' || c == '\\') escaped += '\\';
    escaped += c;
  }
  out += '"';
  AppendPrintable(out, escaped);
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
  writer_ = std::thread([this] { WriteLoop(); });
}

void SpdlogLogger::WriteLoop() {
  std::unique_lock lock(mu_);
  while (true) {
    wake_.wait(lock, [this] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and nothing left
    // Info lines gather for a moment (an access line per request would otherwise be a write
    // and a wake-up of the reader each); a warning or an error goes at once, or a flush.
    const auto urgent = [this] {
      return stop_ || flush_wanted_ || queue_.size() >= 1024 ||
             std::any_of(queue_.begin(), queue_.end(),
                         [](const auto& q) { return q.first >= core::log::Level::kWarn; });
    };
    wake_.wait_for(lock, kGather, urgent);
    std::deque<std::pair<core::log::Level, std::string>> batch;
    batch.swap(queue_);
    writing_ = true;
    lock.unlock();
    // One write for the batch: a reader wakes once per batch, not once per line.
    std::string text;
    core::log::Level top = core::log::Level::kDebug;
    for (auto& [level, line] : batch) {
      if (!text.empty()) text += '\n';
      text += line;
      top = std::max(top, level);
    }
    logger_->log(ToSpdlog(top), "{}", text);
    lock.lock();
    writing_ = false;
    if (queue_.empty()) drained_.notify_all();
  }
}

void SpdlogLogger::Flush() {
  std::unique_lock lock(mu_);
  flush_wanted_ = true;
  wake_.notify_all();
  drained_.wait(lock, [this] { return queue_.empty() && !writing_; });
  flush_wanted_ = false;
}

uint64_t SpdlogLogger::dropped() const {
  std::lock_guard lock(mu_);
  return dropped_;
}

SpdlogLogger::~SpdlogLogger() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  writer_.join();  // writes what is queued first
  logger_->flush();
}

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
    // One message, one line, nothing a terminal acts on: a newline inside (an error text from
    // a library) is shown as \n, other control characters as \xHH.
    AppendPrintable(line, message);
    for (const core::log::Field& f : fields) AppendTextField(line, f);
  }
  {
    std::lock_guard lock(mu_);
    if (queue_.size() >= kMaxQueued && level < core::log::Level::kWarn) {
      ++dropped_;
      return;
    }
    queue_.emplace_back(level, std::move(line));
    // The writer waits for the first line, or gathers (a warning ends the gathering).
    if (queue_.size() > 1 && level < core::log::Level::kWarn) return;
  }
  wake_.notify_one();
}

}  // namespace custos::storage
