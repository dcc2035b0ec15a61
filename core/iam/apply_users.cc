// The Applier for users, their properties and their logins (decide_users.cc makes these).
#include <algorithm>

#include "core/iam/internal/applier.h"
#include "core/iam/internal/state_parts.h"
#include "core/iam/names.h"

namespace custos::core::iam {

bool TenantState::TakesASeat(const User& u) {
  return !u.profile.support.value_or(false) && u.status != UserStatus::kDeactivated &&
         u.status != UserStatus::kDeleted;
}

namespace internal {

template <class Change>
Status Applier::ChangeUser(const std::string& user_id, Change&& change) {
  User* u = FindIn(s_.users_, user_id);
  if (u == nullptr) return Unknown(type_, "user", user_id);
  s_.seats_used_ -= TenantState::TakesASeat(*u);  // counted again below, as it is after
  change(*u);
  Bump(*u, time_);
  s_.IndexDue(*u);
  s_.seats_used_ += TenantState::TakesASeat(*u);
  s_.Touch(RecordKey('u', u->id));
  return OkStatus();
}

Status Applier::operator()(const UserCreated& e) {
  const UserCreatedData& d = e.data;
  if (s_.users_.count(d.user_id) != 0) return Corruption("user.created twice for " + d.user_id);
  User u;
  u.id = d.user_id;
  u.profile = d.profile;
  u.tags = d.tags;
  u.must_change_password = d.must_change_password;
  u.temp_password_expires_at = d.temp_password_expires_at;
  if (d.credential_known_by) MergeKnown(u.credential_known_by, *d.credential_known_by);
  u.created_at = time_;
  u.updated_at = time_;
  s_.email_index_[Lower(u.profile.email)] = u.id;
  s_.Touch(RecordKey('u', u.id));
  s_.seats_used_ += TenantState::TakesASeat(u);
  s_.users_.emplace(u.id, std::move(u));
  return OkStatus();
}

Status Applier::operator()(const UserUpdated& e) {
  return ChangeUser(e.data.user_id, [&](User& u) {
    if (Lower(e.data.profile.email) != Lower(u.profile.email)) {
      s_.email_index_.erase(Lower(u.profile.email));
      s_.email_index_[Lower(e.data.profile.email)] = u.id;
    }
    u.profile = e.data.profile;
  });
}

Status Applier::operator()(const UserActivated& e) {
  return ChangeUser(e.data.user_id, [](User& u) {
    u.status = UserStatus::kActive;
    u.failed_logins = 0;
    u.locked_until.reset();
  });
}

Status Applier::operator()(const UserUnlocked& e) {
  return (*this)(UserActivated{e.data});  // the same effect, its own name in the trail
}

Status Applier::operator()(const UserDeactivated& e) {
  return ChangeUser(e.data.user_id, [](User& u) {
    u.status = UserStatus::kDeactivated;
    ++u.session_epoch;
  });
}

Status Applier::operator()(const UserSuspended& e) {
  return ChangeUser(e.data.user_id, [](User& u) {
    u.status = UserStatus::kSuspended;
    ++u.session_epoch;
  });
}

Status Applier::operator()(const UserLocked& e) {
  return ChangeUser(e.data.user_id, [&](User& u) {
    u.status = UserStatus::kLocked;
    u.locked_until = e.data.locked_until;
  });
}

Status Applier::operator()(const UserDeleted& e) {
  return ChangeUser(e.data.user_id, [&](User& u) {
    u.status = UserStatus::kDeleted;
    ++u.session_epoch;
    s_.email_index_.erase(Lower(u.profile.email));
  });
}

Status Applier::operator()(const UserPasswordReset& e) {
  const UserPasswordResetData& d = e.data;
  return ChangeUser(d.user_id, [&](User& u) {
    u.must_change_password = true;
    u.temp_password_expires_at = d.temp_password_expires_at;
    ++u.session_epoch;
    if (d.credential_delivery == "notification") {
      u.credential_known_by.clear();  // the mail alone has the new password
    } else if (d.credential_known_by) {
      MergeKnown(u.credential_known_by, *d.credential_known_by);
    }
  });
}

Status Applier::operator()(const UserPasswordChanged& e) {
  return ChangeUser(e.data.user_id, [](User& u) {
    u.must_change_password = false;
    u.temp_password_expires_at.reset();
    ++u.session_epoch;
  });
}

Status Applier::operator()(const UserTagSet& e) {
  return ChangeUser(e.data.user_id,
                    [&](User& u) { u.tags[e.data.key] = e.data.value.value_or(""); });
}

Status Applier::operator()(const UserTagRemoved& e) {
  return ChangeUser(e.data.user_id, [&](User& u) { u.tags.erase(e.data.key); });
}

Status Applier::operator()(const UserExported&) { return OkStatus(); }  // a record of a read

Status Applier::operator()(const PropertyDefined& e) {
  const PropertyData& d = e.data;
  s_.properties_[d.key] = PropertyDefinition{d.key, d.type, d.description, time_};
  s_.Touch(RecordKey('p', d.key));
  return OkStatus();
}

Status Applier::operator()(const PropertyRemoved& e) {
  if (s_.properties_.erase(e.data.key) == 0) return Unknown(type_, "property", e.data.key);
  s_.Touch(RecordKey('p', e.data.key));
  return OkStatus();
}

Status Applier::Login(const LoginData& d, bool succeeded) {
  s_.PruneRevokedTokens(time_);
  if (!d.user_id) return OkStatus();  // a failure for an unknown email changes nothing
  User* u = FindIn(s_.users_, *d.user_id);
  if (u == nullptr) return Unknown(type_, "user", *d.user_id);
  if (succeeded) {
    u->failed_logins = 0;
    u->last_active_at = time_;
  } else {
    ++u->failed_logins;
  }
  Bump(*u, time_);
  s_.Touch(RecordKey('u', u->id));
  return OkStatus();
}

Status Applier::operator()(const LoginSucceeded& e) { return Login(e.data, true); }
Status Applier::operator()(const LoginFailed& e) { return Login(e.data, false); }

Status Applier::operator()(const UserMfaEnrolled& e) {
  const UserMfaData& d = e.data;
  return ChangeUser(d.user_id, [&](User& u) {
    u.mfa = UserMfa{d.method, time_, d.step.value_or(-1), {}, d.recovery_codes.value_or(0)};
  });
}

Status Applier::operator()(const UserMfaRemoved& e) {
  return ChangeUser(e.data.user_id, [](User& u) { u.mfa.reset(); });
}

// A second step that succeeded completes a login (like auth.login_succeeded) and uses up its
// code; one that failed counts towards the lockout like a wrong password.
Status Applier::operator()(const MfaSucceeded& e) {
  const MfaAuthData& d = e.data;
  return ChangeUser(d.user_id, [&](User& u) {
    u.failed_logins = 0;
    u.last_active_at = time_;
    if (!u.mfa) return;
    if (d.step) u.mfa->last_step = std::max(u.mfa->last_step, *d.step);
    if (d.recovery_code_index) {
      auto& used = u.mfa->recovery_used;
      auto at = std::lower_bound(used.begin(), used.end(), *d.recovery_code_index);
      if (at == used.end() || *at != *d.recovery_code_index)
        used.insert(at, *d.recovery_code_index);
    }
  });
}

Status Applier::operator()(const MfaFailed& e) {
  return ChangeUser(e.data.user_id, [](User& u) { ++u.failed_logins; });
}

// A user made by its first single sign-on login: as user.created with no password to change,
// linked to its identity provider's account.
Status Applier::operator()(const UserProvisioned& e) {
  const UserProvisionedData& d = e.data;
  UserCreatedData created;
  created.user_id = d.user_id;
  created.profile = d.profile;
  created.must_change_password = false;
  CUSTOS_RETURN_IF_ERROR((*this)(UserCreated{created}));
  return ChangeUser(d.user_id, [&](User& u) { u.sso = UserSso{d.issuer, d.subject, time_}; });
}

// A single sign-on login completes like a password login (unless a second factor is still to
// come), and links the user to the provider's account the first time.
Status Applier::operator()(const SsoLoginSucceeded& e) {
  const SsoLoginData& d = e.data;
  s_.PruneRevokedTokens(time_);
  if (!d.user_id) return Corruption("auth.sso_login_succeeded without a user");
  return ChangeUser(*d.user_id, [&](User& u) {
    if (!d.mfa_pending) {
      u.failed_logins = 0;
      u.last_active_at = time_;
    }
    if (!u.sso || u.sso->issuer != d.issuer) u.sso = UserSso{d.issuer, d.subject, time_};
    if (d.configured_by) MergeKnown(u.credential_known_by, {*d.configured_by});
  });
}

// A refused single sign-on is the provider's or the configuration's failure, not a guess at
// a password: it counts towards no lockout.
Status Applier::operator()(const SsoLoginFailed&) { return OkStatus(); }

}  // namespace internal
}  // namespace custos::core::iam
