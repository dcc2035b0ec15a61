// TenantState::Apply: an event's effect on the state, by domain (tenant, users, roles, groups,
// bindings, clients, invitations, nodes, auth), each marking the records it changed.
#include <algorithm>

#include "core/fields.h"
#include "core/iam/events.h"
#include "core/iam/internal/state_parts.h"
#include "core/iam/names.h"
#include "core/iam/state.h"

namespace custos::core::iam {

using internal::Bump;
using internal::FindIn;
using internal::MemberKey;
using internal::MergeKnown;
using internal::RecordKey;
using internal::Unknown;
namespace et = event_type;

template <class Payload>
Status TenantState::Read(const JsonValue& data, std::string_view type, Payload& out) {
  Status s = ReadValue(data, out, "");
  if (!s.ok()) {
    return Corruption(std::string(type) + " with bad data: " + s.error().message);
  }
  return OkStatus();
}

Status TenantState::Apply(std::string_view type, std::string_view data_json, Time time) {
  Result<JsonValue> data = ParseJson(data_json);
  if (!data.ok()) return Corruption(std::string(type) + ": " + data.error().message);
  return Apply(type, *data, time);
}

Status TenantState::Apply(std::string_view type, const JsonValue& data, Time time) {
  const std::string_view domain = type.substr(0, type.find('.'));
  // audit.* and application events do not change identity state.
  if (!IsCatalogType(type) || domain == "audit") return OkStatus();
  if (!exists_ && type != et::kTenantCreated) {
    return Corruption(std::string(type) + " before tenant.created");
  }
  // What a subject is granted may have changed: its cached grants are recomputed.
  if (domain == "role" || domain == "binding" || type == et::kGroupMemberAdded ||
      type == et::kGroupMemberRemoved || type == et::kGroupDeleted) {
    ++generation_;
  }
  if (domain == "tenant") return ApplyTenant(type, data, time);
  if (domain == "user") return ApplyUser(type, data, time);
  if (domain == "role") return ApplyRole(type, data, time);
  if (domain == "group") return ApplyGroup(type, data, time);
  if (domain == "binding") return ApplyBinding(type, data, time);
  if (domain == "api_client") return ApplyClient(type, data, time);
  if (domain == "invitation") return ApplyInvitation(type, data, time);
  if (domain == "environment" || domain == "project" || domain == "folder" ||
      domain == "resource") {
    return ApplyNode(type, data, time);
  }
  if (domain == "property") return ApplyProperty(type, data, time);
  return ApplyAuth(type, data, time);
}

Status TenantState::ApplyTenant(std::string_view type, const JsonValue& data, Time time) {
  if (type == et::kTenantCreated) {
    if (exists_) return Corruption("second tenant.created for " + tenant_id_);
    TenantCreatedData d;
    CUSTOS_RETURN_IF_ERROR(Read(data, type, d));
    tenant_ = Tenant{d.id, d.name, d.plan, d.retention_days, d.settings, false, "", std::nullopt, time, time, 1};
    exists_ = true;
  } else if (type == et::kTenantUpdated) {
    TenantUpdatedData d;
    CUSTOS_RETURN_IF_ERROR(Read(data, type, d));
    tenant_.name = d.name;
    tenant_.settings = d.settings;
    Bump(tenant_, time);
  } else if (type == et::kTenantPlanChanged) {
    TenantPlanChangedData d;
    CUSTOS_RETURN_IF_ERROR(Read(data, type, d));
    tenant_.plan = d.plan;
    tenant_.retention_days = d.retention_days;
    tenant_.seat_limit = d.seat_limit;
    Bump(tenant_, time);
  } else if (type == et::kTenantLegalHoldChanged) {
    TenantLegalHoldData d;
    CUSTOS_RETURN_IF_ERROR(Read(data, type, d));
    tenant_.legal_hold = d.enabled;
    tenant_.legal_hold_reason = d.reason;
    Bump(tenant_, time);
  } else {
    return Corruption("unknown event type " + std::string(type));
  }
  Touch("t");
  return OkStatus();
}

Status TenantState::ApplyUser(std::string_view type, const JsonValue& data, Time time) {
  if (type == et::kUserCreated) {
    UserCreatedData d;
    CUSTOS_RETURN_IF_ERROR(Read(data, type, d));
    if (users_.count(d.user_id) != 0) return Corruption("user.created twice for " + d.user_id);
    User u;
    u.id = d.user_id;
    u.profile = std::move(d.profile);
    u.tags = std::move(d.tags);
    u.must_change_password = d.must_change_password;
    u.temp_password_expires_at = d.temp_password_expires_at;
    if (d.credential_known_by) MergeKnown(u.credential_known_by, *d.credential_known_by);
    u.created_at = time;
    u.updated_at = time;
    email_index_[Lower(u.profile.email)] = u.id;
    Touch(RecordKey('u', u.id));
    seats_used_ += TakesASeat(u);
    users_.emplace(u.id, std::move(u));
    return OkStatus();
  }
  if (type == et::kUserExported) return OkStatus();

  const JsonValue* id = data.Find("user_id");
  User* u = id != nullptr && id->is_string() ? FindIn(users_, id->text()) : nullptr;
  if (u == nullptr) return Unknown(type, "user", id != nullptr ? id->text() : "");
  seats_used_ -= TakesASeat(*u);  // counted again below, as it is after the event
  if (type == et::kUserUpdated) {
    UserUpdatedData d;
    CUSTOS_RETURN_IF_ERROR(Read(data, type, d));
    if (Lower(d.profile.email) != Lower(u->profile.email)) {
      email_index_.erase(Lower(u->profile.email));
      email_index_[Lower(d.profile.email)] = u->id;
    }
    u->profile = std::move(d.profile);
  } else if (type == et::kUserActivated || type == et::kUserUnlocked) {
    u->status = UserStatus::kActive;
    u->failed_logins = 0;
    u->locked_until.reset();
  } else if (type == et::kUserDeactivated) {
    u->status = UserStatus::kDeactivated;
    ++u->session_epoch;
  } else if (type == et::kUserSuspended) {
    u->status = UserStatus::kSuspended;
    ++u->session_epoch;
  } else if (type == et::kUserLocked) {
    UserLockedData d;
    CUSTOS_RETURN_IF_ERROR(Read(data, type, d));
    u->status = UserStatus::kLocked;
    u->locked_until = d.locked_until;
  } else if (type == et::kUserDeleted) {
    u->status = UserStatus::kDeleted;
    ++u->session_epoch;
    email_index_.erase(Lower(u->profile.email));
  } else if (type == et::kUserPasswordReset) {
    UserPasswordResetData d;
    CUSTOS_RETURN_IF_ERROR(Read(data, type, d));
    u->must_change_password = true;
    u->temp_password_expires_at = d.temp_password_expires_at;
    ++u->session_epoch;
    if (d.credential_delivery == "notification") {
      u->credential_known_by.clear();  // the mail alone has the new password
    } else if (d.credential_known_by) {
      MergeKnown(u->credential_known_by, *d.credential_known_by);
    }
  } else if (type == et::kUserPasswordChanged) {
    u->must_change_password = false;
    u->temp_password_expires_at.reset();
    ++u->session_epoch;
  } else if (type == et::kUserTagSet || type == et::kUserTagRemoved) {
    UserTagData d;
    CUSTOS_RETURN_IF_ERROR(Read(data, type, d));
    if (type == et::kUserTagSet) {
      u->tags[d.key] = d.value.value_or("");
    } else {
      u->tags.erase(d.key);
    }
  } else {
    return Corruption("unknown event type " + std::string(type));
  }
  Bump(*u, time);
  IndexDue(*u);
  seats_used_ += TakesASeat(*u);
  Touch(RecordKey('u', u->id));
  return OkStatus();
}

bool TenantState::TakesASeat(const User& u) {
  return !u.profile.support.value_or(false) && u.status != UserStatus::kDeactivated &&
         u.status != UserStatus::kDeleted;
}

Status TenantState::ApplyProperty(std::string_view type, const JsonValue& data, Time time) {
  PropertyData d;
  CUSTOS_RETURN_IF_ERROR(Read(data, type, d));
  if (type == et::kPropertyDefined) {
    properties_[d.key] = PropertyDefinition{d.key, d.type, d.description, time};
  } else if (type == et::kPropertyRemoved) {
    if (properties_.erase(d.key) == 0) return Unknown(type, "property", d.key);
  } else {
    return Corruption("unknown event type " + std::string(type));
  }
  Touch(RecordKey('p', d.key));
  return OkStatus();
}

Status TenantState::ApplyRole(std::string_view type, const JsonValue& data, Time time) {
  if (type == et::kRoleCreated || type == et::kRoleUpdated) {
    RoleData d;
    CUSTOS_RETURN_IF_ERROR(Read(data, type, d));
    Role* r = FindIn(roles_, d.role_id);
    if (type == et::kRoleCreated) {
      if (r != nullptr) return Corruption("role.created twice for " + d.role_id);
      Role role;
      role.id = d.role_id;
      role.built_in = d.built_in;
      role.created_at = time;
      role.updated_at = time;
      r = &roles_.emplace(role.id, std::move(role)).first->second;
    } else {
      if (r == nullptr) return Unknown(type, "role", d.role_id);
      role_names_.erase(NameKey(r->name));
      Bump(*r, time);
    }
    for (const std::string& inc : r->includes) UnindexInclude(r->id, inc);
    r->name = d.name;
    r->description = d.description;
    r->permissions = std::move(d.permissions);
    r->includes = std::move(d.includes);
    for (const std::string& inc : r->includes) included_by_[inc].insert(r->id);
    role_names_[NameKey(r->name)] = r->id;
    Touch(RecordKey('r', r->id));
    RecomputeExpansions(r->id);
    return OkStatus();
  }
  RoleRefData d;
  CUSTOS_RETURN_IF_ERROR(Read(data, type, d));
  Role* r = FindIn(roles_, d.role_id);
  if (r == nullptr) return Unknown(type, "role", d.role_id);
  Touch(RecordKey('r', r->id));
  if (type == et::kRoleDeleted) {
    role_names_.erase(NameKey(r->name));
    for (const std::string& inc : r->includes) UnindexInclude(r->id, inc);
    const std::string id = r->id;
    roles_.erase(id);
    expanded_.erase(id);
    RecomputeExpansions(id);  // roles that included it
    return OkStatus();
  }
  if (type == et::kRoleActivated) {
    r->status = ActiveStatus::kActive;
  } else if (type == et::kRoleDeactivated) {
    r->status = ActiveStatus::kInactive;
  } else {
    return Corruption("unknown event type " + std::string(type));
  }
  Bump(*r, time);
  RecomputeExpansions(r->id);  // an inactive included role grants nothing
  return OkStatus();
}

Status TenantState::ApplyGroup(std::string_view type, const JsonValue& data, Time time) {
  if (type == et::kGroupCreated) {
    GroupData d;
    CUSTOS_RETURN_IF_ERROR(Read(data, type, d));
    if (groups_.count(d.group_id) != 0) return Corruption("group.created twice for " + d.group_id);
    Group g;
    g.id = d.group_id;
    g.name = d.name;
    g.description = d.description;
    g.type = d.type;
    g.scope = d.scope;
    g.created_at = time;
    g.updated_at = time;
    IndexGroup(g);
    Touch(RecordKey('g', g.id));
    groups_.emplace(g.id, std::move(g));
    return OkStatus();
  }
  const JsonValue* id = data.Find("group_id");
  Group* g = id != nullptr && id->is_string() ? FindIn(groups_, id->text()) : nullptr;
  if (g == nullptr) return Unknown(type, "group", id != nullptr ? id->text() : "");
  Touch(RecordKey('g', g->id));
  if (type == et::kGroupDeleted) {
    for (const Subject& m : g->members) Touch(MemberKey(g->id, m));
    UnindexGroup(*g);
    groups_.erase(g->id);
    return OkStatus();
  }
  if (type == et::kGroupUpdated) {
    GroupData d;
    CUSTOS_RETURN_IF_ERROR(Read(data, type, d));
    group_names_.erase(NameKey(g->name));
    g->name = d.name;
    g->description = d.description;
    group_names_[NameKey(g->name)] = g->id;
  } else if (type == et::kGroupMemberAdded || type == et::kGroupMemberRemoved) {
    GroupMemberData d;
    CUSTOS_RETURN_IF_ERROR(Read(data, type, d));
    auto at = std::lower_bound(g->members.begin(), g->members.end(), d.member);
    const bool present = at != g->members.end() && *at == d.member;
    Touch(MemberKey(g->id, d.member));
    if (type == et::kGroupMemberAdded) {
      if (present) return Corruption("member added twice to " + g->id);
      g->members.insert(at, d.member);
      member_of_[d.member.Key()].insert(g->id);
    } else {
      if (!present) return Corruption("removing a non-member from " + g->id);
      g->members.erase(at);
      auto it = member_of_.find(d.member.Key());
      if (it != member_of_.end()) {
        it->second.erase(g->id);
        if (it->second.empty()) member_of_.erase(it);
      }
    }
  } else {
    return Corruption("unknown event type " + std::string(type));
  }
  Bump(*g, time);
  return OkStatus();
}

Status TenantState::ApplyBinding(std::string_view type, const JsonValue& data, Time time) {
  BindingData d;
  CUSTOS_RETURN_IF_ERROR(Read(data, type, d));
  if (type == et::kBindingCreated) {
    if (bindings_.count(d.binding_id) != 0) {
      return Corruption("binding.created twice for " + d.binding_id);
    }
    Binding b{d.binding_id, d.subject, d.role_id, d.scope, d.system, time, 1};
    IndexBinding(b);
    bindings_.emplace(b.id, std::move(b));
  } else if (type == et::kBindingDeleted) {
    Binding* b = FindIn(bindings_, d.binding_id);
    if (b == nullptr) return Unknown(type, "binding", d.binding_id);
    UnindexBinding(*b);
    bindings_.erase(d.binding_id);
  } else {
    return Corruption("unknown event type " + std::string(type));
  }
  Touch(RecordKey('b', d.binding_id));
  return OkStatus();
}

Status TenantState::ApplyClient(std::string_view type, const JsonValue& data, Time time) {
  if (type == et::kApiClientCreated) {
    ApiClientData d;
    CUSTOS_RETURN_IF_ERROR(Read(data, type, d));
    if (clients_.count(d.client_id) != 0) {
      return Corruption("api_client.created twice for " + d.client_id);
    }
    ApiClient c;
    c.id = d.client_id;
    c.name = d.name;
    c.description = d.description;
    c.label = d.label;
    c.owner_id = d.owner_id;
    c.created_at = time;
    c.updated_at = time;
    client_names_[NameKey(c.name)] = c.id;
    Touch(RecordKey('c', c.id));
    clients_.emplace(c.id, std::move(c));
    return OkStatus();
  }
  const JsonValue* id = data.Find("client_id");
  ApiClient* c = id != nullptr && id->is_string() ? FindIn(clients_, id->text()) : nullptr;
  if (c == nullptr) return Unknown(type, "api client", id != nullptr ? id->text() : "");
  Touch(RecordKey('c', c->id));
  if (type == et::kApiClientDeleted) {
    // Whoever controlled the client keeps control of what it saw: its controllers take its
    // place in the lists it was on, so the chain survives the deletion.
    const Subject gone{SubjectType::kApiClient, c->id};
    const std::vector<Subject> above = c->credential_known_by;
    auto inherit = [&](std::vector<Subject>& known, char kind, const std::string& id) {
      if (!std::binary_search(known.begin(), known.end(), gone)) return;
      MergeKnown(known, above);
      Touch(RecordKey(kind, id));
    };
    for (auto& [id, u] : users_) inherit(u.credential_known_by, 'u', id);
    for (auto& [id, other] : clients_) inherit(other.credential_known_by, 'c', id);
    for (auto& [id, inv] : invitations_) inherit(inv.token_known_by, 'i', id);
    client_names_.erase(NameKey(c->name));
    clients_.erase(c->id);
    return OkStatus();
  }
  if (type == et::kApiClientUpdated) {
    ApiClientData d;
    CUSTOS_RETURN_IF_ERROR(Read(data, type, d));
    client_names_.erase(NameKey(c->name));
    c->name = d.name;
    c->description = d.description;
    c->label = d.label;
    c->owner_id = d.owner_id;
    client_names_[NameKey(c->name)] = c->id;
  } else if (type == et::kApiClientActivated) {
    c->status = ActiveStatus::kActive;
  } else if (type == et::kApiClientDeactivated) {
    c->status = ActiveStatus::kInactive;
    ++c->session_epoch;
  } else if (type == et::kApiClientSecretCreated || type == et::kApiClientSecretRevoked) {
    ApiClientSecretData d;
    CUSTOS_RETURN_IF_ERROR(Read(data, type, d));
    auto it = std::find_if(c->secrets.begin(), c->secrets.end(),
                           [&](const ClientSecret& s) { return s.key_id == d.key_id; });
    if (type == et::kApiClientSecretCreated) {
      if (it != c->secrets.end()) return Corruption("secret created twice: " + d.key_id);
      c->secrets.push_back(ClientSecret{d.key_id, time, std::nullopt});
      // Whoever saw a secret keeps control of the client (older secrets stay valid).
      if (d.credential_known_by) MergeKnown(c->credential_known_by, *d.credential_known_by);
    } else {
      if (it == c->secrets.end()) return Unknown(type, "secret", d.key_id);
      c->secrets.erase(it);
    }
  } else {
    return Corruption("unknown event type " + std::string(type));
  }
  Bump(*c, time);
  return OkStatus();
}

Status TenantState::ApplyInvitation(std::string_view type, const JsonValue& data, Time time) {
  if (type == et::kInvitationCreated) {
    InvitationData d;
    CUSTOS_RETURN_IF_ERROR(Read(data, type, d));
    if (invitations_.count(d.invitation_id) != 0) {
      return Corruption("invitation.created twice for " + d.invitation_id);
    }
    Invitation inv;
    inv.id = d.invitation_id;
    inv.email = d.email;
    inv.bindings = std::move(d.bindings);
    inv.group_ids = std::move(d.group_ids);
    inv.expires_at = d.expires_at;
    inv.ttl_days = std::chrono::duration_cast<std::chrono::hours>(d.expires_at - time).count() / 24;
    inv.invited_by = d.invited_by;
    if (d.token_known_by) MergeKnown(inv.token_known_by, *d.token_known_by);
    inv.created_at = time;
    inv.updated_at = time;
    Touch(RecordKey('i', inv.id));
    IndexDue(inv);
    invitations_.emplace(inv.id, std::move(inv));
    return OkStatus();
  }
  InvitationRefData d;
  CUSTOS_RETURN_IF_ERROR(Read(data, type, d));
  Invitation* inv = FindIn(invitations_, d.invitation_id);
  if (inv == nullptr) return Unknown(type, "invitation", d.invitation_id);
  if (type == et::kInvitationResent) {
    if (!d.expires_at) return Corruption("invitation.resent without expires_at");
    inv->expires_at = *d.expires_at;
    inv->status = InvitationStatus::kPending;
    ++inv->sends;
    if (d.credential_delivery == "notification") {
      inv->token_known_by.clear();
    } else if (d.token_known_by) {
      MergeKnown(inv->token_known_by, *d.token_known_by);
    }
  } else if (type == et::kInvitationRevoked) {
    inv->status = InvitationStatus::kRevoked;
  } else if (type == et::kInvitationExpired) {
    inv->status = InvitationStatus::kExpired;
  } else if (type == et::kInvitationAccepted) {
    inv->status = InvitationStatus::kAccepted;
    inv->user_id = d.user_id;
  } else {
    return Corruption("unknown event type " + std::string(type));
  }
  Bump(*inv, time);
  IndexDue(*inv);
  Touch(RecordKey('i', inv->id));
  return OkStatus();
}

Status TenantState::ApplyNode(std::string_view type, const JsonValue& data, Time time) {
  const std::string_view verb = type.substr(type.find('.') + 1);
  if (verb == "created" || verb == "updated") {
    NodeData d;
    CUSTOS_RETURN_IF_ERROR(Read(data, type, d));
    Node* n = FindIn(nodes_, d.node_id);
    if (verb == "created") {
      if (n != nullptr) return Corruption(std::string(type) + " twice for " + d.node_id);
      if (FindNode(d.parent_id) == nullptr) return Unknown(type, "parent", d.parent_id);
      Node node;
      node.id = d.node_id;
      node.type = d.type;
      node.parent_id = d.parent_id;
      node.created_at = time;
      node.updated_at = time;
      n = &nodes_.emplace(node.id, std::move(node)).first->second;
    } else {
      if (n == nullptr) return Unknown(type, "node", d.node_id);
      if (d.parent_id != n->parent_id && FindNode(d.parent_id) == nullptr) {
        return Unknown(type, "parent", d.parent_id);
      }
      UnindexNode(*n);
      n->parent_id = d.parent_id;  // a move
      Bump(*n, time);
    }
    n->name = d.name;
    n->app = d.app;
    n->inherit = d.inherit;
    IndexNode(*n);
    Touch(RecordKey('n', n->id));
    return OkStatus();
  }
  if (verb == "deleted") {
    NodeRefData d;
    CUSTOS_RETURN_IF_ERROR(Read(data, type, d));
    Node* n = FindIn(nodes_, d.node_id);
    if (n == nullptr) return Unknown(type, "node", d.node_id);
    UnindexNode(*n);
    nodes_.erase(d.node_id);
    Touch(RecordKey('n', d.node_id));
    return OkStatus();
  }
  return Corruption("unknown event type " + std::string(type));
}

Status TenantState::ApplyAuth(std::string_view type, const JsonValue& data, Time time) {
  PruneRevokedTokens(time);
  if (type == et::kAuthLoginSucceeded || type == et::kAuthLoginFailed) {
    LoginData d;
    CUSTOS_RETURN_IF_ERROR(Read(data, type, d));
    if (!d.user_id) return OkStatus();  // a failure for an unknown email changes nothing
    User* u = FindIn(users_, *d.user_id);
    if (u == nullptr) return Unknown(type, "user", *d.user_id);
    if (type == et::kAuthLoginSucceeded) {
      u->failed_logins = 0;
      u->last_active_at = time;
    } else {
      ++u->failed_logins;
    }
    Bump(*u, time);
    Touch(RecordKey('u', u->id));
    return OkStatus();
  }
  TokenData d;
  CUSTOS_RETURN_IF_ERROR(Read(data, type, d));
  if (type == et::kAuthTokenIssued) {
    if (d.subject.type != SubjectType::kApiClient) return OkStatus();
    ApiClient* c = FindIn(clients_, d.subject.id);
    if (c == nullptr) return Unknown(type, "api client", d.subject.id);
    c->last_used_at = time;
    for (ClientSecret& s : c->secrets) {
      if (d.key_id && s.key_id == *d.key_id) s.last_used_at = time;
    }
    Touch(RecordKey('c', c->id));
    return OkStatus();
  }
  if (type == et::kAuthTokenRevoked || type == et::kAuthLogout) {
    if (d.expires_at > time) {
      revoked_tokens_[d.jti] = d.expires_at;
      Touch(RecordKey('x', d.jti));
    }
    return OkStatus();
  }
  return Corruption("unknown event type " + std::string(type));
}

}  // namespace custos::core::iam
