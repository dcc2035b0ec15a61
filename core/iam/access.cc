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
  const bool type_ok = q.resource_type == p.resource_type ||
                       (q.resource_type == "*" && p.resource_type != "iam.*" &&
                        !IsIamType(p.resource_type)) ||
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

template <class Fn>
void AccessEvaluator::ForEachBinding(const Subject& subject, Fn&& fn) const {
  auto visit = [&](const Subject& holder, const std::string* via_group) {
    for (const std::string& id : state_.BindingsOf(holder)) {
      const Binding* b = state_.FindBinding(id);
      if (b == nullptr) continue;
      const Role* role = state_.FindRole(b->role_id);
      if (role == nullptr || role->status != ActiveStatus::kActive) continue;
      fn(*b, via_group);
    }
  };
  visit(subject, nullptr);
  if (subject.type == SubjectType::kGroup) return;
  for (const std::string& group_id : state_.GroupsOf(subject)) {
    visit(Subject{SubjectType::kGroup, group_id}, &group_id);
  }
}

Level AccessEvaluator::Evaluate(const Subject& subject, const AccessTarget& target,
                                std::vector<GrantDetail>* grants) const {
  std::optional<Chain> chain = ChainOf(target.node_id);
  if (!chain) return Level::kNone;
  Level level = Level::kNone;
  ForEachBinding(subject, [&](const Binding& b, const std::string* via_group) {
    // Does the binding's scope reach the target?
    size_t at = 0;
    while (at < chain->nodes.size() && chain->nodes[at]->id != b.scope) ++at;
    if (at > chain->reach) return;
    for (const Permission& p : state_.ExpandedPermissions(b.role_id)) {
      if (!PermissionMatches(p, target)) continue;
      level = std::max(level, p.level);
      if (grants != nullptr) {
        grants->push_back(GrantDetail{b.id, via_group ? std::optional<std::string>(*via_group)
                                                      : std::nullopt,
                                      b.role_id, b.scope, p});
      }
    }
  });
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
  const User* user =
      subject.type == SubjectType::kUser ? state_.FindUser(subject.id) : nullptr;
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
    result.reason = std::string(ToString(subject.type)) + " is not active";
    if (user != nullptr) result.reason = "user is " + std::string(ToString(EffectiveStatus(*user, now_)));
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
      for (const Permission& p : state_.ExpandedPermissions(b->role_id)) {
        if (PermissionMatches(p, target)) level = std::max(level, p.level);
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
  ForEachBinding(subject, [&](const Binding& b, const std::string* via_group) {
    for (const Permission& p : state_.ExpandedPermissions(b.role_id)) {
      out.push_back(GrantDetail{
          b.id, via_group ? std::optional<std::string>(*via_group) : std::nullopt, b.role_id,
          b.scope, p});
    }
  });
  return out;
}

bool AccessEvaluator::CanBind(const Subject& caller, const Role& role, std::string_view scope,
                              std::string* why) const {
  if (!IsActiveSubject(state_, caller, now_)) {
    if (why != nullptr) *why = "the caller is not active";
    return false;
  }
  if (caller.type == SubjectType::kUser) {
    const User* u = state_.FindUser(caller.id);
    if (u != nullptr && u->profile.kind == UserKind::kAdmin) return true;
  }
  std::optional<Chain> chain = ChainOf(scope);
  if (!chain) {
    if (why != nullptr) *why = "no node " + std::string(scope);
    return false;
  }
  // What the caller holds at the scope.
  std::vector<const Permission*> held;
  ForEachBinding(caller, [&](const Binding& b, const std::string*) {
    size_t at = 0;
    while (at < chain->nodes.size() && chain->nodes[at]->id != b.scope) ++at;
    if (at > chain->reach) return;
    for (const Permission& p : state_.ExpandedPermissions(b.role_id)) held.push_back(&p);
  });
  for (const Permission& p : state_.ExpandedPermissions(role.id)) {
    const bool covered = std::any_of(held.begin(), held.end(),
                                     [&](const Permission* q) { return PermissionCovers(*q, p); });
    if (!covered) {
      if (why != nullptr) {
        *why = "the caller does not hold " + std::string(ToString(p.level)) + " on " + p.app +
               "/" + p.resource_type + "/" + p.resource + " at " + std::string(scope);
      }
      return false;
    }
  }
  return true;
}

}  // namespace custos::core::iam
