#include "core/iam/sso.h"

#include <algorithm>

#include "core/iam/names.h"

namespace custos::core::iam {

std::string EmailDomain(std::string_view email) {
  const size_t at = email.rfind('@');
  if (at == std::string_view::npos) return "";
  return Lower(email.substr(at + 1));
}

bool DomainListed(const std::vector<std::string>& domains, std::string_view email) {
  const std::string domain = EmailDomain(email);
  return !domain.empty() && std::find(domains.begin(), domains.end(), domain) != domains.end();
}

bool SsoRequiredFor(const TenantState& state, std::string_view email, Time now) {
  const std::optional<OidcConfig>& oidc = state.tenant().oidc;
  if (!oidc || !DomainListed(oidc->required_domains, email)) return false;
  const Authority configurer(state, now, oidc->configured_by);
  if (!configurer.IsActive()) return false;
  const User* u = state.FindUserByEmail(email);
  return u == nullptr || u->status == UserStatus::kDeleted ||
         ConfigurerMaySignIn(*oidc, configurer, *u);
}

bool ConfigurerMaySignIn(const OidcConfig& oidc, const Authority& configurer, const User& user) {
  const Subject self{SubjectType::kUser, user.id};
  return configurer.IsActive() && (oidc.configured_by == self || configurer.Outranks(self));
}

bool IsDomainName(std::string_view domain) {
  if (domain.empty() || domain.size() > 253 || domain.find('.') == std::string_view::npos ||
      domain.front() == '.' || domain.back() == '.' ||
      domain.find("..") != std::string_view::npos) {
    return false;
  }
  return std::all_of(domain.begin(), domain.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
  });
}

std::optional<std::string> SsoUrlProblem(std::string_view url) {
  if (url.size() > 2048) return "is longer than 2048 bytes";
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return "has a space or a control byte";
  }
  std::string_view rest;
  bool https = false;
  if (url.starts_with("https://")) {
    https = true;
    rest = url.substr(8);
  } else if (url.starts_with("http://")) {
    rest = url.substr(7);
  } else {
    return "must be an https:// URL";
  }
  if (url.find('#') != std::string_view::npos) return "must not have a fragment";
  const std::string_view authority = rest.substr(0, rest.find_first_of("/?"));
  if (authority.find('@') != std::string_view::npos) return "must not carry a user or password";
  std::string_view host = authority;
  if (host.starts_with('[')) {
    host =
        host.substr(0, host.find(']') == std::string_view::npos ? host.size() : host.find(']') + 1);
  } else {
    host = host.substr(0, host.find(':'));
  }
  if (host.empty() || host == "[]") return "has no host";
  const bool loopback_v4 =
      host.starts_with("127.") && host.find_first_not_of("0123456789.") == std::string_view::npos;
  if (!https && host != "localhost" && host != "[::1]" && !loopback_v4) {
    return "must be https:// (http:// only on a loopback host)";
  }
  return std::nullopt;
}

}  // namespace custos::core::iam
