// Decide: (current state of a tenant, a command, the context) → the events that make the
// command true, or a precise error (Errc and, for validation, the field). Pure: the only
// inputs are the arguments (time and randomness come through the context), and it writes
// nothing. The caller appends the events (with the credential writes in the same batch),
// then applies them.
//
// Rules enforced here (../shared/spec/API.md, ../shared/spec/ACCESS.md): uniqueness (emails
// case-insensitively, role, group, client and project names), no cycle of included roles, built-in
// roles and system groups not editable, system groups and built-in roles made with tenants,
// environments and projects in the same append, dependent bindings and memberships removed as
// events, If-Match versions, and for a non-root caller every rule of "No escalation, on every path"
// (asked of Authority, authority.h): grants, delegation, admin kind, credentials by rank,
// acting on principals, the tree, bounded roles and token revocation. Also the checks that
// depend on a command's content rather than its route: binding or grouping on create (admin
// on iam.binding, update on iam.group), app groups (manage on their project), the tree
// (create/update/delete on the node's type at its parent).
//
// The caller of RecordLogin, RecordTokenIssued and ChangePassword is the principal itself
// (or none); AcceptInvitation has none (the inviter's authority is re-checked).

//
// Thread-safety: pure function; the caller holds the tenant's state steady.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/event.h"
#include "core/iam/commands.h"
#include "core/iam/events.h"
#include "core/iam/state.h"
#include "core/kv_store.h"
#include "core/random.h"
#include "core/result.h"

namespace custos::core::iam {

struct CommandContext {
  Actor actor;                    // who, as recorded on the events
  std::optional<Subject> caller;  // the principal the escalation rule applies to; none = root
  Time now;
  Random* random = nullptr;
  std::optional<int64_t> if_match;  // the target entity's expected version
  // The notification channels: where a credential goes when the caller does not outrank its
  // principal (../shared/spec/ACCESS.md rule 4). The notifications topic takes every message; a
  // mailer alone only those with an address (not an API client's secret, which has none).
  bool notifications = false;  // the topic
  bool mail = false;           // a mailer (--smtp)
};

// How a server-made credential left: in the response to the caller (and by mail where there
// is one), or by the notification channel alone.
enum class CredentialDelivery : uint8_t { kNone, kResponse, kNotification };
[[nodiscard]] std::string_view ToString(CredentialDelivery delivery);

// A message for the mailer (the notifications topic): the one place a server-made secret
// leaves the process after the response that created it.
// The notification types (docs/events.md).
inline constexpr std::string_view kTemporaryPasswordNotice = "user.temporary_password";
inline constexpr std::string_view kInvitationLink = "invitation.link";
inline constexpr std::string_view kClientSecret = "api_client.secret";
inline constexpr std::string_view kMembershipChanged = "group.membership_changed";

struct Notification {
  std::string type;  // one of the above
  std::string tenant;
  std::string email;  // empty for an API client's secret (the mailer routes it to the tenant)
  std::string name;
  std::string subject_id;  // the user, invitation or API client id
  std::string secret;      // the temporary password, invitation token or client secret
  Time expires_at;         // of a temporary password or an invitation
  std::string key_id;      // a client secret's
  // A membership change: the group and "added" or "removed".
  std::string group_id;
  std::string group_name;
  std::string change;
};

struct Decision {
  std::vector<DomainEvent> events;
  KvBatch credentials;  // credential-store writes for the same batch
  std::vector<Notification> notifications;
  std::string id;                     // the entity created or changed
  std::optional<std::string> secret;  // shown once: temporary password, client secret, token
  CredentialDelivery credential_delivery = CredentialDelivery::kNone;
  std::optional<std::string> key_id;  // of a new client secret
  // Rows an import left out: (source line, why).
  std::vector<std::pair<size_t, std::string>> rejected;
  size_t created = 0;  // users an import made
};

[[nodiscard]] Result<Decision> Decide(const TenantState& state, const Command& command,
                                      CommandContext& ctx);

// A new server-made id: prefix + 32 lowercase hex digits (a UUIDv7 of ctx.now).
[[nodiscard]] std::string NewId(std::string_view prefix, CommandContext& ctx);

// The event's target for an entity of the state.
[[nodiscard]] Target UserTarget(const User& user);

// Checks shared with the API layer.
[[nodiscard]] bool IsValidEmail(std::string_view email);

}  // namespace custos::core::iam
