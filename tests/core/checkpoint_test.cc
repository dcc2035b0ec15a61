#include "core/checkpoint.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>

#include "core/base64.h"
#include "core/json_value.h"
#include "tests/support/test_support.h"

namespace custos::core {
namespace {

using custos::testing::TempDir;

const std::string kHash(64, 'a');
const std::string kTime = "2026-11-24T12:00:00.123Z";

class CheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<CheckpointSigner>> signer =
        CheckpointSigner::LoadOrCreate(dir_.File("keys/checkpoint.pem"));
    ASSERT_TRUE(signer.ok()) << signer.error().ToString();
    signer_ = std::move(signer).value();
  }

  [[nodiscard]] Checkpoint SignOne() const { return signer_->Sign("acme", 42, kHash, kTime); }

  TempDir dir_;
  std::unique_ptr<CheckpointSigner> signer_;
};

TEST_F(CheckpointTest, SigningInputIsTheFourFieldsOnLines) {
  const Checkpoint c = SignOne();
  EXPECT_EQ(CheckpointSigningInput(c), "acme\n42\n" + kHash + "\n" + kTime);
}

TEST_F(CheckpointTest, ASignedCheckpointVerifies) {
  const Checkpoint c = SignOne();
  EXPECT_EQ(c.kid, signer_->kid());
  EXPECT_EQ(Base64UrlDecode(c.signature)->size(), 64u);
  Result<CheckpointKeys> keys = CheckpointKeys::FromJson(signer_->JwksJson());
  ASSERT_TRUE(keys.ok()) << keys.error().ToString();
  EXPECT_TRUE(keys->Verify(c).ok());
  EXPECT_TRUE(signer_->Keys().Verify(c).ok());
  // The Time overload formats as FormatTime does.
  const Checkpoint t = signer_->Sign("acme", 42, kHash, *ParseTime(kTime));
  EXPECT_EQ(t, c);  // Ed25519 is deterministic
}

TEST_F(CheckpointTest, AnyChangedFieldFailsWithBadSignature) {
  const CheckpointKeys keys = signer_->Keys();
  const Checkpoint good = SignOne();
  std::vector<Checkpoint> tampered(5, good);
  tampered[0].hash[10] = 'b';
  tampered[1].tenant_seq = 43;
  tampered[2].time = "2026-11-24T12:00:00.124Z";
  tampered[3].tenant = "acmf";
  tampered[4].signature[5] = tampered[4].signature[5] == 'A' ? 'B' : 'A';
  for (const Checkpoint& c : tampered) {
    Status s = keys.Verify(c);
    ASSERT_FALSE(s.ok()) << CheckpointJson(c);
    EXPECT_EQ(s.error().code, Errc::kUnauthenticated);
    EXPECT_EQ(s.error().message, "bad signature");
  }
}

TEST_F(CheckpointTest, AnUnknownKidFails) {
  Checkpoint c = SignOne();
  c.kid = "someoneelse";
  Status s = signer_->Keys().Verify(c);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Errc::kUnauthenticated);
  EXPECT_EQ(s.error().message, "unknown kid 'someoneelse'");
}

TEST_F(CheckpointTest, AnotherKeyDoesNotVerify) {
  TempDir other_dir;
  auto other = CheckpointSigner::LoadOrCreate(other_dir.File("k.pem"));
  ASSERT_TRUE(other.ok());
  EXPECT_NE((*other)->kid(), signer_->kid());
  // A forger who reuses the real kid still fails on the signature.
  Checkpoint forged = (*other)->Sign("acme", 42, kHash, kTime);
  forged.kid = signer_->kid();
  Status s = signer_->Keys().Verify(forged);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message, "bad signature");
  // Under its own kid it is an unknown key.
  EXPECT_EQ(signer_->Keys().Verify((*other)->Sign("acme", 42, kHash, kTime)).error().message,
            "unknown kid '" + (*other)->kid() + "'");
}

TEST_F(CheckpointTest, PublicJwkHasTheStandardMembers) {
  Result<JsonValue> jwk = ParseJson(signer_->PublicJwk());
  ASSERT_TRUE(jwk.ok());
  EXPECT_EQ(jwk->Find("kty")->text(), "OKP");
  EXPECT_EQ(jwk->Find("crv")->text(), "Ed25519");
  EXPECT_EQ(jwk->Find("alg")->text(), "EdDSA");
  EXPECT_EQ(jwk->Find("use")->text(), "sig");
  EXPECT_EQ(jwk->Find("kid")->text(), signer_->kid());
  const std::optional<std::string> x = Base64UrlDecode(jwk->Find("x")->text());
  ASSERT_TRUE(x.has_value());
  EXPECT_EQ(x->size(), 32u);
  // The kid is derived from the key, as documented: a verifier can recompute it.
  EXPECT_EQ(signer_->kid(), CheckpointKid(*x));
  EXPECT_EQ(signer_->kid().size(), 16u);
  EXPECT_EQ(signer_->JwksJson(), "{\"keys\":[" + signer_->PublicJwk() + "]}");
}

TEST_F(CheckpointTest, KeysAcceptAJwkOrAJwksAndSkipOtherKeys) {
  const Checkpoint c = SignOne();
  Result<CheckpointKeys> single = CheckpointKeys::FromJson(signer_->PublicJwk());
  ASSERT_TRUE(single.ok()) << single.error().ToString();
  EXPECT_TRUE(single->Verify(c).ok());

  const std::string mixed = "{\"keys\":[{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\"}," +
                            std::string("{\"kty\":\"OKP\",\"crv\":\"X25519\",\"x\":\"abc\"},") +
                            signer_->PublicJwk() + "]}";
  Result<CheckpointKeys> keys = CheckpointKeys::FromJson(mixed);
  ASSERT_TRUE(keys.ok()) << keys.error().ToString();
  EXPECT_EQ(keys->size(), 1u);
  EXPECT_TRUE(keys->Verify(c).ok());

  // Without a kid the key gets its derived kid, which is what the signer uses.
  Result<JsonValue> jwk = ParseJson(signer_->PublicJwk());
  const std::string no_kid =
      "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" + jwk->Find("x")->text() + "\"}";
  Result<CheckpointKeys> derived = CheckpointKeys::FromJson(no_kid);
  ASSERT_TRUE(derived.ok());
  EXPECT_TRUE(derived->Verify(c).ok());
}

TEST_F(CheckpointTest, KeysRefuseWhatCannotBeUsed) {
  for (const std::string& json : std::vector<std::string>{
           "",
           "[]",
           "{\"keys\":{}}",
           "{\"keys\":[]}",
           "{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\"}",
           "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"AAAA\",\"kid\":\"k\"}",
           "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"k\"}",
       }) {
    Result<CheckpointKeys> keys = CheckpointKeys::FromJson(json);
    ASSERT_FALSE(keys.ok()) << json;
    EXPECT_EQ(keys.error().code, Errc::kInvalidArgument) << json;
  }
}

TEST_F(CheckpointTest, LoadOrCreateKeepsTheKeyInAPrivateFile) {
  const std::string path = dir_.File("keys/checkpoint.pem");
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_NE(custos::testing::ReadFile(path).find("BEGIN PRIVATE KEY"), std::string::npos);
  auto again = CheckpointSigner::LoadOrCreate(path);
  ASSERT_TRUE(again.ok()) << again.error().ToString();
  EXPECT_EQ((*again)->kid(), signer_->kid());
  EXPECT_EQ((*again)->PublicJwk(), signer_->PublicJwk());
  EXPECT_TRUE(signer_->Keys().Verify((*again)->Sign("acme", 1, kHash, kTime)).ok());
}

TEST_F(CheckpointTest, ARetiredKeyVerifiesWhatItSignedBeforeItsRetirementAndNothingAfter) {
  const Checkpoint before = SignOne();  // at kTime
  const std::string old_kid = signer_->kid();
  // A copy of the old private key, as a thief would have it.
  custos::testing::WriteFile(dir_.File("stolen.pem"),
                             custos::testing::ReadFile(dir_.File("keys/checkpoint.pem")));
  ASSERT_EQ(::chmod(dir_.File("stolen.pem").c_str(), 0600), 0);
  const Time retired_at = *ParseTime("2026-11-25T00:00:00.000Z");
  Result<CheckpointSigner::Rotated> r = signer_->Rotate(retired_at);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->retired_kid, old_kid);
  EXPECT_NE(r->kid, old_kid);
  const Checkpoint after = signer_->Sign("acme", 43, kHash, "2026-11-26T00:00:00.000Z");
  EXPECT_EQ(after.kid, r->kid);
  // Published: the current key, then the retired one with its retired_at, for good.
  Result<JsonValue> jwks = ParseJson(signer_->JwksJson());
  ASSERT_TRUE(jwks.ok());
  ASSERT_EQ(jwks->Find("keys")->items().size(), 2u);
  EXPECT_EQ(jwks->Find("keys")->items()[0].Find("retired_at"), nullptr);
  EXPECT_EQ(jwks->Find("keys")->items()[1].Find("retired_at")->text(), "2026-11-25T00:00:00.000Z");
  auto stolen = CheckpointSigner::LoadOrCreate(dir_.File("stolen.pem"));
  ASSERT_TRUE(stolen.ok()) << stolen.error().ToString();
  ASSERT_EQ((*stolen)->kid(), old_kid);
  const Checkpoint at_retirement = (*stolen)->Sign("acme", 44, kHash, "2026-11-25T00:00:00.000Z");
  const Checkpoint forged = (*stolen)->Sign("acme", 44, kHash, "2026-11-25T00:00:00.001Z");
  for (const CheckpointKeys& keys :
       {signer_->Keys(), CheckpointKeys::FromJson(signer_->JwksJson()).value()}) {
    EXPECT_TRUE(keys.Verify(before).ok());
    EXPECT_TRUE(keys.Verify(after).ok());
    EXPECT_TRUE(keys.Verify(at_retirement).ok());
    EXPECT_EQ(keys.Verify(forged).error().message,
              "signed by kid '" + old_kid + "' after it was retired (2026-11-25T00:00:00.000Z)");
  }
  // Reloaded from disk, the retired key is still there.
  auto again = CheckpointSigner::LoadOrCreate(dir_.File("keys/checkpoint.pem"));
  ASSERT_TRUE(again.ok()) << again.error().ToString();
  EXPECT_EQ((*again)->kid(), r->kid);
  EXPECT_EQ((*again)->JwksJson(), signer_->JwksJson());
  // A second rotation keeps both retired keys: audit keys are never dropped.
  ASSERT_TRUE((*again)->Rotate(retired_at + std::chrono::hours(24 * 400)).ok());
  EXPECT_EQ((*again)->Keys().size(), 3u);
  EXPECT_TRUE((*again)->Keys().Verify(before).ok());
}

TEST_F(CheckpointTest, ARetiredAtThatIsNotATimeIsRefused) {
  Result<JsonValue> jwk = ParseJson(signer_->PublicJwk());
  ASSERT_TRUE(jwk.ok());
  std::string json = signer_->PublicJwk();
  json.insert(json.size() - 1, ",\"retired_at\":\"yesterday\"");
  Result<CheckpointKeys> keys = CheckpointKeys::FromJson(json);
  ASSERT_FALSE(keys.ok());
  EXPECT_NE(keys.error().message.find("retired_at"), std::string::npos) << keys.error().message;
}

TEST_F(CheckpointTest, LoadOrCreateRefusesAFileThatIsNotAnEd25519Key) {
  const std::string path = dir_.File("junk.pem");
  custos::testing::WriteFile(path, "not a key\n");
  ASSERT_EQ(::chmod(path.c_str(), 0600), 0);  // private, as a key must be (private_file_test)
  auto signer = CheckpointSigner::LoadOrCreate(path);
  ASSERT_FALSE(signer.ok());
  EXPECT_EQ(signer.error().code, Errc::kCorruption);
  // The file was not replaced.
  EXPECT_EQ(custos::testing::ReadFile(path), "not a key\n");
}

TEST_F(CheckpointTest, LineRoundTrips) {
  const Checkpoint c = SignOne();
  const std::string line = CheckpointLine(c);
  EXPECT_EQ(line, "{\"checkpoint\":{\"tenant\":\"acme\",\"tenant_seq\":42,\"hash\":\"" + kHash +
                      "\",\"time\":\"" + kTime + "\",\"kid\":\"" + c.kid + "\",\"signature\":\"" +
                      c.signature + "\"}}");
  EXPECT_EQ(line, "{\"checkpoint\":" + CheckpointJson(c) + "}");
  EXPECT_TRUE(IsCheckpointLine(line));
  EXPECT_FALSE(IsCheckpointLine("{\"id\":\"evt_…\"}"));
  Result<Checkpoint> parsed = ParseCheckpointLine(line);
  ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
  EXPECT_EQ(*parsed, c);
  EXPECT_TRUE(signer_->Keys().Verify(*parsed).ok());
}

TEST_F(CheckpointTest, MalformedLinesAreRefused) {
  const Checkpoint c = SignOne();
  const std::string sig = c.signature;
  auto line = [&](const std::string& members) { return "{\"checkpoint\":{" + members + "}}"; };
  const std::string hash = "\"hash\":\"" + kHash + "\"";
  const std::string time = "\"time\":\"" + kTime + "\"";
  const std::string rest = hash + "," + time + ",\"kid\":\"k\",\"signature\":\"" + sig + "\"";
  for (const std::string& bad : std::vector<std::string>{
           "",
           "{}",
           "{\"checkpoint\":",
           "{\"checkpoint\":[]}",
           "{\"checkpoint\":{}}",
           line("\"tenant\":\"acme\",\"tenant_seq\":42," + rest) + " x",
           "{\"checkpoint\":{\"tenant\":\"acme\",\"tenant_seq\":42," + rest + "},\"more\":1}",
           line("\"tenant\":\"acme\",\"tenant_seq\":42," + hash + "," + time +
                ",\"kid\":\"k\""),                                                   // no signature
           line("\"tenant\":\"Acme!\",\"tenant_seq\":42," + rest),                   // bad tenant
           line("\"tenant\":\"acme\",\"tenant_seq\":-1," + rest),                    // negative
           line("\"tenant\":\"acme\",\"tenant_seq\":4.2," + rest),                   // fraction
           line("\"tenant\":\"acme\",\"tenant_seq\":1e3," + rest),                   // exponent
           line("\"tenant\":\"acme\",\"tenant_seq\":\"42\"," + rest),                // string
           line("\"tenant\":\"acme\",\"tenant_seq\":18446744073709551616," + rest),  // 2^64
           line("\"tenant\":\"acme\",\"tenant_seq\":42,\"hash\":\"" + std::string(64, 'A') + "\"," +
                time + ",\"kid\":\"k\",\"signature\":\"" + sig + "\""),
           line("\"tenant\":\"acme\",\"tenant_seq\":42," + hash +
                ",\"time\":\"2026-11-24T12:00:00Z\",\"kid\":\"k\",\"signature\":\"" + sig + "\""),
           line("\"tenant\":\"acme\",\"tenant_seq\":42," + hash + "," + time +
                ",\"kid\":\"\",\"signature\":\"" + sig + "\""),
           line("\"tenant\":\"acme\",\"tenant_seq\":42," + hash + "," + time +
                ",\"kid\":\"k\",\"signature\":\"" + sig.substr(4) + "\""),
           line("\"tenant\":\"acme\",\"tenant_seq\":42," + rest + ",\"extra\":true"),
           line("\"tenant\":\"acme\",\"tenant\":\"acme\",\"tenant_seq\":42," + rest),
       }) {
    Result<Checkpoint> parsed = ParseCheckpointLine(bad);
    EXPECT_FALSE(parsed.ok()) << bad;
    if (!parsed.ok()) {
      EXPECT_EQ(parsed.error().code, Errc::kInvalidArgument);
      EXPECT_EQ(parsed.error().message.rfind("not a checkpoint line: ", 0), 0u)
          << parsed.error().message;
    }
  }
  // The same members in another order are the same checkpoint.
  Result<Checkpoint> reordered =
      ParseCheckpointLine(line("\"signature\":\"" + sig + "\",\"kid\":\"" + c.kid + "\"," + time +
                               "," + hash + ",\"tenant_seq\":42,\"tenant\":\"acme\""));
  ASSERT_TRUE(reordered.ok()) << reordered.error().ToString();
  EXPECT_EQ(*reordered, c);
}

}  // namespace
}  // namespace custos::core
