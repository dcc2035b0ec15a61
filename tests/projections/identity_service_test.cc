#include "projections/identity_service.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <future>
#include <random>
#include <thread>

#include "core/chain_verifier.h"
#include "core/iam/access.h"
#include "core/iam/credentials.h"
#include "projections/expiry.h"
#include "storage/rocks_store.h"
#include "tests/support/failing_log.h"
#include "tests/support/iam_fixture.h"
#include "tests/support/test_store.h"
#include "tests/support/test_support.h"

namespace custos::projections {
namespace {

using core::iam::Subject;
using core::iam::SubjectType;
namespace iam = core::iam;

const core::Actor kRootActor{"root", "root", "", "", ""};

class IdentityServiceTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }
  void TearDown() override { Close(); }

  void Open() {
    ASSERT_NO_FATAL_FAILURE(testing::OpenTestStore(dir_, clock_, store_));
    auto service = IdentityService::Open(*store_, *store_, clock_, random_, nullptr);
    ASSERT_TRUE(service.ok()) << service.error().message;
    service_ = std::move(service).value();
  }
  void Close() {
    service_.reset();
    store_.reset();
  }
  // Closes and opens again, the tenants loaded as `warming` says.
  void Reopen(IdentityService::Warming warming) {
    Close();
    ASSERT_NO_FATAL_FAILURE(testing::OpenTestStore(dir_, clock_, store_));
    auto opened = IdentityService::Open(*store_, *store_, clock_, random_, nullptr, warming);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    service_ = std::move(opened).value();
  }
  // An application event appended as the tenant's next; its result.
  core::AppendResult AppendOne(const std::string& tenant) {
    core::EventDraft d;
    d.type = "document.viewed";
    d.actor = core::Actor{"api_client", "cli_1", "", "", ""};
    std::promise<core::AppendResult> done;
    service_->AppendEventsAsync(core::TenantId(tenant), {d},
                                [&](core::AppendResult r) { done.set_value(std::move(r)); });
    return done.get_future().get();
  }

  core::Result<ExecuteResult> Run(const std::string& tenant, iam::Command command,
                                  std::optional<Subject> caller = std::nullopt) {
    ExecuteRequest r;
    r.tenant = core::TenantId(tenant);
    r.command = std::move(command);
    r.actor = caller ? core::Actor{std::string(iam::ToString(caller->type)), caller->id, "", "", ""}
                     : kRootActor;
    r.caller = caller;
    r.request_id = "req-" + std::to_string(++requests_);
    return service_->Execute(std::move(r));
  }
  ExecuteResult Must(const std::string& tenant, iam::Command command) {
    core::Result<ExecuteResult> r = Run(tenant, std::move(command));
    EXPECT_TRUE(r.ok()) << r.error().ToString();
    return r.ok() ? std::move(r).value() : ExecuteResult{};
  }
  void CreateTenant(const std::string& id) {
    Must(id, iam::CreateTenant{id, "Tenant " + id, {}, {}, {"Production", "Development"}});
  }
  std::string RoleId(const std::string& tenant, const std::string& name) {
    return *service_->Read(core::TenantId(tenant), [&](const iam::TenantState& s) {
      const iam::Role* r = s.FindRoleByName(name);
      return r == nullptr ? std::string() : r->id;
    });
  }

  testing::TempDir dir_;
  core::FakeClock clock_{core::FromUnixMillis(1795521600000)};
  testing::SeededRandom random_;
  std::unique_ptr<storage::RocksStore> store_;
  std::unique_ptr<IdentityService> service_;
  int requests_ = 0;
};

TEST_F(IdentityServiceTest, CommandsAppendEventsStateAndCredentialsTogether) {
  CreateTenant("acme");
  iam::CreateUser c;
  c.email = "ada@example.com";
  c.first_name = "Ada";
  c.last_name = "Lovelace";
  ExecuteResult created = Must("acme", c);
  ASSERT_EQ(created.events.size(), 1u);
  EXPECT_NE(created.events[0].line.find("\"type\":\"user.created\""), std::string::npos);
  EXPECT_NE(created.events[0].line.find("\"actor\":{\"type\":\"root\",\"id\":\"root\"}"),
            std::string::npos);
  EXPECT_NE(created.events[0].line.find("\"request_id\":\"req-2\""), std::string::npos);
  // The state, its stored record, the credential and the checkpoint.
  const std::string id = created.decision.id;
  EXPECT_TRUE(*service_->Read(core::TenantId("acme"), [&](const iam::TenantState& s) {
    return s.FindUser(id) != nullptr;
  }));
  EXPECT_TRUE(store_->Get(core::Space::kState, StateKey("acme", "u/" + id))->has_value());
  EXPECT_TRUE(store_->Get(core::Space::kCredentials, iam::PasswordKey("acme", id))->has_value());
  EXPECT_EQ(**store_->GetCheckpoint(kStateCheckpoint), created.events[0].seq);
  EXPECT_EQ(service_->Digest().value(), *IdentityService::StoredDigest(*store_));
  // Errors write nothing.
  const core::Seq before = store_->LastSeq();
  EXPECT_EQ(Run("acme", c).error().code, core::Errc::kConflict);
  EXPECT_EQ(Run("nobody", c).error().code, core::Errc::kNotFound);
  EXPECT_EQ(store_->LastSeq(), before);
}

TEST_F(IdentityServiceTest, RestartLoadsTheStateAndRebuildGivesTheSameDigest) {
  CreateTenant("acme");
  CreateTenant("globex");
  const std::string viewer = RoleId("acme", "Viewer");
  iam::CreateUser c;
  c.email = "ada@example.com";
  c.first_name = "Ada";
  c.last_name = "L";
  c.bindings = {iam::Grant{viewer, "root"}};
  const std::string ada = Must("acme", c).decision.id;
  Must("acme", iam::SetUserTag{ada, "Region", "EU"});
  Must("globex", iam::CreateRole{"R", "", {}, {}});
  const std::string digest = service_->Digest().value();
  EXPECT_EQ(digest, *IdentityService::StoredDigest(*store_));

  Close();
  Open();
  EXPECT_EQ(service_->Digest().value(), digest);
  // And goes on where it was.
  Must("acme", iam::SetUserTag{ada, "Region", "US"});
  const std::string after = service_->Digest().value();
  EXPECT_NE(after, digest);

  ASSERT_TRUE(IdentityService::RebuildState(*store_, *store_).ok());
  EXPECT_EQ(*IdentityService::StoredDigest(*store_), after);
  Close();
  Open();
  EXPECT_EQ(service_->Digest().value(), after);
}

TEST_F(IdentityServiceTest, ATenantsDigestIsOfItsOwnStateAtItsHeadAndSurvivesRestartAndRebuild) {
  CreateTenant("acme");
  CreateTenant("globex");
  const core::TenantId acme("acme");
  auto digest_of = [&](const core::TenantId& tenant) {
    core::Result<IdentityService::TenantDigest> d =
        service_->DigestOf(tenant, std::chrono::seconds(5));
    EXPECT_TRUE(d.ok()) << d.error().ToString();
    return d.ok() ? *d : IdentityService::TenantDigest{};
  };
  const IdentityService::TenantDigest first = digest_of(acme);
  EXPECT_EQ(first.tenant_seq, store_->Head(acme)->tenant_seq.value());
  EXPECT_EQ(first.digest.size(), 64u);
  EXPECT_NE(first.digest, digest_of(core::TenantId("globex")).digest);
  // Another tenant's command changes nothing of it; its own does.
  Must("globex", iam::CreateRole{"R", "", {}, {}});
  EXPECT_EQ(digest_of(acme).digest, first.digest);
  Must("acme", iam::CreateRole{"R", "", {}, {}});
  const IdentityService::TenantDigest second = digest_of(acme);
  EXPECT_EQ(second.tenant_seq, first.tenant_seq + 1);
  EXPECT_NE(second.digest, first.digest);
  // An application event moves the head and not the state.
  ASSERT_TRUE(AppendOne("acme").ok());
  EXPECT_EQ(digest_of(acme).tenant_seq, second.tenant_seq + 1);
  EXPECT_EQ(digest_of(acme).digest, second.digest);
  const IdentityService::TenantDigest now = digest_of(acme);
  // Loaded again from the store, and rebuilt from the log: the same.
  Close();
  Open();
  EXPECT_EQ(digest_of(acme).digest, now.digest);
  EXPECT_EQ(digest_of(acme).tenant_seq, now.tenant_seq);
  Close();
  ASSERT_NO_FATAL_FAILURE(testing::OpenTestStore(dir_, clock_, store_));
  ASSERT_TRUE(IdentityService::RebuildState(*store_, *store_).ok());
  store_.reset();
  Open();
  EXPECT_EQ(digest_of(acme).digest, now.digest);
  EXPECT_EQ(service_->DigestOf(core::TenantId("nobody"), std::chrono::seconds(1)).error().code,
            core::Errc::kNotFound);
}

// A clock that moves 1 ms each time it is read, as a real one moves between a command's
// decision and its commit. (The fixture's FakeClock stands still, which once hid that the
// state took its times from the decision and the events from the commit.)
class TickingClock final : public core::Clock {
 public:
  core::Time Now() const override { return core::FromUnixMillis(1795521600000 + ticks_++); }

 private:
  mutable std::atomic<int64_t> ticks_{0};
};

TEST(IdentityServiceTimeTest, ARebuildGivesTheSameStateWhileTheClockMoves) {
  testing::TempDir dir;
  TickingClock clock;
  testing::SeededRandom random;
  storage::StoreOptions options;
  options.path = dir.File("db");
  options.clock = &clock;
  auto store = storage::RocksStore::Open(options);
  ASSERT_TRUE(store.ok());
  auto service = IdentityService::Open(**store, **store, clock, random, nullptr);
  ASSERT_TRUE(service.ok());
  auto run = [&](iam::Command command) {
    ExecuteRequest r;
    r.tenant = core::TenantId("acme");
    r.command = std::move(command);
    r.actor = kRootActor;
    auto done = (*service)->Execute(std::move(r));
    EXPECT_TRUE(done.ok()) << done.error().ToString();
    return done.ok() ? std::move(done).value() : ExecuteResult{};
  };
  run(iam::CreateTenant{"acme", "Acme", {}, {}, {"Production"}});
  const ExecuteResult group = run(iam::CreateGroup{"Ops", "", iam::GroupType::kConfigured, "root"});
  run(iam::UpdateGroup{group.decision.id, std::string("Operations"), std::nullopt});
  iam::CreateInvitation invite;
  invite.email = "grace@example.com";
  run(invite);
  // The events carry the time the state was decided with.
  const std::string created_at =
      *(*service)->Read(core::TenantId("acme"), [&](const iam::TenantState& s) {
        return core::FormatTime(s.FindGroup(group.decision.id)->created_at);
      });
  EXPECT_NE(group.events[0].line.find("\"time\":\"" + created_at + "\""), std::string::npos)
      << group.events[0].line << " vs created_at " << created_at;
  const std::string digest = (*service)->Digest().value();
  ASSERT_TRUE(IdentityService::RebuildState(**store, **store).ok());
  EXPECT_EQ(*IdentityService::StoredDigest(**store), digest);
}

TEST_F(IdentityServiceTest, ARestartLoadsATenantOnFirstUseAndFindsClientsBeforeThat) {
  CreateTenant("acme");
  CreateTenant("globex");
  CreateTenant("initech");
  const std::string globex_client =
      Must("globex", iam::CreateClient{"ci", "", "", {}, ""}).decision.id;
  const std::string initech_client =
      Must("initech", iam::CreateClient{"ci", "", "", {}, ""}).decision.id;
  const std::string digest = service_->Digest().value();
  ASSERT_NO_FATAL_FAILURE(Reopen(IdentityService::Warming::kOnFirstUse));
  EXPECT_EQ(service_->UnloadedTenants(), 3u);
  EXPECT_FALSE(service_->Loaded(core::TenantId("acme")));
  EXPECT_TRUE(service_->Loaded(core::TenantId("nobody")));  // nothing to load
  EXPECT_EQ(service_->Tenants(),
            (std::vector<core::TenantId>{core::TenantId("acme"), core::TenantId("globex"),
                                         core::TenantId("initech")}));
  // A client of a tenant not loaded is found without loading it.
  EXPECT_EQ(service_->TenantOfClient(globex_client), core::TenantId("globex"));
  EXPECT_EQ(service_->TenantOfClient("cli_none"), std::nullopt);
  EXPECT_EQ(service_->UnloadedTenants(), 3u);
  // A read loads its tenant only; so does an application event; a command of a third loads
  // that one.
  EXPECT_TRUE(*service_->Read(core::TenantId("acme"),
                              [](const iam::TenantState& s) { return s.exists(); }));
  EXPECT_TRUE(service_->Loaded(core::TenantId("acme")));
  EXPECT_EQ(service_->UnloadedTenants(), 2u);
  const core::AppendResult appended = AppendOne("initech");
  ASSERT_TRUE(appended.ok()) << appended.error().message;
  EXPECT_EQ(service_->UnloadedTenants(), 1u);
  EXPECT_EQ(service_->TenantOfClient(initech_client), core::TenantId("initech"));
  const std::string acme_client = Must("acme", iam::CreateClient{"ci", "", "", {}, ""}).decision.id;
  EXPECT_EQ(service_->TenantOfClient(acme_client), core::TenantId("acme"));
  // A client deleted once its tenant is loaded is not found through what Open read, while
  // another tenant is still unloaded.
  Must("initech", iam::DeleteClient{initech_client});
  EXPECT_EQ(service_->UnloadedTenants(), 1u);
  EXPECT_EQ(service_->TenantOfClient(initech_client), std::nullopt);
  EXPECT_EQ(service_->TenantOfClient(globex_client), core::TenantId("globex"));
  Must("globex", iam::DeleteClient{globex_client});
  EXPECT_EQ(service_->UnloadedTenants(), 0u);
  EXPECT_EQ(service_->TenantOfClient(globex_client), std::nullopt);
  EXPECT_EQ(service_->Digest().value(), *IdentityService::StoredDigest(*store_));
  EXPECT_NE(service_->Digest().value(), digest);  // the changes since
}

TEST_F(IdentityServiceTest, TheWarmerLoadsEveryTenantAndConcurrentFirstReadsLoadOnce) {
  for (int t = 0; t < 8; ++t) CreateTenant("t" + std::to_string(t));
  const std::string digest = service_->Digest().value();
  for (IdentityService::Warming warming :
       {IdentityService::Warming::kOnFirstUse, IdentityService::Warming::kInBackground}) {
    ASSERT_NO_FATAL_FAILURE(Reopen(warming));
    std::vector<std::thread> readers;
    std::atomic<int> found{0};
    for (int r = 0; r < 4; ++r) {
      readers.emplace_back([&] {
        for (int t = 0; t < 8; ++t) {
          auto exists = service_->Read(core::TenantId("t" + std::to_string(t)),
                                       [](const iam::TenantState& s) { return s.exists(); });
          if (exists.ok() && *exists) ++found;
        }
      });
    }
    for (std::thread& t : readers) t.join();
    EXPECT_EQ(found.load(), 32);
    // Each load counted once: a second load of a tenant would take the count below zero.
    EXPECT_TRUE(testing::WaitUntil([&] { return service_->UnloadedTenants() == 0; },
                                   std::chrono::seconds(30)));
    EXPECT_EQ(service_->Digest().value(), digest);
  }
}

TEST_F(IdentityServiceTest, ATenantWhoseRecordsDoNotLoadFailsAloneAndOpenStillServesTheOthers) {
  CreateTenant("acme");
  CreateTenant("globex");
  Close();
  ASSERT_NO_FATAL_FAILURE(testing::OpenTestStore(dir_, clock_, store_));
  core::KvBatch bad;
  bad.Put(core::Space::kState, StateKey("acme", "u/usr_broken"), "{not json");
  ASSERT_TRUE(store_->Write(bad, core::Durability::kSync).ok());
  // The warmer tries every tenant and leaves the broken one unloaded, counted as failed.
  ASSERT_NO_FATAL_FAILURE(Reopen(IdentityService::Warming::kInBackground));
  // (acme fails first; globex, after it, loads.)
  ASSERT_TRUE(testing::WaitUntil(
      [&] { return service_->FailedTenants() == 1 && service_->UnloadedTenants() == 1; },
      std::chrono::seconds(30)));
  EXPECT_EQ(service_->UnloadedTenants(), 1u);
  EXPECT_TRUE(service_->Loaded(core::TenantId("globex")));
  EXPECT_FALSE(service_->Loaded(core::TenantId("acme")));
  auto acme = service_->Read(core::TenantId("acme"), [](const iam::TenantState&) { return 1; });
  ASSERT_FALSE(acme.ok());
  EXPECT_EQ(acme.error().code, core::Errc::kCorruption);
  core::Result<ExecuteResult> command =
      Run("acme", iam::CreateGroup{"Ops", "", iam::GroupType::kConfigured, "root"});
  ASSERT_FALSE(command.ok());
  EXPECT_EQ(command.error().code, core::Errc::kCorruption);
  const core::AppendResult appended = AppendOne("acme");
  ASSERT_FALSE(appended.ok());
  EXPECT_EQ(appended.error().code, core::Errc::kCorruption);
  EXPECT_TRUE(
      service_->Read(core::TenantId("globex"), [](const iam::TenantState&) { return 1; }).ok());
  EXPECT_FALSE(service_->Digest().ok());
  // The expiry sweep names the tenant it could not read rather than pass over it.
  Expiry expiry(*service_, clock_);
  core::Result<uint64_t> swept = expiry.SweepAll();
  ASSERT_FALSE(swept.ok());
  EXPECT_NE(swept.error().message.find("tenant acme"), std::string::npos) << swept.error().message;
  EXPECT_EQ(service_->FailedTenants(), 1u);
  EXPECT_EQ(service_->UnloadedTenants(), 1u);
  // Once the records are rebuilt (`custos rebuild`), the next start loads the tenant.
  Close();
  ASSERT_NO_FATAL_FAILURE(testing::OpenTestStore(dir_, clock_, store_));
  ASSERT_TRUE(IdentityService::RebuildState(*store_, *store_).ok());
  ASSERT_NO_FATAL_FAILURE(Reopen(IdentityService::Warming::kOnFirstUse));
  EXPECT_TRUE(
      service_->Read(core::TenantId("acme"), [](const iam::TenantState&) { return 1; }).ok());
  EXPECT_EQ(service_->FailedTenants(), 0u);
}

TEST_F(IdentityServiceTest, ApplicationEventsShareTheTenantsOrder) {
  CreateTenant("acme");
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i) {
        if (t % 2 == 0) {
          core::Result<ExecuteResult> r = Run(
              "acme",
              iam::CreateRole{"role-" + std::to_string(t) + "-" + std::to_string(i), "", {}, {}});
          if (!r.ok()) ++failures;
        } else {
          std::mutex mu;
          std::condition_variable cv;
          std::optional<core::AppendResult> result;
          core::EventDraft d;
          d.type = "workflow.executed";
          d.actor = core::Actor{"api_client", "cli_1", "", "", ""};
          service_->AppendEventsAsync(core::TenantId("acme"), {d}, [&](core::AppendResult r) {
            std::lock_guard lock(mu);
            result = std::move(r);
            cv.notify_one();
          });
          std::unique_lock lock(mu);
          cv.wait(lock, [&] { return result.has_value(); });
          if (!result->ok()) ++failures;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  // One contiguous, valid chain holding both kinds.
  auto events = store_->ReadTenant(core::TenantId("acme"), core::TenantSeq(1), 100000);
  core::ChainVerifier verifier{std::string(core::kZeroHash)};
  for (const core::StoredEvent& e : *events) ASSERT_TRUE(verifier.Feed(e.line).ok());
  EXPECT_EQ(verifier.summary().checked, store_->Head(core::TenantId("acme"))->tenant_seq.value());
  EXPECT_EQ(service_->Digest().value(), *IdentityService::StoredDigest(*store_));
}

TEST_F(IdentityServiceTest, IdentityTypesCannotBeAppendedAsApplicationEvents) {
  CreateTenant("acme");
  core::EventDraft d;
  d.type = "user.created";
  d.actor = core::Actor{"api_client", "cli_1", "", "", ""};
  std::optional<core::AppendResult> result;
  service_->AppendEventsAsync(core::TenantId("acme"), {d},
                              [&](core::AppendResult r) { result = std::move(r); });
  ASSERT_TRUE(result.has_value());  // refused before queueing: answered at once
  EXPECT_EQ(result->error().fields.at(0).field, "events[0].type");
}

TEST_F(IdentityServiceTest, ManyCommandsOfOneTenantShareFsyncs) {
  CreateTenant("acme");
  const auto before = store_->stats();
  std::atomic<int> pending{0};
  std::atomic<int> failures{0};
  std::mutex mu;
  std::condition_variable cv;
  constexpr int kCommands = 2000;
  for (int i = 0; i < kCommands; ++i) {
    ++pending;
    ExecuteRequest r;
    r.tenant = core::TenantId("acme");
    r.command =
        iam::CreateGroup{"group-" + std::to_string(i), "", iam::GroupType::kConfigured, "root"};
    r.actor = kRootActor;
    service_->ExecuteAsync(std::move(r), [&](core::Result<ExecuteResult> res) {
      if (!res.ok()) ++failures;
      if (--pending == 0) {
        std::lock_guard lock(mu);
        cv.notify_one();
      }
    });
  }
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return pending.load() == 0; });
  EXPECT_EQ(failures.load(), 0);
  const auto after = store_->stats();
  EXPECT_EQ(after.events - before.events, uint64_t{kCommands});
  EXPECT_LT(after.groups - before.groups, uint64_t{kCommands}) << "no command shared an fsync";
  EXPECT_EQ(service_->Digest().value(), *IdentityService::StoredDigest(*store_));
}

// Thousands of random commands, valid and not, across tenants and callers: the live state,
// the stored state, a rebuild from the log and a restart all agree.
TEST_F(IdentityServiceTest, RandomCommandsKeepLiveStoredRebuiltAndRestartedStateEqual) {
  std::mt19937 rng(1234);
  const std::vector<std::string> tenants = {"t-one", "t-two", "t-three"};
  for (const std::string& t : tenants) CreateTenant(t);
  auto pick = [&](const std::vector<std::string>& v) {
    return v.empty() ? std::string("missing") : v[rng() % v.size()];
  };
  auto ids = [&](const std::string& tenant, char kind) {
    return *service_->Read(core::TenantId(tenant), [&](const iam::TenantState& s) {
      std::vector<std::string> out;
      if (kind == 'u')
        for (const auto& [id, u] : s.users()) out.push_back(id);
      if (kind == 'r')
        for (const auto& [id, r] : s.roles()) out.push_back(id);
      if (kind == 'g')
        for (const auto& [id, g] : s.groups()) out.push_back(id);
      if (kind == 'b')
        for (const auto& [id, b] : s.bindings()) out.push_back(id);
      if (kind == 'c')
        for (const auto& [id, c] : s.clients()) out.push_back(id);
      if (kind == 'i')
        for (const auto& [id, i] : s.invitations()) out.push_back(id);
      if (kind == 'n') {
        for (const auto& [id, n] : s.nodes()) out.push_back(id);
        out.push_back("root");
      }
      std::sort(out.begin(), out.end());
      return out;
    });
  };
  int ok = 0;
  int failed = 0;
  for (int step = 0; step < 3000; ++step) {
    const std::string t = pick(tenants);
    const std::string name = "n" + std::to_string(rng() % 50);
    iam::Command cmd;
    switch (rng() % 16) {
      case 0: {
        iam::CreateUser c;
        c.email = name + "@example.com";
        c.first_name = rng() % 10 ? name : "";
        c.last_name = "X";
        if (rng() % 2) c.bindings = {iam::Grant{pick(ids(t, 'r')), pick(ids(t, 'n'))}};
        if (rng() % 2) c.group_ids = {pick(ids(t, 'g'))};
        cmd = c;
        break;
      }
      case 1:
        cmd = iam::SetUserTag{pick(ids(t, 'u')), "k" + std::to_string(rng() % 3), name};
        break;
      case 2:
        cmd = iam::ChangeUserStatus{pick(ids(t, 'u')), static_cast<iam::UserAction>(rng() % 5), ""};
        break;
      case 3:
        cmd = iam::CreateRole{
            name,
            "",
            {iam::Permission{"*", "workflow", "*", iam::Level::kEdit}},
            rng() % 3 ? std::vector<std::string>{} : std::vector<std::string>{pick(ids(t, 'r'))}};
        break;
      case 4:
        cmd = iam::UpdateRole{
            pick(ids(t, 'r')), {}, name, {}, std::vector<std::string>{pick(ids(t, 'r'))}};
        break;
      case 5:
        cmd = iam::DeleteRole{pick(ids(t, 'r'))};
        break;
      case 6:
        cmd = iam::CreateGroup{name, "", iam::GroupType::kConfigured, "root"};
        break;
      case 7:
        cmd = iam::AddGroupMembers{pick(ids(t, 'g')), {{SubjectType::kUser, pick(ids(t, 'u'))}}};
        break;
      case 8:
        cmd = iam::CreateBinding{
            {SubjectType::kGroup, pick(ids(t, 'g'))}, pick(ids(t, 'r')), pick(ids(t, 'n'))};
        break;
      case 9:
        cmd = iam::DeleteBinding{pick(ids(t, 'b'))};
        break;
      case 10:
        cmd = iam::CreateClient{name, "", "", {}};
        break;
      case 11:
        cmd = iam::CreateClientSecret{pick(ids(t, 'c'))};
        break;
      case 12:
        cmd = iam::CreateNode{
            rng() % 2 ? "project" : "folder", name, pick(ids(t, 'n')), "", "", true};
        break;
      case 13:
        cmd = iam::DeleteNode{pick(ids(t, 'n'))};
        break;
      case 14:
        cmd = iam::CreateInvitation{"inv" + name + "@example.com", {}, {}, {}};
        break;
      default:
        cmd = iam::RecordLogin{pick(ids(t, 'u')), "x@example.com", rng() % 4 == 0, "bad_password"};
        break;
    }
    core::Result<ExecuteResult> r = Run(t, cmd);
    (r.ok() ? ok : failed)++;
    if (rng() % 200 == 0) clock_.Advance(std::chrono::minutes(rng() % 30));
  }
  EXPECT_GT(ok, 800);
  EXPECT_GT(failed, 300);
  const std::string live = service_->Digest().value();
  EXPECT_EQ(*IdentityService::StoredDigest(*store_), live);
  ASSERT_TRUE(IdentityService::RebuildState(*store_, *store_).ok());
  EXPECT_EQ(*IdentityService::StoredDigest(*store_), live);
  Close();
  Open();
  EXPECT_EQ(service_->Digest().value(), live);
}

// Everything a secret touches, read back raw and logically: no clear secret anywhere.
TEST_F(IdentityServiceTest, NoClearSecretReachesTheStoreOrTheLog) {
  CreateTenant("acme");
  std::vector<std::string> secrets;
  for (int i = 0; i < 5; ++i) {
    iam::CreateUser c;
    c.email = "user" + std::to_string(i) + "@example.com";
    c.first_name = "U";
    c.last_name = std::to_string(i);
    ExecuteResult u = Must("acme", c);
    secrets.push_back(*u.decision.secret);
    secrets.push_back(*Must("acme", iam::ResetPassword{u.decision.id}).decision.secret);
    ExecuteResult client =
        Must("acme", iam::CreateClient{"client-" + std::to_string(i), "", "", {}});
    secrets.push_back(*client.decision.secret);
    secrets.push_back(*Must("acme", iam::CreateClientSecret{client.decision.id}).decision.secret);
    ExecuteResult inv =
        Must("acme", iam::CreateInvitation{"inv" + std::to_string(i) + "@example.com", {}, {}, {}});
    secrets.push_back(*inv.decision.secret);
    secrets.push_back(*Must("acme", iam::ResendInvitation{inv.decision.id}).decision.secret);
  }
  // Logically: every event line and every stored value of every space.
  auto lines = store_->Read(core::Seq(1), 1000000);
  for (const core::StoredEvent& e : *lines) {
    for (const std::string& s : secrets) ASSERT_EQ(e.line.find(s), std::string::npos) << e.line;
  }
  for (core::Space space : {core::Space::kState, core::Space::kCredentials, core::Space::kIndex,
                            core::Space::kAudit, core::Space::kCheckpoint}) {
    ASSERT_TRUE(store_
                    ->Scan(space, "",
                           [&](std::string_view k, std::string_view v) {
                             for (const std::string& s : secrets) {
                               EXPECT_EQ(k.find(s), std::string_view::npos);
                               EXPECT_EQ(v.find(s), std::string_view::npos);
                             }
                             return true;
                           })
                    .ok());
  }
  // Raw: every byte of every file of the data dir, after the store is closed.
  Close();
  size_t files = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir_.path())) {
    if (!entry.is_regular_file()) continue;
    ++files;
    const std::string bytes = testing::ReadFile(entry.path().string());
    for (const std::string& s : secrets) {
      ASSERT_EQ(bytes.find(s), std::string::npos) << "secret in " << entry.path();
    }
  }
  EXPECT_GT(files, 3u);
  Open();
}

// An EventLog that fails one chosen append, to see the tenant recover.

TEST_F(IdentityServiceTest, AFailedAppendRollsTheTenantBackToWhatIsDurable) {
  CreateTenant("acme");
  testing::FailingLog failing(*store_);
  auto service = IdentityService::Open(failing, *store_, clock_, random_, nullptr);
  ASSERT_TRUE(service.ok());
  service_.reset();
  ExecuteRequest r;
  r.tenant = core::TenantId("acme");
  r.actor = kRootActor;
  r.command = iam::CreateRole{"Lost", "", {}, {}};
  failing.fail_next = 1;
  EXPECT_EQ((*service)->Execute(r).error().code, core::Errc::kUnavailable);
  // The role was applied at once; until the recovery thread has rolled it back, the tenant
  // answers kUnavailable at once (never the state with "Lost"), then works again.
  r.command = iam::CreateRole{"Kept", "", {}, {}};
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  core::Result<ExecuteResult> kept = (*service)->Execute(r);
  while (!kept.ok() && kept.error().code == core::Errc::kUnavailable &&
         std::chrono::steady_clock::now() < deadline) {
    core::Result<bool> lost = (*service)->Read(
        core::TenantId("acme"),
        [](const iam::TenantState& s) { return s.FindRoleByName("Lost") != nullptr; });
    EXPECT_TRUE(!lost.ok() ? lost.error().code == core::Errc::kUnavailable : !*lost);
    std::this_thread::yield();
    kept = (*service)->Execute(r);
  }
  ASSERT_TRUE(kept.ok()) << kept.error().ToString();
  EXPECT_TRUE(*(*service)->Read(core::TenantId("acme"), [](const iam::TenantState& s) {
    return s.FindRoleByName("Lost") == nullptr && s.FindRoleByName("Kept") != nullptr;
  }));
  EXPECT_EQ((*service)->Digest().value(), *IdentityService::StoredDigest(*store_));
  service->reset();
}

}  // namespace
}  // namespace custos::projections
