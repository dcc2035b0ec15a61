// How entities look over HTTP (../shared/spec/API.md): one function per resource, writing JSON from
// the tenant's state. Private to api/.
#pragma once

#include <optional>
#include <string>

#include "core/iam/access.h"
#include "core/iam/state.h"
#include "core/json_writer.h"

namespace custos::api::internal {

// seats_used: the users that count against its seat_limit.
void WriteTenant(core::JsonWriter& w, const core::iam::Tenant& t, size_t seats_used);
// `detail`: with bindings and groups (GET by id) rather than counts only.
void WriteUser(core::JsonWriter& w, const core::iam::TenantState& s, const core::iam::User& u,
               bool detail);
void WriteRole(core::JsonWriter& w, const core::iam::TenantState& s, const core::iam::Role& r,
               bool detail);
void WriteGroup(core::JsonWriter& w, const core::iam::TenantState& s, const core::iam::Group& g,
                bool detail);
void WriteBinding(core::JsonWriter& w, const core::iam::Binding& b);
void WriteClient(core::JsonWriter& w, const core::iam::TenantState& s,
                 const core::iam::ApiClient& c);
void WriteInvitation(core::JsonWriter& w, const core::iam::Invitation& i);
void WriteNode(core::JsonWriter& w, const core::iam::Node& n);
void WriteProperty(core::JsonWriter& w, const core::iam::PropertyDefinition& p);
void WriteGrant(core::JsonWriter& w, const core::iam::TenantState& s,
                const core::iam::GrantDetail& g);

// The users holding a role directly or through a group (active or not).
[[nodiscard]] std::vector<std::string> RoleHolders(const core::iam::TenantState& s,
                                                   const std::string& role_id,
                                                   core::iam::SubjectType type);

// {"…": …} of one entity, for answers.
template <class F>
std::string Object(F&& fill) {
  core::JsonWriter w;
  fill(w);
  return w.Take();
}

}  // namespace custos::api::internal
