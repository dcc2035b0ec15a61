#include <gtest/gtest.h>

#include <filesystem>

#include "core/clock.h"
#include "storage/rocks_store.h"
#include "tests/support/test_store.h"
#include "tests/support/test_support.h"

namespace custos::storage {
namespace {

using core::Space;

class KvStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(testing::OpenTestStore(dir_, clock_, store_)); }

  std::vector<std::string> Keys(Space space, std::string_view prefix) {
    std::vector<std::string> keys;
    EXPECT_TRUE(store_
                    ->Scan(space, prefix,
                           [&](std::string_view k, std::string_view) {
                             keys.emplace_back(k);
                             return true;
                           })
                    .ok());
    return keys;
  }

  testing::TempDir dir_;
  core::FakeClock clock_{core::FromUnixMillis(0)};
  std::unique_ptr<RocksStore> store_;
};

TEST_F(KvStoreTest, ABatchAndItsCheckpointCommitTogether) {
  core::KvBatch batch;
  batch.Put(Space::kState, "user/1", "ada");
  batch.Put(Space::kState, "user/2", "grace");
  batch.SetCheckpoint("state", core::Seq(17));
  ASSERT_TRUE(store_->Write(batch, core::Durability::kSync).ok());
  EXPECT_EQ(store_->Get(Space::kState, "user/1")->value_or(""), "ada");
  EXPECT_EQ(*store_->GetCheckpoint("state"), core::Seq(17));
  EXPECT_FALSE(store_->GetCheckpoint("relay")->has_value());
}

TEST_F(KvStoreTest, SpacesAreIndependent) {
  core::KvBatch batch;
  batch.Put(Space::kState, "k", "state");
  batch.Put(Space::kCredentials, "k", "cred");
  ASSERT_TRUE(store_->Write(batch, core::Durability::kNoSync).ok());
  EXPECT_EQ(store_->Get(Space::kState, "k")->value_or(""), "state");
  EXPECT_EQ(store_->Get(Space::kCredentials, "k")->value_or(""), "cred");
  EXPECT_FALSE(store_->Get(Space::kIndex, "k")->has_value());
}

TEST_F(KvStoreTest, ScanStopsAtThePrefixOrWhenAsked) {
  core::KvBatch batch;
  for (const char* k : {"a/1", "a/2", "a/3", "b/1"}) batch.Put(Space::kIndex, k, "v");
  ASSERT_TRUE(store_->Write(batch, core::Durability::kNoSync).ok());
  EXPECT_EQ(Keys(Space::kIndex, "a/"), (std::vector<std::string>{"a/1", "a/2", "a/3"}));
  int seen = 0;
  ASSERT_TRUE(
      store_
          ->Scan(Space::kIndex, "", [&](std::string_view, std::string_view) { return ++seen < 2; })
          .ok());
  EXPECT_EQ(seen, 2);
}

TEST_F(KvStoreTest, DeleteAndDeleteRange) {
  core::KvBatch batch;
  for (const char* k : {"a/1", "a/2", "a/3", "a/4"}) batch.Put(Space::kIndex, k, "v");
  ASSERT_TRUE(store_->Write(batch, core::Durability::kNoSync).ok());
  core::KvBatch del;
  del.DeleteRange(Space::kIndex, "a/1", "a/3");
  del.Delete(Space::kIndex, "a/4");
  ASSERT_TRUE(store_->Write(del, core::Durability::kSync).ok());
  EXPECT_EQ(Keys(Space::kIndex, "a/"), (std::vector<std::string>{"a/3"}));
}

TEST_F(KvStoreTest, IteratorSeeksBothWays) {
  core::KvBatch batch;
  for (const char* k : {"a/1", "a/3", "a/5", "b/1"}) batch.Put(Space::kIndex, k, k);
  ASSERT_TRUE(store_->Write(batch, core::Durability::kNoSync).ok());
  std::unique_ptr<core::KvIterator> it = store_->NewIterator(Space::kIndex);
  it->Seek("a/2");
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(it->key(), "a/3");
  EXPECT_EQ(it->value(), "a/3");
  it->Next();
  EXPECT_EQ(it->key(), "a/5");
  it->SeekForPrev("a/4");
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(it->key(), "a/3");
  it->Prev();
  EXPECT_EQ(it->key(), "a/1");
  it->Prev();
  EXPECT_FALSE(it->Valid());
  EXPECT_TRUE(it->status().ok());
  it->Seek("c");
  EXPECT_FALSE(it->Valid());
}

// A source over a list of pairs, for IngestSorted.
core::KvStore::KvSource Source(const std::vector<std::pair<std::string, std::string>>& kvs) {
  return [&kvs, at = size_t{0}](std::string_view& key, std::string_view& value) mutable {
    if (at == kvs.size()) return false;
    key = kvs[at].first;
    value = kvs[at].second;
    ++at;
    return true;
  };
}

TEST_F(KvStoreTest, SortedKeysAreIngestedAllTogetherBesideWrittenOnes) {
  core::KvBatch batch;
  batch.Put(Space::kAudit, "b/2", "written");
  batch.DeleteRange(Space::kAudit, "a", "c");  // dropped before the ingest, as a rebuild does
  ASSERT_TRUE(store_->Write(batch, core::Durability::kNoSync).ok());
  const std::vector<std::pair<std::string, std::string>> kvs = {
      {"a/1", "one"}, {"b/1", "two"}, {"b/3", std::string(5000, 'x')}};
  ASSERT_TRUE(store_->IngestSorted(Space::kAudit, Source(kvs)).ok());
  EXPECT_EQ(Keys(Space::kAudit, ""), (std::vector<std::string>{"a/1", "b/1", "b/3"}));
  EXPECT_EQ(store_->Get(Space::kAudit, "b/3")->value_or(""), std::string(5000, 'x'));
  EXPECT_TRUE(Keys(Space::kIndex, "").empty());  // into that space only
  // Nothing to ingest is nothing done.
  const std::vector<std::pair<std::string, std::string>> none;
  EXPECT_TRUE(store_->IngestSorted(Space::kAudit, Source(none)).ok());
  // The ingested keys survive a restart (the file was moved into the store, not left behind).
  store_.reset();
  ASSERT_NO_FATAL_FAILURE(testing::OpenTestStore(dir_, clock_, store_));
  EXPECT_EQ(Keys(Space::kAudit, ""), (std::vector<std::string>{"a/1", "b/1", "b/3"}));
}

TEST_F(KvStoreTest, KeysOutOfOrderAreRefusedAndNoneLands) {
  for (const std::vector<std::pair<std::string, std::string>>& kvs :
       std::vector<std::vector<std::pair<std::string, std::string>>>{
           {{"k/1", ""}, {"k/3", ""}, {"k/2", ""}}, {{"k/1", ""}, {"k/1", "again"}}}) {
    const core::Status s = store_->IngestSorted(Space::kAudit, Source(kvs));
    EXPECT_FALSE(s.ok());
    EXPECT_TRUE(Keys(Space::kAudit, "k/").empty());
  }
  // Nor does a failed ingest leave its file behind.
  std::error_code ignored;
  EXPECT_TRUE(std::filesystem::is_empty(dir_.File("db") + "/ingest", ignored));
}

}  // namespace
}  // namespace custos::storage
