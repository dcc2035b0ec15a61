// AccessEvaluator: the access decision of ../shared/spec/ACCESS.md over a tenant's current state.
//
//   check(subject, action, target): the subject must exist and be active; an admin-kind
//   user may do anything in its tenant; otherwise the effective level is the maximum level
//   of the permissions that match the target, over the subject's own bindings and those of
//   its groups, whose role is active and whose scope is the target node or an ancestor with
//   no `inherit: false` node between them (the node itself included) — unless the binding is
//   on that node. Allowed iff that level reaches the action's.
//
// Also Who(node) for access reviews and EffectiveGrants(subject). Who may give which access
// (the escalation rules) is Authority's (authority.h), built on this evaluator.
//
// Thread-safety: reads the state it was given; the caller holds the state's read lock.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/fields.h"
#include "core/iam/model.h"
#include "core/iam/state.h"
#include "core/result.h"
#include "core/time.h"

namespace custos::core::iam {

// What is being accessed: a node (for scope and inheritance), the type asked for, its app,
// and the resource id ("" when asking about any resource of that type at the node, e.g. to
// create one).
struct AccessTarget {
  std::string node_id = std::string(kRootNode);
  std::string type;
  std::string app;
  std::string resource_id;

  // The node itself.
  [[nodiscard]] static AccessTarget ForNode(const Node& node);
  // An IAM type (iam.user, …) at the tenant root, app "iam".
  [[nodiscard]] static AccessTarget ForIam(std::string_view iam_type);
  // A new node of `type` under `parent` (creating needs edit on the type at the parent).
  [[nodiscard]] static AccessTarget ForChild(const Node& parent, std::string_view type,
                                             std::string_view app);
};

struct GrantDetail {
  std::string binding_id;
  core::Nullable<std::string> via_group;  // null for a direct grant
  std::string role_id;
  std::string scope;
  Permission permission;

  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("binding_id", s.binding_id);
    v("via_group", s.via_group);
    v("role_id", s.role_id);
    v("scope", s.scope);
    v("permission", s.permission);
  }
};

// A grant that matched, by reference into the state: valid while the state's read lock is
// held. Detail() copies it out.
struct GrantRef {
  const Binding* binding = nullptr;
  const Group* via_group = nullptr;
  const Permission* permission = nullptr;

  [[nodiscard]] GrantDetail Detail() const;
};

struct CheckResult {
  bool allowed = false;
  Level level = Level::kNone;
  Level required_level = Level::kNone;
  std::vector<GrantRef> grants;  // every grant that matched the target
  std::string_view reason;       // why, in words ("admin user", "user is suspended", …)

  [[nodiscard]] std::vector<GrantDetail> Details() const;
};

struct WhoEntry {
  Subject subject;
  Level level = Level::kNone;
};

// True if the principal may act at all: a user active (a lock that has run out counts as
// active), an API client active, a group existing.
[[nodiscard]] bool IsActiveSubject(const TenantState& state, const Subject& subject, Time now);
// A user's status as of `now`: locked turns active once locked_until has passed.
[[nodiscard]] UserStatus EffectiveStatus(const User& user, Time now);

// The principal's session epoch, which every token it is issued carries (0 if unknown).
[[nodiscard]] int64_t SessionEpoch(const TenantState& state, const Subject& subject);
// Whether a token of `subject` still stands: the principal is active, the token (its jti) was
// not revoked, and it was issued in the principal's current session epoch — a password change
// or reset, a suspension, deactivation or deletion ends every earlier one (../shared/spec/ACCESS.md
// rule 8). kUnauthenticated saying which.
[[nodiscard]] Status CheckTokenLive(const TenantState& state, const Subject& subject,
                                    std::string_view jti, int64_t session_epoch, Time now);

class AccessEvaluator {
 public:
  AccessEvaluator(const TenantState& state, Time now) : state_(state), now_(now) {}

  // kInvalidArgument for an unknown action; kNotFound for an unknown subject or node.
  [[nodiscard]] Result<CheckResult> Check(const Subject& subject, std::string_view action,
                                          const AccessTarget& target) const;
  // The effective level alone (no error: unknown or inactive subjects get none).
  [[nodiscard]] Level LevelOf(const Subject& subject, const AccessTarget& target) const;

  // Every active user and API client with access to the node, with its level.
  [[nodiscard]] std::vector<WhoEntry> Who(const Node& node) const;

  // Every permission the subject holds, with where it comes from.
  [[nodiscard]] std::vector<GrantDetail> EffectiveGrants(const Subject& subject) const;

  struct Chain {
    std::vector<const Node*> nodes;  // the target node up to the root
    size_t reach = 0;                // bindings at nodes[0..reach] reach the target
  };
  // The node's ancestors, and how far up bindings reach it (inherit: false stops them).
  [[nodiscard]] std::optional<Chain> ChainOf(std::string_view node_id) const;

 private:
  Level Evaluate(const Subject& subject, const AccessTarget& target,
                 std::vector<GrantRef>* grants) const;

  const TenantState& state_;
  Time now_;
};

// Whether permission p matches the target's app, type and resource.
[[nodiscard]] bool PermissionMatches(const Permission& p, const AccessTarget& target);
// Whether holding q covers holding p (app, type and resource at least as wide, level at
// least as high).
[[nodiscard]] bool PermissionCovers(const Permission& q, const Permission& p);

}  // namespace custos::core::iam
