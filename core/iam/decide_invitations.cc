// Decide for tokens (issued, revoked), invitations (made, resent, revoked, accepted) and
// what runs out by itself (ExpireDue).
#include <algorithm>

#include "core/fields.h"
#include "core/iam/credentials.h"
#include "core/iam/internal/decider.h"
#include "core/sha256.h"

namespace custos::core::iam::internal {

namespace et = event_type;

// ---- tokens ----

Result<Decision> Decider::operator()(const RecordTokenIssued& c) {
  const ApiClient* client = s_.FindClient(c.client_id);
  if (client == nullptr) return NotFound("no API client " + c.client_id);
  if (!IsRoot() && *ctx_.caller != Subject{SubjectType::kApiClient, client->id}) {
    return Error{Errc::kPermissionDenied, "a token is recorded for its own client only", {}};
  }
  Emit(et::kAuthTokenIssued,
       TokenData{Subject{SubjectType::kApiClient, client->id}, c.jti, c.expires_at, c.key_id},
       ClientTarget(*client));
  d_.id = client->id;
  return Done();
}

Result<Decision> Decider::operator()(const RevokeToken& c) {
  CUSTOS_RETURN_IF_ERROR(RequireText(c.jti, "jti", 128));
  // Rule 8: a token of the caller itself, or of a principal it outranks.
  if (!IsRoot() && *ctx_.caller != c.subject && !auth_.Outranks(c.subject) &&
      GuardOn(Guard::kRevokeOwnership)) {
    return Error{Errc::kPermissionDenied,
                 "may revoke only its own tokens or those of principals it outranks",
                 {}};
  }
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
  CUSTOS_RETURN_IF_ERROR(RequireGrantRights(!c.bindings.empty(), !c.group_ids.empty()));
  CUSTOS_RETURN_IF_ERROR(CheckGrants(c.bindings, "bindings"));
  CUSTOS_RETURN_IF_ERROR(CheckGroupIds(c.group_ids, "group_ids"));
  // Rule 4: the token is a credential of the user to be; it goes to the caller only if the
  // caller outranks that user with everything it is invited to.
  const Subject invitee{SubjectType::kUser, "(invitee)"};
  CUSTOS_ASSIGN_OR_RETURN(
      const CredentialDelivery delivery,
      DeliveryFor(auth_.Outranks(invitee, auth_.GrantsOfRequest(c.bindings, c.group_ids)),
                  "invited user"));
  const std::vector<Subject> known_by = KnownTo(delivery);
  CUSTOS_RETURN_IF_ERROR(CheckNewMember(c.group_ids, invitee, known_by, "group_ids"));
  const std::string id = NewId("inv_", ctx_);
  const Time expires =
      ctx_.now +
      std::chrono::hours(24 * c.expires_in_days.value_or(s_.tenant().settings.invite_ttl_days));
  Emit(et::kInvitationCreated,
       InvitationData{id, c.email, c.bindings, c.group_ids, expires, ctx_.caller,
                      std::string(ToString(delivery)), known_by},
       Target{"invitation", id, c.email});
  std::string token = RandomToken(*ctx_.random, 32);
  const std::string hash = Sha256Hex(token);
  d_.credentials.Put(Space::kCredentials, InvitationHashKey(s_.tenant_id(), id), hash);
  d_.credentials.Put(Space::kCredentials, InvitationTokenKey(hash),
                     InvitationTokenValue(s_.tenant_id(), id));
  d_.notifications.push_back(
      Notification{std::string(kInvitationLink), s_.tenant_id(), c.email, "", id, token, expires,
                   ""});
  d_.id = id;
  d_.credential_delivery = delivery;
  if (delivery == CredentialDelivery::kResponse) d_.secret = std::move(token);
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
  CUSTOS_ASSIGN_OR_RETURN(
      const CredentialDelivery delivery,
      DeliveryFor(auth_.Outranks(Subject{SubjectType::kUser, "(invitee)"},
                                 auth_.GrantsOfRequest(inv->bindings, inv->group_ids)),
                  "invited user"));
  // A resend gives the invitation its own validity again (a 3-day invitation stays 3 days).
  const int64_t days = inv->ttl_days.value_or(s_.tenant().settings.invite_ttl_days);
  const Time expires = ctx_.now + std::chrono::hours(24 * days);
  Emit(et::kInvitationResent,
       InvitationRefData{inv->id, expires, std::nullopt, std::string(ToString(delivery)),
                         KnownTo(delivery)},
       Target{"invitation", inv->id, inv->email});
  std::string token = RandomToken(*ctx_.random, 32);
  const std::string hash = Sha256Hex(token);
  // The old token stops working: accept checks the invitation's current hash.
  d_.credentials.Put(Space::kCredentials, InvitationHashKey(s_.tenant_id(), inv->id), hash);
  d_.credentials.Put(Space::kCredentials, InvitationTokenKey(hash),
                     InvitationTokenValue(s_.tenant_id(), inv->id));
  d_.notifications.push_back(
      Notification{std::string(kInvitationLink), s_.tenant_id(), inv->email, "", inv->id, token,
                   expires, ""});
  d_.id = inv->id;
  d_.credential_delivery = delivery;
  if (delivery == CredentialDelivery::kResponse) d_.secret = std::move(token);
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
  CUSTOS_RETURN_IF_ERROR(RequireName(c.first_name, "first_name", 200));
  CUSTOS_RETURN_IF_ERROR(RequireName(c.last_name, "last_name", 200));
  const int min = s_.tenant().settings.password_min_length;
  if (c.password_length < static_cast<size_t>(min)) {
    return InvalidField("password", "must be at least " + std::to_string(min) + " characters");
  }
  if (c.password_hash.empty()) return Internal("AcceptInvitation without a hash");
  if (s_.FindUserByEmail(inv->email) != nullptr) {
    return Conflict("a user with email " + inv->email + " already exists");
  }
  CUSTOS_RETURN_IF_ERROR(TakeSeat());
  const std::string id = NewId("usr_", ctx_);
  const Subject subject{SubjectType::kUser, id};
  // What was granted when the invitation was made, as far as it still exists, and only as far
  // as its inviter may still give it (rule 1: the grants carry the inviter's authority).
  std::vector<Grant> grants;
  for (const Grant& g : inv->bindings) {
    if (s_.FindRole(g.role_id) != nullptr && s_.FindNode(g.scope) != nullptr) grants.push_back(g);
  }
  std::vector<const Group*> groups;
  std::set<std::string> seen;
  for (const std::string& gid : inv->group_ids) {
    const Group* g = s_.FindGroup(gid);
    if (g != nullptr && seen.insert(gid).second) groups.push_back(g);
  }
  if (GuardOn(Guard::kInvitationAccept)) {
    const Authority inviter(s_, ctx_.now, inv->invited_by);
    Status within = OkStatus();
    for (const Grant& g : grants) {
      if (within.ok()) within = inviter.CheckBind(*s_.FindRole(g.role_id), g.scope, "bindings");
    }
    for (const Group* g : groups) {
      if (within.ok()) within = inviter.CheckAddMember(*g, subject, inv->token_known_by, "groups");
    }
    if (!within.ok()) {
      return Error{Errc::kConflict,
                   "the invitation grants more than its inviter may give now (" +
                       within.error().message + "); ask for a new invitation",
                   {}};
    }
  }
  UserProfile profile;
  profile.email = inv->email;
  profile.first_name = c.first_name;
  profile.last_name = c.last_name;
  const std::string name = c.first_name + " " + c.last_name;
  // Whoever saw the token could have accepted it: the user is known to them.
  Emit(et::kUserCreated,
       UserCreatedData{
           id, profile, {}, std::nullopt, false, inv->id, std::nullopt, inv->token_known_by},
       Target{"user", id, name});
  for (const Grant& g : grants) EmitBinding(subject, g.role_id, g.scope, false);
  for (const Group* g : groups) {
    Emit(et::kGroupMemberAdded, GroupMemberData{g->id, subject}, GroupTarget(*g));
  }
  Emit(et::kInvitationAccepted, InvitationRefData{inv->id, std::nullopt, id},
       Target{"invitation", inv->id, inv->email});
  d_.credentials.Put(Space::kCredentials, PasswordKey(s_.tenant_id(), id),
                     ToJson(PasswordCredential{std::string(kArgon2id), c.password_hash, ctx_.now}));
  d_.credentials.Delete(Space::kCredentials, InvitationHashKey(s_.tenant_id(), inv->id));
  d_.id = id;
  return Done();
}

Result<Decision> Decider::operator()(const ExpireDue& c) {
  if (ctx_.caller || ctx_.actor.type != "system") {
    return Error{Errc::kPermissionDenied, "only the system records expiries", {}};
  }
  for (const std::string& key : s_.DueBy(ctx_.now, c.max)) {
    const std::string_view id = std::string_view(key).substr(2);
    if (key[0] == 'i') {
      const Invitation* inv = s_.FindInvitation(id);
      if (inv == nullptr || inv->status != InvitationStatus::kPending ||
          inv->expires_at > ctx_.now) {
        continue;
      }
      Emit(et::kInvitationExpired, InvitationRefData{inv->id, std::nullopt, std::nullopt},
           Target{"invitation", inv->id, inv->email});
      d_.credentials.Delete(Space::kCredentials, InvitationHashKey(s_.tenant_id(), inv->id));
    } else if (key[0] == 'u') {
      const User* u = s_.FindUser(id);
      if (u == nullptr || u->status != UserStatus::kLocked || !u->locked_until ||
          *u->locked_until > ctx_.now) {
        continue;
      }
      Emit(et::kUserUnlocked, UserRefData{u->id, "lock expired"}, UserTarget(*u));
    }
  }
  return Done();
}

}  // namespace custos::core::iam::internal
