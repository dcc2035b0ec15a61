#include "storage/sodium_password_hasher.h"

#include <gtest/gtest.h>

#include "core/sha256.h"

namespace custos::storage {
namespace {

TEST(SodiumPasswordHasherTest, HashesWithArgon2idAndVerifies) {
  const SodiumPasswordHasher hasher(SodiumPasswordHasher::Minimal());
  core::Result<std::string> hash = hasher.Hash("correct horse battery staple");
  ASSERT_TRUE(hash.ok());
  EXPECT_EQ(hash->rfind("$argon2id$", 0), 0u) << *hash;
  EXPECT_EQ(hash->find("correct horse"), std::string::npos);
  EXPECT_TRUE(hasher.Verify(*hash, "correct horse battery staple"));
  EXPECT_FALSE(hasher.Verify(*hash, "correct horse battery stapl"));
  EXPECT_FALSE(hasher.Verify("garbage", "x"));
  // Salted: the same password hashes differently.
  EXPECT_NE(*hasher.Hash("correct horse battery staple"), *hash);
}

TEST(SodiumPasswordHasherTest, CheckPasswordHandlesBothKinds) {
  const SodiumPasswordHasher hasher(SodiumPasswordHasher::Minimal());
  const core::iam::PasswordCredential temp{
      std::string(core::iam::kTemporaryPassword), core::Sha256Hex("Tmp-0123456789abcdef"), {}};
  EXPECT_TRUE(core::iam::CheckPassword(temp, "Tmp-0123456789abcdef", hasher));
  EXPECT_FALSE(core::iam::CheckPassword(temp, "Tmp-0123456789abcdeF", hasher));
  const core::iam::PasswordCredential chosen{
      std::string(core::iam::kArgon2id), *hasher.Hash("my own password"), {}};
  EXPECT_TRUE(core::iam::CheckPassword(chosen, "my own password", hasher));
  EXPECT_FALSE(core::iam::CheckPassword(chosen, "Tmp-0123456789abcdef", hasher));
  EXPECT_FALSE(core::iam::CheckPassword({"other", "", {}}, "", hasher));
}

}  // namespace
}  // namespace custos::storage
