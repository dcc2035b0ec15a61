// The data directory as another local user would attack it: a directory of theirs, a
// temporary file or link planted where the server writes its secrets, a key file they can
// read or that cannot be read. Each is refused or walked around; nothing secret lands where
// they can reach it, and an unreadable key is never silently replaced.
#include "core/private_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/ed25519_key.h"
#include "tests/support/test_support.h"

namespace custos::core {
namespace {

using testing::TempDir;

constexpr uid_t kStranger = 54321;

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST(PrivateFileTest, ADirectoryIsMadePrivateOrRefusedIfAnotherUsersOrALink) {
  TempDir tmp;
  const std::string dir = tmp.File("data");
  ASSERT_TRUE(EnsurePrivateDir(dir).ok());
  EXPECT_EQ(ModeOf(dir), 0700u);
  // An existing one of ours, open to all: narrowed.
  ASSERT_EQ(::chmod(dir.c_str(), 0777), 0);
  ASSERT_TRUE(EnsurePrivateDir(dir).ok());
  EXPECT_EQ(ModeOf(dir), 0700u);
  if (::geteuid() != 0) GTEST_SKIP() << "giving a directory to another user needs root";
  // Another user's: refused, and left as it is.
  const std::string theirs = tmp.File("theirs");
  ASSERT_EQ(::mkdir(theirs.c_str(), 0777), 0);
  ASSERT_EQ(::chmod(theirs.c_str(), 0777), 0);
  ASSERT_EQ(::chown(theirs.c_str(), kStranger, kStranger), 0);
  Status s = EnsurePrivateDir(theirs);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("belongs to uid 54321"), std::string::npos) << s.error().message;
  EXPECT_EQ(ModeOf(theirs), 0777u);
  // A link to a directory of ours: refused too (whoever made the link chose where it goes).
  const std::string link = tmp.File("link");
  ASSERT_EQ(::symlink(dir.c_str(), link.c_str()), 0);
  EXPECT_FALSE(EnsurePrivateDir(link).ok());
}

TEST(PrivateFileTest, APlantedTemporaryFileOrLinkIsNeverWrittenThrough) {
  TempDir tmp;
  const std::string dir = tmp.File("data");
  ASSERT_TRUE(EnsurePrivateDir(dir).ok());
  const std::string target = dir + "/root-client.json";
  // What an attacker left while the directory was open: the old temporary name as a link to
  // a file of theirs, and as a plain file.
  const std::string bait = tmp.File("bait");
  { std::ofstream(bait) << "attacker's"; }
  ASSERT_EQ(::chmod(bait.c_str(), 0666), 0);
  ASSERT_EQ(::symlink(bait.c_str(), (target + ".tmp").c_str()), 0);
  ASSERT_TRUE(WritePrivateFile(target, "{\"client_secret\":\"s3cret\"}\n").ok());
  EXPECT_EQ(Slurp(bait), "attacker's");
  EXPECT_EQ(Slurp(target), "{\"client_secret\":\"s3cret\"}\n");
  EXPECT_EQ(ModeOf(target), 0600u);
  // The final name planted as a link: replaced by a file of ours, the link's target untouched.
  const std::string other = dir + "/listen.addr";
  ASSERT_EQ(::symlink(bait.c_str(), other.c_str()), 0);
  ASSERT_TRUE(WritePrivateFile(other, "127.0.0.1:1\n").ok());
  EXPECT_EQ(Slurp(bait), "attacker's");
  struct stat st {};
  ASSERT_EQ(::lstat(other.c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // Whatever the umask, the file is 0600.
  const mode_t old = ::umask(0);
  ASSERT_TRUE(WritePrivateFile(dir + "/kafka.addr", "x\n").ok());
  ::umask(old);
  EXPECT_EQ(ModeOf(dir + "/kafka.addr"), 0600u);
}

TEST(PrivateFileTest, AKeyFileThatCannotBeTrustedIsAnErrorNeverAReplacement) {
  TempDir tmp;
  const std::string dir = tmp.File("keys");
  ASSERT_TRUE(EnsurePrivateDir(dir).ok());
  const std::string path = dir + "/jwt-ed25519.pem";
  // Missing: made, 0600.
  Result<Pkey> made = LoadOrCreateEd25519Key(path, "the signing key");
  ASSERT_TRUE(made.ok()) << made.error().message;
  EXPECT_EQ(ModeOf(path), 0600u);
  const std::string pem = Slurp(path);
  // Present: loaded, the same.
  ASSERT_TRUE(LoadOrCreateEd25519Key(path, "the signing key").ok());
  EXPECT_EQ(Slurp(path), pem);
  // Readable by others: refused (a key others may have read signs nothing more), unchanged.
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  Result<Pkey> open = LoadOrCreateEd25519Key(path, "the signing key");
  ASSERT_FALSE(open.ok());
  EXPECT_NE(open.error().message.find("chmod 600"), std::string::npos) << open.error().message;
  EXPECT_EQ(Slurp(path), pem);
  ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
  // Not a key: refused, unchanged.
  const std::string junk = dir + "/junk.pem";
  ASSERT_TRUE(WritePrivateFile(junk, "not a key").ok());
  EXPECT_FALSE(LoadOrCreateEd25519Key(junk, "the signing key").ok());
  EXPECT_EQ(Slurp(junk), "not a key");
  // Unreadable (a directory where the key should be): an error, nothing made in its place.
  const std::string blocked = dir + "/blocked.pem";
  ASSERT_EQ(::mkdir(blocked.c_str(), 0700), 0);
  EXPECT_FALSE(LoadOrCreateEd25519Key(blocked, "the signing key").ok());
  EXPECT_TRUE(std::filesystem::is_directory(blocked));
  // A link: refused.
  const std::string link = dir + "/link.pem";
  ASSERT_EQ(::symlink(path.c_str(), link.c_str()), 0);
  EXPECT_FALSE(LoadOrCreateEd25519Key(link, "the signing key").ok());
  if (::geteuid() != 0) return;
  // Another user's: refused.
  ASSERT_EQ(::chown(path.c_str(), kStranger, kStranger), 0);
  EXPECT_FALSE(LoadOrCreateEd25519Key(path, "the signing key").ok());
}

}  // namespace
}  // namespace custos::core
