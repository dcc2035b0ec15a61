// Retention over real HTTP with a fake clock: windows by plan, purges (on request and by the
// background job), legal hold, the relay's cursor, the chain across a purge, and the state
// that survives it (and a rebuild after it).
#include <gtest/gtest.h>

#include "core/chain_verifier.h"
#include "core/checkpoint.h"
#include "core/export_receipt.h"
#include "projections/identity_service.h"
#include "projections/retention.h"
#include "projections/webhook_sink.h"
#include "tests/api/api_fixture.h"
#include "tests/support/test_store.h"

namespace custos::testing {
namespace {

class RetentionTest : public ApiTest {
 protected:
  void SetUp() override {
    ApiTest::SetUp();
    CreateTenant("acme");
    root_token_ = RootToken();
  }

  // A fresh root token (the fake clock outruns them) and an ingesting client's token.
  std::string Reporter() {
    root_token_ = RootToken();
    HttpReply role = client_->Json("POST", "/v1/tenants/acme/roles", root_token_,
                                   "{\"name\":\"reporter " + std::to_string(++clients_) +
                                       "\",\"permissions\":[{\"resource_type\":\"iam.audit\","
                                       "\"level\":\"edit\"}]}");
    EXPECT_EQ(role.status, 201) << role.body;
    auto [id, secret] =
        Client("acme", "reporter " + std::to_string(clients_), J(role.body).S("id"));
    return Token(id, secret);
  }

  void IngestN(const std::string& token, int n, const std::string& type) {
    for (int i = 0; i < n; ++i) {
      ASSERT_EQ(
          client_->Json("POST", base_ + "/events", token, "{\"type\":\"" + type + "\"}").status,
          201);
    }
  }

  HttpReply Run(const std::string& as_of) {
    return client_->Json("POST", base_ + "/retention/run", root_token_,
                         as_of.empty() ? "{}" : "{\"as_of\":\"" + as_of + "\"}");
  }

  std::string In(std::chrono::hours h) { return core::FormatTime(clock_.Now() + h); }

  uint64_t HeadSeq() { return store_->Head(core::TenantId("acme"))->tenant_seq.value(); }

  const std::string base_ = "/v1/tenants/acme/audit";
  std::string root_token_;
  int clients_ = 0;
};

constexpr std::chrono::hours kDay{24};

TEST_F(RetentionTest, APurgeRemovesWhatIsPastTheWindowAndTheChainGoesOnFromItsAnchor) {
  IngestN(Reporter(), 10, "engine.restarted");
  const uint64_t old_head = HeadSeq();
  const std::string old_head_hash = store_->Head(core::TenantId("acme"))->hash;
  clock_.Advance(kDay * 20);
  IngestN(Reporter(), 5, "engine.stopped");
  const uint64_t kept_from = old_head + 1;
  const std::string digest = *projections::IdentityService::StoredDigest(*store_);

  // As of 11 days on, the first events are 31 days old: past the free plan's 30.
  HttpReply r = Run(In(kDay * 11));
  ASSERT_EQ(r.status, 200) << r.body;
  J out(r.body);
  EXPECT_EQ(out.S("purged"), std::to_string(old_head));
  EXPECT_EQ(out.S("first_tenant_seq"), "1");
  EXPECT_EQ(out.S("last_tenant_seq"), std::to_string(old_head));
  EXPECT_EQ(out.S("anchor"), old_head_hash);
  EXPECT_EQ(*store_->FirstTenantSeq(core::TenantId("acme")), core::TenantSeq(kept_from));

  // The purge is recorded with its anchor; what remains verifies from it, on the server and
  // offline from an export.
  HttpReply recorded =
      client_->Json("GET", base_ + "/events?action=audit.retention_purged", root_token_);
  J rec(recorded.body);
  ASSERT_EQ(rec.Size("items"), 1u) << recorded.body;
  EXPECT_EQ(rec.S("items.0.data.anchor"), old_head_hash);
  EXPECT_EQ(rec.S("items.0.data.count"), std::to_string(old_head));
  EXPECT_EQ(rec.S("items.0.actor.type"), "system");
  HttpReply verify = client_->Json("GET", base_ + "/verify", root_token_);
  EXPECT_TRUE(J(verify.body).B("ok")) << verify.body;
  EXPECT_EQ(J(verify.body).S("first_tenant_seq"), std::to_string(kept_from));
  HttpReply exported = client_->Json("GET", base_ + "/export", root_token_);
  ASSERT_EQ(exported.status, 200);
  core::ChainVerifier anchored(old_head_hash);
  size_t lines = 0;
  for (size_t start = 0; start < exported.body.size();) {
    const size_t nl = exported.body.find('\n', start);
    const std::string line = exported.body.substr(start, nl - start);
    start = nl + 1;
    if (core::IsReceiptLine(line)) {
      // A complete export of what is retained, anchored where the purge left the chain.
      core::Result<core::ExportReceipt> receipt = core::ParseReceiptLine(line);
      ASSERT_TRUE(receipt.ok()) << receipt.error().ToString();
      EXPECT_TRUE(receipt->complete) << line;
      EXPECT_EQ(receipt->retained_from_tenant_seq, kept_from);
      EXPECT_EQ(receipt->purge_anchor, old_head_hash);
      break;
    }
    ASSERT_TRUE(anchored.Feed(line).ok()) << line;
    ++lines;
  }
  EXPECT_EQ(anchored.summary().first_tenant_seq, kept_from);
  EXPECT_GE(lines, 6u);
  core::ChainVerifier wrong_anchor(std::string(64, '0'));
  EXPECT_FALSE(wrong_anchor.Feed(exported.body.substr(0, exported.body.find('\n'))).ok());

  // The state built by the purged events is all still there, and a rebuild from what is
  // left of the log (the snapshot taken with the purge, then the events after it) is equal.
  EXPECT_EQ(client_->Json("GET", "/v1/tenants/acme/roles", root_token_).status, 200);
  EXPECT_EQ(J(client_->Json("GET", "/v1/tenants/acme/api-clients", root_token_).body).Size("items"),
            2u);
  EXPECT_EQ(*projections::IdentityService::StoredDigest(*store_), digest);
  ASSERT_TRUE(projections::IdentityService::RebuildState(*store_, *store_).ok());
  EXPECT_EQ(*projections::IdentityService::StoredDigest(*store_), digest);

  // Nothing more to purge; a second run purges 0 and records nothing.
  HttpReply again = Run(In(kDay * 11));
  EXPECT_EQ(J(again.body).S("purged"), "0") << again.body;
}

TEST_F(RetentionTest, TheDigestIsRootsAndTheSameAfterARebuildOfStateAndIndex) {
  IngestN(Reporter(), 10, "engine.restarted");
  clock_.Advance(kDay * 20);
  const std::string reporter = Reporter();
  IngestN(reporter, 5, "engine.stopped");
  root_token_ = RootToken();
  auto digest = [&] {
    HttpReply r = client_->Json("GET", "/v1/tenants/acme/digest", root_token_);
    EXPECT_EQ(r.status, 200) << r.body;
    J d(r.body);
    EXPECT_EQ(d.S("state_digest").size(), 64u) << r.body;
    EXPECT_EQ(d.S("index_digest").size(), 64u) << r.body;
    return std::make_tuple(d.S("tenant_seq"), d.S("state_digest"), d.S("index_digest"));
  };
  const auto before = digest();
  EXPECT_EQ(std::get<0>(before), std::to_string(HeadSeq()));
  EXPECT_EQ(digest(), before);
  // Root's alone; an unknown tenant is 404.
  EXPECT_EQ(client_->Json("GET", "/v1/tenants/acme/digest", reporter).status, 403);
  EXPECT_EQ(client_->Json("GET", "/v1/tenants/acme/digest", "").status, 401);
  EXPECT_EQ(client_->Json("GET", "/v1/tenants/nobody/digest", root_token_).status, 404);

  // A purge moves the head (its record) and the index's floor; the state stays.
  ASSERT_EQ(Run(In(kDay * 11)).status, 200);
  const auto purged = digest();
  EXPECT_EQ(std::get<0>(purged), std::to_string(HeadSeq()));
  EXPECT_EQ(std::get<1>(purged), std::get<1>(before));
  EXPECT_NE(std::get<2>(purged), std::get<2>(before));

  // What another node holds after applying the same events: state and index built again from
  // the log, the index in blocks cut differently. The same digests.
  ASSERT_TRUE(audit_->Rebuild().ok());
  Stop();
  {
    std::unique_ptr<storage::RocksStore> store;
    ASSERT_NO_FATAL_FAILURE(testing::OpenTestStore(dir_, clock_, store));
    ASSERT_TRUE(projections::IdentityService::RebuildState(*store, *store).ok());
  }
  Start();
  root_token_ = RootToken();
  EXPECT_EQ(digest(), purged);
}

TEST_F(RetentionTest, EventsRemovedWithoutAPurgeFailVerificationAndSigning) {
  IngestN(Reporter(), 10, "engine.restarted");
  clock_.Advance(kDay * 40);
  IngestN(Reporter(), 5, "engine.stopped");
  ASSERT_EQ(Run("").status, 200);
  const core::TenantId acme("acme");
  const uint64_t first = (*store_->FirstTenantSeq(acme))->value();
  ASSERT_GT(first, 1u);
  EXPECT_TRUE(J(client_->Json("GET", base_ + "/verify", root_token_).body).B("ok"));
  // Someone with the disk removes two more events from the start and puts the purge's anchor
  // record back as it was: what is left still chains, but no longer from the recorded anchor.
  auto recorded = store_->PurgeAnchorOf(acme);
  ASSERT_TRUE(recorded.ok() && recorded->has_value());
  ASSERT_TRUE(store_->PurgeTenant(acme, core::TenantSeq(first + 2)).ok());
  std::string old_value;
  core::PutBE64(old_value, (*recorded)->last_purged);
  old_value += (*recorded)->hash;
  core::KvBatch put_back;
  put_back.Put(core::Space::kIndex, std::string("purge-anchor") + '\0' + "acme", old_value);
  ASSERT_TRUE(store_->Write(put_back, core::Durability::kSync).ok());
  J cut(client_->Json("GET", base_ + "/verify", root_token_).body);
  EXPECT_FALSE(cut.B("ok"));
  EXPECT_NE(cut.S("error").find("the stream begins at " + std::to_string(first + 2)),
            std::string::npos)
      << cut.S("error");
  // Without any record at all: "missing, and no purge removed them".
  core::KvBatch drop;
  drop.Delete(core::Space::kIndex, std::string("purge-anchor") + '\0' + "acme");
  ASSERT_TRUE(store_->Write(drop, core::Durability::kSync).ok());
  J gone(client_->Json("GET", base_ + "/verify", root_token_).body);
  EXPECT_FALSE(gone.B("ok"));
  EXPECT_NE(gone.S("error").find("no retention purge removed them"), std::string::npos)
      << gone.S("error");
  // The checkpoint signer refuses to sign such a head (a fresh signer, nothing verified yet).
  projections::AuditCheckpoints fresh(*store_, *store_, clock_, *audit_key_);
  ASSERT_TRUE(fresh.List(acme, 1)->empty());
  EXPECT_TRUE(fresh.SignMovedHeads({acme}).ok());  // it reports the tenant and goes on
  EXPECT_TRUE(fresh.List(acme, 1)->empty());
}

TEST_F(RetentionTest, WindowsFollowThePlanAndLegalHoldStopsPurging) {
  IngestN(Reporter(), 3, "engine.restarted");
  clock_.Advance(kDay * 40);
  root_token_ = RootToken();
  // Pro keeps 90 days: nothing to purge yet.
  ASSERT_EQ(client_->Json("PATCH", "/v1/tenants/acme", root_token_, "{\"plan\":\"pro\"}").status,
            200);
  HttpReply info = client_->Json("GET", base_ + "/retention", root_token_);
  ASSERT_EQ(info.status, 200) << info.body;
  J i(info.body);
  EXPECT_EQ(i.S("plan"), "pro");
  EXPECT_EQ(i.S("retention_days"), "90");
  ASSERT_NE(i.At("legal_hold"), nullptr);
  EXPECT_FALSE(i.B("legal_hold"));
  EXPECT_EQ(i.S("oldest_event_time"), "2026-11-24T12:00:00.000Z");
  EXPECT_EQ(J(Run("").body).S("purged"), "0");

  // Back to free: the events are 40 days old. Under legal hold, nothing goes.
  ASSERT_EQ(client_->Json("PATCH", "/v1/tenants/acme", root_token_, "{\"plan\":\"free\"}").status,
            200);
  ASSERT_EQ(client_
                ->Json("POST", "/v1/tenants/acme/legal-hold", root_token_,
                       "{\"enabled\":true,\"reason\":\"litigation\"}")
                .status,
            200);
  HttpReply held = Run("");
  ASSERT_EQ(held.status, 200) << held.body;
  EXPECT_EQ(J(held.body).S("purged"), "0");
  EXPECT_TRUE(J(held.body).B("legal_hold"));
  EXPECT_EQ(*store_->FirstTenantSeq(core::TenantId("acme")), core::TenantSeq(1));
  // Hidden from reads all the same: the window decides visibility, not the purge.
  EXPECT_EQ(
      J(client_->Json("GET", base_ + "/events?action=engine.*", root_token_).body).Size("items"),
      0u);

  ASSERT_EQ(client_->Json("POST", "/v1/tenants/acme/legal-hold", root_token_, "{\"enabled\":false}")
                .status,
            200);
  HttpReply purged = Run("");
  EXPECT_NE(J(purged.body).S("purged"), "0") << purged.body;
  EXPECT_GT((*store_->FirstTenantSeq(core::TenantId("acme")))->value(), 1u);

  // Enterprise windows are settable from 365 days.
  ASSERT_EQ(client_
                ->Json("PATCH", "/v1/tenants/acme", root_token_,
                       "{\"plan\":\"enterprise\",\"retention_days\":730}")
                .status,
            200);
  EXPECT_EQ(J(client_->Json("GET", base_ + "/retention", root_token_).body).S("retention_days"),
            "730");
}

TEST_F(RetentionTest, ALegalHoldSetWhileAPurgeIsBeingRecordedKeepsEveryEvent) {
  IngestN(Reporter(), 3, "engine.restarted");
  clock_.Advance(kDay * 40);
  root_token_ = RootToken();
  // The hold lands just after the purge's record is durable, before anything is deleted:
  // the hold is acknowledged, so nothing may go.
  int hold_status = 0;
  retention_->SetAfterRecordForTest([&] {
    hold_status = HttpClient(server_->port())
                      .Json("POST", "/v1/tenants/acme/legal-hold", root_token_,
                            "{\"enabled\":true,\"reason\":\"subpoena\"}")
                      .status;
  });
  HttpReply run = Run("");
  retention_->SetAfterRecordForTest(nullptr);
  ASSERT_EQ(hold_status, 200);
  ASSERT_EQ(run.status, 200) << run.body;
  EXPECT_EQ(J(run.body).S("purged"), "0") << run.body;
  EXPECT_EQ(*store_->FirstTenantSeq(core::TenantId("acme")), core::TenantSeq(1));
  // The chain still verifies from its first event.
  HttpReply verify = client_->Json("GET", base_ + "/verify", root_token_);
  EXPECT_TRUE(J(verify.body).B("ok")) << verify.body;
}

TEST_F(RetentionTest, APurgeNeverPassesTheCursorOfASinkThatIsOn) {
  IngestN(Reporter(), 5, "engine.restarted");
  const uint64_t head = HeadSeq();
  auto seq_of = [&](uint64_t tenant_seq) {
    auto lines = store_->GetTenantEvents(core::TenantId("acme"), {core::TenantSeq(tenant_seq)});
    return core::ParseLineFields(*(*lines)[0])->seq;
  };
  // The relay has delivered up to tenant_seq head − 1, the webhook up to head − 3.
  core::KvBatch b;
  b.SetCheckpoint(projections::kRelayCheckpoint, core::Seq(seq_of(head - 1)));
  b.SetCheckpoint(projections::kWebhookCheckpoint, core::Seq(seq_of(head - 3)));
  ASSERT_TRUE(store_->Write(b, core::Durability::kSync).ok());
  clock_.Advance(kDay * 31);
  projections::Retention both(
      *identity_, *store_, *store_, *audit_, clock_,
      {std::string(projections::kRelayCheckpoint), std::string(projections::kWebhookCheckpoint)});
  core::Result<projections::PurgeOutcome> r = both.Purge(core::TenantId("acme"), clock_.Now());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->last_tenant_seq, head - 3);  // the least of the two cursors
  EXPECT_EQ(*store_->FirstTenantSeq(core::TenantId("acme")), core::TenantSeq(head - 2));
  // The relay alone on: up to its cursor; the webhook's (a sink switched off) holds nothing.
  projections::Retention relay_only(*identity_, *store_, *store_, *audit_, clock_,
                                    {std::string(projections::kRelayCheckpoint)});
  r = relay_only.Purge(core::TenantId("acme"), clock_.Now());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->last_tenant_seq, head - 1);
  EXPECT_EQ(*store_->FirstTenantSeq(core::TenantId("acme")), core::TenantSeq(head));
}

TEST_F(RetentionTest, TheBackgroundJobPurgesEveryTenant) {
  CreateTenant("other");
  IngestN(Reporter(), 2, "engine.restarted");
  clock_.Advance(kDay * 31);
  core::Result<uint64_t> purged = retention_->PurgeAll();
  ASSERT_TRUE(purged.ok()) << purged.error().message;
  EXPECT_GT(*purged, 2u);
  EXPECT_GT((*store_->FirstTenantSeq(core::TenantId("other")))->value(), 1u);
}

TEST_F(RetentionTest, OnlyRootRunsAPurgeAndNotIntoThePast) {
  HttpReply past = Run(core::FormatTime(clock_.Now() - kDay));
  EXPECT_EQ(past.status, 422);
  EXPECT_EQ(J(past.body).S("errors.0.field"), "as_of");
  EXPECT_EQ(Run("yesterday").status, 422);
  const std::string reporter = Reporter();
  EXPECT_EQ(client_->Json("POST", base_ + "/retention/run", reporter, "{}").status, 403);
  EXPECT_EQ(client_->Json("GET", base_ + "/retention", reporter).status, 200);
  auto [nobody_id, nobody_secret] = Client("acme", "nobody", "");
  EXPECT_EQ(client_->Json("GET", base_ + "/retention", Token(nobody_id, nobody_secret)).status,
            403);
}

TEST_F(RetentionTest, ARebuildAfterALargePurgeReplaysEverythingAfterIt) {
  // More purged events in a row than a page of the log: reading must step over them.
  const std::string token = Reporter();
  std::string batch = "{\"events\":[";
  for (int i = 0; i < 1000; ++i) batch += std::string(i ? "," : "") + "{\"type\":\"engine.ran\"}";
  batch += "]}";
  for (int i = 0; i < 6; ++i) {
    ASSERT_EQ(client_->Json("POST", base_ + "/events:batch", token, batch).status, 201);
  }
  clock_.Advance(kDay * 31);
  root_token_ = RootToken();
  HttpReply purged = Run("");
  ASSERT_GT(std::stoull(J(purged.body).S("purged")), 6000u) << purged.body;
  // Then state changes of this tenant and a new one.
  ASSERT_EQ(client_
                ->Json("POST", "/v1/tenants/acme/roles", root_token_,
                       "{\"name\":\"After the purge\",\"permissions\":[]}")
                .status,
            201);
  CreateTenant("later");
  const std::string digest = *projections::IdentityService::StoredDigest(*store_);
  ASSERT_TRUE(projections::IdentityService::RebuildState(*store_, *store_).ok());
  EXPECT_EQ(*projections::IdentityService::StoredDigest(*store_), digest);
  ASSERT_TRUE(audit_->Rebuild().ok());
  EXPECT_EQ(J(client_->Json("GET", base_ + "/events?action=role.created", root_token_).body)
                .Size("items"),
            1u);
  EXPECT_GT(
      J(client_->Json("GET", "/v1/tenants/later/audit/events", root_token_).body).Size("items"),
      0u);
}

TEST_F(RetentionTest, ARunningExportHoldsOffAPurge) {
  IngestN(Reporter(), 3, "engine.restarted");
  clock_.Advance(kDay * 31);
  root_token_ = RootToken();
  {
    auto lease = retention_->Hold(core::TenantId("acme"));
    HttpReply r = Run("");
    EXPECT_EQ(r.status, 503) << r.body;
    EXPECT_EQ(*store_->FirstTenantSeq(core::TenantId("acme")), core::TenantSeq(1));
  }
  EXPECT_EQ(Run("").status, 200);
  EXPECT_GT((*store_->FirstTenantSeq(core::TenantId("acme")))->value(), 1u);
}

TEST_F(RetentionTest, WithASinkOnNothingUndeliveredIsPurged) {
  IngestN(Reporter(), 3, "engine.restarted");
  clock_.Advance(kDay * 31);
  projections::Retention with_relay(*identity_, *store_, *store_, *audit_, clock_,
                                    {std::string(projections::kWebhookCheckpoint)});
  core::Result<projections::PurgeOutcome> none =
      with_relay.Purge(core::TenantId("acme"), clock_.Now());
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->purged, 0u);  // the webhook has delivered nothing yet
  EXPECT_EQ(*store_->FirstTenantSeq(core::TenantId("acme")), core::TenantSeq(1));
}

}  // namespace
}  // namespace custos::testing
