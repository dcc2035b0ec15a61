// The identity model: what a tenant holds (../shared/spec/ACCESS.md, ../shared/spec/API.md). Plain
// reflected structs (see core/fields.h): the same field lists write event data, projection records
// and API bodies.
//
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/iam/level.h"
#include "core/json_value.h"
#include "core/time.h"

namespace custos::core::iam {

#define CUSTOS_ENUM_STRINGS(E)                      \
  [[nodiscard]] std::string_view ToString(E value); \
  [[nodiscard]] bool FromString(std::string_view text, E& out)

enum class Plan : uint8_t { kFree, kPro, kEnterprise };
CUSTOS_ENUM_STRINGS(Plan);
enum class UserStatus : uint8_t { kActive, kSuspended, kLocked, kDeactivated, kDeleted };
CUSTOS_ENUM_STRINGS(UserStatus);
enum class UserKind : uint8_t { kUser, kAdmin };
CUSTOS_ENUM_STRINGS(UserKind);
enum class ActiveStatus : uint8_t { kActive, kInactive };  // roles and API clients
CUSTOS_ENUM_STRINGS(ActiveStatus);
enum class GroupType : uint8_t { kSystem, kConfigured, kApp };
CUSTOS_ENUM_STRINGS(GroupType);
enum class SubjectType : uint8_t { kUser, kGroup, kApiClient };
CUSTOS_ENUM_STRINGS(SubjectType);
enum class InvitationStatus : uint8_t { kPending, kAccepted, kExpired, kRevoked };
CUSTOS_ENUM_STRINGS(InvitationStatus);
enum class PropertyType : uint8_t { kString, kNumber, kBoolean };
CUSTOS_ENUM_STRINGS(PropertyType);

#undef CUSTOS_ENUM_STRINGS

// The id of the tenant's root node.
inline constexpr std::string_view kRootNode = "root";

// Retention windows by plan (../shared/spec/EVENTS.md): free 30, pro 90, enterprise 365 by default
// and settable from 365 to 3650.
[[nodiscard]] int DefaultRetentionDays(Plan plan);

struct TenantSettings {
  int lockout_threshold = 5;  // consecutive failures that lock an account
  int lockout_minutes = 15;   // 0: until an admin unlocks
  int password_min_length = 12;
  int temp_password_ttl_hours = 72;
  int invite_ttl_days = 7;
  int token_ttl_seconds = 900;
  // Who must use a second factor (TOTP) at login: "none" (absent), "admins" (admin-kind users
  // and holders of admin on any iam.* type) or "all". Optional, so that events written before
  // it existed read as before.
  std::optional<std::string> mfa_required;

  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("mfa_required", s.mfa_required);
    v("lockout_threshold", s.lockout_threshold);
    v("lockout_minutes", s.lockout_minutes);
    v("password_min_length", s.password_min_length);
    v("temp_password_ttl_hours", s.temp_password_ttl_hours);
    v("invite_ttl_days", s.invite_ttl_days);
    v("token_ttl_seconds", s.token_ttl_seconds);
  }
  friend bool operator==(const TenantSettings&, const TenantSettings&) = default;
};

struct Permission {
  std::string app = "*";
  std::string resource_type;
  std::string resource = "*";
  Level level = Level::kNone;

  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("app", s.app);
    v("resource_type", s.resource_type);
    v("resource", s.resource);
    v("level", s.level);
  }
  friend auto operator<=>(const Permission&, const Permission&) = default;
};

// Orders permissions by value through pointers (sets of distinct permissions).
struct PermissionLess {
  bool operator()(const Permission* a, const Permission* b) const { return *a < *b; }
};

struct Subject {
  SubjectType type = SubjectType::kUser;
  std::string id;

  // "user:usr_…", a map key.
  [[nodiscard]] std::string Key() const;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("type", s.type);
    v("id", s.id);
  }
  friend auto operator<=>(const Subject&, const Subject&) = default;
};

// A tenant's OpenID Connect identity provider (docs/sso.md): where its users sign in with
// single sign-on. The client secret is sealed in the credential store (credentials.h), never
// here. A group mapping gives the mapped groups to whoever signs in with the claim value, on the
// authority of `configured_by` (ACCESS.md rules 1 and 2, checked when it is configured and
// again at every login).
struct OidcConfig {
  std::string issuer;
  std::string client_id;
  std::vector<std::string> allowed_domains;   // lower case: the emails that may sign in
  std::vector<std::string> required_domains;  // lower case: their password logins are refused
  std::string group_claim;                    // "" for none
  std::map<std::string, std::string> group_mapping;  // claim value → group id
  std::vector<std::string> redirect_uris;            // where a login may end, exactly
  std::optional<Subject> configured_by;              // absent: root
  Time configured_at;

  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("issuer", s.issuer);
    v("client_id", s.client_id);
    v("allowed_domains", s.allowed_domains);
    v("required_domains", s.required_domains);
    v("group_claim", s.group_claim);
    v("group_mapping", s.group_mapping);
    v("redirect_uris", s.redirect_uris);
    v("configured_by", s.configured_by);
    v("configured_at", s.configured_at);
  }
  friend bool operator==(const OidcConfig&, const OidcConfig&) = default;
};

struct Tenant {
  std::string id;
  std::string name;
  Plan plan = Plan::kFree;
  int retention_days = 30;
  TenantSettings settings;
  bool legal_hold = false;
  std::string legal_hold_reason;
  // Users it may have that count (not deactivated or deleted, not support); none: no limit.
  std::optional<int64_t> seat_limit;
  std::optional<OidcConfig> oidc;  // single sign-on, when configured
  Time created_at;
  Time updated_at;
  int64_t version = 1;

  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("id", s.id);
    v("name", s.name);
    v("plan", s.plan);
    v("retention_days", s.retention_days);
    v("seat_limit", s.seat_limit);
    v("settings", s.settings);
    v("legal_hold", s.legal_hold);
    v("legal_hold_reason", s.legal_hold_reason);
    v("oidc", s.oidc);
    v("created_at", s.created_at);
    v("updated_at", s.updated_at);
    v("version", s.version);
  }
};

// A role at a scope, as requested when creating users, clients and invitations.
struct Grant {
  std::string role_id;
  std::string scope = std::string(kRootNode);

  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("role_id", s.role_id);
    v("scope", s.scope);
  }
  friend bool operator==(const Grant&, const Grant&) = default;
};

// The profile fields of a user that PATCH can change.
struct UserProfile {
  std::string email;
  std::string first_name;
  std::string last_name;
  std::string phone;
  std::string address;
  std::string department;
  std::map<std::string, std::string> external_ids;
  std::map<std::string, JsonValue> properties;
  UserKind kind = UserKind::kUser;
  // A vendor's support account (seed 001): not counted against the tenant's seat limit; set
  // by root only. Absent (never false) when it is not one.
  std::optional<bool> support;

  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("email", s.email);
    v("first_name", s.first_name);
    v("last_name", s.last_name);
    v("phone", s.phone);
    v("address", s.address);
    v("department", s.department);
    v("external_ids", s.external_ids);
    v("properties", s.properties);
    v("kind", s.kind);
    v("support", s.support);
  }
  friend bool operator==(const UserProfile&, const UserProfile&) = default;
};

// A user's second factor (TOTP, RFC 6238), as events record it; the secret and the recovery
// codes' hashes are in the credential store (credentials.h MfaCredential), never here.
struct UserMfa {
  std::string method = "totp";
  Time enrolled_at;
  int64_t last_step = -1;          // the last TOTP step accepted: a code is accepted once
  std::vector<int> recovery_used;  // the recovery codes used (their indexes), sorted
  int recovery_codes = 0;          // how many were made
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("method", s.method);
    v("enrolled_at", s.enrolled_at);
    v("last_step", s.last_step);
    v("recovery_used", s.recovery_used);
    v("recovery_codes", s.recovery_codes);
  }
  friend bool operator==(const UserMfa&, const UserMfa&) = default;
};

// The identity-provider account a user signs in with (single sign-on): linked at its first SSO
// login, by email; a later login from another account of the same issuer is refused.
struct UserSso {
  std::string issuer;
  std::string subject;  // the ID token's sub
  Time linked_at;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("issuer", s.issuer);
    v("subject", s.subject);
    v("linked_at", s.linked_at);
  }
  friend bool operator==(const UserSso&, const UserSso&) = default;
};

struct User {
  std::string id;
  UserProfile profile;
  std::map<std::string, std::string> tags;
  UserStatus status = UserStatus::kActive;
  bool must_change_password = true;
  std::optional<Time> temp_password_expires_at;
  std::optional<Time> last_active_at;
  int failed_logins = 0;             // consecutive
  std::optional<Time> locked_until;  // while locked; absent: until an admin unlocks
  // Tokens carry the epoch they were issued in; a password change or reset, a suspension,
  // deactivation or deletion moves it on, which ends every earlier token (../shared/spec/ACCESS.md
  // rule 8).
  int64_t session_epoch = 0;
  // Tenant principals that saw a credential of this user (a temporary password in a response,
  // the token of the invitation it accepted): they may not give it delegated grants (rule 4).
  // Cleared by a reset delivered by notification alone. Sorted.
  std::vector<Subject> credential_known_by;
  std::optional<UserMfa> mfa;  // enrolled in a second factor
  std::optional<UserSso> sso;  // linked to an identity provider's account
  Time created_at;
  Time updated_at;
  int64_t version = 1;

  [[nodiscard]] std::string DisplayName() const;

  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("id", s.id);
    v("profile", s.profile);
    v("tags", s.tags);
    v("status", s.status);
    v("must_change_password", s.must_change_password);
    v("temp_password_expires_at", s.temp_password_expires_at);
    v("last_active_at", s.last_active_at);
    v("failed_logins", s.failed_logins);
    v("locked_until", s.locked_until);
    v("session_epoch", s.session_epoch);
    v("credential_known_by", s.credential_known_by);
    v("mfa", s.mfa);
    v("sso", s.sso);
    v("created_at", s.created_at);
    v("updated_at", s.updated_at);
    v("version", s.version);
  }
};

struct Role {
  std::string id;
  std::string name;
  std::string description;
  std::vector<Permission> permissions;
  std::vector<std::string> includes;
  ActiveStatus status = ActiveStatus::kActive;
  bool built_in = false;
  Time created_at;
  Time updated_at;
  int64_t version = 1;

  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("id", s.id);
    v("name", s.name);
    v("description", s.description);
    v("permissions", s.permissions);
    v("includes", s.includes);
    v("status", s.status);
    v("built_in", s.built_in);
    v("created_at", s.created_at);
    v("updated_at", s.updated_at);
    v("version", s.version);
  }
};

struct Group {
  std::string id;
  std::string name;
  std::string description;
  GroupType type = GroupType::kConfigured;
  std::string scope = std::string(kRootNode);  // the node a system or app group belongs to
  std::vector<Subject> members;                // kept sorted
  Time created_at;
  Time updated_at;
  int64_t version = 1;

  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("id", s.id);
    v("name", s.name);
    v("description", s.description);
    v("type", s.type);
    v("scope", s.scope);
    v("members", s.members);
    v("created_at", s.created_at);
    v("updated_at", s.updated_at);
    v("version", s.version);
  }
};

struct Binding {
  std::string id;
  Subject subject;
  std::string role_id;
  std::string scope = std::string(kRootNode);
  bool system = false;  // made with a system group; goes with it
  Time created_at;
  int64_t version = 1;

  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("id", s.id);
    v("subject", s.subject);
    v("role_id", s.role_id);
    v("scope", s.scope);
    v("system", s.system);
    v("created_at", s.created_at);
    v("version", s.version);
  }
};

struct ClientSecret {
  std::string key_id;
  Time created_at;
  std::optional<Time> last_used_at;

  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("key_id", s.key_id);
    v("created_at", s.created_at);
    v("last_used_at", s.last_used_at);
  }
};

struct ApiClient {
  std::string id;  // also the OAuth client_id
  std::string name;
  std::string description;
  std::string label;
  ActiveStatus status = ActiveStatus::kActive;
  std::vector<ClientSecret> secrets;
  std::optional<Time> last_used_at;
  // The user who answers for it (its maker when a user made it; changeable): off-boarding
  // the user may deactivate it too.
  std::optional<std::string> owner_id;
  int64_t session_epoch = 0;  // as a user's: deactivation and deletion end earlier tokens
  // Tenant principals that saw one of its secrets in a response (they control it). Sorted.
  std::vector<Subject> credential_known_by;
  Time created_at;
  Time updated_at;
  int64_t version = 1;

  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("id", s.id);
    v("name", s.name);
    v("description", s.description);
    v("label", s.label);
    v("status", s.status);
    v("secrets", s.secrets);
    v("last_used_at", s.last_used_at);
    v("owner_id", s.owner_id);
    v("session_epoch", s.session_epoch);
    v("credential_known_by", s.credential_known_by);
    v("created_at", s.created_at);
    v("updated_at", s.updated_at);
    v("version", s.version);
  }
};

struct Invitation {
  std::string id;
  std::string email;
  std::vector<Grant> bindings;
  std::vector<std::string> group_ids;
  InvitationStatus status = InvitationStatus::kPending;
  Time expires_at;
  std::optional<std::string> user_id;  // once accepted
  int sends = 1;
  // Whose authority the invited grants carry (absent: root); accepting re-checks them.
  std::optional<Subject> invited_by;
  // Tenant principals that saw the current token in a response (cleared by a resend
  // delivered by notification alone): the user made from it is known to them. Sorted.
  std::vector<Subject> token_known_by;
  // Days it stays valid from each sending (its expires_in_days, or the tenant's default when
  // it was made); absent in records made before it was kept.
  std::optional<int64_t> ttl_days;
  Time created_at;
  Time updated_at;
  int64_t version = 1;

  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("id", s.id);
    v("email", s.email);
    v("ttl_days", s.ttl_days);
    v("bindings", s.bindings);
    v("group_ids", s.group_ids);
    v("status", s.status);
    v("expires_at", s.expires_at);
    v("user_id", s.user_id);
    v("sends", s.sends);
    v("invited_by", s.invited_by);
    v("token_known_by", s.token_known_by);
    v("created_at", s.created_at);
    v("updated_at", s.updated_at);
    v("version", s.version);
  }
};

// A node of the resource tree: environment, project, folder, or a typed resource.
struct Node {
  std::string id;
  std::string type;  // environment | project | folder | the resource's own type
  std::string name;
  std::string parent_id;
  std::string app;  // empty: none
  bool inherit = true;
  Time created_at;
  Time updated_at;
  int64_t version = 1;

  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("id", s.id);
    v("type", s.type);
    v("name", s.name);
    v("parent_id", s.parent_id);
    v("app", s.app);
    v("inherit", s.inherit);
    v("created_at", s.created_at);
    v("updated_at", s.updated_at);
    v("version", s.version);
  }
};

struct PropertyDefinition {
  std::string key;
  PropertyType type = PropertyType::kString;
  std::string description;
  Time created_at;

  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("key", s.key);
    v("type", s.type);
    v("description", s.description);
    v("created_at", s.created_at);
  }
};

// "environment", "project", "folder" or "resource", from a node id's prefix.
[[nodiscard]] std::string_view NodeKind(std::string_view node_id);

// ASCII lowercase, for case-insensitive uniqueness of emails and names.
[[nodiscard]] std::string Lower(std::string_view s);

}  // namespace custos::core::iam
