// The identifier types of Custos and the rules for the ones chosen by clients.
//
// Server-made ids carry a prefix (../shared/spec/API.md): usr_, rol_, grp_, cli_, inv_, bnd_, env_,
// prj_, fld_, res_, evt_. The tenant id is chosen at creation and must match
// ^[a-z0-9][a-z0-9-]{1,62}$.
#pragma once

#include <string_view>

#include "core/result.h"
#include "core/strong_id.h"

namespace custos::core {

using TenantId = StringId<struct TenantIdTag>;
using EventId = StringId<struct EventIdTag>;

// Position of an event in the node's log: strictly increasing, gaps after retention.
using Seq = Counter<struct SeqTag>;
// Position of an event in its tenant's stream: 1, 2, 3, … contiguous from the anchor.
using TenantSeq = Counter<struct TenantSeqTag>;

[[nodiscard]] bool IsValidTenantId(std::string_view id);
// The node's own chain: events that belong to no tenant (a root token's revocation) are appended
// to it, so that they reach the audit topic and the followers built from it like any other.
// No tenant may take this id (tenant creation refuses it); it has no tenant state, and
// retention does not purge it.
inline constexpr std::string_view kSystemChain = "custos-system";
// The tenant id, or kInvalidArgument naming the rule it breaks.
[[nodiscard]] Result<TenantId> ParseTenantId(std::string_view id);

// An event type: ^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$ (../shared/spec/EVENTS.md).
[[nodiscard]] bool IsValidEventType(std::string_view type);
// The longest type an event may be written with. The audit index keeps a run per prefix of
// a type, so a type's length costs its square in index keys; lines stored before the limit
// still read as valid.
inline constexpr size_t kMaxEventTypeBytes = 128;
// kInvalidArgument on "type" unless `type` is valid and at most kMaxEventTypeBytes; the
// message quotes at most 80 bytes of it.
[[nodiscard]] Status CheckNewEventType(std::string_view type);

}  // namespace custos::core
