// Single sign-on (OpenID Connect): the tenant's identity provider, and the logins through it.
//
// Whoever configures the provider decides who signs in as whom: the provider vouches for
// every address of the allowed domains. So the configurer is held to what ACCESS.md asks of a
// caller that holds a credential (rule 4): an SSO login takes over an existing user only when
// the configurer outranks it (or is it), and every SSO user counts as one whose credential the
// configurer knows — rule 2's delegation never reaches it from the configurer. A group mapping
// is a grant the configurer makes (rule 1): checked when it is configured, and again at every
// login as the configurer may give it then; a mapped membership is removed only where the
// configurer may act on the user (rule 5). Nothing done on the configurer's authority outlives
// its losing that authority.
#include <algorithm>
#include <set>

#include "core/iam/credentials.h"
#include "core/iam/internal/decider.h"
#include "core/iam/names.h"
#include "core/iam/sso.h"

namespace custos::core::iam::internal {

namespace et = event_type;

namespace {

constexpr size_t kMaxDomains = 100;
constexpr size_t kMaxRedirects = 20;
constexpr size_t kMaxMappings = 200;

// Lower-cased, checked, sorted and unique; every failure into `checks`.
std::vector<std::string> Domains(const std::vector<std::string>& in, const std::string& field,
                                 FieldChecks& checks) {
  if (in.size() > kMaxDomains) {
    checks.Add(InvalidField(field, "at most " + std::to_string(kMaxDomains) + " domains"));
    return {};
  }
  std::set<std::string> out;
  for (size_t i = 0; i < in.size(); ++i) {
    const std::string d = Lower(in[i]);
    if (!IsDomainName(d)) {
      checks.Add(InvalidField(field + "[" + std::to_string(i) + "]", "is not a domain name"));
    }
    out.insert(d);
  }
  return {out.begin(), out.end()};
}

// Replacing or removing a provider takes over its configurer's hold on every SSO login: the
// caller must be the configurer, or outrank it (rule 4); root's only root or admin kind.
Status CheckMayReplace(const TenantState& s, const Authority& auth) {
  const std::optional<OidcConfig>& oidc = s.tenant().oidc;
  if (!oidc || auth.IsRoot() || !GuardOn(Guard::kCredentialRank)) return OkStatus();
  if (!oidc->configured_by) {
    if (auth.IsAdminKind()) return OkStatus();
    return Error{Errc::kPermissionDenied,
                 "single sign-on was configured by root: only root or an admin-kind user changes "
                 "it",
                 {}};
  }
  if (auth.caller() == oidc->configured_by || auth.Outranks(*oidc->configured_by)) {
    return OkStatus();
  }
  return Error{Errc::kPermissionDenied,
               "single sign-on was configured by a principal you do not outrank; it holds "
               "every SSO login, so only it or one that outranks it changes it",
               {}};
}

}  // namespace

Result<Decision> Decider::operator()(const ConfigureOidc& c) {
  // Who signs in as whom is the tenant's most powerful setting: admin on iam.settings (the
  // route asks the same; Decide holds it for every path).
  CUSTOS_RETURN_IF_ERROR(auth_.Require("administer", AccessTarget::ForIam("iam.settings")));
  CUSTOS_RETURN_IF_ERROR(CheckMayReplace(s_, auth_));
  // A mapping adds and removes members, as the members route does.
  if (!c.group_mapping.empty()) {
    CUSTOS_RETURN_IF_ERROR(auth_.Require("update", AccessTarget::ForIam("iam.group")));
  }
  FieldChecks checks;
  if (std::optional<std::string> p = SsoUrlProblem(c.issuer))
    checks.Add(InvalidField("issuer", *p));
  if (c.client_id.empty() || c.client_id.size() > 256) {
    checks.Add(InvalidField("client_id", "must be 1 to 256 bytes"));
  }
  const std::optional<OidcConfig>& had = s_.tenant().oidc;
  if (!c.sealed_client_secret && !had) {
    checks.Add(InvalidField("client_secret", "is required when single sign-on is first set up"));
  } else if (!c.sealed_client_secret &&
             (had->issuer != c.issuer || had->client_id != c.client_id)) {
    // The stored secret is sent only where it was meant to go.
    checks.Add(InvalidField("client_secret", "is required when the issuer or client_id changes"));
  }
  OidcConfig config;
  config.issuer = c.issuer;
  config.client_id = c.client_id;
  config.allowed_domains = Domains(c.allowed_domains, "allowed_domains", checks);
  config.required_domains = Domains(c.required_domains, "required_domains", checks);
  // Linking by email trusts the identity provider for the domains it may sign in, and those
  // alone: never any address it asserts.
  if (c.allowed_domains.empty()) {
    checks.Add(InvalidField("allowed_domains", "name at least one domain the provider signs in"));
  }
  for (size_t i = 0; i < config.required_domains.size(); ++i) {
    if (!std::binary_search(config.allowed_domains.begin(), config.allowed_domains.end(),
                            config.required_domains[i])) {
      checks.Add(InvalidField("required_domains",
                              config.required_domains[i] + " must also be in allowed_domains"));
    }
  }
  if (c.group_claim.size() > 100) checks.Add(InvalidField("group_claim", "at most 100 bytes"));
  if (!c.group_mapping.empty() && c.group_claim.empty()) {
    checks.Add(InvalidField("group_claim", "is required with a group_mapping"));
  }
  if (c.redirect_uris.empty() || c.redirect_uris.size() > kMaxRedirects) {
    checks.Add(
        InvalidField("redirect_uris", "name 1 to " + std::to_string(kMaxRedirects) + " addresses"));
  }
  for (size_t i = 0; i < c.redirect_uris.size() && i < kMaxRedirects; ++i) {
    if (std::optional<std::string> p = SsoUrlProblem(c.redirect_uris[i])) {
      checks.Add(InvalidField("redirect_uris[" + std::to_string(i) + "]", *p));
    }
  }
  {
    std::set<std::string> unique(c.redirect_uris.begin(), c.redirect_uris.end());
    config.redirect_uris.assign(unique.begin(), unique.end());
  }
  if (c.group_mapping.size() > kMaxMappings) {
    checks.Add(
        InvalidField("group_mapping", "at most " + std::to_string(kMaxMappings) + " values"));
  }
  CUSTOS_RETURN_IF_ERROR(std::move(checks).Take());
  // Each mapped group as if the caller added a new user to it whose login it controls (rule 1
  // for every grant the group carries; rule 2 refuses such a user).
  const Subject newcomer{SubjectType::kUser, ""};
  const std::vector<Subject> controlled =
      ctx_.caller ? std::vector<Subject>{*ctx_.caller} : std::vector<Subject>{};
  for (const auto& [value, group_id] : c.group_mapping) {
    const std::string field = "group_mapping." + value;
    if (value.empty() || value.size() > 256) {
      return InvalidField("group_mapping", "a claim value must be 1 to 256 bytes");
    }
    const Group* g = s_.FindGroup(group_id);
    if (g == nullptr) return InvalidField(field, "no group " + group_id);
    if (GuardOn(Guard::kMemberGrant)) {
      CUSTOS_RETURN_IF_ERROR(auth_.CheckAddMember(*g, newcomer, controlled, field));
    }
  }
  config.group_claim = c.group_claim;
  config.group_mapping = c.group_mapping;
  config.configured_by = ctx_.caller;
  config.configured_at = ctx_.now;
  Emit(et::kTenantSsoConfigured,
       SsoConfiguredData{"oidc", config, c.sealed_client_secret.has_value()},
       Target{"tenant", s_.tenant_id(), s_.tenant().name});
  if (c.sealed_client_secret) {
    d_.credentials.Put(Space::kCredentials, SsoSecretKey(s_.tenant_id()),
                       ToJson(SsoCredential{*c.sealed_client_secret, ctx_.now}));
  }
  d_.id = s_.tenant_id();
  return Done();
}

Result<Decision> Decider::operator()(const RemoveOidc&) {
  CUSTOS_RETURN_IF_ERROR(auth_.Require("administer", AccessTarget::ForIam("iam.settings")));
  CUSTOS_RETURN_IF_ERROR(CheckMayReplace(s_, auth_));
  if (!s_.tenant().oidc) return NotFound("single sign-on is not configured");
  Emit(et::kTenantSsoRemoved, SsoRemovedData{"oidc"},
       Target{"tenant", s_.tenant_id(), s_.tenant().name});
  d_.credentials.Delete(Space::kCredentials, SsoSecretKey(s_.tenant_id()));
  d_.id = s_.tenant_id();
  return Done();
}

Result<Decision> Decider::operator()(const RecordSsoLogin& c) {
  if (!IsRoot()) {
    return Error{Errc::kPermissionDenied, "single sign-on logins are recorded by the server", {}};
  }
  SsoLoginData data;
  data.email = std::string(TruncateUtf8(c.email, 254));
  data.issuer = std::string(TruncateUtf8(c.issuer, 512));
  data.subject = std::string(TruncateUtf8(c.subject, 255));
  const User* u = s_.FindUserByEmail(c.email);
  if (u != nullptr && u->status == UserStatus::kDeleted) u = nullptr;
  if (u != nullptr) data.user_id = u->id;
  // No user yet (an unknown email): the event has no target; its data names the email.
  const std::optional<Target> target =
      u != nullptr ? std::optional<Target>(UserTarget(*u)) : std::nullopt;
  auto failed = [&](std::string_view reason) {
    data.reason = std::string(TruncateUtf8(reason, 64));
    Emit(et::kAuthSsoLoginFailed, data, target);
    return Done();
  };
  if (!c.succeeded) {
    data.count = c.count;
    data.since = c.since;
    return failed(c.reason);
  }
  const std::optional<OidcConfig>& oidc = s_.tenant().oidc;
  // Checked again under the tenant's lock: the configuration may have changed since the login
  // started.
  if (!oidc || oidc->issuer != c.issuer || oidc->client_id != c.client_id) {
    return failed("not_configured");
  }
  // A configurer no longer active holds nothing: no login through its provider.
  const Authority configurer(s_, ctx_.now, oidc->configured_by);
  if (!configurer.IsActive()) return failed("configurer_inactive");
  if (!IsValidEmail(c.email) || !DomainListed(oidc->allowed_domains, c.email)) {
    return failed("domain_not_allowed");
  }
  if (c.subject.empty() || c.subject.size() > 255) return failed("bad_subject");
  std::string user_id;
  std::vector<Subject> known_by;
  if (oidc->configured_by) known_by.push_back(*oidc->configured_by);
  std::set<std::string> member_of;
  if (u != nullptr) {
    if (EffectiveStatus(*u, ctx_.now) != UserStatus::kActive) {
      return failed("user_" + std::string(ToString(EffectiveStatus(*u, ctx_.now))));
    }
    // An address the provider gave to someone else (a recycled mailbox) does not inherit the
    // account its former holder linked.
    if (u->sso && u->sso->issuer == c.issuer && u->sso->subject != c.subject) {
      return failed("subject_mismatch");
    }
    // Rule 4: the provider's configurer holds every SSO login; it may hold this one only if
    // it outranks the user (or is it).
    if (GuardOn(Guard::kCredentialRank) && !ConfigurerMaySignIn(*oidc, configurer, *u)) {
      return failed("configurer_does_not_outrank");
    }
    user_id = u->id;
    known_by.insert(known_by.end(), u->credential_known_by.begin(), u->credential_known_by.end());
    member_of = s_.GroupsOf(Subject{SubjectType::kUser, u->id});
    data.linked = !(u->sso && u->sso->issuer == c.issuer);
    data.mfa_pending = u->mfa.has_value();
    // Effectively active: the lock ran out. With a second factor still to come, only its
    // success unlocks (as after a password), so a lock is never a fresh set of code guesses.
    if (u->status == UserStatus::kLocked && !u->mfa) {
      Emit(et::kUserUnlocked, UserRefData{u->id, "lock expired"}, UserTarget(*u));
    }
  } else {
    if (Status seat = TakeSeat(); !seat.ok()) return failed("seat_limit");
    user_id = NewId("usr_", ctx_);
    UserProfile profile;
    profile.email = c.email;
    profile.first_name = std::string(TruncateUtf8(c.given_name, 200));
    profile.last_name = std::string(TruncateUtf8(c.family_name, 200));
    if (NameProblem(profile.first_name)) profile.first_name.clear();
    if (NameProblem(profile.last_name)) profile.last_name.clear();
    Emit(et::kUserProvisioned, UserProvisionedData{user_id, profile, c.issuer, c.subject},
         Target{"user", user_id, data.email});
    data.provisioned = true;
  }
  data.user_id = user_id;
  const Subject subject{SubjectType::kUser, user_id};
  // The mapping, as its configurer would give it now: the claim's groups added, the mapped
  // groups the claim no longer names removed; groups not in the mapping are left alone.
  std::set<std::string> wanted;
  std::set<std::string> mapped;
  for (const auto& [value, group_id] : oidc->group_mapping) {
    mapped.insert(group_id);
    if (std::find(c.groups.begin(), c.groups.end(), value) != c.groups.end()) {
      wanted.insert(group_id);
    }
  }
  // The members route's own permission, as the configurer holds it now.
  const bool may_change_groups =
      !GuardOn(Guard::kMemberGrant) ||
      configurer.Require("update", AccessTarget::ForIam("iam.group")).ok();
  for (const std::string& group_id : mapped) {
    const Group* g = s_.FindGroup(group_id);
    if (g == nullptr) continue;
    const bool member = member_of.count(group_id) != 0;
    if (wanted.count(group_id) != 0 && !member) {
      if (!may_change_groups ||
          (GuardOn(Guard::kMemberGrant) &&
           !configurer.CheckAddMember(*g, subject, known_by, "group_mapping").ok())) {
        data.groups_refused.push_back(group_id);
        continue;
      }
      Emit(et::kGroupMemberAdded, GroupMemberData{g->id, subject}, GroupTarget(*g));
      data.groups_added.push_back(group_id);
    } else if (wanted.count(group_id) == 0 && member) {
      if (!may_change_groups ||
          (GuardOn(Guard::kActOnRank) &&
           !configurer.CheckActOn(subject, "remove a group membership of").ok())) {
        data.groups_refused.push_back(group_id);
        continue;
      }
      Emit(et::kGroupMemberRemoved, GroupMemberData{g->id, subject}, GroupTarget(*g));
      data.groups_removed.push_back(group_id);
    }
  }
  data.configured_by = oidc->configured_by;
  Emit(et::kAuthSsoLoginSucceeded, data, Target{"user", user_id, data.email});
  d_.id = user_id;
  return Done();
}

}  // namespace custos::core::iam::internal
