#include "core/audit_formats.h"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/event.h"
#include "core/json_canonical.h"
#include "core/json_value.h"

namespace custos::core {
namespace {

constexpr std::string_view kId = "evt_0192f1c2a3b47c3d8e9f0a1b2c3d4e5f";
constexpr int64_t kMillis = 1795521600123;  // 2026-11-24T12:00:00.123Z

EventDraft Draft(std::string type, std::optional<Target> target, std::string data) {
  EventDraft d;
  d.type = std::move(type);
  d.actor = Actor{"user", "usr_1", "Ada Lovelace", "203.0.113.7", "curl/8.0"};
  d.target = std::move(target);
  d.data = std::move(data);
  d.request_id = "req-1";
  return d;
}

// A stored line as the log writes it.
std::string Line(const EventDraft& d) {
  EXPECT_TRUE(ValidateDraft(d).ok()) << ValidateDraft(d).error().ToString();
  const EventPosition pos{kId, 1042, "acme", 77, FromUnixMillis(kMillis), kZeroHash};
  return AssembleLine(RenderDraft(d).value(), pos).line;
}

// One RFC 4180 record that must end in CRLF; a test failure on anything else.
std::vector<std::string> ParseCsvRecord(std::string_view s) {
  std::vector<std::string> fields;
  size_t i = 0;
  for (;;) {
    std::string field;
    if (i < s.size() && s[i] == '"') {
      for (++i;; ++i) {
        if (i >= s.size()) {
          ADD_FAILURE() << "unterminated quoted field in " << s;
          return {};
        }
        if (s[i] == '"') {
          if (i + 1 < s.size() && s[i + 1] == '"') {
            field += '"';
            ++i;
            continue;
          }
          ++i;
          break;
        }
        field += s[i];
      }
    } else {
      for (; i < s.size() && s[i] != ',' && s[i] != '\r'; ++i) {
        if (s[i] == '"' || s[i] == '\n') {
          ADD_FAILURE() << "quote or LF in an unquoted field at byte " << i << " of " << s;
          return {};
        }
        field += s[i];
      }
    }
    fields.push_back(std::move(field));
    if (i < s.size() && s[i] == ',') {
      ++i;
      continue;
    }
    if (s.substr(i) != "\r\n") ADD_FAILURE() << "record must end in one CRLF: " << s;
    return fields;
  }
}

// The member at a dotted path of a parsed record, or nullptr.
const JsonValue* At(const JsonValue& v, std::string_view path) {
  const JsonValue* cur = &v;
  while (cur != nullptr && !path.empty()) {
    const size_t dot = path.find('.');
    cur = cur->Find(path.substr(0, dot));
    path = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
  }
  return cur;
}

int64_t IntAt(const JsonValue& v, std::string_view path) {
  const JsonValue* m = At(v, path);
  if (m == nullptr || !m->AsInt()) {
    ADD_FAILURE() << path << " is not an integer in " << v.ToJson();
    return -1;
  }
  return *m->AsInt();
}

std::string TextAt(const JsonValue& v, std::string_view path) {
  const JsonValue* m = At(v, path);
  if (m == nullptr || !m->is_string()) {
    ADD_FAILURE() << path << " is not a string in " << v.ToJson();
    return {};
  }
  return m->text();
}

JsonValue Ocsf(const EventDraft& d) {
  Result<std::string> record = AuditOcsfRecord(Line(d), "1.2.3");
  EXPECT_TRUE(record.ok()) << record.error().ToString();
  if (!record.ok()) return {};
  EXPECT_TRUE(IsCanonicalJsonObject(*record)) << *record;
  EXPECT_EQ(record->find('\n'), std::string::npos);
  Result<JsonValue> v = ParseJson(*record);
  EXPECT_TRUE(v.ok()) << v.error().ToString();
  return v.ok() ? *v : JsonValue();
}

TEST(AuditCsvTest, HeaderIsTheApiContract) {
  EXPECT_EQ(AuditCsvHeader(),
            "id,seq,tenant_seq,time,type,actor_type,actor_id,actor_name,target_type,target_id,"
            "target_name,request_id,data\r\n");
}

TEST(AuditCsvTest, QuotedFieldsParseBackToTheSameValues) {
  EventDraft d = Draft("user.updated", Target{"user", "usr_2", "Hopper, \"Amazing\"\r\nGrace"},
                       "{\"department\":\"R&D, \\\"Labs\\\"\",\"note\":\"a\\nb\"}");
  d.actor.name = "Lovelace, Ada \"Countess\"\nof Lovelace";
  d.changes = "{\"department\":{\"from\":\"Sales\",\"to\":\"R&D, \\\"Labs\\\"\"}}";
  d.request_id = "req,1";
  Result<std::string> row = AuditCsvRow(Line(d));
  ASSERT_TRUE(row.ok()) << row.error().ToString();
  const std::vector<std::string> fields = ParseCsvRecord(*row);
  const std::vector<std::string> expected = {std::string(kId),
                                             "1042",
                                             "77",
                                             "2026-11-24T12:00:00.123Z",
                                             "user.updated",
                                             "user",
                                             "usr_1",
                                             d.actor.name,
                                             "user",
                                             "usr_2",
                                             d.target->name,
                                             "req,1",
                                             d.data};
  EXPECT_EQ(fields, expected);
}

TEST(AuditCsvTest, PlainFieldsStayUnquotedAndAbsentMembersAreEmpty) {
  EventDraft d = Draft("workflow.executed", std::nullopt, "{}");
  d.actor = Actor{"system", "scheduler", "", "", ""};
  d.request_id.clear();
  Result<std::string> row = AuditCsvRow(Line(d));
  ASSERT_TRUE(row.ok()) << row.error().ToString();
  EXPECT_EQ(*row, std::string(kId) +
                      ",1042,77,2026-11-24T12:00:00.123Z,workflow.executed,system,scheduler,"
                      ",,,,,{}\r\n");
}

TEST(AuditCsvTest, DataIsTheStoredBytes) {
  // Numbers keep their text, escapes stay as stored, and strings holding brackets or the
  // member names must not end the value early.
  Result<std::string> data = CanonicalizeJson(
      R"({"amount": 1.50, "big": 12345678901234567890, "exp": 1E+3, "text": "caf\u00e9 \u0001",
          "tricky": "}],\"changes\":{", "nested": [{"a": [true, null, {"b": "\\"}]}]})");
  ASSERT_TRUE(data.ok()) << data.error().ToString();
  EventDraft d = Draft("workflow.executed", Target{"workflow", "wf_1", ""}, *data);
  d.changes = "{\"state\":{\"from\":\"idle\",\"to\":\"running\"}}";
  Result<std::string> row = AuditCsvRow(Line(d));
  ASSERT_TRUE(row.ok()) << row.error().ToString();
  const std::vector<std::string> fields = ParseCsvRecord(*row);
  ASSERT_EQ(fields.size(), 13u);
  EXPECT_EQ(fields[12], *data);
  EXPECT_NE(fields[12].find("1.50"), std::string::npos);
}

TEST(AuditCsvTest, FormulasAStrangerChoseAreNeutralized) {
  // A failed login records the request id and the user agent a stranger sent.
  EventDraft d = Draft("auth.login_failed", std::nullopt, "{}");
  d.actor = Actor{"system", "anonymous", "+cmd|' /C calc'!A0", "203.0.113.7", "@evil"};
  d.request_id = "=HYPERLINK(\"http://x\",\"y\")";
  Result<std::string> row = AuditCsvRow(Line(d));
  ASSERT_TRUE(row.ok()) << row.error().ToString();
  const std::vector<std::string> fields = ParseCsvRecord(*row);
  ASSERT_EQ(fields.size(), 13u);
  EXPECT_EQ(fields[7], "'+cmd|' /C calc'!A0");
  EXPECT_EQ(fields[11], "'=HYPERLINK(\"http://x\",\"y\")");
}

TEST(AuditCsvTest, RefusesWhatIsNotAStoredLine) {
  const std::string line = Line(Draft("user.created", Target{"user", "usr_2", ""}, "{}"));
  for (const std::string& bad :
       {std::string(), std::string("not json"), std::string("{}"), line.substr(0, line.size() - 1),
        line.substr(0, line.find("\"data\"")) + "\"data\":[1]" +
            line.substr(line.find(",\"request_id\""))}) {
    Result<std::string> row = AuditCsvRow(bad);
    ASSERT_FALSE(row.ok()) << bad;
    EXPECT_EQ(row.error().code, Errc::kCorruption) << bad;
    Result<std::string> record = AuditOcsfRecord(bad, "1.2.3");
    ASSERT_FALSE(record.ok()) << bad;
    EXPECT_EQ(record.error().code, Errc::kCorruption) << bad;
  }
}

TEST(AuditOcsfTest, CarriesTheCommonAttributes) {
  EventDraft d = Draft("user.created", Target{"user", "usr_2", "Grace Hopper"},
                       "{\"user_id\":\"usr_2\",\"tags\":{}}");
  const JsonValue r = Ocsf(d);
  EXPECT_EQ(IntAt(r, "class_uid"), 3001);
  EXPECT_EQ(IntAt(r, "category_uid"), 3);
  EXPECT_EQ(IntAt(r, "activity_id"), 1);
  EXPECT_EQ(IntAt(r, "type_uid"), 300101);
  EXPECT_EQ(TextAt(r, "type_name"), "Account Change: Create");
  EXPECT_EQ(IntAt(r, "severity_id"), 1);
  EXPECT_EQ(IntAt(r, "status_id"), 1);
  EXPECT_EQ(IntAt(r, "time"), kMillis);
  EXPECT_EQ(TextAt(r, "message"), "user.created");
  EXPECT_EQ(TextAt(r, "metadata.uid"), kId);
  EXPECT_EQ(TextAt(r, "metadata.version"), "1.3.0");
  EXPECT_EQ(TextAt(r, "metadata.product.name"), "Custos");
  EXPECT_EQ(TextAt(r, "metadata.product.vendor_name"), "Custos");
  EXPECT_EQ(TextAt(r, "metadata.product.version"), "1.2.3");
  EXPECT_EQ(TextAt(r, "metadata.original_time"), "2026-11-24T12:00:00.123Z");
  EXPECT_EQ(TextAt(r, "metadata.tenant_uid"), "acme");
  EXPECT_EQ(IntAt(r, "metadata.sequence"), 77);
  EXPECT_EQ(TextAt(r, "metadata.correlation_uid"), "req-1");
  EXPECT_EQ(TextAt(r, "actor.user.uid"), "usr_1");
  EXPECT_EQ(TextAt(r, "actor.user.name"), "Ada Lovelace");
  EXPECT_EQ(TextAt(r, "actor.user.type"), "user");
  EXPECT_EQ(IntAt(r, "actor.user.type_id"), 1);
  EXPECT_EQ(TextAt(r, "src_endpoint.ip"), "203.0.113.7");
  EXPECT_EQ(TextAt(r, "http_request.user_agent"), "curl/8.0");
  EXPECT_EQ(TextAt(r, "user.uid"), "usr_2");
  EXPECT_EQ(TextAt(r, "user.name"), "Grace Hopper");
  ASSERT_NE(At(r, "unmapped.data"), nullptr);
  EXPECT_EQ(At(r, "unmapped.data")->ToJson(), d.data);
  EXPECT_EQ(At(r, "unmapped.changes"), nullptr);
}

TEST(AuditOcsfTest, AccountChanges) {
  const JsonValue r = Ocsf(Draft("user.deleted", Target{"user", "usr_2", ""},
                                 "{\"user_id\":\"usr_2\",\"reason\":\"left\"}"));
  EXPECT_EQ(IntAt(r, "class_uid"), 3001);
  EXPECT_EQ(IntAt(r, "activity_id"), 6);
  EXPECT_EQ(IntAt(r, "type_uid"), 300106);

  const JsonValue locked = Ocsf(Draft("user.locked", Target{"user", "usr_2", ""},
                                      "{\"user_id\":\"usr_2\",\"reason\":\"5 failures\"}"));
  EXPECT_EQ(IntAt(locked, "activity_id"), 9);
  EXPECT_EQ(IntAt(locked, "severity_id"), 3);

  // OCSF 1.3 has no Unlock (1.4 added it as 12): Other, named.
  const JsonValue unlocked = Ocsf(Draft("user.unlocked", Target{"user", "usr_2", ""},
                                        "{\"user_id\":\"usr_2\",\"reason\":\"\"}"));
  EXPECT_EQ(IntAt(unlocked, "activity_id"), 99);
  EXPECT_EQ(TextAt(unlocked, "activity_name"), "Unlock");
  EXPECT_EQ(IntAt(unlocked, "type_uid"), 300199);
}

TEST(AuditOcsfTest, FailedLoginIsAFailedLogon) {
  const JsonValue r = Ocsf(Draft("auth.login_failed", Target{"user", "usr_2", "Grace"},
                                 "{\"user_id\":\"usr_2\",\"email\":\"grace@example.com\","
                                 "\"reason\":\"bad password\"}"));
  EXPECT_EQ(IntAt(r, "class_uid"), 3002);
  EXPECT_EQ(IntAt(r, "activity_id"), 1);
  EXPECT_EQ(IntAt(r, "type_uid"), 300201);
  EXPECT_EQ(IntAt(r, "status_id"), 2);
  EXPECT_EQ(TextAt(r, "status"), "Failure");
  EXPECT_EQ(TextAt(r, "status_detail"), "bad password");
  EXPECT_EQ(IntAt(r, "severity_id"), 2);
  EXPECT_EQ(TextAt(r, "user.uid"), "usr_2");
  EXPECT_EQ(TextAt(r, "user.email_addr"), "grace@example.com");
  EXPECT_EQ(TextAt(r, "service.name"), "custos");

  // An unknown email has no target: the email is the user.
  const JsonValue unknown =
      Ocsf(Draft("auth.login_failed", std::nullopt,
                 "{\"email\":\"nobody@example.com\",\"reason\":\"unknown email\"}"));
  EXPECT_EQ(IntAt(unknown, "status_id"), 2);
  EXPECT_EQ(TextAt(unknown, "user.email_addr"), "nobody@example.com");
  EXPECT_EQ(At(unknown, "user.uid"), nullptr);

  const JsonValue ok = Ocsf(Draft("auth.login_succeeded", Target{"user", "usr_2", ""},
                                  "{\"user_id\":\"usr_2\",\"email\":\"g@example.com\","
                                  "\"reason\":\"\"}"));
  EXPECT_EQ(IntAt(ok, "status_id"), 1);
  EXPECT_EQ(IntAt(ok, "severity_id"), 1);
  EXPECT_EQ(At(ok, "status_detail"), nullptr);
}

TEST(AuditOcsfTest, BindingsAssignAndRevokePrivileges) {
  const std::string data =
      "{\"binding_id\":\"bnd_1\",\"subject\":{\"type\":\"user\",\"id\":\"usr_2\"},"
      "\"role_id\":\"rol_admin\",\"scope\":\"tenant\",\"system\":false}";
  const JsonValue r = Ocsf(Draft("binding.created", Target{"binding", "bnd_1", "Admin"}, data));
  EXPECT_EQ(IntAt(r, "class_uid"), 3005);
  EXPECT_EQ(IntAt(r, "activity_id"), 1);
  EXPECT_EQ(IntAt(r, "type_uid"), 300501);
  EXPECT_EQ(TextAt(r, "user.uid"), "usr_2");
  EXPECT_EQ(TextAt(r, "user.type"), "user");
  ASSERT_NE(At(r, "privileges"), nullptr);
  EXPECT_EQ(At(r, "privileges")->ToJson(), "[\"rol_admin\"]");

  const JsonValue deleted = Ocsf(Draft("binding.deleted", Target{"binding", "bnd_1", ""}, data));
  EXPECT_EQ(IntAt(deleted, "activity_id"), 2);
}

TEST(AuditOcsfTest, GroupMembership) {
  EventDraft d = Draft("group.member_added", Target{"group", "grp_1", "Engineers"},
                       "{\"group_id\":\"grp_1\",\"member\":{\"type\":\"user\",\"id\":\"usr_2\"}}");
  const JsonValue r = Ocsf(d);
  EXPECT_EQ(IntAt(r, "class_uid"), 3006);
  EXPECT_EQ(IntAt(r, "activity_id"), 3);
  EXPECT_EQ(IntAt(r, "type_uid"), 300603);
  EXPECT_EQ(TextAt(r, "group.uid"), "grp_1");
  EXPECT_EQ(TextAt(r, "group.name"), "Engineers");
  EXPECT_EQ(TextAt(r, "user.uid"), "usr_2");

  d.type = "group.member_removed";
  EXPECT_EQ(IntAt(Ocsf(d), "activity_id"), 4);
}

TEST(AuditOcsfTest, EverythingElseIsApiActivity) {
  EventDraft d =
      Draft("workflow.executed", Target{"workflow", "wf_1", "Nightly"}, "{\"duration_ms\":1200}");
  d.changes = "{\"state\":{\"from\":\"idle\",\"to\":\"done\"}}";
  const JsonValue r = Ocsf(d);
  EXPECT_EQ(IntAt(r, "class_uid"), 6003);
  EXPECT_EQ(IntAt(r, "category_uid"), 6);
  EXPECT_EQ(IntAt(r, "activity_id"), 3);  // executing is neither create, read nor delete
  EXPECT_EQ(IntAt(r, "type_uid"), 600303);
  EXPECT_EQ(TextAt(r, "api.operation"), "workflow.executed");
  EXPECT_EQ(TextAt(r, "api.service.name"), "custos");
  EXPECT_EQ(TextAt(r, "api.request.uid"), "req-1");
  ASSERT_NE(At(r, "resources"), nullptr);
  EXPECT_EQ(At(r, "resources")->ToJson(),
            "[{\"uid\":\"wf_1\",\"type\":\"workflow\",\"name\":\"Nightly\"}]");
  EXPECT_EQ(At(r, "unmapped.data")->ToJson(), d.data);
  EXPECT_EQ(At(r, "unmapped.changes")->ToJson(), d.changes);

  // System work: no address, yet src_endpoint is there (API Activity requires it).
  d.actor = Actor{"system", "retention", "", "", ""};
  const JsonValue s = Ocsf(d);
  ASSERT_NE(At(s, "src_endpoint"), nullptr);
  EXPECT_EQ(At(s, "src_endpoint")->ToJson(), "{}");
  EXPECT_EQ(At(s, "http_request"), nullptr);
  EXPECT_EQ(IntAt(s, "actor.user.type_id"), 3);
}

TEST(AuditOcsfTest, ApplicationEventsMapByTheirVerb) {
  EXPECT_EQ(OcsfActivityOf("workflow.created").activity_id, 1);
  EXPECT_EQ(OcsfActivityOf("connector.secret_created").activity_id, 1);
  EXPECT_EQ(OcsfActivityOf("team.member_added").activity_id, 1);
  EXPECT_EQ(OcsfActivityOf("report.viewed").activity_id, 2);
  EXPECT_EQ(OcsfActivityOf("report.exported").activity_id, 2);
  EXPECT_EQ(OcsfActivityOf("document.read").activity_id, 2);
  EXPECT_EQ(OcsfActivityOf("connector.deleted").activity_id, 4);
  EXPECT_EQ(OcsfActivityOf("engine.plugin.removed").activity_id, 4);
  EXPECT_EQ(OcsfActivityOf("api_key.revoked").activity_id, 4);
  EXPECT_EQ(OcsfActivityOf("engine.restarted").activity_id, 3);
  EXPECT_EQ(OcsfActivityOf("settings.changed").activity_id, 3);
  EXPECT_EQ(OcsfActivityOf("workflow.step.failed").class_uid, 6003);
}

// Every catalog type of ../shared/spec/EVENTS.md lands in the class the contract names, with an
// activity the OCSF 1.3 class defines.
TEST(AuditOcsfTest, EveryCatalogTypeMapsToAnActivityOfItsClass) {
  // ../shared/spec/EVENTS.md "Catalog".
  constexpr std::string_view kCatalog =
      "tenant.created tenant.updated tenant.plan_changed tenant.legal_hold_changed "
      "user.created user.updated user.activated user.deactivated user.suspended user.locked "
      "user.unlocked user.deleted user.password_reset user.password_changed user.tag_set "
      "user.tag_removed user.exported "
      "role.created role.updated role.activated role.deactivated role.deleted "
      "group.created group.updated group.deleted group.member_added group.member_removed "
      "binding.created binding.deleted "
      "api_client.created api_client.updated api_client.activated api_client.deactivated "
      "api_client.deleted api_client.secret_created api_client.secret_revoked "
      "invitation.created invitation.resent invitation.revoked invitation.accepted "
      "invitation.expired "
      "environment.created environment.updated environment.deleted "
      "project.created project.updated project.deleted "
      "folder.created folder.updated folder.deleted "
      "resource.created resource.updated resource.deleted "
      "property.defined property.removed "
      "auth.login_succeeded auth.login_failed auth.logout auth.token_issued auth.token_revoked "
      "audit.exported audit.retention_purged";
  const std::map<int, std::set<int>> activities = {{3001, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 99}},
                                                   {3002, {1, 2, 3, 4, 5, 6, 99}},
                                                   {3005, {1, 2, 99}},
                                                   {3006, {1, 2, 3, 4, 5, 6, 99}},
                                                   {6003, {1, 2, 3, 4}}};
  size_t count = 0;
  for (size_t at = 0; at < kCatalog.size();) {
    size_t end = kCatalog.find(' ', at);
    if (end == std::string_view::npos) end = kCatalog.size();
    const std::string_view type = kCatalog.substr(at, end - at);
    at = end + 1;
    ++count;
    const std::string_view ns = type.substr(0, type.find('.'));
    int expected_class = 6003;
    if (ns == "user" && type != "user.exported") expected_class = 3001;
    if (ns == "auth") expected_class = 3002;
    if (ns == "role" || ns == "binding") expected_class = 3005;
    if (ns == "group") expected_class = 3006;
    const OcsfActivity a = OcsfActivityOf(type);
    EXPECT_EQ(a.class_uid, expected_class) << type;
    EXPECT_TRUE(activities.at(expected_class).contains(a.activity_id))
        << type << " → " << a.activity_id;
    EXPECT_FALSE(a.activity_name.empty()) << type;
  }
  EXPECT_EQ(count, 62u);
  EXPECT_EQ(OcsfActivityOf("invitation.expired").activity_id, 3);  // not a deletion
  EXPECT_EQ(OcsfActivityOf("audit.retention_purged").activity_id, 4);
  EXPECT_EQ(OcsfActivityOf("auth.logout").activity_id, 2);
  EXPECT_EQ(OcsfActivityOf("group.created").activity_id, 6);
  EXPECT_EQ(OcsfActivityOf("group.deleted").activity_id, 5);
}

TEST(AuditOcsfTest, LeavesOutAnEmptyProductVersion) {
  Result<std::string> record =
      AuditOcsfRecord(Line(Draft("tenant.updated", Target{"tenant", "acme", "Acme"}, "{}")), "");
  ASSERT_TRUE(record.ok()) << record.error().ToString();
  Result<JsonValue> v = ParseJson(*record);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(At(*v, "metadata.product.version"), nullptr);
  EXPECT_EQ(TextAt(*v, "metadata.product.name"), "Custos");
}

}  // namespace
}  // namespace custos::core
