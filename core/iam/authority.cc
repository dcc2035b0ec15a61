#include "core/iam/authority.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <functional>
#include <set>

namespace custos::core::iam {
namespace {

Error Denied(std::string message, const std::string& field = {}) {
  Error e{Errc::kPermissionDenied, std::move(message), {}};
  if (!field.empty()) e.fields.push_back(FieldError{field, e.message});
  return e;
}

std::string Describe(const Permission& p) {
  return std::string(ToString(p.level)) + " on " + p.app + "/" + p.resource_type + "/" + p.resource;
}

using RoleLookup = std::function<const Role*(const std::string&)>;

RoleLookup LookupWith(const TenantState& state, const Role* changed) {
  return [&state, changed](const std::string& id) -> const Role* {
    return changed != nullptr && id == changed->id ? changed : state.FindRole(id);
  };
}

// The distinct permissions a role grants: nothing while it is inactive; else its own and
// every active included role's (as TenantState expands them).
std::set<Permission> ActiveExpansion(const RoleLookup& find, const std::string& role_id) {
  std::set<Permission> out;
  const Role* top = find(role_id);
  if (top == nullptr || top->status != ActiveStatus::kActive) return out;
  std::set<std::string> seen = {role_id};
  std::vector<const Role*> stack = {top};
  while (!stack.empty()) {
    const Role* r = stack.back();
    stack.pop_back();
    out.insert(r->permissions.begin(), r->permissions.end());
    for (const std::string& inc : r->includes) {
      const Role* included = find(inc);
      if (included == nullptr || included->status != ActiveStatus::kActive) continue;
      if (seen.insert(inc).second) stack.push_back(included);
    }
  }
  return out;
}

// Rule 7's measures, whatever the statuses: distinct permissions over the role and every
// role it includes, and the longest chain of includes below it.
struct RoleShape {
  size_t permissions = 0;
  int depth = 0;
};

RoleShape ShapeOf(const RoleLookup& find, const std::string& role_id) {
  std::set<Permission> distinct;
  std::map<std::string, int> depth;  // memo; -1 while on the path (a cycle counts as too deep)
  std::function<int(const std::string&)> visit = [&](const std::string& id) -> int {
    auto it = depth.find(id);
    if (it != depth.end()) return it->second < 0 ? kMaxIncludeDepth + 1 : it->second;
    const Role* r = find(id);
    if (r == nullptr) return 0;
    depth[id] = -1;
    distinct.insert(r->permissions.begin(), r->permissions.end());
    int d = 0;
    for (const std::string& inc : r->includes) {
      if (find(inc) == nullptr) continue;
      d = std::max(d, 1 + visit(inc));
      if (d > kMaxIncludeDepth) break;
    }
    depth[id] = d;
    return d;
  };
  const int d = visit(role_id);
  return RoleShape{distinct.size(), d};
}

#ifdef CUSTOS_GUARD_MUTATION
std::atomic<int> switched_off{-1};
#endif

}  // namespace

std::string_view ToString(Guard guard) {
  static constexpr std::array<std::string_view, static_cast<size_t>(Guard::kCount)> kNames = {
      "bind_grant",          "member_grant",         "delegate_not_self", "delegate_unknown",
      "delegate_no_clients", "delegate_system_only", "admin_kind",        "credential_rank",
      "known_credential",    "email_rank",           "act_on_rank",       "role_change",
      "invitation_accept",   "node_itself",          "role_bounds",       "revoke_ownership",
      "latent_rank"};
  const auto i = static_cast<size_t>(guard);
  return i < kNames.size() ? kNames[i] : "unknown";
}

#ifdef CUSTOS_GUARD_MUTATION
bool GuardOn(Guard guard) { return switched_off.load() != static_cast<int>(guard); }
void SwitchOffGuard(std::optional<Guard> guard) {
  switched_off.store(guard ? static_cast<int>(*guard) : -1);
}
#endif

Authority::Authority(const TenantState& state, Time now, std::optional<Subject> caller)
    : state_(state), now_(now), caller_(std::move(caller)), evaluator_(state, now) {
  if (caller_) {
    caller_active_ = IsActiveSubject(state_, *caller_, now_);
    if (caller_active_ && caller_->type == SubjectType::kUser) {
      const User* u = state_.FindUser(caller_->id);
      caller_admin_kind_ = u != nullptr && u->profile.kind == UserKind::kAdmin;
    }
  }
}

bool Authority::IsAdminKind() const { return IsRoot() || caller_admin_kind_; }

Status Authority::Require(std::string_view action, const AccessTarget& target) const {
  if (IsRoot()) return OkStatus();
  const std::optional<Level> needed = RequiredLevel(action);
  if (!needed || evaluator_.LevelOf(*caller_, target) < *needed) {
    return Denied("needs " + std::string(action) + " on " + target.type +
                  (target.node_id == kRootNode ? "" : " at " + target.node_id));
  }
  return OkStatus();
}

const std::vector<const Permission*>& Authority::HeldAt(std::string_view scope) const {
  auto it = held_at_.find(scope);
  if (it != held_at_.end()) return it->second;
  std::vector<const Permission*> held;
  std::optional<AccessEvaluator::Chain> chain = evaluator_.ChainOf(scope);
  if (chain && caller_ && caller_active_) {
    const std::shared_ptr<const SubjectGrants> grants = state_.GrantsOf(*caller_);
    for (size_t i = 0; i <= chain->reach && i < chain->nodes.size(); ++i) {
      for (const auto& [at, entries] : grants->by_scope) {
        if (at != chain->nodes[i]->id) continue;
        for (const SubjectGrant& g : entries)
          held.insert(held.end(), g.permissions->begin(), g.permissions->end());
      }
    }
  }
  return held_at_.emplace(std::string(scope), std::move(held)).first->second;
}

bool Authority::CanBind(const Permission& p, std::string_view scope) const {
  if (IsRoot()) return true;
  if (!caller_active_) return false;
  if (caller_admin_kind_) return true;
  const std::vector<const Permission*>& held = HeldAt(scope);
  return std::any_of(held.begin(), held.end(),
                     [&](const Permission* q) { return PermissionCovers(*q, p); });
}

Status Authority::CheckBind(const Role& role, std::string_view scope,
                            const std::string& field) const {
  if (!GuardOn(Guard::kBindGrant)) return OkStatus();
  for (const Permission* p : state_.ExpandedPermissions(role.id)) {
    if (!CanBind(*p, scope)) {
      return Denied("may not bind role " + role.name + " at " + std::string(scope) +
                        ": the caller does not hold " + Describe(*p) + " there",
                    field);
    }
  }
  return OkStatus();
}

bool Authority::Delegates(const Group& group) const {
  if (GuardOn(Guard::kDelegateSystemOnly) && group.type != GroupType::kSystem) return false;
  if (IsRoot()) return true;
  return evaluator_.LevelOf(*caller_, AccessTarget{group.scope, "iam.group", "iam", ""}) >=
         Level::kAdmin;
}

Status Authority::CheckAddMember(const Group& group, const Subject& member,
                                 const std::vector<Subject>& known_by,
                                 const std::string& field) const {
  if (IsRoot() || !GuardOn(Guard::kMemberGrant)) return OkStatus();
  const bool known = Related(member, known_by);
  const bool may_delegate =
      Delegates(group) &&
      (member.type == SubjectType::kUser || !GuardOn(Guard::kDelegateNoClients)) &&
      (!IsCaller(member) || !GuardOn(Guard::kDelegateNotSelf)) &&
      (!known || !GuardOn(Guard::kDelegateUnknown));
  for (const std::string& id : state_.BindingsOf(Subject{SubjectType::kGroup, group.id})) {
    const Binding* b = state_.FindBinding(id);
    const Role* role = b != nullptr ? state_.FindRole(b->role_id) : nullptr;
    if (role == nullptr || role->status != ActiveStatus::kActive) continue;
    const bool delegated = may_delegate && (b->system || !GuardOn(Guard::kDelegateSystemOnly));
    if (delegated) continue;
    for (const Permission* p : state_.ExpandedPermissions(role->id)) {
      if (CanBind(*p, b->scope)) continue;
      std::string why = "may not add " + std::string(ToString(member.type)) + " " + member.id +
                        " to group " + group.name + ": the caller does not hold " + Describe(*p) +
                        " at " + b->scope;
      if (group.type == GroupType::kSystem && Delegates(group)) {
        why += IsCaller(member) ? " (delegated administration never applies to the caller itself)"
               : member.type != SubjectType::kUser
                   ? " (delegated administration never applies to API clients)"
                   : " (delegated administration never applies to a user the caller controls "
                     "or is controlled by: one whose credential it saw, or that saw its own)";
      }
      return Denied(std::move(why), field);
    }
  }
  return OkStatus();
}

bool Authority::PrincipalIsAdminKind(const Subject& principal) const {
  if (principal.type != SubjectType::kUser) return false;
  const User* u = state_.FindUser(principal.id);
  return u != nullptr && u->profile.kind == UserKind::kAdmin;
}

const std::vector<Permission>& Authority::LatentExpansion(const std::string& role_id) const {
  auto it = latent_.find(role_id);
  if (it != latent_.end()) return it->second;
  std::set<Permission> distinct;
  std::set<std::string> seen = {role_id};
  std::vector<std::string> stack = {role_id};
  while (!stack.empty()) {
    const Role* r = state_.FindRole(stack.back());
    stack.pop_back();
    if (r == nullptr) continue;
    if (!GuardOn(Guard::kLatentRank) && r->status != ActiveStatus::kActive) continue;
    distinct.insert(r->permissions.begin(), r->permissions.end());
    for (const std::string& inc : r->includes) {
      if (seen.insert(inc).second) stack.push_back(inc);
    }
  }
  return latent_.emplace(role_id, std::vector<Permission>(distinct.begin(), distinct.end()))
      .first->second;
}

void Authority::AddLatent(std::vector<HeldGrant>& out, const Binding& b, const Group* via) const {
  for (const Permission& p : LatentExpansion(b.role_id)) {
    out.push_back(HeldGrant{&p, b.scope, via, via != nullptr && b.system});
  }
}

std::vector<HeldGrant> Authority::GrantsOf(const Subject& principal) const {
  std::vector<HeldGrant> out;
  for (const std::string& id : state_.BindingsOf(principal)) {
    if (const Binding* b = state_.FindBinding(id)) AddLatent(out, *b, nullptr);
  }
  if (principal.type != SubjectType::kGroup) {
    for (const std::string& gid : state_.GroupsOf(principal)) {
      const Group* group = state_.FindGroup(gid);
      if (group == nullptr) continue;
      for (const std::string& id : state_.BindingsOf(Subject{SubjectType::kGroup, gid})) {
        if (const Binding* b = state_.FindBinding(id)) AddLatent(out, *b, group);
      }
    }
  }
  return out;
}

std::vector<HeldGrant> Authority::GrantsOfRequest(const std::vector<Grant>& bindings,
                                                  const std::vector<std::string>& groups) const {
  std::vector<HeldGrant> out;
  for (const Grant& g : bindings) {
    if (state_.FindRole(g.role_id) == nullptr) continue;
    AddLatent(out, Binding{"", {}, g.role_id, g.scope, false, {}, 1}, nullptr);
  }
  for (const std::string& gid : groups) {
    const Group* group = state_.FindGroup(gid);
    if (group == nullptr) continue;
    for (const std::string& id : state_.BindingsOf(Subject{SubjectType::kGroup, gid})) {
      if (const Binding* b = state_.FindBinding(id)) AddLatent(out, *b, group);
    }
  }
  return out;
}

const std::vector<Subject>& Authority::KnownBy(const Subject& principal) const {
  static const std::vector<Subject> kNobody;
  if (principal.type == SubjectType::kUser) {
    const User* u = state_.FindUser(principal.id);
    return u != nullptr ? u->credential_known_by : kNobody;
  }
  if (principal.type == SubjectType::kApiClient) {
    const ApiClient* c = state_.FindClient(principal.id);
    return c != nullptr ? c->credential_known_by : kNobody;
  }
  return kNobody;
}

std::set<Subject> Authority::ControllersOf(const std::vector<Subject>& known_by) const {
  std::set<Subject> out(known_by.begin(), known_by.end());
  std::vector<Subject> todo(known_by.begin(), known_by.end());
  while (!todo.empty()) {
    const Subject s = std::move(todo.back());
    todo.pop_back();
    for (const Subject& above : KnownBy(s)) {
      if (out.insert(above).second) todo.push_back(above);
    }
  }
  return out;
}

bool Authority::Related(const Subject& member, const std::vector<Subject>& known_by) const {
  if (IsRoot()) return false;
  const std::set<Subject> of_member = ControllersOf(known_by);
  if (of_member.count(*caller_) != 0) return true;  // the caller controls the member
  const std::set<Subject> of_caller = ControllersOf(KnownBy(*caller_));
  if (of_caller.count(member) != 0) return true;  // the member controls the caller
  return std::any_of(of_member.begin(), of_member.end(),
                     [&](const Subject& s) { return of_caller.count(s) != 0; });
}

bool Authority::OutranksWith(const Subject& principal, const std::vector<HeldGrant>& grants,
                             bool admin_kind, bool delegated_pass) const {
  if (IsRoot()) return true;
  if (!caller_active_ || IsCaller(principal)) return false;
  if (admin_kind && !caller_admin_kind_) return false;
  if (caller_admin_kind_) return true;
  for (const HeldGrant& g : grants) {
    if (delegated_pass && g.via_group != nullptr && g.system_binding && Delegates(*g.via_group)) {
      continue;
    }
    if (!CanBind(*g.permission, g.scope)) return false;
  }
  return true;
}

bool Authority::Outranks(const Subject& principal, const std::vector<HeldGrant>& extra,
                         bool admin_kind) const {
  std::vector<HeldGrant> grants = GrantsOf(principal);
  grants.insert(grants.end(), extra.begin(), extra.end());
  return OutranksWith(principal, grants, admin_kind || PrincipalIsAdminKind(principal), false);
}

Status Authority::CheckActOn(const Subject& principal, std::string_view what) const {
  if (!GuardOn(Guard::kActOnRank)) return OkStatus();
  if (OutranksWith(principal, GrantsOf(principal), PrincipalIsAdminKind(principal), true)) {
    return OkStatus();
  }
  std::string why = "may not " + std::string(what) + " " + std::string(ToString(principal.type)) +
                    " " + principal.id + ": ";
  if (IsCaller(principal)) {
    why += "not on itself";
  } else if (PrincipalIsAdminKind(principal)) {
    why += "it is an admin-kind user (only root or an admin-kind user may)";
  } else {
    why += "it holds access the caller cannot give";
  }
  return Denied(std::move(why));
}

std::vector<std::string> Authority::RoleAndIncluders(const std::string& role_id) const {
  std::map<std::string, std::vector<std::string>> includers;
  for (const auto& [id, r] : state_.roles()) {
    for (const std::string& inc : r.includes) includers[inc].push_back(id);
  }
  std::vector<std::string> out = {role_id};
  std::set<std::string> seen = {role_id};
  for (size_t i = 0; i < out.size(); ++i) {
    auto it = includers.find(out[i]);
    if (it == includers.end()) continue;
    for (const std::string& parent : it->second) {
      if (seen.insert(parent).second) out.push_back(parent);
    }
  }
  return out;
}

Status Authority::CheckRoleChange(const Role& changed) const {
  if (IsRoot() || !GuardOn(Guard::kRoleChange)) return OkStatus();
  const RoleLookup before = LookupWith(state_, nullptr);
  const RoleLookup after = LookupWith(state_, &changed);
  for (const std::string& id : RoleAndIncluders(changed.id)) {
    const std::set<Permission> old_perms = ActiveExpansion(before, id);
    std::vector<Permission> gained;
    for (const Permission& p : ActiveExpansion(after, id)) {
      if (old_perms.count(p) == 0) gained.push_back(p);
    }
    if (gained.empty()) continue;
    // Where the role is bound, and where pending invitations would bind it.
    std::set<std::string> scopes;
    for (const std::string& bid : state_.BindingsOfRole(id)) {
      if (const Binding* b = state_.FindBinding(bid)) scopes.insert(b->scope);
    }
    for (const auto& [iid, inv] : state_.invitations()) {
      if (inv.status != InvitationStatus::kPending) continue;
      for (const Grant& g : inv.bindings) {
        if (g.role_id == id) scopes.insert(g.scope);
      }
    }
    for (const std::string& scope : scopes) {
      for (const Permission& p : gained) {
        if (!CanBind(p, scope)) {
          const Role* r = state_.FindRole(id);
          return Denied("may not change role " + changed.name + ": " +
                        (id == changed.id
                             ? std::string("its holders")
                             : "holders of " + (r ? r->name : id) + ", which includes it,") +
                        " would gain " + Describe(p) + " at " + scope +
                        ", which the caller does not hold there");
        }
      }
    }
  }
  return OkStatus();
}

Status Authority::CheckRoleBounds(const Role& changed) const {
  if (!GuardOn(Guard::kRoleBounds)) return OkStatus();
  const RoleLookup after = LookupWith(state_, &changed);
  std::vector<std::string> roles = {changed.id};
  if (state_.FindRole(changed.id) != nullptr) roles = RoleAndIncluders(changed.id);
  for (const std::string& id : roles) {
    const RoleShape shape = ShapeOf(after, id);
    const std::string whose = id == changed.id ? "the role" : "role " + id + ", which includes it,";
    if (shape.permissions > kMaxExpandedPermissions) {
      return Error{Errc::kInvalidArgument,
                   whose + " would have " + std::to_string(shape.permissions) +
                       " expanded permissions; the limit is " +
                       std::to_string(kMaxExpandedPermissions),
                   {FieldError{"permissions", "at most " + std::to_string(kMaxExpandedPermissions) +
                                                  " expanded permissions (included roles' too)"}}};
    }
    if (shape.depth > kMaxIncludeDepth) {
      return Error{Errc::kInvalidArgument,
                   whose + " would nest included roles " + std::to_string(shape.depth) +
                       " deep; the limit is " + std::to_string(kMaxIncludeDepth),
                   {FieldError{"includes", "included roles nest at most " +
                                               std::to_string(kMaxIncludeDepth) + " deep"}}};
    }
  }
  return OkStatus();
}

}  // namespace custos::core::iam
