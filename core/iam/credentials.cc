#include "core/iam/credentials.h"

namespace custos::core::iam {
namespace {

std::string Join(std::initializer_list<std::string_view> parts) {
  std::string out;
  bool first = true;
  for (std::string_view p : parts) {
    if (!first) out.push_back('\0');
    out.append(p);
    first = false;
  }
  return out;
}

}  // namespace

std::string PasswordKey(std::string_view tenant, std::string_view user_id) {
  return Join({tenant, "pw", user_id});
}

std::string MfaKey(std::string_view tenant, std::string_view user_id) {
  return Join({tenant, "mfa", user_id});
}

std::string SsoSecretKey(std::string_view tenant) { return Join({tenant, "sso", "oidc"}); }

std::string ClientSecretKey(std::string_view tenant, std::string_view client_id,
                            std::string_view key_id) {
  return Join({tenant, "cs", client_id, key_id});
}

std::string ClientSecretPrefix(std::string_view tenant, std::string_view client_id) {
  return Join({tenant, "cs", client_id, ""});
}

std::string InvitationHashKey(std::string_view tenant, std::string_view invitation_id) {
  return Join({tenant, "inv", invitation_id});
}

std::string InvitationTokenKey(std::string_view token_hash) { return Join({"tok", token_hash}); }

std::string InvitationTokenValue(std::string_view tenant, std::string_view invitation_id) {
  return Join({tenant, invitation_id});
}

}  // namespace custos::core::iam
