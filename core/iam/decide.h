// Decide: (current state of a tenant, a command, the context) → the events that make the
// command true, or a precise error (Errc and, for validation, the field). Pure: the only
// inputs are the arguments (time and randomness come through the context), and it writes
// nothing. The caller appends the events (with the credential writes in the same batch),
// then applies them.
//
// Rules enforced here (API.md, ACCESS.md): uniqueness (emails case-insensitively, role,
// group, client and project names), no cycle of included roles, built-in roles and system
// groups not editable, system groups and built-in roles made with tenants, environments and
// projects in the same append, dependent bindings and memberships removed as events, the
// escalation rule for every binding a non-root caller makes, If-Match versions.
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
};

// A message for the mailer (the notifications topic): the one place a server-made secret
// leaves the process after the response that created it.
struct Notification {
  std::string type;  // "user.temporary_password" | "invitation.link"
  std::string tenant;
  std::string email;
  std::string name;
  std::string subject_id;  // the user or invitation id
  std::string secret;      // the temporary password or the invitation token
  Time expires_at;
};

struct Decision {
  std::vector<DomainEvent> events;
  KvBatch credentials;  // credential-store writes for the same batch
  std::vector<Notification> notifications;
  std::string id;                     // the entity created or changed
  std::optional<std::string> secret;  // shown once: temporary password, client secret, token
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
