#include <gtest/gtest.h>

#include <map>
#include <set>
#include <thread>

#include "core/chain_verifier.h"
#include "core/clock.h"
#include "core/event.h"
#include "storage/rocks_store.h"
#include "tests/support/test_store.h"
#include "tests/support/test_support.h"

namespace custos::storage {
namespace {

using core::AppendRequest;
using core::EventDraft;
using core::Seq;
using core::TenantId;
using core::TenantSeq;

const core::Time kStart = core::FromUnixMillis(1795521600000);

EventDraft Draft(std::string data = "{}") {
  EventDraft d;
  d.type = "workflow.executed";
  d.actor = core::Actor{"user", "usr_1", "Ada", "", ""};
  d.target = core::Target{"workflow", "res_1", "Nightly"};
  d.data = std::move(data);
  d.request_id = "req-1";
  return d;
}

// The drafts rendered, as every appender hands them to the log (valid drafts only: a test of
// invalid ones calls core::RenderDrafts itself).
AppendRequest Request(const std::string& tenant, const std::vector<EventDraft>& events,
                      std::optional<uint64_t> expected = std::nullopt) {
  AppendRequest r;
  r.tenant = TenantId(tenant);
  core::Result<std::vector<core::RenderedDraft>> rendered = core::RenderDrafts(events);
  if (!rendered.ok()) ADD_FAILURE() << rendered.error().ToString();
  if (rendered.ok()) r.events = std::move(rendered).value();
  if (expected) r.expected_tenant_seq = TenantSeq(*expected);
  return r;
}

class EventLogTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }

  void Open() {
    store_.reset();
    ASSERT_NO_FATAL_FAILURE(testing::OpenTestStore(dir_, clock_, store_));
  }

  // Every event of the tenant, checked as `custos verify` would.
  core::ChainSummary VerifyTenant(const std::string& tenant) {
    auto events = store_->ReadTenant(TenantId(tenant), TenantSeq(1), 1'000'000);
    EXPECT_TRUE(events.ok());
    core::ChainVerifier verifier{std::string(core::kZeroHash)};
    for (const core::StoredEvent& e : *events) {
      core::Status s = verifier.Feed(e.line);
      EXPECT_TRUE(s.ok()) << s.error().message;
      if (!s.ok()) break;
    }
    return verifier.summary();
  }

  testing::TempDir dir_;
  core::FakeClock clock_{kStart};
  std::unique_ptr<RocksStore> store_;
};

TEST_F(EventLogTest, AppendThenReadReturnsTheStoredLines) {
  auto appended = store_->Append(Request("acme", {Draft("{\"n\":1}"), Draft("{\"n\":2}")}));
  ASSERT_TRUE(appended.ok()) << appended.error().message;
  ASSERT_EQ(appended->size(), 2u);
  EXPECT_EQ((*appended)[0].seq, Seq(1));
  EXPECT_EQ((*appended)[1].seq, Seq(2));
  EXPECT_EQ((*appended)[0].tenant_seq, TenantSeq(1));
  EXPECT_EQ((*appended)[1].tenant_seq, TenantSeq(2));
  EXPECT_EQ((*appended)[0].time, kStart);

  auto read = store_->Read(Seq(1), 10);
  ASSERT_TRUE(read.ok());
  ASSERT_EQ(read->size(), 2u);
  EXPECT_EQ((*read)[0].line, (*appended)[0].line);
  EXPECT_EQ((*read)[1].line, (*appended)[1].line);
  EXPECT_EQ((*read)[1].tenant, TenantId("acme"));
  EXPECT_EQ((*read)[1].tenant_seq, TenantSeq(2));

  auto tenant = store_->ReadTenant(TenantId("acme"), TenantSeq(2), 10);
  ASSERT_TRUE(tenant.ok());
  ASSERT_EQ(tenant->size(), 1u);
  EXPECT_EQ((*tenant)[0].seq, Seq(2));
  EXPECT_EQ((*tenant)[0].line, (*appended)[1].line);

  core::Result<core::LineFields> f = core::VerifyLine((*appended)[1].line);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->prev_hash, (*appended)[0].hash);
  EXPECT_EQ(f->id, (*appended)[1].id.value());

  std::optional<core::TenantHead> head = store_->Head(TenantId("acme"));
  ASSERT_TRUE(head.has_value());
  EXPECT_EQ(head->tenant_seq, TenantSeq(2));
  EXPECT_EQ(head->hash, (*appended)[1].hash);
  EXPECT_EQ(store_->LastSeq(), Seq(2));
  EXPECT_FALSE(store_->Head(TenantId("other")).has_value());
}

TEST_F(EventLogTest, APurgeDropsATenantsOldEventsAndCompactionTheirIndexEntries) {
  std::vector<EventDraft> drafts(10, Draft());
  ASSERT_TRUE(store_->Append(Request("acme", drafts)).ok());
  ASSERT_TRUE(store_->Append(Request("acmf", {Draft()})).ok());  // a neighbouring key range
  // Audit-space keys end with BE64(tenant_seq); those below the floor go at compaction.
  auto index_key = [](const std::string& tenant, uint64_t tenant_seq) {
    std::string k = tenant + std::string(1, '\0') + "a" + "x" + std::string(1, '\0');
    for (int shift = 56; shift >= 0; shift -= 8) k += static_cast<char>(tenant_seq >> shift);
    return k;
  };
  core::KvBatch index;
  for (uint64_t s : {3, 6, 9}) index.Put(core::Space::kAudit, index_key("acme", s), "");
  index.Put(core::Space::kAudit, index_key("acmf", 1), "");
  ASSERT_TRUE(store_->Write(index, core::Durability::kSync).ok());

  EXPECT_EQ(store_->PurgeTenant(TenantId("acme"), TenantSeq(11)).error().code,
            core::Errc::kInvalidArgument);  // never the head
  ASSERT_TRUE(store_->PurgeTenant(TenantId("acme"), TenantSeq(6)).ok());
  EXPECT_EQ(*store_->FirstTenantSeq(TenantId("acme")), TenantSeq(6));
  EXPECT_EQ(store_->ReadTenant(TenantId("acme"), TenantSeq(1), 100)->size(), 5u);
  EXPECT_EQ(store_->Read(Seq(1), 100)->size(), 6u);  // seq 1..5 skipped
  EXPECT_EQ(*store_->FirstTenantSeq(TenantId("acmf")), TenantSeq(1));

  ASSERT_TRUE(store_->CompactSpace(core::Space::kAudit).ok());
  EXPECT_FALSE(store_->Get(core::Space::kAudit, index_key("acme", 3))->has_value());
  EXPECT_TRUE(store_->Get(core::Space::kAudit, index_key("acme", 6))->has_value());
  EXPECT_TRUE(store_->Get(core::Space::kAudit, index_key("acmf", 1))->has_value());

  // Reopened: the head, the floor and the chain from the purge's anchor are all kept.
  const std::string sixth = *(*store_->GetTenantEvents(TenantId("acme"), {TenantSeq(6)}))[0];
  const std::string anchor(core::ParseLineFields(sixth)->prev_hash);
  Open();
  EXPECT_EQ(store_->Head(TenantId("acme"))->tenant_seq, TenantSeq(10));
  EXPECT_EQ(*store_->FirstTenantSeq(TenantId("acme")), TenantSeq(6));
  ASSERT_TRUE(store_->Append(Request("acme", {Draft()})).ok());
  core::ChainVerifier verifier{std::string(anchor)};
  auto kept = store_->ReadTenant(TenantId("acme"), TenantSeq(1), 100);
  ASSERT_TRUE(kept.ok());
  for (const core::StoredEvent& e : *kept) {
    core::Status fed = verifier.Feed(e.line);
    ASSERT_TRUE(fed.ok()) << fed.error().message;
  }
  EXPECT_EQ(verifier.summary().last_tenant_seq, 11u);
  ASSERT_TRUE(store_->Write(index, core::Durability::kSync).ok());
  ASSERT_TRUE(store_->CompactSpace(core::Space::kAudit).ok());
  EXPECT_FALSE(store_->Get(core::Space::kAudit, index_key("acme", 3))->has_value());
}

TEST_F(EventLogTest, GetTenantEventsFetchesByTenantSeqInTheOrderAsked) {
  auto appended =
      store_->Append(Request("acme", {Draft("{\"n\":1}"), Draft("{\"n\":2}"), Draft("{\"n\":3}")}));
  ASSERT_TRUE(appended.ok());
  auto got = store_->GetTenantEvents(TenantId("acme"), {TenantSeq(3), TenantSeq(9), TenantSeq(1)});
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 3u);
  EXPECT_EQ((*got)[0].value_or(""), (*appended)[2].line);
  EXPECT_FALSE((*got)[1].has_value());
  EXPECT_EQ((*got)[2].value_or(""), (*appended)[0].line);
  EXPECT_EQ(store_->FirstTenantSeq(TenantId("acme"))->value_or(TenantSeq(0)), TenantSeq(1));
  EXPECT_FALSE(store_->FirstTenantSeq(TenantId("other"))->has_value());
  auto other = store_->GetTenantEvents(TenantId("other"), {TenantSeq(1)});
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE((*other)[0].has_value());
}

// Both scans of a tenant's stream, with tenants whose keys sort on either side ("acm",
// "acme-x", "acme0") and a prefix of the name ("acm"): each sees its own events alone, in
// its order, within its bounds, and stops when told to.
TEST_F(EventLogTest, ScansReadOneTenantsStreamForwardAndBackwardWithinBounds) {
  std::map<uint64_t, std::string> acme;
  for (int i = 0; i < 12; ++i) {
    for (const char* other : {"acm", "acmd", "acme-x", "acme0", "acmf"}) {
      ASSERT_TRUE(store_->Append(Request(other, {Draft()})).ok());
    }
    auto appended = store_->Append(Request("acme", {Draft("{\"n\":" + std::to_string(i) + "}")}));
    ASSERT_TRUE(appended.ok());
    acme[(*appended)[0].tenant_seq.value()] = (*appended)[0].line;
  }
  auto scan = [&](bool backward, uint64_t from, uint64_t to, size_t stop_after) {
    std::vector<uint64_t> seen;
    auto fn = [&](uint64_t tenant_seq, std::string_view line) {
      EXPECT_EQ(line, acme[tenant_seq]);
      seen.push_back(tenant_seq);
      return seen.size() < stop_after;
    };
    auto last =
        backward ? store_->ScanTenantBackward(TenantId("acme"), TenantSeq(from), TenantSeq(to), fn)
                 : store_->ScanTenant(TenantId("acme"), TenantSeq(from), TenantSeq(to), fn);
    if (!last.ok()) {
      ADD_FAILURE() << last.error().message;
      return seen;
    }
    EXPECT_EQ(*last, seen.empty() ? (backward ? to + 1 : from - 1) : seen.back());
    return seen;
  };
  using Seqs = std::vector<uint64_t>;
  EXPECT_EQ(scan(false, 3, 6, 100), (Seqs{3, 4, 5, 6}));
  EXPECT_EQ(scan(true, 3, 6, 100), (Seqs{6, 5, 4, 3}));
  EXPECT_EQ(scan(true, 1, 99, 3), (Seqs{12, 11, 10}));
  EXPECT_EQ(scan(true, 1, 12, 100).size(), 12u);
  EXPECT_EQ(scan(true, 12, 12, 100), (Seqs{12}));
  EXPECT_EQ(scan(true, 13, 99, 100), Seqs{});
  EXPECT_EQ(scan(true, 7, 6, 100), Seqs{});
  // "acmd" sorts just before "acme", with keys of the same length: only the bounds keep a
  // backward scan of one from running into the other.
  for (const char* tenant : {"acmd", "acmc"}) {
    std::vector<uint64_t> seen;
    auto last = store_->ScanTenantBackward(TenantId(tenant), TenantSeq(1), TenantSeq(99),
                                           [&](uint64_t tenant_seq, std::string_view line) {
                                             EXPECT_EQ(core::ParseLineFields(line)->tenant, tenant);
                                             seen.push_back(tenant_seq);
                                             return true;
                                           });
    ASSERT_TRUE(last.ok());
    EXPECT_EQ(seen.size(), std::string_view(tenant) == "acmd" ? 12u : 0u) << tenant;
  }
}

TEST_F(EventLogTest, TenantsHaveTheirOwnStreamsAndChains) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(store_->Append(Request("acme", {Draft()})).ok());
    ASSERT_TRUE(store_->Append(Request("globex", {Draft(), Draft()})).ok());
  }
  EXPECT_EQ(store_->LastSeq(), Seq(15));
  EXPECT_EQ(VerifyTenant("acme").last_tenant_seq, 5u);
  EXPECT_EQ(VerifyTenant("globex").last_tenant_seq, 10u);
  std::vector<TenantId> tenants = store_->Tenants();
  EXPECT_EQ(tenants, (std::vector<TenantId>{TenantId("acme"), TenantId("globex")}));
}

TEST_F(EventLogTest, StaleExpectedTenantSeqConflictsAndWritesNothing) {
  ASSERT_TRUE(store_->Append(Request("acme", {Draft()}, 0)).ok());
  ASSERT_TRUE(store_->Append(Request("acme", {Draft()}, 1)).ok());
  auto stale = store_->Append(Request("acme", {Draft(), Draft()}, 1));
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().code, core::Errc::kConflict);
  EXPECT_EQ(stale.error().message, "tenant acme is at tenant_seq 2, the request expected 1");
  EXPECT_EQ(store_->LastSeq(), Seq(2));
  EXPECT_EQ(store_->Head(TenantId("acme"))->tenant_seq, TenantSeq(2));
  EXPECT_EQ(store_->Read(Seq(1), 100)->size(), 2u);
  EXPECT_FALSE(store_->Append(Request("fresh", {Draft()}, 3)).ok());
  EXPECT_FALSE(store_->Head(TenantId("fresh")).has_value());
  // And the next append carries on where the log was.
  auto next = store_->Append(Request("acme", {Draft()}, 2));
  ASSERT_TRUE(next.ok());
  EXPECT_EQ((*next)[0].seq, Seq(3));
  EXPECT_EQ(VerifyTenant("acme").checked, 3u);
}

TEST_F(EventLogTest, RejectsInvalidRequestsAndWritesNothing) {
  // A bad draft never becomes a RenderedDraft, so it cannot reach the log at all.
  EventDraft bad_type = Draft();
  bad_type.type = "Workflow";
  auto r = core::RenderDrafts({Draft(), bad_type});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, core::Errc::kInvalidArgument);
  EXPECT_EQ(r.error().fields.at(0).field, "events[1].type");
  EXPECT_EQ(core::RenderDrafts({Draft("{\"a\": 1}")}).error().fields.at(0).field, "events[0].data");
  // What the log checks itself: the tenant and that there is something to append.
  EXPECT_EQ(store_->Append(Request("Not A Tenant", {Draft()})).error().fields.at(0).field,
            "tenant");
  EXPECT_EQ(store_->Append(Request("acme", {})).error().fields.at(0).field, "events");
  EXPECT_EQ(store_->LastSeq(), Seq(0));
  EXPECT_TRUE(store_->Read(Seq(1), 10)->empty());
}

TEST_F(EventLogTest, TimeIsTheServersAndNeverDecreasesWithinATenant) {
  ASSERT_TRUE(store_->Append(Request("acme", {Draft()})).ok());
  clock_.Advance(std::chrono::seconds(10));
  auto later = store_->Append(Request("acme", {Draft()}));
  EXPECT_EQ((*later)[0].time, kStart + std::chrono::seconds(10));
  clock_.Set(kStart - std::chrono::hours(1));  // the wall clock steps back
  auto stepped = store_->Append(Request("acme", {Draft()}));
  EXPECT_EQ((*stepped)[0].time, kStart + std::chrono::seconds(10));
  auto other = store_->Append(Request("globex", {Draft()}));
  EXPECT_EQ((*other)[0].time, kStart - std::chrono::hours(1));
  // Ids stay time-ordered in the log even so.
  EXPECT_LT((*stepped)[0].id.value(), (*other)[0].id.value());
  // And the kept time survives a restart.
  Open();
  auto after_restart = store_->Append(Request("acme", {Draft()}));
  EXPECT_EQ((*after_restart)[0].time, kStart + std::chrono::seconds(10));
}

TEST_F(EventLogTest, ReopenKeepsHeadsAndContinuesTheChain) {
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(store_->Append(Request("acme", {Draft()})).ok());
  const std::string head = store_->Head(TenantId("acme"))->hash;
  Open();
  EXPECT_EQ(store_->LastSeq(), Seq(3));
  EXPECT_EQ(store_->Head(TenantId("acme"))->hash, head);
  auto next = store_->Append(Request("acme", {Draft()}, 3));
  ASSERT_TRUE(next.ok());
  EXPECT_EQ((*next)[0].seq, Seq(4));
  EXPECT_EQ(VerifyTenant("acme").checked, 4u);
}

TEST_F(EventLogTest, ReadPagesThroughTheLogInSeqOrder) {
  for (int i = 0; i < 25; ++i) {
    ASSERT_TRUE(store_->Append(Request(i % 2 ? "acme" : "globex", {Draft()})).ok());
  }
  std::vector<uint64_t> seqs;
  Seq next(1);
  while (true) {
    auto page = store_->Read(next, 10);
    ASSERT_TRUE(page.ok());
    if (page->empty()) break;
    for (const core::StoredEvent& e : *page) seqs.push_back(e.seq.value());
    next = page->back().seq.Next();
  }
  ASSERT_EQ(seqs.size(), 25u);
  for (size_t i = 0; i < seqs.size(); ++i) EXPECT_EQ(seqs[i], i + 1);
  EXPECT_TRUE(store_->Read(Seq(26), 10)->empty());
}

TEST_F(EventLogTest, WaitForAppendWakesOnAnAppendAndTimesOutOtherwise) {
  EXPECT_EQ(store_->WaitForAppend(Seq(0), std::chrono::milliseconds(20)), Seq(0));
  std::thread appender([&] { ASSERT_TRUE(store_->Append(Request("acme", {Draft()})).ok()); });
  EXPECT_EQ(store_->WaitForAppend(Seq(0), std::chrono::seconds(30)), Seq(1));
  appender.join();
}

TEST_F(EventLogTest, SideWritesCommitWithTheEvents) {
  AppendRequest r = Request("acme", {Draft()});
  r.side_writes.Put(core::Space::kCredentials, "usr_1", "hash-of-secret");
  ASSERT_TRUE(store_->Append(std::move(r)).ok());
  EXPECT_EQ(store_->Get(core::Space::kCredentials, "usr_1")->value_or(""), "hash-of-secret");
  // A conflicting request's side writes are not written either.
  AppendRequest stale = Request("acme", {Draft()}, 0);
  stale.side_writes.Put(core::Space::kCredentials, "usr_2", "x");
  ASSERT_FALSE(store_->Append(std::move(stale)).ok());
  EXPECT_FALSE(store_->Get(core::Space::kCredentials, "usr_2")->has_value());
}

TEST_F(EventLogTest, ReadOnlyOpenSeesWhatTheWriterCommitted) {
  ASSERT_TRUE(store_->Append(Request("acme", {Draft(), Draft()})).ok());
  StoreOptions options;
  options.path = dir_.File("db");
  options.read_only = true;
  auto reader = RocksStore::Open(options);
  ASSERT_TRUE(reader.ok()) << reader.error().message;
  EXPECT_EQ((*reader)->Head(TenantId("acme"))->tenant_seq, TenantSeq(2));
  EXPECT_EQ((*reader)->ReadTenant(TenantId("acme"), TenantSeq(1), 10)->size(), 2u);
  EXPECT_EQ((*reader)->Append(Request("acme", {Draft()})).error().code, core::Errc::kUnavailable);
}

// 8 threads × 10,000 single-event appends over 50 tenants: seq and every tenant_seq come out
// contiguous, each thread's events keep its order within their tenant, every chain verifies,
// and concurrent appends shared fsyncs.
TEST_F(EventLogTest, ConcurrentAppendersGetContiguousPositionsAndIntactChains) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 10'000;
  constexpr int kTenants = 50;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string tenant = "tenant-" + std::to_string((t * 7 + i) % kTenants);
        auto r = store_->Append(Request(tenant, {Draft("{\"thread\":" + std::to_string(t) +
                                                       ",\"i\":" + std::to_string(i) + "}")}));
        if (!r.ok()) ++failures;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  ASSERT_EQ(failures.load(), 0);
  constexpr uint64_t kTotal = uint64_t{kThreads} * kPerThread;
  EXPECT_EQ(store_->LastSeq(), Seq(kTotal));

  auto all = store_->Read(Seq(1), kTotal + 10);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), kTotal);
  std::map<std::string, uint64_t> last_tenant_seq;
  std::map<std::pair<std::string, int>, int> last_i;  // (tenant, thread) → i
  for (uint64_t k = 0; k < kTotal; ++k) {
    const core::StoredEvent& e = (*all)[k];
    ASSERT_EQ(e.seq, Seq(k + 1));
    uint64_t& ts = last_tenant_seq[e.tenant.value()];
    ASSERT_EQ(e.tenant_seq.value(), ts + 1) << e.tenant.value();
    ts = e.tenant_seq.value();
    const size_t data = e.line.find("\"data\":{\"thread\":");
    ASSERT_NE(data, std::string::npos);
    const int thread = std::stoi(e.line.substr(data + 17));
    const int i = std::stoi(e.line.substr(e.line.find("\"i\":", data) + 4));
    auto [it, inserted] = last_i.try_emplace({e.tenant.value(), thread}, i);
    if (!inserted) {
      ASSERT_LT(it->second, i) << "thread " << thread << " reordered in " << e.tenant.value();
      it->second = i;
    }
  }
  EXPECT_EQ(last_tenant_seq.size(), size_t{kTenants});
  for (const auto& [tenant, count] : last_tenant_seq) {
    core::ChainSummary s = VerifyTenant(tenant);
    EXPECT_EQ(s.checked, count);
    EXPECT_EQ(store_->Head(TenantId(tenant))->hash, s.head_hash);
  }
  const RocksStore::Stats stats = store_->stats();
  EXPECT_EQ(stats.events, kTotal);
  EXPECT_LT(stats.groups, kTotal) << "concurrent appends never shared a write";
}

// The reserve: with less free than it, appends are refused (kUnavailable, nothing written) —
// except those allowed to use it (a retention purge's record, which frees space).
// A follower's store takes a leader's lines as they are, chain by chain, and nothing that does
// not follow a tenant's head.
TEST_F(EventLogTest, ReplicatedLinesAreStoredAsTheyAreAndOnlyWhereTheyFollowTheHead) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(store_->Append(Request("acme", {Draft(), Draft()})).ok());
    ASSERT_TRUE(store_->Append(Request("globex", {Draft()})).ok());
  }
  auto lines_of = [](RocksStore& store, const std::string& tenant) {
    std::vector<std::string> out;
    core::Result<std::vector<core::StoredEvent>> events =
        store.ReadTenant(TenantId(tenant), TenantSeq(1), 1000);
    EXPECT_TRUE(events.ok());
    for (const core::StoredEvent& e : *events) out.push_back(e.line);
    return out;
  };
  const std::vector<std::string> acme = lines_of(*store_, "acme");
  const std::vector<std::string> globex = lines_of(*store_, "globex");
  ASSERT_EQ(acme.size(), 10u);

  testing::TempDir follower_dir;
  std::unique_ptr<RocksStore> follower;
  ASSERT_NO_FATAL_FAILURE(testing::OpenTestStore(follower_dir, clock_, follower));
  auto write = [&](std::vector<core::ReplicatedChain> chains, std::string marker) {
    core::ReplicatedWrite w;
    w.chains = std::move(chains);
    w.side_writes.Put(core::Space::kIndex, "marker", marker);
    return follower->AppendReplicated(std::move(w));
  };
  auto slice = [](const std::vector<std::string>& v, size_t from, size_t to) {
    return std::vector<std::string>(v.begin() + static_cast<ptrdiff_t>(from),
                                    v.begin() + static_cast<ptrdiff_t>(to));
  };
  core::Status first =
      write({{TenantId("acme"), slice(acme, 0, 4)}, {TenantId("globex"), globex}}, "1");
  ASSERT_TRUE(first.ok()) << first.error().ToString();
  EXPECT_EQ(follower->Head(TenantId("acme"))->tenant_seq, TenantSeq(4));
  EXPECT_EQ(follower->LastSeq(), Seq(9));

  // Refused, and nothing of the write lands (its side write neither): a line again, a gap, a
  // line of another tenant, a forged line whose hash was made over a wrong prev_hash.
  std::string forged = acme[4];
  const size_t at = forged.find("\"prev_hash\":\"") + 13;
  forged.replace(at, 64, std::string(64, 'a'));
  const size_t body_end = forged.rfind(",\"hash\":\"");
  const std::string body = forged.substr(0, body_end) + "}";
  forged = forged.substr(0, body_end) + ",\"hash\":\"" +
           core::ChainHash(std::string(64, 'a'), body) + "\"}";
  ASSERT_TRUE(core::VerifyLine(forged).ok()) << "a forgery whose own hash is right";
  const std::vector<std::vector<std::string>> refused = {
      slice(acme, 3, 5), slice(acme, 5, 6), {globex[0]}, {forged}};
  for (const std::vector<std::string>& lines : refused) {
    core::Status s = write({{TenantId("acme"), lines}}, "bad");
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, core::Errc::kCorruption) << s.error().message;
    EXPECT_NE(s.error().message.find("tenant acme at tenant_seq 5"), std::string::npos)
        << s.error().message;
  }
  EXPECT_EQ(**follower->Get(core::Space::kIndex, "marker"), "1");
  EXPECT_EQ(follower->Head(TenantId("acme"))->tenant_seq, TenantSeq(4));
  EXPECT_EQ(follower->LastSeq(), Seq(9));

  // The rest; then the follower holds the leader's lines byte for byte, after a restart too,
  // with its own seqs in the order it stored them.
  ASSERT_TRUE(write({{TenantId("acme"), slice(acme, 4, 10)}}, "2").ok());
  ASSERT_TRUE(write({}, "3").ok());  // side writes alone
  EXPECT_EQ(**follower->Get(core::Space::kIndex, "marker"), "3");
  follower.reset();
  ASSERT_NO_FATAL_FAILURE(testing::OpenTestStore(follower_dir, clock_, follower));
  EXPECT_EQ(lines_of(*follower, "acme"), acme);
  EXPECT_EQ(lines_of(*follower, "globex"), globex);
  EXPECT_EQ(follower->Head(TenantId("acme"))->hash, store_->Head(TenantId("acme"))->hash);
  EXPECT_EQ(follower->LastSeq(), Seq(15));
  auto all = follower->Read(Seq(1), 100);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 15u);
  EXPECT_EQ((*all)[0].line, acme[0]);
  EXPECT_EQ((*all)[4].line, globex[0]);
  EXPECT_EQ((*all)[14].line, acme[9]);
  EXPECT_EQ((*all)[14].seq, Seq(15));
}

TEST(EventLogReserveTest, AppendsStopAtTheReserveButAPurgeRecordMayUseIt) {
  testing::TempDir dir;
  core::FakeClock clock{kStart};
  StoreOptions options;
  options.path = dir.File("db");
  options.clock = &clock;
  options.reserve_bytes = uint64_t{1} << 62;  // more than any disk: always inside the reserve
  auto store = RocksStore::Open(options);
  ASSERT_TRUE(store.ok()) << store.error().message;
  core::AppendResult refused = (*store)->Append(Request("acme", {Draft()}));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, core::Errc::kUnavailable);
  EXPECT_NE(refused.error().message.find("the disk is nearly full"), std::string::npos);
  EXPECT_FALSE((*store)->Head(TenantId("acme")).has_value());
  AppendRequest purge_record = Request("acme", {Draft()});
  purge_record.use_reserve = true;
  EXPECT_TRUE((*store)->Append(std::move(purge_record)).ok());
  EXPECT_EQ((*store)->Head(TenantId("acme"))->tenant_seq.value(), 1u);
}

}  // namespace
}  // namespace custos::storage
