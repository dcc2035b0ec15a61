// Users: create, list with filters and sorting, read, merge-patch, status actions, password
// reset, tags, delete, CSV import and export, effective access.
#include <algorithm>

#include "api/internal/call.h"
#include "api/internal/csv.h"
#include "api/internal/patch.h"
#include "api/internal/views.h"
#include "api/json_body.h"

namespace custos::api::internal {
namespace {

namespace iam = core::iam;

struct CreateUserBody {
  std::string email;
  std::string first_name;
  std::string last_name;
  std::optional<std::string> phone;
  std::optional<std::string> address;
  std::optional<std::string> department;
  std::optional<std::map<std::string, std::string>> external_ids;
  std::optional<std::map<std::string, std::string>> tags;
  std::optional<std::map<std::string, core::JsonValue>> properties;
  std::optional<iam::UserKind> kind;
  std::optional<bool> support;
  std::optional<std::vector<GrantBody>> bindings;
  std::optional<std::vector<std::string>> group_ids;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("email", s.email);
    v("first_name", s.first_name);
    v("last_name", s.last_name);
    v("phone", s.phone);
    v("address", s.address);
    v("department", s.department);
    v("external_ids", s.external_ids);
    v("tags", s.tags);
    v("properties", s.properties);
    v("kind", s.kind);
    v("support", s.support);
    v("bindings", s.bindings);
    v("group_ids", s.group_ids);
  }
};

struct TagBody {
  std::string value;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("value", s.value);
  }
};

// The user as answered, with the one-time temporary password when there is one.
Render UserAnswer(int status, bool with_password) {
  return [status, with_password](const iam::TenantState& state,
                                 const projections::ExecuteResult& result) -> HttpResponse {
    const iam::User* u = state.FindUser(result.decision.id);
    if (u == nullptr) return Problem(core::NotFound("no user " + result.decision.id));
    core::JsonWriter w;
    WriteUser(w, state, *u, true);
    std::string body = w.Take();
    if (with_password)
      body = WithCredential(std::move(body), "temporary_password", result.decision);
    return JsonResponse(
        status, std::move(body), u->version,
        status == 201 ? "/v1/tenants/" + state.tenant_id() + "/users/" + u->id : "");
  };
}

void CreateUserRoute(const CallPtr& call) {
  CreateUserBody b;
  if (core::Status s = ReadBody(call->req.body, b); !s.ok()) return call->Fail(s.error());
  iam::CreateUser c;
  c.email = b.email;
  c.first_name = b.first_name;
  c.last_name = b.last_name;
  c.phone = b.phone.value_or("");
  c.address = b.address.value_or("");
  c.department = b.department.value_or("");
  c.external_ids = b.external_ids.value_or(std::map<std::string, std::string>{});
  c.tags = b.tags.value_or(std::map<std::string, std::string>{});
  c.properties = b.properties.value_or(std::map<std::string, core::JsonValue>{});
  c.kind = b.kind.value_or(iam::UserKind::kUser);
  c.support = b.support.value_or(false);
  c.bindings = ToGrants(b.bindings);
  c.group_ids = b.group_ids.value_or(std::vector<std::string>{});
  Execute(call, std::move(c), UserAnswer(201, true));
}

using SortedUsers = std::vector<std::pair<std::string, const iam::User*>>;

// Users filtered as ?q=&status=&department=&role_id=&group_id=&tag=K:V and sorted by ?sort=
// (the list and the export alike), keyed for paging.
core::Result<SortedUsers> FilteredUsers(const HttpRequest& q, const iam::TenantState& state) {
  std::optional<iam::UserStatus> status;
  if (std::optional<std::string_view> v = q.Query("status")) {
    iam::UserStatus st;
    if (!iam::FromString(*v, st)) {
      return core::InvalidField("status",
                                "must be active, suspended, locked, deactivated or deleted");
    }
    status = st;
  }
  std::string sort = std::string(q.Query("sort").value_or("created_at"));
  const bool descending = !sort.empty() && sort[0] == '-';
  if (descending) sort.erase(0, 1);
  static constexpr std::string_view kSorts[] = {
      "first_name", "last_name", "email", "department", "status", "created_at", "last_active_at"};
  if (std::find(std::begin(kSorts), std::end(kSorts), sort) == std::end(kSorts)) {
    return core::InvalidField("sort",
                              "must be first_name, last_name, email, department, status, "
                              "created_at or last_active_at, with '-' for descending");
  }
  const std::string needle = iam::Lower(q.Query("q").value_or(""));
  std::optional<iam::UserKind> kind;
  if (std::optional<std::string_view> v = q.Query("kind")) {
    iam::UserKind k;
    if (!iam::FromString(*v, k)) return core::InvalidField("kind", "must be user or admin");
    kind = k;
  }
  // external_id=VALUE (any system) or SYSTEM:VALUE, exact.
  const std::optional<std::string_view> external_id = q.Query("external_id");
  CUSTOS_ASSIGN_OR_RETURN(std::optional<core::Time> inactive_since,
                          TimeQuery(q, "last_active_before"));
  const std::optional<std::string_view> department = q.Query("department");
  const std::optional<std::string_view> role_id = q.Query("role_id");
  const std::optional<std::string_view> group_id = q.Query("group_id");
  std::optional<std::pair<std::string, std::string>> tag;
  if (std::optional<std::string_view> t = q.Query("tag")) {
    const size_t colon = t->find(':');
    if (colon == std::string_view::npos || colon == 0) {
      return core::InvalidField("tag", "must be Key:Value");
    }
    tag.emplace(std::string(t->substr(0, colon)), std::string(t->substr(colon + 1)));
  }
  std::set<std::string> role_holders;
  if (role_id) {
    for (const std::string& id :
         RoleHolders(state, std::string(*role_id), iam::SubjectType::kUser)) {
      role_holders.insert(id);
    }
  }
  SortedUsers sorted;
  for (const auto& [id, u] : state.users()) {
    if (status ? u.status != *status : u.status == iam::UserStatus::kDeleted) continue;
    if (department && iam::Lower(u.profile.department) != iam::Lower(*department)) continue;
    if (role_id && role_holders.count(id) == 0) continue;
    if (group_id &&
        state.GroupsOf(iam::Subject{iam::SubjectType::kUser, id}).count(std::string(*group_id)) ==
            0) {
      continue;
    }
    if (tag) {
      auto it = u.tags.find(tag->first);
      if (it == u.tags.end() || it->second != tag->second) continue;
    }
    if (kind && u.profile.kind != *kind) continue;
    // Inactive: last active before the time, or never active and made before it.
    if (inactive_since && u.last_active_at.value_or(u.created_at) >= *inactive_since) continue;
    if (external_id) {
      const bool match = std::any_of(
          u.profile.external_ids.begin(), u.profile.external_ids.end(), [&](const auto& e) {
            return e.second == *external_id || e.first + ":" + e.second == *external_id;
          });
      if (!match) continue;
    }
    if (!needle.empty()) {
      std::string hay =
          iam::Lower(u.profile.first_name + " " + u.profile.last_name + " " + u.profile.email);
      for (const auto& [system, value] : u.profile.external_ids) hay += " " + iam::Lower(value);
      if (hay.find(needle) == std::string::npos) continue;
    }
    std::string value;
    if (sort == "first_name") value = u.profile.first_name;
    if (sort == "last_name") value = u.profile.last_name;
    if (sort == "email") value = u.profile.email;
    if (sort == "department") value = u.profile.department;
    if (sort == "status") value = std::string(iam::ToString(u.status));
    if (sort == "created_at") value = core::FormatTime(u.created_at);
    if (sort == "last_active_at") {
      value = u.last_active_at ? core::FormatTime(*u.last_active_at) : "";
    }
    sorted.emplace_back(SortKey(std::move(value), id, descending), &u);
  }
  std::sort(sorted.begin(), sorted.end());
  return sorted;
}

core::Result<HttpResponse> ListUsers(const CallPtr& call, const iam::TenantState& state) {
  CUSTOS_ASSIGN_OR_RETURN(Page page, ReadPage(call->req));
  CUSTOS_ASSIGN_OR_RETURN(SortedUsers sorted, FilteredUsers(call->req, state));
  return JsonResponse(
      200, PageJson<iam::User>(sorted, page, [&](core::JsonWriter& w, const iam::User& u) {
        WriteUser(w, state, u, false);
      }));
}

// GET …/tags: every tag key in use on the tenant's users (not deleted ones), with how many
// users carry it and its values with theirs — the suggestions a console offers. Paged by key.
constexpr size_t kTagValuesShown = 100;  // values listed per key in the tag catalogue

core::Result<HttpResponse> ListTags(const CallPtr& call, const iam::TenantState& state) {
  CUSTOS_ASSIGN_OR_RETURN(Page page, ReadPage(call->req));
  struct Key {
    std::string key;
    uint64_t count = 0;
    std::map<std::string, uint64_t> values;
  };
  std::map<std::string, Key> keys;
  for (const auto& [id, u] : state.users()) {
    if (u.status == iam::UserStatus::kDeleted) continue;
    for (const auto& [k, v] : u.tags) {
      Key& entry = keys[k];
      entry.key = k;
      ++entry.count;
      ++entry.values[v];
    }
  }
  std::vector<std::pair<std::string, const Key*>> sorted;
  sorted.reserve(keys.size());
  for (const auto& [k, entry] : keys) sorted.emplace_back(k, &entry);
  return JsonResponse(200, PageJson<Key>(sorted, page, [](core::JsonWriter& w, const Key& k) {
                        std::vector<std::pair<uint64_t, const std::string*>> by_count;
                        for (const auto& [v, n] : k.values) by_count.emplace_back(n, &v);
                        std::stable_sort(
                            by_count.begin(), by_count.end(),
                            [](const auto& a, const auto& b) { return a.first > b.first; });
                        w.BeginObject().Key("key").String(k.key).Key("count").UInt(k.count);
                        // A key with a value per user would make one item as large as the
                        // tenant: the most used values only, and how many there are.
                        w.Key("distinct_values").UInt(by_count.size());
                        if (by_count.size() > kTagValuesShown) by_count.resize(kTagValuesShown);
                        w.Key("values").BeginArray();
                        for (const auto& [n, v] : by_count) {
                          w.BeginObject().Key("value").String(*v).Key("count").UInt(n).EndObject();
                        }
                        w.EndArray().EndObject();
                      }));
}

void GetUserRoute(const CallPtr& call) {
  ReadTenant(call, [&](const iam::TenantState& state) -> core::Result<HttpResponse> {
    const iam::User* u = state.FindUser(call->Param("id"));
    if (u == nullptr) return core::NotFound("no user " + call->Param("id"));
    return JsonResponse(200, Object([&](core::JsonWriter& w) { WriteUser(w, state, *u, true); }),
                        u->version);
  });
}

void PatchUserRoute(const CallPtr& call) {
  core::Result<Patch> patch =
      Patch::Parse(call->req.body, {"email", "first_name", "last_name", "phone", "address",
                                    "department", "external_ids", "properties", "kind", "support"});
  if (!patch.ok()) return call->Fail(patch.error());
  iam::UpdateUser u;
  u.user_id = call->Param("id");
  core::Status s = patch->Get("email", u.email);
  if (s.ok()) s = patch->Get("first_name", u.first_name);
  if (s.ok()) s = patch->Get("last_name", u.last_name);
  if (s.ok()) s = patch->Get("phone", u.phone);
  if (s.ok()) s = patch->Get("address", u.address);
  if (s.ok()) s = patch->Get("department", u.department);
  if (s.ok()) s = patch->Get("external_ids", u.external_ids);
  if (s.ok()) s = patch->Get("kind", u.kind);
  if (s.ok()) s = patch->Get("support", u.support);
  if (s.ok() && patch->Has("properties")) {
    const core::JsonValue* p = patch->value().Find("properties");
    if (!p->is_object()) {
      s = core::InvalidField("properties", "must be an object");
    } else {
      std::map<std::string, core::JsonValue> props;
      for (const auto& [k, v] : p->members()) props[k] = v;
      u.properties = std::move(props);
    }
  }
  if (!s.ok()) return call->Fail(s.error());
  Execute(call, std::move(u), UserAnswer(200, false));
}

// ?deactivate_owned_clients=true|false (off-boarding in one step); 422 for another value.
core::Result<bool> OwnedClientsParam(const HttpRequest& req) {
  const std::optional<std::string_view> v = req.Query("deactivate_owned_clients");
  if (!v || *v == "false") return false;
  if (*v == "true") return true;
  return core::InvalidField("deactivate_owned_clients", "must be true or false");
}

RouteHandler StatusActionRoute(iam::UserAction action) {
  return [action](const CallPtr& call) {
    core::Result<bool> owned = OwnedClientsParam(call->req);
    if (!owned.ok()) return call->Fail(owned.error());
    Execute(call, iam::ChangeUserStatus{call->Param("id"), action, "", *owned},
            UserAnswer(200, false));
  };
}

void ResetPasswordRoute(const CallPtr& call) {
  Execute(call, iam::ResetPassword{call->Param("id")}, UserAnswer(200, true));
}

void DeleteUserRoute(const CallPtr& call) {
  core::Result<bool> owned = OwnedClientsParam(call->req);
  if (!owned.ok()) return call->Fail(owned.error());
  Execute(call, iam::ChangeUserStatus{call->Param("id"), iam::UserAction::kDelete, "", *owned},
          [](const iam::TenantState&, const projections::ExecuteResult&) { return NoContent(); });
}

void PutTagRoute(const CallPtr& call) {
  TagBody body;
  if (core::Status s = ReadBody(call->req.body, body); !s.ok()) return call->Fail(s.error());
  Execute(call, iam::SetUserTag{call->Param("id"), call->Param("key"), body.value},
          UserAnswer(200, false));
}

void DeleteTagRoute(const CallPtr& call) {
  Execute(call, iam::RemoveUserTag{call->Param("id"), call->Param("key")},
          [](const iam::TenantState&, const projections::ExecuteResult&) { return NoContent(); });
}

void UserAccessRoute(const CallPtr& call) {
  ReadTenant(call, [&](const iam::TenantState& state) -> core::Result<HttpResponse> {
    const iam::User* u = state.FindUser(call->Param("id"));
    if (u == nullptr) return core::NotFound("no user " + call->Param("id"));
    const iam::AccessEvaluator evaluator(state, call->services().clock().Now());
    core::JsonWriter w;
    w.BeginObject().Key("user_id").String(u->id);
    w.Key("kind").String(iam::ToString(u->profile.kind));
    w.Key("active").Bool(iam::IsActiveSubject(state, {iam::SubjectType::kUser, u->id},
                                              call->services().clock().Now()));
    w.Key("grants").BeginArray();
    for (const iam::GrantDetail& g : evaluator.EffectiveGrants({iam::SubjectType::kUser, u->id})) {
      WriteGrant(w, state, g);
    }
    w.EndArray().EndObject();
    return JsonResponse(200, w.Take());
  });
}

// List cells of the user CSV (roles, groups, tags): items separated by ';', a tag's key and
// value by '='; a '\\', ';' or '=' inside a name, key or value is written with a '\\' before
// it, so that every cell reads back as it was written.
std::string EscapeListItem(std::string_view item) {
  std::string out;
  for (char c : item) {
    if (c == '\\' || c == ';' || c == '=') out += '\\';
    out += c;
  }
  return out;
}

std::string Unescape(std::string_view item) {
  std::string out;
  for (size_t i = 0; i < item.size(); ++i) {
    if (item[i] == '\\' && i + 1 < item.size()) ++i;
    out += item[i];
  }
  return out;
}

// The position of the first `sep` not escaped by a '\\', or npos.
size_t FindUnescaped(std::string_view s, char sep) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\') {
      ++i;
    } else if (s[i] == sep) {
      return i;
    }
  }
  return std::string_view::npos;
}

// The items of a list cell, still escaped, trimmed of spaces; empty items dropped.
std::vector<std::string> SplitList(std::string_view cell) {
  std::vector<std::string> out;
  while (!cell.empty()) {
    const size_t semi = FindUnescaped(cell, ';');
    std::string_view part = cell.substr(0, semi);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
    if (!part.empty()) out.emplace_back(part);
    if (semi == std::string_view::npos) break;
    cell.remove_prefix(semi + 1);
  }
  return out;
}

void ImportUsersRoute(const CallPtr& call) {
  const std::string mode(call->req.Query("mode").value_or("all_or_nothing"));
  if (mode != "all_or_nothing" && mode != "best_effort") {
    return call->Fail(core::InvalidField("mode", "must be all_or_nothing or best_effort"));
  }
  core::Result<std::vector<CsvRow>> rows = ParseCsv(call->req.body);
  if (!rows.ok()) return call->Fail(rows.error());
  if (rows->empty()) return call->Fail(core::InvalidArgument("the CSV has no header row"));
  // The export's own columns (id, status, created_at, last_active_at) are read past, so that
  // an export imports as it is.
  static constexpr std::string_view kColumns[] = {
      "email",  "first_name", "last_name", "phone",  "department", "kind",          "roles",
      "groups", "tags",       "id",        "status", "created_at", "last_active_at"};
  std::map<std::string, size_t> column;
  for (size_t i = 0; i < rows->front().fields.size(); ++i) {
    const std::string name = iam::Lower(rows->front().fields[i]);
    if (std::find(std::begin(kColumns), std::end(kColumns), name) == std::end(kColumns)) {
      return call->Fail(core::InvalidArgument("unknown CSV column '" + name + "'"));
    }
    column[name] = i;
  }
  for (const char* required : {"email", "first_name", "last_name"}) {
    if (column.count(required) == 0) {
      return call->Fail(core::InvalidArgument(std::string("the CSV needs a column ") + required));
    }
  }
  // Role and group names become ids under the read lock; rows that name unknown ones are
  // rejected like any invalid row.
  iam::ImportUsers import;
  import.all_or_nothing = mode == "all_or_nothing";
  std::vector<std::pair<size_t, std::string>> bad_rows;
  core::Result<bool> built =
      call->services().identity().Read(call->Tenant(), [&](const iam::TenantState& state) {
        for (size_t r = 1; r < rows->size(); ++r) {
          const CsvRow& row = (*rows)[r];
          auto cell = [&](const char* name) -> std::string {
            auto it = column.find(name);
            return it != column.end() && it->second < row.fields.size() ? row.fields[it->second]
                                                                        : "";
          };
          iam::CreateUser c;
          c.email = cell("email");
          c.first_name = cell("first_name");
          c.last_name = cell("last_name");
          c.phone = cell("phone");
          c.department = cell("department");
          std::string problem;
          const std::string kind = cell("kind");
          if (!kind.empty() && !iam::FromString(kind, c.kind)) {
            problem = "kind must be user or admin";
          }
          for (const std::string& escaped : SplitList(cell("roles"))) {
            const std::string name = Unescape(escaped);
            const iam::Role* role = state.FindRoleByName(name);
            if (role == nullptr) {
              problem = "no role named '" + name + "'";
              break;
            }
            c.bindings.push_back(iam::Grant{role->id, std::string(iam::kRootNode)});
          }
          for (const std::string& escaped : SplitList(cell("groups"))) {
            const std::string name = Unescape(escaped);
            const iam::Group* group = state.FindGroupByName(name);
            if (group == nullptr) {
              problem = "no group named '" + name + "'";
              break;
            }
            c.group_ids.push_back(group->id);
          }
          for (const std::string& pair : SplitList(cell("tags"))) {
            const size_t eq = FindUnescaped(pair, '=');
            if (eq == std::string::npos || eq == 0) {
              problem = "tags must be Key=Value, separated by ';'";
              break;
            }
            c.tags[Unescape(std::string_view(pair).substr(0, eq))] =
                Unescape(std::string_view(pair).substr(eq + 1));
          }
          if (!problem.empty()) {
            bad_rows.emplace_back(row.line, problem);
            continue;
          }
          import.users.push_back(std::move(c));
          import.lines.push_back(row.line);
        }
        return true;
      });
  if (!built.ok()) return call->Fail(built.error());
  auto answer = [bad_rows](const projections::ExecuteResult& result) {
    std::vector<std::pair<size_t, std::string>> failed = bad_rows;
    failed.insert(failed.end(), result.decision.rejected.begin(), result.decision.rejected.end());
    std::sort(failed.begin(), failed.end());
    core::JsonWriter w;
    w.BeginObject().Key("created").UInt(result.decision.created).Key("failed").BeginArray();
    for (const auto& [line, error] : failed) {
      w.BeginObject().Key("line").UInt(line).Key("error").String(error).EndObject();
    }
    w.EndArray().EndObject();
    return JsonResponse(200, w.Take());
  };
  import.refused_before = bad_rows.size();
  if (import.users.empty()) {
    projections::ExecuteResult none;
    return call->Reply(answer(none));
  }
  Execute(call, std::move(import),
          [answer](const iam::TenantState&, const projections::ExecuteResult& result) {
            return answer(result);
          });
}

// The users the list's filters select, in its order (?q=&status=&…&sort=), as CSV that
// POST …/users:import reads back.
void ExportUsersRoute(const CallPtr& call) {
  // The users are selected and ordered once; the answer, rendered once the export is
  // recorded, writes those of them that still exist.
  core::Result<core::Result<std::vector<std::string>>> selected = call->services().identity().Read(
      call->Tenant(), [&](const iam::TenantState& state) -> core::Result<std::vector<std::string>> {
        CUSTOS_ASSIGN_OR_RETURN(SortedUsers users, FilteredUsers(call->req, state));
        std::vector<std::string> ids;
        ids.reserve(users.size());
        for (const auto& [key, u] : users) ids.push_back(u->id);
        return ids;
      });
  if (!selected.ok()) return call->Fail(selected.error());
  if (!selected->ok()) return call->Fail(selected->error());
  auto ids = std::make_shared<std::vector<std::string>>(std::move(**selected));
  Execute(call, iam::RecordUserExport{ids->size()},
          [ids](const iam::TenantState& state, const projections::ExecuteResult&) -> HttpResponse {
            std::string csv =
                "id,email,first_name,last_name,phone,department,kind,status,roles,groups,tags,"
                "created_at,last_active_at\r\n";
            for (const std::string& id : *ids) {
              const iam::User* u = state.FindUser(id);
              if (u == nullptr) continue;
              const iam::Subject subject{iam::SubjectType::kUser, u->id};
              std::string roles;
              for (const std::string& b : state.BindingsOf(subject)) {
                const iam::Binding* binding = state.FindBinding(b);
                // The roles column holds what the import binds: roles at the tenant root.
                if (binding == nullptr || binding->scope != iam::kRootNode) continue;
                const iam::Role* role = state.FindRole(binding->role_id);
                if (role == nullptr) continue;
                if (!roles.empty()) roles += ';';
                roles += EscapeListItem(role->name);
              }
              std::string groups;
              for (const std::string& g : state.GroupsOf(subject)) {
                const iam::Group* group = state.FindGroup(g);
                if (group == nullptr) continue;
                if (!groups.empty()) groups += ';';
                groups += EscapeListItem(group->name);
              }
              std::string tags;
              for (const auto& [k, v] : u->tags) {
                if (!tags.empty()) tags += ';';
                tags += EscapeListItem(k) + "=" + EscapeListItem(v);
              }
              const std::string fields[] = {
                  u->id,
                  u->profile.email,
                  u->profile.first_name,
                  u->profile.last_name,
                  u->profile.phone,
                  u->profile.department,
                  std::string(iam::ToString(u->profile.kind)),
                  std::string(iam::ToString(u->status)),
                  roles,
                  groups,
                  tags,
                  core::FormatTime(u->created_at),
                  u->last_active_at ? core::FormatTime(*u->last_active_at) : ""};
              for (size_t i = 0; i < std::size(fields); ++i) {
                if (i > 0) csv += ',';
                AppendCsvField(csv, fields[i]);
              }
              csv += "\r\n";
            }
            HttpResponse r;
            r.content_type = "text/csv; charset=utf-8";
            r.body = std::move(csv);
            r.Header("Content-Disposition", "attachment; filename=\"users.csv\"");
            return r;
          });
}

}  // namespace

void AddUserRoutes(RouteTable& t, Services&) {
  const std::string base = "/v1/tenants/{tenant}/users";
  t.Add({"POST", base, Access::kIam, "iam.user", "create"}, CreateUserRoute);
  t.Add(RouteSpec{"GET", "/v1/tenants/{tenant}/tags", Access::kIam, "iam.user", "list"}.Query(
            "limit cursor"),
        [](const CallPtr& call) {
          ReadTenant(call, [&](const iam::TenantState& s) { return ListTags(call, s); });
        });
  t.Add(RouteSpec{"GET", base, Access::kIam, "iam.user", "list"}.Query(
            "q status kind department role_id group_id tag external_id last_active_before sort "
            "limit cursor"),
        [](const CallPtr& call) {
          ReadTenant(call, [&](const iam::TenantState& s) { return ListUsers(call, s); });
        });
  // A CSV import parses up to 64 MiB and an export renders every user: the heavy pool.
  t.Add(RouteSpec{"POST", base + ":import", Access::kIam, "iam.user", "create", Work::kHeavy}
            .Query("mode")
            .Media("text/csv"),
        ImportUsersRoute);
  t.Add(RouteSpec{"GET", base + ":export", Access::kIam, "iam.user", "read", Work::kHeavy}.Query(
            "q status kind department role_id group_id tag external_id last_active_before sort"),
        ExportUsersRoute);
  t.Add({"GET", base + "/{id}", Access::kIam, "iam.user", "read"}, GetUserRoute);
  t.Add({"PATCH", base + "/{id}", Access::kIam, "iam.user", "update"}, PatchUserRoute);
  t.Add(RouteSpec{"DELETE", base + "/{id}", Access::kIam, "iam.user", "delete"}.Query(
            "deactivate_owned_clients"),
        DeleteUserRoute);
  t.Add({"POST", base + "/{id}/activate", Access::kIam, "iam.user", "update"},
        StatusActionRoute(iam::UserAction::kActivate));
  t.Add(RouteSpec{"POST", base + "/{id}/deactivate", Access::kIam, "iam.user", "update"}.Query(
            "deactivate_owned_clients"),
        StatusActionRoute(iam::UserAction::kDeactivate));
  t.Add(RouteSpec{"POST", base + "/{id}/suspend", Access::kIam, "iam.user", "update"}.Query(
            "deactivate_owned_clients"),
        StatusActionRoute(iam::UserAction::kSuspend));
  t.Add({"POST", base + "/{id}/unlock", Access::kIam, "iam.user", "update"},
        StatusActionRoute(iam::UserAction::kUnlock));
  t.Add({"POST", base + "/{id}/reset-password", Access::kIam, "iam.user", "update"},
        ResetPasswordRoute);
  t.Add({"PUT", base + "/{id}/tags/{key}", Access::kIam, "iam.user", "update"}, PutTagRoute);
  t.Add({"DELETE", base + "/{id}/tags/{key}", Access::kIam, "iam.user", "update"}, DeleteTagRoute);
  t.Add({"GET", base + "/{id}/access", Access::kIam, "iam.user", "read"}, UserAccessRoute);
}

}  // namespace custos::api::internal
