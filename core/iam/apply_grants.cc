// The Applier for roles, groups, bindings and API clients (decide_grants.cc makes these).
#include <algorithm>

#include "core/iam/internal/applier.h"
#include "core/iam/internal/state_parts.h"
#include "core/iam/names.h"

namespace custos::core::iam::internal {

Status Applier::PutRole(const RoleData& d, bool created) {
  Role* r = FindIn(s_.roles_, d.role_id);
  if (created) {
    if (r != nullptr) return Corruption("role.created twice for " + d.role_id);
    Role role;
    role.id = d.role_id;
    role.built_in = d.built_in;
    role.created_at = time_;
    role.updated_at = time_;
    r = &s_.roles_.emplace(role.id, std::move(role)).first->second;
  } else {
    if (r == nullptr) return Unknown(type_, "role", d.role_id);
    s_.role_names_.erase(NameKey(r->name));
    Bump(*r, time_);
  }
  for (const std::string& inc : r->includes) s_.UnindexInclude(r->id, inc);
  r->name = d.name;
  r->description = d.description;
  r->permissions = d.permissions;
  r->includes = d.includes;
  for (const std::string& inc : r->includes) s_.included_by_[inc].insert(r->id);
  s_.role_names_[NameKey(r->name)] = r->id;
  s_.Touch(RecordKey('r', r->id));
  s_.RecomputeExpansions(r->id);
  return OkStatus();
}

Status Applier::operator()(const RoleCreated& e) { return PutRole(e.data, true); }
Status Applier::operator()(const RoleUpdated& e) { return PutRole(e.data, false); }

template <class Change>
Status Applier::ChangeRole(const std::string& role_id, Change&& change) {
  Role* r = FindIn(s_.roles_, role_id);
  if (r == nullptr) return Unknown(type_, "role", role_id);
  change(*r);
  Bump(*r, time_);
  s_.Touch(RecordKey('r', r->id));
  s_.RecomputeExpansions(r->id);  // an inactive included role grants nothing
  return OkStatus();
}

Status Applier::operator()(const RoleActivated& e) {
  return ChangeRole(e.data.role_id, [](Role& r) { r.status = ActiveStatus::kActive; });
}

Status Applier::operator()(const RoleDeactivated& e) {
  return ChangeRole(e.data.role_id, [](Role& r) { r.status = ActiveStatus::kInactive; });
}

Status Applier::operator()(const RoleDeleted& e) {
  Role* r = FindIn(s_.roles_, e.data.role_id);
  if (r == nullptr) return Unknown(type_, "role", e.data.role_id);
  s_.Touch(RecordKey('r', r->id));
  s_.role_names_.erase(NameKey(r->name));
  for (const std::string& inc : r->includes) s_.UnindexInclude(r->id, inc);
  const std::string id = r->id;
  s_.roles_.erase(id);
  s_.expanded_.erase(id);
  s_.RecomputeExpansions(id);  // roles that included it
  return OkStatus();
}

Status Applier::operator()(const GroupCreated& e) {
  const GroupData& d = e.data;
  if (s_.groups_.count(d.group_id) != 0) {
    return Corruption("group.created twice for " + d.group_id);
  }
  Group g;
  g.id = d.group_id;
  g.name = d.name;
  g.description = d.description;
  g.type = d.type;
  g.scope = d.scope;
  g.created_at = time_;
  g.updated_at = time_;
  s_.IndexGroup(g);
  s_.Touch(RecordKey('g', g.id));
  s_.groups_.emplace(g.id, std::move(g));
  return OkStatus();
}

template <class Change>
Status Applier::ChangeGroup(const std::string& group_id, Change&& change) {
  Group* g = FindIn(s_.groups_, group_id);
  if (g == nullptr) return Unknown(type_, "group", group_id);
  s_.Touch(RecordKey('g', g->id));
  CUSTOS_RETURN_IF_ERROR(change(*g));
  Bump(*g, time_);
  return OkStatus();
}

Status Applier::operator()(const GroupUpdated& e) {
  return ChangeGroup(e.data.group_id, [&](Group& g) {
    s_.group_names_.erase(NameKey(g.name));
    g.name = e.data.name;
    g.description = e.data.description;
    s_.group_names_[NameKey(g.name)] = g.id;
    return OkStatus();
  });
}

Status Applier::ChangeMembership(const GroupMemberData& d, bool add) {
  return ChangeGroup(d.group_id, [&](Group& g) -> Status {
    auto at = std::lower_bound(g.members.begin(), g.members.end(), d.member);
    const bool present = at != g.members.end() && *at == d.member;
    s_.Touch(MemberKey(g.id, d.member));
    if (add) {
      if (present) return Corruption("member added twice to " + g.id);
      g.members.insert(at, d.member);
      s_.member_of_[d.member.Key()].insert(g.id);
      return OkStatus();
    }
    if (!present) return Corruption("removing a non-member from " + g.id);
    g.members.erase(at);
    auto it = s_.member_of_.find(d.member.Key());
    if (it != s_.member_of_.end()) {
      it->second.erase(g.id);
      if (it->second.empty()) s_.member_of_.erase(it);
    }
    return OkStatus();
  });
}

Status Applier::operator()(const GroupMemberAdded& e) { return ChangeMembership(e.data, true); }
Status Applier::operator()(const GroupMemberRemoved& e) { return ChangeMembership(e.data, false); }

Status Applier::operator()(const GroupDeleted& e) {
  Group* g = FindIn(s_.groups_, e.data.group_id);
  if (g == nullptr) return Unknown(type_, "group", e.data.group_id);
  s_.Touch(RecordKey('g', g->id));
  for (const Subject& m : g->members) s_.Touch(MemberKey(g->id, m));
  s_.UnindexGroup(*g);
  s_.groups_.erase(g->id);
  return OkStatus();
}

Status Applier::operator()(const BindingCreated& e) {
  const BindingData& d = e.data;
  if (s_.bindings_.count(d.binding_id) != 0) {
    return Corruption("binding.created twice for " + d.binding_id);
  }
  Binding b{d.binding_id, d.subject, d.role_id, d.scope, d.system, time_, 1};
  s_.IndexBinding(b);
  s_.bindings_.emplace(b.id, std::move(b));
  s_.Touch(RecordKey('b', d.binding_id));
  return OkStatus();
}

Status Applier::operator()(const BindingDeleted& e) {
  Binding* b = FindIn(s_.bindings_, e.data.binding_id);
  if (b == nullptr) return Unknown(type_, "binding", e.data.binding_id);
  s_.UnindexBinding(*b);
  s_.bindings_.erase(e.data.binding_id);
  s_.Touch(RecordKey('b', e.data.binding_id));
  return OkStatus();
}

Status Applier::operator()(const ApiClientCreated& e) {
  const ApiClientData& d = e.data;
  if (s_.clients_.count(d.client_id) != 0) {
    return Corruption("api_client.created twice for " + d.client_id);
  }
  ApiClient c;
  c.id = d.client_id;
  c.name = d.name;
  c.description = d.description;
  c.label = d.label;
  c.owner_id = d.owner_id;
  c.created_at = time_;
  c.updated_at = time_;
  s_.client_names_[NameKey(c.name)] = c.id;
  s_.Touch(RecordKey('c', c.id));
  s_.clients_.emplace(c.id, std::move(c));
  return OkStatus();
}

template <class Change>
Status Applier::ChangeClient(const std::string& client_id, Change&& change) {
  ApiClient* c = FindIn(s_.clients_, client_id);
  if (c == nullptr) return Unknown(type_, "api client", client_id);
  s_.Touch(RecordKey('c', c->id));
  CUSTOS_RETURN_IF_ERROR(change(*c));
  Bump(*c, time_);
  return OkStatus();
}

Status Applier::operator()(const ApiClientUpdated& e) {
  return ChangeClient(e.data.client_id, [&](ApiClient& c) {
    s_.client_names_.erase(NameKey(c.name));
    c.name = e.data.name;
    c.description = e.data.description;
    c.label = e.data.label;
    c.owner_id = e.data.owner_id;
    s_.client_names_[NameKey(c.name)] = c.id;
    return OkStatus();
  });
}

Status Applier::operator()(const ApiClientActivated& e) {
  return ChangeClient(e.data.client_id, [](ApiClient& c) {
    c.status = ActiveStatus::kActive;
    return OkStatus();
  });
}

Status Applier::operator()(const ApiClientDeactivated& e) {
  return ChangeClient(e.data.client_id, [](ApiClient& c) {
    c.status = ActiveStatus::kInactive;
    ++c.session_epoch;
    return OkStatus();
  });
}

Status Applier::ChangeSecret(const ApiClientSecretData& d, bool create) {
  return ChangeClient(d.client_id, [&](ApiClient& c) -> Status {
    auto it = std::find_if(c.secrets.begin(), c.secrets.end(),
                           [&](const ClientSecret& s) { return s.key_id == d.key_id; });
    if (create) {
      if (it != c.secrets.end()) return Corruption("secret created twice: " + d.key_id);
      c.secrets.push_back(ClientSecret{d.key_id, time_, std::nullopt});
      // Whoever saw a secret keeps control of the client (older secrets stay valid).
      if (d.credential_known_by) MergeKnown(c.credential_known_by, *d.credential_known_by);
      return OkStatus();
    }
    if (it == c.secrets.end()) return Unknown(type_, "secret", d.key_id);
    c.secrets.erase(it);
    return OkStatus();
  });
}

Status Applier::operator()(const ApiClientSecretCreated& e) { return ChangeSecret(e.data, true); }
Status Applier::operator()(const ApiClientSecretRevoked& e) { return ChangeSecret(e.data, false); }

Status Applier::operator()(const ApiClientDeleted& e) {
  ApiClient* c = FindIn(s_.clients_, e.data.client_id);
  if (c == nullptr) return Unknown(type_, "api client", e.data.client_id);
  s_.Touch(RecordKey('c', c->id));
  // Whoever controlled the client keeps control of what it saw: its controllers take its
  // place in the lists it was on, so the chain survives the deletion.
  const Subject gone{SubjectType::kApiClient, c->id};
  const std::vector<Subject> above = c->credential_known_by;
  auto inherit = [&](std::vector<Subject>& known, char kind, const std::string& id) {
    if (!std::binary_search(known.begin(), known.end(), gone)) return;
    MergeKnown(known, above);
    s_.Touch(RecordKey(kind, id));
  };
  for (auto& [id, u] : s_.users_) inherit(u.credential_known_by, 'u', id);
  for (auto& [id, other] : s_.clients_) inherit(other.credential_known_by, 'c', id);
  for (auto& [id, inv] : s_.invitations_) inherit(inv.token_known_by, 'i', id);
  s_.client_names_.erase(NameKey(c->name));
  s_.clients_.erase(c->id);
  return OkStatus();
}

}  // namespace custos::core::iam::internal
