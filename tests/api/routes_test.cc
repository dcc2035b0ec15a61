// The routes' contract over real HTTP: bad input, lists, versions, idempotency, CSV,
// invitations, the tree and access checks, and hostile HTTP.
#include <gtest/gtest.h>

#include <set>

#include "api/internal/call.h"
#include "api/internal/csv.h"
#include "tests/api/api_fixture.h"

namespace custos::testing {
namespace {

std::string UserBody(const std::string& first, const std::string& last,
                     const std::string& department = "") {
  std::string email = first + "." + last + "@example.com";
  for (char& c : email) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return "{\"email\":\"" + email + "\",\"first_name\":\"" + first + "\",\"last_name\":\"" + last +
         "\",\"department\":\"" + department + "\"}";
}

TEST_F(ApiTest, BadInputGetsA4xxAndTheServerKeepsServing) {
  CreateTenant("acme");
  const std::string token = RootToken();
  const std::string users = "/v1/tenants/acme/users";
  HttpReply malformed = client_->Json("POST", users, token, "{\"email\": \"a@b.co\",}");
  EXPECT_EQ(malformed.status, 400);
  EXPECT_NE(J(malformed.body).S("detail").find("at byte 19"), std::string::npos) << malformed.body;
  EXPECT_EQ(malformed.Header("content-type"), "application/problem+json");
  HttpReply wrong_type = client_->Json(
      "POST", users, token, "{\"email\":\"a@b.co\",\"first_name\":1,\"last_name\":\"x\"}");
  EXPECT_EQ(wrong_type.status, 422);
  EXPECT_EQ(J(wrong_type.body).S("errors.0.field"), "first_name");
  HttpReply unknown =
      client_->Json("POST", users, token,
                    "{\"email\":\"a@b.co\",\"first_name\":\"a\",\"last_name\":\"x\","
                    "\"is_admin\":true}");
  EXPECT_EQ(unknown.status, 422);
  EXPECT_EQ(J(unknown.body).S("errors.0.field"), "is_admin");
  HttpReply missing = client_->Json("POST", users, token, "{\"email\":\"a@b.co\"}");
  EXPECT_EQ(missing.status, 422);
  EXPECT_EQ(J(missing.body).S("errors.0.field"), "first_name");
  const std::string deep = std::string(10000, '[') + std::string(10000, ']');
  EXPECT_EQ(client_->Json("POST", users, token, deep).status, 400);
  EXPECT_EQ(client_->Json("POST", users, token, "{\"email\":\"\xff\xfe\"}").status, 400);
  EXPECT_EQ(client_->Json("POST", users, token, std::string(70 * 1024, ' ')).status, 413);
  EXPECT_EQ(client_->Json("GET", users + "?limit=0", token).status, 422);
  EXPECT_EQ(client_->Json("GET", users + "?sort=shoe_size", token).status, 422);
  EXPECT_EQ(client_->Json("GET", users + "?cursor=%%%", token).status, 400);
  EXPECT_EQ(client_->Send("GET", "/healthz").status, 200);
}

// ../shared/spec/ACCESS.md: each grant of a check names its binding and `via_group` (the group it
// came through, or null) — a direct grant says null rather than leaving the field out, in check
// answers and in effective grants alike.
TEST_F(ApiTest, ADirectGrantSaysViaGroupNull) {
  CreateTenant("acme");
  const std::string token = RootToken();
  const std::string id = J(NewUser("acme", "dg@example.com").body).S("id");
  HttpReply bind = client_->Json("POST", "/v1/tenants/acme/bindings", token,
                                 "{\"subject\":{\"type\":\"user\",\"id\":\"" + id +
                                     "\"},\"role_id\":\"" + RoleId("acme", "Designer") + "\"}");
  ASSERT_EQ(bind.status, 201) << bind.body;
  HttpReply grants = client_->Json("GET", "/v1/tenants/acme/users/" + id + "/access", token);
  ASSERT_EQ(grants.status, 200) << grants.body;
  ASSERT_GE(J(grants.body).Size("grants"), 1u) << grants.body;
  EXPECT_EQ(J(grants.body).S("grants.0.via_group"), "<null>") << grants.body;
  HttpReply check = client_->Json("POST", "/v1/tenants/acme/access/check", token,
                                  "{\"subject\":{\"type\":\"user\",\"id\":\"" + id +
                                      "\"},\"action\":\"read\",\"resource_id\":\"root\"}");
  ASSERT_EQ(check.status, 200) << check.body;
  ASSERT_TRUE(J(check.body).B("allowed")) << check.body;
  EXPECT_EQ(J(check.body).S("grants.0.via_group"), "<null>") << check.body;
  // Names beside the ids, for reviews: the role's in grants, holders and who.
  EXPECT_EQ(J(check.body).S("grants.0.role_name"), "Designer");
  EXPECT_EQ(J(check.body).S("grants.0.via_group_name"), "<null>");
  EXPECT_EQ(J(grants.body).S("grants.0.role_name"), "Designer");
  HttpReply role =
      client_->Json("GET", "/v1/tenants/acme/roles/" + RoleId("acme", "Designer"), token);
  EXPECT_EQ(J(role.body).S("holders.users.0.id"), id) << role.body;
  EXPECT_EQ(J(role.body).S("holders.users.0.name"), "d g");
  EXPECT_EQ(J(role.body).S("holders.users.0.email"), "dg@example.com");
  HttpReply who = client_->Json("GET", "/v1/tenants/acme/access/who?resource_id=root", token);
  bool named = false;
  for (size_t i = 0; i < J(who.body).Size("items"); ++i) {
    const std::string at = "items." + std::to_string(i) + ".subject.";
    named = named || (J(who.body).S(at + "id") == id && J(who.body).S(at + "name") == "d g");
  }
  EXPECT_TRUE(named) << who.body;
}

// ../shared/spec/API.md Conventions: "An unknown query parameter → 400 naming it (`?stauts=` never
// silently lists everyone); … 405 carries `Allow`; a body that is not `application/json` on a JSON
// route → 415."
TEST_F(ApiTest, UnknownQueryParametersAndForeignBodiesAreRefused) {
  CreateTenant("acme");
  const std::string token = RootToken();
  HttpReply typo = client_->Json("GET", "/v1/tenants/acme/users?stauts=active", token);
  EXPECT_EQ(typo.status, 400) << typo.body;
  EXPECT_NE(typo.body.find("'stauts'"), std::string::npos) << typo.body;
  EXPECT_EQ(client_->Json("GET", "/v1/tenants/acme/users?status=active&limit=5", token).status,
            200);
  // A route that takes no parameters takes none.
  EXPECT_EQ(client_->Json("GET", "/v1/tenants/acme/roles/x?limit=1", token).status, 400);
  // Filters of lists elsewhere are not filters here.
  EXPECT_EQ(client_->Json("GET", "/v1/tenants/acme/audit/events?status=active", token).status, 400);
  // A form body on a JSON route, and JSON on the CSV import: 415, nothing created.
  HttpReply form = client_->Send(
      "POST", "/v1/tenants/acme/users",
      {{"Authorization", "Bearer " + token}, {"Content-Type", "application/x-www-form-urlencoded"}},
      "email=a%40example.com&first_name=A&last_name=B");
  EXPECT_EQ(form.status, 415) << form.body;
  HttpReply untyped =
      client_->Send("POST", "/v1/tenants/acme/users",
                    {{"Authorization", "Bearer " + token}, {"Content-Type", "text/plain"}},
                    "{\"email\":\"a@example.com\",\"first_name\":\"A\","
                    "\"last_name\":\"B\"}");
  EXPECT_EQ(untyped.status, 415) << untyped.body;
  HttpReply json_import = client_->Json("POST", "/v1/tenants/acme/users:import", token, "{}");
  EXPECT_EQ(json_import.status, 415) << json_import.body;
  EXPECT_EQ(J(client_->Json("GET", "/v1/tenants/acme/users", token).body).Size("items"), 0u);
  // A charset parameter is fine; a body-less POST needs no type.
  HttpReply charset = client_->Send(
      "POST", "/v1/tenants/acme/users",
      {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json; charset=utf-8"}},
      "{\"email\":\"a@example.com\",\"first_name\":\"A\","
      "\"last_name\":\"B\"}");
  EXPECT_EQ(charset.status, 201) << charset.body;
  HttpReply bare =
      client_->Send("POST", "/v1/tenants/acme/users/" + J(charset.body).S("id") + "/suspend",
                    {{"Authorization", "Bearer " + token}}, "");
  EXPECT_EQ(bare.status, 200) << bare.body;
}

// ../shared/spec/API.md Conventions: "a 422 lists every failing field in `errors`, not only the
// first".
TEST_F(ApiTest, A422NamesEveryFailingField) {
  CreateTenant("acme");
  const std::string token = RootToken();
  // Validation: a bad email, empty names, an empty tag value.
  HttpReply bad = client_->Json("POST", "/v1/tenants/acme/users", token,
                                "{\"email\":\"bad\",\"first_name\":\"\",\"last_name\":\"\","
                                "\"tags\":{\"Region\":\"\"}}");
  ASSERT_EQ(bad.status, 422) << bad.body;
  std::set<std::string> fields;
  for (size_t i = 0; i < J(bad.body).Size("errors"); ++i) {
    fields.insert(J(bad.body).S("errors." + std::to_string(i) + ".field"));
  }
  EXPECT_EQ(fields, (std::set<std::string>{"email", "first_name", "last_name", "tags.Region"}))
      << bad.body;
  // Reading: two unknown members and a missing one, a mistyped one.
  HttpReply shape = client_->Json("POST", "/v1/tenants/acme/users", token,
                                  "{\"emial\":\"a@example.com\",\"frist_name\":\"A\","
                                  "\"last_name\":7}");
  ASSERT_EQ(shape.status, 422) << shape.body;
  fields.clear();
  for (size_t i = 0; i < J(shape.body).Size("errors"); ++i) {
    fields.insert(J(shape.body).S("errors." + std::to_string(i) + ".field"));
  }
  EXPECT_EQ(fields,
            (std::set<std::string>{"emial", "frist_name", "email", "first_name", "last_name"}))
      << shape.body;
  EXPECT_EQ(J(client_->Json("GET", "/v1/tenants/acme/users", token).body).Size("items"), 0u);
}

// The same sentence on every other command that validates more than one field: roles,
// groups, members, bindings, API clients, nodes and tenants. Nothing is made by any of them.
TEST_F(ApiTest, A422NamesEveryFailingFieldOnEveryCommand) {
  CreateTenant("acme");
  const std::string token = RootToken();
  auto fields_of = [](const HttpReply& r) {
    std::set<std::string> out;
    for (size_t i = 0; i < J(r.body).Size("errors"); ++i) {
      out.insert(J(r.body).S("errors." + std::to_string(i) + ".field"));
    }
    return out;
  };
  const std::string long_text(1001, 'x');
  struct Case {
    std::string method, path, body;
    std::set<std::string> fields;
  };
  const std::string t = "/v1/tenants/acme";
  for (const Case& c : std::vector<Case>{
           {"POST",
            t + "/roles",
            "{\"name\":\"\",\"description\":\"" + long_text +
                "\",\"permissions\":[{\"resource_type\":\"iam.nope\",\"level\":\"view\"},"
                "{\"resource_type\":\"Bad Type\",\"resource\":\"\",\"level\":\"edit\"}],"
                "\"includes\":[\"rol_missing\"]}",
            {"name", "description", "permissions[0].resource_type", "permissions[1].resource_type",
             "permissions[1].resource", "includes[0]"}},
           {"POST",
            t + "/groups",
            "{\"name\":\"\",\"description\":\"" + long_text + "\"}",
            {"name", "description"}},
           {"POST",
            t + "/api-clients",
            "{\"name\":\"\",\"label\":\"" + std::string(201, 'l') +
                "\",\"owner_id\":\"usr_nobody\"}",
            {"name", "label", "owner_id"}},
           {"POST",
            t + "/bindings",
            "{\"subject\":{\"type\":\"user\",\"id\":\"usr_nobody\"},"
            "\"role_id\":\"rol_nope\",\"scope\":\"prj_nowhere\"}",
            {"subject.id", "role_id", "scope"}},
           {"POST",
            t + "/resources",
            "{\"name\":\"\",\"type\":\"Not A Type\",\"parent_id\":\"prj_nowhere\"}",
            {"name", "type", "parent_id"}},
           {"POST",
            "/v1/tenants",
            "{\"id\":\"newco\",\"name\":\"\",\"environments\":[\"Prod\",\"prod\","
            "\"Tenant\"]}",
            {"name", "environments[1]", "environments[2]"}},
       }) {
    HttpReply r = client_->Json(c.method, c.path, token, c.body);
    EXPECT_EQ(r.status, 422) << c.path << ": " << r.body;
    EXPECT_EQ(fields_of(r), c.fields) << c.path << ": " << r.body;
  }
  // Members: every unknown one is named.
  HttpReply group = client_->Json("POST", t + "/groups", token, "{\"name\":\"Ops\"}");
  ASSERT_EQ(group.status, 201) << group.body;
  HttpReply members =
      client_->Json("POST", t + "/groups/" + J(group.body).S("id") + "/members", token,
                    "{\"members\":[{\"type\":\"user\",\"id\":\"usr_a\"},"
                    "{\"type\":\"api_client\",\"id\":\"cli_b\"}]}");
  EXPECT_EQ(members.status, 422) << members.body;
  EXPECT_EQ(fields_of(members), (std::set<std::string>{"members[0].id", "members[1].id"}));
  // Nothing was made by any of them.
  EXPECT_EQ(J(client_->Json("GET", t + "/roles?q=x", token).body).Size("items"), 0u);
  EXPECT_EQ(J(client_->Json("GET", t + "/api-clients", token).body).Size("items"), 0u);
  EXPECT_EQ(J(client_->Json("GET", t + "/resources", token).body).Size("items"), 0u);
  EXPECT_EQ(client_->Json("GET", "/v1/tenants/newco", token).status, 404);
}

// ../shared/spec/ACCESS.md "Levels": the ladder's table names the vocabularies each level stands
// for; a console that says Write, Owner or Administrate gets edit, manage and admin, stored and
// answered as the level.
TEST_F(ApiTest, TheSeedsLevelWordsAreTheirLevels) {
  CreateTenant("acme");
  const std::string token = RootToken();
  HttpReply role = client_->Json("POST", "/v1/tenants/acme/roles", token,
                                 "{\"name\":\"Words\",\"permissions\":["
                                 "{\"resource_type\":\"workflow\",\"level\":\"Read\"},"
                                 "{\"resource_type\":\"connection\",\"level\":\"Write\"},"
                                 "{\"resource_type\":\"dashboard\",\"level\":\"Owner\"},"
                                 "{\"resource_type\":\"table\",\"level\":\"ADMINISTRATE\"},"
                                 "{\"resource_type\":\"report\",\"level\":\"All\"},"
                                 "{\"resource_type\":\"job\",\"level\":\"Operator\"}]}");
  ASSERT_EQ(role.status, 201) << role.body;
  J r(role.body);
  std::vector<std::string> levels;
  for (size_t i = 0; i < r.Size("permissions"); ++i) {
    levels.push_back(r.S("permissions." + std::to_string(i) + ".level"));
  }
  EXPECT_EQ(levels,
            (std::vector<std::string>{"view", "edit", "manage", "admin", "admin", "operate"}));
  HttpReply unknown = client_->Json(
      "POST", "/v1/tenants/acme/roles", token,
      "{\"name\":\"Bad\",\"permissions\":[{\"resource_type\":\"x\",\"level\":\"Superuser\"}]}");
  EXPECT_EQ(unknown.status, 422) << unknown.body;
}

// The CSV round trip: an export with filters imports into a fresh tenant as it is, and the
// same export there is the same file but for ids and times — names, tags and list cells that
// hold ';' and '=' included (escaped, never ambiguous).
TEST_F(ApiTest, AUsersExportImportsBackAsItWas) {
  CreateTenant("acme");
  CreateTenant("beta");
  const std::string token = RootToken();
  const auto user = [&](const std::string& body) {
    HttpReply r = client_->Json("POST", "/v1/tenants/acme/users", token, body);
    EXPECT_EQ(r.status, 201) << r.body;
    return J(r.body).S("id");
  };
  const std::string ada = user(
      "{\"email\":\"ada@example.com\",\"first_name\":\"Ada\",\"last_name\":\"Lovelace, Countess\","
      "\"department\":\"Research\",\"tags\":{\"A;B\":\"C=D\",\"Region\":\"EU\"}}");
  user(
      "{\"email\":\"bob@example.com\",\"first_name\":\"Bob\",\"last_name\":\"B\","
      "\"department\":\"Research\",\"kind\":\"admin\",\"group_ids\":[\"" +
      GroupId("acme", "Production User") + "\"]}");
  user(
      "{\"email\":\"eve@example.com\",\"first_name\":\"Eve\",\"last_name\":\"E\","
      "\"department\":\"Sales\"}");
  ASSERT_EQ(client_
                ->Json("POST", "/v1/tenants/acme/bindings", token,
                       "{\"subject\":{\"type\":\"user\",\"id\":\"" + ada + "\"},\"role_id\":\"" +
                           RoleId("acme", "Designer") + "\"}")
                .status,
            201);
  const std::string filter = "?department=research&sort=-email";
  HttpReply first = client_->Json("GET", "/v1/tenants/acme/users:export" + filter, token);
  ASSERT_EQ(first.status, 200) << first.body;
  HttpReply imported = client_->Json("POST", "/v1/tenants/beta/users:import", token, first.body,
                                     {{"Content-Type", "text/csv"}});
  ASSERT_EQ(imported.status, 200) << imported.body;
  EXPECT_EQ(J(imported.body).S("created"), "2") << imported.body;
  HttpReply second = client_->Json("GET", "/v1/tenants/beta/users:export" + filter, token);
  ASSERT_EQ(second.status, 200) << second.body;
  // Everything but id, created_at and last_active_at, cell by cell.
  const auto cells = [](const std::string& csv) {
    core::Result<std::vector<api::internal::CsvRow>> rows = api::internal::ParseCsv(csv);
    EXPECT_TRUE(rows.ok());
    std::vector<std::vector<std::string>> out;
    for (const api::internal::CsvRow& row : *rows) {
      std::vector<std::string> kept;
      for (size_t i = 0; i < row.fields.size(); ++i) {
        const std::string& column = (*rows)[0].fields[i];
        if (column != "id" && column != "created_at" && column != "last_active_at") {
          kept.push_back(row.fields[i]);
        }
      }
      out.push_back(std::move(kept));
    }
    return out;
  };
  const auto a = cells(first.body);
  ASSERT_EQ(a.size(), 3u) << first.body;  // header, bob, ada (Eve is in Sales)
  EXPECT_EQ(cells(second.body), a) << first.body << "\n---\n" << second.body;
  EXPECT_NE(first.body.find("A\\;B=C\\=D;Region=EU"), std::string::npos) << first.body;
  EXPECT_NE(first.body.find(",admin,"), std::string::npos) << first.body;
  EXPECT_NE(first.body.find(",Designer,"), std::string::npos) << first.body;
}

// Seed 000's look-ups and tag suggestions, seed 004's quarterly review: q finds an external
// id, kind= and external_id= filter, last_active_before= lists who has not been seen (never
// active counts from creation), and GET …/tags is the tenant's tag catalogue with counts.
TEST_F(ApiTest, LookUpsReviewsAndTheTagCatalogue) {
  CreateTenant("acme");
  const std::string token = RootToken();
  const auto user = [&](const std::string& body) {
    HttpReply r = client_->Json("POST", "/v1/tenants/acme/users", token, body);
    EXPECT_EQ(r.status, 201) << r.body;
    return std::make_pair(J(r.body).S("id"), J(r.body).S("temporary_password"));
  };
  const auto ada = user(
      "{\"email\":\"ada@example.com\",\"first_name\":\"Ada\",\"last_name\":\"L\","
      "\"external_ids\":{\"m3\":\"M3-4711\"},\"tags\":{\"Region\":\"EU\","
      "\"Team\":\"Web\"}}");
  const auto bob = user(
      "{\"email\":\"bob@example.com\",\"first_name\":\"Bob\",\"last_name\":\"B\","
      "\"kind\":\"admin\",\"tags\":{\"Region\":\"EU\"}}");
  const auto cy = user(
      "{\"email\":\"cy@example.com\",\"first_name\":\"Cy\",\"last_name\":\"C\","
      "\"tags\":{\"Region\":\"US\"}}");
  const auto emails = [&](const std::string& query) {
    J j(client_->Json("GET", "/v1/tenants/acme/users" + query, RootToken()).body);
    std::vector<std::string> out;
    for (size_t i = 0; i < j.Size("items"); ++i)
      out.push_back(j.S("items." + std::to_string(i) + ".email"));
    return out;
  };
  EXPECT_EQ(emails("?q=m3-47"), std::vector<std::string>{"ada@example.com"});
  EXPECT_EQ(emails("?external_id=M3-4711"), std::vector<std::string>{"ada@example.com"});
  EXPECT_EQ(emails("?external_id=m3:M3-4711"), std::vector<std::string>{"ada@example.com"});
  EXPECT_TRUE(emails("?external_id=M3-47").empty());
  EXPECT_EQ(emails("?kind=admin"), std::vector<std::string>{"bob@example.com"});
  EXPECT_EQ(client_->Json("GET", "/v1/tenants/acme/users?kind=root", token).status, 422);
  // Ada signs in now; 100 days later, the review of who was not seen for 90 days.
  ASSERT_EQ(client_
                ->Json("POST", "/v1/tenants/acme/auth/login", "",
                       "{\"email\":\"ada@example.com\",\"password\":\"" + ada.second + "\"}")
                .status,
            200);
  clock_.Advance(std::chrono::hours(24 * 100));
  ASSERT_EQ(client_
                ->Json("POST", "/v1/tenants/acme/auth/login", "",
                       "{\"email\":\"bob@example.com\",\"password\":\"" + bob.second + "\"}")
                .status,
            401);  // a temporary password older than 72 h no longer works
  // Cy gets a new password and signs in today: Cy is not on the list.
  HttpReply reset =
      client_->Json("POST", "/v1/tenants/acme/users/" + cy.first + "/reset-password", RootToken());
  ASSERT_EQ(reset.status, 200) << reset.body;
  ASSERT_EQ(client_
                ->Json("POST", "/v1/tenants/acme/auth/login", "",
                       "{\"email\":\"cy@example.com\",\"password\":\"" +
                           J(reset.body).S("temporary_password") + "\"}")
                .status,
            200);
  const std::string cutoff = core::FormatTime(clock_.Now() - std::chrono::hours(24 * 90));
  EXPECT_EQ(emails("?last_active_before=" + cutoff + "&sort=email"),
            (std::vector<std::string>{"ada@example.com", "bob@example.com"}));
  EXPECT_TRUE(emails("?last_active_before=2026-01-01T00:00:00.000Z").empty());
  EXPECT_EQ(client_->Json("GET", "/v1/tenants/acme/users?last_active_before=yesterday", RootToken())
                .status,
            422);
  // The catalogue.
  HttpReply tags = client_->Json("GET", "/v1/tenants/acme/tags", RootToken());
  ASSERT_EQ(tags.status, 200) << tags.body;
  EXPECT_EQ(tags.body,
            "{\"items\":[{\"key\":\"Region\",\"count\":3,\"distinct_values\":2,\"values\":[{"
            "\"value\":\"EU\",\"count\":2},"
            "{\"value\":\"US\",\"count\":1}]},{\"key\":\"Team\",\"count\":1,\"distinct_values\":1,"
            "\"values\":"
            "[{\"value\":\"Web\",\"count\":1}]}],\"next_cursor\":null}");
  HttpReply first = client_->Json("GET", "/v1/tenants/acme/tags?limit=1", RootToken());
  EXPECT_EQ(J(first.body).S("items.0.key"), "Region");
  HttpReply second = client_->Json(
      "GET", "/v1/tenants/acme/tags?limit=1&cursor=" + J(first.body).S("next_cursor"), RootToken());
  EXPECT_EQ(J(second.body).S("items.0.key"), "Team");
  // A key with a value per user stays one small item: its 100 most used values and how
  // many there are.
  const std::string bulk = "email,first_name,last_name,tags\r\n" + [] {
    std::string rows;
    for (int i = 0; i < 150; ++i) {
      rows += "u" + std::to_string(i) + "@example.com,U,V,Badge=" + std::to_string(i) + "\r\n";
    }
    return rows;
  }();
  HttpReply imported = client_->Json("POST", "/v1/tenants/acme/users:import", RootToken(), bulk,
                                     {{"Content-Type", "text/csv"}});
  ASSERT_EQ(J(imported.body).S("created"), "150") << imported.body;
  J badge(client_->Json("GET", "/v1/tenants/acme/tags?limit=1", RootToken()).body);
  EXPECT_EQ(badge.S("items.0.key"), "Badge");
  EXPECT_EQ(badge.S("items.0.count"), "150");
  EXPECT_EQ(badge.S("items.0.distinct_values"), "150");
  EXPECT_EQ(badge.Size("items.0.values"), 100u);
}

// Seed 004's off-boarding over HTTP: a client owned by a user stops working when the user is
// deactivated with ?deactivate_owned_clients=true, and the trail says both.
TEST_F(ApiTest, OffBoardingAUserEndsTheClientsItOwns) {
  CreateTenant("acme");
  const std::string token = RootToken();
  const std::string dev = J(NewUser("acme", "dev@example.com").body).S("id");
  HttpReply made =
      client_->Json("POST", "/v1/tenants/acme/api-clients", token,
                    "{\"name\":\"ci\",\"owner_id\":\"" + dev + "\",\"bindings\":[{\"role_id\":\"" +
                        RoleId("acme", "Viewer") + "\"}]}");
  ASSERT_EQ(made.status, 201) << made.body;
  EXPECT_EQ(J(made.body).S("owner_id"), dev);
  const std::string ci = Token(J(made.body).S("client_id"), J(made.body).S("client_secret"));
  ASSERT_EQ(client_->Json("GET", "/v1/tenants/acme/me", ci).status, 200);
  const std::string off = "/v1/tenants/acme/users/" + dev + "/deactivate";
  EXPECT_EQ(client_->Json("POST", off + "?deactivate_owned_clients=maybe", token).status, 422);
  HttpReply done = client_->Json("POST", off + "?deactivate_owned_clients=true", token);
  ASSERT_EQ(done.status, 200) << done.body;
  EXPECT_EQ(J(done.body).S("status"), "deactivated");
  EXPECT_EQ(client_->Json("GET", "/v1/tenants/acme/me", ci).status, 401);
  HttpReply got =
      client_->Json("GET", "/v1/tenants/acme/api-clients/" + J(made.body).S("id"), token);
  EXPECT_EQ(J(got.body).S("status"), "inactive");
  HttpReply trail = client_->Json("GET", "/v1/tenants/acme/audit/events?limit=2", token);
  EXPECT_EQ(J(trail.body).S("items.0.type"), "api_client.deactivated") << trail.body;
  EXPECT_EQ(J(trail.body).S("items.1.type"), "user.deactivated");
  EXPECT_EQ(J(trail.body).S("items.0.request_id"), J(trail.body).S("items.1.request_id"));
}

// Seed 000's reviews: "deactivate unused roles or clients", "rotate secrets periodically":
// clients unused since a time (never used counts from creation), clients whose oldest
// secret predates a time, both sortable; roles by how many users hold them.
TEST_F(ApiTest, ClientAndRoleReviews) {
  CreateTenant("acme");
  const auto [old_id, old_secret] = Client("acme", "old", "");
  const auto [rotated_id, rotated_secret] = Client("acme", "rotated", "");
  clock_.Advance(std::chrono::hours(24 * 100));
  const std::string token = RootToken();
  const auto [fresh_id, fresh_secret] = Client("acme", "fresh", "");
  ASSERT_NE(Token(fresh_id, fresh_secret), "");  // used today
  // A minute later, "rotated" gets a new secret and loses its first one.
  clock_.Advance(std::chrono::minutes(1));
  HttpReply secret =
      client_->Json("POST", "/v1/tenants/acme/api-clients/" + rotated_id + "/secrets", token);
  ASSERT_EQ(secret.status, 201) << secret.body;
  HttpReply got = client_->Json("GET", "/v1/tenants/acme/api-clients/" + rotated_id, token);
  ASSERT_EQ(client_
                ->Json("DELETE",
                       "/v1/tenants/acme/api-clients/" + rotated_id + "/secrets/" +
                           J(got.body).S("secrets.0.key_id"),
                       token)
                .status,
            204);
  const auto names = [&](const std::string& query) {
    J j(client_->Json("GET", "/v1/tenants/acme/api-clients" + query, token).body);
    std::vector<std::string> out;
    for (size_t i = 0; i < j.Size("items"); ++i)
      out.push_back(j.S("items." + std::to_string(i) + ".name"));
    return out;
  };
  const std::string month_ago = core::FormatTime(clock_.Now() - std::chrono::hours(24 * 30));
  EXPECT_EQ(names("?last_used_before=" + month_ago + "&sort=name"),
            (std::vector<std::string>{"old", "rotated"}));
  EXPECT_EQ(names("?secret_created_before=" + month_ago), std::vector<std::string>{"old"});
  EXPECT_EQ(names("?sort=secret_created_at"),
            (std::vector<std::string>{"old", "fresh", "rotated"}));
  EXPECT_EQ(names("?sort=-last_used_at").front(), "fresh");
  EXPECT_EQ(client_->Json("GET", "/v1/tenants/acme/api-clients?sort=age", token).status, 422);
  // Roles by holders: bind Viewer to two users and Designer to one.
  for (const char* who : {"a", "b"}) {
    HttpReply u = client_->Json(
        "POST", "/v1/tenants/acme/users", token,
        std::string("{\"email\":\"") + who +
            "@example.com\",\"first_name\":\"A\",\"last_name\":\"B\","
            "\"bindings\":[{\"role_id\":\"" +
            RoleId("acme", "Viewer") + "\"}" +
            (std::string(who) == "a" ? ",{\"role_id\":\"" + RoleId("acme", "Designer") + "\"}"
                                     : std::string()) +
            "]}");
    ASSERT_EQ(u.status, 201) << u.body;
  }
  J roles(client_->Json("GET", "/v1/tenants/acme/roles?sort=-users_count&limit=2", token).body);
  EXPECT_EQ(roles.S("items.0.name"), "Viewer");
  EXPECT_EQ(roles.S("items.0.users_count"), "2");
  EXPECT_EQ(roles.S("items.1.name"), "Designer");
}

// Seed 001's license count: "support staff … not counted in your license count". Root sets
// a tenant's seat_limit; users that are neither support accounts, deactivated nor deleted
// take a seat; a create, an import, an acceptance or a reactivation past the limit is 409.
TEST_F(ApiTest, SeatsAreCountedAndLimited) {
  CreateTenant("acme");
  const std::string token = RootToken();
  const auto create = [&](const std::string& who, bool support) {
    return client_->Json("POST", "/v1/tenants/acme/users", token,
                         "{\"email\":\"" + who +
                             "@example.com\",\"first_name\":\"A\","
                             "\"last_name\":\"B\"" +
                             (support ? ",\"support\":true" : "") + "}");
  };
  HttpReply limit = client_->Json("PATCH", "/v1/tenants/acme", token, "{\"seat_limit\":2}");
  ASSERT_EQ(limit.status, 200) << limit.body;
  EXPECT_EQ(J(limit.body).S("seat_limit"), "2");
  EXPECT_EQ(J(limit.body).S("seats_used"), "0");
  HttpReply a = create("a", false);
  ASSERT_EQ(a.status, 201);
  ASSERT_EQ(create("b", false).status, 201);
  HttpReply full = create("c", false);
  EXPECT_EQ(full.status, 409) << full.body;
  HttpReply helper = create("support", true);  // not counted
  ASSERT_EQ(helper.status, 201) << helper.body;
  EXPECT_TRUE(J(helper.body).B("support"));
  HttpReply csv = client_->Json("POST", "/v1/tenants/acme/users:import?mode=best_effort", token,
                                "email,first_name,last_name\r\nd@example.com,D,E\r\n",
                                {{"Content-Type", "text/csv"}});
  EXPECT_EQ(J(csv.body).S("created"), "0") << csv.body;
  // Deactivating frees a seat; reactivating needs one.
  const std::string path = "/v1/tenants/acme/users/" + J(a.body).S("id");
  ASSERT_EQ(client_->Json("POST", path + "/deactivate", token).status, 200);
  ASSERT_EQ(create("c", false).status, 201);
  EXPECT_EQ(client_->Json("POST", path + "/activate", token).status, 409);
  HttpReply tenant = client_->Json("GET", "/v1/tenants/acme", token);
  EXPECT_EQ(J(tenant.body).S("seats_used"), "2") << tenant.body;
  // Only root sets limits or makes support accounts.
  const auto [id, secret] = Client("acme", "admin", RoleId("acme", "Tenant Admin"));
  const std::string admin = Token(id, secret);
  EXPECT_EQ(client_->Json("PATCH", "/v1/tenants/acme", admin, "{\"seat_limit\":100}").status, 403);
  EXPECT_EQ(client_
                ->Json("POST", "/v1/tenants/acme/users", admin,
                       "{\"email\":\"s2@example.com\",\"first_name\":\"A\","
                       "\"last_name\":\"B\",\"support\":true}")
                .status,
            403);
  // No limit again.
  ASSERT_EQ(client_->Json("PATCH", "/v1/tenants/acme", token, "{\"seat_limit\":null}").status, 200);
  EXPECT_EQ(client_->Json("POST", path + "/activate", token).status, 200);
}

TEST_F(ApiTest, UsersFilterSortAndPageWithoutGapsOrDuplicates) {
  CreateTenant("acme");
  const std::string token = RootToken();
  const std::vector<std::pair<std::string, std::string>> people = {
      {"Grace", "Hopper"},   {"Ada", "Lovelace"}, {"Alan", "Turing"},  {"Edsger", "Dijkstra"},
      {"Barbara", "Liskov"}, {"Donald", "Knuth"}, {"Frances", "Allen"}};
  for (size_t i = 0; i < people.size(); ++i) {
    ASSERT_EQ(client_
                  ->Json("POST", "/v1/tenants/acme/users", token,
                         UserBody(people[i].first, people[i].second, i % 2 ? "Research" : "Sales"))
                  .status,
              201);
  }
  std::vector<std::string> seen;
  std::string cursor;
  do {
    HttpReply page = client_->Json("GET",
                                   "/v1/tenants/acme/users?sort=first_name&limit=3" +
                                       (cursor.empty() ? "" : "&cursor=" + cursor),
                                   token);
    ASSERT_EQ(page.status, 200) << page.body;
    J j(page.body);
    for (size_t i = 0; i < j.Size("items"); ++i) {
      seen.push_back(j.S("items." + std::to_string(i) + ".first_name"));
    }
    cursor = j.S("next_cursor") == "<null>" ? "" : j.S("next_cursor");
  } while (!cursor.empty());
  EXPECT_EQ(seen, (std::vector<std::string>{"Ada", "Alan", "Barbara", "Donald", "Edsger", "Frances",
                                            "Grace"}));
  HttpReply desc = client_->Json("GET", "/v1/tenants/acme/users?sort=-last_name&limit=2", token);
  EXPECT_EQ(J(desc.body).S("items.0.last_name"), "Turing");
  EXPECT_EQ(J(desc.body).S("items.1.last_name"), "Lovelace");
  HttpReply research =
      client_->Json("GET", "/v1/tenants/acme/users?department=Research&sort=email", token);
  EXPECT_EQ(J(research.body).Size("items"), 3u);
  HttpReply q = client_->Json("GET", "/v1/tenants/acme/users?q=lov", token);
  EXPECT_EQ(J(q.body).Size("items"), 1u);  // matches names and emails: Lovelace
}

TEST_F(ApiTest, ETagsAndIfMatch) {
  CreateTenant("acme");
  const std::string token = RootToken();
  HttpReply created = client_->Json("POST", "/v1/tenants/acme/users", token, UserBody("Ada", "L"));
  const std::string path = "/v1/tenants/acme/users/" + J(created.body).S("id");
  EXPECT_EQ(created.Header("etag"), "\"1\"");
  EXPECT_EQ(created.Header("location"), path);
  EXPECT_EQ(client_->Json("PATCH", path, token, "{\"department\":\"R&D\"}", {{"If-Match", "\"7\""}})
                .status,
            412);
  HttpReply patched =
      client_->Json("PATCH", path, token, "{\"department\":\"R&D\"}", {{"If-Match", "\"1\""}});
  EXPECT_EQ(patched.status, 200) << patched.body;
  EXPECT_EQ(patched.Header("etag"), "\"2\"");
  EXPECT_EQ(J(patched.body).S("department"), "R&D");
  EXPECT_EQ(client_->Json("PATCH", path, token, "{\"phone\":null}").status, 200);
  EXPECT_EQ(client_->Json("PATCH", path, token, "{}", {{"If-Match", "abc"}}).status, 400);
}

TEST_F(ApiTest, IdempotencyKeyReplaysWithoutTheSecret) {
  CreateTenant("acme");
  const std::string token = RootToken();
  const auto key = std::vector<std::pair<std::string, std::string>>{{"Idempotency-Key", "k-1"}};
  HttpReply first =
      client_->Json("POST", "/v1/tenants/acme/users", token, UserBody("Ada", "L"), key);
  ASSERT_EQ(first.status, 201);
  EXPECT_NE(J(first.body).S("temporary_password"), "<null>");
  const uint64_t seq = store_->LastSeq().value();
  HttpReply again =
      client_->Json("POST", "/v1/tenants/acme/users", token, UserBody("Ada", "L"), key);
  EXPECT_EQ(again.status, 201);
  EXPECT_EQ(again.Header("idempotent-replayed"), "true");
  EXPECT_EQ(J(again.body).S("id"), J(first.body).S("id"));
  EXPECT_EQ(J(again.body).S("temporary_password"), "<null>");
  EXPECT_EQ(store_->LastSeq().value(), seq);
  EXPECT_EQ(
      client_->Json("POST", "/v1/tenants/acme/users", token, UserBody("Bob", "L"), key).status,
      422);
}

TEST_F(ApiTest, CsvImportAllOrNothingBestEffortAndExport) {
  CreateTenant("acme");
  const std::string token = RootToken();
  const std::string csv =
      "email,first_name,last_name,department,roles,groups,tags\r\n"
      "ada@example.com,Ada,Lovelace,Research,Viewer,Production User,Region=EU\r\n"
      "bad-email,Bad,Row,,,,\r\n"
      "\"grace@example.com\",Grace,\"Hopper, Rear Admiral\",Navy,,,Region=US;Team=COBOL\r\n"
      "lin@example.com,Lin,Group,,,No Such Group,\r\n";
  const auto as_csv =
      std::vector<std::pair<std::string, std::string>>{{"Content-Type", "text/csv"}};
  // ../shared/spec/API.md: "?mode=all_or_nothing|best_effort → 200 {"created": n, "failed":
  // [{"line", "error"}]}" — every failing line, whatever found it, and nothing created.
  HttpReply all = client_->Json("POST", "/v1/tenants/acme/users:import", token, csv, as_csv);
  EXPECT_EQ(all.status, 200) << all.body;
  EXPECT_EQ(J(all.body).S("created"), "0");
  ASSERT_EQ(J(all.body).Size("failed"), 2u) << all.body;
  EXPECT_EQ(J(all.body).S("failed.0.line"), "3");
  EXPECT_EQ(J(all.body).S("failed.1.line"), "5");
  EXPECT_NE(J(all.body).S("failed.1.error").find("No Such Group"), std::string::npos);
  EXPECT_EQ(J(client_->Json("GET", "/v1/tenants/acme/users", token).body).Size("items"), 0u);
  HttpReply best =
      client_->Json("POST", "/v1/tenants/acme/users:import?mode=best_effort", token, csv, as_csv);
  ASSERT_EQ(best.status, 200) << best.body;
  EXPECT_EQ(J(best.body).S("created"), "2");
  EXPECT_EQ(J(best.body).S("failed.0.line"), "3");
  HttpReply exported = client_->Json("GET", "/v1/tenants/acme/users:export", token);
  ASSERT_EQ(exported.status, 200);
  EXPECT_EQ(exported.Header("content-type"), "text/csv; charset=utf-8");
  EXPECT_EQ(exported.body.rfind("id,email,first_name,last_name,", 0), 0u);
  EXPECT_NE(exported.body.find("\"Hopper, Rear Admiral\""), std::string::npos);
  EXPECT_NE(exported.body.find("Region=US;Team=COBOL"), std::string::npos);
  EXPECT_NE(exported.body.find(",Viewer,Production User,"), std::string::npos) << exported.body;
}

TEST_F(ApiTest, InvitationsAcceptedRevokedAndExpired) {
  CreateTenant("acme");
  const std::string token = RootToken();
  auto invite = [&](const std::string& email) {
    return client_->Json("POST", "/v1/tenants/acme/invitations", token,
                         "{\"email\":\"" + email + "\",\"group_ids\":[\"" +
                             GroupId("acme", "Development User") + "\"]}");
  };
  HttpReply a = invite("dev@example.com");
  ASSERT_EQ(a.status, 201) << a.body;
  EXPECT_EQ(J(a.body).S("status"), "pending");
  auto accept = [&](const std::string& tok) {
    return client_->Json("POST", "/v1/invitations/accept", "",
                         "{\"token\":\"" + tok +
                             "\",\"first_name\":\"Dee\",\"last_name\":\"Veloper\",\"password\":"
                             "\"correct horse battery staple\"}");
  };
  HttpReply accepted = accept(J(a.body).S("token"));
  ASSERT_EQ(accepted.status, 200) << accepted.body;
  EXPECT_EQ(J(accepted.body).S("tenant"), "acme");
  EXPECT_EQ(accept(J(a.body).S("token")).status, 410);
  HttpReply login = client_->Json("POST", "/v1/tenants/acme/auth/login", "",
                                  "{\"email\":\"dev@example.com\",\"password\":\"correct horse "
                                  "battery staple\"}");
  EXPECT_EQ(login.status, 200);
  EXPECT_FALSE(J(login.body).B("must_change_password"));

  HttpReply b = invite("revoked@example.com");
  EXPECT_EQ(
      client_->Json("POST", "/v1/tenants/acme/invitations/" + J(b.body).S("id") + "/revoke", token)
          .status,
      200);
  EXPECT_EQ(accept(J(b.body).S("token")).status, 410);

  HttpReply c = invite("late@example.com");
  clock_.Advance(std::chrono::hours(24 * 8));
  EXPECT_EQ(accept(J(c.body).S("token")).status, 410);
  HttpReply listed =
      client_->Json("GET", "/v1/tenants/acme/invitations?status=expired", RootToken());
  EXPECT_EQ(J(listed.body).Size("items"), 1u);
  // Resending makes a new token that works.
  HttpReply resent = client_->Json(
      "POST", "/v1/tenants/acme/invitations/" + J(c.body).S("id") + "/resend", RootToken());
  ASSERT_EQ(resent.status, 200) << resent.body;
  EXPECT_EQ(accept(J(c.body).S("token")).status, 410);
  EXPECT_EQ(accept(J(resent.body).S("token")).status, 200);
  EXPECT_EQ(accept("not-a-token").status, 410);
}

TEST_F(ApiTest, ProjectsGetSystemGroupsAndChecksExplainThemselves) {
  CreateTenant("acme");
  const std::string token = RootToken();
  HttpReply envs = client_->Json("GET", "/v1/tenants/acme/environments", token);
  ASSERT_EQ(J(envs.body).Size("items"), 2u);
  const std::string prod = J(envs.body).S("items.1.name") == "Production"
                               ? J(envs.body).S("items.1.id")
                               : J(envs.body).S("items.0.id");
  HttpReply project =
      client_->Json("POST", "/v1/tenants/acme/projects", token,
                    "{\"name\":\"Acme Integration\",\"environment_id\":\"" + prod + "\"}");
  ASSERT_EQ(project.status, 201) << project.body;
  HttpReply wf = client_->Json("POST", "/v1/tenants/acme/resources", token,
                               "{\"type\":\"workflow\",\"name\":\"Sync\",\"parent_id\":\"" +
                                   J(project.body).S("id") + "\"}");
  ASSERT_EQ(wf.status, 201) << wf.body;
  HttpReply system = client_->Json("GET", "/v1/tenants/acme/groups?type=system&limit=100", token);
  EXPECT_NE(system.body.find("Acme Integration Operator"), std::string::npos);
  HttpReply user = client_->Json("POST", "/v1/tenants/acme/users", token,
                                 "{\"email\":\"op@example.com\",\"first_name\":\"O\","
                                 "\"last_name\":\"P\",\"group_ids\":[\"" +
                                     GroupId("acme", "Acme Integration Operator") + "\"]}");
  const std::string subject = "{\"type\":\"user\",\"id\":\"" + J(user.body).S("id") + "\"}";
  auto check = [&](const std::string& action) {
    return client_->Json("POST", "/v1/tenants/acme/access/check", token,
                         "{\"subject\":" + subject + ",\"action\":\"" + action +
                             "\",\"resource_id\":\"" + J(wf.body).S("id") + "\"}");
  };
  HttpReply run = check("execute");
  ASSERT_EQ(run.status, 200) << run.body;
  EXPECT_TRUE(J(run.body).B("allowed"));
  EXPECT_EQ(J(run.body).S("level"), "operate");
  EXPECT_EQ(J(run.body).S("grants.0.via_group"), GroupId("acme", "Acme Integration Operator"));
  HttpReply edit = check("update");
  EXPECT_FALSE(J(edit.body).B("allowed"));
  EXPECT_EQ(J(edit.body).S("required_level"), "edit");
  HttpReply who =
      client_->Json("GET", "/v1/tenants/acme/access/who?resource_id=" + J(wf.body).S("id"), token);
  EXPECT_EQ(J(who.body).S("items.0.level"), "operate");
  HttpReply batch = client_->Json(
      "POST", "/v1/tenants/acme/access/check:batch", token,
      "{\"checks\":[{\"subject\":" + subject + ",\"action\":\"read\",\"resource_id\":\"" +
          J(wf.body).S("id") + "\"},{\"subject\":" + subject +
          ",\"action\":\"delete\",\"resource_id\":\"" + J(wf.body).S("id") + "\"}]}");
  EXPECT_TRUE(J(batch.body).B("results.0.allowed"));
  EXPECT_FALSE(J(batch.body).B("results.1.allowed"));
}

TEST_F(ApiTest, ABodyIsAdmittedOnItsHeadersByRouteAndCredentials) {
  CreateTenant("acme");
  const std::string token = RootToken();
  // No token, a 50 MB body announced and never sent: 401 at once, nothing read.
  const std::string anonymous = client_->Raw(
      "POST /v1/tenants/acme/users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Content-Length: 50000000\r\n\r\n",
      std::chrono::seconds(5));
  EXPECT_EQ(anonymous.rfind("HTTP/1.1 401", 0), 0u) << anonymous.substr(0, 200);
  EXPECT_NE(anonymous.find("WWW-Authenticate: Bearer"), std::string::npos);
  // A bad token, the same; a token of another tenant, 404 before the body.
  const std::string forged = client_->Raw(
      "POST /v1/tenants/acme/users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer x.y.z\r\n"
      "Content-Length: 50000000\r\n\r\n",
      std::chrono::seconds(5));
  EXPECT_EQ(forged.rfind("HTTP/1.1 401", 0), 0u) << forged.substr(0, 200);
  CreateTenant("other");
  auto [id, secret] = Client("other", "bot", RoleId("other", "Tenant Admin"));
  const std::string elsewhere =
      client_->Raw("POST /v1/tenants/acme/users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                       Token(id, secret) + "\r\nContent-Length: 50000000\r\n\r\n",
                   std::chrono::seconds(5));
  EXPECT_EQ(elsewhere.rfind("HTTP/1.1 404", 0), 0u) << elsewhere.substr(0, 200);
  // No route: 404, or 405 with Allow, before the body.
  const std::string nowhere =
      client_->Raw("POST /v1/nowhere HTTP/1.1\r\nHost: x\r\nContent-Length: 50000000\r\n\r\n",
                   std::chrono::seconds(5));
  EXPECT_EQ(nowhere.rfind("HTTP/1.1 404", 0), 0u) << nowhere.substr(0, 200);
  HttpReply wrong = client_->Json("PUT", "/v1/tenants/acme/users", token, "{}");
  EXPECT_EQ(wrong.status, 405);
  EXPECT_EQ(wrong.Header("allow"), "POST, GET");
  // Unauthenticated routes take small bodies (64 KiB): a login of 100 KB is 413.
  HttpReply login = client_->Json("POST", "/v1/tenants/acme/auth/login", "",
                                  "{\"email\":\"" + std::string(100'000, 'a') + "\"}");
  EXPECT_EQ(login.status, 413);
  // The CSV import takes its own limit (64 MiB), well past the JSON routes' (64 KiB here) and
  // the default 1 MiB: 1.1 MB sent with a Content-Length is read and answered.
  std::string csv = "email,first_name,last_name\r\nbad-email,Bad,Row\r\n";
  while (csv.size() < 1'100'000) csv += "someone@example.com,Some,One\r\n";
  HttpReply import = client_->Json("POST", "/v1/tenants/acme/users:import", token, csv,
                                   {{"Content-Type", "text/csv"}});
  EXPECT_EQ(import.status, 200) << import.body.substr(0, 300);
  EXPECT_EQ(J(import.body).S("created"), "0");
  EXPECT_EQ(client_->Send("GET", "/healthz").status, 200);
}

TEST(PageJsonTest, APageEndsEarlyOnceItsBodyPassesItsBytesAndTheCursorLosesNothing) {
  std::vector<std::string> values;
  for (int i = 0; i < 100; ++i)
    values.push_back(std::string(1000, static_cast<char>('a' + i % 26)));
  std::vector<std::pair<std::string, const std::string*>> sorted;
  for (size_t i = 0; i < values.size(); ++i) {
    char key[8];
    std::snprintf(key, sizeof key, "%03zu", i);
    sorted.emplace_back(key, &values[i]);
  }
  api::internal::Page page;
  page.limit = 1000;
  page.max_bytes = 10'000;
  size_t seen = 0;
  for (int pages = 0; pages < 100; ++pages) {
    const std::string body = api::internal::PageJson<std::string>(
        sorted, page, [](core::JsonWriter& w, const std::string& v) { w.String(v); });
    J j(body);
    EXPECT_LE(body.size(), page.max_bytes + 1100);  // at most one item past the bound
    seen += j.Size("items");
    if (j.S("next_cursor") == "<null>") break;
    // The cursor is the last key written (opaque to clients; decoded here).
    page.after = sorted[seen - 1].first;
  }
  EXPECT_EQ(seen, 100u);
}

TEST_F(ApiTest, HostileHttpIsAnsweredOrClosed) {
  EXPECT_EQ(client_->Raw("GARBAGE\r\n\r\n").rfind("HTTP/1.1 400", 0), 0u);
  const std::string huge =
      "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(32 * 1024, 'a') + "\r\n\r\n";
  EXPECT_EQ(client_->Raw(huge).rfind("HTTP/1.1 431", 0), 0u);
  // Two pipelined requests: two answers, in order.
  const std::string two =
      "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: one\r\n\r\n"
      "GET /readyz HTTP/1.1\r\nHost: x\r\nX-Request-Id: two\r\nConnection: close\r\n\r\n";
  const std::string raw = client_->Raw(two);
  size_t used = 0;
  HttpReply first = HttpClient::Parse(raw, &used);
  HttpReply second = HttpClient::Parse(raw.substr(used));
  EXPECT_EQ(first.Header("x-request-id"), "one");
  EXPECT_EQ(second.Header("x-request-id"), "two");
  EXPECT_EQ(client_->Send("GET", "/healthz").status, 200);
}

}  // namespace
}  // namespace custos::testing
