// Single sign-on rules shared by Decide and the API (docs/sso.md): which emails an identity
// provider may sign in, which must, and which addresses may serve as an issuer or as the end of
// a login.
//
// Thread-safety: free functions over values.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/iam/authority.h"
#include "core/iam/state.h"

namespace custos::core::iam {

// The lower-case domain of an email ("" without an '@').
[[nodiscard]] std::string EmailDomain(std::string_view email);
// Whether the email's domain is one of `domains` (lower case).
[[nodiscard]] bool DomainListed(const std::vector<std::string>& domains, std::string_view email);
// Rule 4 for single sign-on: the provider's configurer (`configurer`, an Authority of
// `oidc.configured_by`) holds every SSO login, so it may sign in an existing user only if it is
// active and outranks the user, or is it.
[[nodiscard]] bool ConfigurerMaySignIn(const OidcConfig& oidc, const Authority& configurer,
                                       const User& user);
// Whether the tenant requires single sign-on for this email: its password login is refused.
// Only where an SSO login could succeed: for a user its provider's configurer may sign in
// (outranks or is; ACCESS.md rule 4), so that a configurer below an admin's rank cannot lock
// the admin out by requiring SSO for its domain.
[[nodiscard]] bool SsoRequiredFor(const TenantState& state, std::string_view email, Time now);
// What is wrong with a URL an identity provider's configuration names (the issuer, a redirect
// URI): https, or http on a loopback host (a local tool, a test); a host; no user
// information and no fragment. nullopt when it is fine.
[[nodiscard]] std::optional<std::string> SsoUrlProblem(std::string_view url);
// A domain as allowed_domains takes it: lower-case letters, digits, '-' and '.', with a dot.
[[nodiscard]] bool IsDomainName(std::string_view domain);

}  // namespace custos::core::iam
