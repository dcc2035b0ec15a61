#include "core/kv_store.h"

#include <gtest/gtest.h>

namespace custos::core {
namespace {

TEST(KvBatchTest, RecordsWritesInOrder) {
  KvBatch b;
  b.Put(Space::kState, "k", "v");
  b.Delete(Space::kCredentials, "c");
  b.DeleteRange(Space::kIndex, "a", "b");
  b.SetCheckpoint("state", Seq(42));
  ASSERT_EQ(b.writes().size(), 4u);
  EXPECT_EQ(b.writes()[2].op, KvWrite::Op::kDeleteRange);
  EXPECT_EQ(b.writes()[2].value, "b");
  EXPECT_EQ(b.writes()[3].space, Space::kCheckpoint);
  EXPECT_EQ(DecodeCheckpoint(b.writes()[3].value), Seq(42));
}

TEST(KvBatchTest, CheckpointEncodingRoundTripsAndSortsNumerically) {
  EXPECT_LT(EncodeCheckpoint(Seq(255)), EncodeCheckpoint(Seq(256)));
  EXPECT_EQ(DecodeCheckpoint(EncodeCheckpoint(Seq(UINT64_MAX))), Seq(UINT64_MAX));
  EXPECT_FALSE(DecodeCheckpoint("short").has_value());
}

}  // namespace
}  // namespace custos::core
