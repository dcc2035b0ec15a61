// TenantState::Apply: the event parsed into its type (identity_events.h) and visited by the
// Applier; here the tenant's and the nodes' events. Users, properties and logins are in
// apply_users.cc; roles, groups, bindings and clients in apply_grants.cc; invitations and
// tokens in apply_invitations.cc.
#include "core/iam/identity_events.h"
#include "core/iam/internal/applier.h"
#include "core/iam/internal/state_parts.h"
#include "core/iam/state.h"

namespace custos::core::iam {

using internal::Bump;
using internal::FindIn;
using internal::RecordKey;
using internal::Unknown;

Status TenantState::Apply(std::string_view type, std::string_view data_json, Time time) {
  if (!ChangesIdentityState(type)) return OkStatus();
  Result<JsonValue> data = ParseJson(data_json);
  if (!data.ok()) return Corruption(std::string(type) + ": " + data.error().message);
  return Apply(type, *data, time);
}

Status TenantState::Apply(std::string_view type, const JsonValue& data, Time time) {
  // audit.* and application events do not change identity state.
  if (!ChangesIdentityState(type)) return OkStatus();
  Result<IdentityEvent> event = ParseIdentityEvent(type, data);
  if (!event.ok()) return event.error();
  if (!exists_ && !std::holds_alternative<TenantCreated>(*event)) {
    return Corruption(std::string(type) + " before tenant.created");
  }
  // What a subject is granted may have changed: its cached grants are recomputed.
  if (type.starts_with("role.") || type.starts_with("binding.") ||
      std::holds_alternative<GroupMemberAdded>(*event) ||
      std::holds_alternative<GroupMemberRemoved>(*event) ||
      std::holds_alternative<GroupDeleted>(*event)) {
    ++generation_;
  }
  return std::visit(internal::Applier(*this, type, time), *event);
}

namespace internal {

Status Applier::operator()(const TenantCreated& e) {
  if (s_.exists_) return Corruption("second tenant.created for " + s_.tenant_id_);
  const TenantCreatedData& d = e.data;
  s_.tenant_ = Tenant{d.id,         d.name, d.plan, d.retention_days,
                      d.settings,   false,  "",     std::nullopt,
                      std::nullopt, time_,  time_,  1};
  s_.exists_ = true;
  s_.Touch("t");
  return OkStatus();
}

template <class Change>
Status Applier::ChangeTenant(Change&& change) {
  change(s_.tenant_);
  Bump(s_.tenant_, time_);
  s_.Touch("t");
  return OkStatus();
}

Status Applier::operator()(const TenantUpdated& e) {
  return ChangeTenant([&](Tenant& t) {
    t.name = e.data.name;
    t.settings = e.data.settings;
  });
}

Status Applier::operator()(const SsoConfigured& e) {
  return ChangeTenant([&](Tenant& t) { t.oidc = e.data.config; });
}

Status Applier::operator()(const SsoRemoved&) {
  return ChangeTenant([](Tenant& t) { t.oidc.reset(); });
}

Status Applier::operator()(const TenantPlanChanged& e) {
  return ChangeTenant([&](Tenant& t) {
    t.plan = e.data.plan;
    t.retention_days = e.data.retention_days;
    t.seat_limit = e.data.seat_limit;
  });
}

Status Applier::operator()(const TenantLegalHoldChanged& e) {
  return ChangeTenant([&](Tenant& t) {
    t.legal_hold = e.data.enabled;
    t.legal_hold_reason = e.data.reason;
  });
}

Status Applier::PutNode(const NodeData& d, bool created) {
  Node* n = FindIn(s_.nodes_, d.node_id);
  if (created) {
    if (n != nullptr) return Corruption(std::string(type_) + " twice for " + d.node_id);
    if (s_.FindNode(d.parent_id) == nullptr) return Unknown(type_, "parent", d.parent_id);
    Node node;
    node.id = d.node_id;
    node.type = d.type;
    node.parent_id = d.parent_id;
    node.created_at = time_;
    node.updated_at = time_;
    n = &s_.nodes_.emplace(node.id, std::move(node)).first->second;
  } else {
    if (n == nullptr) return Unknown(type_, "node", d.node_id);
    if (d.parent_id != n->parent_id && s_.FindNode(d.parent_id) == nullptr) {
      return Unknown(type_, "parent", d.parent_id);
    }
    s_.UnindexNode(*n);
    n->parent_id = d.parent_id;  // a move
    Bump(*n, time_);
  }
  n->name = d.name;
  n->app = d.app;
  n->inherit = d.inherit;
  s_.IndexNode(*n);
  s_.Touch(RecordKey('n', n->id));
  return OkStatus();
}

Status Applier::operator()(const NodeCreated& e) { return PutNode(e.data, true); }
Status Applier::operator()(const NodeUpdated& e) { return PutNode(e.data, false); }

Status Applier::operator()(const NodeDeleted& e) {
  Node* n = FindIn(s_.nodes_, e.data.node_id);
  if (n == nullptr) return Unknown(type_, "node", e.data.node_id);
  s_.UnindexNode(*n);
  s_.nodes_.erase(e.data.node_id);
  s_.Touch(RecordKey('n', e.data.node_id));
  return OkStatus();
}

}  // namespace internal
}  // namespace custos::core::iam
