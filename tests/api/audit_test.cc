// The audit routes over real HTTP: ingest (single, batch, reported actors), queries and
// their filters, events by id, retention visibility, verification, permissions.
#include <gtest/gtest.h>

#include <functional>
#include <map>

#include "api/internal/csv.h"
#include "core/chain_verifier.h"
#include "core/checkpoint.h"
#include "core/event.h"
#include "core/export_receipt.h"
#include "tests/api/api_fixture.h"

namespace custos::testing {
namespace {

class AuditApiTest : public ApiTest {
 protected:
  void SetUp() override {
    ApiTest::SetUp();
    CreateTenant("acme");
    root_token_ = RootToken();
  }

  // A role on iam.audit at `level`, and an API client bound to it; returns its token.
  std::string AuditClient(const std::string& name, const std::string& level) {
    HttpReply role = client_->Json("POST", "/v1/tenants/acme/roles", root_token_,
                                   "{\"name\":\"" + name +
                                       " role\",\"permissions\":[{\"resource_type\":\"iam.audit\","
                                       "\"level\":\"" +
                                       level + "\"}]}");
    EXPECT_EQ(role.status, 201) << role.body;
    auto [id, secret] = Client("acme", name, J(role.body).S("id"));
    return Token(id, secret);
  }

  // The client id a token was issued to (its "sub").
  std::string CallerId(const std::string& token) {
    return J(client_->Json("GET", "/v1/tenants/acme/me", token).body).S("principal.id");
  }

  HttpReply Ingest(const std::string& token, const std::string& body) {
    return client_->Json("POST", base_ + "/events", token, body);
  }

  // The events of a query, as JSON objects.
  std::vector<std::string> Types(const std::string& query) {
    HttpReply r = client_->Json("GET", base_ + "/events" + query, root_token_);
    EXPECT_EQ(r.status, 200) << r.body;
    J j(r.body);
    std::vector<std::string> out;
    for (size_t i = 0; i < j.Size("items"); ++i)
      out.push_back(j.S("items." + std::to_string(i) + ".type"));
    return out;
  }

  const std::string base_ = "/v1/tenants/acme/audit";
  std::string root_token_;
};

TEST_F(AuditApiTest, IngestedEventsAreStoredAsSentAndFoundById) {
  const std::string token = AuditClient("reporter", "edit");
  HttpReply r = Ingest(token,
                       "{\"type\":\"workflow.executed\",\"target\":{\"type\":\"workflow\","
                       "\"id\":\"wf_1\",\"name\":\"Nightly\"},\"data\":{\"duration_ms\":1200,"
                       "\"ok\":true},\"occurred_at\":\"2026-11-24T11:59:00Z\"}");
  ASSERT_EQ(r.status, 201) << r.body;
  J created(r.body);
  const std::string id = created.S("id");
  EXPECT_EQ(r.Header("location"), base_ + "/events/" + id);
  EXPECT_EQ(created.S("tenant_seq"), std::to_string(std::stoul(created.S("tenant_seq"))));

  HttpReply got = client_->Json("GET", base_ + "/events/" + id, root_token_);
  ASSERT_EQ(got.status, 200) << got.body;
  ASSERT_TRUE(core::VerifyLine(got.body).ok()) << got.body;  // the stored line, byte for byte
  J e(got.body);
  EXPECT_EQ(e.S("type"), "workflow.executed");
  EXPECT_EQ(e.S("actor.type"), "api_client");
  EXPECT_EQ(e.S("target.id"), "wf_1");
  EXPECT_EQ(e.S("data.duration_ms"), "1200");
  EXPECT_EQ(e.S("data.occurred_at"), "2026-11-24T11:59:00.000Z");
  EXPECT_EQ(e.S("time"), "2026-11-24T12:00:00.000Z");  // the server's, not the client's
  EXPECT_EQ(e.At("data.reported_by"), nullptr);
  EXPECT_EQ(e.S("hash"), created.S("hash"));

  EXPECT_EQ(client_->Json("GET", base_ + "/events/evt_0000", root_token_).status, 404);
  CreateTenant("other");
  EXPECT_EQ(client_->Json("GET", "/v1/tenants/other/audit/events/" + id, root_token_).status, 404);
}

TEST_F(AuditApiTest, NumbersAreStoredAndChainedAsSent) {
  // What the client said is what the trail says: no re-printing of numbers, any JSON number.
  const std::string token = AuditClient("meter", "edit");
  const std::string data =
      R"({"amount":1.1,"price":19.99,"exp":1e2,"big":123456789012345678901234567890})";
  HttpReply r = Ingest(token, "{\"type\":\"invoice.paid\",\"data\":" + data + "}");
  ASSERT_EQ(r.status, 201) << r.body;
  HttpReply got = client_->Json("GET", base_ + "/events/" + J(r.body).S("id"), root_token_);
  ASSERT_EQ(got.status, 200);
  EXPECT_NE(got.body.find("\"data\":" + data), std::string::npos) << got.body;
}

TEST_F(AuditApiTest, ReportingAnotherActorRecordsTheCaller) {
  const std::string token = AuditClient("gateway", "edit");
  HttpReply r = client_->Json("POST", base_ + "/events", token,
                              "{\"type\":\"connector.changed\",\"actor\":{\"type\":\"user\","
                              "\"id\":\"ext_42\",\"name\":\"Linus\"}}",
                              {{"User-Agent", "gateway/2.1"}});
  ASSERT_EQ(r.status, 201) << r.body;
  J e(client_->Json("GET", base_ + "/events/" + J(r.body).S("id"), root_token_).body);
  EXPECT_EQ(e.S("actor.id"), "ext_42");
  EXPECT_EQ(e.S("actor.name"), "Linus");
  EXPECT_EQ(e.S("data.reported_by.type"), "api_client");
  EXPECT_NE(e.S("data.reported_by.id"), "<missing>");
  // The reported actor is queryable by its id.
  EXPECT_EQ(Types("?actor=ext_42"), std::vector<std::string>{"connector.changed"});
  // The reporter is recorded as it is: its name from the state, its own address and agent.
  EXPECT_EQ(e.S("data.reported_by.name"), "gateway");
  EXPECT_EQ(e.S("data.reported_by.ip"), "127.0.0.1");
  EXPECT_EQ(e.S("data.reported_by.user_agent"), "gateway/2.1");
}

TEST_F(AuditApiTest, ACallerCannotDressItselfUpOrPassForTheSystem) {
  const std::string token = AuditClient("gateway", "edit");
  // As itself with a grand name: the name on the event is its own, from the state.
  HttpReply self = Ingest(token,
                          "{\"type\":\"settings.changed\",\"actor\":{\"type\":\"api_client\","
                          "\"id\":\"" +
                              CallerId(token) + "\",\"name\":\"Root administrator (console)\"}}");
  ASSERT_EQ(self.status, 201) << self.body;
  J mine(client_->Json("GET", base_ + "/events/" + J(self.body).S("id"), root_token_).body);
  EXPECT_EQ(mine.S("actor.name"), "gateway");
  EXPECT_EQ(mine.S("data.reported_by"), "<missing>");
  // Reporting "system": stored as reported, but the OCSF record's actor is the caller, and
  // the claim is kept apart.
  HttpReply claim = Ingest(token,
                           "{\"type\":\"engine.restarted\",\"actor\":{\"type\":\"system\","
                           "\"id\":\"scheduler\",\"name\":\"Custos\"}}");
  ASSERT_EQ(claim.status, 201) << claim.body;
  HttpReply ocsf =
      client_->Json("GET", base_ + "/export?format=ocsf&action=engine.restarted", root_token_);
  ASSERT_EQ(ocsf.status, 200);
  const std::string record = ocsf.body.substr(0, ocsf.body.find('\n'));
  J o(record);
  EXPECT_EQ(o.S("actor.user.uid"), CallerId(token)) << record;
  EXPECT_EQ(o.S("actor.user.name"), "gateway");
  EXPECT_EQ(o.S("actor.user.type"), "api_client");
  EXPECT_EQ(o.S("src_endpoint.ip"), "127.0.0.1");
  EXPECT_EQ(o.S("unmapped.reported_actor.uid"), "scheduler");
  EXPECT_EQ(o.S("unmapped.reported_actor.type"), "system");
}

// ../shared/spec/EVENTS.md: "`actor.name`/`target.name` are snapshots taken at the time". Root, API
// clients, users and the system's jobs all leave their name on what they cause.
TEST_F(AuditApiTest, EveryEventCarriesItsActorsName) {
  const std::string admin = AuditClient("auditor", "admin");
  const std::string t = "/v1/tenants/acme";
  HttpReply user = client_->Json("POST", t + "/users", root_token_,
                                 "{\"email\":\"ada@x.io\",\"first_name\":\"Ada\","
                                 "\"last_name\":\"Lovelace\"}");
  ASSERT_EQ(user.status, 201) << user.body;
  const std::string password = J(user.body).S("temporary_password");
  ASSERT_EQ(client_
                ->Json("POST", t + "/auth/login", "",
                       "{\"email\":\"ada@x.io\",\"password\":\"" + password + "\"}")
                .status,
            200);
  ASSERT_EQ(client_
                ->Json("POST", t + "/auth/login", "",
                       "{\"email\":\"ada@x.io\",\"password\":\"wrong-password\"}")
                .status,
            401);
  ASSERT_EQ(Ingest(admin, "{\"type\":\"report.viewed\"}").status, 201);
  HttpReply r = client_->Json("GET", base_ + "/events?limit=1000", root_token_);
  ASSERT_EQ(r.status, 200) << r.body;
  J j(r.body);
  ASSERT_GE(j.Size("items"), 8u);
  std::map<std::string, std::string> names;  // actor type:id -> name
  for (size_t i = 0; i < j.Size("items"); ++i) {
    const std::string at = "items." + std::to_string(i) + ".";
    const std::string name = j.S(at + "actor.name");
    EXPECT_NE(name, "<missing>") << j.S(at + "type") << " by " << j.S(at + "actor.id");
    names[j.S(at + "actor.type") + ":" + j.S(at + "actor.id")] = name;
  }
  EXPECT_EQ(names["user:" + J(user.body).S("id")], "Ada Lovelace");
  EXPECT_EQ(names["api_client:" + CallerId(admin)], "auditor");
  EXPECT_EQ(names["root:" + root_.client_id], "root");
}

TEST_F(AuditApiTest, IngestRefusesCatalogTypesAndBadFieldsAndWritesNothing) {
  const std::string token = AuditClient("reporter", "edit");
  const size_t before = Types("?limit=1000").size();
  struct Case {
    const char* body;
    int status;
    const char* field;
  };
  for (const Case& c : std::vector<Case>{
           {"{\"type\":\"user.created\"}", 422, "type"},
           {"{\"type\":\"audit.exported\"}", 422, "type"},
           {"{\"type\":\"Workflow.Run\"}", 422, "type"},
           {"{\"type\":\"workflow\"}", 422, "type"},
           {"{\"type\":\"workflow.run\",\"data\":[1]}", 422, "data"},
           {"{\"type\":\"workflow.run\",\"data\":{\"reported_by\":\"me\"}}", 422,
            "data.reported_by"},
           {"{\"type\":\"workflow.run\",\"occurred_at\":\"yesterday\"}", 422, "occurred_at"},
           {"{\"type\":\"workflow.run\",\"actor\":{\"type\":\"root\",\"id\":\"x\"}}", 422,
            "actor.type"},
           {"{\"type\":\"workflow.run\",\"target\":{\"type\":\"wf\",\"id\":\"a\\\"b\"}}", 422,
            "target.id"},
           {"{\"type\":\"workflow.run\",\"colour\":\"red\"}", 422, "colour"},
           {"{\"type\":\"workflow.run\",}", 400, ""},
       }) {
    HttpReply r = Ingest(token, c.body);
    EXPECT_EQ(r.status, c.status) << c.body << " → " << r.body;
    if (c.field[0] != '\0') {
      EXPECT_EQ(J(r.body).S("errors.0.field"), c.field) << r.body;
    }
  }
  HttpReply batch =
      client_->Json("POST", base_ + "/events:batch", token,
                    "{\"events\":[{\"type\":\"workflow.run\"},{\"type\":\"user.deleted\"}]}");
  EXPECT_EQ(batch.status, 422);
  EXPECT_EQ(J(batch.body).S("errors.0.field"), "events[1].type");
  EXPECT_EQ(Types("?limit=1000").size(), before);
}

// A type of many segments is a run per prefix in the audit index: 20,000 segments made
// 20,000 keys averaging 20 KB (400 MB to index, quadratic in the body). Types are at most
// 128 bytes; the type is named first when the body has other errors too.
TEST_F(AuditApiTest, IngestRefusesATypeLongerThan128BytesBeforeIndexingAnything) {
  const std::string token = AuditClient("long-types", "edit");
  const size_t before = Types("?limit=1000").size();
  std::string many = "a";
  for (int i = 0; i < 20'000; ++i) many += ".a";
  const std::string at_limit = "app." + std::string(124, 'x');  // 128 bytes
  for (const std::string& type : {many, at_limit + "y"}) {
    HttpReply r = Ingest(token, "{\"type\":\"" + type + "\",\"data\":[1]}");
    EXPECT_EQ(r.status, 422) << r.body.substr(0, 200);
    EXPECT_EQ(J(r.body).S("errors.0.field"), "type");
    EXPECT_LT(r.body.size(), 1024u);  // the type is not echoed whole
  }
  HttpReply batch =
      client_->Json("POST", base_ + "/events:batch", token,
                    "{\"events\":[{\"type\":\"workflow.run\"},{\"type\":\"" + many + "\"}]}");
  EXPECT_EQ(batch.status, 422);
  EXPECT_EQ(J(batch.body).S("errors.0.field"), "events[1].type");
  EXPECT_EQ(Types("?limit=1000").size(), before);
  EXPECT_EQ(Ingest(token, "{\"type\":\"" + at_limit + "\"}").status, 201);
}

TEST_F(AuditApiTest, ABatchOfAThousandIsOneAppend) {
  const std::string token = AuditClient("bulk", "edit");
  std::string body = "{\"events\":[";
  for (int i = 0; i < 1000; ++i) {
    if (i > 0) body += ',';
    body += "{\"type\":\"engine.restarted\",\"data\":{\"n\":" + std::to_string(i) + "}}";
  }
  body += "]}";
  const uint64_t groups = store_->stats().groups;
  HttpReply r = client_->Json("POST", base_ + "/events:batch", token, body, {});
  ASSERT_EQ(r.status, 201) << r.body.substr(0, 300);
  EXPECT_EQ(store_->stats().groups, groups + 1);  // one batch, one fsync
  J j(r.body);
  ASSERT_EQ(j.Size("events"), 1000u);
  EXPECT_EQ(std::stoull(j.S("events.999.tenant_seq")),
            std::stoull(j.S("events.0.tenant_seq")) + 999);
  EXPECT_EQ(Types("?action=engine.restarted&limit=1000").size(), 1000u);

  std::string too_many = "{\"events\":[";
  for (int i = 0; i < 1001; ++i) too_many += std::string(i ? "," : "") + "{\"type\":\"a.b\"}";
  too_many += "]}";
  HttpReply over = client_->Json("POST", base_ + "/events:batch", token, too_many);
  EXPECT_EQ(over.status, 422);
  EXPECT_EQ(J(over.body).S("errors.0.field"), "events");
}

TEST_F(AuditApiTest, AQueryThatMeetsNothingAnswersAnEmptyPageWithACursor) {
  // 12,000 events of two reported actors taking turns, each with its own type: "usr_a with
  // engine.stopped" meets nothing, and a page stops at its work budget instead of scanning.
  const std::string token = AuditClient("bulk", "edit");
  for (int batch = 0; batch < 12; ++batch) {
    std::string body = "{\"events\":[";
    for (int i = 0; i < 1000; ++i) {
      const bool a = i % 2 == 0;
      body += std::string(i ? "," : "") + "{\"type\":\"engine." + (a ? "started" : "stopped") +
              "\",\"actor\":{\"type\":\"user\",\"id\":\"usr_" + (a ? "a" : "b") + "\"}}";
    }
    body += "]}";
    ASSERT_EQ(client_->Json("POST", base_ + "/events:batch", token, body).status, 201);
  }
  std::string query = base_ + "/events?actor=usr_a&action=engine.stopped&limit=1000";
  HttpReply first = client_->Json("GET", query, root_token_);
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(J(first.body).Size("items"), 0u);
  const std::string cursor = J(first.body).S("next_cursor");
  ASSERT_NE(cursor, "<null>") << first.body;
  // Following the cursor ends, with nothing found.
  std::string next = cursor;
  int pages = 1;
  while (!next.empty() && pages < 100) {
    HttpReply page = client_->Json("GET", query + "&cursor=" + next, root_token_);
    ASSERT_EQ(page.status, 200) << page.body;
    EXPECT_EQ(J(page.body).Size("items"), 0u);
    next = J(page.body).S("next_cursor") == "<null>" ? "" : J(page.body).S("next_cursor");
    ++pages;
  }
  EXPECT_TRUE(next.empty());
  EXPECT_GE(pages, 2);
  // A query that matches pages through every event.
  size_t found = 0;
  std::string at;
  for (int i = 0; i < 100; ++i) {
    HttpReply page = client_->Json(
        "GET", base_ + "/events?actor=usr_a&limit=1000" + (at.empty() ? "" : "&cursor=" + at),
        root_token_);
    ASSERT_EQ(page.status, 200);
    found += J(page.body).Size("items");
    if (J(page.body).S("next_cursor") == "<null>") break;
    at = J(page.body).S("next_cursor");
  }
  EXPECT_EQ(found, 6000u);
}

TEST_F(AuditApiTest, APageStopsOnceItsBodyPassesFourMebibytes) {
  const std::string token = AuditClient("big", "edit");
  const std::string blob(60'000, 'x');
  for (int i = 0; i < 80; ++i) {
    ASSERT_EQ(Ingest(token, "{\"type\":\"report.generated\",\"data\":{\"blob\":\"" + blob + "\"}}")
                  .status,
              201);
  }
  HttpReply page = client_->Json("GET", base_ + "/events?limit=1000", root_token_);
  ASSERT_EQ(page.status, 200);
  EXPECT_LE(page.body.size(), size_t{4} << 20);
  const size_t items = J(page.body).Size("items");
  EXPECT_LT(items, 80u);
  EXPECT_GE(items, 60u);
  ASSERT_NE(J(page.body).S("next_cursor"), "<null>");
  HttpReply rest = client_->Json(
      "GET", base_ + "/events?limit=1000&cursor=" + J(page.body).S("next_cursor"), root_token_);
  ASSERT_EQ(rest.status, 200);
  // The rest, and the token client's role and client creation before them.
  EXPECT_GE(items + J(rest.body).Size("items"), 80u);
}

TEST_F(AuditApiTest, QueriesFilterOrderAndPage) {
  const std::string token = AuditClient("reporter", "edit");
  // IAM events from the set-up, then application events a minute apart (tokens live 15 min).
  for (int i = 0; i < 6; ++i) {
    clock_.Advance(std::chrono::minutes(1));
    const std::string type = i % 2 ? "workflow.step.failed" : "workflow.executed";
    ASSERT_EQ(
        Ingest(token, "{\"type\":\"" + type + "\",\"actor\":{\"type\":\"user\",\"id\":\"u" +
                          std::to_string(i % 3) + "\"},\"target\":{\"type\":\"wf\",\"id\":\"w" +
                          std::to_string(i) + "\"}}")
            .status,
        201);
  }
  EXPECT_EQ(Types("?action=workflow.*&order=asc"),
            (std::vector<std::string>{"workflow.executed", "workflow.step.failed",
                                      "workflow.executed", "workflow.step.failed",
                                      "workflow.executed", "workflow.step.failed"}));
  EXPECT_EQ(Types("?action=workflow.step.*").size(), 3u);
  EXPECT_EQ(Types("?actor=u0,u1&action=workflow.executed").size(), 2u);  // i = 0, 4
  EXPECT_EQ(Types("?actor=u0&actor=u2").size(), 4u);
  EXPECT_EQ(Types("?target=w1,w2,w9").size(), 2u);
  EXPECT_EQ(Types("?action=role.*,group.*").size(), Types("?action=role.created,group.created,"
                                                          "role.updated,group.member_added")
                                                        .size());
  // Events at +1 … +6 min: from +2 (inclusive) to +4 (exclusive) → +2, +3.
  const std::string from = core::FormatTime(core::FromUnixMillis(1795521600000 + 2 * 60000));
  const std::string to = core::FormatTime(core::FromUnixMillis(1795521600000 + 4 * 60000));
  EXPECT_EQ(Types("?action=workflow.*&from=" + from + "&to=" + to).size(), 2u);

  // desc by default; pages of 2 with the cursor, no duplicates nor gaps.
  std::vector<std::string> ids;
  std::string cursor;
  for (int page = 0; page < 10; ++page) {
    HttpReply r = client_->Json(
        "GET",
        base_ + "/events?action=workflow.*&limit=2" + (cursor.empty() ? "" : "&cursor=" + cursor),
        root_token_);
    ASSERT_EQ(r.status, 200) << r.body;
    J j(r.body);
    for (size_t i = 0; i < j.Size("items"); ++i)
      ids.push_back(j.S("items." + std::to_string(i) + ".target.id"));
    cursor = j.S("next_cursor");
    if (cursor == "<null>") break;
  }
  EXPECT_EQ(ids, (std::vector<std::string>{"w5", "w4", "w3", "w2", "w1", "w0"}));

  for (const char* bad : {"?order=up", "?from=yesterday", "?action=*", "?actor=a,,b", "?cursor=zzz",
                          "?limit=0", "?limit=1001"}) {
    HttpReply r = client_->Json("GET", base_ + "/events" + bad, root_token_);
    EXPECT_TRUE(r.status == 400 || r.status == 422) << bad << " → " << r.status << r.body;
  }
  // A cursor of one order is refused by the other.
  HttpReply asc = client_->Json("GET", base_ + "/events?order=asc&limit=1", root_token_);
  const std::string asc_cursor = J(asc.body).S("next_cursor");
  EXPECT_EQ(
      client_->Json("GET", base_ + "/events?order=desc&cursor=" + asc_cursor, root_token_).status,
      422);
}

TEST_F(AuditApiTest, EventsPastTheRetentionWindowAreInvisibleBeforeAnyPurge) {
  std::string token = AuditClient("reporter", "edit");
  HttpReply old = Ingest(token, "{\"type\":\"engine.restarted\"}");
  ASSERT_EQ(old.status, 201);
  const std::string old_id = J(old.body).S("id");
  clock_.Advance(std::chrono::hours(24 * 31));  // free plan: 30 days
  root_token_ = RootToken();                    // the old tokens expired
  token = AuditClient("reporter again", "edit");
  ASSERT_EQ(Ingest(token, "{\"type\":\"engine.stopped\"}").status, 201);
  EXPECT_EQ(Types("?action=engine.*"), std::vector<std::string>{"engine.stopped"});
  EXPECT_EQ(client_->Json("GET", base_ + "/events/" + old_id, root_token_).status, 404);
  // Pro keeps 90 days: the event was never purged, so it is visible again.
  ASSERT_EQ(client_->Json("PATCH", "/v1/tenants/acme", root_token_, "{\"plan\":\"pro\"}").status,
            200);
  EXPECT_EQ(Types("?action=engine.*"),
            (std::vector<std::string>{"engine.stopped", "engine.restarted"}));
  EXPECT_EQ(client_->Json("GET", base_ + "/events/" + old_id, root_token_).status, 200);
}

TEST_F(AuditApiTest, VerifyChecksTheWholeChainOrARange) {
  const std::string token = AuditClient("reporter", "edit");
  for (int i = 0; i < 20; ++i)
    ASSERT_EQ(Ingest(token, "{\"type\":\"engine.restarted\"}").status, 201);
  HttpReply all = client_->Json("GET", base_ + "/verify", root_token_);
  ASSERT_EQ(all.status, 200) << all.body;
  J j(all.body);
  EXPECT_TRUE(j.B("ok")) << all.body;
  EXPECT_EQ(j.S("first_tenant_seq"), "1");
  EXPECT_EQ(j.S("checked"), j.S("last_tenant_seq"));
  EXPECT_EQ(j.S("head_hash"), store_->Head(core::TenantId("acme"))->hash);

  HttpReply range =
      client_->Json("GET", base_ + "/verify?from_tenant_seq=5&to_tenant_seq=9", root_token_);
  J k(range.body);
  EXPECT_TRUE(k.B("ok")) << range.body;
  EXPECT_EQ(k.S("checked"), "5");
  EXPECT_EQ(k.S("first_tenant_seq"), "5");
  EXPECT_EQ(k.S("last_tenant_seq"), "9");
  EXPECT_EQ(client_->Json("GET", base_ + "/verify?from_tenant_seq=0", root_token_).status, 422);
  EXPECT_EQ(
      client_->Json("GET", base_ + "/verify?from_tenant_seq=9&to_tenant_seq=5", root_token_).status,
      422);
}

TEST_F(AuditApiTest, ReadingNeedsViewAndIngestingNeedsEdit) {
  const std::string viewer = AuditClient("viewer", "view");
  const std::string editor = AuditClient("editor", "edit");
  auto [nobody_id, nobody_secret] = Client("acme", "nobody", "");
  const std::string nobody = Token(nobody_id, nobody_secret);
  EXPECT_EQ(client_->Json("GET", base_ + "/events", viewer).status, 200);
  EXPECT_EQ(client_->Json("GET", base_ + "/verify", viewer).status, 200);
  EXPECT_EQ(Ingest(viewer, "{\"type\":\"a.b\"}").status, 403);
  EXPECT_EQ(Ingest(editor, "{\"type\":\"a.b\"}").status, 201);
  EXPECT_EQ(client_->Json("GET", base_ + "/events", nobody).status, 403);
  EXPECT_EQ(Ingest(nobody, "{\"type\":\"a.b\"}").status, 403);
  EXPECT_EQ(client_->Json("GET", base_ + "/events", "").status, 401);
}

TEST_F(AuditApiTest, IngestHonoursIdempotencyKeys) {
  const std::string token = AuditClient("reporter", "edit");
  const std::vector<std::pair<std::string, std::string>> key = {{"Idempotency-Key", "k-1"}};
  HttpReply first = client_->Json("POST", base_ + "/events", token, "{\"type\":\"a.b\"}", key);
  HttpReply again = client_->Json("POST", base_ + "/events", token, "{\"type\":\"a.b\"}", key);
  ASSERT_EQ(first.status, 201);
  EXPECT_EQ(again.status, 201);
  EXPECT_EQ(again.body, first.body);
  EXPECT_EQ(again.Header("idempotent-replayed"), "true");
  EXPECT_EQ(Types("?action=a.b").size(), 1u);
}

// The lines of a body (without the final empty one).
std::vector<std::string> Lines(const std::string& body) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < body.size()) {
    const size_t nl = std::min(body.find('\n', start), body.size());
    out.push_back(body.substr(start, nl - start));
    start = nl + 1;
  }
  return out;
}

TEST_F(AuditApiTest, JsonlExportIsTheStoredChainWithASignedCheckpointAndIsRecorded) {
  const std::string token = AuditClient("reporter", "edit");
  for (int i = 0; i < 30; ++i) {
    ASSERT_EQ(
        Ingest(token, "{\"type\":\"engine.restarted\",\"data\":{\"n\":" + std::to_string(i) + "}}")
            .status,
        201);
  }
  const std::string head_before = store_->Head(core::TenantId("acme"))->hash;
  HttpReply r = client_->Json("GET", base_ + "/export?format=jsonl", root_token_);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Header("transfer-encoding"), "chunked");
  EXPECT_EQ(r.Header("content-type"), "application/x-ndjson");
  std::vector<std::string> lines = Lines(r.body);
  ASSERT_GE(lines.size(), 32u);
  // Every event of the tenant from tenant_seq 1, as stored, then the signed receipt.
  core::ChainVerifier verifier;
  for (size_t i = 0; i + 1 < lines.size(); ++i) {
    ASSERT_TRUE(verifier.Feed(lines[i]).ok()) << lines[i];
  }
  EXPECT_EQ(verifier.summary().first_tenant_seq, 1u);
  EXPECT_EQ(verifier.summary().head_hash, head_before);
  ASSERT_TRUE(core::IsReceiptLine(lines.back())) << lines.back();
  core::Result<core::ExportReceipt> receipt = core::ParseReceiptLine(lines.back());
  ASSERT_TRUE(receipt.ok()) << receipt.error().ToString();
  EXPECT_EQ(receipt->tenant, "acme");
  EXPECT_EQ(receipt->last_tenant_seq, verifier.summary().last_tenant_seq);
  EXPECT_EQ(receipt->head_hash, head_before);
  EXPECT_EQ(receipt->count, lines.size() - 1);
  EXPECT_TRUE(receipt->complete);

  // The receipt verifies with the published key against the lines; the head is checkpointed.
  HttpReply keys = client_->Json("GET", "/.well-known/custos-audit-keys", "");
  ASSERT_EQ(keys.status, 200);
  core::Result<core::CheckpointKeys> jwks = core::CheckpointKeys::FromJson(keys.body);
  ASSERT_TRUE(jwks.ok()) << keys.body;
  const core::ChainSummary& sum = verifier.summary();
  const core::ExportLines seen{sum.tenant, sum.checked,         sum.first_tenant_seq,
                               sum.anchor, sum.last_tenant_seq, sum.head_hash};
  EXPECT_TRUE(core::CheckReceipt(*receipt, seen, *jwks).ok());
  core::ExportReceipt forged = *receipt;
  forged.head_tenant_seq += 1;
  EXPECT_FALSE(core::CheckReceipt(forged, seen, *jwks).ok());
  HttpReply listed = client_->Json("GET", base_ + "/checkpoints?limit=5", root_token_);
  ASSERT_EQ(listed.status, 200) << listed.body;
  EXPECT_EQ(J(listed.body).S("items.0.hash"), head_before);

  // The export was recorded, durable before the first byte, with the range it covered.
  HttpReply recorded = client_->Json("GET", base_ + "/events?action=audit.exported", root_token_);
  J rec(recorded.body);
  ASSERT_EQ(rec.Size("items"), 1u) << recorded.body;
  EXPECT_EQ(rec.S("items.0.actor.type"), "root");
  EXPECT_EQ(rec.S("items.0.data.format"), "jsonl");
  EXPECT_EQ(rec.S("items.0.data.to_tenant_seq"), std::to_string(receipt->head_tenant_seq));

  // One flipped byte anywhere is caught.
  std::string flipped = lines[10];
  flipped[flipped.find("engine") + 1] ^= 0x01;
  core::ChainVerifier again;
  core::Status st = core::OkStatus();
  for (size_t i = 0; i + 1 < lines.size() && st.ok(); ++i)
    st = again.Feed(i == 10 ? flipped : lines[i]);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("line 11"), std::string::npos) << st.error().message;
}

TEST_F(AuditApiTest, CsvAndOcsfExportsCarryTheSameEvents) {
  const std::string token = AuditClient("reporter", "edit");
  ASSERT_EQ(Ingest(token,
                   "{\"type\":\"workflow.executed\",\"target\":{\"type\":\"workflow\","
                   "\"id\":\"wf_1\",\"name\":\"Nightly, \\\"big\\\"\\nrun\"},"
                   "\"data\":{\"rows\":3}}")
                .status,
            201);
  HttpReply json = client_->Json("GET", base_ + "/events?order=asc&limit=1000", root_token_);
  J events(json.body);
  const size_t n = events.Size("items");
  ASSERT_GT(n, 1u);

  HttpReply csv = client_->Json("GET", base_ + "/export?format=csv", root_token_);
  ASSERT_EQ(csv.status, 200) << csv.body;
  EXPECT_EQ(csv.Header("content-type").substr(0, 8), "text/csv");
  core::Result<std::vector<api::internal::CsvRow>> rows = api::internal::ParseCsv(csv.body);
  ASSERT_TRUE(rows.ok()) << rows.error().message;
  ASSERT_EQ(rows->size(), n + 1);
  EXPECT_EQ((*rows)[0].fields,
            (std::vector<std::string>{"id", "seq", "tenant_seq", "time", "type", "actor_type",
                                      "actor_id", "actor_name", "target_type", "target_id",
                                      "target_name", "request_id", "data"}));
  for (size_t i = 0; i < n; ++i) {
    const std::vector<std::string>& f = (*rows)[i + 1].fields;
    const std::string e = "items." + std::to_string(i) + ".";
    ASSERT_EQ(f.size(), 13u);
    EXPECT_EQ(f[0], events.S(e + "id"));
    EXPECT_EQ(f[2], events.S(e + "tenant_seq"));
    EXPECT_EQ(f[3], events.S(e + "time"));
    EXPECT_EQ(f[4], events.S(e + "type"));
    EXPECT_EQ(f[6], events.S(e + "actor.id"));
    if (events.At(e + "target") != nullptr) {
      EXPECT_EQ(f[10], events.S(e + "target.name"));
    }
    EXPECT_TRUE(core::ParseJson(f[12]).ok()) << f[12];
  }
  EXPECT_EQ(rows->back().fields[10], "Nightly, \"big\"\nrun");
  EXPECT_EQ(rows->back().fields[12], "{\"rows\":3}");

  HttpReply ocsf = client_->Json("GET", base_ + "/export?format=ocsf", root_token_);
  ASSERT_EQ(ocsf.status, 200) << ocsf.body;
  std::vector<std::string> records = Lines(ocsf.body);
  ASSERT_EQ(records.size(), n + 1);  // the CSV export's audit.exported came in between
  for (const std::string& rec : records) {
    J o(rec);
    EXPECT_NE(o.S("class_uid"), "<missing>") << rec;
    EXPECT_NE(o.S("metadata.uid"), "<missing>") << rec;
  }
  EXPECT_EQ(J(records.back()).S("class_uid"), "6003");

  EXPECT_EQ(client_->Json("GET", base_ + "/export?format=xml", root_token_).status, 422);
  EXPECT_EQ(client_->Json("GET", base_ + "/export?limit=3", root_token_).status, 400);
}

TEST_F(AuditApiTest, ExportsFilterAndHideWhatIsPastTheWindow) {
  std::string token = AuditClient("reporter", "edit");
  ASSERT_EQ(Ingest(token, "{\"type\":\"engine.restarted\"}").status, 201);
  clock_.Advance(std::chrono::hours(24 * 31));
  root_token_ = RootToken();
  token = AuditClient("reporter again", "edit");
  for (int i = 0; i < 3; ++i) ASSERT_EQ(Ingest(token, "{\"type\":\"engine.stopped\"}").status, 201);
  HttpReply r = client_->Json("GET", base_ + "/export?action=engine.*", root_token_);
  ASSERT_EQ(r.status, 200);
  std::vector<std::string> lines = Lines(r.body);
  ASSERT_EQ(lines.size(), 4u);  // three events and the receipt
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(J(lines[i]).S("type"), "engine.stopped");
  core::Result<core::ExportReceipt> receipt = core::ParseReceiptLine(lines[3]);
  ASSERT_TRUE(receipt.ok()) << lines[3];
  EXPECT_EQ(receipt->last_hash, J(lines[2]).S("hash"));
  EXPECT_EQ(receipt->count, 3u);
  EXPECT_FALSE(receipt->complete);  // filtered, and past the window's events are not there
  EXPECT_EQ(receipt->filters.ToJson(), "{\"action\":[\"engine.*\"]}");

  // Exporting needs manage on iam.audit (../shared/spec/ACCESS.md); view reads and queries only.
  const std::string viewer = AuditClient("viewer", "view");
  const std::string manager = AuditClient("manager", "manage");
  auto [nobody_id, nobody_secret] = Client("acme", "nobody", "");
  EXPECT_EQ(client_->Json("GET", base_ + "/export", viewer).status, 403);
  EXPECT_EQ(client_->Json("GET", base_ + "/events", viewer).status, 200);
  EXPECT_EQ(client_->Json("GET", base_ + "/export", manager).status, 200);
  EXPECT_EQ(client_->Json("GET", base_ + "/export", Token(nobody_id, nobody_secret)).status, 403);
}

TEST_F(AuditApiTest, MovedHeadsAreSignedOnTheirInterval) {
  const std::string token = AuditClient("reporter", "edit");
  ASSERT_TRUE(checkpoints_->SignMovedHeads({core::TenantId("acme")}).ok());
  ASSERT_TRUE(checkpoints_->SignMovedHeads({core::TenantId("acme")}).ok());  // not moved
  ASSERT_EQ(Ingest(token, "{\"type\":\"a.b\"}").status, 201);
  ASSERT_TRUE(checkpoints_->SignMovedHeads({core::TenantId("acme")}).ok());
  HttpReply listed = client_->Json("GET", base_ + "/checkpoints", root_token_);
  J j(listed.body);
  ASSERT_EQ(j.Size("items"), 2u) << listed.body;
  const core::TenantHead head = *store_->Head(core::TenantId("acme"));
  EXPECT_EQ(j.S("items.0.tenant_seq"), std::to_string(head.tenant_seq.value()));
  EXPECT_EQ(j.S("items.0.hash"), head.hash);
  EXPECT_LT(std::stoull(j.S("items.1.tenant_seq")), head.tenant_seq.value());
}

TEST_F(AuditApiTest, PagesNeitherRepeatNorSkipWhileWritesContinue) {
  const std::string token = AuditClient("reporter", "edit");
  int written = 0;
  auto ingest = [&](int n) {
    for (int i = 0; i < n; ++i, ++written) {
      ASSERT_EQ(Ingest(token, "{\"type\":\"job.ran\",\"target\":{\"type\":\"job\",\"id\":\"j" +
                                  std::to_string(written) + "\"}}")
                    .status,
                201);
    }
  };
  // Pages through `query`, writing `between(page)` more events after each page.
  auto page_through = [&](const std::string& query, const std::function<int(int)>& between) {
    std::vector<std::string> seen;
    std::string cursor;
    for (int page = 0; page < 50; ++page) {
      HttpReply r = client_->Json(
          "GET", base_ + "/events" + query + (cursor.empty() ? "" : "&cursor=" + cursor),
          root_token_);
      EXPECT_EQ(r.status, 200) << r.body;
      J j(r.body);
      for (size_t i = 0; i < j.Size("items"); ++i) {
        seen.push_back(j.S("items." + std::to_string(i) + ".target.id"));
      }
      cursor = j.S("next_cursor");
      if (cursor == "<null>" || r.status != 200) break;
      ingest(between(page));
    }
    return seen;
  };
  ingest(30);
  // Descending: what comes in meanwhile lands above the first page; the pages go on below.
  std::vector<std::string> expected;
  for (int i = 29; i >= 0; --i) expected.push_back("j" + std::to_string(i));
  EXPECT_EQ(page_through("?action=job.ran&limit=7", [](int) { return 3; }), expected);

  // Ascending: the pages reach what was written while they were read, each once, in order.
  const std::vector<std::string> asc =
      page_through("?action=job.ran&order=asc&limit=9", [](int page) { return page < 5 ? 2 : 0; });
  expected.clear();
  for (int i = 0; i < written; ++i) expected.push_back("j" + std::to_string(i));
  EXPECT_EQ(asc, expected);
}

}  // namespace
}  // namespace custos::testing
