// Decide for users, their properties and credentials, and logins (tokens and invitations:
// decide_invitations.cc).
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
    CUSTOS_RETURN_IF_ERROR(RequireName(key, field, 128));
    CUSTOS_RETURN_IF_ERROR(LimitName(value, field + "." + key, max_value));
  }
  return OkStatus();
}

// Every failing field of a profile into `checks`.
void CheckProfile(const UserProfile& p, FieldChecks& checks) {
  if (!IsValidEmail(p.email)) checks.Add(InvalidField("email", "must be a valid email address"));
  checks.Add(RequireName(p.first_name, "first_name", 200));
  checks.Add(RequireName(p.last_name, "last_name", 200));
  checks.Add(LimitText(p.phone, "phone", 64));
  checks.Add(LimitText(p.address, "address", 1000));
  checks.Add(LimitName(p.department, "department", 200));
  checks.Add(CheckStringMap(p.external_ids, "external_ids", 256));
}

Status CheckProfile(const UserProfile& p) {
  FieldChecks checks;
  CheckProfile(p, checks);
  return std::move(checks).Take();
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

Status Decider::TakeSeat() {
  const std::optional<int64_t>& limit = s_.tenant().seat_limit;
  if (limit && static_cast<int64_t>(s_.seats_used() + seats_taken_) >= *limit) {
    return Error{Errc::kConflict,
                 "the tenant's seat limit of " + std::to_string(*limit) +
                     " users is reached (support accounts, deactivated and deleted users do "
                     "not count)",
                 {}};
  }
  ++seats_taken_;
  return OkStatus();
}

Result<Decision> Decider::operator()(const CreateUser& c) {
  if (c.support && !IsRoot()) {
    return Error{Errc::kPermissionDenied,
                 "only the root client makes support accounts",
                 {FieldError{"support", "needs the root client"}}};
  }
  UserProfile profile{c.email,        c.first_name,
                      c.last_name,    c.phone,
                      c.address,      c.department,
                      c.external_ids, c.properties,
                      c.kind,         c.support ? std::optional<bool>(true) : std::nullopt};
  FieldChecks checks;
  CheckProfile(profile, checks);
  checks.Add(CheckStringMap(c.tags, "tags", 1024));
  for (const auto& [key, value] : c.tags) {
    if (value.empty()) checks.Add(InvalidField("tags." + key, "must not be empty"));
  }
  checks.Add(CheckProperties(c.properties, "properties"));
  for (const auto& [key, value] : c.properties) {
    if (value.is_null()) checks.Add(InvalidField("properties." + key, "must not be null"));
  }
  CUSTOS_RETURN_IF_ERROR(std::move(checks).Take());
  if (s_.FindUserByEmail(c.email) != nullptr) {
    return Error{Errc::kConflict,
                 "a user with email " + c.email + " already exists",
                 {FieldError{"email", "is already used"}}};
  }
  // An admin-kind user may do anything: only root or an admin-kind user makes one (rule 3).
  if (c.kind == UserKind::kAdmin && !auth_.IsAdminKind() && GuardOn(Guard::kAdminKind)) {
    return Error{Errc::kPermissionDenied,
                 "only root or an admin-kind user may create an admin-kind user",
                 {FieldError{"kind", "needs a root or admin-kind caller"}}};
  }
  CUSTOS_RETURN_IF_ERROR(RequireGrantRights(!c.bindings.empty(), !c.group_ids.empty()));
  CUSTOS_RETURN_IF_ERROR(CheckGrants(c.bindings, "bindings"));
  CUSTOS_RETURN_IF_ERROR(CheckGroupIds(c.group_ids, "group_ids"));
  if (!c.support) CUSTOS_RETURN_IF_ERROR(TakeSeat());

  const std::string id = NewId("usr_", ctx_);
  const Subject subject{SubjectType::kUser, id};
  // Rule 4: the temporary password goes to the caller only if it outranks the new user with
  // everything it is about to hold; an import delivers every one by notification.
  const bool outranks = auth_.Outranks(subject, auth_.GrantsOfRequest(c.bindings, c.group_ids),
                                       c.kind == UserKind::kAdmin);
  CredentialDelivery delivery = CredentialDelivery::kNotification;
  if (!import_row_) {
    CUSTOS_ASSIGN_OR_RETURN(delivery, DeliveryFor(outranks, "new user"));
  } else if (!outranks && !CanNotify(true) && GuardOn(Guard::kCredentialRank)) {
    return Error{Errc::kConflict,
                 "the caller does not outrank this user, whose temporary password may only go "
                 "out by notification, and no notification channel is configured",
                 {}};
  }
  const std::vector<Subject> known_by = KnownTo(delivery);
  CUSTOS_RETURN_IF_ERROR(CheckNewMember(c.group_ids, subject, known_by, "group_ids"));

  const Time expires = ctx_.now + std::chrono::hours(s_.tenant().settings.temp_password_ttl_hours);
  UserCreatedData data{
      id, profile, c.tags, expires, true, std::nullopt, std::string(ToString(delivery)), known_by};
  const std::string name = c.first_name + " " + c.last_name;
  Emit(et::kUserCreated, data, Target{"user", id, name});
  d_.id = id;
  for (const Grant& g : c.bindings) EmitBinding(subject, g.role_id, g.scope, false);
  std::set<std::string> seen;
  for (const std::string& gid : c.group_ids) {
    if (!seen.insert(gid).second) continue;
    Emit(et::kGroupMemberAdded, GroupMemberData{gid, subject}, GroupTarget(*s_.FindGroup(gid)));
  }
  d_.id = id;
  std::string password = IssueTemporaryPassword(id, c.email, name, expires);
  d_.credential_delivery = delivery;
  if (delivery == CredentialDelivery::kResponse) d_.secret = std::move(password);
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
  if (c.support) {
    if (!IsRoot()) {
      return Error{Errc::kPermissionDenied,
                   "only the root client marks support accounts",
                   {FieldError{"support", "needs the root client"}}};
    }
    p.support = *c.support ? std::optional<bool>(true) : std::nullopt;
    // No longer support: it takes a seat again.
    if (u->profile.support && !p.support && u->status != UserStatus::kDeactivated) {
      CUSTOS_RETURN_IF_ERROR(TakeSeat());
    }
  }
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
  const Subject subject{SubjectType::kUser, u->id};
  if (p.kind != u->profile.kind) {
    // Rule 3: either way, by root or an admin-kind user; rule 5: one that outranks the user.
    if (!auth_.IsAdminKind() && GuardOn(Guard::kAdminKind)) {
      return Error{Errc::kPermissionDenied,
                   "only root or an admin-kind user may change a user's kind",
                   {FieldError{"kind", "needs a root or admin-kind caller"}}};
    }
    CUSTOS_RETURN_IF_ERROR(auth_.CheckActOn(subject, "change the kind of"));
  }
  // Rule 4: the address credentials are sent to changes only by a caller that outranks.
  if (Lower(p.email) != Lower(u->profile.email) && !auth_.Outranks(subject) &&
      GuardOn(Guard::kEmailRank)) {
    return Error{Errc::kPermissionDenied,
                 "may not change the email of user " + u->id +
                     ": it holds access the caller cannot give, or is the caller itself",
                 {FieldError{"email", "only a caller that outranks the user may change it"}}};
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
  changes.Add("support", u->profile.support.value_or(false), p.support.value_or(false));
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
  static constexpr std::string_view kVerbs[] = {"activate", "deactivate", "suspend", "unlock",
                                                "delete"};
  CUSTOS_RETURN_IF_ERROR(
      auth_.CheckActOn(Subject{SubjectType::kUser, u->id}, kVerbs[static_cast<size_t>(c.action)]));
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
      if (u->status == UserStatus::kDeactivated && !u->profile.support) {
        CUSTOS_RETURN_IF_ERROR(TakeSeat());
      }
      Emit(et::kUserActivated, ref, target, status_change(UserStatus::kActive));
      return Done();
    case UserAction::kDeactivate:
      if (u->status != UserStatus::kDeactivated) {
        Emit(et::kUserDeactivated, ref, target, status_change(UserStatus::kDeactivated));
      }
      if (c.deactivate_owned_clients) CUSTOS_RETURN_IF_ERROR(DeactivateOwnedClients(u->id));
      return Done();
    case UserAction::kSuspend:
      if (u->status == UserStatus::kDeactivated) {
        return Conflict("user " + u->id + " is deactivated");
      }
      if (u->status != UserStatus::kSuspended) {
        Emit(et::kUserSuspended, ref, target, status_change(UserStatus::kSuspended));
      }
      if (c.deactivate_owned_clients) CUSTOS_RETURN_IF_ERROR(DeactivateOwnedClients(u->id));
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
      if (c.deactivate_owned_clients) CUSTOS_RETURN_IF_ERROR(DeactivateOwnedClients(u->id));
      EmitSubjectRemoval(Subject{SubjectType::kUser, u->id});
      Emit(et::kUserDeleted, ref, target, status_change(UserStatus::kDeleted));
      d_.credentials.Delete(Space::kCredentials, PasswordKey(s_.tenant_id(), u->id));
      d_.credentials.Delete(Space::kCredentials, MfaKey(s_.tenant_id(), u->id));
      return Done();
  }
  return Internal("unknown user action");
}

Status Decider::DeactivateOwnedClients(const std::string& user_id) {
  std::vector<const ApiClient*> owned;
  for (const auto& [id, client] : s_.clients()) {
    if (client.owner_id == user_id && client.status == ActiveStatus::kActive) {
      owned.push_back(&client);
    }
  }
  std::sort(owned.begin(), owned.end(),
            [](const ApiClient* a, const ApiClient* b) { return a->id < b->id; });
  for (const ApiClient* client : owned) {
    CUSTOS_RETURN_IF_ERROR(
        auth_.CheckActOn(Subject{SubjectType::kApiClient, client->id}, "deactivate"));
    ChangeSet changes;
    changes.Add("status", client->status, ActiveStatus::kInactive);
    Emit(et::kApiClientDeactivated, ApiClientRefData{client->id, client->name},
         ClientTarget(*client), changes.Take());
  }
  return OkStatus();
}

Result<Decision> Decider::operator()(const ResetPassword& c) {
  const User* u = s_.FindUser(c.user_id);
  if (u == nullptr) return NotFound("no user " + c.user_id);
  if (u->status == UserStatus::kDeleted) return Conflict("user " + c.user_id + " is deleted");
  CUSTOS_RETURN_IF_ERROR(CheckIfMatch(u->version));
  CUSTOS_ASSIGN_OR_RETURN(const CredentialDelivery delivery,
                          DeliveryFor(auth_.Outranks(Subject{SubjectType::kUser, u->id}), "user"));
  const Time expires = ctx_.now + std::chrono::hours(s_.tenant().settings.temp_password_ttl_hours);
  Emit(et::kUserPasswordReset,
       UserPasswordResetData{u->id, expires, std::string(ToString(delivery)), KnownTo(delivery)},
       UserTarget(*u));
  d_.id = u->id;
  std::string password = IssueTemporaryPassword(u->id, u->profile.email, u->DisplayName(), expires);
  d_.credential_delivery = delivery;
  if (delivery == CredentialDelivery::kResponse) d_.secret = std::move(password);
  return Done();
}

Result<Decision> Decider::operator()(const SetUserTag& c) {
  const User* u = s_.FindUser(c.user_id);
  if (u == nullptr) return NotFound("no user " + c.user_id);
  if (u->status == UserStatus::kDeleted) return Conflict("user " + c.user_id + " is deleted");
  CUSTOS_RETURN_IF_ERROR(CheckIfMatch(u->version));
  CUSTOS_RETURN_IF_ERROR(RequireName(c.key, "key", 128));
  CUSTOS_RETURN_IF_ERROR(RequireName(c.value, "value", 1024));
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
  if (!IsRoot() && *ctx_.caller != Subject{SubjectType::kUser, u->id}) {
    return Error{Errc::kPermissionDenied, "a user changes only its own password", {}};
  }
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
  if (!IsRoot() && (!c.user_id || *ctx_.caller != Subject{SubjectType::kUser, *c.user_id})) {
    return Error{Errc::kPermissionDenied, "a login is recorded for its own user only", {}};
  }
  if (c.client_id) {
    if (!IsRoot()) return Error{Errc::kPermissionDenied, "recorded by the server only", {}};
    const ApiClient* client = s_.FindClient(*c.client_id);
    if (client == nullptr) return NotFound("no API client " + *c.client_id);
    LoginData data{std::nullopt, "", std::string(TruncateUtf8(c.reason, 64)), c.count, c.since};
    data.client_id = client->id;
    Emit(et::kAuthLoginFailed, data, Target{"api_client", client->id, client->name});
    return Done();
  }
  if (!c.user_id) {
    // Whatever an unauthenticated caller sent is capped before it is recorded.
    Emit(et::kAuthLoginFailed,
         LoginData{std::nullopt, std::string(TruncateUtf8(c.email, 254)),
                   std::string(TruncateUtf8(c.reason, 64)), c.count, c.since},
         std::nullopt);
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
  LockIfDue(*u, target);
  return Done();
}

void Decider::LockIfDue(const User& u, const Target& target) {
  const TenantSettings& settings = s_.tenant().settings;
  if (EffectiveStatus(u, ctx_.now) != UserStatus::kActive ||
      u.failed_logins + 1 < settings.lockout_threshold) {
    return;
  }
  std::optional<Time> until;
  if (settings.lockout_minutes > 0)
    until = ctx_.now + std::chrono::minutes(settings.lockout_minutes);
  ChangeSet changes;
  changes.Add("status", u.status, UserStatus::kLocked);
  Emit(et::kUserLocked,
       UserLockedData{u.id, until,
                      std::to_string(u.failed_logins + 1) + " consecutive failed logins"},
       target, changes.Take());
}

Result<Decision> Decider::operator()(const ImportUsers& c) {
  constexpr size_t kMaxRows = 50'000;
  if (c.users.empty()) return InvalidField("rows", "the import has no rows");
  if (c.users.size() > kMaxRows) {
    return InvalidField("rows", "at most " + std::to_string(kMaxRows) + " rows per import");
  }
  const bool any_bindings = std::any_of(c.users.begin(), c.users.end(),
                                        [](const CreateUser& u) { return !u.bindings.empty(); });
  const bool any_groups = std::any_of(c.users.begin(), c.users.end(),
                                      [](const CreateUser& u) { return !u.group_ids.empty(); });
  CUSTOS_RETURN_IF_ERROR(RequireGrantRights(any_bindings, any_groups));
  Decision all;
  std::set<std::string> emails;
  for (size_t i = 0; i < c.users.size(); ++i) {
    const size_t line = i < c.lines.size() ? c.lines[i] : i + 2;
    Decider row(s_, ctx_);
    row.import_row_ = true;
    row.seats_taken_ = seats_taken_;
    Result<Decision> one = row(c.users[i]);
    std::string why;
    if (!one.ok()) {
      why = one.error().message;
    } else if (!emails.insert(Lower(c.users[i].email)).second) {
      why = "email " + c.users[i].email + " appears twice in the import";
    }
    if (!why.empty()) {
      all.rejected.emplace_back(line, why);
      continue;
    }
    Decision d = std::move(one).value();
    seats_taken_ = row.seats_taken_;
    for (DomainEvent& e : d.events) all.events.push_back(std::move(e));
    for (const KvWrite& w : d.credentials.writes()) {
      all.credentials.Put(w.space, w.key, w.value);
    }
    for (Notification& n : d.notifications) all.notifications.push_back(std::move(n));
    ++all.created;
  }
  if (c.all_or_nothing && (!all.rejected.empty() || c.refused_before > 0)) {
    // ../shared/spec/API.md: 200 with every failing line, and nothing created.
    Decision none;
    none.rejected = std::move(all.rejected);
    return none;
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

}  // namespace custos::core::iam::internal
