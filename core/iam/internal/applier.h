// Applier: the implementation of TenantState::Apply, one method per event type, spread over
// apply*.cc as Decide's methods are over decide*.cc (tenant and nodes; users, properties and
// logins; roles, groups, bindings and clients; invitations and tokens). Each changes the state
// and marks the records it changed (Touch). Private to core/iam.
#pragma once

#include <string_view>

#include "core/iam/identity_events.h"
#include "core/iam/state.h"

namespace custos::core::iam::internal {

class Applier {
 public:
  // `type` is the event's type as stored (the node events' kind is only there).
  Applier(TenantState& state, std::string_view type, Time time)
      : s_(state), type_(type), time_(time) {}

  Status operator()(const TenantCreated& e);
  Status operator()(const TenantUpdated& e);
  Status operator()(const TenantPlanChanged& e);
  Status operator()(const TenantLegalHoldChanged& e);
  Status operator()(const NodeCreated& e);
  Status operator()(const NodeUpdated& e);
  Status operator()(const NodeDeleted& e);

  Status operator()(const UserCreated& e);
  Status operator()(const UserUpdated& e);
  Status operator()(const UserActivated& e);
  Status operator()(const UserDeactivated& e);
  Status operator()(const UserSuspended& e);
  Status operator()(const UserLocked& e);
  Status operator()(const UserUnlocked& e);
  Status operator()(const UserDeleted& e);
  Status operator()(const UserPasswordReset& e);
  Status operator()(const UserPasswordChanged& e);
  Status operator()(const UserTagSet& e);
  Status operator()(const UserTagRemoved& e);
  Status operator()(const UserExported& e);
  Status operator()(const PropertyDefined& e);
  Status operator()(const PropertyRemoved& e);
  Status operator()(const LoginSucceeded& e);
  Status operator()(const LoginFailed& e);
  Status operator()(const UserMfaEnrolled& e);
  Status operator()(const UserMfaRemoved& e);
  Status operator()(const MfaSucceeded& e);
  Status operator()(const MfaFailed& e);
  Status operator()(const SsoConfigured& e);
  Status operator()(const SsoRemoved& e);
  Status operator()(const UserProvisioned& e);
  Status operator()(const SsoLoginSucceeded& e);
  Status operator()(const SsoLoginFailed& e);

  Status operator()(const RoleCreated& e);
  Status operator()(const RoleUpdated& e);
  Status operator()(const RoleActivated& e);
  Status operator()(const RoleDeactivated& e);
  Status operator()(const RoleDeleted& e);
  Status operator()(const GroupCreated& e);
  Status operator()(const GroupUpdated& e);
  Status operator()(const GroupDeleted& e);
  Status operator()(const GroupMemberAdded& e);
  Status operator()(const GroupMemberRemoved& e);
  Status operator()(const BindingCreated& e);
  Status operator()(const BindingDeleted& e);
  Status operator()(const ApiClientCreated& e);
  Status operator()(const ApiClientUpdated& e);
  Status operator()(const ApiClientActivated& e);
  Status operator()(const ApiClientDeactivated& e);
  Status operator()(const ApiClientDeleted& e);
  Status operator()(const ApiClientSecretCreated& e);
  Status operator()(const ApiClientSecretRevoked& e);

  Status operator()(const InvitationCreated& e);
  Status operator()(const InvitationResent& e);
  Status operator()(const InvitationRevoked& e);
  Status operator()(const InvitationAccepted& e);
  Status operator()(const InvitationExpired& e);
  Status operator()(const TokenIssued& e);
  Status operator()(const TokenRevoked& e);
  Status operator()(const LoggedOut& e);

 private:
  template <class Change>
  Status ChangeTenant(Change&& change);
  // Changes an existing user: `change` runs between the seat count taken off and put back,
  // then the user is bumped, its due entry kept and its record marked.
  template <class Change>
  Status ChangeUser(const std::string& user_id, Change&& change);
  template <class Change>
  Status ChangeRole(const std::string& role_id, Change&& change);
  template <class Change>
  Status ChangeGroup(const std::string& group_id, Change&& change);
  template <class Change>
  Status ChangeClient(const std::string& client_id, Change&& change);
  template <class Change>
  Status ChangeInvitation(const std::string& invitation_id, Change&& change);
  // role.created and role.updated: the role's fields, includes and expansions.
  Status PutRole(const RoleData& d, bool created);
  // group.member_added and .member_removed.
  Status ChangeMembership(const GroupMemberData& d, bool add);
  // api_client.secret_created and .secret_revoked.
  Status ChangeSecret(const ApiClientSecretData& d, bool create);
  // environment|project|folder|resource .created and .updated.
  Status PutNode(const NodeData& d, bool created);
  // auth.token_revoked and auth.logout.
  Status RevokeToken(const TokenData& d);
  Status Login(const LoginData& d, bool succeeded);

  TenantState& s_;
  std::string_view type_;
  Time time_;
};

}  // namespace custos::core::iam::internal
