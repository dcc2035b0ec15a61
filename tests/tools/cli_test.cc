// The custos CLI as users run it: append to a data dir, dump a tenant as JSONL, verify it,
// and catch tampering with the line named.
#include <gtest/gtest.h>

#include <random>

#include "tests/support/test_support.h"

namespace custos::testing {
namespace {

const std::string kCustos = CUSTOS_BINARY;

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 4; ++i) {
      CommandResult r =
          RunCommand({kCustos, "append", "--data-dir", dir_.path(), "--tenant", "acme", "--type",
                      "workflow.executed", "--data",
                      "{ \"run\": " + std::to_string(i) + ", \"ok\": true }", "--count", "3"});
      ASSERT_EQ(r.exit_code, 0) << r.err;
      ASSERT_EQ(SplitLines(r.out).size(), 3u);
    }
    CommandResult other = RunCommand({kCustos, "append", "--data-dir", dir_.path(), "--tenant",
                                      "globex", "--type", "engine.restarted"});
    ASSERT_EQ(other.exit_code, 0) << other.err;
    CommandResult dump =
        RunCommand({kCustos, "dump", "--data-dir", dir_.path(), "--tenant", "acme"});
    ASSERT_EQ(dump.exit_code, 0) << dump.err;
    lines_ = SplitLines(dump.out);
    ASSERT_EQ(lines_.size(), 12u);
  }

  CommandResult Verify(const std::vector<std::string>& lines) {
    const std::string file = dir_.File("export.jsonl");
    WriteFile(file, JoinLines(lines));
    return RunCommand({kCustos, "verify", file});
  }

  TempDir dir_;
  std::vector<std::string> lines_;
};

TEST_F(CliTest, DumpedStreamVerifies) {
  CommandResult r = Verify(lines_);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("ok: 12 events of tenant acme, tenant_seq 1..12", 0), 0u) << r.out;
  EXPECT_NE(lines_[0].find("\"data\":{\"run\":0,\"ok\":true}"), std::string::npos);
}

TEST_F(CliTest, DumpCanStartFromATenantSeqAndVerifyTakesTheAnchor) {
  CommandResult dump = RunCommand(
      {kCustos, "dump", "--data-dir", dir_.path(), "--tenant", "acme", "--from-tenant-seq", "5"});
  ASSERT_EQ(dump.exit_code, 0);
  std::vector<std::string> tail = SplitLines(dump.out);
  ASSERT_EQ(tail.size(), 8u);
  EXPECT_EQ(tail[0], lines_[4]);
  const std::string file = dir_.File("tail.jsonl");
  WriteFile(file, dump.out);
  const size_t at = lines_[3].find("\"hash\":\"") + 8;
  const std::string anchor = lines_[3].substr(at, 64);
  EXPECT_EQ(RunCommand({kCustos, "verify", "--anchor", anchor, file}).exit_code, 0);
  CommandResult wrong = RunCommand({kCustos, "verify", "--anchor", std::string(64, '0'), file});
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_NE(wrong.err.find("line 1: prev_hash"), std::string::npos) << wrong.err;
}

TEST_F(CliTest, AFlippedByteIsCaughtWithItsLine) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 20; ++trial) {
    std::vector<std::string> lines = lines_;
    const size_t line = rng() % lines.size();
    const size_t byte = rng() % lines[line].size();
    lines[line][byte] = static_cast<char>(lines[line][byte] ^ (1 << (rng() % 7)));
    CommandResult r = Verify(lines);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find(": line " + std::to_string(line + 1) + ": "), std::string::npos)
        << "flipped line " << line + 1 << " byte " << byte << ": " << r.err;
  }
}

TEST_F(CliTest, ARemovedLineIsCaughtWithItsLine) {
  std::vector<std::string> lines = lines_;
  lines.erase(lines.begin() + 6);
  CommandResult r = Verify(lines);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(": line 7: tenant_seq 8 follows 6 (expected 7)"), std::string::npos)
      << r.err;
}

TEST_F(CliTest, AReorderedPairIsCaughtWithItsLine) {
  std::vector<std::string> lines = lines_;
  std::swap(lines[8], lines[9]);
  CommandResult r = Verify(lines);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(": line 9: tenant_seq 10 follows 8"), std::string::npos) << r.err;
}

TEST_F(CliTest, ATruncatedStartIsCaughtWhenTheAnchorIsGiven) {
  std::vector<std::string> lines(lines_.begin() + 1, lines_.end());
  const std::string file = dir_.File("cut.jsonl");
  WriteFile(file, JoinLines(lines));
  CommandResult r = RunCommand({kCustos, "verify", "--anchor", std::string(64, '0'), file});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("line 1: prev_hash"), std::string::npos) << r.err;
}

TEST_F(CliTest, UsageErrorsExitWithTwoAndAMessage) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {{"verify"}, "expects exactly one FILE.jsonl"},
           {{"verify", "--bogus", "x"}, "unknown flag --bogus"},
           {{"verify", "--anchor", "xyz", "f"}, "--anchor must be 64 lowercase hex digits"},
           {{"dump", "--data-dir", "/nonexistent"}, "--tenant (or CUSTOS_TENANT) is required"},
           {{"append", "--data-dir", "d", "--tenant", "acme", "--type", "x.y", "--data", "{"},
            "--data: invalid JSON at byte 1"},
           {{"append", "--data-dir", "d", "--tenant", "Acme", "--type", "x.y"}, "tenant"},
           {{"nope"}, "unknown command 'nope'"},
           {{"append", "--data-dir", "d", "--tenant", "acme", "--type", "user.created"},
            "belongs to the identity catalog"},
       }) {
    std::vector<std::string> argv = {kCustos};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    CommandResult r = RunCommand(argv);
    EXPECT_EQ(r.exit_code, 2) << c.args[0] << ": " << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
  }
}

TEST_F(CliTest, FailuresExitWithOne) {
  CommandResult missing = RunCommand({kCustos, "verify", dir_.File("missing.jsonl")});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("cannot open"), std::string::npos);
  CommandResult unknown =
      RunCommand({kCustos, "dump", "--data-dir", dir_.path(), "--tenant", "nobody"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("tenant nobody has no events"), std::string::npos);
  WriteFile(dir_.File("empty.jsonl"), "");
  EXPECT_EQ(RunCommand({kCustos, "verify", dir_.File("empty.jsonl")}).exit_code, 1);
  CommandResult bad_type = RunCommand(
      {kCustos, "append", "--data-dir", dir_.path(), "--tenant", "acme", "--type", "NotAType"});
  EXPECT_EQ(bad_type.exit_code, 2);
  EXPECT_NE(bad_type.err.find("events[0].type"), std::string::npos) << bad_type.err;
  // Nothing was appended by the failed command.
  CommandResult dump = RunCommand({kCustos, "dump", "--data-dir", dir_.path(), "--tenant", "acme"});
  EXPECT_EQ(SplitLines(dump.out).size(), 12u);
}

TEST_F(CliTest, FlagsHaveEnvironmentTwins) {
  setenv("CUSTOS_DATA_DIR", dir_.path().c_str(), 1);
  CommandResult dump = RunCommand({kCustos, "dump", "--tenant", "globex"});
  unsetenv("CUSTOS_DATA_DIR");
  EXPECT_EQ(dump.exit_code, 0) << dump.err;
  EXPECT_EQ(SplitLines(dump.out).size(), 1u);
}

}  // namespace
}  // namespace custos::testing
