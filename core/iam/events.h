// The identity events (../shared/spec/EVENTS.md catalog): their types and the payload each carries
// as its `data`. Decide functions build them (MakeEvent); TenantState::Apply reads them back from
// `data` — the same code path for a live command, a replay after a rebuild, and a follower.
// No payload holds a secret.
//
// Thread-safety: plain values.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/event.h"
#include "core/fields.h"
#include "core/iam/model.h"

namespace custos::core::iam {

// An event as decided: its type, target, data and changes; the log adds the rest.
struct DomainEvent {
  std::string type;
  std::optional<Target> target;
  std::string data = "{}";
  std::string changes;  // canonical JSON object or empty
};

template <Reflected P>
[[nodiscard]] DomainEvent MakeEvent(std::string_view type, const P& payload,
                                    std::optional<Target> target, std::string changes = {}) {
  return DomainEvent{std::string(type), std::move(target), ToJson(payload), std::move(changes)};
}

// Payloads. Field names are the event's `data` members.

struct TenantCreatedData {
  std::string id;
  std::string name;
  Plan plan = Plan::kFree;
  int retention_days = 30;
  TenantSettings settings;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("id", s.id);
    v("name", s.name);
    v("plan", s.plan);
    v("retention_days", s.retention_days);
    v("settings", s.settings);
  }
};

struct TenantUpdatedData {
  std::string name;
  TenantSettings settings;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("name", s.name);
    v("settings", s.settings);
  }
};

struct TenantPlanChangedData {
  Plan plan = Plan::kFree;
  int retention_days = 30;
  std::optional<int64_t> seat_limit;  // absent: no limit
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("plan", s.plan);
    v("retention_days", s.retention_days);
    v("seat_limit", s.seat_limit);
  }
};

struct TenantLegalHoldData {
  bool enabled = false;
  std::string reason;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("enabled", s.enabled);
    v("reason", s.reason);
  }
};

struct UserCreatedData {
  std::string user_id;
  UserProfile profile;
  std::map<std::string, std::string> tags;
  std::optional<Time> temp_password_expires_at;  // absent: the user chose a password
  bool must_change_password = true;
  std::optional<std::string> invitation_id;
  // How the temporary password went out ("response" | "notification"; absent when the user
  // chose a password), and the tenant principals that saw it or the invitation's token.
  std::optional<std::string> credential_delivery;
  std::optional<std::vector<Subject>> credential_known_by;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("user_id", s.user_id);
    v("profile", s.profile);
    v("tags", s.tags);
    v("temp_password_expires_at", s.temp_password_expires_at);
    v("must_change_password", s.must_change_password);
    v("invitation_id", s.invitation_id);
    v("credential_delivery", s.credential_delivery);
    v("credential_known_by", s.credential_known_by);
  }
};

struct UserUpdatedData {
  std::string user_id;
  UserProfile profile;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("user_id", s.user_id);
    v("profile", s.profile);
  }
};

// user.activated, user.deactivated, user.suspended, user.unlocked, user.deleted,
// user.password_changed
struct UserRefData {
  std::string user_id;
  std::string reason;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("user_id", s.user_id);
    v("reason", s.reason);
  }
};

struct UserLockedData {
  std::string user_id;
  std::optional<Time> locked_until;  // absent: until an admin unlocks
  std::string reason;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("user_id", s.user_id);
    v("locked_until", s.locked_until);
    v("reason", s.reason);
  }
};

struct UserPasswordResetData {
  std::string user_id;
  Time temp_password_expires_at;
  // "response" (shown to the caller, listed in credential_known_by) or "notification" (the
  // mail alone: nobody else knows the user's credential any more).
  std::optional<std::string> credential_delivery;
  std::optional<std::vector<Subject>> credential_known_by;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("user_id", s.user_id);
    v("temp_password_expires_at", s.temp_password_expires_at);
    v("credential_delivery", s.credential_delivery);
    v("credential_known_by", s.credential_known_by);
  }
};

struct UserTagData {
  std::string user_id;
  std::string key;
  std::optional<std::string> value;  // absent on removal
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("user_id", s.user_id);
    v("key", s.key);
    v("value", s.value);
  }
};

struct UserExportedData {
  uint64_t count = 0;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("count", s.count);
  }
};

struct PropertyData {
  std::string key;
  PropertyType type = PropertyType::kString;
  std::string description;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("key", s.key);
    v("type", s.type);
    v("description", s.description);
  }
};

struct RoleData {
  std::string role_id;
  std::string name;
  std::string description;
  std::vector<Permission> permissions;
  std::vector<std::string> includes;
  bool built_in = false;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("role_id", s.role_id);
    v("name", s.name);
    v("description", s.description);
    v("permissions", s.permissions);
    v("includes", s.includes);
    v("built_in", s.built_in);
  }
};

// role.activated, role.deactivated, role.deleted
struct RoleRefData {
  std::string role_id;
  std::string name;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("role_id", s.role_id);
    v("name", s.name);
  }
};

struct GroupData {
  std::string group_id;
  std::string name;
  std::string description;
  GroupType type = GroupType::kConfigured;
  std::string scope = std::string(kRootNode);
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("group_id", s.group_id);
    v("name", s.name);
    v("description", s.description);
    v("type", s.type);
    v("scope", s.scope);
  }
};

struct GroupRefData {
  std::string group_id;
  std::string name;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("group_id", s.group_id);
    v("name", s.name);
  }
};

struct GroupMemberData {
  std::string group_id;
  Subject member;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("group_id", s.group_id);
    v("member", s.member);
  }
};

struct BindingData {
  std::string binding_id;
  Subject subject;
  std::string role_id;
  std::string scope = std::string(kRootNode);
  bool system = false;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("binding_id", s.binding_id);
    v("subject", s.subject);
    v("role_id", s.role_id);
    v("scope", s.scope);
    v("system", s.system);
  }
};

struct ApiClientData {
  std::string client_id;
  std::string name;
  std::string description;
  std::string label;
  std::optional<std::string> owner_id;  // absent: no owner
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("client_id", s.client_id);
    v("name", s.name);
    v("description", s.description);
    v("label", s.label);
    v("owner_id", s.owner_id);
  }
};

// api_client.activated, .deactivated, .deleted
struct ApiClientRefData {
  std::string client_id;
  std::string name;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("client_id", s.client_id);
    v("name", s.name);
  }
};

// api_client.secret_created, .secret_revoked
struct ApiClientSecretData {
  std::string client_id;
  std::string key_id;
  std::optional<std::string> credential_delivery;  // secret_created: response | notification
  std::optional<std::vector<Subject>> credential_known_by;  // who saw it (the caller)
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("client_id", s.client_id);
    v("key_id", s.key_id);
    v("credential_delivery", s.credential_delivery);
    v("credential_known_by", s.credential_known_by);
  }
};

struct InvitationData {
  std::string invitation_id;
  std::string email;
  std::vector<Grant> bindings;
  std::vector<std::string> group_ids;
  Time expires_at;
  std::optional<Subject> invited_by;  // absent: root
  std::optional<std::string> credential_delivery;
  std::optional<std::vector<Subject>> token_known_by;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("invitation_id", s.invitation_id);
    v("email", s.email);
    v("bindings", s.bindings);
    v("group_ids", s.group_ids);
    v("expires_at", s.expires_at);
    v("invited_by", s.invited_by);
    v("credential_delivery", s.credential_delivery);
    v("token_known_by", s.token_known_by);
  }
};

// invitation.resent (with expires_at), .revoked, .expired, .accepted (with user_id)
struct InvitationRefData {
  std::string invitation_id;
  std::optional<Time> expires_at;
  std::optional<std::string> user_id;
  std::optional<std::string> credential_delivery;  // resent
  std::optional<std::vector<Subject>> token_known_by;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("invitation_id", s.invitation_id);
    v("expires_at", s.expires_at);
    v("user_id", s.user_id);
    v("credential_delivery", s.credential_delivery);
    v("token_known_by", s.token_known_by);
  }
};

// environment|project|folder|resource .created and .updated
struct NodeData {
  std::string node_id;
  std::string type;
  std::string name;
  std::string parent_id;
  std::string app;
  bool inherit = true;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("node_id", s.node_id);
    v("type", s.type);
    v("name", s.name);
    v("parent_id", s.parent_id);
    v("app", s.app);
    v("inherit", s.inherit);
  }
};

struct NodeRefData {
  std::string node_id;
  std::string name;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("node_id", s.node_id);
    v("name", s.name);
  }
};

// user.mfa_enrolled and user.mfa_removed: never a secret, a code or a recovery code.
struct UserMfaData {
  std::string user_id;
  std::string method;                 // "totp"
  std::optional<int> recovery_codes;  // enrolled: how many recovery codes were made
  std::optional<int64_t> step;        // enrolled: the TOTP step of the confirming code
  std::string reason;                 // removed: "removed by the user", "reset by an admin"
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("user_id", s.user_id);
    v("method", s.method);
    v("recovery_codes", s.recovery_codes);
    v("step", s.step);
    v("reason", s.reason);
  }
};

// auth.mfa_succeeded and auth.mfa_failed (the second step of a login): which kind of code, and
// which one was used up — a TOTP step (each accepted once) or a recovery code's index (each
// used once) — never the code itself.
struct MfaAuthData {
  std::string user_id;
  std::string email;
  std::string method;  // "totp" or "recovery_code"
  std::optional<int64_t> step;
  std::optional<int> recovery_code_index;
  std::optional<int> recovery_codes_left;
  std::string reason;  // on failure: "bad_code", "replayed_code", "used_recovery_code", …
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("user_id", s.user_id);
    v("email", s.email);
    v("method", s.method);
    v("step", s.step);
    v("recovery_code_index", s.recovery_code_index);
    v("recovery_codes_left", s.recovery_codes_left);
    v("reason", s.reason);
  }
};

// tenant.sso_configured: the identity provider as configured (never its client secret), and
// whether the secret was replaced. tenant.sso_removed: which protocol was removed.
struct SsoConfiguredData {
  std::string protocol;  // "oidc"
  OidcConfig config;
  bool client_secret_changed = false;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("protocol", s.protocol);
    v("config", s.config);
    v("client_secret_changed", s.client_secret_changed);
  }
};
struct SsoRemovedData {
  std::string protocol;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("protocol", s.protocol);
  }
};

// user.provisioned: a user made just in time by its first single sign-on login, linked to the
// identity provider's account; it has no password.
struct UserProvisionedData {
  std::string user_id;
  UserProfile profile;
  std::string issuer;
  std::string subject;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("user_id", s.user_id);
    v("profile", s.profile);
    v("issuer", s.issuer);
    v("subject", s.subject);
  }
};

// auth.sso_login_succeeded and auth.sso_login_failed: the identity provider's account and
// what the group mapping did; never a code, a token or a secret.
struct SsoLoginData {
  std::optional<std::string> user_id;
  std::string email;
  std::string issuer;
  std::string subject;
  std::string reason;        // on failure
  bool linked = false;       // succeeded: this login linked an existing user
  bool provisioned = false;  // succeeded: this login made the user
  // Succeeded: the user has a second factor, so the login completes only with
  // auth.mfa_succeeded (this resets no failure count and is no logon yet).
  bool mfa_pending = false;
  std::vector<std::string> groups_added;
  std::vector<std::string> groups_removed;
  // Mapped groups whose change its configurer may not make now (rule 1 to add, rule 5 to
  // remove): left as they were.
  std::vector<std::string> groups_refused;
  // Succeeded: the provider's configurer (absent: root), who from now on counts as knowing
  // the user's credential (ACCESS.md rule 2 never delegates to it from them).
  std::optional<Subject> configured_by;
  // Failures tallied from one source address over a minute (absent for a single one).
  std::optional<uint64_t> count;
  std::optional<Time> since;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("user_id", s.user_id);
    v("email", s.email);
    v("issuer", s.issuer);
    v("subject", s.subject);
    v("reason", s.reason);
    v("linked", s.linked);
    v("provisioned", s.provisioned);
    v("groups_added", s.groups_added);
    v("groups_removed", s.groups_removed);
    v("groups_refused", s.groups_refused);
    v("configured_by", s.configured_by);
    v("mfa_pending", s.mfa_pending);
    v("count", s.count);
    v("since", s.since);
  }
};

struct LoginData {
  std::optional<std::string> user_id;
  std::string email;
  std::string reason;  // on failure
  // Failures for unknown emails from one source address, tallied over a minute (the email is
  // the first one tried); absent for a single attempt.
  std::optional<uint64_t> count;
  std::optional<Time> since;
  // A client's failed authentication: its id (and no email).
  std::optional<std::string> client_id;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("user_id", s.user_id);
    v("client_id", s.client_id);
    v("email", s.email);
    v("reason", s.reason);
    v("count", s.count);
    v("since", s.since);
  }
};

// auth.token_issued, auth.token_revoked, auth.logout
struct TokenData {
  Subject subject;
  std::string jti;
  Time expires_at;
  std::optional<std::string> key_id;  // the client secret used
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("subject", s.subject);
    v("jti", s.jti);
    v("expires_at", s.expires_at);
    v("key_id", s.key_id);
  }
};

// Event types, for building and for dispatch.
namespace event_type {
inline constexpr std::string_view kTenantCreated = "tenant.created";
inline constexpr std::string_view kTenantUpdated = "tenant.updated";
inline constexpr std::string_view kTenantPlanChanged = "tenant.plan_changed";
inline constexpr std::string_view kTenantLegalHoldChanged = "tenant.legal_hold_changed";
inline constexpr std::string_view kTenantSsoConfigured = "tenant.sso_configured";
inline constexpr std::string_view kTenantSsoRemoved = "tenant.sso_removed";
inline constexpr std::string_view kUserCreated = "user.created";
inline constexpr std::string_view kUserUpdated = "user.updated";
inline constexpr std::string_view kUserActivated = "user.activated";
inline constexpr std::string_view kUserDeactivated = "user.deactivated";
inline constexpr std::string_view kUserSuspended = "user.suspended";
inline constexpr std::string_view kUserLocked = "user.locked";
inline constexpr std::string_view kUserUnlocked = "user.unlocked";
inline constexpr std::string_view kUserDeleted = "user.deleted";
inline constexpr std::string_view kUserPasswordReset = "user.password_reset";
inline constexpr std::string_view kUserPasswordChanged = "user.password_changed";
inline constexpr std::string_view kUserTagSet = "user.tag_set";
inline constexpr std::string_view kUserTagRemoved = "user.tag_removed";
inline constexpr std::string_view kUserExported = "user.exported";
inline constexpr std::string_view kUserMfaEnrolled = "user.mfa_enrolled";
inline constexpr std::string_view kUserMfaRemoved = "user.mfa_removed";
inline constexpr std::string_view kUserProvisioned = "user.provisioned";
inline constexpr std::string_view kPropertyDefined = "property.defined";
inline constexpr std::string_view kPropertyRemoved = "property.removed";
inline constexpr std::string_view kRoleCreated = "role.created";
inline constexpr std::string_view kRoleUpdated = "role.updated";
inline constexpr std::string_view kRoleActivated = "role.activated";
inline constexpr std::string_view kRoleDeactivated = "role.deactivated";
inline constexpr std::string_view kRoleDeleted = "role.deleted";
inline constexpr std::string_view kGroupCreated = "group.created";
inline constexpr std::string_view kGroupUpdated = "group.updated";
inline constexpr std::string_view kGroupDeleted = "group.deleted";
inline constexpr std::string_view kGroupMemberAdded = "group.member_added";
inline constexpr std::string_view kGroupMemberRemoved = "group.member_removed";
inline constexpr std::string_view kBindingCreated = "binding.created";
inline constexpr std::string_view kBindingDeleted = "binding.deleted";
inline constexpr std::string_view kApiClientCreated = "api_client.created";
inline constexpr std::string_view kApiClientUpdated = "api_client.updated";
inline constexpr std::string_view kApiClientActivated = "api_client.activated";
inline constexpr std::string_view kApiClientDeactivated = "api_client.deactivated";
inline constexpr std::string_view kApiClientDeleted = "api_client.deleted";
inline constexpr std::string_view kApiClientSecretCreated = "api_client.secret_created";
inline constexpr std::string_view kApiClientSecretRevoked = "api_client.secret_revoked";
inline constexpr std::string_view kInvitationCreated = "invitation.created";
inline constexpr std::string_view kInvitationResent = "invitation.resent";
inline constexpr std::string_view kInvitationRevoked = "invitation.revoked";
inline constexpr std::string_view kInvitationAccepted = "invitation.accepted";
inline constexpr std::string_view kInvitationExpired = "invitation.expired";
inline constexpr std::string_view kAuthLoginSucceeded = "auth.login_succeeded";
inline constexpr std::string_view kAuthLoginFailed = "auth.login_failed";
inline constexpr std::string_view kAuthLogout = "auth.logout";
inline constexpr std::string_view kAuthMfaSucceeded = "auth.mfa_succeeded";
inline constexpr std::string_view kAuthMfaFailed = "auth.mfa_failed";
inline constexpr std::string_view kAuthSsoLoginSucceeded = "auth.sso_login_succeeded";
inline constexpr std::string_view kAuthSsoLoginFailed = "auth.sso_login_failed";
inline constexpr std::string_view kAuthTokenIssued = "auth.token_issued";
inline constexpr std::string_view kAuthTokenRevoked = "auth.token_revoked";
}  // namespace event_type

// "<kind>.created" etc. for a node kind (environment, project, folder, resource).
[[nodiscard]] std::string NodeEventType(std::string_view kind, std::string_view verb);

// True for types of the IAM catalog (first segment tenant, user, role, group, binding,
// api_client, invitation, environment, project, folder, resource, property, auth, audit):
// what applications may not report through ingest.
[[nodiscard]] bool IsCatalogType(std::string_view type);

}  // namespace custos::core::iam
