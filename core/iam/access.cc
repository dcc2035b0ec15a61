#include "core/iam/access.h"

#include <algorithm>
#include <map>

namespace custos::core::iam {
namespace {

bool IsIamType(std::string_view type) { return type.starts_with("iam."); }

bool TypeMatches(std::string_view pattern, std::string_view type) {
  if (pattern == type) return true;
  if (pattern == "*") return !IsIamType(type);
  if (pattern == "iam.*") return IsIamType(type);
  return false;
}

}  // namespace

AccessTarget AccessTarget::ForNode(const Node& node) {
  return AccessTarget{node.id, node.type, node.app, node.id};
}

AccessTarget AccessTarget::ForIam(std::string_view iam_type) {
  return AccessTarget{std::string(kRootNode), std::string(iam_type), "iam", ""};
}

AccessTarget AccessTarget::ForChild(const Node& parent, std::string_view type,
                                    std::string_view app) {
  return AccessTarget{parent.id, std::string(type), std::string(app), ""};
}

bool PermissionMatches(const Permission& p, const AccessTarget& t) {
  if (p.app != "*" && p.app != t.app) return false;
  if (!TypeMatches(p.resource_type, t.type)) return false;
  return p.resource == "*" || (!t.resource_id.empty() && p.resource == t.resource_id);
}

bool PermissionCovers(const Permission& q, const Permission& p) {
  if (q.level < p.level) return false;
  if (q.app != "*" && q.app != p.app) return false;
  const bool type_ok =
      q.resource_type == p.resource_type ||
      (q.resource_type == "*" && p.resource_type != "iam.*" && !IsIamType(p.resource_type)) ||
      (q.resource_type == "iam.*" && IsIamType(p.resource_type));
  if (!type_ok) return false;
  return q.resource == "*" || q.resource == p.resource;
}

UserStatus EffectiveStatus(const User& user, Time now) {
  if (user.status == UserStatus::kLocked && user.locked_until && now >= *user.locked_until) {
    return UserStatus::kActive;
  }
  return user.status;
}

bool IsActiveSubject(const TenantState& state, const Subject& subject, Time now) {
  switch (subject.type) {
    case SubjectType::kUser: {
      const User* u = state.FindUser(subject.id);
      return u != nullptr && EffectiveStatus(*u, now) == UserStatus::kActive;
    }
    case SubjectType::kApiClient: {
      const ApiClient* c = state.FindClient(subject.id);
      return c != nullptr && c->status == ActiveStatus::kActive;
    }
    case SubjectType::kGroup:
      return state.FindGroup(subject.id) != nullptr;
  }
  return false;
}

int64_t SessionEpoch(const TenantState& state, const Subject& subject) {
  if (subject.type == SubjectType::kUser) {
    const User* u = state.FindUser(subject.id);
    return u != nullptr ? u->session_epoch : 0;
  }
  if (subject.type == SubjectType::kApiClient) {
    const ApiClient* c = state.FindClient(subject.id);
    return c != nullptr ? c->session_epoch : 0;
  }
  return 0;
}

Status CheckTokenLive(const TenantState& state, const Subject& subject, std::string_view jti,
                      int64_t session_epoch, Time now) {
  if (state.RevokedTokenExpiry(jti)) {
    return Error{Errc::kUnauthenticated, "the token was revoked", {}};
  }
  if (!IsActiveSubject(state, subject, now)) {
    return Error{Errc::kUnauthenticated, "the token's principal is not active", {}};
  }
  if (session_epoch != SessionEpoch(state, subject)) {
    return Error{Errc::kUnauthenticated,
                 "the token's session has ended (a password change or reset, or a suspension)",
                 {}};
  }
  return OkStatus();
}

std::optional<AccessEvaluator::Chain> AccessEvaluator::ChainOf(std::string_view node_id) const {
  Chain chain;
  const Node* n = state_.FindNode(node_id);
  if (n == nullptr) return std::nullopt;
  bool blocked = false;
  while (n != nullptr) {
    chain.nodes.push_back(n);
    if (!blocked) {
      chain.reach = chain.nodes.size() - 1;
      blocked = !n->inherit;
    }
    if (n->id == kRootNode || chain.nodes.size() > 64) break;
    n = state_.FindNode(n->parent_id);
  }
  return chain;
}

GrantDetail GrantRef::Detail() const {
  return GrantDetail{
      binding->id,
      via_group != nullptr ? core::Nullable<std::string>(via_group->id) : core::Nullable<std::string>(),
      binding->role_id, binding->scope, *permission};
}

std::vector<GrantDetail> CheckResult::Details() const {
  std::vector<GrantDetail> out;
  out.reserve(grants.size());
  for (const GrantRef& g : grants) out.push_back(g.Detail());
  return out;
}

Level AccessEvaluator::Evaluate(const Subject& subject, const AccessTarget& target,
                                std::vector<GrantRef>* grants) const {
  std::optional<Chain> chain = ChainOf(target.node_id);
  if (!chain) return Level::kNone;
  const std::shared_ptr<const SubjectGrants> held = state_.GrantsOf(subject);
  Level level = Level::kNone;
  // The scopes that reach the target: the chain up to the first inherit: false.
  for (size_t i = 0; i <= chain->reach && i < chain->nodes.size(); ++i) {
    const std::string& scope = chain->nodes[i]->id;
    for (const auto& [at, entries] : held->by_scope) {
      if (at != scope) continue;
      for (const SubjectGrant& g : entries) {
        for (const Permission* p : *g.permissions) {
          if (!PermissionMatches(*p, target)) continue;
          level = std::max(level, p->level);
          if (grants != nullptr) grants->push_back(GrantRef{g.binding, g.via_group, p});
        }
      }
    }
  }
  return level;
}

Result<CheckResult> AccessEvaluator::Check(const Subject& subject, std::string_view action,
                                           const AccessTarget& target) const {
  std::optional<Level> required = RequiredLevel(action);
  if (!required) {
    return InvalidField("action",
                        "must be one of read, list, execute, create, update, delete, administer");
  }
  if (state_.FindNode(target.node_id) == nullptr) {
    return NotFound("no node " + target.node_id);
  }
  CheckResult result;
  result.required_level = *required;
  const User* user = subject.type == SubjectType::kUser ? state_.FindUser(subject.id) : nullptr;
  if (subject.type == SubjectType::kUser && user == nullptr) {
    return NotFound("no user " + subject.id);
  }
  if (subject.type == SubjectType::kApiClient && state_.FindClient(subject.id) == nullptr) {
    return NotFound("no API client " + subject.id);
  }
  if (subject.type == SubjectType::kGroup && state_.FindGroup(subject.id) == nullptr) {
    return NotFound("no group " + subject.id);
  }
  if (!IsActiveSubject(state_, subject, now_)) {
    static constexpr std::string_view kUserReasons[] = {"user is active", "user is suspended",
                                                        "user is locked", "user is deactivated",
                                                        "user is deleted"};
    result.reason =
        user != nullptr
            ? kUserReasons[static_cast<size_t>(EffectiveStatus(*user, now_))]
            : std::string_view(subject.type == SubjectType::kApiClient ? "api_client is not active"
                                                                       : "group is not active");
    return result;
  }
  if (user != nullptr && user->profile.kind == UserKind::kAdmin) {
    result.allowed = true;
    result.level = Level::kAdmin;
    result.reason = "admin user";
    return result;
  }
  result.level = Evaluate(subject, target, &result.grants);
  result.allowed = result.level >= *required;
  if (result.grants.empty()) {
    result.reason = "no binding grants access here";
  } else {
    result.reason = result.allowed ? "granted" : "level too low";
  }
  return result;
}

Level AccessEvaluator::LevelOf(const Subject& subject, const AccessTarget& target) const {
  if (!IsActiveSubject(state_, subject, now_)) return Level::kNone;
  if (subject.type == SubjectType::kUser) {
    const User* u = state_.FindUser(subject.id);
    if (u != nullptr && u->profile.kind == UserKind::kAdmin) return Level::kAdmin;
  }
  return Evaluate(subject, target, nullptr);
}

std::vector<WhoEntry> AccessEvaluator::Who(const Node& node) const {
  std::map<Subject, Level> levels;
  std::optional<Chain> chain = ChainOf(node.id);
  if (!chain) return {};
  const AccessTarget target = node.id == kRootNode
                                  ? AccessTarget{node.id, node.type, node.app, node.id}
                                  : AccessTarget::ForNode(node);
  auto grant = [&](const Subject& s, Level level) {
    if (!IsActiveSubject(state_, s, now_)) return;
    Level& current = levels[s];
    current = std::max(current, level);
  };
  for (size_t i = 0; i <= chain->reach && i < chain->nodes.size(); ++i) {
    for (const std::string& id : state_.BindingsAt(chain->nodes[i]->id)) {
      const Binding* b = state_.FindBinding(id);
      if (b == nullptr) continue;
      const Role* role = state_.FindRole(b->role_id);
      if (role == nullptr || role->status != ActiveStatus::kActive) continue;
      Level level = Level::kNone;
      for (const Permission* p : state_.ExpandedPermissions(b->role_id)) {
        if (PermissionMatches(*p, target)) level = std::max(level, p->level);
      }
      if (level == Level::kNone) continue;
      if (b->subject.type == SubjectType::kGroup) {
        if (const Group* g = state_.FindGroup(b->subject.id)) {
          for (const Subject& m : g->members) grant(m, level);
        }
      } else {
        grant(b->subject, level);
      }
    }
  }
  for (const auto& [id, u] : state_.users()) {
    if (u.profile.kind == UserKind::kAdmin) grant(Subject{SubjectType::kUser, id}, Level::kAdmin);
  }
  std::vector<WhoEntry> out;
  out.reserve(levels.size());
  for (const auto& [subject, level] : levels) {
    if (level != Level::kNone) out.push_back(WhoEntry{subject, level});
  }
  return out;
}

std::vector<GrantDetail> AccessEvaluator::EffectiveGrants(const Subject& subject) const {
  std::vector<GrantDetail> out;
  for (const auto& [scope, entries] : state_.GrantsOf(subject)->by_scope) {
    for (const SubjectGrant& g : entries) {
      for (const Permission* p : *g.permissions) {
        out.push_back(GrantRef{g.binding, g.via_group, p}.Detail());
      }
    }
  }
  return out;
}

}  // namespace custos::core::iam
