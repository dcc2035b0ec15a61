// The custos CLI as users run it: append to a data dir, dump a tenant as JSONL, verify it,
// and catch tampering with the line named.
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>

#include <functional>
#include <random>

#include "api/jwt.h"
#include "core/checkpoint.h"
#include "core/clock.h"
#include "core/event.h"
#include "core/export_receipt.h"
#include "core/json_value.h"
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
           // Mail flags are checked before anything is opened or made.
           {{"serve", "--data-dir", "never-made", "--smtp", "ftp://mail.example"},
            "--mail-from (or CUSTOS_MAIL_FROM) is required"},
           {{"serve", "--data-dir", "never-made", "--smtp", "ftp://mail.example", "--mail-from",
             "a@acme.example"},
            "--smtp must be smtp://HOST[:PORT] or smtps://HOST[:PORT]"},
           {{"serve", "--data-dir", "never-made", "--smtp", "smtp://mail.example:587",
             "--mail-from", "Ops\r\nBcc: x <eve@evil.example>"},
            "--mail-from: "},
           {{"serve", "--data-dir", "never-made", "--mail-from", "a@acme.example"},
            "--mail-from needs --smtp"},
           {{"serve", "--data-dir", "never-made", "--log-format", "yaml"},
            "--log-format must be text or json, got 'yaml'"},
           {{"serve", "--data-dir", "never-made", "--log-level", "loud"},
            "--log-level must be debug, info, warn or error"},
           {{"serve", "--data-dir", "never-made", "--listen", "0.0.0.0:0"},
            "--issuer (or CUSTOS_ISSUER) is required with a wildcard --listen address"},
           {{"serve", "--data-dir", "never-made", "--listen", "[::]:8080"},
            "--issuer (or CUSTOS_ISSUER) is required"},
           {{"serve", "--data-dir", "never-made", "--issuer", "https://id.example/"},
            "--issuer must be an http(s) URL with a host and no query"},
           {{"serve", "--data-dir", "never-made", "--issuer", "ftp://id.example"},
            "--issuer must be"},
           {{"serve", "--config", "never-made.conf"}, "--config: cannot read never-made.conf"},
           // The last of a flag given twice wins (here a bad one).
           {{"serve", "--data-dir", "never-made", "--log-format", "json", "--log-format", "yml"},
            "--log-format must be text or json, got 'yml'"},
           {{"rebuild", "--data-dir", "never-made", "extra"}, "unexpected argument 'extra'"},
           {{"rebuild", "--data-dir", "never-made", "--check=yes"}, "--check takes no value"},
           {{"dump", "--data-dir"}, "--data-dir needs a value"},
           {{"serve", "--data-dir", "never-made", "--kafka", "embedded", "--kafka-property",
             "acks=1"},
            "--kafka-property: kafka property acks is set by Custos itself"},
           {{"serve", "--data-dir", "never-made", "--kafka", "embedded", "--kafka-property",
             "no.such.thing=1"},
            "No such configuration property"},
           {{"serve", "--data-dir", "never-made", "--kafka", "embedded", "--kafka-property",
             "linger.ms"},
            "--kafka-property must be NAME=VALUE, got 'linger.ms'"},
           {{"serve", "--data-dir", "never-made", "--kafka-property", "linger.ms=1"},
            "--kafka-property needs --kafka"},
           {{"serve", "--data-dir", "never-made", "--kafka", "embedded", "--kafka-property",
             "partitioner=random"},
            "would scatter a tenant's records over partitions"},
           {{"serve", "--data-dir", "never-made", "--kafka", "embedded", "--kafka-property-file",
             "sasl.password=never-made.txt"},
            "--kafka-property-file sasl.password: cannot read never-made.txt"},
           {{"serve", "--data-dir", "never-made", "--trusted-proxy", "10.0.0.1/8"},
            "--trusted-proxy: '10.0.0.1/8' has bits set past its prefix"},
           {{"serve", "--data-dir", "never-made", "--forwarded-header", "x-real-ip"},
            "--forwarded-header must be x-forwarded-for or forwarded, got 'x-real-ip'"},
           {{"serve", "--data-dir", "never-made", "--replication-key-file", "/dev/null"},
            "--replication-key-file needs --kafka (a leader) or --follow"},
           {{"serve", "--data-dir", "never-made", "--kafka", "embedded", "--replication-key-file",
             "never-made.key"},
            "--replication-key-file: cannot read never-made.key"},
           {{"serve", "--data-dir", "never-made", "--kafka", "embedded", "--replication-key-file",
             "/dev/null"},
            "--replication-key-file: /dev/null must hold at least 32 bytes"},
           // No abbreviations: a prefix of a flag is not that flag.
           {{"dump", "--data", "never-made", "--tenant", "acme"}, "unknown flag --data"},
       }) {
    std::vector<std::string> argv = {kCustos};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    CommandResult r = RunCommand(argv);
    EXPECT_EQ(r.exit_code, 2) << c.args[0] << ": " << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
  }
  EXPECT_FALSE(std::filesystem::exists("never-made"));
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
  // Named as the flag that set it (the draft is checked before the store is opened).
  EXPECT_NE(bad_type.err.find("custos append: type: 'NotAType' must match"), std::string::npos)
      << bad_type.err;
  // Nothing was appended by the failed command.
  CommandResult dump = RunCommand({kCustos, "dump", "--data-dir", dir_.path(), "--tenant", "acme"});
  EXPECT_EQ(SplitLines(dump.out).size(), 12u);
}

// A data dir served with --clock-offset is a drill's: without the flag it is refused, and
// nothing in it changes.
// custos keys rotate on a stopped server's data dir: the new key signs, the retired one still
// verifies what it signed (core/ed25519_key.h RotateKey).
TEST_F(CliTest, KeysRotateRetiresAStoppedServersKey) {
  const std::string audit_path = dir_.File("keys/audit-ed25519.pem");
  CommandResult none =
      RunCommand({kCustos, "keys", "rotate", "--data-dir", dir_.path(), "--audit"});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_NE(none.err.find("nothing to rotate"), std::string::npos) << none.err;
  std::string old_kid;
  core::Checkpoint before;
  {
    auto signer = core::CheckpointSigner::LoadOrCreate(audit_path);
    ASSERT_TRUE(signer.ok()) << signer.error().ToString();
    old_kid = (*signer)->kid();
    before = (*signer)->Sign("acme", 12, std::string(64, 'a'), "2026-11-24T12:00:00.000Z");
  }
  CommandResult r = RunCommand({kCustos, "keys", "rotate", "--data-dir", dir_.path(), "--audit"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  core::Result<core::JsonValue> out = core::ParseJson(r.out);
  ASSERT_TRUE(out.ok()) << r.out;
  EXPECT_EQ(out->Find("kind")->text(), "audit");
  EXPECT_EQ(out->Find("retired_kid")->text(), old_kid);
  auto after = core::CheckpointSigner::LoadOrCreate(audit_path);
  ASSERT_TRUE(after.ok()) << after.error().ToString();
  EXPECT_EQ((*after)->kid(), out->Find("kid")->text());
  EXPECT_NE((*after)->kid(), old_kid);
  EXPECT_TRUE((*after)->Keys().Verify(before).ok());

  const std::string jwt_path = dir_.File("keys/jwt-es256.pem");
  {
    auto tokens =
        api::TokenSigner::LoadOrCreate(jwt_path, "https://id.example", api::JwtAlg::kES256);
    ASSERT_TRUE(tokens.ok()) << tokens.error().ToString();
  }
  CommandResult jwt = RunCommand(
      {kCustos, "keys", "rotate", "--data-dir", dir_.path(), "--jwt", "--jwt-alg", "ES256"});
  ASSERT_EQ(jwt.exit_code, 0) << jwt.err;
  auto tokens = api::TokenSigner::LoadOrCreate(jwt_path, "https://id.example", api::JwtAlg::kES256);
  ASSERT_TRUE(tokens.ok()) << tokens.error().ToString();
  EXPECT_NE(tokens.value()
                ->JwksJson(core::SystemClock().Now())
                .find(core::ParseJson(jwt.out).value().Find("retired_kid")->text()),
            std::string::npos);
  // --revoke: the old key is gone from the set.
  const std::string current = tokens.value()->kid();
  tokens.value().reset();
  CommandResult revoked = RunCommand({kCustos, "keys", "rotate", "--data-dir", dir_.path(), "--jwt",
                                      "--jwt-alg", "ES256", "--revoke"});
  ASSERT_EQ(revoked.exit_code, 0) << revoked.err;
  EXPECT_EQ(core::ParseJson(revoked.out).value().Find("revoked_kid")->text(), current);
  tokens = api::TokenSigner::LoadOrCreate(jwt_path, "https://id.example", api::JwtAlg::kES256);
  ASSERT_TRUE(tokens.ok()) << tokens.error().ToString();
  EXPECT_EQ(tokens.value()->JwksJson(core::SystemClock().Now()).find(current), std::string::npos);

  for (const std::vector<std::string>& bad : std::vector<std::vector<std::string>>{
           {"rotate", "--data-dir", dir_.path()},
           {"rotate", "--data-dir", dir_.path(), "--audit", "--revoke"},
           {"rotate", "--data-dir", dir_.path(), "--jwt", "--audit"},
           {"spin", "--data-dir", dir_.path(), "--jwt"},
           {"--data-dir", dir_.path(), "--jwt"}}) {
    std::vector<std::string> command = {kCustos, "keys"};
    command.insert(command.end(), bad.begin(), bad.end());
    CommandResult refused = RunCommand(command);
    EXPECT_EQ(refused.exit_code, 2) << refused.err;
    EXPECT_EQ(refused.err.rfind("custos keys: ", 0), 0u) << refused.err;
  }
}

// A drill's data dir is rotated on the clock it is served with, said again (as serve asks):
// the retirement is dated on it, so the server's tokens (issued on that clock) are not
// "after" it.
TEST_F(CliTest, KeysRotateDatesTheRetirementOnADrillsClock) {
  const std::string jwt_path = dir_.File("keys/jwt-ed25519.pem");
  {
    auto tokens = api::TokenSigner::LoadOrCreate(jwt_path, "https://id.example");
    ASSERT_TRUE(tokens.ok()) << tokens.error().ToString();
  }
  CommandResult plain = RunCommand(
      {kCustos, "keys", "rotate", "--data-dir", dir_.path(), "--jwt", "--clock-offset", "60"});
  EXPECT_EQ(plain.exit_code, 2) << "not a drill's dir: " << plain.err;
  WriteFile(dir_.File("clock-offset"), "7862400\n");  // served 91 days ahead
  CommandResult unsaid =
      RunCommand({kCustos, "keys", "rotate", "--data-dir", dir_.path(), "--jwt"});
  EXPECT_EQ(unsaid.exit_code, 2) << unsaid.err;
  EXPECT_NE(unsaid.err.find("give the offset it is served with now"), std::string::npos)
      << unsaid.err;
  CommandResult r = RunCommand(
      {kCustos, "keys", "rotate", "--data-dir", dir_.path(), "--jwt", "--clock-offset", "7862400"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto time_of = [](const CommandResult& c) {
    return core::ParseTime(core::ParseJson(c.out).value().Find("time")->text()).value();
  };
  EXPECT_GT(time_of(r), core::SystemClock().Now() + std::chrono::hours(24 * 90));
  // Served on the real clock since (--clock-offset 0): the retirement is dated now.
  r = RunCommand(
      {kCustos, "keys", "rotate", "--data-dir", dir_.path(), "--jwt", "--clock-offset", "0"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_LT(time_of(r), core::SystemClock().Now() + std::chrono::hours(1));
}

TEST(ServeDataDirTest, ADrillsDataDirIsServedOnlyWithTheFlagGiven) {
  TempDir tmp;
  const std::string dir = tmp.File("drill");
  ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
  WriteFile(dir + "/clock-offset", "7862400\n");
  CommandResult r = RunCommand(
      {kCustos, "serve", "--data-dir", dir, "--listen", "127.0.0.1:0", "--kafka", "off"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("served with --clock-offset"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir + "/db"));
}

TEST(ServeDataDirTest, ADataDirOfAnotherUserOrAKeyOpenToOthersKeepsTheServerDown) {
  if (::geteuid() != 0) GTEST_SKIP() << "giving a directory to another user needs root";
  TempDir tmp;
  // Another local user's directory, open to all: refused, nothing written in it.
  const std::string theirs = tmp.File("theirs");
  ASSERT_EQ(::mkdir(theirs.c_str(), 0777), 0);
  ASSERT_EQ(::chmod(theirs.c_str(), 0777), 0);
  ASSERT_EQ(::chown(theirs.c_str(), 54321, 54321), 0);
  CommandResult r = RunCommand(
      {kCustos, "serve", "--data-dir", theirs, "--listen", "127.0.0.1:0", "--kafka", "off"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("belongs to uid 54321"), std::string::npos) << r.err;
  EXPECT_TRUE(std::filesystem::is_empty(theirs));
  // A signing key others can read: refused, the key left as it was (never replaced).
  const std::string ours = tmp.File("ours");
  ASSERT_EQ(::mkdir(ours.c_str(), 0700), 0);
  ASSERT_EQ(::mkdir((ours + "/keys").c_str(), 0700), 0);
  const std::string key = ours + "/keys/jwt-ed25519.pem";
  WriteFile(key, "-----BEGIN PRIVATE KEY-----\nnot really\n-----END PRIVATE KEY-----\n");
  ASSERT_EQ(::chmod(key.c_str(), 0644), 0);
  r = RunCommand(
      {kCustos, "serve", "--data-dir", ours, "--listen", "127.0.0.1:0", "--kafka", "off"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("chmod 600"), std::string::npos) << r.err;
  EXPECT_NE(ReadFile(key).find("not really"), std::string::npos);
}

// Exports that end with a signed receipt ({"receipt":…}, ../shared/spec/EVENTS.md "Export
// receipts"), signed here as the server signs them, and `verify --key` with the published JWK(S).
class CliReceiptTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    auto signer = core::CheckpointSigner::LoadOrCreate(keys_.File("checkpoint.pem"));
    ASSERT_TRUE(signer.ok()) << signer.error().ToString();
    signer_ = std::move(signer).value();
    jwks_ = keys_.File("audit-keys.json");
    WriteFile(jwks_, signer_->JwksJson());
  }

  // The receipt `signer` makes for `held` (the lines exported) of a tenant whose retained
  // stream is `all`, with `filters`.
  static std::string ReceiptOf(const std::vector<std::string>& held,
                               const std::vector<std::string>& all,
                               const core::CheckpointSigner& signer,
                               core::JsonValue filters = core::JsonValue::Object()) {
    core::ExportReceipt r;
    const core::LineFields first_all = core::ParseLineFields(all.front()).value();
    const core::LineFields head = core::ParseLineFields(all.back()).value();
    r.tenant = std::string(head.tenant);
    r.retained_from_tenant_seq = first_all.tenant_seq;
    r.purge_anchor = std::string(first_all.prev_hash);
    r.head_tenant_seq = head.tenant_seq;
    r.head_hash = std::string(head.hash);
    r.filters = std::move(filters);
    for (const std::string& line : held) {
      const core::LineFields f = core::ParseLineFields(line).value();
      if (r.count++ == 0) {
        r.first_tenant_seq = f.tenant_seq;
        r.first_prev_hash = std::string(f.prev_hash);
      }
      r.last_tenant_seq = f.tenant_seq;
      r.last_hash = std::string(f.hash);
    }
    r.complete = r.filters.members().empty() && held.size() == all.size();
    r.time = "2026-11-24T12:00:00.000Z";
    core::SignReceipt(signer, r);
    return core::ReceiptLine(r);
  }

  // What someone who can write the store could do: change line `changed` (0-based) with
  // `edit`, then re-link and re-hash it and every line after it, exactly as the log's
  // AssembleLine hashes (ChainHash over the body), so that the chain is consistent again.
  static std::vector<std::string> Rewrite(std::vector<std::string> lines, size_t changed,
                                          const std::function<void(std::string&)>& edit) {
    edit(lines[changed]);
    std::string prev;
    for (size_t i = changed; i < lines.size(); ++i) {
      core::Result<core::LineFields> f = core::ParseLineFields(lines[i]);
      EXPECT_TRUE(f.ok()) << f.error().ToString();
      std::string body(f->body_prefix);
      if (i == changed) {
        prev = std::string(f->prev_hash);
      } else {
        body.replace(body.size() - 65, 64, prev);  // the prev_hash value before the last quote
      }
      body += '}';
      const std::string hash = core::ChainHash(prev, body);
      body.pop_back();
      lines[i] = body + ",\"hash\":\"" + hash + "\"}";
      prev = hash;
    }
    return lines;
  }

  CommandResult VerifyWithKey(const std::vector<std::string>& lines, const std::string& key,
                              bool require_complete = false) {
    const std::string file = dir_.File("export.jsonl");
    WriteFile(file, JoinLines(lines));
    std::vector<std::string> args = {kCustos, "verify", "--key", key, file};
    if (require_complete) args.push_back("--require-complete");
    return RunCommand(args);
  }

  TempDir keys_;
  std::unique_ptr<core::CheckpointSigner> signer_;
  std::string jwks_;
};

TEST_F(CliReceiptTest, ACompleteSignedExportVerifiesWithTheKey) {
  std::vector<std::string> lines = lines_;
  lines.push_back(ReceiptOf(lines_, lines_, *signer_));
  CommandResult r = VerifyWithKey(lines, jwks_, true);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("ok: 12 events of tenant acme, tenant_seq 1..12", 0), 0u) << r.out;
  EXPECT_NE(r.out.find(", receipt signed by kid " + signer_->kid() + "\n"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("complete: every retained event, tenant_seq 1..12"), std::string::npos)
      << r.out;
  // A single JWK works as well as the JWKS.
  const std::string jwk = keys_.File("one.jwk");
  WriteFile(jwk, signer_->PublicJwk());
  EXPECT_EQ(VerifyWithKey(lines, jwk).exit_code, 0);
  // Without --key the receipt is compared with the events but its signature is not checked.
  CommandResult unkeyed = Verify(lines);
  EXPECT_EQ(unkeyed.exit_code, 0) << unkeyed.err;
  EXPECT_NE(unkeyed.out.find(", receipt not verified (no --key)\n"), std::string::npos)
      << unkeyed.out;
}

TEST_F(CliReceiptTest, ARewrittenHistoryFailsAtTheReceipt) {
  std::vector<std::string> forged = Rewrite(lines_, 4, [](std::string& line) {
    const size_t at = line.find("\"ok\":true");
    ASSERT_NE(at, std::string::npos);
    line.replace(at, 9, "\"ok\":false");
  });
  ASSERT_NE(forged.back(), lines_.back());
  ASSERT_EQ(Verify(forged).exit_code, 0);                 // the recomputed chain is consistent
  forged.push_back(ReceiptOf(lines_, lines_, *signer_));  // the genuine receipt
  CommandResult r = VerifyWithKey(forged, jwks_);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(": line 13: the receipt says last_hash "), std::string::npos) << r.err;
}

TEST_F(CliReceiptTest, AReceiptForgedWithAnotherKeyFails) {
  std::vector<std::string> forged = Rewrite(
      lines_, 4, [](std::string& line) { line.replace(line.find("\"run\":1"), 7, "\"run\":7"); });
  TempDir other_dir;
  auto other = core::CheckpointSigner::LoadOrCreate(other_dir.File("forger.pem"));
  ASSERT_TRUE(other.ok());
  forged.push_back(ReceiptOf(forged, forged, **other));
  CommandResult r = VerifyWithKey(forged, jwks_);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(
      r.err.find(": line 13: receipt signature rejected: unknown kid '" + (*other)->kid() + "'"),
      std::string::npos)
      << r.err;
  // Claiming the real kid does not help.
  core::Result<core::ExportReceipt> receipt = core::ParseReceiptLine(forged.back());
  ASSERT_TRUE(receipt.ok()) << receipt.error().ToString();
  receipt->kid = signer_->kid();
  forged.back() = core::ReceiptLine(*receipt);
  r = VerifyWithKey(forged, jwks_);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(": line 13: receipt signature rejected: bad signature"), std::string::npos)
      << r.err;
}

TEST_F(CliReceiptTest, AnExportCutAtEitherEndCannotPassForTheWhole) {
  // Cut from the end, an older genuine checkpoint appended: with --key, no receipt, no pass.
  std::vector<std::string> cut(lines_.begin(), lines_.end() - 3);
  core::Result<core::LineFields> last = core::ParseLineFields(cut.back());
  cut.push_back(core::CheckpointLine(signer_->Sign(
      "acme", last->tenant_seq, std::string(last->hash), "2026-11-24T12:00:00.000Z")));
  CommandResult spliced = VerifyWithKey(cut, jwks_);
  EXPECT_EQ(spliced.exit_code, 1);
  EXPECT_NE(spliced.err.find("no receipt: cannot tell what the export holds"), std::string::npos)
      << spliced.err;
  // The genuine receipt of the whole, kept with lines cut from either end: they disagree.
  const std::string whole = ReceiptOf(lines_, lines_, *signer_);
  std::vector<std::string> tail(lines_.begin() + 3, lines_.end());
  tail.push_back(whole);
  CommandResult from_start = VerifyWithKey(tail, jwks_);
  EXPECT_EQ(from_start.exit_code, 1);
  EXPECT_NE(from_start.err.find("the receipt says count 12, the export holds 9"), std::string::npos)
      << from_start.err;
  // An honest partial export says so, and --require-complete refuses it.
  std::vector<std::string> head_only(lines_.begin(), lines_.end() - 4);
  head_only.push_back(ReceiptOf({lines_.begin(), lines_.end() - 4}, lines_, *signer_));
  CommandResult partial = VerifyWithKey(head_only, jwks_);
  EXPECT_EQ(partial.exit_code, 0) << partial.err;
  EXPECT_NE(partial.out.find("partial: leaves out the end (tenant_seq 9..12)"), std::string::npos)
      << partial.out;
  CommandResult required = VerifyWithKey(head_only, jwks_, true);
  EXPECT_EQ(required.exit_code, 1);
  EXPECT_NE(required.err.find("the export is partial (--require-complete)"), std::string::npos);
}

TEST_F(CliReceiptTest, AFilteredExportHasHolesItsReceiptAccountsFor) {
  std::vector<std::string> odd;
  for (size_t i = 0; i < lines_.size(); i += 2) odd.push_back(lines_[i]);
  core::JsonValue filters = core::JsonValue::Object();
  core::JsonValue actions = core::JsonValue::Array();
  actions.items().push_back(core::JsonValue::String("workflow.*"));
  filters.members().emplace_back("action", actions);
  std::vector<std::string> lines = odd;
  lines.push_back(ReceiptOf(odd, lines_, *signer_, filters));
  CommandResult r = VerifyWithKey(lines, jwks_);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("filtered by action"), std::string::npos) << r.out;
  // The same holes without a filter: an event is missing.
  lines.back() = ReceiptOf(odd, lines_, *signer_);
  CommandResult unfiltered = VerifyWithKey(lines, jwks_);
  EXPECT_EQ(unfiltered.exit_code, 1);
  EXPECT_NE(unfiltered.err.find(": line 2: tenant_seq 3 follows 1"), std::string::npos)
      << unfiltered.err;
}

TEST_F(CliReceiptTest, AReceiptMustBeLastAndWellFormed) {
  std::vector<std::string> middle = lines_;
  middle.insert(middle.begin() + 6, ReceiptOf(lines_, lines_, *signer_));
  CommandResult r = VerifyWithKey(middle, jwks_);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(": line 8: nothing may follow the receipt (line 7)"), std::string::npos)
      << r.err;
  std::vector<std::string> malformed = lines_;
  malformed.push_back("{\"receipt\":{\"tenant\":\"acme\"}}");
  r = Verify(malformed);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(": line 13: not a receipt line: "), std::string::npos) << r.err;
}

TEST_F(CliReceiptTest, ABadKeyFileIsReported) {
  std::vector<std::string> lines = lines_;
  lines.push_back(ReceiptOf(lines_, lines_, *signer_));
  CommandResult missing = VerifyWithKey(lines, keys_.File("missing.json"));
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("cannot open --key"), std::string::npos) << missing.err;
  const std::string rsa = keys_.File("rsa.json");
  WriteFile(rsa, "{\"keys\":[{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\"}]}");
  CommandResult unusable = VerifyWithKey(lines, rsa);
  EXPECT_EQ(unusable.exit_code, 2);
  EXPECT_NE(unusable.err.find("no Ed25519 (OKP) signature key"), std::string::npos) << unusable.err;
  CommandResult no_value = RunCommand({kCustos, "verify", dir_.File("export.jsonl"), "--key"});
  EXPECT_EQ(no_value.exit_code, 2) << no_value.err;
}

TEST(CliBenchTest, SeveralWorkloadsPrintJsonLinesThenATableOfThem) {
  testing::TempDir scratch;
  CommandResult r = RunCommand({kCustos, "bench", "access-check", "access-check", "--quick",
                                "--no-peer", "--dir", scratch.path()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // stdout: one JSON line per workload and nothing else.
  size_t lines = 0;
  for (size_t at = 0; at < r.out.size();) {
    const size_t end = r.out.find('\n', at);
    const std::string line = r.out.substr(at, end - at);
    EXPECT_TRUE(line.starts_with("{\"workload\":\"access-check\"")) << line;
    ++lines;
    at = end == std::string::npos ? r.out.size() : end + 1;
  }
  EXPECT_EQ(lines, 2u);
  // stderr ends with the summary: its header and a row per run.
  const size_t table = r.err.find("| workload | ops/s | p50 µs | p99 µs | peer ops/s | ratio |");
  ASSERT_NE(table, std::string::npos) << r.err;
  size_t rows = 0;
  for (size_t at = r.err.find("| access-check |", table); at != std::string::npos;
       at = r.err.find("| access-check |", at + 1)) {
    ++rows;
  }
  EXPECT_EQ(rows, 2u);
}

TEST(CliHelpTest, EveryCommandDescribesItsFlagsOnDashH) {
  for (const std::string command : {"serve", "verify", "dump", "append", "rebuild", "dev-kafka",
                                    "bench", "backup", "restore", "keys"}) {
    for (const std::string flag : {"-h", "--help"}) {
      CommandResult r = RunCommand({kCustos, command, flag});
      EXPECT_EQ(r.exit_code, 0) << command << " " << flag << ": " << r.err;
      EXPECT_EQ(r.out.rfind("usage: custos " + command + " ", 0), 0u) << r.out;
      EXPECT_NE(r.out.find("-h, --help"), std::string::npos) << r.out;
    }
  }
  CommandResult top = RunCommand({kCustos, "-h"});
  EXPECT_EQ(top.exit_code, 0);
  EXPECT_NE(top.out.find("commands:"), std::string::npos);
}

// A config file of `name = value` lines: read for what the command line and environment do
// not say; checked like them, line by line.
TEST(CliConfigTest, AConfigFileIsCheckedLikeTheCommandLine) {
  TempDir tmp;
  struct Case {
    std::string file;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {"data-dir = " + tmp.File("d") + "\nlog-format = yaml\n",
            ": --log-format must be text or json, got 'yaml'"},
           {"listen = 127.0.0.1:0\nlisten-addr = 1\n", ": unknown flag --listen-addr"},
           {"just words\n", "invalid line 'just words'"},
           {"config = other.conf\n", ": unknown flag --config"},
           {"listen = 127.0.0.1:0\nlisten = 127.0.0.1:1\n", ": --listen is given more than once"},
           // Program_options would cut the value at '#': refused rather than shortened.
           {"data-dir = " + tmp.File("d") + "\nkafka-property = sasl.password=ab#cd\n",
            ": line 2: '#' starts a comment, so a value cannot hold one"},
           // Found in the file when neither the command line nor the environment has it.
           {"# nothing else\n", "--data-dir (or CUSTOS_DATA_DIR) is required"},
       }) {
    const std::string file = tmp.File("custos.conf");
    WriteFile(file, c.file);
    CommandResult r = RunCommand({kCustos, "serve", "--config", file});
    EXPECT_EQ(r.exit_code, 2) << c.file << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << c.file << r.err;
  }
  EXPECT_FALSE(std::filesystem::exists(tmp.File("d")));
  // The environment names its variable.
  setenv("CUSTOS_LOG_LEVEL", "loud", 1);
  CommandResult env = RunCommand({kCustos, "serve", "--data-dir", tmp.File("d")});
  unsetenv("CUSTOS_LOG_LEVEL");
  EXPECT_EQ(env.exit_code, 2);
  EXPECT_NE(env.err.find("CUSTOS_LOG_LEVEL must be debug, info, warn or error, got 'loud'"),
            std::string::npos)
      << env.err;
}

// A repeatable flag gathers its values from every source, the command line's last: the file's
// Kafka properties stay when the command line adds one (a bad one here, so that the run stops
// at the check, naming it after the file's good ones were taken).
TEST(CliConfigTest, RepeatableFlagsGatherEverySource) {
  TempDir tmp;
  const std::string file = tmp.File("custos.conf");
  WriteFile(file, "data-dir = " + tmp.File("d") +
                      "\nkafka = embedded\nkafka-property = linger.ms=1\n"
                      "kafka-property = no.such.from.file=1\n");
  CommandResult r =
      RunCommand({kCustos, "serve", "--config", file, "--kafka-property", "compression.type=gzip"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  // The file's values are checked first: the bad one there is what is named.
  EXPECT_NE(r.err.find("no.such.from.file"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(tmp.File("d")));
}

// A property's value read from a file is a secret: refused, it is not quoted back.
TEST(CliConfigTest, AKafkaPropertyFromAFileIsNeverQuoted) {
  TempDir tmp;
  const std::string secret = tmp.File("secret");
  WriteFile(secret, "s3cret-Value\n");
  CommandResult r = RunCommand({kCustos, "serve", "--data-dir", tmp.File("d"), "--kafka",
                                "embedded", "--kafka-property-file", "compression.type=" + secret});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("compression.type"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("the value in " + secret + " is refused"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("s3cret"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(tmp.File("d")));
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
