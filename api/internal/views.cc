#include "api/internal/views.h"

#include <set>

#include "core/fields.h"

namespace custos::api::internal {

using namespace core::iam;

namespace {

void Times(core::JsonWriter& w, core::Time created, core::Time updated, int64_t version) {
  w.Key("created_at");
  core::WriteValue(w, created);
  w.Key("updated_at");
  core::WriteValue(w, updated);
  w.Key("version").Int(version);
}

void WriteSubject(core::JsonWriter& w, const Subject& s) {
  w.BeginObject().Key("type").String(ToString(s.type)).Key("id").String(s.id).EndObject();
}

}  // namespace

void WriteTenant(core::JsonWriter& w, const Tenant& t, size_t seats_used) {
  w.BeginObject();
  w.Key("id").String(t.id).Key("name").String(t.name).Key("plan").String(ToString(t.plan));
  w.Key("retention_days").Int(t.retention_days);
  w.Key("seat_limit");
  core::WriteValue(w, t.seat_limit);
  w.Key("seats_used").UInt(seats_used);
  // Every setting, its default included (mfa_required is stored only once set).
  TenantSettings settings = t.settings;
  if (!settings.mfa_required) settings.mfa_required = "none";
  w.Key("settings");
  core::WriteValue(w, settings);
  w.Key("legal_hold").Bool(t.legal_hold).Key("legal_hold_reason").String(t.legal_hold_reason);
  Times(w, t.created_at, t.updated_at, t.version);
  w.EndObject();
}

void WriteUser(core::JsonWriter& w, const TenantState& s, const User& u, bool detail) {
  const UserProfile& p = u.profile;
  const Subject subject{SubjectType::kUser, u.id};
  w.BeginObject();
  w.Key("id").String(u.id).Key("email").String(p.email);
  w.Key("first_name").String(p.first_name).Key("last_name").String(p.last_name);
  w.Key("phone").String(p.phone).Key("address").String(p.address);
  w.Key("department").String(p.department);
  w.Key("external_ids");
  core::WriteValue(w, p.external_ids);
  w.Key("tags");
  core::WriteValue(w, u.tags);
  w.Key("properties");
  core::WriteValue(w, p.properties);
  w.Key("kind").String(ToString(p.kind));
  w.Key("support").Bool(p.support.value_or(false));
  w.Key("status").String(ToString(u.status));
  w.Key("must_change_password").Bool(u.must_change_password);
  // The second factor, never its secret: how many recovery codes are left to use.
  w.Key("mfa");
  if (u.mfa) {
    w.BeginObject().Key("method").String(u.mfa->method);
    w.Key("enrolled_at").String(core::FormatTime(u.mfa->enrolled_at));
    w.Key("recovery_codes_left")
        .Int(u.mfa->recovery_codes - static_cast<int>(u.mfa->recovery_used.size()));
    w.EndObject();
  } else {
    w.Null();
  }
  // The identity provider's account it signs in with (single sign-on), when linked.
  w.Key("sso");
  if (u.sso) {
    w.BeginObject().Key("issuer").String(u.sso->issuer).Key("subject").String(u.sso->subject);
    w.Key("linked_at").String(core::FormatTime(u.sso->linked_at)).EndObject();
  } else {
    w.Null();
  }
  w.Key("last_active_at");
  core::WriteValue(w, u.last_active_at);
  const std::set<std::string>& bindings = s.BindingsOf(subject);
  const std::set<std::string>& groups = s.GroupsOf(subject);
  std::set<std::string> roles;
  for (const std::string& b : bindings) {
    if (const Binding* binding = s.FindBinding(b)) roles.insert(binding->role_id);
  }
  w.Key("roles_count").UInt(roles.size()).Key("groups_count").UInt(groups.size());
  if (detail) {
    w.Key("bindings").BeginArray();
    for (const std::string& b : bindings) {
      if (const Binding* binding = s.FindBinding(b)) WriteBinding(w, *binding);
    }
    w.EndArray();
    w.Key("groups").BeginArray();
    for (const std::string& g : groups) {
      const Group* group = s.FindGroup(g);
      if (group == nullptr) continue;
      w.BeginObject().Key("id").String(group->id).Key("name").String(group->name);
      w.Key("type").String(ToString(group->type)).EndObject();
    }
    w.EndArray();
  }
  Times(w, u.created_at, u.updated_at, u.version);
  w.EndObject();
}

std::vector<std::string> RoleHolders(const TenantState& s, const std::string& role_id,
                                     SubjectType type) {
  std::set<std::string> out;
  for (const std::string& id : s.BindingsOfRole(role_id)) {
    const Binding* b = s.FindBinding(id);
    if (b == nullptr) continue;
    if (b->subject.type == type) {
      out.insert(b->subject.id);
    } else if (b->subject.type == SubjectType::kGroup) {
      if (const Group* g = s.FindGroup(b->subject.id)) {
        for (const Subject& m : g->members) {
          if (m.type == type) out.insert(m.id);
        }
      }
    }
  }
  return {out.begin(), out.end()};
}

void WriteRole(core::JsonWriter& w, const TenantState& s, const Role& r, bool detail) {
  w.BeginObject();
  w.Key("id").String(r.id).Key("name").String(r.name).Key("description").String(r.description);
  w.Key("permissions");
  core::WriteValue(w, r.permissions);
  w.Key("includes");
  core::WriteValue(w, r.includes);
  w.Key("status").String(ToString(r.status)).Key("built_in").Bool(r.built_in);
  const std::vector<std::string> users = RoleHolders(s, r.id, SubjectType::kUser);
  w.Key("users_count").UInt(users.size());
  w.Key("permissions_count").UInt(r.permissions.size());
  if (detail) {
    // Who holds it, directly or through groups, named.
    w.Key("holders").BeginObject();
    w.Key("users").BeginArray();
    for (const std::string& id : users) {
      const User* u = s.FindUser(id);
      w.BeginObject().Key("id").String(id);
      w.Key("name").String(u ? u->DisplayName() : "");
      w.Key("email").String(u ? u->profile.email : "");
      w.EndObject();
    }
    w.EndArray().Key("api_clients").BeginArray();
    for (const std::string& id : RoleHolders(s, r.id, SubjectType::kApiClient)) {
      const ApiClient* c = s.FindClient(id);
      w.BeginObject().Key("id").String(id).Key("name").String(c ? c->name : "").EndObject();
    }
    w.EndArray().EndObject();
  }
  Times(w, r.created_at, r.updated_at, r.version);
  w.EndObject();
}

void WriteGroup(core::JsonWriter& w, const TenantState& s, const Group& g, bool detail) {
  w.BeginObject();
  w.Key("id").String(g.id).Key("name").String(g.name).Key("description").String(g.description);
  w.Key("type").String(ToString(g.type)).Key("scope").String(g.scope);
  w.Key("members_count").UInt(g.members.size());
  if (detail) {
    w.Key("members").BeginArray();
    for (const Subject& m : g.members) WriteSubject(w, m);
    w.EndArray();
    w.Key("bindings").BeginArray();
    for (const std::string& b : s.BindingsOf(Subject{SubjectType::kGroup, g.id})) {
      if (const Binding* binding = s.FindBinding(b)) WriteBinding(w, *binding);
    }
    w.EndArray();
  }
  Times(w, g.created_at, g.updated_at, g.version);
  w.EndObject();
}

void WriteBinding(core::JsonWriter& w, const Binding& b) {
  w.BeginObject();
  w.Key("id").String(b.id).Key("subject");
  WriteSubject(w, b.subject);
  w.Key("role_id").String(b.role_id).Key("scope").String(b.scope).Key("system").Bool(b.system);
  w.Key("created_at");
  core::WriteValue(w, b.created_at);
  w.Key("version").Int(b.version);
  w.EndObject();
}

void WriteClient(core::JsonWriter& w, const TenantState& s, const ApiClient& c) {
  w.BeginObject();
  w.Key("id").String(c.id).Key("client_id").String(c.id).Key("name").String(c.name);
  w.Key("description").String(c.description).Key("label").String(c.label);
  w.Key("status").String(ToString(c.status));
  w.Key("owner_id");
  core::WriteValue(w, c.owner_id);
  w.Key("secrets").BeginArray();
  for (const ClientSecret& secret : c.secrets) {
    w.BeginObject().Key("key_id").String(secret.key_id).Key("created_at");
    core::WriteValue(w, secret.created_at);
    w.Key("last_used_at");
    core::WriteValue(w, secret.last_used_at);
    w.EndObject();
  }
  w.EndArray();
  w.Key("bindings").BeginArray();
  for (const std::string& b : s.BindingsOf(Subject{SubjectType::kApiClient, c.id})) {
    if (const Binding* binding = s.FindBinding(b)) WriteBinding(w, *binding);
  }
  w.EndArray();
  w.Key("last_used_at");
  core::WriteValue(w, c.last_used_at);
  Times(w, c.created_at, c.updated_at, c.version);
  w.EndObject();
}

void WriteInvitation(core::JsonWriter& w, const Invitation& i) {
  w.BeginObject();
  w.Key("id").String(i.id).Key("email").String(i.email);
  w.Key("bindings");
  core::WriteValue(w, i.bindings);
  w.Key("group_ids");
  core::WriteValue(w, i.group_ids);
  w.Key("status").String(ToString(i.status));
  w.Key("expires_at");
  core::WriteValue(w, i.expires_at);
  w.Key("user_id");
  core::WriteValue(w, i.user_id);
  w.Key("sends").Int(i.sends);
  Times(w, i.created_at, i.updated_at, i.version);
  w.EndObject();
}

void WriteNode(core::JsonWriter& w, const Node& n) {
  w.BeginObject();
  w.Key("id").String(n.id).Key("type").String(n.type).Key("name").String(n.name);
  w.Key("parent_id");
  if (n.parent_id.empty()) {
    w.Null();
  } else {
    w.String(n.parent_id);
  }
  w.Key("app").String(n.app).Key("inherit").Bool(n.inherit);
  Times(w, n.created_at, n.updated_at, n.version);
  w.EndObject();
}

void WriteProperty(core::JsonWriter& w, const PropertyDefinition& p) {
  w.BeginObject();
  w.Key("key").String(p.key).Key("type").String(ToString(p.type));
  w.Key("description").String(p.description).Key("created_at");
  core::WriteValue(w, p.created_at);
  w.EndObject();
}

void WriteGrant(core::JsonWriter& w, const TenantState& s, const GrantDetail& g) {
  w.BeginObject();
  w.Key("binding_id").String(g.binding_id);
  w.Key("via_group");
  core::WriteValue(w, g.via_group);
  // Names beside the ids, for reviews (null for a group or role no longer there).
  w.Key("via_group_name");
  const Group* group = g.via_group ? s.FindGroup(*g.via_group) : nullptr;
  if (group != nullptr) {
    w.String(group->name);
  } else {
    w.Null();
  }
  w.Key("role_id").String(g.role_id);
  w.Key("role_name");
  if (const Role* role = s.FindRole(g.role_id)) {
    w.String(role->name);
  } else {
    w.Null();
  }
  w.Key("scope").String(g.scope);
  w.Key("permission");
  core::WriteValue(w, g.permission);
  w.EndObject();
}

}  // namespace custos::api::internal
