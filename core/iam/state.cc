#include "core/iam/state.h"

#include <algorithm>

#include "core/fields.h"
#include "core/iam/events.h"
#include "core/iam/names.h"
#include "core/json_writer.h"
#include "core/sha256.h"

namespace custos::core::iam {
namespace {

namespace et = event_type;

const std::set<std::string>& EmptySet() {
  static const std::set<std::string> empty;
  return empty;
}

template <class Map>
const std::set<std::string>& SetIn(const Map& map, std::string_view key) {
  auto it = map.find(key);
  return it == map.end() ? EmptySet() : it->second;
}

template <class Map>
auto* FindIn(Map& map, std::string_view key) {
  auto it = map.find(key);
  return it == map.end() ? nullptr : &it->second;
}

struct RevokedToken {
  std::string jti;
  Time expires_at;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("jti", s.jti);
    v("expires_at", s.expires_at);
  }
};

Error Unknown(std::string_view type, std::string_view what, std::string_view id) {
  return Corruption(std::string(type) + " for unknown " + std::string(what) + " " +
                    std::string(id));
}

// Adds `more` to the sorted set `known`.
void MergeKnown(std::vector<Subject>& known, const std::vector<Subject>& more) {
  for (const Subject& s : more) {
    auto at = std::lower_bound(known.begin(), known.end(), s);
    if (at == known.end() || *at != s) known.insert(at, s);
  }
}

template <class Entity>
void Bump(Entity& e, Time time) {
  ++e.version;
  e.updated_at = time;
}

// The key of an entity record: "<prefix>/<id>".
std::string RecordKey(char prefix, std::string_view id) {
  std::string key(1, prefix);
  key += '/';
  key += id;
  return key;
}

// A membership is a record of its own ("m/<group>/<type>:<id>"), so that adding one member
// to a large group writes a few bytes, not the whole member list.
std::string MemberKey(std::string_view group_id, const Subject& member) {
  std::string key = "m/";
  key += group_id;
  key += '/';
  key += member.Key();
  return key;
}

bool ParseMemberKey(std::string_view key, std::string_view& group_id, Subject& member) {
  if (!key.starts_with("m/")) return false;
  key.remove_prefix(2);
  const size_t slash = key.find('/');
  if (slash == std::string_view::npos) return false;
  group_id = key.substr(0, slash);
  const std::string_view subject = key.substr(slash + 1);
  const size_t colon = subject.find(':');
  if (colon == std::string_view::npos) return false;
  member.id = std::string(subject.substr(colon + 1));
  return FromString(subject.substr(0, colon), member.type);
}

// A group's record: everything but its members (those have records of their own).
std::string GroupRecord(const Group& g) {
  JsonWriter w(256);
  w.BeginObject();
  w.Key("id").String(g.id).Key("name").String(g.name).Key("description").String(g.description);
  w.Key("type").String(ToString(g.type)).Key("scope").String(g.scope);
  w.Key("members").BeginArray().EndArray();
  w.Key("created_at");
  WriteValue(w, g.created_at);
  w.Key("updated_at");
  WriteValue(w, g.updated_at);
  w.Key("version").Int(g.version);
  w.EndObject();
  return w.Take();
}

}  // namespace

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

template <class Payload>
Status TenantState::Read(const JsonValue& data, std::string_view type, Payload& out) {
  Status s = ReadValue(data, out, "");
  if (!s.ok()) {
    return Corruption(std::string(type) + " with bad data: " + s.error().message);
  }
  return OkStatus();
}

Status TenantState::Apply(std::string_view type, std::string_view data_json, Time time) {
  Result<JsonValue> data = ParseJson(data_json);
  if (!data.ok()) return Corruption(std::string(type) + ": " + data.error().message);
  return Apply(type, *data, time);
}

Status TenantState::Apply(std::string_view type, const JsonValue& data, Time time) {
  const std::string_view domain = type.substr(0, type.find('.'));
  // audit.* and application events do not change identity state.
  if (!IsCatalogType(type) || domain == "audit") return OkStatus();
  if (!exists_ && type != et::kTenantCreated) {
    return Corruption(std::string(type) + " before tenant.created");
  }
  // What a subject is granted may have changed: its cached grants are recomputed.
  if (domain == "role" || domain == "binding" || type == et::kGroupMemberAdded ||
      type == et::kGroupMemberRemoved || type == et::kGroupDeleted) {
    ++generation_;
  }
  if (domain == "tenant") return ApplyTenant(type, data, time);
  if (domain == "user") return ApplyUser(type, data, time);
  if (domain == "role") return ApplyRole(type, data, time);
  if (domain == "group") return ApplyGroup(type, data, time);
  if (domain == "binding") return ApplyBinding(type, data, time);
  if (domain == "api_client") return ApplyClient(type, data, time);
  if (domain == "invitation") return ApplyInvitation(type, data, time);
  if (domain == "environment" || domain == "project" || domain == "folder" ||
      domain == "resource") {
    return ApplyNode(type, data, time);
  }
  if (domain == "property") return ApplyProperty(type, data, time);
  return ApplyAuth(type, data, time);
}

Status TenantState::ApplyTenant(std::string_view type, const JsonValue& data, Time time) {
  if (type == et::kTenantCreated) {
    if (exists_) return Corruption("second tenant.created for " + tenant_id_);
    TenantCreatedData d;
    CUSTOS_RETURN_IF_ERROR(Read(data, type, d));
    tenant_ = Tenant{d.id, d.name, d.plan, d.retention_days, d.settings, false, "", std::nullopt, time, time, 1};
    exists_ = true;
  } else if (type == et::kTenantUpdated) {
    TenantUpdatedData d;
    CUSTOS_RETURN_IF_ERROR(Read(data, type, d));
    tenant_.name = d.name;
    tenant_.settings = d.settings;
    Bump(tenant_, time);
  } else if (type == et::kTenantPlanChanged) {
    TenantPlanChangedData d;
    CUSTOS_RETURN_IF_ERROR(Read(data, type, d));
    tenant_.plan = d.plan;
    tenant_.retention_days = d.retention_days;
    tenant_.seat_limit = d.seat_limit;
    Bump(tenant_, time);
  } else if (type == et::kTenantLegalHoldChanged) {
    TenantLegalHoldData d;
    CUSTOS_RETURN_IF_ERROR(Read(data, type, d));
    tenant_.legal_hold = d.enabled;
    tenant_.legal_hold_reason = d.reason;
    Bump(tenant_, time);
  } else {
    return Corruption("unknown event type " + std::string(type));
  }
  Touch("t");
  return OkStatus();
}

Status TenantState::ApplyUser(std::string_view type, const JsonValue& data, Time time) {
  if (type == et::kUserCreated) {
    UserCreatedData d;
    CUSTOS_RETURN_IF_ERROR(Read(data, type, d));
    if (users_.count(d.user_id) != 0) return Corruption("user.created twice for " + d.user_id);
    User u;
    u.id = d.user_id;
    u.profile = std::move(d.profile);
    u.tags = std::move(d.tags);
    u.must_change_password = d.must_change_password;
    u.temp_password_expires_at = d.temp_password_expires_at;
    if (d.credential_known_by) MergeKnown(u.credential_known_by, *d.credential_known_by);
    u.created_at = time;
    u.updated_at = time;
    email_index_[Lower(u.profile.email)] = u.id;
    Touch(RecordKey('u', u.id));
    seats_used_ += TakesASeat(u);
    users_.emplace(u.id, std::move(u));
    return OkStatus();
  }
  if (type == et::kUserExported) return OkStatus();

  const JsonValue* id = data.Find("user_id");
  User* u = id != nullptr && id->is_string() ? FindIn(users_, id->text()) : nullptr;
  if (u == nullptr) return Unknown(type, "user", id != nullptr ? id->text() : "");
  seats_used_ -= TakesASeat(*u);  // counted again below, as it is after the event
  if (type == et::kUserUpdated) {
    UserUpdatedData d;
    CUSTOS_RETURN_IF_ERROR(Read(data, type, d));
    if (Lower(d.profile.email) != Lower(u->profile.email)) {
      email_index_.erase(Lower(u->profile.email));
      email_index_[Lower(d.profile.email)] = u->id;
    }
    u->profile = std::move(d.profile);
  } else if (type == et::kUserActivated || type == et::kUserUnlocked) {
    u->status = UserStatus::kActive;
    u->failed_logins = 0;
    u->locked_until.reset();
  } else if (type == et::kUserDeactivated) {
    u->status = UserStatus::kDeactivated;
    ++u->session_epoch;
  } else if (type == et::kUserSuspended) {
    u->status = UserStatus::kSuspended;
    ++u->session_epoch;
  } else if (type == et::kUserLocked) {
    UserLockedData d;
    CUSTOS_RETURN_IF_ERROR(Read(data, type, d));
    u->status = UserStatus::kLocked;
    u->locked_until = d.locked_until;
  } else if (type == et::kUserDeleted) {
    u->status = UserStatus::kDeleted;
    ++u->session_epoch;
    email_index_.erase(Lower(u->profile.email));
  } else if (type == et::kUserPasswordReset) {
    UserPasswordResetData d;
    CUSTOS_RETURN_IF_ERROR(Read(data, type, d));
    u->must_change_password = true;
    u->temp_password_expires_at = d.temp_password_expires_at;
    ++u->session_epoch;
    if (d.credential_delivery == "notification") {
      u->credential_known_by.clear();  // the mail alone has the new password
    } else if (d.credential_known_by) {
      MergeKnown(u->credential_known_by, *d.credential_known_by);
    }
  } else if (type == et::kUserPasswordChanged) {
    u->must_change_password = false;
    u->temp_password_expires_at.reset();
    ++u->session_epoch;
  } else if (type == et::kUserTagSet || type == et::kUserTagRemoved) {
    UserTagData d;
    CUSTOS_RETURN_IF_ERROR(Read(data, type, d));
    if (type == et::kUserTagSet) {
      u->tags[d.key] = d.value.value_or("");
    } else {
      u->tags.erase(d.key);
    }
  } else {
    return Corruption("unknown event type " + std::string(type));
  }
  Bump(*u, time);
  IndexDue(*u);
  seats_used_ += TakesASeat(*u);
  Touch(RecordKey('u', u->id));
  return OkStatus();
}

bool TenantState::TakesASeat(const User& u) {
  return !u.profile.support.value_or(false) && u.status != UserStatus::kDeactivated &&
         u.status != UserStatus::kDeleted;
}

Status TenantState::ApplyProperty(std::string_view type, const JsonValue& data, Time time) {
  PropertyData d;
  CUSTOS_RETURN_IF_ERROR(Read(data, type, d));
  if (type == et::kPropertyDefined) {
    properties_[d.key] = PropertyDefinition{d.key, d.type, d.description, time};
  } else if (type == et::kPropertyRemoved) {
    if (properties_.erase(d.key) == 0) return Unknown(type, "property", d.key);
  } else {
    return Corruption("unknown event type " + std::string(type));
  }
  Touch(RecordKey('p', d.key));
  return OkStatus();
}

Status TenantState::ApplyRole(std::string_view type, const JsonValue& data, Time time) {
  if (type == et::kRoleCreated || type == et::kRoleUpdated) {
    RoleData d;
    CUSTOS_RETURN_IF_ERROR(Read(data, type, d));
    Role* r = FindIn(roles_, d.role_id);
    if (type == et::kRoleCreated) {
      if (r != nullptr) return Corruption("role.created twice for " + d.role_id);
      Role role;
      role.id = d.role_id;
      role.built_in = d.built_in;
      role.created_at = time;
      role.updated_at = time;
      r = &roles_.emplace(role.id, std::move(role)).first->second;
    } else {
      if (r == nullptr) return Unknown(type, "role", d.role_id);
      role_names_.erase(NameKey(r->name));
      Bump(*r, time);
    }
    for (const std::string& inc : r->includes) UnindexInclude(r->id, inc);
    r->name = d.name;
    r->description = d.description;
    r->permissions = std::move(d.permissions);
    r->includes = std::move(d.includes);
    for (const std::string& inc : r->includes) included_by_[inc].insert(r->id);
    role_names_[NameKey(r->name)] = r->id;
    Touch(RecordKey('r', r->id));
    RecomputeExpansions(r->id);
    return OkStatus();
  }
  RoleRefData d;
  CUSTOS_RETURN_IF_ERROR(Read(data, type, d));
  Role* r = FindIn(roles_, d.role_id);
  if (r == nullptr) return Unknown(type, "role", d.role_id);
  Touch(RecordKey('r', r->id));
  if (type == et::kRoleDeleted) {
    role_names_.erase(NameKey(r->name));
    for (const std::string& inc : r->includes) UnindexInclude(r->id, inc);
    const std::string id = r->id;
    roles_.erase(id);
    expanded_.erase(id);
    RecomputeExpansions(id);  // roles that included it
    return OkStatus();
  }
  if (type == et::kRoleActivated) {
    r->status = ActiveStatus::kActive;
  } else if (type == et::kRoleDeactivated) {
    r->status = ActiveStatus::kInactive;
  } else {
    return Corruption("unknown event type " + std::string(type));
  }
  Bump(*r, time);
  RecomputeExpansions(r->id);  // an inactive included role grants nothing
  return OkStatus();
}

Status TenantState::ApplyGroup(std::string_view type, const JsonValue& data, Time time) {
  if (type == et::kGroupCreated) {
    GroupData d;
    CUSTOS_RETURN_IF_ERROR(Read(data, type, d));
    if (groups_.count(d.group_id) != 0) return Corruption("group.created twice for " + d.group_id);
    Group g;
    g.id = d.group_id;
    g.name = d.name;
    g.description = d.description;
    g.type = d.type;
    g.scope = d.scope;
    g.created_at = time;
    g.updated_at = time;
    IndexGroup(g);
    Touch(RecordKey('g', g.id));
    groups_.emplace(g.id, std::move(g));
    return OkStatus();
  }
  const JsonValue* id = data.Find("group_id");
  Group* g = id != nullptr && id->is_string() ? FindIn(groups_, id->text()) : nullptr;
  if (g == nullptr) return Unknown(type, "group", id != nullptr ? id->text() : "");
  Touch(RecordKey('g', g->id));
  if (type == et::kGroupDeleted) {
    for (const Subject& m : g->members) Touch(MemberKey(g->id, m));
    UnindexGroup(*g);
    groups_.erase(g->id);
    return OkStatus();
  }
  if (type == et::kGroupUpdated) {
    GroupData d;
    CUSTOS_RETURN_IF_ERROR(Read(data, type, d));
    group_names_.erase(NameKey(g->name));
    g->name = d.name;
    g->description = d.description;
    group_names_[NameKey(g->name)] = g->id;
  } else if (type == et::kGroupMemberAdded || type == et::kGroupMemberRemoved) {
    GroupMemberData d;
    CUSTOS_RETURN_IF_ERROR(Read(data, type, d));
    auto at = std::lower_bound(g->members.begin(), g->members.end(), d.member);
    const bool present = at != g->members.end() && *at == d.member;
    Touch(MemberKey(g->id, d.member));
    if (type == et::kGroupMemberAdded) {
      if (present) return Corruption("member added twice to " + g->id);
      g->members.insert(at, d.member);
      member_of_[d.member.Key()].insert(g->id);
    } else {
      if (!present) return Corruption("removing a non-member from " + g->id);
      g->members.erase(at);
      auto it = member_of_.find(d.member.Key());
      if (it != member_of_.end()) {
        it->second.erase(g->id);
        if (it->second.empty()) member_of_.erase(it);
      }
    }
  } else {
    return Corruption("unknown event type " + std::string(type));
  }
  Bump(*g, time);
  return OkStatus();
}

Status TenantState::ApplyBinding(std::string_view type, const JsonValue& data, Time time) {
  BindingData d;
  CUSTOS_RETURN_IF_ERROR(Read(data, type, d));
  if (type == et::kBindingCreated) {
    if (bindings_.count(d.binding_id) != 0) {
      return Corruption("binding.created twice for " + d.binding_id);
    }
    Binding b{d.binding_id, d.subject, d.role_id, d.scope, d.system, time, 1};
    IndexBinding(b);
    bindings_.emplace(b.id, std::move(b));
  } else if (type == et::kBindingDeleted) {
    Binding* b = FindIn(bindings_, d.binding_id);
    if (b == nullptr) return Unknown(type, "binding", d.binding_id);
    UnindexBinding(*b);
    bindings_.erase(d.binding_id);
  } else {
    return Corruption("unknown event type " + std::string(type));
  }
  Touch(RecordKey('b', d.binding_id));
  return OkStatus();
}

Status TenantState::ApplyClient(std::string_view type, const JsonValue& data, Time time) {
  if (type == et::kApiClientCreated) {
    ApiClientData d;
    CUSTOS_RETURN_IF_ERROR(Read(data, type, d));
    if (clients_.count(d.client_id) != 0) {
      return Corruption("api_client.created twice for " + d.client_id);
    }
    ApiClient c;
    c.id = d.client_id;
    c.name = d.name;
    c.description = d.description;
    c.label = d.label;
    c.owner_id = d.owner_id;
    c.created_at = time;
    c.updated_at = time;
    client_names_[NameKey(c.name)] = c.id;
    Touch(RecordKey('c', c.id));
    clients_.emplace(c.id, std::move(c));
    return OkStatus();
  }
  const JsonValue* id = data.Find("client_id");
  ApiClient* c = id != nullptr && id->is_string() ? FindIn(clients_, id->text()) : nullptr;
  if (c == nullptr) return Unknown(type, "api client", id != nullptr ? id->text() : "");
  Touch(RecordKey('c', c->id));
  if (type == et::kApiClientDeleted) {
    // Whoever controlled the client keeps control of what it saw: its controllers take its
    // place in the lists it was on, so the chain survives the deletion.
    const Subject gone{SubjectType::kApiClient, c->id};
    const std::vector<Subject> above = c->credential_known_by;
    auto inherit = [&](std::vector<Subject>& known, char kind, const std::string& id) {
      if (!std::binary_search(known.begin(), known.end(), gone)) return;
      MergeKnown(known, above);
      Touch(RecordKey(kind, id));
    };
    for (auto& [id, u] : users_) inherit(u.credential_known_by, 'u', id);
    for (auto& [id, other] : clients_) inherit(other.credential_known_by, 'c', id);
    for (auto& [id, inv] : invitations_) inherit(inv.token_known_by, 'i', id);
    client_names_.erase(NameKey(c->name));
    clients_.erase(c->id);
    return OkStatus();
  }
  if (type == et::kApiClientUpdated) {
    ApiClientData d;
    CUSTOS_RETURN_IF_ERROR(Read(data, type, d));
    client_names_.erase(NameKey(c->name));
    c->name = d.name;
    c->description = d.description;
    c->label = d.label;
    c->owner_id = d.owner_id;
    client_names_[NameKey(c->name)] = c->id;
  } else if (type == et::kApiClientActivated) {
    c->status = ActiveStatus::kActive;
  } else if (type == et::kApiClientDeactivated) {
    c->status = ActiveStatus::kInactive;
    ++c->session_epoch;
  } else if (type == et::kApiClientSecretCreated || type == et::kApiClientSecretRevoked) {
    ApiClientSecretData d;
    CUSTOS_RETURN_IF_ERROR(Read(data, type, d));
    auto it = std::find_if(c->secrets.begin(), c->secrets.end(),
                           [&](const ClientSecret& s) { return s.key_id == d.key_id; });
    if (type == et::kApiClientSecretCreated) {
      if (it != c->secrets.end()) return Corruption("secret created twice: " + d.key_id);
      c->secrets.push_back(ClientSecret{d.key_id, time, std::nullopt});
      // Whoever saw a secret keeps control of the client (older secrets stay valid).
      if (d.credential_known_by) MergeKnown(c->credential_known_by, *d.credential_known_by);
    } else {
      if (it == c->secrets.end()) return Unknown(type, "secret", d.key_id);
      c->secrets.erase(it);
    }
  } else {
    return Corruption("unknown event type " + std::string(type));
  }
  Bump(*c, time);
  return OkStatus();
}

Status TenantState::ApplyInvitation(std::string_view type, const JsonValue& data, Time time) {
  if (type == et::kInvitationCreated) {
    InvitationData d;
    CUSTOS_RETURN_IF_ERROR(Read(data, type, d));
    if (invitations_.count(d.invitation_id) != 0) {
      return Corruption("invitation.created twice for " + d.invitation_id);
    }
    Invitation inv;
    inv.id = d.invitation_id;
    inv.email = d.email;
    inv.bindings = std::move(d.bindings);
    inv.group_ids = std::move(d.group_ids);
    inv.expires_at = d.expires_at;
    inv.ttl_days = std::chrono::duration_cast<std::chrono::hours>(d.expires_at - time).count() / 24;
    inv.invited_by = d.invited_by;
    if (d.token_known_by) MergeKnown(inv.token_known_by, *d.token_known_by);
    inv.created_at = time;
    inv.updated_at = time;
    Touch(RecordKey('i', inv.id));
    IndexDue(inv);
    invitations_.emplace(inv.id, std::move(inv));
    return OkStatus();
  }
  InvitationRefData d;
  CUSTOS_RETURN_IF_ERROR(Read(data, type, d));
  Invitation* inv = FindIn(invitations_, d.invitation_id);
  if (inv == nullptr) return Unknown(type, "invitation", d.invitation_id);
  if (type == et::kInvitationResent) {
    if (!d.expires_at) return Corruption("invitation.resent without expires_at");
    inv->expires_at = *d.expires_at;
    inv->status = InvitationStatus::kPending;
    ++inv->sends;
    if (d.credential_delivery == "notification") {
      inv->token_known_by.clear();
    } else if (d.token_known_by) {
      MergeKnown(inv->token_known_by, *d.token_known_by);
    }
  } else if (type == et::kInvitationRevoked) {
    inv->status = InvitationStatus::kRevoked;
  } else if (type == et::kInvitationExpired) {
    inv->status = InvitationStatus::kExpired;
  } else if (type == et::kInvitationAccepted) {
    inv->status = InvitationStatus::kAccepted;
    inv->user_id = d.user_id;
  } else {
    return Corruption("unknown event type " + std::string(type));
  }
  Bump(*inv, time);
  IndexDue(*inv);
  Touch(RecordKey('i', inv->id));
  return OkStatus();
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

Status TenantState::ApplyNode(std::string_view type, const JsonValue& data, Time time) {
  const std::string_view verb = type.substr(type.find('.') + 1);
  if (verb == "created" || verb == "updated") {
    NodeData d;
    CUSTOS_RETURN_IF_ERROR(Read(data, type, d));
    Node* n = FindIn(nodes_, d.node_id);
    if (verb == "created") {
      if (n != nullptr) return Corruption(std::string(type) + " twice for " + d.node_id);
      if (FindNode(d.parent_id) == nullptr) return Unknown(type, "parent", d.parent_id);
      Node node;
      node.id = d.node_id;
      node.type = d.type;
      node.parent_id = d.parent_id;
      node.created_at = time;
      node.updated_at = time;
      n = &nodes_.emplace(node.id, std::move(node)).first->second;
    } else {
      if (n == nullptr) return Unknown(type, "node", d.node_id);
      if (d.parent_id != n->parent_id && FindNode(d.parent_id) == nullptr) {
        return Unknown(type, "parent", d.parent_id);
      }
      UnindexNode(*n);
      n->parent_id = d.parent_id;  // a move
      Bump(*n, time);
    }
    n->name = d.name;
    n->app = d.app;
    n->inherit = d.inherit;
    IndexNode(*n);
    Touch(RecordKey('n', n->id));
    return OkStatus();
  }
  if (verb == "deleted") {
    NodeRefData d;
    CUSTOS_RETURN_IF_ERROR(Read(data, type, d));
    Node* n = FindIn(nodes_, d.node_id);
    if (n == nullptr) return Unknown(type, "node", d.node_id);
    UnindexNode(*n);
    nodes_.erase(d.node_id);
    Touch(RecordKey('n', d.node_id));
    return OkStatus();
  }
  return Corruption("unknown event type " + std::string(type));
}

Status TenantState::ApplyAuth(std::string_view type, const JsonValue& data, Time time) {
  PruneRevokedTokens(time);
  if (type == et::kAuthLoginSucceeded || type == et::kAuthLoginFailed) {
    LoginData d;
    CUSTOS_RETURN_IF_ERROR(Read(data, type, d));
    if (!d.user_id) return OkStatus();  // a failure for an unknown email changes nothing
    User* u = FindIn(users_, *d.user_id);
    if (u == nullptr) return Unknown(type, "user", *d.user_id);
    if (type == et::kAuthLoginSucceeded) {
      u->failed_logins = 0;
      u->last_active_at = time;
    } else {
      ++u->failed_logins;
    }
    Bump(*u, time);
    Touch(RecordKey('u', u->id));
    return OkStatus();
  }
  TokenData d;
  CUSTOS_RETURN_IF_ERROR(Read(data, type, d));
  if (type == et::kAuthTokenIssued) {
    if (d.subject.type != SubjectType::kApiClient) return OkStatus();
    ApiClient* c = FindIn(clients_, d.subject.id);
    if (c == nullptr) return Unknown(type, "api client", d.subject.id);
    c->last_used_at = time;
    for (ClientSecret& s : c->secrets) {
      if (d.key_id && s.key_id == *d.key_id) s.last_used_at = time;
    }
    Touch(RecordKey('c', c->id));
    return OkStatus();
  }
  if (type == et::kAuthTokenRevoked || type == et::kAuthLogout) {
    if (d.expires_at > time) {
      revoked_tokens_[d.jti] = d.expires_at;
      Touch(RecordKey('x', d.jti));
    }
    return OkStatus();
  }
  return Corruption("unknown event type " + std::string(type));
}

std::map<std::string, std::optional<std::string>> TenantState::TakeDirty() {
  std::map<std::string, std::optional<std::string>> out;
  for (const std::string& key : dirty_) {
    std::optional<std::string> value;
    const std::string_view id = key.size() > 2 ? std::string_view(key).substr(2) : "";
    switch (key[0]) {
      case 't':
        if (exists_) value = ToJson(tenant_);
        break;
      case 'u':
        if (const User* u = FindUser(id)) value = ToJson(*u);
        break;
      case 'r':
        if (const Role* r = FindRole(id)) value = ToJson(*r);
        break;
      case 'g':
        if (const Group* g = FindGroup(id)) value = GroupRecord(*g);
        break;
      case 'm': {
        std::string_view group_id;
        Subject member;
        if (!ParseMemberKey(key, group_id, member)) break;
        const Group* g = FindGroup(group_id);
        if (g != nullptr && std::binary_search(g->members.begin(), g->members.end(), member)) {
          value = "{}";
        }
        break;
      }
      case 'b':
        if (const Binding* b = FindBinding(id)) value = ToJson(*b);
        break;
      case 'c':
        if (const ApiClient* c = FindClient(id)) value = ToJson(*c);
        break;
      case 'i':
        if (const Invitation* i = FindInvitation(id)) value = ToJson(*i);
        break;
      case 'n':
        if (const Node* n = FindIn(nodes_, id)) value = ToJson(*n);
        break;
      case 'p':
        if (const PropertyDefinition* p = FindProperty(id)) value = ToJson(*p);
        break;
      case 'x':
        if (std::optional<Time> t = RevokedTokenExpiry(id)) {
          value = ToJson(RevokedToken{std::string(id), *t});
        }
        break;
      default:
        break;
    }
    out.emplace(key, std::move(value));
  }
  dirty_.clear();
  return out;
}

void TenantState::ForEachRecord(
    const std::function<void(const std::string&, const std::string&)>& fn) const {
  std::map<std::string, std::string> records;
  if (exists_) records.emplace("t", ToJson(tenant_));
  for (const auto& [id, u] : users_) records.emplace(RecordKey('u', id), ToJson(u));
  for (const auto& [id, r] : roles_) records.emplace(RecordKey('r', id), ToJson(r));
  for (const auto& [id, g] : groups_) {
    records.emplace(RecordKey('g', id), GroupRecord(g));
    for (const Subject& m : g.members) records.emplace(MemberKey(id, m), "{}");
  }
  for (const auto& [id, b] : bindings_) records.emplace(RecordKey('b', id), ToJson(b));
  for (const auto& [id, c] : clients_) records.emplace(RecordKey('c', id), ToJson(c));
  for (const auto& [id, i] : invitations_) records.emplace(RecordKey('i', id), ToJson(i));
  for (const auto& [id, n] : nodes_) records.emplace(RecordKey('n', id), ToJson(n));
  for (const auto& [key, p] : properties_) records.emplace(RecordKey('p', key), ToJson(p));
  for (const auto& [jti, t] : revoked_tokens_) {
    records.emplace(RecordKey('x', jti), ToJson(RevokedToken{jti, t}));
  }
  for (const auto& [key, value] : records) fn(key, value);
}

Status TenantState::LoadRecord(std::string_view key, std::string_view value) {
  auto bad = [&](const Error& e) {
    return Corruption("state record " + tenant_id_ + "/" + std::string(key) + ": " + e.message);
  };
  auto load = [&](auto& entity) -> Status {
    Status s = FromJson(value, entity);
    return s.ok() ? s : Status(bad(s.error()));
  };
  if (key.empty()) return Corruption("empty state record key");
  switch (key[0]) {
    case 't': {
      CUSTOS_RETURN_IF_ERROR(load(tenant_));
      exists_ = true;
      return OkStatus();
    }
    case 'u': {
      User u;
      CUSTOS_RETURN_IF_ERROR(load(u));
      if (u.status != UserStatus::kDeleted) email_index_[Lower(u.profile.email)] = u.id;
      IndexDue(u);
      seats_used_ += TakesASeat(u);
      users_[u.id] = std::move(u);
      return OkStatus();
    }
    case 'r': {
      Role r;
      CUSTOS_RETURN_IF_ERROR(load(r));
      role_names_[NameKey(r.name)] = r.id;
      for (const std::string& inc : r.includes) included_by_[inc].insert(r.id);
      roles_[r.id] = std::move(r);
      return OkStatus();
    }
    case 'g': {
      Group g;
      CUSTOS_RETURN_IF_ERROR(load(g));
      IndexGroup(g);
      groups_[g.id] = std::move(g);
      return OkStatus();
    }
    case 'm': {
      std::string_view group_id;
      Subject member;
      Group* g = nullptr;
      if (ParseMemberKey(key, group_id, member)) g = FindIn(groups_, group_id);
      if (g == nullptr) {
        return Corruption("membership record " + tenant_id_ + "/" + std::string(key) +
                          " without its group");
      }
      g->members.insert(std::lower_bound(g->members.begin(), g->members.end(), member), member);
      member_of_[member.Key()].insert(g->id);
      return OkStatus();
    }
    case 'b': {
      Binding b;
      CUSTOS_RETURN_IF_ERROR(load(b));
      IndexBinding(b);
      bindings_[b.id] = std::move(b);
      return OkStatus();
    }
    case 'c': {
      ApiClient c;
      CUSTOS_RETURN_IF_ERROR(load(c));
      client_names_[NameKey(c.name)] = c.id;
      clients_[c.id] = std::move(c);
      return OkStatus();
    }
    case 'i': {
      Invitation i;
      CUSTOS_RETURN_IF_ERROR(load(i));
      IndexDue(i);
      invitations_[i.id] = std::move(i);
      return OkStatus();
    }
    case 'n': {
      Node n;
      CUSTOS_RETURN_IF_ERROR(load(n));
      IndexNode(n);
      nodes_[n.id] = std::move(n);
      return OkStatus();
    }
    case 'p': {
      PropertyDefinition p;
      CUSTOS_RETURN_IF_ERROR(load(p));
      properties_[p.key] = std::move(p);
      return OkStatus();
    }
    case 'x': {
      RevokedToken t;
      CUSTOS_RETURN_IF_ERROR(load(t));
      revoked_tokens_[t.jti] = t.expires_at;
      return OkStatus();
    }
    default:
      return Corruption("unknown state record " + tenant_id_ + "/" + std::string(key));
  }
}

std::string StateDigest(const TenantState& state) {
  Sha256 hasher;
  state.ForEachRecord([&](const std::string& key, const std::string& value) {
    hasher.Update(key);
    hasher.Update("\n");
    hasher.Update(value);
    hasher.Update("\n");
  });
  return DigestHex(hasher.Finish());
}

}  // namespace custos::core::iam
