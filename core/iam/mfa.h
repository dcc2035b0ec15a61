// Who must use a second factor: the tenant setting `mfa_required` applied to a user.
//
// Thread-safety: pure functions of the state they are given.
#pragma once

#include <string_view>

#include "core/iam/state.h"
#include "core/time.h"

namespace custos::core::iam {

// "none", "admins" or "all".
[[nodiscard]] bool IsMfaRequirement(std::string_view value);
// The tenant's setting ("none" when unset).
[[nodiscard]] std::string_view MfaRequirement(const TenantState& state);

// Whether the setting covers `u`: "all" covers every user; "admins" covers users of kind
// admin and holders of admin on any iam.* type (at any scope, through any group).
[[nodiscard]] bool MfaRequiredFor(const TenantState& state, const User& u, Time now);

// A user the setting covers who has no second factor yet may, once signed in with its
// password, do only what enrols one (the login-only routes): like must_change_password.
[[nodiscard]] bool MustEnrollMfa(const TenantState& state, const User& u, Time now);

}  // namespace custos::core::iam
