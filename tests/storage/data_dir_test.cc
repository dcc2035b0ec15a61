// A data dir's format version, and backups that are whole or nothing (storage/data_dir.h).
#include "storage/data_dir.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "core/event.h"
#include "tests/support/test_store.h"
#include "tests/support/test_support.h"

namespace custos::storage {
namespace {

namespace fs = std::filesystem;
using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;

class DataDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(testing::OpenTestStore(dir_, clock_, store_));
    core::EventDraft d;
    d.type = "job.ran";
    d.actor = core::Actor{"system", "cron", "", "", ""};
    d.data = "{}";
    core::AppendRequest r;
    r.tenant = core::TenantId("acme");
    r.events.assign(3, core::RenderDraft(d).value());
    ASSERT_TRUE(store_->Append(std::move(r)).ok());
    ASSERT_EQ(::mkdir(dir_.File("keys").c_str(), 0700), 0);
    WriteFile(dir_.File("keys/jwt-ed25519.pem"), "key");
    WriteFile(dir_.File("root-client.json"), "{}");
  }

  TempDir dir_;
  TempDir elsewhere_;
  core::FakeClock clock_{core::FromUnixMillis(1'700'000'000'000)};
  std::unique_ptr<RocksStore> store_;
};

TEST_F(DataDirTest, TheFormatIsStampedOnceAndAnotherIsRefused) {
  EXPECT_TRUE(CheckDataDirFormat(dir_.path(), /*writable=*/false).ok());
  EXPECT_FALSE(fs::exists(dir_.File("format")));  // a reader leaves an old dir as it was
  ASSERT_TRUE(CheckDataDirFormat(dir_.path(), /*writable=*/true).ok());
  EXPECT_EQ(ReadFile(dir_.File("format")), "1\n");
  EXPECT_TRUE(CheckDataDirFormat(dir_.path(), /*writable=*/false).ok());
  WriteFile(dir_.File("format"), "2\n");
  core::Status newer = CheckDataDirFormat(dir_.path(), true);
  ASSERT_FALSE(newer.ok());
  EXPECT_NE(newer.error().message.find("written by a newer Custos (data-dir format 2; this one "
                                       "reads format 1)"),
            std::string::npos)
      << newer.error().message;
  EXPECT_EQ(ReadFile(dir_.File("format")), "2\n");
  WriteFile(dir_.File("format"), "one\n");
  EXPECT_EQ(CheckDataDirFormat(dir_.path(), true).error().code, core::Errc::kCorruption);
}

TEST_F(DataDirTest, ABackupRestoresIntoADataDirOfItsOwn) {
  const std::string to = elsewhere_.File("backup");
  core::Result<BackupInfo> made = TakeBackup(*store_, dir_.path(), to, clock_);
  ASSERT_TRUE(made.ok()) << made.error().message;
  EXPECT_EQ(made->seq, 3u);
  EXPECT_EQ(made->time, "2023-11-14T22:13:20.000Z");
  EXPECT_EQ(ReadFile(to + "/keys/jwt-ed25519.pem"), "key");
  struct stat st {};
  ASSERT_EQ(::stat(to.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(::stat((to + "/root-client.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  const std::string restored = elsewhere_.File("restored");
  core::Result<BackupInfo> back = RestoreBackup(to, restored);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->seq, 3u);
  EXPECT_EQ(ReadFile(restored + "/format"), "1\n");
  // Nothing shared with the backup: a restored file is a copy, not a link.
  for (const fs::directory_entry& e : fs::directory_iterator(restored + "/db")) {
    ASSERT_EQ(::stat(e.path().c_str(), &st), 0);
    EXPECT_EQ(st.st_nlink, 1u) << e.path();
  }
  StoreOptions options;
  options.path = restored + "/db";
  options.read_only = true;
  auto reopened = RocksStore::Open(options);
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ((*reopened)->Head(core::TenantId("acme"))->tenant_seq.value(), 3u);
  // Into a dir that holds something: refused, untouched.
  core::Result<BackupInfo> again = RestoreBackup(to, restored);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, core::Errc::kConflict);
}

TEST_F(DataDirTest, WhatIsNotAWholeBackupIsNeitherMadeNorRestored) {
  // A target whose parent is missing, one that exists, one inside the data dir.
  EXPECT_EQ(TakeBackup(*store_, dir_.path(), elsewhere_.File("no/such"), clock_).error().code,
            core::Errc::kInvalidArgument);
  EXPECT_EQ(TakeBackup(*store_, dir_.path(), elsewhere_.path(), clock_).error().code,
            core::Errc::kConflict);
  EXPECT_EQ(TakeBackup(*store_, dir_.path(), dir_.File("inner"), clock_).error().code,
            core::Errc::kInvalidArgument);
  EXPECT_FALSE(fs::exists(dir_.File("inner")));
  // A backup that fails half-way leaves nothing: here its keys/ is unreadable as a tree.
  fs::create_symlink("/etc", dir_.File("keys/link"));
  const std::string to = elsewhere_.File("half");
  EXPECT_FALSE(TakeBackup(*store_, dir_.path(), to, clock_).ok());
  EXPECT_FALSE(fs::exists(to));
  fs::remove(dir_.File("keys/link"));

  // No manifest: not a backup. A manifest that disagrees with the store: refused, and the
  // data dir is not made.
  ASSERT_TRUE(TakeBackup(*store_, dir_.path(), to, clock_).ok());
  const std::string manifest = ReadFile(to + "/custos-backup.json");
  fs::remove(to + "/custos-backup.json");
  EXPECT_NE(RestoreBackup(to, elsewhere_.File("r1")).error().message.find("not a complete"),
            std::string::npos);
  std::string wrong = manifest;
  wrong.replace(wrong.find("\"seq\":3"), 7, "\"seq\":9");
  WriteFile(to + "/custos-backup.json", wrong);
  core::Result<BackupInfo> r = RestoreBackup(to, elsewhere_.File("r2"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, core::Errc::kCorruption) << r.error().message;
  EXPECT_FALSE(fs::exists(elsewhere_.File("r2")));
  EXPECT_FALSE(fs::exists(elsewhere_.File("r2.restoring")));
}

}  // namespace
}  // namespace custos::storage
