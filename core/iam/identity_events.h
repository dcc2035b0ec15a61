// IdentityEvent: an identity event as TenantState::Apply takes it — its payload (events.h)
// typed by its event type, parsed once from the stored `data`. It is to Apply what Command is
// to Decide: one alternative per event type, visited by internal::Applier, whose methods live
// in apply*.cc beside the decide*.cc that make the events.
//
// Thread-safety: plain values.
#pragma once

#include <string_view>
#include <variant>

#include "core/iam/events.h"
#include "core/json_value.h"
#include "core/result.h"

namespace custos::core::iam {

// One event type and its payload.
template <const std::string_view& kType, class Payload>
struct TypedEvent {
  static constexpr std::string_view type() { return kType; }
  Payload data;
};

namespace et = event_type;
using TenantCreated = TypedEvent<et::kTenantCreated, TenantCreatedData>;
using TenantUpdated = TypedEvent<et::kTenantUpdated, TenantUpdatedData>;
using TenantPlanChanged = TypedEvent<et::kTenantPlanChanged, TenantPlanChangedData>;
using TenantLegalHoldChanged = TypedEvent<et::kTenantLegalHoldChanged, TenantLegalHoldData>;
using UserCreated = TypedEvent<et::kUserCreated, UserCreatedData>;
using UserUpdated = TypedEvent<et::kUserUpdated, UserUpdatedData>;
using UserActivated = TypedEvent<et::kUserActivated, UserRefData>;
using UserDeactivated = TypedEvent<et::kUserDeactivated, UserRefData>;
using UserSuspended = TypedEvent<et::kUserSuspended, UserRefData>;
using UserLocked = TypedEvent<et::kUserLocked, UserLockedData>;
using UserUnlocked = TypedEvent<et::kUserUnlocked, UserRefData>;
using UserDeleted = TypedEvent<et::kUserDeleted, UserRefData>;
using UserPasswordReset = TypedEvent<et::kUserPasswordReset, UserPasswordResetData>;
using UserPasswordChanged = TypedEvent<et::kUserPasswordChanged, UserRefData>;
using UserTagSet = TypedEvent<et::kUserTagSet, UserTagData>;
using UserTagRemoved = TypedEvent<et::kUserTagRemoved, UserTagData>;
using UserExported = TypedEvent<et::kUserExported, UserExportedData>;
using PropertyDefined = TypedEvent<et::kPropertyDefined, PropertyData>;
using PropertyRemoved = TypedEvent<et::kPropertyRemoved, PropertyData>;
using RoleCreated = TypedEvent<et::kRoleCreated, RoleData>;
using RoleUpdated = TypedEvent<et::kRoleUpdated, RoleData>;
using RoleActivated = TypedEvent<et::kRoleActivated, RoleRefData>;
using RoleDeactivated = TypedEvent<et::kRoleDeactivated, RoleRefData>;
using RoleDeleted = TypedEvent<et::kRoleDeleted, RoleRefData>;
using GroupCreated = TypedEvent<et::kGroupCreated, GroupData>;
using GroupUpdated = TypedEvent<et::kGroupUpdated, GroupData>;
using GroupDeleted = TypedEvent<et::kGroupDeleted, GroupRefData>;
using GroupMemberAdded = TypedEvent<et::kGroupMemberAdded, GroupMemberData>;
using GroupMemberRemoved = TypedEvent<et::kGroupMemberRemoved, GroupMemberData>;
using BindingCreated = TypedEvent<et::kBindingCreated, BindingData>;
using BindingDeleted = TypedEvent<et::kBindingDeleted, BindingData>;
using ApiClientCreated = TypedEvent<et::kApiClientCreated, ApiClientData>;
using ApiClientUpdated = TypedEvent<et::kApiClientUpdated, ApiClientData>;
using ApiClientActivated = TypedEvent<et::kApiClientActivated, ApiClientRefData>;
using ApiClientDeactivated = TypedEvent<et::kApiClientDeactivated, ApiClientRefData>;
using ApiClientDeleted = TypedEvent<et::kApiClientDeleted, ApiClientRefData>;
using ApiClientSecretCreated = TypedEvent<et::kApiClientSecretCreated, ApiClientSecretData>;
using ApiClientSecretRevoked = TypedEvent<et::kApiClientSecretRevoked, ApiClientSecretData>;
using InvitationCreated = TypedEvent<et::kInvitationCreated, InvitationData>;
using InvitationResent = TypedEvent<et::kInvitationResent, InvitationRefData>;
using InvitationRevoked = TypedEvent<et::kInvitationRevoked, InvitationRefData>;
using InvitationAccepted = TypedEvent<et::kInvitationAccepted, InvitationRefData>;
using InvitationExpired = TypedEvent<et::kInvitationExpired, InvitationRefData>;
using LoginSucceeded = TypedEvent<et::kAuthLoginSucceeded, LoginData>;
using LoginFailed = TypedEvent<et::kAuthLoginFailed, LoginData>;
using LoggedOut = TypedEvent<et::kAuthLogout, TokenData>;
using UserMfaEnrolled = TypedEvent<et::kUserMfaEnrolled, UserMfaData>;
using UserMfaRemoved = TypedEvent<et::kUserMfaRemoved, UserMfaData>;
using MfaSucceeded = TypedEvent<et::kAuthMfaSucceeded, MfaAuthData>;
using MfaFailed = TypedEvent<et::kAuthMfaFailed, MfaAuthData>;
using SsoConfigured = TypedEvent<et::kTenantSsoConfigured, SsoConfiguredData>;
using SsoRemoved = TypedEvent<et::kTenantSsoRemoved, SsoRemovedData>;
using UserProvisioned = TypedEvent<et::kUserProvisioned, UserProvisionedData>;
using SsoLoginSucceeded = TypedEvent<et::kAuthSsoLoginSucceeded, SsoLoginData>;
using SsoLoginFailed = TypedEvent<et::kAuthSsoLoginFailed, SsoLoginData>;
using TokenIssued = TypedEvent<et::kAuthTokenIssued, TokenData>;
using TokenRevoked = TypedEvent<et::kAuthTokenRevoked, TokenData>;

// The node events are one per kind ("environment.created", "project.created", …); the kind is
// in the type's first segment, and the applier treats every kind alike.
struct NodeCreated {
  NodeData data;
};
struct NodeUpdated {
  NodeData data;
};
struct NodeDeleted {
  NodeRefData data;
};

using IdentityEvent = std::variant<
    TenantCreated, TenantUpdated, TenantPlanChanged, TenantLegalHoldChanged, UserCreated,
    UserUpdated, UserActivated, UserDeactivated, UserSuspended, UserLocked, UserUnlocked,
    UserDeleted, UserPasswordReset, UserPasswordChanged, UserTagSet, UserTagRemoved, UserExported,
    PropertyDefined, PropertyRemoved, RoleCreated, RoleUpdated, RoleActivated, RoleDeactivated,
    RoleDeleted, GroupCreated, GroupUpdated, GroupDeleted, GroupMemberAdded, GroupMemberRemoved,
    BindingCreated, BindingDeleted, ApiClientCreated, ApiClientUpdated, ApiClientActivated,
    ApiClientDeactivated, ApiClientDeleted, ApiClientSecretCreated, ApiClientSecretRevoked,
    InvitationCreated, InvitationResent, InvitationRevoked, InvitationAccepted, InvitationExpired,
    LoginSucceeded, LoginFailed, LoggedOut, TokenIssued, TokenRevoked, UserMfaEnrolled,
    UserMfaRemoved, MfaSucceeded, MfaFailed, SsoConfigured, SsoRemoved, UserProvisioned,
    SsoLoginSucceeded, SsoLoginFailed, NodeCreated, NodeUpdated, NodeDeleted>;

// True for the types that change identity state: the catalog's, less audit.* (application
// events and the trail's own records change none).
[[nodiscard]] bool ChangesIdentityState(std::string_view type);

// The event of `type` with its payload read from `data`; kCorruption for a type that changes no
// identity state or is not in the catalog, and for data that does not fit the type's payload.
[[nodiscard]] Result<IdentityEvent> ParseIdentityEvent(std::string_view type,
                                                       const JsonValue& data);

}  // namespace custos::core::iam
