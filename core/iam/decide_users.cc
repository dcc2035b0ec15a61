// Decide for users, their properties and credentials, logins and tokens, and invitations.
#include <algorithm>

#include "core/fields.h"
#include "core/iam/credentials.h"
#include "core/iam/internal/decider.h"
#include "core/sha256.h"

namespace custos::core::iam::internal {

namespace et = event_type;

namespace {

Status CheckStringMap(const std::map<std::string, std::string>& map, const std::string& field,
                      size_t max_value) {
  for (const auto& [key, value] : map) {
    if (key.empty()) return InvalidField(field, "keys must not be empty");
    CUSTOS_RETURN_IF_ERROR(LimitText(key, field + "." + key, 128));
    CUSTOS_RETURN_IF_ERROR(LimitText(value, field + "." + key, max_value));
  }
  return OkStatus();
}

Status CheckProfile(const UserProfile& p) {
  if (!IsValidEmail(p.email)) return InvalidField("email", "must be a valid email address");
  CUSTOS_RETURN_IF_ERROR(RequireText(p.first_name, "first_name", 200));
  CUSTOS_RETURN_IF_ERROR(RequireText(p.last_name, "last_name", 200));
  CUSTOS_RETURN_IF_ERROR(LimitText(p.phone, "phone", 64));
  CUSTOS_RETURN_IF_ERROR(LimitText(p.address, "address", 1000));
  CUSTOS_RETURN_IF_ERROR(LimitText(p.department, "department", 200));
  return CheckStringMap(p.external_ids, "external_ids", 256);
}

bool IsValidPropertyKey(std::string_view key) {
  if (key.empty() || key.size() > 64) return false;
  if (!((key[0] >= 'a' && key[0] <= 'z') || (key[0] >= 'A' && key[0] <= 'Z'))) return false;
  return std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
  });
}

}  // namespace

Result<Decision> Decider::operator()(const CreateUser& c) {
  UserProfile profile{c.email,      c.first_name,   c.last_name,  c.phone, c.address,
                      c.department, c.external_ids, c.properties, c.kind};
  CUSTOS_RETURN_IF_ERROR(CheckProfile(profile));
  CUSTOS_RETURN_IF_ERROR(CheckStringMap(c.tags, "tags", 1024));
  for (const auto& [key, value] : c.tags) {
    if (value.empty()) return InvalidField("tags." + key, "must not be empty");
  }
  CUSTOS_RETURN_IF_ERROR(CheckProperties(c.properties, "properties"));
  for (const auto& [key, value] : c.properties) {
    if (value.is_null()) return InvalidField("properties." + key, "must not be null");
  }
  if (s_.FindUserByEmail(c.email) != nullptr) {
    return Error{Errc::kConflict,
                 "a user with email " + c.email + " already exists",
                 {FieldError{"email", "is already used"}}};
  }
  if (c.kind == UserKind::kAdmin && !IsRoot()) {
    // An admin user may do anything: only a caller that may bind every role may make one.
    std::string why;
    const Role* tenant_admin = s_.FindRoleByName("Tenant Admin");
    if (tenant_admin == nullptr ||
        !AccessEvaluator(s_, ctx_.now).CanBind(*ctx_.caller, *tenant_admin, kRootNode, &why)) {
      return Error{Errc::kPermissionDenied,
                   "may not create an admin user: " + why,
                   {FieldError{"kind", why}}};
    }
  }
  CUSTOS_RETURN_IF_ERROR(CheckGrants(c.bindings, "bindings"));
  CUSTOS_RETURN_IF_ERROR(CheckGroupIds(c.group_ids, "group_ids"));

  const std::string id = NewId("usr_", ctx_);
  const Time expires = ctx_.now + std::chrono::hours(s_.tenant().settings.temp_password_ttl_hours);
  UserCreatedData data{id, profile, c.tags, expires, true, std::nullopt};
  const std::string name = c.first_name + " " + c.last_name;
  Emit(et::kUserCreated, data, Target{"user", id, name});
  const Subject subject{SubjectType::kUser, id};
  d_.id = id;
  for (const Grant& g : c.bindings) EmitBinding(subject, g.role_id, g.scope, false);
  std::set<std::string> seen;
  for (const std::string& gid : c.group_ids) {
    if (!seen.insert(gid).second) continue;
    Emit(et::kGroupMemberAdded, GroupMemberData{gid, subject}, GroupTarget(*s_.FindGroup(gid)));
  }
  d_.id = id;
  d_.secret = IssueTemporaryPassword(id, c.email, name, expires);
  return Done();
}

Result<Decision> Decider::operator()(const UpdateUser& c) {
  const User* u = s_.FindUser(c.user_id);
  if (u == nullptr) return NotFound("no user " + c.user_id);
  if (u->status == UserStatus::kDeleted) return Conflict("user " + c.user_id + " is deleted");
  CUSTOS_RETURN_IF_ERROR(CheckIfMatch(u->version));
  UserProfile p = u->profile;
  if (c.email) p.email = *c.email;
  if (c.first_name) p.first_name = *c.first_name;
  if (c.last_name) p.last_name = *c.last_name;
  if (c.phone) p.phone = *c.phone;
  if (c.address) p.address = *c.address;
  if (c.department) p.department = *c.department;
  if (c.external_ids) p.external_ids = *c.external_ids;
  if (c.kind) p.kind = *c.kind;
  if (c.properties) {
    CUSTOS_RETURN_IF_ERROR(CheckProperties(*c.properties, "properties"));
    for (const auto& [key, value] : *c.properties) {
      if (value.is_null()) {
        p.properties.erase(key);
      } else {
        p.properties[key] = value;
      }
    }
  }
  CUSTOS_RETURN_IF_ERROR(CheckProfile(p));
  if (Lower(p.email) != Lower(u->profile.email) && s_.FindUserByEmail(p.email) != nullptr) {
    return Error{Errc::kConflict,
                 "a user with email " + p.email + " already exists",
                 {FieldError{"email", "is already used"}}};
  }
  if (p.kind == UserKind::kAdmin && u->profile.kind != UserKind::kAdmin && !IsRoot()) {
    std::string why;
    const Role* tenant_admin = s_.FindRoleByName("Tenant Admin");
    if (tenant_admin == nullptr ||
        !AccessEvaluator(s_, ctx_.now).CanBind(*ctx_.caller, *tenant_admin, kRootNode, &why)) {
      return Error{
          Errc::kPermissionDenied, "may not make an admin user: " + why, {FieldError{"kind", why}}};
    }
  }
  ChangeSet changes;
  changes.Add("email", u->profile.email, p.email);
  changes.Add("first_name", u->profile.first_name, p.first_name);
  changes.Add("last_name", u->profile.last_name, p.last_name);
  changes.Add("phone", u->profile.phone, p.phone);
  changes.Add("address", u->profile.address, p.address);
  changes.Add("department", u->profile.department, p.department);
  changes.Add("external_ids", u->profile.external_ids, p.external_ids);
  changes.Add("properties", u->profile.properties, p.properties);
  changes.Add("kind", u->profile.kind, p.kind);
  d_.id = u->id;
  if (changes.empty()) return Done();
  const std::string name = p.first_name + " " + p.last_name;
  Emit(et::kUserUpdated, UserUpdatedData{u->id, p}, Target{"user", u->id, name}, changes.Take());
  return Done();
}

Result<Decision> Decider::operator()(const ChangeUserStatus& c) {
  const User* u = s_.FindUser(c.user_id);
  if (u == nullptr || (u->status == UserStatus::kDeleted && c.action == UserAction::kDelete)) {
    return NotFound("no user " + c.user_id);
  }
  if (u->status == UserStatus::kDeleted) return Conflict("user " + c.user_id + " is deleted");
  CUSTOS_RETURN_IF_ERROR(CheckIfMatch(u->version));
  CUSTOS_RETURN_IF_ERROR(LimitText(c.reason, "reason", 1000));
  d_.id = u->id;
  const UserRefData ref{u->id, c.reason};
  const Target target = UserTarget(*u);
  auto status_change = [&](UserStatus to) {
    ChangeSet changes;
    changes.Add("status", u->status, to);
    return changes.Take();
  };
  switch (c.action) {
    case UserAction::kActivate:
      if (u->status == UserStatus::kActive) return Done();
      if (u->status == UserStatus::kLocked) {
        return Conflict("user " + u->id + " is locked: unlock it instead");
      }
      Emit(et::kUserActivated, ref, target, status_change(UserStatus::kActive));
      return Done();
    case UserAction::kDeactivate:
      if (u->status == UserStatus::kDeactivated) return Done();
      Emit(et::kUserDeactivated, ref, target, status_change(UserStatus::kDeactivated));
      return Done();
    case UserAction::kSuspend:
      if (u->status == UserStatus::kSuspended) return Done();
      if (u->status == UserStatus::kDeactivated) {
        return Conflict("user " + u->id + " is deactivated");
      }
      Emit(et::kUserSuspended, ref, target, status_change(UserStatus::kSuspended));
      return Done();
    case UserAction::kUnlock:
      if (u->status != UserStatus::kLocked) {
        if (u->status == UserStatus::kActive && u->failed_logins == 0) return Done();
        if (u->status != UserStatus::kActive) {
          return Conflict("user " + u->id + " is " + std::string(ToString(u->status)) +
                          ", not locked");
        }
      }
      Emit(et::kUserUnlocked, ref, target, status_change(UserStatus::kActive));
      return Done();
    case UserAction::kDelete:
      EmitSubjectRemoval(Subject{SubjectType::kUser, u->id});
      Emit(et::kUserDeleted, ref, target, status_change(UserStatus::kDeleted));
      d_.credentials.Delete(Space::kCredentials, PasswordKey(s_.tenant_id(), u->id));
      return Done();
  }
  return Internal("unknown user action");
}

Result<Decision> Decider::operator()(const ResetPassword& c) {
  const User* u = s_.FindUser(c.user_id);
  if (u == nullptr) return NotFound("no user " + c.user_id);
  if (u->status == UserStatus::kDeleted) return Conflict("user " + c.user_id + " is deleted");
  CUSTOS_RETURN_IF_ERROR(CheckIfMatch(u->version));
  const Time expires = ctx_.now + std::chrono::hours(s_.tenant().settings.temp_password_ttl_hours);
  Emit(et::kUserPasswordReset, UserPasswordResetData{u->id, expires}, UserTarget(*u));
  d_.id = u->id;
  d_.secret = IssueTemporaryPassword(u->id, u->profile.email, u->DisplayName(), expires);
  return Done();
}

Result<Decision> Decider::operator()(const SetUserTag& c) {
  const User* u = s_.FindUser(c.user_id);
  if (u == nullptr) return NotFound("no user " + c.user_id);
  if (u->status == UserStatus::kDeleted) return Conflict("user " + c.user_id + " is deleted");
  CUSTOS_RETURN_IF_ERROR(CheckIfMatch(u->version));
  CUSTOS_RETURN_IF_ERROR(RequireText(c.key, "key", 128));
  CUSTOS_RETURN_IF_ERROR(RequireText(c.value, "value", 1024));
  d_.id = u->id;
  auto it = u->tags.find(c.key);
  if (it != u->tags.end() && it->second == c.value) return Done();
  ChangeSet changes;
  changes.Add(c.key, it == u->tags.end() ? std::optional<std::string>() : it->second,
              std::optional<std::string>(c.value));
  Emit(et::kUserTagSet, UserTagData{u->id, c.key, c.value}, UserTarget(*u), changes.Take());
  return Done();
}

Result<Decision> Decider::operator()(const RemoveUserTag& c) {
  const User* u = s_.FindUser(c.user_id);
  if (u == nullptr) return NotFound("no user " + c.user_id);
  if (u->status == UserStatus::kDeleted) return Conflict("user " + c.user_id + " is deleted");
  CUSTOS_RETURN_IF_ERROR(CheckIfMatch(u->version));
  CUSTOS_RETURN_IF_ERROR(RequireText(c.key, "key", 128));
  auto it = u->tags.find(c.key);
  if (it == u->tags.end()) return NotFound("user " + u->id + " has no tag " + c.key);
  ChangeSet changes;
  changes.Add(c.key, std::optional<std::string>(it->second), std::optional<std::string>());
  Emit(et::kUserTagRemoved, UserTagData{u->id, c.key, std::nullopt}, UserTarget(*u),
       changes.Take());
  d_.id = u->id;
  return Done();
}

Result<Decision> Decider::operator()(const ChangePassword& c) {
  const User* u = s_.FindUser(c.user_id);
  if (u == nullptr) return NotFound("no user " + c.user_id);
  if (EffectiveStatus(*u, ctx_.now) != UserStatus::kActive) {
    return Error{Errc::kUnauthenticated, "user " + u->id + " is not active", {}};
  }
  const int min = s_.tenant().settings.password_min_length;
  if (c.password_length < static_cast<size_t>(min)) {
    return InvalidField("new_password", "must be at least " + std::to_string(min) + " characters");
  }
  if (c.password_hash.empty()) return Internal("ChangePassword without a hash");
  Emit(et::kUserPasswordChanged, UserRefData{u->id, ""}, UserTarget(*u));
  d_.credentials.Put(Space::kCredentials, PasswordKey(s_.tenant_id(), u->id),
                     ToJson(PasswordCredential{std::string(kArgon2id), c.password_hash, ctx_.now}));
  d_.id = u->id;
  return Done();
}

Result<Decision> Decider::operator()(const RecordLogin& c) {
  if (!c.user_id) {
    Emit(et::kAuthLoginFailed, LoginData{std::nullopt, c.email, c.reason}, std::nullopt);
    return Done();
  }
  const User* u = s_.FindUser(*c.user_id);
  if (u == nullptr) return NotFound("no user " + *c.user_id);
  const Target target = UserTarget(*u);
  d_.id = u->id;
  if (c.succeeded) {
    if (u->status == UserStatus::kLocked) {
      // A lock that ran out: record that it is over.
      Emit(et::kUserUnlocked, UserRefData{u->id, "lock expired"}, target);
    }
    Emit(et::kAuthLoginSucceeded, LoginData{u->id, u->profile.email, ""}, target);
    return Done();
  }
  Emit(et::kAuthLoginFailed, LoginData{u->id, u->profile.email, c.reason}, target);
  const TenantSettings& settings = s_.tenant().settings;
  if (EffectiveStatus(*u, ctx_.now) == UserStatus::kActive &&
      u->failed_logins + 1 >= settings.lockout_threshold) {
    std::optional<Time> until;
    if (settings.lockout_minutes > 0)
      until = ctx_.now + std::chrono::minutes(settings.lockout_minutes);
    ChangeSet changes;
    changes.Add("status", u->status, UserStatus::kLocked);
    Emit(et::kUserLocked,
         UserLockedData{u->id, until,
                        std::to_string(u->failed_logins + 1) + " consecutive failed logins"},
         target, changes.Take());
  }
  return Done();
}

Result<Decision> Decider::operator()(const ImportUsers& c) {
  constexpr size_t kMaxRows = 50'000;
  if (c.users.empty()) return InvalidField("rows", "the import has no rows");
  if (c.users.size() > kMaxRows) {
    return InvalidField("rows", "at most " + std::to_string(kMaxRows) + " rows per import");
  }
  Decision all;
  std::set<std::string> emails;
  std::vector<FieldError> failures;
  for (size_t i = 0; i < c.users.size(); ++i) {
    const size_t line = i < c.lines.size() ? c.lines[i] : i + 2;
    Decider row(s_, ctx_);
    Result<Decision> one = row(c.users[i]);
    std::string why;
    if (!one.ok()) {
      why = one.error().message;
    } else if (!emails.insert(Lower(c.users[i].email)).second) {
      why = "email " + c.users[i].email + " appears twice in the import";
    }
    if (!why.empty()) {
      all.rejected.emplace_back(line, why);
      failures.push_back(FieldError{"line " + std::to_string(line), why});
      continue;
    }
    Decision d = std::move(one).value();
    for (DomainEvent& e : d.events) all.events.push_back(std::move(e));
    for (const KvWrite& w : d.credentials.writes()) {
      all.credentials.Put(w.space, w.key, w.value);
    }
    for (Notification& n : d.notifications) all.notifications.push_back(std::move(n));
    ++all.created;
  }
  if (c.all_or_nothing && !failures.empty()) {
    return Error{Errc::kInvalidArgument,
                 std::to_string(failures.size()) + " of " + std::to_string(c.users.size()) +
                     " rows are invalid; nothing was imported",
                 std::move(failures)};
  }
  return all;
}

Result<Decision> Decider::operator()(const RecordUserExport& c) {
  Emit(et::kUserExported, UserExportedData{c.count}, std::nullopt);
  return Done();
}

Result<Decision> Decider::operator()(const DefineProperty& c) {
  if (!IsValidPropertyKey(c.key)) {
    return InvalidField("key", "must be a letter then up to 63 letters, digits, '_', '-' or '.'");
  }
  CUSTOS_RETURN_IF_ERROR(LimitText(c.description, "description", 1000));
  if (s_.FindProperty(c.key) != nullptr) return Conflict("property " + c.key + " already exists");
  Emit(et::kPropertyDefined, PropertyData{c.key, c.type, c.description},
       Target{"property", c.key, c.key});
  d_.id = c.key;
  return Done();
}

Result<Decision> Decider::operator()(const RemoveProperty& c) {
  const PropertyDefinition* p = s_.FindProperty(c.key);
  if (p == nullptr) return NotFound("no property " + c.key);
  Emit(et::kPropertyRemoved, PropertyData{p->key, p->type, p->description},
       Target{"property", c.key, c.key});
  d_.id = c.key;
  return Done();
}

// ---- tokens ----

Result<Decision> Decider::operator()(const RecordTokenIssued& c) {
  const ApiClient* client = s_.FindClient(c.client_id);
  if (client == nullptr) return NotFound("no API client " + c.client_id);
  Emit(et::kAuthTokenIssued,
       TokenData{Subject{SubjectType::kApiClient, client->id}, c.jti, c.expires_at, c.key_id},
       ClientTarget(*client));
  d_.id = client->id;
  return Done();
}

Result<Decision> Decider::operator()(const RevokeToken& c) {
  CUSTOS_RETURN_IF_ERROR(RequireText(c.jti, "jti", 128));
  Emit(c.logout ? et::kAuthLogout : et::kAuthTokenRevoked,
       TokenData{c.subject, c.jti, c.expires_at, std::nullopt},
       Target{std::string(ToString(c.subject.type)), c.subject.id, SubjectName(c.subject)});
  d_.id = c.jti;
  return Done();
}

// ---- invitations ----

Result<Decision> Decider::operator()(const CreateInvitation& c) {
  if (!IsValidEmail(c.email)) return InvalidField("email", "must be a valid email address");
  if (c.expires_in_days && (*c.expires_in_days < 1 || *c.expires_in_days > 365)) {
    return InvalidField("expires_in_days", "must be from 1 to 365");
  }
  if (s_.FindUserByEmail(c.email) != nullptr) {
    return Error{Errc::kConflict,
                 "a user with email " + c.email + " already exists",
                 {FieldError{"email", "is already used"}}};
  }
  for (const auto& [id, inv] : s_.invitations()) {
    if (inv.status == InvitationStatus::kPending && inv.expires_at > ctx_.now &&
        Lower(inv.email) == Lower(c.email)) {
      return Error{Errc::kConflict,
                   "invitation " + id + " to " + c.email + " is pending",
                   {FieldError{"email", "has a pending invitation"}}};
    }
  }
  CUSTOS_RETURN_IF_ERROR(CheckGrants(c.bindings, "bindings"));
  CUSTOS_RETURN_IF_ERROR(CheckGroupIds(c.group_ids, "group_ids"));
  const std::string id = NewId("inv_", ctx_);
  const Time expires =
      ctx_.now +
      std::chrono::hours(24 * c.expires_in_days.value_or(s_.tenant().settings.invite_ttl_days));
  Emit(et::kInvitationCreated, InvitationData{id, c.email, c.bindings, c.group_ids, expires},
       Target{"invitation", id, c.email});
  std::string token = RandomToken(*ctx_.random, 32);
  const std::string hash = Sha256Hex(token);
  d_.credentials.Put(Space::kCredentials, InvitationHashKey(s_.tenant_id(), id), hash);
  d_.credentials.Put(Space::kCredentials, InvitationTokenKey(hash),
                     InvitationTokenValue(s_.tenant_id(), id));
  d_.notifications.push_back(
      Notification{"invitation.link", s_.tenant_id(), c.email, "", id, token, expires});
  d_.id = id;
  d_.secret = std::move(token);
  return Done();
}

Result<Decision> Decider::operator()(const ResendInvitation& c) {
  const Invitation* inv = s_.FindInvitation(c.invitation_id);
  if (inv == nullptr) return NotFound("no invitation " + c.invitation_id);
  CUSTOS_RETURN_IF_ERROR(CheckIfMatch(inv->version));
  if (inv->status == InvitationStatus::kAccepted || inv->status == InvitationStatus::kRevoked) {
    return Conflict("invitation " + inv->id + " is " + std::string(ToString(inv->status)));
  }
  if (s_.FindUserByEmail(inv->email) != nullptr) {
    return Conflict("a user with email " + inv->email + " already exists");
  }
  const Time expires = ctx_.now + std::chrono::hours(24 * s_.tenant().settings.invite_ttl_days);
  Emit(et::kInvitationResent, InvitationRefData{inv->id, expires, std::nullopt},
       Target{"invitation", inv->id, inv->email});
  std::string token = RandomToken(*ctx_.random, 32);
  const std::string hash = Sha256Hex(token);
  // The old token stops working: accept checks the invitation's current hash.
  d_.credentials.Put(Space::kCredentials, InvitationHashKey(s_.tenant_id(), inv->id), hash);
  d_.credentials.Put(Space::kCredentials, InvitationTokenKey(hash),
                     InvitationTokenValue(s_.tenant_id(), inv->id));
  d_.notifications.push_back(
      Notification{"invitation.link", s_.tenant_id(), inv->email, "", inv->id, token, expires});
  d_.id = inv->id;
  d_.secret = std::move(token);
  return Done();
}

Result<Decision> Decider::operator()(const RevokeInvitation& c) {
  const Invitation* inv = s_.FindInvitation(c.invitation_id);
  if (inv == nullptr) return NotFound("no invitation " + c.invitation_id);
  CUSTOS_RETURN_IF_ERROR(CheckIfMatch(inv->version));
  if (inv->status != InvitationStatus::kPending) {
    return Conflict("invitation " + inv->id + " is " + std::string(ToString(inv->status)));
  }
  Emit(et::kInvitationRevoked, InvitationRefData{inv->id, std::nullopt, std::nullopt},
       Target{"invitation", inv->id, inv->email});
  d_.credentials.Delete(Space::kCredentials, InvitationHashKey(s_.tenant_id(), inv->id));
  d_.id = inv->id;
  return Done();
}

Result<Decision> Decider::operator()(const AcceptInvitation& c) {
  const Invitation* inv = s_.FindInvitation(c.invitation_id);
  const Error gone{Errc::kGone, "the invitation is no longer valid", {}};
  if (inv == nullptr || inv->status != InvitationStatus::kPending || inv->expires_at <= ctx_.now) {
    return gone;
  }
  CUSTOS_RETURN_IF_ERROR(RequireText(c.first_name, "first_name", 200));
  CUSTOS_RETURN_IF_ERROR(RequireText(c.last_name, "last_name", 200));
  const int min = s_.tenant().settings.password_min_length;
  if (c.password_length < static_cast<size_t>(min)) {
    return InvalidField("password", "must be at least " + std::to_string(min) + " characters");
  }
  if (c.password_hash.empty()) return Internal("AcceptInvitation without a hash");
  if (s_.FindUserByEmail(inv->email) != nullptr) {
    return Conflict("a user with email " + inv->email + " already exists");
  }
  const std::string id = NewId("usr_", ctx_);
  UserProfile profile;
  profile.email = inv->email;
  profile.first_name = c.first_name;
  profile.last_name = c.last_name;
  const std::string name = c.first_name + " " + c.last_name;
  Emit(et::kUserCreated, UserCreatedData{id, profile, {}, std::nullopt, false, inv->id},
       Target{"user", id, name});
  const Subject subject{SubjectType::kUser, id};
  // What was granted when the invitation was made, as far as it still exists.
  for (const Grant& g : inv->bindings) {
    if (s_.FindRole(g.role_id) != nullptr && s_.FindNode(g.scope) != nullptr) {
      EmitBinding(subject, g.role_id, g.scope, false);
    }
  }
  std::set<std::string> seen;
  for (const std::string& gid : inv->group_ids) {
    const Group* g = s_.FindGroup(gid);
    if (g == nullptr || !seen.insert(gid).second) continue;
    Emit(et::kGroupMemberAdded, GroupMemberData{gid, subject}, GroupTarget(*g));
  }
  Emit(et::kInvitationAccepted, InvitationRefData{inv->id, std::nullopt, id},
       Target{"invitation", inv->id, inv->email});
  d_.credentials.Put(Space::kCredentials, PasswordKey(s_.tenant_id(), id),
                     ToJson(PasswordCredential{std::string(kArgon2id), c.password_hash, ctx_.now}));
  d_.credentials.Delete(Space::kCredentials, InvitationHashKey(s_.tenant_id(), inv->id));
  d_.id = id;
  return Done();
}

Result<Decision> Decider::operator()(const ExpireInvitation& c) {
  const Invitation* inv = s_.FindInvitation(c.invitation_id);
  if (inv == nullptr) return NotFound("no invitation " + c.invitation_id);
  if (inv->status != InvitationStatus::kPending || inv->expires_at > ctx_.now) {
    return Conflict("invitation " + inv->id + " has not expired");
  }
  Emit(et::kInvitationExpired, InvitationRefData{inv->id, std::nullopt, std::nullopt},
       Target{"invitation", inv->id, inv->email});
  d_.credentials.Delete(Space::kCredentials, InvitationHashKey(s_.tenant_id(), inv->id));
  d_.id = inv->id;
  return Done();
}

}  // namespace custos::core::iam::internal
