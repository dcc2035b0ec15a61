// The audit index's posting blocks against brute force: runs split into random blocks beside
// neighbouring runs, sought in both directions by every x in order and by random jumps.
#include "projections/internal/audit_postings.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

#include "core/clock.h"
#include "storage/rocks_store.h"
#include "tests/support/test_store.h"
#include "tests/support/test_support.h"

namespace custos::projections::internal {
namespace {

TEST(AuditPostingsTest, VarintsRoundTripAndRefuseCutShortInput) {
  for (uint64_t v : {uint64_t{0}, uint64_t{1}, uint64_t{127}, uint64_t{128}, uint64_t{300},
                     uint64_t{1} << 35, ~uint64_t{0}}) {
    std::string s;
    PutVarint(s, v);
    std::string_view in = s;
    uint64_t out = 0;
    ASSERT_TRUE(GetVarint(in, out));
    EXPECT_EQ(out, v);
    EXPECT_TRUE(in.empty());
    if (s.size() > 1) {
      std::string_view cut = std::string_view(s).substr(0, s.size() - 1);
      EXPECT_FALSE(GetVarint(cut, out));
    }
  }
  std::vector<uint64_t> seqs;
  EXPECT_FALSE(DecodeBlock("", seqs).ok());
  EXPECT_FALSE(DecodeBlock("\x85", seqs).ok());                      // cut short
  EXPECT_FALSE(DecodeBlock(std::string("\x05\x00", 2), seqs).ok());  // not ascending
}

TEST(AuditPostingsTest, BlocksRefuseWhatIsNotStrictlyAscending) {
  auto varints = [](std::initializer_list<uint64_t> values) {
    std::string out;
    for (uint64_t v : values) PutVarint(out, v);
    return out;
  };
  std::vector<uint64_t> seqs;
  ASSERT_TRUE(DecodeBlock(varints({3, 4, 1}), seqs).ok());
  EXPECT_EQ(seqs, (std::vector<uint64_t>{3, 7, 8}));
  EXPECT_FALSE(DecodeBlock(varints({0}), seqs).ok());                     // tenant_seq 0
  EXPECT_FALSE(DecodeBlock(varints({10, ~uint64_t{0} - 3}), seqs).ok());  // wraps to 6
  std::vector<std::pair<uint64_t, uint64_t>> times;
  ASSERT_TRUE(DecodeTimeBlock(varints({1000, 5, 0, 1, 20, 2}), times).ok());
  EXPECT_EQ(times, (std::vector<std::pair<uint64_t, uint64_t>>{{1000, 5}, {1000, 6}, {1020, 8}}));
  EXPECT_FALSE(DecodeTimeBlock(varints({1000, 0}), times).ok());                   // seq 0
  EXPECT_FALSE(DecodeTimeBlock(varints({1000, 5, 0, 0}), times).ok());             // seq again
  EXPECT_FALSE(DecodeTimeBlock(varints({1000, 5, ~uint64_t{0}, 1}), times).ok());  // time wraps
  EXPECT_FALSE(DecodeTimeBlock(varints({1000}), times).ok());                      // cut short
  // The builder takes a run's entries only in order.
  BlockBuilder blocks;
  EXPECT_TRUE(blocks.Add("r", 5));
  EXPECT_FALSE(blocks.Add("r", 5));
  EXPECT_FALSE(blocks.Add("r", 4));
  EXPECT_TRUE(blocks.Add("s", 1));
  EXPECT_FALSE(blocks.Add("u", 0));  // no tenant_seq 0
  EXPECT_TRUE(blocks.AddTime("t", 100, 1));
  EXPECT_FALSE(blocks.AddTime("t", 99, 2));  // time went back
  EXPECT_TRUE(blocks.AddTime("t", 100, 2));
}

TEST(AuditPostingsTest, ALongRunIsCutIntoBlocksAndEverythingComesOutInKeyOrder) {
  std::mt19937_64 rng(5);
  BlockBuilder blocks(/*max_entries=*/7);
  std::map<std::string, std::vector<uint64_t>> runs;  // what went in, by run
  std::map<std::string, std::vector<std::pair<uint64_t, uint64_t>>> times;
  std::set<std::string> keys;
  for (uint64_t seq = 1; seq <= 200; ++seq) {
    for (const std::string tenant : {"b", "a"}) {  // runs of two tenants, as a live batch has
      const std::string run =
          tenant + std::string("\0A", 2) + "u" + std::to_string(rng() % 3) + std::string(1, '\0');
      if (rng() % 2 == 0) {
        ASSERT_TRUE(blocks.Add(run, seq));
        runs[run].push_back(seq);
      }
      const std::string time_run = tenant + std::string("\0T", 2);
      ASSERT_TRUE(blocks.AddTime(time_run, 1000 + seq / 3, seq));
      times[time_run].emplace_back(1000 + seq / 3, seq);
      // Event ids mostly ascending, now and then not: both come out in order.
      std::string key = tenant + std::string("\0e", 2) + "evt_" +
                        std::to_string(rng() % 10 == 0 ? 999 - seq : 100 + seq);
      core::PutBE64(key, seq);
      blocks.AddKey(key);
      keys.insert(key);
    }
  }
  SortedBlocks out;
  blocks.Finish(out);
  EXPECT_TRUE(blocks.empty());
  std::map<std::string, std::vector<uint64_t>> got_runs;
  std::map<std::string, std::vector<std::pair<uint64_t, uint64_t>>> got_times;
  std::set<std::string> got_keys;
  for (size_t i = 0; i < out.size(); ++i) {
    if (i > 0) {
      ASSERT_LT(out.key(i - 1), out.key(i));
    }
    const std::string_view key = out.key(i);
    const char kind = key[2];  // after the tenant ("a" or "b") and \0
    if (kind == 'e') {
      EXPECT_TRUE(out.value(i).empty());
      got_keys.emplace(key);
    } else if (kind == 'T') {
      std::vector<std::pair<uint64_t, uint64_t>> entries;
      ASSERT_TRUE(DecodeTimeBlock(out.value(i), entries).ok());
      EXPECT_LE(entries.size(), 7u);
      const std::string prefix(key.substr(0, key.size() - 16));
      EXPECT_EQ(core::GetBE64(key.substr(prefix.size())), entries.back().first);
      EXPECT_EQ(core::GetBE64(key.substr(prefix.size() + 8)), entries.back().second);
      got_times[prefix].insert(got_times[prefix].end(), entries.begin(), entries.end());
    } else {
      std::vector<uint64_t> seqs;
      ASSERT_TRUE(DecodeBlock(out.value(i), seqs).ok());
      EXPECT_LE(seqs.size(), 7u);
      const std::string prefix(key.substr(0, key.size() - 8));
      EXPECT_EQ(core::GetBE64(key.substr(prefix.size())), seqs.back());
      got_runs[prefix].insert(got_runs[prefix].end(), seqs.begin(), seqs.end());
    }
  }
  EXPECT_EQ(got_runs, runs);
  EXPECT_EQ(got_times, times);
  EXPECT_EQ(got_keys, keys);
  // Emptied: the next batch starts afresh, its runs' order checks too.
  EXPECT_TRUE(blocks.Add(runs.begin()->first, 1));
}

TEST(AuditPostingsTest, ManyRunsGrowTheTableAndEachKeepsItsOwnEntries) {
  BlockBuilder blocks;
  for (uint64_t seq = 1; seq <= 5000; ++seq) {
    ASSERT_TRUE(blocks.Add("r" + std::to_string(seq % 1500) + std::string(1, '\0'), seq));
  }
  SortedBlocks out;
  blocks.Finish(out);
  ASSERT_EQ(out.size(), 1500u);
  for (size_t i = 0; i < out.size(); ++i) {
    const std::string_view key = out.key(i);
    const uint64_t run = std::stoull(std::string(key.substr(1, key.size() - 10)));
    std::vector<uint64_t> seqs;
    ASSERT_TRUE(DecodeBlock(out.value(i), seqs).ok());
    std::vector<uint64_t> want;
    for (uint64_t s = run == 0 ? 1500 : run; s <= 5000; s += 1500) want.push_back(s);
    EXPECT_EQ(seqs, want) << "run " << run;
  }
}

class PostingTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(testing::OpenTestStore(dir_, clock_, store_)); }

  // Writes the runs' seqs as the indexer would, in batches that cut them into blocks at
  // random, each batch covering an increasing range of tenant_seqs.
  void Write(const std::map<std::string, std::set<uint64_t>>& runs, uint64_t max_seq) {
    uint64_t from = 1;
    while (from <= max_seq) {
      const uint64_t to = std::min(max_seq, from + rng_() % 40);
      BlockBuilder blocks;
      for (const auto& [prefix, seqs] : runs) {
        for (auto it = seqs.lower_bound(from); it != seqs.end() && *it <= to; ++it) {
          ASSERT_TRUE(blocks.Add(prefix, *it));
        }
      }
      core::KvBatch batch;
      blocks.WriteTo(batch);
      ASSERT_TRUE(store_->Write(batch, core::Durability::kNoSync).ok());
      from = to + 1;
    }
  }

  Posting Open(const std::string& prefix, bool descending) {
    return Posting(store_->NewIterator(core::Space::kAudit), prefix, descending);
  }

  testing::TempDir dir_;
  core::FakeClock clock_{core::FromUnixMillis(1'700'000'000'000)};
  std::unique_ptr<storage::RocksStore> store_;
  std::mt19937_64 rng_{11};
};

TEST_F(PostingTest, SeeksFindWhatBruteForceFindsInBothDirections) {
  // Neighbouring runs share the tenant and kind, so a seek that leaves one run lands in
  // another: "a" sorts before "ab", which sorts before "b".
  std::map<std::string, std::set<uint64_t>> runs;
  const uint64_t max_seq = 3000;
  for (const std::string value : {"a", "ab", "b", "empty-neighbour"}) {
    std::set<uint64_t>& seqs = runs[std::string("acme\0a", 6) + value + '\0'];
    const uint64_t every = 1 + rng_() % 9;
    for (uint64_t s = 1; s <= max_seq; ++s) {
      if (rng_() % every == 0) seqs.insert(s);
    }
  }
  runs[std::string("acme\0a", 6) + "sparse" + '\0'] = {7, 1500, 2999};
  ASSERT_NO_FATAL_FAILURE(Write(runs, max_seq));
  for (const auto& [prefix, seqs] : runs) {
    for (bool descending : {false, true}) {
      // Every x in order, then random jumps in the query's direction.
      for (int mode = 0; mode < 2; ++mode) {
        Posting p = Open(prefix, descending);
        uint64_t x = descending ? max_seq + 5 : 0;
        while (descending ? x > 0 : x <= max_seq + 5) {
          std::optional<uint64_t> want;
          if (descending) {
            auto it = seqs.upper_bound(x);
            if (it != seqs.begin()) want = *std::prev(it);
          } else {
            auto it = seqs.lower_bound(x);
            if (it != seqs.end()) want = *it;
          }
          ASSERT_EQ(p.SeekTo(x), want) << "x " << x << (descending ? " desc" : " asc");
          const uint64_t step = mode == 0 ? 1 : 1 + rng_() % 200;
          if (descending) {
            x = x > step ? x - step : 0;
          } else {
            x += step;
          }
        }
        EXPECT_TRUE(p.status().ok());
      }
    }
  }
  // A run with no blocks at all.
  Posting none = Open(std::string("acme\0a", 6) + "zz" + '\0', false);
  EXPECT_FALSE(none.SeekTo(1).has_value());
  Posting none_desc = Open(std::string("acme\0a", 6) + "0" + '\0', true);
  EXPECT_FALSE(none_desc.SeekTo(5000).has_value());
}

TEST_F(PostingTest, ABlockThatDoesNotDecodeIsAnErrorNotAnEmptyRun) {
  const std::string prefix = std::string("acme\0a", 6) + "x" + '\0';
  std::string key = prefix;
  core::PutBE64(key, 9);
  core::KvBatch batch;
  batch.Put(core::Space::kAudit, key, std::string("\x05\x00", 2));
  ASSERT_TRUE(store_->Write(batch, core::Durability::kNoSync).ok());
  Posting p = Open(prefix, false);
  EXPECT_FALSE(p.SeekTo(1).has_value());
  EXPECT_EQ(p.status().error().code, core::Errc::kCorruption);
  // A block whose entries end elsewhere than its key says is corrupt too.
  core::KvBatch other;
  std::string value;
  PutVarint(value, 4);
  other.Put(core::Space::kAudit, key, value);
  ASSERT_TRUE(store_->Write(other, core::Durability::kNoSync).ok());
  Posting q = Open(prefix, true);
  EXPECT_FALSE(q.SeekTo(20).has_value());
  EXPECT_EQ(q.status().error().code, core::Errc::kCorruption);
  // Met by a walk stepping from a good block to it, in either direction: an error too.
  auto good_block = [&](std::initializer_list<uint64_t> entries) {
    std::string k = prefix;
    core::PutBE64(k, *(entries.end() - 1));
    std::string v;
    uint64_t previous = 0;
    for (uint64_t e : entries) {
      PutVarint(v, e - previous);
      previous = e;
    }
    core::KvBatch b;
    b.Put(core::Space::kAudit, k, v);
    ASSERT_TRUE(store_->Write(b, core::Durability::kNoSync).ok());
  };
  ASSERT_NO_FATAL_FAILURE(good_block({3, 5}));    // below the bad block (key 9)
  ASSERT_NO_FATAL_FAILURE(good_block({15, 20}));  // above it
  Posting up = Open(prefix, false);
  EXPECT_EQ(up.SeekTo(1), std::optional<uint64_t>(3));
  EXPECT_EQ(up.SeekTo(4), std::optional<uint64_t>(5));
  EXPECT_FALSE(up.SeekTo(6).has_value());  // steps onto the bad block
  EXPECT_EQ(up.status().error().code, core::Errc::kCorruption);
  Posting down = Open(prefix, true);
  EXPECT_EQ(down.SeekTo(25), std::optional<uint64_t>(20));
  EXPECT_EQ(down.SeekTo(16), std::optional<uint64_t>(15));
  EXPECT_FALSE(down.SeekTo(14).has_value());  // steps onto the bad block
  EXPECT_EQ(down.status().error().code, core::Errc::kCorruption);
}

}  // namespace
}  // namespace custos::projections::internal
