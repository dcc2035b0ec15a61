// Decide for what grants access: roles, groups and their members, bindings, and API clients
// (the evaluator of access is access.cc).
#include <algorithm>

#include "core/fields.h"
#include "core/iam/credentials.h"
#include "core/iam/internal/decider.h"
#include "core/sha256.h"

namespace custos::core::iam::internal {

namespace et = event_type;

namespace {

bool IsValidTypePattern(std::string_view type) {
  if (type == "*" || type == "iam.*") return true;
  if (type.empty() || type.size() > 64) return false;
  return std::all_of(type.begin(), type.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
  });
}

constexpr std::string_view kIamTypes[] = {"iam.user",       "iam.group",      "iam.role",
                                          "iam.api_client", "iam.invitation", "iam.binding",
                                          "iam.audit",      "iam.settings"};

constexpr size_t kMaxSecretsPerClient = 10;

}  // namespace

void Decider::CheckPermissions(const std::vector<Permission>& permissions,
                               FieldChecks& checks) const {
  if (permissions.size() > 1000) return checks.Add(InvalidField("permissions", "at most 1000"));
  for (size_t i = 0; i < permissions.size(); ++i) {
    const Permission& p = permissions[i];
    const std::string at = "permissions[" + std::to_string(i) + "]";
    checks.Add(p.app.empty() ? InvalidField(at + ".app", "must be '*' or an application name")
                             : LimitText(p.app, at + ".app", 64));
    if (!IsValidTypePattern(p.resource_type)) {
      checks.Add(InvalidField(at + ".resource_type",
                              "must be a node type, '*', an IAM type or 'iam.*'"));
    } else if (p.resource_type.starts_with("iam.") && p.resource_type != "iam.*" &&
               std::find(std::begin(kIamTypes), std::end(kIamTypes), p.resource_type) ==
                   std::end(kIamTypes)) {
      checks.Add(InvalidField(at + ".resource_type", "is not an IAM type"));
    }
    checks.Add(p.resource.empty() ? InvalidField(at + ".resource", "must be '*' or a resource id")
                                  : LimitText(p.resource, at + ".resource", 128));
    if (p.level == Level::kNone) {
      checks.Add(InvalidField(at + ".level", "must be view, operate, edit, manage or admin"));
    }
  }
}

void Decider::CheckIncludes(const std::string& role_id, const std::vector<std::string>& includes,
                            FieldChecks& checks) const {
  std::set<std::string> seen;
  for (size_t i = 0; i < includes.size(); ++i) {
    const std::string at = "includes[" + std::to_string(i) + "]";
    if (s_.FindRole(includes[i]) == nullptr) {
      checks.Add(InvalidField(at, "no role " + includes[i]));
      continue;
    }
    if (!seen.insert(includes[i]).second) {
      checks.Add(InvalidField(at, "is listed twice"));
      continue;
    }
    // A cycle: the role reachable from what it would include.
    std::vector<std::string> stack = {includes[i]};
    std::set<std::string> visited;
    while (!stack.empty()) {
      const std::string id = std::move(stack.back());
      stack.pop_back();
      if (id == role_id) {
        checks.Add(InvalidField(at, "would make a cycle of included roles"));
        break;
      }
      if (!visited.insert(id).second) continue;
      if (const Role* r = s_.FindRole(id)) {
        stack.insert(stack.end(), r->includes.begin(), r->includes.end());
      }
    }
  }
}

// ---- roles ----

Result<Decision> Decider::operator()(const CreateRole& c) {
  FieldChecks checks;
  checks.Add(RequireName(c.name, "name", 200));
  checks.Add(LimitText(c.description, "description", 1000));
  CheckPermissions(c.permissions, checks);
  CheckIncludes("", c.includes, checks);  // a new role is in no cycle: nothing includes it
  CUSTOS_RETURN_IF_ERROR(std::move(checks).Take());
  if (s_.FindRoleByName(c.name) != nullptr) {
    return Error{Errc::kConflict,
                 "a role named '" + c.name + "' already exists",
                 {FieldError{"name", "is already used by a role"}}};
  }
  const std::string id = NewId("rol_", ctx_);
  Role role;
  role.id = id;
  role.name = c.name;
  role.permissions = c.permissions;
  role.includes = c.includes;
  CUSTOS_RETURN_IF_ERROR(auth_.CheckRoleBounds(role));
  Emit(et::kRoleCreated, RoleData{id, c.name, c.description, c.permissions, c.includes, false},
       Target{"role", id, c.name});
  d_.id = id;
  return Done();
}

Result<Decision> Decider::operator()(const UpdateRole& c) {
  const Role* r = s_.FindRole(c.role_id);
  if (r == nullptr) return NotFound("no role " + c.role_id);
  if (r->built_in) return Conflict("built-in role " + r->name + " cannot be edited");
  CUSTOS_RETURN_IF_ERROR(CheckIfMatch(r->version));
  RoleData u{r->id,
             c.name.value_or(r->name),
             c.description.value_or(r->description),
             c.permissions.value_or(r->permissions),
             c.includes.value_or(r->includes),
             false};
  FieldChecks checks;
  checks.Add(RequireName(u.name, "name", 200));
  checks.Add(LimitText(u.description, "description", 1000));
  CheckPermissions(u.permissions, checks);
  CheckIncludes(r->id, u.includes, checks);
  CUSTOS_RETURN_IF_ERROR(std::move(checks).Take());
  if (const Role* other = s_.FindRoleByName(u.name); other != nullptr && other->id != r->id) {
    return Error{Errc::kConflict,
                 "a role named '" + u.name + "' already exists",
                 {FieldError{"name", "is already used by a role"}}};
  }
  Role changed = *r;
  changed.permissions = u.permissions;
  changed.includes = u.includes;
  CUSTOS_RETURN_IF_ERROR(auth_.CheckRoleBounds(changed));
  // Rule 1: whoever holds it (or a role including it) gains what it adds, where it is bound.
  CUSTOS_RETURN_IF_ERROR(auth_.CheckRoleChange(changed));
  ChangeSet changes;
  changes.Add("name", r->name, u.name);
  changes.Add("description", r->description, u.description);
  changes.Add("permissions", r->permissions, u.permissions);
  changes.Add("includes", r->includes, u.includes);
  d_.id = r->id;
  if (changes.empty()) return Done();
  Emit(et::kRoleUpdated, u, Target{"role", r->id, u.name}, changes.Take());
  return Done();
}

Result<Decision> Decider::operator()(const ChangeRoleStatus& c) {
  const Role* r = s_.FindRole(c.role_id);
  if (r == nullptr) return NotFound("no role " + c.role_id);
  if (r->built_in) return Conflict("built-in role " + r->name + " cannot be changed");
  CUSTOS_RETURN_IF_ERROR(CheckIfMatch(r->version));
  d_.id = r->id;
  const ActiveStatus to = c.active ? ActiveStatus::kActive : ActiveStatus::kInactive;
  if (r->status == to) return Done();
  Role changed = *r;
  changed.status = to;
  CUSTOS_RETURN_IF_ERROR(auth_.CheckRoleChange(changed));  // reactivating grants again
  ChangeSet changes;
  changes.Add("status", r->status, to);
  Emit(c.active ? et::kRoleActivated : et::kRoleDeactivated, RoleRefData{r->id, r->name},
       RoleTarget(*r), changes.Take());
  return Done();
}

Result<Decision> Decider::operator()(const DeleteRole& c) {
  const Role* r = s_.FindRole(c.role_id);
  if (r == nullptr) return NotFound("no role " + c.role_id);
  if (r->built_in) return Conflict("built-in role " + r->name + " cannot be deleted");
  CUSTOS_RETURN_IF_ERROR(CheckIfMatch(r->version));
  for (const std::string& id : s_.BindingsOfRole(r->id)) {
    if (const Binding* b = s_.FindBinding(id)) EmitBindingDeleted(*b);
  }
  // Roles that include it stop including it.
  for (const auto& [id, other] : s_.roles()) {
    if (std::find(other.includes.begin(), other.includes.end(), r->id) == other.includes.end()) {
      continue;
    }
    RoleData u{other.id,          other.name,     other.description,
               other.permissions, other.includes, other.built_in};
    u.includes.erase(std::remove(u.includes.begin(), u.includes.end(), r->id), u.includes.end());
    ChangeSet changes;
    changes.Add("includes", other.includes, u.includes);
    Emit(et::kRoleUpdated, u, RoleTarget(other), changes.Take());
  }
  Emit(et::kRoleDeleted, RoleRefData{r->id, r->name}, RoleTarget(*r));
  d_.id = r->id;
  return Done();
}

// ---- groups ----

Result<Decision> Decider::operator()(const CreateGroup& c) {
  FieldChecks checks;
  checks.Add(RequireName(c.name, "name", 200));
  checks.Add(LimitText(c.description, "description", 1000));
  if (c.type == GroupType::kSystem) {
    checks.Add(InvalidField("type", "system groups are made by the server"));
  }
  const Node* project = c.type == GroupType::kApp ? s_.FindNode(c.scope) : nullptr;
  if (c.type == GroupType::kApp && (project == nullptr || project->type != "project")) {
    checks.Add(InvalidField("scope", "an app group belongs to a project; no project " + c.scope));
  }
  CUSTOS_RETURN_IF_ERROR(std::move(checks).Take());
  std::string scope(kRootNode);
  if (c.type == GroupType::kApp) {
    scope = project->id;
    // App groups are made by holders of manage on their project.
    CUSTOS_RETURN_IF_ERROR(auth_.Require("delete", AccessTarget::ForNode(*project)));
  } else {
    CUSTOS_RETURN_IF_ERROR(auth_.Require("create", AccessTarget::ForIam("iam.group")));
  }
  CUSTOS_RETURN_IF_ERROR(CheckGroupNameFree(c.name, "", "name"));
  GroupData g{NewId("grp_", ctx_), c.name, c.description, c.type, scope};
  Emit(et::kGroupCreated, g, Target{"group", g.group_id, g.name});
  d_.id = g.group_id;
  return Done();
}

Result<Decision> Decider::operator()(const UpdateGroup& c) {
  const Group* g = s_.FindGroup(c.group_id);
  if (g == nullptr) return NotFound("no group " + c.group_id);
  if (g->type == GroupType::kSystem)
    return Conflict("system group " + g->name + " cannot be edited");
  CUSTOS_RETURN_IF_ERROR(CheckIfMatch(g->version));
  GroupData u{g->id, c.name.value_or(g->name), c.description.value_or(g->description), g->type,
              g->scope};
  FieldChecks checks;
  checks.Add(RequireName(u.name, "name", 200));
  checks.Add(LimitText(u.description, "description", 1000));
  CUSTOS_RETURN_IF_ERROR(std::move(checks).Take());
  CUSTOS_RETURN_IF_ERROR(CheckGroupNameFree(u.name, g->id, "name"));
  ChangeSet changes;
  changes.Add("name", g->name, u.name);
  changes.Add("description", g->description, u.description);
  d_.id = g->id;
  if (changes.empty()) return Done();
  Emit(et::kGroupUpdated, u, Target{"group", g->id, u.name}, changes.Take());
  return Done();
}

Result<Decision> Decider::operator()(const DeleteGroup& c) {
  const Group* g = s_.FindGroup(c.group_id);
  if (g == nullptr) return NotFound("no group " + c.group_id);
  if (g->type == GroupType::kSystem) {
    return Conflict("system group " + g->name + " cannot be deleted");
  }
  CUSTOS_RETURN_IF_ERROR(CheckIfMatch(g->version));
  // Deleting a group removes every member's membership (rule 5 for each).
  for (const Subject& m : g->members) {
    CUSTOS_RETURN_IF_ERROR(auth_.CheckActOn(m, "remove (by deleting group " + g->name + ") " +
                                                   "a group membership of"));
  }
  EmitGroupDeletion(*g);
  for (const Subject& m : g->members) NotifyMembership(*g, m, "removed");
  d_.id = g->id;
  return Done();
}

Result<Decision> Decider::operator()(const AddGroupMembers& c) {
  const Group* g = s_.FindGroup(c.group_id);
  if (g == nullptr) return NotFound("no group " + c.group_id);
  CUSTOS_RETURN_IF_ERROR(CheckIfMatch(g->version));
  if (c.members.empty()) return InvalidField("members", "must not be empty");
  if (c.members.size() > 1000) return InvalidField("members", "at most 1000 per call");
  std::set<Subject> added;
  FieldChecks checks;
  for (size_t i = 0; i < c.members.size(); ++i) {
    const Subject& m = c.members[i];
    const std::string at = "members[" + std::to_string(i) + "]";
    if (m.type == SubjectType::kUser) {
      const User* u = s_.FindUser(m.id);
      if (u == nullptr || u->status == UserStatus::kDeleted) {
        checks.Add(InvalidField(at + ".id", "no user " + m.id));
      }
    } else if (m.type == SubjectType::kApiClient) {
      if (s_.FindClient(m.id) == nullptr) checks.Add(InvalidField(at + ".id", "no API client " + m.id));
    } else {
      checks.Add(InvalidField(at + ".type", "must be user or api_client"));
    }
  }
  CUSTOS_RETURN_IF_ERROR(std::move(checks).Take());
  for (size_t i = 0; i < c.members.size(); ++i) {
    const Subject& m = c.members[i];
    if (std::binary_search(g->members.begin(), g->members.end(), m)) continue;
    if (!added.insert(m).second) continue;
    static const std::vector<Subject> kNobody;
    const User* u = m.type == SubjectType::kUser ? s_.FindUser(m.id) : nullptr;
    CUSTOS_RETURN_IF_ERROR(auth_.CheckAddMember(*g, m, u ? u->credential_known_by : kNobody,
                                                "members[" + std::to_string(i) + "]"));
    Emit(et::kGroupMemberAdded, GroupMemberData{g->id, m}, GroupTarget(*g));
    NotifyMembership(*g, m, "added");
  }
  d_.id = g->id;
  return Done();
}

Result<Decision> Decider::operator()(const RemoveGroupMember& c) {
  const Group* g = s_.FindGroup(c.group_id);
  if (g == nullptr) return NotFound("no group " + c.group_id);
  CUSTOS_RETURN_IF_ERROR(CheckIfMatch(g->version));
  auto it = std::find_if(g->members.begin(), g->members.end(),
                         [&](const Subject& m) { return m.id == c.member_id; });
  if (it == g->members.end()) return NotFound(c.member_id + " is not a member of " + g->id);
  CUSTOS_RETURN_IF_ERROR(auth_.CheckActOn(*it, "remove a group membership of"));
  Emit(et::kGroupMemberRemoved, GroupMemberData{g->id, *it}, GroupTarget(*g));
  NotifyMembership(*g, *it, "removed");
  d_.id = g->id;
  return Done();
}

// ---- bindings ----

Result<Decision> Decider::operator()(const CreateBinding& c) {
  FieldChecks checks;
  switch (c.subject.type) {
    case SubjectType::kUser: {
      const User* u = s_.FindUser(c.subject.id);
      if (u == nullptr || u->status == UserStatus::kDeleted) {
        checks.Add(InvalidField("subject.id", "no user " + c.subject.id));
      }
      break;
    }
    case SubjectType::kGroup:
      if (s_.FindGroup(c.subject.id) == nullptr) {
        checks.Add(InvalidField("subject.id", "no group " + c.subject.id));
      }
      break;
    case SubjectType::kApiClient:
      if (s_.FindClient(c.subject.id) == nullptr) {
        checks.Add(InvalidField("subject.id", "no API client " + c.subject.id));
      }
      break;
  }
  if (s_.FindRole(c.role_id) == nullptr) checks.Add(InvalidField("role_id", "no role " + c.role_id));
  if (s_.FindNode(c.scope) == nullptr) checks.Add(InvalidField("scope", "no node " + c.scope));
  CUSTOS_RETURN_IF_ERROR(std::move(checks).Take());
  for (const std::string& id : s_.BindingsOf(c.subject)) {
    const Binding* b = s_.FindBinding(id);
    if (b != nullptr && b->role_id == c.role_id && b->scope == c.scope) {
      return Conflict("the subject already holds this role at this scope (" + b->id + ")");
    }
  }
  CUSTOS_RETURN_IF_ERROR(CheckGrants({Grant{c.role_id, c.scope}}, "binding"));
  d_.id.clear();
  EmitBinding(c.subject, c.role_id, c.scope, false);
  return Done();
}

Result<Decision> Decider::operator()(const DeleteBinding& c) {
  const Binding* b = s_.FindBinding(c.binding_id);
  if (b == nullptr) return NotFound("no binding " + c.binding_id);
  if (b->system) return Conflict("binding " + b->id + " belongs to a system group");
  CUSTOS_RETURN_IF_ERROR(CheckIfMatch(b->version));
  // Taking a binding away acts on whoever holds it, as removing a membership does (rule 5).
  if (b->subject.type == SubjectType::kGroup) {
    if (const Group* g = s_.FindGroup(b->subject.id)) {
      for (const Subject& m : g->members) {
        CUSTOS_RETURN_IF_ERROR(auth_.CheckActOn(m, "take a binding away from"));
      }
    }
  } else {
    CUSTOS_RETURN_IF_ERROR(auth_.CheckActOn(b->subject, "take a binding away from"));
  }
  EmitBindingDeleted(*b);
  d_.id = b->id;
  return Done();
}

// ---- API clients ----

Result<Decision> Decider::operator()(const CreateClient& c) {
  std::optional<std::string> owner = c.owner_id;
  if (!owner && ctx_.caller && ctx_.caller->type == SubjectType::kUser) owner = ctx_.caller->id;
  if (owner && owner->empty()) owner.reset();
  FieldChecks checks;
  checks.Add(RequireName(c.name, "name", 200));
  checks.Add(LimitText(c.description, "description", 1000));
  checks.Add(LimitText(c.label, "label", 200));
  checks.Add(CheckOwner(owner));
  CUSTOS_RETURN_IF_ERROR(std::move(checks).Take());
  if (s_.FindClientByName(c.name) != nullptr) {
    return Error{Errc::kConflict,
                 "an API client named '" + c.name + "' already exists",
                 {FieldError{"name", "is already used by an API client"}}};
  }
  CUSTOS_RETURN_IF_ERROR(RequireGrantRights(!c.bindings.empty(), false));
  CUSTOS_RETURN_IF_ERROR(CheckGrants(c.bindings, "bindings"));
  const std::string id = NewId("cli_", ctx_);
  const Subject subject{SubjectType::kApiClient, id};
  CUSTOS_ASSIGN_OR_RETURN(
      const CredentialDelivery delivery,
      DeliveryFor(auth_.Outranks(subject, auth_.GrantsOfRequest(c.bindings, {})), "new client",
                  false));
  Emit(et::kApiClientCreated, ApiClientData{id, c.name, c.description, c.label, owner},
       Target{"api_client", id, c.name});
  const std::string key_id = NewId("key_", ctx_);
  Emit(et::kApiClientSecretCreated,
       ApiClientSecretData{id, key_id, std::string(ToString(delivery)), KnownTo(delivery)},
       Target{"api_client", id, c.name});
  for (const Grant& g : c.bindings) EmitBinding(subject, g.role_id, g.scope, false);
  IssueClientSecret(id, c.name, key_id, delivery);
  return Done();
}

Result<Decision> Decider::operator()(const UpdateClient& c) {
  const ApiClient* client = s_.FindClient(c.client_id);
  if (client == nullptr) return NotFound("no API client " + c.client_id);
  CUSTOS_RETURN_IF_ERROR(CheckIfMatch(client->version));
  std::optional<std::string> owner = client->owner_id;
  if (c.owner_id) owner = c.owner_id->empty() ? std::nullopt : c.owner_id;
  ApiClientData u{client->id, c.name.value_or(client->name),
                  c.description.value_or(client->description), c.label.value_or(client->label),
                  owner};
  FieldChecks checks;
  if (owner != client->owner_id) checks.Add(CheckOwner(owner));
  checks.Add(RequireName(u.name, "name", 200));
  checks.Add(LimitText(u.description, "description", 1000));
  checks.Add(LimitText(u.label, "label", 200));
  CUSTOS_RETURN_IF_ERROR(std::move(checks).Take());
  if (const ApiClient* other = s_.FindClientByName(u.name);
      other != nullptr && other->id != client->id) {
    return Error{Errc::kConflict,
                 "an API client named '" + u.name + "' already exists",
                 {FieldError{"name", "is already used by an API client"}}};
  }
  ChangeSet changes;
  changes.Add("name", client->name, u.name);
  changes.Add("description", client->description, u.description);
  changes.Add("label", client->label, u.label);
  changes.Add("owner_id", client->owner_id.value_or(""), owner.value_or(""));
  d_.id = client->id;
  if (changes.empty()) return Done();
  Emit(et::kApiClientUpdated, u, Target{"api_client", client->id, u.name}, changes.Take());
  return Done();
}

Status Decider::CheckOwner(const std::optional<std::string>& owner) const {
  if (!owner) return OkStatus();
  const User* u = s_.FindUser(*owner);
  if (u == nullptr || u->status == UserStatus::kDeleted) {
    return InvalidField("owner_id", "must be a user of the tenant");
  }
  return OkStatus();
}

Result<Decision> Decider::operator()(const ChangeClientStatus& c) {
  const ApiClient* client = s_.FindClient(c.client_id);
  if (client == nullptr) return NotFound("no API client " + c.client_id);
  CUSTOS_RETURN_IF_ERROR(CheckIfMatch(client->version));
  d_.id = client->id;
  const ActiveStatus to = c.active ? ActiveStatus::kActive : ActiveStatus::kInactive;
  if (client->status == to) return Done();
  CUSTOS_RETURN_IF_ERROR(auth_.CheckActOn(Subject{SubjectType::kApiClient, client->id},
                                          c.active ? "activate" : "deactivate"));
  ChangeSet changes;
  changes.Add("status", client->status, to);
  Emit(c.active ? et::kApiClientActivated : et::kApiClientDeactivated,
       ApiClientRefData{client->id, client->name}, ClientTarget(*client), changes.Take());
  return Done();
}

Result<Decision> Decider::operator()(const DeleteClient& c) {
  const ApiClient* client = s_.FindClient(c.client_id);
  if (client == nullptr) return NotFound("no API client " + c.client_id);
  CUSTOS_RETURN_IF_ERROR(CheckIfMatch(client->version));
  CUSTOS_RETURN_IF_ERROR(auth_.CheckActOn(Subject{SubjectType::kApiClient, client->id}, "delete"));
  EmitSubjectRemoval(Subject{SubjectType::kApiClient, client->id});
  Emit(et::kApiClientDeleted, ApiClientRefData{client->id, client->name}, ClientTarget(*client));
  for (const ClientSecret& s : client->secrets) {
    d_.credentials.Delete(Space::kCredentials,
                          ClientSecretKey(s_.tenant_id(), client->id, s.key_id));
  }
  d_.id = client->id;
  return Done();
}

Result<Decision> Decider::operator()(const CreateClientSecret& c) {
  const ApiClient* client = s_.FindClient(c.client_id);
  if (client == nullptr) return NotFound("no API client " + c.client_id);
  CUSTOS_RETURN_IF_ERROR(CheckIfMatch(client->version));
  if (client->secrets.size() >= kMaxSecretsPerClient) {
    return Conflict("API client " + client->id + " has " + std::to_string(kMaxSecretsPerClient) +
                    " secrets; revoke one first");
  }
  // Rule 4: the new secret goes to the caller only if it outranks the client.
  CUSTOS_ASSIGN_OR_RETURN(
      const CredentialDelivery delivery,
      DeliveryFor(auth_.Outranks(Subject{SubjectType::kApiClient, client->id}), "API client",
                  false));
  const std::string key_id = NewId("key_", ctx_);
  Emit(et::kApiClientSecretCreated,
       ApiClientSecretData{client->id, key_id, std::string(ToString(delivery)),
                           KnownTo(delivery)},
       ClientTarget(*client));
  IssueClientSecret(client->id, client->name, key_id, delivery);
  return Done();
}

Result<Decision> Decider::operator()(const RevokeClientSecret& c) {
  const ApiClient* client = s_.FindClient(c.client_id);
  if (client == nullptr) return NotFound("no API client " + c.client_id);
  CUSTOS_RETURN_IF_ERROR(CheckIfMatch(client->version));
  const bool known = std::any_of(client->secrets.begin(), client->secrets.end(),
                                 [&](const ClientSecret& s) { return s.key_id == c.key_id; });
  if (!known) return NotFound("API client " + client->id + " has no secret " + c.key_id);
  // Cutting another principal off is acting on it (rule 5); a client may drop its own.
  const Subject subject{SubjectType::kApiClient, client->id};
  if (ctx_.caller != subject) {
    CUSTOS_RETURN_IF_ERROR(auth_.CheckActOn(subject, "revoke a secret of"));
  }
  Emit(et::kApiClientSecretRevoked, ApiClientSecretData{client->id, c.key_id},
       ClientTarget(*client));
  d_.credentials.Delete(Space::kCredentials, ClientSecretKey(s_.tenant_id(), client->id, c.key_id));
  d_.id = client->id;
  return Done();
}

}  // namespace custos::core::iam::internal
