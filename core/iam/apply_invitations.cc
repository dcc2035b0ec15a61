// The Applier for invitations and tokens (decide_invitations.cc makes these).
#include "core/iam/internal/applier.h"
#include "core/iam/internal/state_parts.h"

namespace custos::core::iam::internal {

Status Applier::operator()(const InvitationCreated& e) {
  const InvitationData& d = e.data;
  if (s_.invitations_.count(d.invitation_id) != 0) {
    return Corruption("invitation.created twice for " + d.invitation_id);
  }
  Invitation inv;
  inv.id = d.invitation_id;
  inv.email = d.email;
  inv.bindings = d.bindings;
  inv.group_ids = d.group_ids;
  inv.expires_at = d.expires_at;
  inv.ttl_days = std::chrono::duration_cast<std::chrono::hours>(d.expires_at - time_).count() / 24;
  inv.invited_by = d.invited_by;
  if (d.token_known_by) MergeKnown(inv.token_known_by, *d.token_known_by);
  inv.created_at = time_;
  inv.updated_at = time_;
  s_.Touch(RecordKey('i', inv.id));
  s_.IndexDue(inv);
  s_.invitations_.emplace(inv.id, std::move(inv));
  return OkStatus();
}

template <class Change>
Status Applier::ChangeInvitation(const std::string& invitation_id, Change&& change) {
  Invitation* inv = FindIn(s_.invitations_, invitation_id);
  if (inv == nullptr) return Unknown(type_, "invitation", invitation_id);
  CUSTOS_RETURN_IF_ERROR(change(*inv));
  Bump(*inv, time_);
  s_.IndexDue(*inv);
  s_.Touch(RecordKey('i', inv->id));
  return OkStatus();
}

Status Applier::operator()(const InvitationResent& e) {
  const InvitationRefData& d = e.data;
  return ChangeInvitation(d.invitation_id, [&](Invitation& inv) -> Status {
    if (!d.expires_at) return Corruption("invitation.resent without expires_at");
    inv.expires_at = *d.expires_at;
    inv.status = InvitationStatus::kPending;
    ++inv.sends;
    if (d.credential_delivery == "notification") {
      inv.token_known_by.clear();
    } else if (d.token_known_by) {
      MergeKnown(inv.token_known_by, *d.token_known_by);
    }
    return OkStatus();
  });
}

Status Applier::operator()(const InvitationRevoked& e) {
  return ChangeInvitation(e.data.invitation_id, [](Invitation& inv) {
    inv.status = InvitationStatus::kRevoked;
    return OkStatus();
  });
}

Status Applier::operator()(const InvitationExpired& e) {
  return ChangeInvitation(e.data.invitation_id, [](Invitation& inv) {
    inv.status = InvitationStatus::kExpired;
    return OkStatus();
  });
}

Status Applier::operator()(const InvitationAccepted& e) {
  return ChangeInvitation(e.data.invitation_id, [&](Invitation& inv) {
    inv.status = InvitationStatus::kAccepted;
    inv.user_id = e.data.user_id;
    return OkStatus();
  });
}

Status Applier::operator()(const TokenIssued& e) {
  s_.PruneRevokedTokens(time_);
  const TokenData& d = e.data;
  if (d.subject.type != SubjectType::kApiClient) return OkStatus();
  ApiClient* c = FindIn(s_.clients_, d.subject.id);
  if (c == nullptr) return Unknown(type_, "api client", d.subject.id);
  c->last_used_at = time_;
  for (ClientSecret& s : c->secrets) {
    if (d.key_id && s.key_id == *d.key_id) s.last_used_at = time_;
  }
  s_.Touch(RecordKey('c', c->id));
  return OkStatus();
}

Status Applier::RevokeToken(const TokenData& d) {
  s_.PruneRevokedTokens(time_);
  if (d.expires_at > time_) {
    s_.revoked_tokens_[d.jti] = d.expires_at;
    s_.Touch(RecordKey('x', d.jti));
  }
  return OkStatus();
}

Status Applier::operator()(const TokenRevoked& e) { return RevokeToken(e.data); }
Status Applier::operator()(const LoggedOut& e) { return RevokeToken(e.data); }

}  // namespace custos::core::iam::internal
