// The server's log lines (core/log.h through storage/SpdlogLogger): one line per message, in
// text or as a JSON object whose members are time, level, msg and the fields; nothing below
// the level; a message or field can never break a line or the JSON.
#include "storage/spdlog_logger.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

#include "core/json_value.h"

namespace custos::storage {
namespace {

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  size_t at = 0;
  for (size_t nl; (nl = text.find('\n', at)) != std::string::npos; at = nl + 1) {
    out.push_back(text.substr(at, nl - at));
  }
  EXPECT_EQ(at, text.size()) << "a partial last line";
  return out;
}

// Logs through the installed logger with stderr captured; the lines written.
template <typename F>
std::vector<std::string> Logged(LogOptions options, F f) {
  SpdlogLogger logger(options);
  core::log::Install(&logger);
  ::testing::internal::CaptureStderr();
  f();
  logger.Flush();
  std::string text = ::testing::internal::GetCapturedStderr();
  core::log::Install(nullptr);
  return Lines(text);
}

TEST(SpdlogLoggerTest, JsonLinesCarryTimeLevelMessageAndFields) {
  std::vector<std::string> lines = Logged({true, core::log::Level::kInfo}, [] {
    core::log::Debug("not shown");
    core::log::Info("listening on 127.0.0.1:80", {{"tenant", "acme"}, {"request_id", "r1"}});
    core::log::Warn("a \"quoted\"\nmulti-line message", {{"error", "x\ny"}, {"msg", "ignored"}});
    core::log::Error("failed");
  });
  ASSERT_EQ(lines.size(), 3u);
  auto first = core::ParseJson(lines[0]);
  ASSERT_TRUE(first.ok()) << lines[0];
  EXPECT_EQ(first->Find("level")->text(), "info");
  EXPECT_EQ(first->Find("msg")->text(), "listening on 127.0.0.1:80");
  EXPECT_EQ(first->Find("tenant")->text(), "acme");
  EXPECT_EQ(first->Find("request_id")->text(), "r1");
  EXPECT_EQ(first->Find("time")->text().size(), 24u);
  auto second = core::ParseJson(lines[1]);
  ASSERT_TRUE(second.ok()) << lines[1];
  EXPECT_EQ(second->Find("level")->text(), "warn");
  EXPECT_EQ(second->Find("msg")->text(), "a \"quoted\"\nmulti-line message");
  EXPECT_EQ(second->Find("error")->text(), "x\ny");
  EXPECT_EQ(core::ParseJson(lines[2])->Find("level")->text(), "error");
}

TEST(SpdlogLoggerTest, TextLinesQuoteFieldsAndKeepOneLinePerMessage) {
  std::vector<std::string> lines = Logged({false, core::log::Level::kWarn}, [] {
    core::log::Info("below the level");
    core::log::Warn("first\nsecond", {{"tenant", "acme"}, {"error", "no \"route\" = x"}});
    // A terminal escape in a library's text is shown, never sent to the operator's screen.
    core::log::Error("\x1b[2Jcleared\r", {{"reason",
                                           "a\x1b]0;title\x07"
                                           "b"}});
  });
  ASSERT_EQ(lines.size(), 2u);
  const std::string& line = lines[0];
  EXPECT_EQ(line.substr(24), " warn first\\nsecond tenant=acme error=\"no \\\"route\\\" = x\"")
      << line;
  EXPECT_EQ(lines[1].substr(24), " error \\x1b[2Jcleared\\x0d reason=\"a\\x1b]0;title\\x07b\"")
      << lines[1];
}

// Nobody reads the log (a pipe left full): callers go on, info lines are dropped and counted,
// an error is still written once the reader comes back.
TEST(SpdlogLoggerTest, AStalledReaderHoldsNoCaller) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const int saved = ::dup(2);
  ASSERT_EQ(::dup2(fds[1], 2), 2);
  std::string read_back;
  {
    SpdlogLogger logger({false, core::log::Level::kInfo});
    for (size_t i = 0; i < 4 * SpdlogLogger::kMaxQueued; ++i) {
      logger.Write(core::log::Level::kInfo, "a line of the access log, padded to a fair length",
                   {{"i", std::to_string(i)}});
    }
    logger.Write(core::log::Level::kError, "the error that must be kept", {});
    EXPECT_GT(logger.dropped(), 0u);
    // The reader returns: everything queued is written, the error among it.
    std::thread reader([&] {
      char buf[65536];
      while (read_back.find("the error that must be kept") == std::string::npos) {
        const ssize_t n = ::read(fds[0], buf, sizeof buf);
        if (n <= 0) break;
        read_back.append(buf, static_cast<size_t>(n));
        if (read_back.size() > (size_t{64} << 20)) read_back.erase(0, read_back.size() / 2);
      }
    });
    logger.Flush();
    reader.join();
  }
  ::dup2(saved, 2);
  ::close(saved);
  ::close(fds[0]);
  ::close(fds[1]);
  EXPECT_NE(read_back.find("the error that must be kept"), std::string::npos);
}

TEST(SpdlogLoggerTest, LevelsParseAndFilter) {
  core::log::Level level = core::log::Level::kInfo;
  EXPECT_TRUE(core::log::ParseLevel("debug", level));
  EXPECT_EQ(level, core::log::Level::kDebug);
  EXPECT_TRUE(core::log::ParseLevel("warning", level));
  EXPECT_EQ(level, core::log::Level::kWarn);
  EXPECT_FALSE(core::log::ParseLevel("yaml", level));
  SpdlogLogger logger({false, core::log::Level::kError});
  core::log::Install(&logger);
  EXPECT_FALSE(core::log::Enabled(core::log::Level::kWarn));
  EXPECT_TRUE(core::log::Enabled(core::log::Level::kError));
  core::log::Install(nullptr);
  EXPECT_TRUE(core::log::Enabled(core::log::Level::kInfo));  // the stderr fallback
  EXPECT_FALSE(core::log::Enabled(core::log::Level::kDebug));
}

}  // namespace
}  // namespace custos::storage
