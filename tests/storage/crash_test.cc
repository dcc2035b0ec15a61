// Crash test: a child process appends in a loop and reports each acknowledged event on a
// pipe; the test kills it with SIGKILL at a random moment, reopens the log, and checks that
// every acknowledged event is there, byte for byte by hash, with seq and every tenant's
// tenant_seq contiguous and every chain valid. Then it does it again on the same data, for
// at least ten rounds.
#include <signal.h>
#include <sys/wait.h>

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <sstream>

#include "core/chain_verifier.h"
#include "core/clock.h"
#include "storage/rocks_store.h"
#include "tests/support/test_support.h"

namespace custos::storage {
namespace {

struct Ack {
  std::string tenant;
  uint64_t tenant_seq = 0;
  uint64_t seq = 0;
  std::string hash;
};

Ack ParseAck(const std::string& line) {
  Ack a;
  std::istringstream in(line);
  in >> a.tenant >> a.tenant_seq >> a.seq >> a.hash;
  return a;
}

TEST(CrashTest, EveryAcknowledgedAppendSurvivesSigkill) {
  testing::TempDir dir;
  const std::string db = dir.File("db");
  std::mt19937 rng(std::random_device{}());
  constexpr int kRounds = 12;
  uint64_t total_acked = 0;
  for (int round = 0; round < kRounds; ++round) {
    // Kill after a random number of acknowledgements, so the kill lands at a random point
    // of the append loop (mid-batch, mid-fsync, between appends).
    const int kill_after = 1 + static_cast<int>(rng() % 1500);
    std::vector<Ack> acked;
    {
      testing::Child child({CUSTOS_CRASH_APPENDER, db, "4", std::to_string(rng())});
      while (static_cast<int>(acked.size()) < kill_after) {
        std::optional<std::string> line = child.ReadLine(std::chrono::seconds(60));
        ASSERT_TRUE(line.has_value()) << "round " << round << ": the appender stopped after "
                                      << acked.size() << " acknowledgements";
        acked.push_back(ParseAck(*line));
      }
      child.Kill(SIGKILL);
      // Acknowledgements already on the pipe were acknowledged before the kill.
      for (const std::string& line : child.DrainLines()) acked.push_back(ParseAck(line));
      std::optional<int> status = child.Wait(std::chrono::seconds(30));
      ASSERT_TRUE(status.has_value());
      ASSERT_TRUE(WIFSIGNALED(*status) && WTERMSIG(*status) == SIGKILL)
          << "the appender exited on its own: status " << *status;
    }
    total_acked += acked.size();

    core::SystemClock clock;
    StoreOptions options;
    options.path = db;
    options.clock = &clock;
    auto store = RocksStore::Open(options);
    ASSERT_TRUE(store.ok()) << store.error().message;

    for (const Ack& a : acked) {
      auto events =
          (*store)->ReadTenant(core::TenantId(a.tenant), core::TenantSeq(a.tenant_seq), 1);
      ASSERT_TRUE(events.ok());
      ASSERT_EQ(events->size(), 1u)
          << "round " << round << ": lost " << a.tenant << "/" << a.tenant_seq;
      const core::StoredEvent& e = (*events)[0];
      ASSERT_EQ(e.tenant_seq.value(), a.tenant_seq);
      ASSERT_EQ(e.seq.value(), a.seq);
      core::Result<core::LineFields> f = core::ParseLineFields(e.line);
      ASSERT_TRUE(f.ok());
      ASSERT_EQ(f->hash, a.hash) << "round " << round << ": " << a.tenant << "/" << a.tenant_seq
                                 << " changed";
    }

    // The whole log: seq contiguous from 1, each tenant contiguous and chain-valid, heads
    // equal to the last events.
    const uint64_t last = (*store)->LastSeq().value();
    auto all = (*store)->Read(core::Seq(1), last + 100);
    ASSERT_TRUE(all.ok());
    ASSERT_EQ(all->size(), last);
    std::map<std::string, core::ChainVerifier> chains;
    for (uint64_t i = 0; i < last; ++i) {
      const core::StoredEvent& e = (*all)[i];
      ASSERT_EQ(e.seq.value(), i + 1);
      auto [it, inserted] = chains.try_emplace(e.tenant.value(), std::string(core::kZeroHash));
      core::Status s = it->second.Feed(e.line);
      ASSERT_TRUE(s.ok()) << "round " << round << ", " << e.tenant.value() << ": "
                          << s.error().message;
    }
    for (const auto& [tenant, verifier] : chains) {
      std::optional<core::TenantHead> head = (*store)->Head(core::TenantId(tenant));
      ASSERT_TRUE(head.has_value());
      EXPECT_EQ(head->tenant_seq.value(), verifier.summary().last_tenant_seq);
      EXPECT_EQ(head->hash, verifier.summary().head_hash);
    }
  }
  EXPECT_GE(total_acked, static_cast<uint64_t>(kRounds));
}

}  // namespace
}  // namespace custos::storage
