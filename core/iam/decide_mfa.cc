// Second factors (TOTP): enrolment, removal and the second step of a login. The secret and the
// codes never reach an event (docs/events.md); the credential store keeps the sealed secret
// and the recovery codes' hashes, written in the same batch as the events.
#include "core/iam/credentials.h"
#include "core/iam/internal/decider.h"

namespace custos::core::iam::internal {

namespace et = event_type;

namespace {

bool IsCaller(const std::optional<Subject>& caller, const std::string& user_id) {
  return caller && *caller == Subject{SubjectType::kUser, user_id};
}

}  // namespace

Result<Decision> Decider::operator()(const EnrollMfa& c) {
  if (!IsCaller(ctx_.caller, c.user_id)) {
    return Error{Errc::kPermissionDenied, "a user enrols its own second factor", {}};
  }
  const User* u = s_.FindUser(c.user_id);
  if (u == nullptr) return NotFound("no user " + c.user_id);
  if (u->mfa) return Conflict("user " + u->id + " already has a second factor; remove it first");
  if (c.sealed_secret.empty() || c.recovery_hashes.empty() || c.step < 0) {
    return Internal("EnrollMfa without a secret, recovery codes or a step");
  }
  const int codes = static_cast<int>(c.recovery_hashes.size());
  Emit(et::kUserMfaEnrolled, UserMfaData{u->id, "totp", codes, c.step, ""}, UserTarget(*u));
  d_.credentials.Put(Space::kCredentials, MfaKey(s_.tenant_id(), u->id),
                     ToJson(MfaCredential{"totp", c.sealed_secret, c.recovery_hashes, ctx_.now}));
  d_.id = u->id;
  return Done();
}

Result<Decision> Decider::operator()(const RemoveMfa& c) {
  const User* u = s_.FindUser(c.user_id);
  if (u == nullptr || u->status == UserStatus::kDeleted) return NotFound("no user " + c.user_id);
  const bool self = IsCaller(ctx_.caller, c.user_id);
  if (c.reset) {
    // Someone else's second factor is reset only by a caller that may act on the user
    // (ACCESS.md rule 5): nobody below admin kind resets an admin's. One's own is removed
    // with a current code, never reset without one.
    if (self) {
      return Error{Errc::kPermissionDenied,
                   "remove your own second factor with a current code (…/me/mfa/totp:remove)",
                   {}};
    }
    CUSTOS_RETURN_IF_ERROR(auth_.CheckActOn(Subject{SubjectType::kUser, u->id}, "reset"));
  } else if (!self) {
    return Error{Errc::kPermissionDenied, "a user removes its own second factor only", {}};
  }
  if (!u->mfa) return Conflict("user " + u->id + " has no second factor");
  Emit(et::kUserMfaRemoved,
       UserMfaData{u->id, u->mfa->method, std::nullopt, std::nullopt,
                   self ? "removed by the user" : "reset by an admin"},
       UserTarget(*u));
  d_.credentials.Delete(Space::kCredentials, MfaKey(s_.tenant_id(), u->id));
  d_.id = u->id;
  return Done();
}

Result<Decision> Decider::operator()(const RecordMfa& c) {
  if (!IsRoot() && !IsCaller(ctx_.caller, c.user_id)) {
    return Error{Errc::kPermissionDenied, "a second factor is recorded for its own user only", {}};
  }
  const User* u = s_.FindUser(c.user_id);
  if (u == nullptr) return NotFound("no user " + c.user_id);
  if (!u->mfa) return Conflict("user " + u->id + " has no second factor");
  const Target target = UserTarget(*u);
  d_.id = u->id;
  MfaAuthData data{u->id, u->profile.email, c.method, std::nullopt, std::nullopt, std::nullopt, ""};
  auto failed = [&](std::string_view reason) {
    data.step.reset();
    data.recovery_code_index.reset();
    data.recovery_codes_left.reset();
    data.reason = std::string(TruncateUtf8(reason, 64));
    Emit(et::kAuthMfaFailed, data, target);
    LockIfDue(*u, target);
    return Done();
  };
  if (!c.succeeded) return failed(c.reason);
  // Decided under the tenant's lock, whatever the API saw before: an account locked, a
  // session ended or a second factor replaced meanwhile refuse the success; of two requests
  // with the same code or recovery code, one succeeds and the other is recorded as a replay.
  if (EffectiveStatus(*u, ctx_.now) != UserStatus::kActive) {
    return Error{Errc::kUnauthenticated, "the account is not active", {}};
  }
  if ((c.session_epoch && *c.session_epoch != u->session_epoch) ||
      (c.enrolled_at && *c.enrolled_at != u->mfa->enrolled_at)) {
    return Error{Errc::kUnauthenticated, "the login was ended meanwhile; log in again", {}};
  }
  if (c.step) {
    if (*c.step <= u->mfa->last_step) return failed("replayed_code");
    data.step = c.step;
  } else if (c.recovery_code_index) {
    const int i = *c.recovery_code_index;
    const auto& used = u->mfa->recovery_used;
    if (i < 0 || i >= u->mfa->recovery_codes)
      return Internal("no recovery code " + std::to_string(i));
    if (std::find(used.begin(), used.end(), i) != used.end()) return failed("used_recovery_code");
    data.recovery_code_index = i;
    data.recovery_codes_left = u->mfa->recovery_codes - static_cast<int>(used.size()) - 1;
  } else {
    return Internal("RecordMfa success without a step or a recovery code");
  }
  if (u->status == UserStatus::kLocked) {  // effectively active: the lock ran out
    Emit(et::kUserUnlocked, UserRefData{u->id, "lock expired"}, target);
  }
  Emit(et::kAuthMfaSucceeded, data, target);
  return Done();
}

}  // namespace custos::core::iam::internal
