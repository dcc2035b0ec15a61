// Identity commands: the intents the admin API and the auth flows express. Decide (decide.h)
// turns one command and the tenant's current state into events, or a precise error.
//
// Secrets never travel in commands: a password the user chose arrives as its argon2id hash
// (made by the caller, off the tenant's lock) and its length for the policy check; the
// server-made secrets (temporary passwords, client secrets, invitation tokens) are made by
// Decide and leave only in the Decision.
//
// Thread-safety: plain values.
#pragma once

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/iam/model.h"
#include "core/json_value.h"
#include "core/time.h"

namespace custos::core::iam {

// ---- tenants (root only, but for name and settings) ----
struct CreateTenant {
  std::string id;
  std::string name;
  Plan plan = Plan::kFree;
  std::optional<int> retention_days;
  std::vector<std::string> environments = {"Production", "Development"};
};
struct TenantSettingsPatch {
  std::optional<int> lockout_threshold;
  std::optional<int> lockout_minutes;
  std::optional<int> password_min_length;
  std::optional<int> temp_password_ttl_hours;
  std::optional<int> invite_ttl_days;
  std::optional<int> token_ttl_seconds;
  std::optional<std::string> mfa_required;  // "none", "admins" or "all"
};
struct UpdateTenant {
  std::optional<std::string> name;
  std::optional<Plan> plan;
  std::optional<int> retention_days;
  std::optional<int64_t> seat_limit;  // root only; 0 removes the limit
  std::optional<TenantSettingsPatch> settings;
};
struct SetLegalHold {
  bool enabled = false;
  std::string reason;
};

// ---- single sign-on (OpenID Connect) ----
// Configures the tenant's identity provider (admin on iam.settings, checked by the route). The
// client secret arrives sealed (core/sealed.h) by the caller; absent, the stored one stays.
// Each mapped group must be one the caller could add a new user to (ACCESS.md rules 1-2).
struct ConfigureOidc {
  std::string issuer;
  std::string client_id;
  std::optional<std::string> sealed_client_secret;
  std::vector<std::string> allowed_domains;
  std::vector<std::string> required_domains;
  std::string group_claim;
  std::map<std::string, std::string> group_mapping;
  std::vector<std::string> redirect_uris;
};
struct RemoveOidc {};
// A single sign-on login as the API saw it (root only: the callback records it, no caller
// sends it). A success names the ID token's verified claims; Decide links the user by email
// or provisions it, applies the group mapping as its configurer, and refuses what the state
// refuses (an inactive user, an account of another subject, a domain not allowed).
struct RecordSsoLogin {
  bool succeeded = false;
  std::string reason;  // on failure: "bad_nonce", "bad_audience", "expired", …
  std::string issuer;
  std::string client_id;
  std::string subject;
  std::string email;
  std::string given_name;
  std::string family_name;
  std::vector<std::string> groups;  // the group claim's values
  // Failures before any ID token (made-up states, unlisted redirects) from one source address,
  // tallied over a minute; absent for a single one.
  std::optional<uint64_t> count;
  std::optional<Time> since;
};

// ---- users ----
struct CreateUser {
  std::string email;
  std::string first_name;
  std::string last_name;
  std::string phone;
  std::string address;
  std::string department;
  std::map<std::string, std::string> external_ids;
  std::map<std::string, std::string> tags;
  std::map<std::string, JsonValue> properties;
  UserKind kind = UserKind::kUser;
  std::vector<Grant> bindings;
  std::vector<std::string> group_ids;
  bool support = false;  // root only: a support account, not counted against seats
};
// A merge patch: absent fields stay; an empty string clears an optional field.
struct UpdateUser {
  std::string user_id;
  std::optional<std::string> email;
  std::optional<std::string> first_name;
  std::optional<std::string> last_name;
  std::optional<std::string> phone;
  std::optional<std::string> address;
  std::optional<std::string> department;
  std::optional<std::map<std::string, std::string>> external_ids;
  std::optional<std::map<std::string, JsonValue>> properties;  // merged; null removes a key
  std::optional<UserKind> kind;
  std::optional<bool> support;  // root only
};
enum class UserAction : uint8_t { kActivate, kDeactivate, kSuspend, kUnlock, kDelete };
struct ChangeUserStatus {
  std::string user_id;
  UserAction action = UserAction::kActivate;
  std::string reason;
  // Off-boarding in one step: deactivating, suspending or deleting the user also deactivates
  // the API clients it owns (each needs the caller to outrank it, as a deactivation does).
  bool deactivate_owned_clients = false;
};
struct ResetPassword {
  std::string user_id;
};
struct SetUserTag {
  std::string user_id;
  std::string key;
  std::string value;
};
struct RemoveUserTag {
  std::string user_id;
  std::string key;
};
struct ChangePassword {
  std::string user_id;
  std::string password_hash;  // argon2id, made by the caller
  size_t password_length = 0;
};
struct RecordLogin {
  std::optional<std::string> user_id;  // absent when no user has the email
  std::string email;
  bool succeeded = false;
  std::string reason;  // on failure: "bad_password", "locked", …
  // For unknown emails: the failures from one source address over a minute, and when the
  // first was.
  std::optional<uint64_t> count;
  std::optional<Time> since;
  // A client that failed to authenticate (tallied like unknown emails; root only).
  std::optional<std::string> client_id;
};
// A second factor (TOTP) confirmed by the user itself: the secret sealed and the recovery
// codes hashed by the caller (the API, which also checked the confirming code, of `step`).
struct EnrollMfa {
  std::string user_id;
  std::string sealed_secret;
  std::vector<std::string> recovery_hashes;
  int64_t step = -1;
};
// Removes a user's second factor: the user itself (the API checked a current code first), or
// — `reset` — a caller other than the user that may act on it (ACCESS.md rule 5: an admin's
// reset; nobody resets its own this way, without a code).
struct RemoveMfa {
  std::string user_id;
  bool reset = false;
};
// The second step of a login, recorded as the user itself (like RecordLogin). A success names
// what it used up: a TOTP step later than the last one accepted, or an unused recovery code.
struct RecordMfa {
  std::string user_id;
  bool succeeded = false;
  std::string method;  // "totp" or "recovery_code"
  std::optional<int64_t> step;
  std::optional<int> recovery_code_index;
  std::string reason;  // on failure
  // What the code was checked against, outside the tenant's lock: a success is refused if the
  // user's sessions ended or its second factor was replaced since.
  std::optional<int64_t> session_epoch;
  std::optional<Time> enrolled_at;
};
// Many users at once (CSV import). All or nothing: any invalid row fails the whole import;
// best effort: the valid rows are created and the others reported by row.
struct ImportUsers {
  std::vector<CreateUser> users;
  std::vector<size_t> lines;  // the source line of each user, for reports
  bool all_or_nothing = true;
  // Rows the caller already found invalid (names of unknown roles or groups): with
  // all_or_nothing, none of `users` is created either.
  size_t refused_before = 0;
};
struct RecordUserExport {
  uint64_t count = 0;
};
struct DefineProperty {
  std::string key;
  PropertyType type = PropertyType::kString;
  std::string description;
};
struct RemoveProperty {
  std::string key;
};

// ---- roles, groups, bindings ----
struct CreateRole {
  std::string name;
  std::string description;
  std::vector<Permission> permissions;
  std::vector<std::string> includes;
};
struct UpdateRole {
  std::string role_id;
  std::optional<std::string> name;
  std::optional<std::string> description;
  std::optional<std::vector<Permission>> permissions;
  std::optional<std::vector<std::string>> includes;
};
struct ChangeRoleStatus {
  std::string role_id;
  bool active = true;
};
struct DeleteRole {
  std::string role_id;
};
struct CreateGroup {
  std::string name;
  std::string description;
  GroupType type = GroupType::kConfigured;     // configured or app
  std::string scope = std::string(kRootNode);  // an app group's project
};
struct UpdateGroup {
  std::string group_id;
  std::optional<std::string> name;
  std::optional<std::string> description;
};
struct DeleteGroup {
  std::string group_id;
};
struct AddGroupMembers {
  std::string group_id;
  std::vector<Subject> members;
};
struct RemoveGroupMember {
  std::string group_id;
  std::string member_id;
};
struct CreateBinding {
  Subject subject;
  std::string role_id;
  std::string scope = std::string(kRootNode);
};
struct DeleteBinding {
  std::string binding_id;
};

// ---- API clients ----
struct CreateClient {
  std::string name;
  std::string description;
  std::string label;
  std::vector<Grant> bindings;
  // Its owner: absent, the calling user (none when a client or root makes it); "" none.
  std::optional<std::string> owner_id;
};
struct UpdateClient {
  std::string client_id;
  std::optional<std::string> name;
  std::optional<std::string> description;
  std::optional<std::string> label;
  std::optional<std::string> owner_id;  // "" clears it
};
struct ChangeClientStatus {
  std::string client_id;
  bool active = true;
};
struct DeleteClient {
  std::string client_id;
};
struct CreateClientSecret {
  std::string client_id;
};
struct RevokeClientSecret {
  std::string client_id;
  std::string key_id;
};
struct RecordTokenIssued {
  std::string client_id;
  std::string key_id;
  std::string jti;
  Time expires_at;
};
struct RevokeToken {
  Subject subject;
  std::string jti;
  Time expires_at;
  bool logout = false;  // auth.logout rather than auth.token_revoked
};

// ---- invitations ----
struct CreateInvitation {
  std::string email;
  std::vector<Grant> bindings;
  std::vector<std::string> group_ids;
  std::optional<int> expires_in_days;
};
struct ResendInvitation {
  std::string invitation_id;
};
struct RevokeInvitation {
  std::string invitation_id;
};
struct AcceptInvitation {
  std::string invitation_id;
  std::string first_name;
  std::string last_name;
  std::string password_hash;  // argon2id, made by the caller
  size_t password_length = 0;
};
// Records what ran out by itself (the system's expiry job; no caller may send it): pending
// invitations past their expiry (invitation.expired) and timed locks past their end
// (user.unlocked, reason "lock expired"), at most `max` of them.
struct ExpireDue {
  size_t max = 1000;
};

// ---- the resource tree ----
struct CreateNode {
  std::string kind;  // environment | project | folder | resource
  std::string name;
  std::string parent_id;  // an environment for a project; any node for folders and resources
  std::string type;       // a resource's type (workflow, connection, …)
  std::string app;
  bool inherit = true;
};
struct UpdateNode {
  std::string node_id;
  std::optional<std::string> name;
  std::optional<std::string> app;
  std::optional<bool> inherit;
  std::optional<std::string> parent_id;  // a move (projects, folders, resources)
};
struct DeleteNode {
  std::string node_id;
};

using Command =
    std::variant<CreateTenant, UpdateTenant, SetLegalHold, CreateUser, UpdateUser, ChangeUserStatus,
                 ResetPassword, SetUserTag, RemoveUserTag, ChangePassword, RecordLogin, EnrollMfa,
                 RemoveMfa, RecordMfa, ImportUsers, RecordUserExport, DefineProperty,
                 RemoveProperty, CreateRole, UpdateRole, ChangeRoleStatus, DeleteRole, CreateGroup,
                 UpdateGroup, DeleteGroup, AddGroupMembers, RemoveGroupMember, CreateBinding,
                 DeleteBinding, CreateClient, UpdateClient, ChangeClientStatus, DeleteClient,
                 CreateClientSecret, RevokeClientSecret, RecordTokenIssued, RevokeToken,
                 CreateInvitation, ResendInvitation, RevokeInvitation, AcceptInvitation, ExpireDue,
                 CreateNode, UpdateNode, DeleteNode, ConfigureOidc, RemoveOidc, RecordSsoLogin>;

}  // namespace custos::core::iam
