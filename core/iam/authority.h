// Authority: who may give which access — ../shared/spec/ACCESS.md "No escalation, on every path" —
// as questions about one caller in one tenant's current state. Decide asks them before every
// command that grants access, shows a credential, acts on a principal or changes the tree;
// the API asks Require for its route checks. Nothing else answers them.
//
//   CanBind(p, X)     rule 1: the caller holds, at scope X, at least p's level on p's app,
//                     type and resource (included roles expanded, as a check at X finds them).
//   Delegates(g)      rule 2: g is a system group and the caller holds admin on iam.group
//                     where g is bound. Delegation is refused to a member the caller controls
//                     or is controlled by: one whose credential the caller saw, one that saw
//                     the caller's, or one both were made or reset by — transitively (a
//                     puppet's puppet), so that nobody reaches access through a principal it
//                     made (a client whose secret it saw, a user whose password it saw).
//   Outranks(P)       rule 4: P is not the caller; an admin-kind P needs a root or admin-kind
//                     caller; every grant P holds (and will hold) passes CanBind — latent
//                     ones included (roles deactivated now, included roles likewise), so that
//                     switching a role off never lets a caller outrank its holders.
//   CheckActOn(P)     rule 5: Outranks, where a grant P holds through the system binding of a
//                     system group the caller delegates counts as passing.
//   CheckRoleChange   rule 1 for roles: whoever holds the role, or a role including it, gains
//                     the difference wherever it is bound (pending invitations included).
//   CheckRoleBounds   rule 7: at most 1,000 distinct expanded permissions, includes at most 8
//                     deep, for the role and every role that includes it.
//
// Root (no caller) passes everything; an active admin-kind user passes every CanBind. An
// inactive caller passes nothing.
//
// Thread-safety: reads the state it was given, which the caller holds steady; one Authority
// per decision (it caches what the caller holds per scope).
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/iam/access.h"
#include "core/iam/model.h"
#include "core/iam/state.h"
#include "core/result.h"
#include "core/time.h"

namespace custos::core::iam {

// ../shared/spec/ACCESS.md rule 7.
inline constexpr size_t kMaxExpandedPermissions = 1000;
inline constexpr int kMaxIncludeDepth = 8;

// The guards of the rules, named so that the mutation test (tests/core/iam) can build the
// rules with one switched off; in every other build GuardOn is a constant true.
enum class Guard : uint8_t {
  kBindGrant,           // rule 1: bindings need CanBind
  kMemberGrant,         // rules 1-2: memberships need CanBind or delegation
  kDelegateNotSelf,     // rule 2: never to the caller itself
  kDelegateUnknown,     // rule 2: never to a user whose credential the caller knows
  kDelegateNoClients,   // rule 2: never to API clients
  kDelegateSystemOnly,  // rule 2: system groups and their own system bindings only
  kAdminKind,           // rule 3: admin kind made or changed by root or admin kind only
  kCredentialRank,      // rule 4: credentials shown only to callers that outrank
  kKnownCredential,     // rule 4: a shown credential makes its user known to the caller
  kEmailRank,           // rule 4: email changed only by callers that outrank
  kActOnRank,           // rule 5: acting on principals needs rank
  kRoleChange,          // rule 1: role permissions, includes and reactivation
  kInvitationAccept,    // rule 1: accepting re-checks the inviter's authority
  kNodeItself,          // rule 6: inherit, app, move and delete need the node itself
  kRoleBounds,          // rule 7
  kRevokeOwnership,     // rule 8: revoke own tokens or those of principals outranked
  kLatentRank,          // rules 4-5: rank counts inactive roles (what reactivation restores)
  kCount,
};
[[nodiscard]] std::string_view ToString(Guard guard);

#ifdef CUSTOS_GUARD_MUTATION
[[nodiscard]] bool GuardOn(Guard guard);
// Switches one guard off (nullopt: all on). Only in the mutation-test build.
void SwitchOffGuard(std::optional<Guard> guard);
#else
[[nodiscard]] constexpr bool GuardOn(Guard) { return true; }
#endif

// A grant as the rules see it: a permission at the scope it is bound at, and the group it
// comes through (with whether that is the group's own system binding).
struct HeldGrant {
  const Permission* permission = nullptr;
  std::string scope;
  const Group* via_group = nullptr;
  bool system_binding = false;
};

class Authority {
 public:
  Authority(const TenantState& state, Time now, std::optional<Subject> caller);

  [[nodiscard]] bool IsRoot() const { return !caller_.has_value(); }
  // Root, or a caller that is active (a user active now, an active API client).
  [[nodiscard]] bool IsActive() const { return IsRoot() || caller_active_; }
  [[nodiscard]] const std::optional<Subject>& caller() const { return caller_; }
  // Root, or an active admin-kind user (rule 3).
  [[nodiscard]] bool IsAdminKind() const;

  // The action on the target, as a check finds it (root may do anything); kPermissionDenied
  // saying what is needed. The one check behind every route and command.
  [[nodiscard]] Status Require(std::string_view action, const AccessTarget& target) const;

  // Rule 1.
  [[nodiscard]] bool CanBind(const Permission& p, std::string_view scope) const;
  // CanBind for every permission of the role's expansion at the scope; kPermissionDenied
  // naming the first the caller lacks, on `field`.
  [[nodiscard]] Status CheckBind(const Role& role, std::string_view scope,
                                 const std::string& field) const;

  // Rule 2.
  [[nodiscard]] bool Delegates(const Group& group) const;
  // Rules 1 and 2 for making `member` a member of `group`: every grant it gains through the
  // group's bindings passes CanBind, or is the group's own system grant delegated to a user
  // that is not the caller and neither controls nor is controlled by it (`known_by`: who saw
  // the member's credential).
  [[nodiscard]] Status CheckAddMember(const Group& group, const Subject& member,
                                      const std::vector<Subject>& known_by,
                                      const std::string& field) const;

  // Rule 4. `extra`: grants the principal is about to receive; `admin_kind`: it is or will be
  // an admin-kind user.
  [[nodiscard]] bool Outranks(const Subject& principal, const std::vector<HeldGrant>& extra = {},
                              bool admin_kind = false) const;
  // Rule 5; `what` names the action for the error.
  [[nodiscard]] Status CheckActOn(const Subject& principal, std::string_view what) const;

  // Every grant the principal holds, latent ones included (its own bindings and its groups',
  // whatever the roles' status, included roles expanded likewise).
  [[nodiscard]] std::vector<HeldGrant> GrantsOf(const Subject& principal) const;
  // The grants a new principal would hold with these bindings and groups (likewise).
  [[nodiscard]] std::vector<HeldGrant> GrantsOfRequest(
      const std::vector<Grant>& bindings, const std::vector<std::string>& groups) const;

  // Rule 1 for roles: `changed` replaces the stored role of its id (permissions, includes,
  // status).
  [[nodiscard]] Status CheckRoleChange(const Role& changed) const;
  // Rule 7 for `changed` (a new role, or one replacing the stored role of its id) and every
  // role that includes it.
  [[nodiscard]] Status CheckRoleBounds(const Role& changed) const;

 private:
  // The caller's permissions as a check at `scope` finds them.
  const std::vector<const Permission*>& HeldAt(std::string_view scope) const;
  [[nodiscard]] bool IsCaller(const Subject& s) const { return caller_ && *caller_ == s; }
  [[nodiscard]] bool PrincipalIsAdminKind(const Subject& principal) const;
  [[nodiscard]] bool OutranksWith(const Subject& principal, const std::vector<HeldGrant>& grants,
                                  bool admin_kind, bool delegated_pass) const;
  // Roles that include `role_id`, directly or not, with it first.
  [[nodiscard]] std::vector<std::string> RoleAndIncluders(const std::string& role_id) const;
  // A role's permissions and every role's it includes, whatever their status (cached).
  const std::vector<Permission>& LatentExpansion(const std::string& role_id) const;
  void AddLatent(std::vector<HeldGrant>& out, const Binding& b, const Group* via) const;
  // Who saw a principal's credential.
  [[nodiscard]] const std::vector<Subject>& KnownBy(const Subject& principal) const;
  // Everyone who controls a principal whose credential `known_by` saw: them, whoever saw
  // theirs, and so on.
  [[nodiscard]] std::set<Subject> ControllersOf(const std::vector<Subject>& known_by) const;
  // Whether the caller and `member` control one another or share a controller.
  [[nodiscard]] bool Related(const Subject& member, const std::vector<Subject>& known_by) const;

  const TenantState& state_;
  Time now_;
  std::optional<Subject> caller_;
  AccessEvaluator evaluator_;
  bool caller_active_ = false;
  bool caller_admin_kind_ = false;
  mutable std::map<std::string, std::vector<const Permission*>, std::less<>> held_at_;
  mutable std::map<std::string, std::vector<Permission>> latent_;
};

}  // namespace custos::core::iam
