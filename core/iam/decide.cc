#include "core/iam/decide.h"

#include <algorithm>

#include "core/event_id.h"
#include "core/fields.h"
#include "core/hex.h"
#include "core/iam/credentials.h"
#include "core/iam/internal/decider.h"
#include "core/iam/mfa.h"
#include "core/iam/names.h"
#include "core/sha256.h"

namespace custos::core::iam {

namespace et = event_type;
using internal::ChangeSet;
using internal::Decider;
using internal::LimitName;
using internal::LimitText;
using internal::RequireName;
using internal::RequireText;

std::string NewId(std::string_view prefix, CommandContext& ctx) {
  unsigned char bytes[16];
  ctx.random->Fill(bytes, sizeof bytes);
  const auto ms = static_cast<uint64_t>(ToUnixMillis(ctx.now));
  for (int i = 0; i < 6; ++i) bytes[i] = static_cast<unsigned char>(ms >> (40 - 8 * i));
  bytes[6] = static_cast<unsigned char>(0x70 | (bytes[6] & 0x0f));
  bytes[8] = static_cast<unsigned char>(0x80 | (bytes[8] & 0x3f));
  std::string id(prefix);
  AppendHex(id, bytes, sizeof bytes);
  return id;
}

Target UserTarget(const User& user) { return Target{"user", user.id, user.DisplayName()}; }

std::string_view ToString(CredentialDelivery delivery) {
  switch (delivery) {
    case CredentialDelivery::kResponse:
      return "response";
    case CredentialDelivery::kNotification:
      return "notification";
    case CredentialDelivery::kNone:
      break;
  }
  return "none";
}

bool IsValidEmail(std::string_view email) {
  if (email.size() < 3 || email.size() > 254) return false;
  const size_t at = email.find('@');
  if (at == std::string_view::npos || at == 0 || at > 64 ||
      email.find('@', at + 1) != std::string_view::npos) {
    return false;
  }
  const std::string_view domain = email.substr(at + 1);
  const size_t dot = domain.rfind('.');
  if (domain.empty() || dot == std::string_view::npos || dot == 0 || dot + 1 >= domain.size() ||
      domain.find("..") != std::string_view::npos) {
    return false;
  }
  for (char c : email) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f || c == '<' || c == '>' || c == '"' ||
        c == ',' || c == ';' || c == '\\' || c == '(' || c == ')' || c == '[' || c == ']') {
      return false;
    }
  }
  return true;
}

Result<Decision> Decide(const TenantState& state, const Command& command, CommandContext& ctx) {
  if (ctx.random == nullptr) return Internal("Decide needs a source of randomness");
  if (!state.exists() && !std::holds_alternative<CreateTenant>(command)) {
    return NotFound("no tenant " + state.tenant_id());
  }
  Decider decider(state, ctx);
  return std::visit(decider, command);
}

namespace internal {

Status RequireText(const std::string& value, const std::string& field, size_t max_length) {
  if (value.empty()) return InvalidField(field, "is required");
  return LimitText(value, field, max_length);
}

Status RequireName(const std::string& value, const std::string& field, size_t max_length) {
  CUSTOS_RETURN_IF_ERROR(RequireText(value, field, max_length));
  if (std::optional<std::string> problem = NameProblem(value)) return InvalidField(field, *problem);
  return OkStatus();
}

Status LimitName(const std::string& value, const std::string& field, size_t max_length) {
  CUSTOS_RETURN_IF_ERROR(LimitText(value, field, max_length));
  if (value.empty()) return OkStatus();
  if (std::optional<std::string> problem = NameProblem(value)) return InvalidField(field, *problem);
  return OkStatus();
}

Status LimitText(const std::string& value, const std::string& field, size_t max_length) {
  if (value.size() > max_length) {
    return InvalidField(field, "must be at most " + std::to_string(max_length) + " bytes");
  }
  if (!IsValidUtf8(value)) return InvalidField(field, "must be valid UTF-8");
  return OkStatus();
}

Status Decider::CheckIfMatch(int64_t version) const {
  if (ctx_.if_match && *ctx_.if_match != version) {
    return Error{Errc::kPreconditionFailed,
                 "If-Match " + std::to_string(*ctx_.if_match) + " does not match version " +
                     std::to_string(version),
                 {}};
  }
  return OkStatus();
}

std::string Decider::SubjectName(const Subject& subject) const { return s_.NameOf(subject); }

Status Decider::CheckGrants(const std::vector<Grant>& grants, const std::string& field) {
  // Every unknown role or scope is named (422) before any grant is weighed (403).
  FieldChecks checks;
  for (size_t i = 0; i < grants.size(); ++i) {
    const std::string at = field + "[" + std::to_string(i) + "]";
    const Role* role = s_.FindRole(grants[i].role_id);
    if (role == nullptr) checks.Add(InvalidField(at + ".role_id", "no role " + grants[i].role_id));
    if (s_.FindNode(grants[i].scope) == nullptr) {
      checks.Add(InvalidField(at + ".scope", "no node " + grants[i].scope));
    } else if (role != nullptr) {
      checks.Add(auth_.CheckBind(*role, grants[i].scope, at + ".role_id"));
    }
  }
  return std::move(checks).Take();
}

Status Decider::RequireGrantRights(bool bindings, bool groups) const {
  if (bindings) {
    CUSTOS_RETURN_IF_ERROR(auth_.Require("administer", AccessTarget::ForIam("iam.binding")));
  }
  if (groups) CUSTOS_RETURN_IF_ERROR(auth_.Require("update", AccessTarget::ForIam("iam.group")));
  return OkStatus();
}

Status Decider::CheckNewMember(const std::vector<std::string>& group_ids, const Subject& member,
                               const std::vector<Subject>& known_by,
                               const std::string& field) const {
  for (size_t i = 0; i < group_ids.size(); ++i) {
    const std::string at = field + "[" + std::to_string(i) + "]";
    const Group* g = s_.FindGroup(group_ids[i]);
    if (g == nullptr) return InvalidField(at, "no group " + group_ids[i]);
    CUSTOS_RETURN_IF_ERROR(auth_.CheckAddMember(*g, member, known_by, at));
  }
  return OkStatus();
}

bool Decider::CanNotify(bool addressed) const {
  return ctx_.notifications || (addressed && ctx_.mail);
}

Result<CredentialDelivery> Decider::DeliveryFor(bool outranks, std::string_view what,
                                                bool addressed) const {
  if (outranks || !GuardOn(Guard::kCredentialRank)) return CredentialDelivery::kResponse;
  if (CanNotify(addressed)) return CredentialDelivery::kNotification;
  return Error{Errc::kConflict,
               "the caller does not outrank the " + std::string(what) +
                   ", so its credential may only go out by notification, and no notification "
                   "channel " +
                   (addressed ? std::string("is configured (start the server with --kafka or "
                                            "--smtp)")
                              : std::string("that takes it is configured (it has no mail "
                                            "address: start the server with --kafka)")),
               {}};
}

std::vector<Subject> Decider::KnownTo(CredentialDelivery delivery) const {
  if (delivery != CredentialDelivery::kResponse || IsRoot() || !GuardOn(Guard::kKnownCredential)) {
    return {};
  }
  return {*ctx_.caller};
}

Status Decider::CheckGroupIds(const std::vector<std::string>& ids, const std::string& field) const {
  for (size_t i = 0; i < ids.size(); ++i) {
    if (s_.FindGroup(ids[i]) == nullptr) {
      return InvalidField(field + "[" + std::to_string(i) + "]", "no group " + ids[i]);
    }
  }
  return OkStatus();
}

Status Decider::CheckProperties(const std::map<std::string, JsonValue>& properties,
                                const std::string& field) const {
  for (const auto& [key, value] : properties) {
    const std::string at = field + "." + key;
    const PropertyDefinition* def = s_.FindProperty(key);
    if (def == nullptr) return InvalidField(at, "is not a defined property");
    if (value.is_null()) continue;  // removal, in a patch
    const bool ok = (def->type == PropertyType::kString && value.is_string()) ||
                    (def->type == PropertyType::kNumber && value.is_number()) ||
                    (def->type == PropertyType::kBoolean && value.is_bool());
    if (!ok) return InvalidField(at, "must be a " + std::string(ToString(def->type)));
    if (value.is_string()) CUSTOS_RETURN_IF_ERROR(LimitText(value.text(), at, 4096));
  }
  return OkStatus();
}

Status Decider::CheckGroupNameFree(const std::string& name, std::string_view except_id,
                                   const std::string& field) {
  const std::string lower = NameKey(name);
  const Group* existing = s_.FindGroupByName(name);
  if ((existing != nullptr && existing->id != except_id) || new_group_names_.count(lower) != 0) {
    return Error{Errc::kConflict,
                 "a group named '" + name + "' already exists",
                 {FieldError{field, "is already used by a group"}}};
  }
  return OkStatus();
}

void Decider::EmitBinding(const Subject& subject, const std::string& role_id,
                          const std::string& scope, bool system) {
  BindingData b{NewId("bnd_", ctx_), subject, role_id, scope, system};
  std::string role_name;
  if (const Role* r = s_.FindRole(role_id)) role_name = r->name;
  Emit(et::kBindingCreated, b, Target{"binding", b.binding_id, role_name});
  if (d_.id.empty()) d_.id = b.binding_id;
}

void Decider::EmitBindingDeleted(const Binding& b) {
  std::string role_name;
  if (const Role* r = s_.FindRole(b.role_id)) role_name = r->name;
  Emit(et::kBindingDeleted, BindingData{b.id, b.subject, b.role_id, b.scope, b.system},
       Target{"binding", b.id, role_name});
}

Status Decider::EmitSystemGroups(const std::string& node_id, const std::string& name) {
  struct Level4 {
    const char* suffix;
    const char* role;
  };
  static constexpr Level4 kLevels[] = {{"User", "Viewer"},
                                       {"Operator", "Operator"},
                                       {"Designer", "Designer"},
                                       {"Manager", "Manager"}};
  std::vector<std::pair<std::string, std::string>> groups;  // name → role id
  for (const Level4& l : kLevels) {
    std::string role_id;
    if (auto it = new_builtins_.find(l.role); it != new_builtins_.end()) {
      role_id = it->second;
    } else if (const Role* r = s_.FindRoleByName(l.role); r != nullptr && r->built_in) {
      role_id = r->id;
    } else {
      return Internal(std::string("the built-in role ") + l.role + " is missing");
    }
    groups.emplace_back(name + " " + l.suffix, role_id);
  }
  if (node_id == kRootNode) {
    auto it = new_builtins_.find("Tenant Admin");
    const Role* r = s_.FindRoleByName("Tenant Admin");
    groups.emplace_back("Tenant Admin",
                        it != new_builtins_.end() ? it->second : (r != nullptr ? r->id : ""));
  }
  for (const auto& [group_name, role_id] : groups) {
    CUSTOS_RETURN_IF_ERROR(CheckGroupNameFree(group_name, "", "name"));
  }
  for (const auto& [group_name, role_id] : groups) {
    GroupData g{NewId("grp_", ctx_), group_name, "", GroupType::kSystem, node_id};
    new_group_names_.insert(NameKey(group_name));
    Emit(et::kGroupCreated, g, Target{"group", g.group_id, group_name});
    BindingData b{NewId("bnd_", ctx_), Subject{SubjectType::kGroup, g.group_id}, role_id, node_id,
                  true};
    Emit(et::kBindingCreated, b, Target{"binding", b.binding_id, group_name});
  }
  return OkStatus();
}

void Decider::EmitSubjectRemoval(const Subject& subject) {
  for (const std::string& id : s_.BindingsOf(subject)) {
    if (const Binding* b = s_.FindBinding(id)) EmitBindingDeleted(*b);
  }
  for (const std::string& group_id : s_.GroupsOf(subject)) {
    if (const Group* g = s_.FindGroup(group_id)) {
      Emit(et::kGroupMemberRemoved, GroupMemberData{g->id, subject}, GroupTarget(*g));
    }
  }
}

void Decider::EmitGroupDeletion(const Group& g) {
  for (const std::string& id : s_.BindingsOf(Subject{SubjectType::kGroup, g.id})) {
    if (const Binding* b = s_.FindBinding(id)) EmitBindingDeleted(*b);
  }
  Emit(et::kGroupDeleted, GroupRefData{g.id, g.name}, GroupTarget(g));
}

std::string Decider::IssueTemporaryPassword(const std::string& user_id, const std::string& email,
                                            const std::string& name, Time expires_at) {
  std::string password = RandomToken(*ctx_.random, 24);  // 32 base64url characters
  d_.credentials.Put(
      Space::kCredentials, PasswordKey(s_.tenant_id(), user_id),
      ToJson(PasswordCredential{std::string(kTemporaryPassword), Sha256Hex(password), ctx_.now}));
  d_.notifications.push_back(Notification{std::string(kTemporaryPasswordNotice), s_.tenant_id(),
                                          email, name, user_id, password, expires_at, ""});
  return password;
}

void Decider::NotifyMembership(const Group& g, const Subject& member, std::string_view change) {
  if (member.type != SubjectType::kUser) return;
  const User* u = s_.FindUser(member.id);
  if (u == nullptr || u->status == UserStatus::kDeleted || u->status == UserStatus::kDeactivated) {
    return;
  }
  Notification n;
  n.type = kMembershipChanged;
  n.tenant = s_.tenant_id();
  n.email = u->profile.email;
  n.name = u->DisplayName();
  n.subject_id = u->id;
  n.group_id = g.id;
  n.group_name = g.name;
  n.change = change;
  d_.notifications.push_back(std::move(n));
}

void Decider::IssueClientSecret(const std::string& client_id, const std::string& name,
                                const std::string& key_id, CredentialDelivery delivery) {
  std::string secret = RandomToken(*ctx_.random, 32);
  d_.credentials.Put(Space::kCredentials, ClientSecretKey(s_.tenant_id(), client_id, key_id),
                     Sha256Hex(secret));
  d_.id = client_id;
  d_.key_id = key_id;
  d_.credential_delivery = delivery;
  if (delivery == CredentialDelivery::kResponse) {
    d_.secret = std::move(secret);
  } else {
    d_.notifications.push_back(Notification{std::string(kClientSecret), s_.tenant_id(), "", name,
                                            client_id, std::move(secret), ctx_.now, key_id});
  }
}

// ---- tenants ----

namespace {

Status CheckRetention(Plan plan, std::optional<int> days) {
  if (!days) return OkStatus();
  if (plan == Plan::kEnterprise) {
    if (*days < 365 || *days > 3650) {
      return InvalidField("retention_days", "must be from 365 to 3650 on the enterprise plan");
    }
  } else if (*days != DefaultRetentionDays(plan)) {
    return InvalidField("retention_days", "is " + std::to_string(DefaultRetentionDays(plan)) +
                                              " on the " + std::string(ToString(plan)) + " plan");
  }
  return OkStatus();
}

Status CheckRange(const std::optional<int>& v, const char* field, int min, int max) {
  if (v && (*v < min || *v > max)) {
    return InvalidField(std::string("settings.") + field,
                        "must be from " + std::to_string(min) + " to " + std::to_string(max));
  }
  return OkStatus();
}

}  // namespace

Result<Decision> Decider::operator()(const CreateTenant& c) {
  if (!IsRoot()) return Error{Errc::kPermissionDenied, "only the root client creates tenants", {}};
  if (s_.exists()) return Conflict("tenant " + c.id + " already exists");
  if (c.id != s_.tenant_id()) return Internal("command for another tenant's state");
  FieldChecks checks;
  if (Result<TenantId> id = ParseTenantId(c.id); !id.ok()) checks.Add(std::move(id).error());
  if (c.id == kSystemChain) checks.Add(InvalidField("id", "is reserved for the node's own events"));
  checks.Add(RequireName(c.name, "name", 200));
  checks.Add(CheckRetention(c.plan, c.retention_days));
  std::set<std::string> env_names;
  for (size_t i = 0; i < c.environments.size(); ++i) {
    const std::string field = "environments[" + std::to_string(i) + "]";
    if (Status named = RequireName(c.environments[i], field, 100); !named.ok()) {
      checks.Add(std::move(named));
    } else if (!env_names.insert(NameKey(c.environments[i])).second) {
      checks.Add(InvalidField(field, "is listed twice"));
    } else if (NameKey(c.environments[i]) == "tenant") {
      checks.Add(InvalidField(field, "'Tenant' is reserved for the tenant's own groups"));
    }
  }
  CUSTOS_RETURN_IF_ERROR(std::move(checks).Take());
  TenantCreatedData t{c.id, c.name, c.plan, c.retention_days.value_or(DefaultRetentionDays(c.plan)),
                      TenantSettings{}};
  Emit(et::kTenantCreated, t, Target{"tenant", c.id, c.name});
  struct BuiltIn {
    const char* name;
    const char* type;
    Level level;
    const char* description;
  };
  static constexpr BuiltIn kBuiltIns[] = {
      {"Viewer", "*", Level::kView, "Read-only access to resources"},
      {"Operator", "*", Level::kOperate, "View and run (execute, review)"},
      {"Designer", "*", Level::kEdit, "Create and change resources"},
      {"Manager", "*", Level::kManage, "Full access, delete included"},
      {"Tenant Admin", "iam.*", Level::kAdmin,
       "Administers users, groups, roles, clients and settings; no access to resources"},
  };
  for (const BuiltIn& b : kBuiltIns) {
    RoleData r{NewId("rol_", ctx_),
               b.name,
               b.description,
               {Permission{"*", b.type, "*", b.level}},
               {},
               true};
    new_builtins_[b.name] = r.role_id;
    Emit(et::kRoleCreated, r, Target{"role", r.role_id, r.name});
  }
  CUSTOS_RETURN_IF_ERROR(EmitSystemGroups(std::string(kRootNode), "Tenant"));
  for (const std::string& env : c.environments) {
    NodeData n{NewId("env_", ctx_), "environment", env, std::string(kRootNode), "", true};
    Emit(NodeEventType("environment", "created"), n, Target{"environment", n.node_id, env});
    CUSTOS_RETURN_IF_ERROR(EmitSystemGroups(n.node_id, env));
  }
  d_.id = c.id;
  return Done();
}

Result<Decision> Decider::operator()(const UpdateTenant& c) {
  const Tenant& t = s_.tenant();
  CUSTOS_RETURN_IF_ERROR(CheckIfMatch(t.version));
  if ((c.plan || c.retention_days || c.seat_limit) && !IsRoot()) {
    return Error{Errc::kPermissionDenied,
                 "only the root client changes plans, retention and seat limits",
                 {}};
  }
  const Target target{"tenant", t.id, t.name};
  if (c.plan || c.retention_days || c.seat_limit) {
    const Plan plan = c.plan.value_or(t.plan);
    std::optional<int> days = c.retention_days;
    if (!days && plan != t.plan) days = DefaultRetentionDays(plan);
    if (!days) days = t.retention_days;
    CUSTOS_RETURN_IF_ERROR(CheckRetention(plan, days));
    std::optional<int64_t> seats = t.seat_limit;
    if (c.seat_limit) {
      if (*c.seat_limit < 0 || *c.seat_limit > 10'000'000) {
        return InvalidField("seat_limit", "must be from 0 (no limit) to 10000000");
      }
      seats = *c.seat_limit == 0 ? std::nullopt : c.seat_limit;
    }
    if (plan != t.plan || *days != t.retention_days || seats != t.seat_limit) {
      ChangeSet changes;
      changes.Add("plan", t.plan, plan);
      changes.Add("retention_days", t.retention_days, *days);
      changes.Add("seat_limit", t.seat_limit.value_or(0), seats.value_or(0));
      Emit(et::kTenantPlanChanged, TenantPlanChangedData{plan, *days, seats}, target,
           changes.Take());
    }
  }
  if (c.name || c.settings) {
    TenantUpdatedData u{c.name.value_or(t.name), t.settings};
    if (c.name) CUSTOS_RETURN_IF_ERROR(RequireName(*c.name, "name", 200));
    if (c.settings) {
      const TenantSettingsPatch& p = *c.settings;
      CUSTOS_RETURN_IF_ERROR(CheckRange(p.lockout_threshold, "lockout_threshold", 1, 100));
      CUSTOS_RETURN_IF_ERROR(CheckRange(p.lockout_minutes, "lockout_minutes", 0, 10080));
      CUSTOS_RETURN_IF_ERROR(CheckRange(p.password_min_length, "password_min_length", 8, 256));
      CUSTOS_RETURN_IF_ERROR(
          CheckRange(p.temp_password_ttl_hours, "temp_password_ttl_hours", 1, 8760));
      CUSTOS_RETURN_IF_ERROR(CheckRange(p.invite_ttl_days, "invite_ttl_days", 1, 365));
      CUSTOS_RETURN_IF_ERROR(CheckRange(p.token_ttl_seconds, "token_ttl_seconds", 60, 86400));
      if (p.mfa_required && !IsMfaRequirement(*p.mfa_required)) {
        return InvalidField("settings.mfa_required", "must be none, admins or all");
      }
      TenantSettings& s = u.settings;
      if (p.mfa_required) {
        // "none" is the default: kept as absent, as before the setting existed.
        s.mfa_required = *p.mfa_required == "none" ? std::nullopt : p.mfa_required;
      }
      s.lockout_threshold = p.lockout_threshold.value_or(s.lockout_threshold);
      s.lockout_minutes = p.lockout_minutes.value_or(s.lockout_minutes);
      s.password_min_length = p.password_min_length.value_or(s.password_min_length);
      s.temp_password_ttl_hours = p.temp_password_ttl_hours.value_or(s.temp_password_ttl_hours);
      s.invite_ttl_days = p.invite_ttl_days.value_or(s.invite_ttl_days);
      s.token_ttl_seconds = p.token_ttl_seconds.value_or(s.token_ttl_seconds);
    }
    ChangeSet changes;
    changes.Add("name", t.name, u.name);
    changes.Add("settings", t.settings, u.settings);
    if (!changes.empty()) Emit(et::kTenantUpdated, u, target, changes.Take());
  }
  d_.id = t.id;
  return Done();
}

Result<Decision> Decider::operator()(const SetLegalHold& c) {
  if (!IsRoot()) return Error{Errc::kPermissionDenied, "only the root client sets legal holds", {}};
  const Tenant& t = s_.tenant();
  CUSTOS_RETURN_IF_ERROR(CheckIfMatch(t.version));
  if (c.enabled) CUSTOS_RETURN_IF_ERROR(RequireText(c.reason, "reason", 1000));
  if (c.enabled != t.legal_hold || c.reason != t.legal_hold_reason) {
    ChangeSet changes;
    changes.Add("legal_hold", t.legal_hold, c.enabled);
    Emit(et::kTenantLegalHoldChanged, TenantLegalHoldData{c.enabled, c.reason},
         Target{"tenant", t.id, t.name}, changes.Take());
  }
  d_.id = t.id;
  return Done();
}

// ---- the resource tree ----

namespace {

bool IsValidResourceType(std::string_view type) {
  if (type.empty() || type.size() > 64 || type.starts_with("iam.") || type == "tenant" ||
      type == "environment" || type == "project" || type == "folder" || type == "*") {
    return false;
  }
  if (type[0] < 'a' || type[0] > 'z') return false;
  for (char ch : type) {
    if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' ||
          ch == '.')) {
      return false;
    }
  }
  return true;
}

}  // namespace

Result<Decision> Decider::operator()(const CreateNode& c) {
  FieldChecks checks;
  if (Status named = RequireName(c.name, "name", 200); !named.ok()) {
    checks.Add(std::move(named));
  } else if (c.kind == "environment" && NameKey(c.name) == "tenant") {
    checks.Add(InvalidField("name", "'Tenant' is reserved"));
  }
  checks.Add(LimitText(c.app, "app", 64));
  const Node* parent = c.kind == "environment" ? s_.FindNode(kRootNode) : s_.FindNode(c.parent_id);
  if (c.kind == "project") {
    if (parent == nullptr || parent->type != "environment") {
      checks.Add(InvalidField("environment_id", "no environment " + c.parent_id));
    }
  } else if (c.kind == "folder" || c.kind == "resource") {
    if (parent == nullptr || (parent->type != "project" && parent->type != "folder")) {
      checks.Add(InvalidField("parent_id", "no project or folder " + c.parent_id));
    }
    if (c.kind == "resource" && !IsValidResourceType(c.type)) {
      checks.Add(InvalidField("type",
                              "must be a lowercase type name (workflow, connection, …), not "
                              "environment, project, folder or an iam.* type"));
    }
  } else if (c.kind != "environment") {
    checks.Add(InvalidField("kind", "must be environment, project, folder or resource"));
  }
  CUSTOS_RETURN_IF_ERROR(std::move(checks).Take());
  if (c.kind == "project" && s_.FindProjectByName(c.name) != nullptr) {
    return Error{Errc::kConflict,
                 "a project named '" + c.name + "' already exists",
                 {FieldError{"name", "is already used by a project"}}};
  }
  NodeData n;
  n.name = c.name;
  n.app = c.app;
  n.inherit = c.inherit;
  n.parent_id = parent->id;
  n.type = c.kind == "resource" ? c.type : c.kind;
  n.node_id = NewId(c.kind == "environment" ? "env_"
                    : c.kind == "project"   ? "prj_"
                    : c.kind == "folder"    ? "fld_"
                                            : "res_",
                    ctx_);
  // Creating needs create (edit) on the new node's type at its parent.
  CUSTOS_RETURN_IF_ERROR(
      auth_.Require("create", AccessTarget::ForChild(*s_.FindNode(n.parent_id), n.type, n.app)));
  Emit(NodeEventType(c.kind, "created"), n, Target{n.type, n.node_id, n.name});
  if (c.kind == "environment" || c.kind == "project") {
    CUSTOS_RETURN_IF_ERROR(EmitSystemGroups(n.node_id, n.name));
  }
  d_.id = n.node_id;
  return Done();
}

Result<Decision> Decider::operator()(const UpdateNode& c) {
  const Node* n = s_.FindNode(c.node_id);
  if (n == nullptr || n->id == kRootNode) return NotFound("no node " + c.node_id);
  CUSTOS_RETURN_IF_ERROR(CheckIfMatch(n->version));
  NodeData u{n->id,
             n->type,
             c.name.value_or(n->name),
             c.parent_id.value_or(n->parent_id),
             c.app.value_or(n->app),
             c.inherit.value_or(n->inherit)};
  const std::string kind(NodeKind(n->id));
  const Node* parent = s_.FindNode(n->parent_id);
  if (parent == nullptr) return Internal("node " + n->id + " has no parent");
  FieldChecks checks;
  checks.Add(RequireName(u.name, "name", 200));
  checks.Add(LimitText(u.app, "app", 64));
  const Node* new_parent = parent;
  if (u.parent_id != n->parent_id) {
    new_parent = s_.FindNode(u.parent_id);
    const bool fits =
        new_parent != nullptr &&
        (kind == "project" ? new_parent->type == "environment"
                           : kind != "environment" &&
                                 (new_parent->type == "project" || new_parent->type == "folder"));
    if (!fits) {
      checks.Add(InvalidField("parent_id", kind == "environment"
                                               ? "an environment stays under the tenant"
                                           : kind == "project" ? "must be an environment"
                                                               : "must be a project or a folder"));
    }
    for (const Node* up = fits ? new_parent : nullptr; up != nullptr && up->id != kRootNode;
         up = s_.FindNode(up->parent_id)) {
      if (up->id == n->id) {
        checks.Add(InvalidField("parent_id", "would put the node inside itself"));
        break;
      }
    }
  }
  CUSTOS_RETURN_IF_ERROR(std::move(checks).Take());
  // Updating needs update (edit) on its type at its parent, and to see the node itself (an
  // override hides it from the parent's holders: they may not touch what they cannot read);
  // setting or clearing inherit, changing app or moving needs update on the node itself too
  // (../shared/spec/ACCESS.md rule 6), and a move create at the new parent, as the node will be
  // there.
  CUSTOS_RETURN_IF_ERROR(auth_.Require("update", AccessTarget::ForChild(*parent, n->type, n->app)));
  if (GuardOn(Guard::kNodeItself)) {
    CUSTOS_RETURN_IF_ERROR(auth_.Require("read", AccessTarget::ForNode(*n)));
  }
  if ((u.inherit != n->inherit || u.app != n->app || u.parent_id != n->parent_id) &&
      GuardOn(Guard::kNodeItself)) {
    CUSTOS_RETURN_IF_ERROR(auth_.Require("update", AccessTarget::ForNode(*n)));
    CUSTOS_RETURN_IF_ERROR(auth_.Require(new_parent == parent ? "update" : "create",
                                         AccessTarget::ForChild(*new_parent, n->type, u.app)));
  }
  const bool renamed = u.name != n->name;
  if (renamed && n->type == "project") {
    const Node* other = s_.FindProjectByName(u.name);
    if (other != nullptr && other->id != n->id) {
      return Error{Errc::kConflict,
                   "a project named '" + u.name + "' already exists",
                   {FieldError{"name", "is already used by a project"}}};
    }
  }
  ChangeSet changes;
  changes.Add("parent_id", n->parent_id, u.parent_id);
  changes.Add("name", n->name, u.name);
  changes.Add("app", n->app, u.app);
  changes.Add("inherit", n->inherit, u.inherit);
  if (changes.empty()) {
    d_.id = n->id;
    return Done();
  }
  Emit(NodeEventType(kind, "updated"), u, Target{n->type, n->id, u.name}, changes.Take());
  // The system groups of an environment or project follow its name.
  if (renamed && (n->type == "environment" || n->type == "project")) {
    for (const std::string& gid : s_.GroupsScopedTo(n->id)) {
      const Group* g = s_.FindGroup(gid);
      if (g == nullptr || g->type != GroupType::kSystem || !g->name.starts_with(n->name + " ")) {
        continue;
      }
      const std::string new_name = u.name + g->name.substr(n->name.size());
      CUSTOS_RETURN_IF_ERROR(CheckGroupNameFree(new_name, g->id, "name"));
      new_group_names_.insert(NameKey(new_name));
      ChangeSet group_changes;
      group_changes.Add("name", g->name, new_name);
      Emit(et::kGroupUpdated, GroupData{g->id, new_name, g->description, g->type, g->scope},
           Target{"group", g->id, new_name}, group_changes.Take());
    }
  }
  d_.id = n->id;
  return Done();
}

Result<Decision> Decider::operator()(const DeleteNode& c) {
  const Node* n = s_.FindNode(c.node_id);
  if (n == nullptr || n->id == kRootNode) return NotFound("no node " + c.node_id);
  CUSTOS_RETURN_IF_ERROR(CheckIfMatch(n->version));
  // Deleting needs delete (manage) on its type at its parent and on the node itself (rule 6).
  const Node* parent = s_.FindNode(n->parent_id);
  if (parent == nullptr) return Internal("node " + n->id + " has no parent");
  CUSTOS_RETURN_IF_ERROR(auth_.Require("delete", AccessTarget::ForChild(*parent, n->type, n->app)));
  if (GuardOn(Guard::kNodeItself)) {
    CUSTOS_RETURN_IF_ERROR(auth_.Require("delete", AccessTarget::ForNode(*n)));
  }
  if (!s_.ChildrenOf(n->id).empty()) {
    return Conflict(std::string(NodeKind(n->id)) + " " + n->id + " is not empty");
  }
  for (const std::string& gid : s_.GroupsScopedTo(n->id)) {
    if (const Group* g = s_.FindGroup(gid)) EmitGroupDeletion(*g);
  }
  for (const std::string& bid : s_.BindingsAt(n->id)) {
    const Binding* b = s_.FindBinding(bid);
    if (b == nullptr) continue;
    // Bindings of the groups just deleted are gone already.
    if (b->subject.type == SubjectType::kGroup && s_.GroupsScopedTo(n->id).count(b->subject.id)) {
      continue;
    }
    EmitBindingDeleted(*b);
  }
  Emit(NodeEventType(NodeKind(n->id), "deleted"), NodeRefData{n->id, n->name},
       Target{n->type, n->id, n->name});
  d_.id = n->id;
  return Done();
}

}  // namespace internal
}  // namespace custos::core::iam
