#include "core/iam/mfa.h"

#include "core/iam/access.h"

namespace custos::core::iam {

bool IsMfaRequirement(std::string_view value) {
  return value == "none" || value == "admins" || value == "all";
}

std::string_view MfaRequirement(const TenantState& state) {
  const std::optional<std::string>& v = state.tenant().settings.mfa_required;
  return v ? std::string_view(*v) : std::string_view("none");
}

bool MfaRequiredFor(const TenantState& state, const User& u, Time now) {
  const std::string_view required = MfaRequirement(state);
  if (required == "all") return true;
  if (required != "admins") return false;
  if (u.profile.kind == UserKind::kAdmin) return true;
  const AccessEvaluator evaluator(state, now);
  for (const GrantDetail& g : evaluator.EffectiveGrants(Subject{SubjectType::kUser, u.id})) {
    if (g.permission.level == Level::kAdmin && g.permission.resource_type.starts_with("iam.")) {
      return true;
    }
  }
  return false;
}

bool MustEnrollMfa(const TenantState& state, const User& u, Time now) {
  return !u.mfa && MfaRequiredFor(state, u, now);
}

}  // namespace custos::core::iam
