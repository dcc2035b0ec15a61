// TenantState: lookups, indexes, role expansions, the grant cache and the due index. Events
// are applied in apply*.cc; state records are written and loaded in state_records.cc.
#include "core/iam/state.h"

#include <algorithm>

#include "core/fields.h"
#include "core/iam/events.h"
#include "core/iam/internal/state_parts.h"
#include "core/iam/names.h"

namespace custos::core::iam {

using internal::FindIn;
using internal::RecordKey;
using internal::SetIn;

struct TenantState::GrantsCache {
  std::mutex mu;
  uint64_t generation = 0;
  std::unordered_map<std::string, std::shared_ptr<const SubjectGrants>> by_subject;
};

TenantState::TenantState(std::string tenant_id)
    : tenant_id_(std::move(tenant_id)), grants_cache_(std::make_unique<GrantsCache>()) {
  root_.id = std::string(kRootNode);
  root_.type = "tenant";
}

TenantState::~TenantState() = default;
TenantState::TenantState(TenantState&&) noexcept = default;
TenantState& TenantState::operator=(TenantState&&) noexcept = default;

std::shared_ptr<const SubjectGrants> TenantState::GrantsOf(const Subject& subject) const {
  const std::string key = subject.Key();
  {
    std::lock_guard lock(grants_cache_->mu);
    if (grants_cache_->generation != generation_) {
      grants_cache_->by_subject.clear();
      grants_cache_->generation = generation_;
    }
    auto it = grants_cache_->by_subject.find(key);
    if (it != grants_cache_->by_subject.end()) return it->second;
  }
  auto grants = std::make_shared<SubjectGrants>();
  std::map<std::string_view, std::vector<SubjectGrant>> by_scope;
  auto collect = [&](const Subject& holder, const Group* via) {
    for (const std::string& id : BindingsOf(holder)) {
      const Binding* b = FindBinding(id);
      if (b == nullptr) continue;
      const Role* role = FindRole(b->role_id);
      if (role == nullptr || role->status != ActiveStatus::kActive) continue;
      auto expanded = expanded_.find(b->role_id);
      if (expanded == expanded_.end() || expanded->second.empty()) continue;
      by_scope[b->scope].push_back(SubjectGrant{b, via, &expanded->second});
    }
  };
  collect(subject, nullptr);
  if (subject.type != SubjectType::kGroup) {
    for (const std::string& group_id : GroupsOf(subject)) {
      const Group* g = FindGroup(group_id);
      if (g != nullptr) collect(Subject{SubjectType::kGroup, group_id}, g);
    }
  }
  grants->by_scope.assign(std::make_move_iterator(by_scope.begin()),
                          std::make_move_iterator(by_scope.end()));
  std::lock_guard lock(grants_cache_->mu);
  if (grants_cache_->generation == generation_) {
    if (grants_cache_->by_subject.size() > 100'000) grants_cache_->by_subject.clear();
    grants_cache_->by_subject[key] = grants;
  }
  return grants;
}

const User* TenantState::FindUser(std::string_view id) const { return FindIn(users_, id); }

const User* TenantState::FindUserByEmail(std::string_view email) const {
  const std::string* id = FindIn(email_index_, Lower(email));
  return id == nullptr ? nullptr : FindUser(*id);
}

const Role* TenantState::FindRole(std::string_view id) const { return FindIn(roles_, id); }

const Role* TenantState::FindRoleByName(std::string_view name) const {
  const std::string* id = FindIn(role_names_, NameKey(name));
  return id == nullptr ? nullptr : FindRole(*id);
}

const Group* TenantState::FindGroup(std::string_view id) const { return FindIn(groups_, id); }

const Group* TenantState::FindGroupByName(std::string_view name) const {
  const std::string* id = FindIn(group_names_, NameKey(name));
  return id == nullptr ? nullptr : FindGroup(*id);
}

const Binding* TenantState::FindBinding(std::string_view id) const { return FindIn(bindings_, id); }

std::string TenantState::NameOf(const Subject& subject) const {
  switch (subject.type) {
    case SubjectType::kUser:
      if (const User* u = FindUser(subject.id)) return u->DisplayName();
      break;
    case SubjectType::kGroup:
      if (const Group* g = FindGroup(subject.id)) return g->name;
      break;
    case SubjectType::kApiClient:
      if (const ApiClient* c = FindClient(subject.id)) return c->name;
      break;
  }
  return "";
}

const ApiClient* TenantState::FindClient(std::string_view id) const { return FindIn(clients_, id); }

const ApiClient* TenantState::FindClientByName(std::string_view name) const {
  const std::string* id = FindIn(client_names_, NameKey(name));
  return id == nullptr ? nullptr : FindClient(*id);
}

const Invitation* TenantState::FindInvitation(std::string_view id) const {
  return FindIn(invitations_, id);
}

const Node* TenantState::FindNode(std::string_view id) const {
  if (id == kRootNode) return exists_ ? &root_ : nullptr;
  return FindIn(nodes_, id);
}

const Node* TenantState::FindProjectByName(std::string_view name) const {
  const std::string* id = FindIn(project_names_, NameKey(name));
  return id == nullptr ? nullptr : FindNode(*id);
}

const PropertyDefinition* TenantState::FindProperty(std::string_view key) const {
  return FindIn(properties_, key);
}

std::optional<Time> TenantState::RevokedTokenExpiry(std::string_view jti) const {
  const Time* t = FindIn(revoked_tokens_, jti);
  return t == nullptr ? std::nullopt : std::optional<Time>(*t);
}

const std::set<std::string>& TenantState::BindingsOf(const Subject& subject) const {
  return SetIn(bindings_by_subject_, subject.Key());
}
const std::set<std::string>& TenantState::BindingsOfRole(std::string_view role_id) const {
  return SetIn(bindings_by_role_, role_id);
}
const std::set<std::string>& TenantState::BindingsAt(std::string_view scope) const {
  return SetIn(bindings_by_scope_, scope);
}
const std::set<std::string>& TenantState::GroupsOf(const Subject& subject) const {
  return SetIn(member_of_, subject.Key());
}
const std::set<std::string>& TenantState::ChildrenOf(std::string_view node_id) const {
  return SetIn(children_, node_id);
}
const std::set<std::string>& TenantState::GroupsScopedTo(std::string_view node_id) const {
  return SetIn(groups_by_scope_, node_id);
}

void TenantState::IndexBinding(const Binding& b) {
  bindings_by_subject_[b.subject.Key()].insert(b.id);
  bindings_by_role_[b.role_id].insert(b.id);
  bindings_by_scope_[b.scope].insert(b.id);
}

void TenantState::UnindexBinding(const Binding& b) {
  auto erase = [&](auto& index, const std::string& key) {
    auto it = index.find(key);
    if (it == index.end()) return;
    it->second.erase(b.id);
    if (it->second.empty()) index.erase(it);
  };
  erase(bindings_by_subject_, b.subject.Key());
  erase(bindings_by_role_, b.role_id);
  erase(bindings_by_scope_, b.scope);
}

void TenantState::IndexGroup(const Group& g) {
  group_names_[NameKey(g.name)] = g.id;
  groups_by_scope_[g.scope].insert(g.id);
  for (const Subject& m : g.members) member_of_[m.Key()].insert(g.id);
}

void TenantState::UnindexGroup(const Group& g) {
  group_names_.erase(NameKey(g.name));
  if (auto it = groups_by_scope_.find(g.scope); it != groups_by_scope_.end()) {
    it->second.erase(g.id);
    if (it->second.empty()) groups_by_scope_.erase(it);
  }
  for (const Subject& m : g.members) {
    auto it = member_of_.find(m.Key());
    if (it == member_of_.end()) continue;
    it->second.erase(g.id);
    if (it->second.empty()) member_of_.erase(it);
  }
}

void TenantState::IndexNode(const Node& n) {
  children_[n.parent_id].insert(n.id);
  if (n.type == "project") project_names_[NameKey(n.name)] = n.id;
}

void TenantState::UnindexNode(const Node& n) {
  if (auto it = children_.find(n.parent_id); it != children_.end()) {
    it->second.erase(n.id);
    if (it->second.empty()) children_.erase(it);
  }
  if (n.type == "project") project_names_.erase(NameKey(n.name));
}

void TenantState::UnindexInclude(const std::string& role_id, const std::string& included) {
  auto it = included_by_.find(included);
  if (it == included_by_.end()) return;
  it->second.erase(role_id);
  if (it->second.empty()) included_by_.erase(it);
}

const PermissionRefs& TenantState::ExpandedPermissions(std::string_view role_id) const {
  static const PermissionRefs empty;
  auto it = expanded_.find(role_id);
  return it == expanded_.end() ? empty : it->second;
}

PermissionRefs TenantState::Expand(const std::string& role_id) const {
  PermissionRefs out;
  std::set<const Permission*, PermissionLess> distinct;
  std::set<std::string> seen;
  std::vector<const Role*> stack;
  if (const Role* r = FindRole(role_id)) stack.push_back(r);
  seen.insert(role_id);
  while (!stack.empty()) {
    const Role* r = stack.back();
    stack.pop_back();
    for (const Permission& p : r->permissions) {
      if (distinct.insert(&p).second) out.push_back(&p);
    }
    for (const std::string& inc : r->includes) {
      const Role* included = FindRole(inc);
      if (included == nullptr || included->status != ActiveStatus::kActive) continue;
      if (seen.insert(inc).second) stack.push_back(included);
    }
  }
  return out;
}

void TenantState::RecomputeExpansions(const std::string& role_id) {
  // The role itself and every role that includes it, directly or not.
  std::set<std::string> todo = {role_id};
  std::vector<std::string> queue = {role_id};
  while (!queue.empty()) {
    const std::string id = std::move(queue.back());
    queue.pop_back();
    auto it = included_by_.find(id);
    if (it == included_by_.end()) continue;
    for (const std::string& parent : it->second) {
      if (todo.insert(parent).second) queue.push_back(parent);
    }
  }
  for (const std::string& id : todo) {
    if (roles_.count(id) != 0) {
      expanded_[id] = Expand(id);
    } else {
      expanded_.erase(id);
    }
  }
}

Status TenantState::FinishLoad() {
  ++generation_;
  expanded_.clear();
  for (const auto& [id, role] : roles_) expanded_[id] = Expand(id);
  dirty_.clear();
  return OkStatus();
}

void TenantState::PruneRevokedTokens(Time now) {
  for (auto it = revoked_tokens_.begin(); it != revoked_tokens_.end();) {
    if (it->second <= now) {
      Touch(RecordKey('x', it->first));
      it = revoked_tokens_.erase(it);
    } else {
      ++it;
    }
  }
}

void TenantState::SetDue(std::string key, std::optional<Time> when) {
  auto it = due_at_.find(key);
  if (it != due_at_.end()) {
    if (when && *when == it->second) return;
    due_.erase({it->second, key});
    due_at_.erase(it);
  }
  if (!when) return;
  due_.emplace(*when, key);
  due_at_.emplace(std::move(key), *when);
}

void TenantState::IndexDue(const User& u) {
  SetDue(RecordKey('u', u.id), u.status == UserStatus::kLocked ? u.locked_until : std::nullopt);
}

void TenantState::IndexDue(const Invitation& inv) {
  SetDue(RecordKey('i', inv.id), inv.status == InvitationStatus::kPending
                                     ? std::optional<Time>(inv.expires_at)
                                     : std::nullopt);
}

std::vector<std::string> TenantState::DueBy(Time now, size_t max) const {
  std::vector<std::string> out;
  for (auto it = due_.begin(); it != due_.end() && it->first <= now && out.size() < max; ++it) {
    out.push_back(it->second);
  }
  return out;
}

}  // namespace custos::core::iam
