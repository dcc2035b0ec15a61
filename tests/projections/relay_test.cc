// The Kafka relay against librdkafka's mock cluster over real TCP: every event once, in order
// per tenant, with key and headers, on both topics; a 10 s outage of every broker under write
// load; failed produce requests; a restart resuming from the stored cursor; the notifier.
#include "projections/relay.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <set>
#include <thread>

#include "core/clock.h"
#include "core/event.h"
#include "core/iam/notifier.h"
#include "storage/kafka_dev_cluster.h"
#include "storage/kafka_producer.h"
#include "storage/rocks_store.h"
#include "tests/support/kafka_reader.h"
#include "tests/support/test_store.h"
#include "tests/support/test_support.h"

namespace custos::projections {
namespace {

using namespace std::chrono_literals;
using testing::KafkaRecord;
using testing::ReadTopic;
using testing::WaitUntil;

class RelayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage::KafkaDevClusterOptions cluster_options;
    cluster_options.brokers = 3;
    auto cluster = storage::KafkaDevCluster::Start(cluster_options);
    ASSERT_TRUE(cluster.ok()) << cluster.error().message;
    cluster_ = std::move(cluster).value();
    ASSERT_NO_FATAL_FAILURE(testing::OpenTestStore(dir_, clock_, store_));
  }

  void StartRelay(size_t max_in_flight = RelayOptions{}.max_in_flight, bool from_start = false) {
    storage::KafkaOptions kafka;
    kafka.brokers = cluster_->bootstrap_servers();
    auto publisher = storage::KafkaPublisher::Create(kafka);
    ASSERT_TRUE(publisher.ok()) << publisher.error().message;
    publisher_ = std::move(publisher).value();
    RelayOptions options;
    options.product_version = "test";
    options.max_in_flight = max_in_flight;
    options.from_start = from_start;
    relay_ = std::make_unique<Relay>(*store_, *store_, *publisher_, clock_, options);
    ASSERT_TRUE(relay_->Start().ok());
  }

  void StopRelay() {
    relay_->Stop();
    relay_.reset();
    publisher_.reset();
  }

  void Append(int n, int tenants) { testing::AppendRoundRobin(*store_, n, tenants); }

  // The log's lines by tenant, in tenant_seq order.
  std::map<std::string, std::vector<std::string>> LogByTenant() {
    std::map<std::string, std::vector<std::string>> out;
    auto events = store_->Read(core::Seq(1), 1000000);
    EXPECT_TRUE(events.ok());
    for (const core::StoredEvent& e : *events) out[e.tenant.value()].push_back(e.line);
    return out;
  }

  // The topic's values by key, first copies only (at-least-once), in partition order.
  static std::map<std::string, std::vector<std::string>> FirstCopiesByKey(
      const std::vector<KafkaRecord>& records) {
    std::map<std::string, std::vector<std::string>> out;
    std::set<std::string> seen;
    for (const KafkaRecord& r : records) {
      if (seen.insert(r.value).second) out[r.key].push_back(r.value);
    }
    return out;
  }

  testing::TempDir dir_;
  core::SystemClock clock_;
  std::unique_ptr<storage::KafkaDevCluster> cluster_;
  std::unique_ptr<storage::RocksStore> store_;
  std::unique_ptr<storage::KafkaPublisher> publisher_;
  std::unique_ptr<Relay> relay_;
};

TEST_F(RelayTest, EveryEventOnceInOrderPerTenantWithKeyAndHeaders) {
  Append(600, 12);  // some before the relay starts …
  StartRelay();
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) writers.emplace_back([this] { Append(600, 12); });
  for (auto& t : writers) t.join();  // … and more while it runs
  const core::Seq last = store_->LastSeq();
  ASSERT_EQ(last.value(), 3000u);
  ASSERT_TRUE(relay_->WaitDelivered(last, 60s).ok());
  EXPECT_EQ(relay_->stats().lag_events, 0u);
  EXPECT_EQ(relay_->stats().delivered, 3000u);
  EXPECT_EQ(relay_->stats().resends, 0u);

  const std::string brokers = cluster_->bootstrap_servers();
  std::vector<KafkaRecord> audit = ReadTopic(brokers, "custos.audit.v1", 3000, 60s);
  ASSERT_EQ(audit.size(), 3000u) << "each event exactly once";
  std::map<std::string, std::vector<std::string>> by_key;
  std::map<std::string, int32_t> partition_of;
  for (const KafkaRecord& r : audit) {
    auto f = core::ParseLineFields(r.value);
    ASSERT_TRUE(f.ok()) << r.value;
    EXPECT_EQ(r.key, f->tenant);
    EXPECT_EQ(r.headers.at("tenant"), f->tenant);
    EXPECT_EQ(r.headers.at("type"), f->type);
    EXPECT_EQ(r.headers.at("schema"), "custos.event.1");
    auto [it, fresh] = partition_of.emplace(r.key, r.partition);
    EXPECT_EQ(it->second, r.partition) << "one tenant, one partition";
    by_key[r.key].push_back(r.value);
  }
  EXPECT_EQ(by_key, LogByTenant()) << "the stored lines, byte for byte, in tenant order";

  std::vector<KafkaRecord> ocsf = ReadTopic(brokers, "custos.audit.ocsf.v1", 3000, 60s);
  ASSERT_EQ(ocsf.size(), 3000u);
  std::map<std::string, uint64_t> next_seq;
  for (const KafkaRecord& r : ocsf) {
    EXPECT_EQ(r.headers.at("schema"), "ocsf.1.3.0");
    EXPECT_EQ(r.headers.at("tenant"), r.key);
    EXPECT_NE(r.value.find("\"class_uid\":6003"), std::string::npos) << r.value;
    const std::string tag = "\"sequence\":";
    const size_t at = r.value.find(tag);
    ASSERT_NE(at, std::string::npos) << r.value;
    const uint64_t seq = std::stoull(r.value.substr(at + tag.size()));
    EXPECT_EQ(seq, ++next_seq[r.key]) << "OCSF records in tenant order";
  }

  StopRelay();
  auto cursor = store_->GetCheckpoint("kafka");
  ASSERT_TRUE(cursor.ok() && cursor->has_value());
  EXPECT_EQ((*cursor)->value(), 3000u) << "the cursor is stored";
}

// Windows of 1, 3 and 300 events, one relay after another on the stored cursor: the relay
// reads again only once a quarter of its window is free (300: pages long enough for the
// render thread), and every event still goes once, in tenant order.
TEST_F(RelayTest, SmallWindowsStillDeliverEveryEventOnceInOrder) {
  int appended = 0;
  for (const auto& [window, events] : {std::pair{1, 30}, {3, 60}, {300, 900}}) {
    Append(events, 5);
    appended += events;
    StartRelay(static_cast<size_t>(window));
    ASSERT_TRUE(relay_->WaitDelivered(store_->LastSeq(), 60s).ok()) << "window " << window;
    EXPECT_EQ(relay_->stats().delivered, static_cast<uint64_t>(events)) << "window " << window;
    EXPECT_EQ(relay_->stats().resends, 0u);
    StopRelay();
  }
  std::vector<KafkaRecord> audit = ReadTopic(cluster_->bootstrap_servers(), "custos.audit.v1",
                                             static_cast<size_t>(appended), 60s);
  ASSERT_EQ(audit.size(), static_cast<size_t>(appended));
  std::map<std::string, std::vector<std::string>> by_key;
  for (const KafkaRecord& r : audit) by_key[r.key].push_back(r.value);
  EXPECT_EQ(by_key, LogByTenant());
}

TEST_F(RelayTest, BrokersDownTenSecondsUnderWriteLoseNothingAndLagReturnsToZero) {
  StartRelay();
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    while (!stop) {
      Append(10, 6);
      std::this_thread::sleep_for(20ms);  // paces the load (~500 events/s), not a wait
    }
  });
  ASSERT_TRUE(WaitUntil([&] { return relay_->stats().delivered >= 500; }, 30s));
  for (int b = 1; b <= 3; ++b) ASSERT_TRUE(cluster_->SetBrokerDown(b, true).ok());
  const auto down_at = std::chrono::steady_clock::now();
  // The lag rises while the brokers are away, and the writes go on.
  EXPECT_TRUE(WaitUntil([&] { return relay_->stats().lag_seconds >= 2; }, 15s));
  EXPECT_TRUE(WaitUntil([&] { return !relay_->stats().reachable; }, 15s));
  const uint64_t written_while_down_from = store_->LastSeq().value();
  std::this_thread::sleep_until(down_at + 10s);  // the outage lasts 10 s by design
  EXPECT_GT(store_->LastSeq().value(), written_while_down_from + 1000) << "writes never waited";
  EXPECT_GT(relay_->stats().lag_events, 1000u);
  for (int b = 1; b <= 3; ++b) ASSERT_TRUE(cluster_->SetBrokerDown(b, false).ok());
  // More load after the brokers return.
  const uint64_t at_return = store_->LastSeq().value();
  EXPECT_TRUE(WaitUntil([&] { return store_->LastSeq().value() >= at_return + 200; }, 30s));
  stop = true;
  writer.join();

  const core::Seq last = store_->LastSeq();
  ASSERT_TRUE(relay_->WaitDelivered(last, 90s).ok());
  EXPECT_EQ(relay_->stats().lag_events, 0u);
  EXPECT_EQ(relay_->stats().lag_seconds, 0);
  EXPECT_TRUE(WaitUntil([&] { return relay_->stats().reachable; }, 15s));

  std::vector<KafkaRecord> audit =
      ReadTopic(cluster_->bootstrap_servers(), "custos.audit.v1", last.value(), 60s);
  EXPECT_GE(audit.size(), last.value());
  EXPECT_EQ(FirstCopiesByKey(audit), LogByTenant()) << "nothing lost, tenant order kept";
}

TEST_F(RelayTest, FailedProduceRequestsAreSentAgainFromTheCursor) {
  Append(200, 4);
  // Errors the producer does not retry by itself: the relay resends from its cursor.
  cluster_->FailNextProduces(3, /*TOPIC_AUTHORIZATION_FAILED*/ 29);
  StartRelay();
  ASSERT_TRUE(WaitUntil([&] { return relay_->stats().resends >= 1; }, 30s));
  Append(200, 4);
  const core::Seq last = store_->LastSeq();
  ASSERT_TRUE(relay_->WaitDelivered(last, 60s).ok());
  std::vector<KafkaRecord> audit =
      ReadTopic(cluster_->bootstrap_servers(), "custos.audit.v1", 400, 60s);
  EXPECT_EQ(FirstCopiesByKey(audit), LogByTenant());
  // Resent copies come after the first ones, in order: each key's stream, with repeats
  // removed, never goes back.
  std::map<std::string, uint64_t> high;
  for (const KafkaRecord& r : audit) {
    auto f = core::ParseLineFields(r.value);
    ASSERT_TRUE(f.ok());
    if (f->tenant_seq > high[r.key]) {
      EXPECT_EQ(f->tenant_seq, high[r.key] + 1) << "no gap in " << r.key;
      high[r.key] = f->tenant_seq;
    }
  }
}

TEST_F(RelayTest, ARestartResumesFromTheStoredCursor) {
  Append(300, 3);
  StartRelay();
  ASSERT_TRUE(relay_->WaitDelivered(core::Seq(300), 60s).ok());
  StopRelay();
  Append(300, 3);
  StartRelay();
  ASSERT_TRUE(relay_->WaitDelivered(core::Seq(600), 60s).ok());
  EXPECT_EQ(relay_->stats().delivered, 300u) << "only what the first run had not delivered";
  std::vector<KafkaRecord> audit =
      ReadTopic(cluster_->bootstrap_servers(), "custos.audit.v1", 600, 60s);
  EXPECT_EQ(audit.size(), 600u);
  EXPECT_EQ(FirstCopiesByKey(audit), LogByTenant());
}

TEST_F(RelayTest, FromTheStartDeliversTheWholeLogAgainWhateverTheCursor) {
  Append(200, 3);
  StartRelay();
  ASSERT_TRUE(relay_->WaitDelivered(core::Seq(200), 60s).ok());
  StopRelay();
  StartRelay(RelayOptions{}.max_in_flight, /*from_start=*/true);
  ASSERT_TRUE(relay_->WaitDelivered(core::Seq(200), 60s).ok());
  EXPECT_EQ(relay_->stats().delivered, 200u);
  std::vector<KafkaRecord> audit =
      ReadTopic(cluster_->bootstrap_servers(), "custos.audit.v1", 400, 60s);
  EXPECT_EQ(audit.size(), 400u);
  EXPECT_EQ(FirstCopiesByKey(audit), LogByTenant());
}

TEST_F(RelayTest, NotificationsCarryTheLinkOnTheirOwnTopic) {
  storage::KafkaOptions kafka;
  kafka.brokers = cluster_->bootstrap_servers();
  auto notifier = storage::KafkaNotifier::Create(
      kafka, "custos.notifications.v1",
      core::iam::NotificationLinks{"https://app.example/accept", "https://app.example/login"});
  ASSERT_TRUE(notifier.ok()) << notifier.error().message;
  core::iam::Notification n;
  n.type = "invitation.link";
  n.tenant = "acme";
  n.email = "ada@example.com";
  n.subject_id = "inv_1";
  n.secret = "tok123";
  n.expires_at = core::FromUnixMillis(1795521600000);
  (*notifier)->Publish(n);
  ASSERT_TRUE(WaitUntil([&] { return (*notifier)->sent() == 1; }, 30s));
  EXPECT_EQ((*notifier)->failed(), 0u);
  std::vector<KafkaRecord> got =
      ReadTopic(cluster_->bootstrap_servers(), "custos.notifications.v1", 1, 30s);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].key, "acme");
  EXPECT_EQ(got[0].headers.at("type"), "invitation.link");
  EXPECT_EQ(got[0].value,
            "{\"type\":\"invitation.link\",\"tenant\":\"acme\",\"email\":\"ada@example.com\","
            "\"name\":\"\",\"invitation_id\":\"inv_1\",\"token\":\"tok123\",\"link\":\"https://"
            "app.example/accept?token=tok123\",\"expires_at\":\"2026-11-24T12:00:00.000Z\"}");
}

}  // namespace
}  // namespace custos::projections
