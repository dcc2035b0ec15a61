// A follower built from the leader's audit topic on librdkafka's mock cluster, over real TCP: the
// leader's identity commands, application events and root revocations reach the follower's store
// byte for byte; its state and audit index digests equal the leader's per tenant; a restart
// resumes from the stored offsets with nothing applied twice; a forged line on the topic halts its
// tenant alone, and the halt outlives a restart.
#include "projections/follower.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>

#include "core/event.h"
#include "core/iam/commands.h"
#include "core/line_feed.h"
#include "projections/audit_index.h"
#include "projections/relay.h"
#include "projections/retention.h"
#include "storage/kafka_dev_cluster.h"
#include "storage/kafka_feed.h"
#include "storage/kafka_producer.h"
#include "tests/support/failing_log.h"
#include "tests/support/iam_fixture.h"
#include "tests/support/test_store.h"
#include "tests/support/test_support.h"

namespace custos::projections {
namespace {

using namespace std::chrono_literals;
namespace iam = core::iam;
using core::TenantId;

const core::Actor kRoot{"root", "root", "", "", ""};

// One node's parts over a data dir: the leader's, with a relay; the follower's, with a feed.
struct NodeParts {
  testing::TempDir dir;
  std::unique_ptr<storage::RocksStore> store;
  std::unique_ptr<IdentityService> identity;
  std::unique_ptr<AuditIndex> index;
  std::unique_ptr<Credentials> credentials;
};

class FollowerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage::KafkaDevClusterOptions options;
    options.brokers = 1;
    auto cluster = storage::KafkaDevCluster::Start(options);
    ASSERT_TRUE(cluster.ok()) << cluster.error().message;
    cluster_ = std::move(cluster).value();
    ASSERT_NO_FATAL_FAILURE(Open(leader_));
    ASSERT_TRUE(Credentials::EnsureRootClient(*leader_.store, random_, clock_).ok());
    auto credentials = Credentials::Open(*leader_.store, clock_);
    ASSERT_TRUE(credentials.ok());
    leader_.credentials = std::move(credentials).value();
    storage::KafkaOptions kafka;
    kafka.brokers = cluster_->bootstrap_servers();
    auto publisher = storage::KafkaPublisher::Create(kafka);
    ASSERT_TRUE(publisher.ok()) << publisher.error().message;
    publisher_ = std::move(publisher).value();
    RelayOptions relay;
    relay.product_version = "test";
    relay.replication_key = replication_key_;
    relay_ = std::make_unique<Relay>(*leader_.store, *leader_.store, *publisher_, clock_, relay);
    ASSERT_TRUE(relay_->Start().ok());
    ASSERT_NO_FATAL_FAILURE(Open(follower_));
    ASSERT_NO_FATAL_FAILURE(StartFollower());
  }

  void TearDown() override {
    StopFollower();
    relay_.reset();
  }

  void Open(NodeParts& n) {
    ASSERT_NO_FATAL_FAILURE(testing::OpenTestStore(n.dir, clock_, n.store));
    auto identity = IdentityService::Open(*n.store, *n.store, clock_, random_, nullptr);
    ASSERT_TRUE(identity.ok()) << identity.error().message;
    n.identity = std::move(identity).value();
    auto index = AuditIndex::Open(*n.store, *n.store);
    ASSERT_TRUE(index.ok()) << index.error().message;
    n.index = std::move(index).value();
  }

  void StartFollower() {
    auto credentials = Credentials::Open(*follower_.store, clock_);
    ASSERT_TRUE(credentials.ok());
    follower_.credentials = std::move(credentials).value();
    storage::KafkaFeedOptions options;
    options.brokers = cluster_->bootstrap_servers();
    auto feed = storage::KafkaFeed::Create(options);
    ASSERT_TRUE(feed.ok()) << feed.error().message;
    feed_ = std::move(feed).value();
    FollowerOptions fo;
    fo.max_batch = 37;  // many batches, cut anywhere
    fo.retry = 50ms;
    fo.replication_key = follower_key_.value_or(replication_key_);
    if (fail_follower_purges_) {
      failing_log_ = std::make_unique<testing::FailingLog>(*follower_.store);
      failing_log_->fail_purges = true;
    }
    core::EventLog& log =
        failing_log_ ? static_cast<core::EventLog&>(*failing_log_) : *follower_.store;
    follower_task_ = std::make_unique<Follower>(*follower_.identity, log, *follower_.store,
                                                *follower_.credentials, *feed_, clock_, fo);
    ASSERT_TRUE(follower_task_->Start().ok());
  }

  void StopFollower() {
    if (follower_task_) follower_task_->Stop();
    follower_task_.reset();
    failing_log_.reset();
    feed_.reset();
  }

  // Reopens the follower's node over its data dir, as after a crash of the process.
  void RestartFollower() {
    StopFollower();
    follower_.index.reset();
    follower_.identity.reset();
    follower_.credentials.reset();
    follower_.store.reset();
    ASSERT_NO_FATAL_FAILURE(Open(follower_));
    ASSERT_NO_FATAL_FAILURE(StartFollower());
  }

  void Must(const std::string& tenant, iam::Command command) {
    ExecuteRequest r;
    r.tenant = TenantId(tenant);
    r.command = std::move(command);
    r.actor = kRoot;
    r.request_id = "req-" + std::to_string(++requests_);
    core::Result<ExecuteResult> done = leader_.identity->Execute(std::move(r));
    ASSERT_TRUE(done.ok()) << done.error().ToString();
  }

  void Ingest(const std::string& tenant, int n) {
    for (int i = 0; i < n; ++i) {
      core::EventDraft d;
      d.type = "document.viewed";
      d.actor = core::Actor{"user", "usr_" + std::to_string(i % 3), "", "", ""};
      d.target = core::Target{"document", "doc_" + std::to_string(i % 5), ""};
      std::promise<core::AppendResult> done;
      leader_.identity->AppendEventsAsync(
          TenantId(tenant), {d}, [&](core::AppendResult r) { done.set_value(std::move(r)); });
      ASSERT_TRUE(done.get_future().get().ok());
    }
  }

  // A mixed workload on two tenants.
  void Workload(int round) {
    const std::string r = std::to_string(round);
    for (const std::string tenant : {"acme", "globex"}) {
      iam::CreateUser u;
      u.email = "user" + r + "@" + tenant + ".example";
      u.first_name = "U" + r;
      u.last_name = "L";
      ASSERT_NO_FATAL_FAILURE(Must(tenant, u));
      ASSERT_NO_FATAL_FAILURE(
          Must(tenant, iam::CreateGroup{"Group " + r, "", iam::GroupType::kConfigured, "root"}));
      ASSERT_NO_FATAL_FAILURE(Ingest(tenant, 20));
    }
  }

  void CreateTwoTenants() {
    ASSERT_NO_FATAL_FAILURE(
        Must("acme", iam::CreateTenant{"acme", "Acme", {}, {}, {"Production"}}));
    ASSERT_NO_FATAL_FAILURE(
        Must("globex", iam::CreateTenant{"globex", "Globex", {}, {}, {"Production"}}));
  }

  // Two tenants with a round of the workload, applied on the follower and all on the topic.
  void TwoTenantsFollowed() {
    ASSERT_NO_FATAL_FAILURE(CreateTwoTenants());
    ASSERT_NO_FATAL_FAILURE(Workload(0));
    ASSERT_NO_FATAL_FAILURE(ExpectSameTenant("acme"));
    ASSERT_TRUE(relay_->WaitDelivered(leader_.store->LastSeq(), 10s).ok());
  }

  static std::vector<std::string> Lines(storage::RocksStore& store, const std::string& tenant) {
    std::vector<std::string> out;
    core::Result<std::vector<core::StoredEvent>> events =
        store.ReadTenant(TenantId(tenant), core::TenantSeq(1), 1'000'000);
    EXPECT_TRUE(events.ok());
    for (const core::StoredEvent& e : *events) out.push_back(e.line);
    return out;
  }

  // Waits until the follower holds the tenant's chain up to the leader's head.
  bool CaughtUp(const std::string& tenant) {
    const std::optional<core::TenantHead> want = leader_.store->Head(TenantId(tenant));
    return testing::WaitUntil(
        [&] {
          std::optional<core::TenantHead> got = follower_.store->Head(TenantId(tenant));
          return want && got && got->tenant_seq == want->tenant_seq;
        },
        20s);
  }

  void ExpectSameTenant(const std::string& tenant) {
    ASSERT_TRUE(CaughtUp(tenant)) << tenant;
    EXPECT_EQ(Lines(*follower_.store, tenant), Lines(*leader_.store, tenant)) << tenant;
    if (tenant == core::kSystemChain) return;
    auto leader = leader_.identity->DigestOf(TenantId(tenant), 5s);
    auto follower = follower_.identity->DigestOf(TenantId(tenant), 5s);
    ASSERT_TRUE(leader.ok() && follower.ok()) << tenant;
    EXPECT_EQ(follower->tenant_seq, leader->tenant_seq) << tenant;
    EXPECT_EQ(follower->digest, leader->digest) << tenant;
    auto li = leader_.index->Digest(TenantId(tenant), 1, leader->tenant_seq, 10s);
    auto fi = follower_.index->Digest(TenantId(tenant), 1, leader->tenant_seq, 10s);
    ASSERT_TRUE(li.ok() && fi.ok()) << tenant;
    EXPECT_EQ(*fi, *li) << tenant;
  }

  // `line` made into another one at `tenant_seq` after `prev_hash`, its own hash right for it,
  // with `from` replaced by `to` in it: what a producer with write access to the topic can make.
  static std::string Forge(std::string line, uint64_t tenant_seq, const std::string& prev_hash,
                           const std::string& from = "", const std::string& to = "") {
    auto f = core::ParseLineFields(line);
    EXPECT_TRUE(f.ok());
    const std::string seq_member = "\"tenant_seq\":" + std::to_string(f->tenant_seq);
    line.replace(line.find(seq_member), seq_member.size(),
                 "\"tenant_seq\":" + std::to_string(tenant_seq));
    line.replace(line.find("\"prev_hash\":\"") + 13, 64, prev_hash);
    if (!from.empty()) line.replace(line.find(from), from.size(), to);
    const size_t body_end = line.rfind(",\"hash\":\"");
    line = line.substr(0, body_end) + ",\"hash\":\"" +
           core::ChainHash(prev_hash, line.substr(0, body_end) + "}") + "\"}";
    EXPECT_TRUE(core::VerifyLine(line).ok());
    return line;
  }

  static std::string HashOf(const std::string& line) {
    auto f = core::ParseLineFields(line);
    EXPECT_TRUE(f.ok());
    return f.ok() ? std::string(f->hash) : "";
  }

  // Produces `value` under `key` to the audit topic, as an intruder with write access would
  // (with a custos-mac header when `mac` is not empty).
  void Intrude(const std::string& key, const std::string& value, const std::string& mac = "") {
    storage::KafkaOptions kafka;
    kafka.brokers = cluster_->bootstrap_servers();
    auto intruder = storage::KafkaPublisher::Create(kafka);
    ASSERT_TRUE(intruder.ok());
    const core::MessageHeader headers[] = {{core::kRecordMacHeader, mac}};
    ASSERT_TRUE(
        (*intruder)
            ->Send({"custos.audit.v1", key, value, std::span(headers, mac.empty() ? 0 : 1)}, 1)
            .ok());
    bool delivered = false;
    ASSERT_TRUE(testing::WaitUntil(
        [&] {
          (*intruder)->Poll(50ms, [&](uint64_t, const core::Status& st) { delivered = st.ok(); });
          return delivered;
        },
        10s));
  }

  std::string replication_key_;              // set before SetUp: the leader's and the follower's
  std::optional<std::string> follower_key_;  // the follower's, when not replication_key_
  bool fail_follower_purges_ = false;        // the follower's purges fail (from its next start)
  std::unique_ptr<testing::FailingLog> failing_log_;  // over the follower's store, when so
  std::unique_ptr<storage::KafkaDevCluster> cluster_;
  core::FakeClock clock_{core::FromUnixMillis(1795521600000)};
  testing::SeededRandom random_;
  NodeParts leader_;
  NodeParts follower_;
  std::unique_ptr<storage::KafkaPublisher> publisher_;
  std::unique_ptr<Relay> relay_;
  std::unique_ptr<storage::KafkaFeed> feed_;
  std::unique_ptr<Follower> follower_task_;
  int requests_ = 0;
};

TEST_F(FollowerTest, AFollowerHoldsTheLeadersLinesStateAndIndexAndResumesAfterARestart) {
  ASSERT_NO_FATAL_FAILURE(CreateTwoTenants());
  for (int round = 0; round < 3; ++round) ASSERT_NO_FATAL_FAILURE(Workload(round));
  ASSERT_TRUE(
      leader_.credentials
          ->RevokeRoot(*leader_.store, {"jti-root-1", clock_.Now() + 1h, true, kRoot, "req-x", ""})
          .ok());
  for (const char* tenant : {"acme", "globex", "custos-system"}) {
    ASSERT_NO_FATAL_FAILURE(ExpectSameTenant(tenant));
  }
  EXPECT_TRUE(follower_.credentials->RootRevoked("jti-root-1", clock_.Now()));
  EXPECT_GT(follower_task_->stats().applied, 0u);
  EXPECT_TRUE(follower_task_->WaitApplied(TenantId("acme"), 1, 1s).ok());

  // Restarted between batches, and again while the leader writes: nothing twice, nothing
  // missing (the store refuses a line that does not follow, so equal chains prove both).
  ASSERT_NO_FATAL_FAILURE(RestartFollower());
  for (int round = 3; round < 6; ++round) {
    ASSERT_NO_FATAL_FAILURE(Workload(round));
    if (round == 4) {
      ASSERT_NO_FATAL_FAILURE(RestartFollower());
    }
  }
  for (const char* tenant : {"acme", "globex"}) ASSERT_NO_FATAL_FAILURE(ExpectSameTenant(tenant));
  EXPECT_TRUE(follower_.credentials->RootRevoked("jti-root-1", clock_.Now()))
      << "a revocation is kept across a restart";
  const FollowerStats stats = follower_task_->stats();
  EXPECT_TRUE(stats.halted.empty());
  EXPECT_TRUE(testing::WaitUntil([&] { return follower_task_->stats().lag_events == 0u; }, 10s));
}

TEST_F(FollowerTest, ALeadersPurgeIsMadeOnTheFollowerWithItsSnapshot) {
  ASSERT_NO_FATAL_FAILURE(CreateTwoTenants());
  ASSERT_NO_FATAL_FAILURE(Workload(0));
  clock_.Advance(std::chrono::hours(24 * 40));  // past the free plan's 30 days
  ASSERT_NO_FATAL_FAILURE(Workload(1));
  Retention retention(*leader_.identity, *leader_.store, *leader_.store, *leader_.index, clock_);
  core::Result<PurgeOutcome> purged = retention.Purge(TenantId("acme"), clock_.Now());
  ASSERT_TRUE(purged.ok()) << purged.error().ToString();
  ASSERT_GT(purged->purged, 0u);
  ASSERT_NO_FATAL_FAILURE(Workload(2));

  ASSERT_TRUE(CaughtUp("acme"));
  const TenantId acme("acme");
  const auto first = leader_.store->FirstTenantSeq(acme);
  ASSERT_TRUE(first.ok() && first->has_value());
  EXPECT_EQ(*follower_.store->FirstTenantSeq(acme), *first);
  EXPECT_EQ(follower_.store->PurgeAnchorOf(acme)->value_or(core::EventLog::PurgeAnchor{}).hash,
            purged->anchor);
  auto leader = leader_.identity->DigestOf(acme, 5s);
  auto follower = follower_.identity->DigestOf(acme, 5s);
  ASSERT_TRUE(leader.ok() && follower.ok());
  EXPECT_EQ(follower->digest, leader->digest);
  const uint64_t from = (*first)->value();
  EXPECT_EQ(*follower_.index->Digest(acme, from, leader->tenant_seq, 10s),
            *leader_.index->Digest(acme, from, leader->tenant_seq, 10s));
  // What is left of the follower's log, from the snapshot its purge record took, rebuilds the
  // same state.
  StopFollower();
  follower_.index.reset();
  follower_.identity.reset();
  ASSERT_TRUE(IdentityService::RebuildState(*follower_.store, *follower_.store).ok());
  auto stored = IdentityService::StoredDigest(*follower_.store);
  ASSERT_TRUE(stored.ok());
  follower_.store.reset();
  ASSERT_NO_FATAL_FAILURE(Open(follower_));
  EXPECT_EQ(follower_.identity->DigestOf(acme, 5s)->digest, leader->digest);
  EXPECT_EQ(*stored, *IdentityService::StoredDigest(*leader_.store));
}

TEST_F(FollowerTest, AForgedLineHaltsItsTenantAloneAndTheHaltOutlivesARestart) {
  ASSERT_NO_FATAL_FAILURE(TwoTenantsFollowed());

  // A producer of its own writes acme's next line with a prev_hash of its choosing (and a hash
  // that is right for it), before the leader's.
  const std::vector<std::string> acme = Lines(*leader_.store, "acme");
  const uint64_t head = acme.size();
  ASSERT_NO_FATAL_FAILURE(Intrude("acme", Forge(acme.back(), head + 1, std::string(64, 'b'))));

  // The leader goes on; the follower stops acme at the forgery and follows globex.
  ASSERT_NO_FATAL_FAILURE(Workload(1));
  ASSERT_TRUE(
      testing::WaitUntil([&] { return follower_task_->stats().halted.contains("acme"); }, 20s));
  ASSERT_NO_FATAL_FAILURE(ExpectSameTenant("globex"));
  EXPECT_EQ(Lines(*follower_.store, "acme"), acme) << "nothing of acme past the forgery";
  EXPECT_NE(follower_task_->stats().halted.at("acme").find("prev_hash"), std::string::npos)
      << follower_task_->stats().halted.at("acme");
  EXPECT_FALSE(follower_task_->stats().halted.contains("globex"));

  // Still halted after a restart; globex still followed.
  ASSERT_NO_FATAL_FAILURE(RestartFollower());
  EXPECT_TRUE(follower_task_->stats().halted.contains("acme"));
  ASSERT_NO_FATAL_FAILURE(Workload(2));
  ASSERT_NO_FATAL_FAILURE(ExpectSameTenant("globex"));
  EXPECT_EQ(Lines(*follower_.store, "acme"), acme);
  // The audit index built again in bulk from the follower's log — whose seqs are its own, not
  // the lines' (acme's later events are not in it) — holds globex whole.
  ASSERT_TRUE(follower_.index->Rebuild().ok());
  ASSERT_NO_FATAL_FAILURE(ExpectSameTenant("globex"));
}

TEST_F(FollowerTest, AForgedLineThatFollowsTheChainIsCaughtWhenTheLeadersComesAndRevokesStay) {
  ASSERT_NO_FATAL_FAILURE(Must("acme", iam::CreateTenant{"acme", "Acme", {}, {}, {"Production"}}));
  ASSERT_NO_FATAL_FAILURE(Ingest("acme", 1));  // acme's head: an application event
  ASSERT_TRUE(
      leader_.credentials
          ->RevokeRoot(*leader_.store, {"jti-root-1", clock_.Now() + 1h, false, kRoot, "req-x", ""})
          .ok());
  ASSERT_NO_FATAL_FAILURE(ExpectSameTenant("acme"));
  ASSERT_NO_FATAL_FAILURE(ExpectSameTenant("custos-system"));
  ASSERT_TRUE(relay_->WaitDelivered(leader_.store->LastSeq(), 10s).ok());
  ASSERT_TRUE(follower_.credentials->RootRevokedUntil("jti-root-1").has_value());

  // Records are not signed: a line that follows the chain is taken. The root revocation again,
  // with an expiry in the past, must not give the token back its life.
  const std::vector<std::string> system = Lines(*leader_.store, "custos-system");
  const std::string past = core::FormatTime(clock_.Now() - 1h);
  const std::string future = core::FormatTime(clock_.Now() + 1h);
  ASSERT_NO_FATAL_FAILURE(
      Intrude("custos-system", Forge(system.back(), 2, HashOf(system.back()),
                                     "\"expires_at\":\"" + future, "\"expires_at\":\"" + past)));
  // An acme line that follows its head; then the leader's own line at that place.
  const std::vector<std::string> acme = Lines(*leader_.store, "acme");
  ASSERT_NO_FATAL_FAILURE(
      Intrude("acme", Forge(acme.back(), acme.size() + 1, HashOf(acme.back()))));
  ASSERT_TRUE(testing::WaitUntil(
      [&] { return follower_.store->Head(TenantId("custos-system"))->tenant_seq.value() == 2; },
      20s));
  EXPECT_TRUE(follower_.credentials->RootRevoked("jti-root-1", clock_.Now()));
  ASSERT_NO_FATAL_FAILURE(Ingest("acme", 1));
  ASSERT_TRUE(
      testing::WaitUntil([&] { return follower_task_->stats().halted.contains("acme"); }, 20s));
  EXPECT_NE(follower_task_->stats().halted.at("acme").find("fork"), std::string::npos)
      << follower_task_->stats().halted.at("acme");
  EXPECT_EQ(follower_task_->WaitApplied(TenantId("acme"), 1, 1s).error().code,
            core::Errc::kUnavailable);
}

TEST_F(FollowerTest, APurgeStoredAndNotMadeBeforeAStopIsMadeAtTheNextStart) {
  ASSERT_NO_FATAL_FAILURE(CreateTwoTenants());
  ASSERT_NO_FATAL_FAILURE(Workload(0));
  clock_.Advance(std::chrono::hours(24 * 40));  // past the free plan's 30 days
  ASSERT_NO_FATAL_FAILURE(Workload(1));
  ASSERT_NO_FATAL_FAILURE(ExpectSameTenant("acme"));
  // The follower's purges fail (its disk, say), as a crash between the two would leave it.
  fail_follower_purges_ = true;
  ASSERT_NO_FATAL_FAILURE(RestartFollower());
  Retention retention(*leader_.identity, *leader_.store, *leader_.store, *leader_.index, clock_);
  core::Result<PurgeOutcome> purged = retention.Purge(TenantId("acme"), clock_.Now());
  ASSERT_TRUE(purged.ok()) << purged.error().ToString();
  ASSERT_GT(purged->purged, 0u);
  ASSERT_TRUE(CaughtUp("acme"));
  const TenantId acme("acme");
  const auto first = leader_.store->FirstTenantSeq(acme);
  ASSERT_TRUE(first.ok() && first->has_value());
  EXPECT_NE(*follower_.store->FirstTenantSeq(acme), *first) << "the purge failed here";

  // Started again, healthy: the stored purge is made before anything more is applied.
  fail_follower_purges_ = false;
  ASSERT_NO_FATAL_FAILURE(RestartFollower());
  EXPECT_EQ(*follower_.store->FirstTenantSeq(acme), *first);
  ASSERT_NO_FATAL_FAILURE(Workload(2));
  ASSERT_NO_FATAL_FAILURE(ExpectSameTenant("acme"));
  // Made once: a third start finds nothing left to make.
  ASSERT_NO_FATAL_FAILURE(RestartFollower());
  EXPECT_EQ(*follower_.store->FirstTenantSeq(acme), *first);
}

// The leader and the follower share a replication key.
class AuthenticatedFollowerTest : public FollowerTest {
 protected:
  void SetUp() override {
    replication_key_ = std::string(32, 'k') + "-replication";
    FollowerTest::SetUp();
  }
};

TEST_F(AuthenticatedFollowerTest, OnlyRecordsAuthenticatedByTheKeyAreTakenAndOthersHaltNothing) {
  ASSERT_NO_FATAL_FAILURE(TwoTenantsFollowed());  // the leader's records authenticate
  EXPECT_EQ(follower_task_->stats().unauthenticated, 0u);

  // What the unkeyed follower took (a line that follows acme's chain) is skipped here without
  // its custos-mac, or with one under another key, and halts nothing: the leader's own line at
  // that place is applied after it.
  const std::vector<std::string> acme = Lines(*leader_.store, "acme");
  const std::string forged = Forge(acme.back(), acme.size() + 1, HashOf(acme.back()));
  ASSERT_NO_FATAL_FAILURE(Intrude("acme", forged));
  ASSERT_NO_FATAL_FAILURE(
      Intrude("acme", forged, core::RecordMac(std::string(32, 'x') + "-another", "acme", forged)));
  // A record of the leader's, its custos-mac and all, produced again under another tenant's
  // key: the mac covers the key too, so it is skipped rather than halting acme for its key.
  const std::string acme_last = acme.back();
  ASSERT_NO_FATAL_FAILURE(
      Intrude("globex", acme_last, core::RecordMac(replication_key_, "acme", acme_last)));
  ASSERT_TRUE(
      testing::WaitUntil([&] { return follower_task_->stats().unauthenticated == 3; }, 20s));
  ASSERT_NO_FATAL_FAILURE(Workload(1));
  ASSERT_NO_FATAL_FAILURE(ExpectSameTenant("acme"));
  ASSERT_NO_FATAL_FAILURE(ExpectSameTenant("globex"));
  EXPECT_TRUE(follower_task_->stats().halted.empty());

  // Whoever holds the key can add to a chain: the check is the key's, nothing else.
  const std::vector<std::string> now = Lines(*leader_.store, "acme");
  const std::string keyed = Forge(now.back(), now.size() + 1, HashOf(now.back()));
  ASSERT_NO_FATAL_FAILURE(Intrude("acme", keyed, core::RecordMac(replication_key_, "acme", keyed)));
  ASSERT_TRUE(testing::WaitUntil(
      [&] { return follower_.store->Head(TenantId("acme"))->tenant_seq.value() == now.size() + 1; },
      20s));
  EXPECT_EQ(follower_task_->stats().unauthenticated, 3u);
}

// The follower starts with another key than the leader's.
class WrongKeyFollowerTest : public AuthenticatedFollowerTest {
 protected:
  void SetUp() override {
    follower_key_ = std::string(32, 'w') + "-wrong";
    AuthenticatedFollowerTest::SetUp();
  }
};

TEST_F(WrongKeyFollowerTest, AFollowerWithAnotherKeyStoresNoOffsetAndCatchesUpWithTheRightOne) {
  ASSERT_NO_FATAL_FAILURE(CreateTwoTenants());
  ASSERT_NO_FATAL_FAILURE(Workload(0));
  ASSERT_TRUE(relay_->WaitDelivered(leader_.store->LastSeq(), 10s).ok());
  // Every record read, and every one skipped.
  const uint64_t records = leader_.store->LastSeq().value();
  ASSERT_TRUE(
      testing::WaitUntil([&] { return follower_task_->stats().unauthenticated == records; }, 20s));
  EXPECT_FALSE(follower_.store->Head(TenantId("acme")).has_value());
  EXPECT_TRUE(Follower::StoredOffsets(*follower_.store)->empty()) << "nothing skipped for good";

  follower_key_.reset();
  ASSERT_NO_FATAL_FAILURE(RestartFollower());
  ASSERT_NO_FATAL_FAILURE(ExpectSameTenant("acme"));
  ASSERT_NO_FATAL_FAILURE(ExpectSameTenant("globex"));
  EXPECT_EQ(follower_task_->stats().unauthenticated, 0u);
}

TEST_F(FollowerTest, LinesThatFollowTheChainButDoNotApplyHaltTheirTenantAlone) {
  ASSERT_NO_FATAL_FAILURE(TwoTenantsFollowed());
  // A group created a second time, as acme's next line.
  const std::vector<std::string> acme = Lines(*leader_.store, "acme");
  const auto group = std::find_if(acme.begin(), acme.end(), [](const std::string& line) {
    return line.find("\"type\":\"group.created\"") != std::string::npos;
  });
  ASSERT_NE(group, acme.end());
  ASSERT_NO_FATAL_FAILURE(Intrude("acme", Forge(*group, acme.size() + 1, HashOf(acme.back()))));
  // Writes go on in globex alone: a genuine acme line at the same place could reach the
  // follower first, and then the forged one would fail the chain instead of applying.
  ASSERT_NO_FATAL_FAILURE(
      Must("globex", iam::CreateGroup{"Group 1", "", iam::GroupType::kConfigured, "root"}));
  ASSERT_NO_FATAL_FAILURE(Ingest("globex", 20));
  ASSERT_TRUE(
      testing::WaitUntil([&] { return follower_task_->stats().halted.contains("acme"); }, 20s));
  EXPECT_NE(follower_task_->stats().halted.at("acme").find("do not apply"), std::string::npos)
      << follower_task_->stats().halted.at("acme");
  ASSERT_NO_FATAL_FAILURE(ExpectSameTenant("globex"));
  EXPECT_EQ(Lines(*follower_.store, "acme"), acme);
  // Acme's state is what was stored before the forgery.
  EXPECT_EQ(follower_.identity->DigestOf(TenantId("acme"), 5s)->tenant_seq, acme.size());
}

TEST_F(FollowerTest, ARecordUnderAnotherTenantsKeyHaltsTheTenantItsLineNames) {
  ASSERT_NO_FATAL_FAILURE(TwoTenantsFollowed());
  // acme's next line as the leader will write it cannot be made here; a copy of its last line
  // at the next place, under globex's key, follows acme's chain but not the partitioning.
  const std::vector<std::string> acme = Lines(*leader_.store, "acme");
  ASSERT_NO_FATAL_FAILURE(
      Intrude("globex", Forge(acme.back(), acme.size() + 1, HashOf(acme.back()))));
  ASSERT_TRUE(
      testing::WaitUntil([&] { return follower_task_->stats().halted.contains("acme"); }, 20s));
  EXPECT_NE(follower_task_->stats().halted.at("acme").find("key"), std::string::npos)
      << follower_task_->stats().halted.at("acme");
  EXPECT_EQ(Lines(*follower_.store, "acme"), acme);
  ASSERT_NO_FATAL_FAILURE(Workload(1));
  ASSERT_NO_FATAL_FAILURE(ExpectSameTenant("globex"));
}

}  // namespace
}  // namespace custos::projections
