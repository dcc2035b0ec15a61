// Second factors (TOTP, RFC 6238: SHA-1, 6 digits, 30 s). A user enrols its own
// (POST …/me/mfa/totp, then …/me/mfa/totp:confirm with a first code, which answers ten
// recovery codes once), removes it with a current code (…/me/mfa/totp:remove), and an admin
// resets someone else's (DELETE …/users/{id}/mfa, ACCESS.md rule 5). A login of a user with a
// second factor answers an MFA token instead of an access token; POST …/auth/mfa completes
// it with a code (accepted once) or a recovery code (used once); failures count towards the
// lockout. The TOTP key is sealed in the credential store (core/sealed.h, the key in
// DATA_DIR/keys/mfa.key); recovery codes are kept as SHA-256. Neither reaches an event or a
// log.
#include <openssl/crypto.h>

#include "api/internal/call.h"
#include "api/internal/views.h"
#include "api/json_body.h"
#include "core/iam/credentials.h"
#include "core/random.h"
#include "core/sealed.h"
#include "core/sha256.h"
#include "core/totp.h"

namespace custos::api::internal {

namespace iam = core::iam;

namespace {

constexpr auto kEnrolmentTtl = std::chrono::minutes(10);
constexpr size_t kTotpKeyBytes = 20;  // RFC 4226 §4: 160 bits, HMAC-SHA-1's own size
constexpr int kRecoveryCodes = 10;

std::string UserKey(std::string_view tenant, std::string_view user_id) {
  std::string key(tenant);
  key += '\0';
  key += user_id;
  return key;
}

struct CodeBody {
  std::optional<std::string> code;
  std::optional<std::string> recovery_code;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("code", s.code);
    v("recovery_code", s.recovery_code);
  }
};

struct MfaLoginBody {
  std::string mfa_token;
  std::optional<std::string> code;
  std::optional<std::string> recovery_code;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("mfa_token", s.mfa_token);
    v("code", s.code);
    v("recovery_code", s.recovery_code);
  }
};

// Exactly one of code and recovery_code, each of a bounded length (what an unauthenticated
// caller sends is capped before it is used).
core::Status CheckCodes(const std::optional<std::string>& code,
                        const std::optional<std::string>& recovery) {
  if (code.has_value() == recovery.has_value()) {
    return core::InvalidField("code", "give either code or recovery_code");
  }
  if (code && code->size() > 16) return core::InvalidField("code", "is longer than 16 bytes");
  if (recovery && recovery->size() > 64) {
    return core::InvalidField("recovery_code", "is longer than 64 bytes");
  }
  return core::OkStatus();
}

// A recovery code as handed out (xxxx-xxxx-xxxx-xxxx, base32: 80 bits) and as compared: the
// letters and digits alone, upper case.
std::string NewRecoveryCode(core::Random& random) {
  unsigned char raw[10];
  random.Fill(raw, sizeof raw);
  const std::string b32 =
      core::Base32Encode(std::string_view(reinterpret_cast<const char*>(raw), sizeof raw));
  std::string out;
  for (size_t i = 0; i < 16; ++i) {
    if (i > 0 && i % 4 == 0) out += '-';
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(b32[i])));
  }
  return out;
}

std::string RecoveryHash(std::string_view code) {
  std::string normal;
  for (char c : code) {
    if (std::isalnum(static_cast<unsigned char>(c)) != 0) {
      normal += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
  }
  return core::Sha256Hex(normal);
}

// The index of the recovery code `given` is, or -1; every stored hash is compared, each in
// constant time.
int MatchRecovery(const std::vector<std::string>& hashes, std::string_view given) {
  const std::string h = RecoveryHash(given);
  int found = -1;
  for (size_t i = 0; i < hashes.size(); ++i) {
    if (hashes[i].size() == h.size() && CRYPTO_memcmp(hashes[i].data(), h.data(), h.size()) == 0) {
      found = static_cast<int>(i);
    }
  }
  return found;
}

core::Error NotAUser() {
  return core::Error{core::Errc::kPermissionDenied, "only users have second factors", {}};
}

// The user's TOTP key, unsealed, with its stored credential.
struct OpenedMfa {
  std::string key;
  std::vector<std::string> recovery_hashes;
};
core::Result<OpenedMfa> OpenMfa(Services& s, const std::string& tenant,
                                const std::string& user_id) {
  CUSTOS_ASSIGN_OR_RETURN(std::optional<iam::MfaCredential> stored,
                          s.credentials().Mfa(tenant, user_id));
  if (!stored) return core::Conflict("user " + user_id + " has no second factor");
  CUSTOS_ASSIGN_OR_RETURN(std::string key, core::Unseal(s.deps.mfa_key, stored->sealed_secret,
                                                        UserKey(tenant, user_id)));
  return OpenedMfa{std::move(key), std::move(stored->recovery_hashes)};
}

// POST …/me/mfa/totp: a new key for the caller, held (in memory, 10 minutes) until a first
// code confirms it.
void StartTotpRoute(const CallPtr& call) {
  Services& s = call->services();
  if (call->principal->kind != Principal::Kind::kUser) return call->Fail(NotAUser());
  if (s.deps.mfa_key.size() != core::kSealKeyBytes) {
    return call->Fail(core::Unavailable("this node keeps no MFA key"));
  }
  const std::string tenant = call->Param("tenant");
  const std::string user_id = call->principal->id;
  core::Result<core::Result<std::string>> email = s.identity().Read(
      call->Tenant(), [&](const iam::TenantState& st) -> core::Result<std::string> {
        const iam::User* u = st.FindUser(user_id);
        if (u == nullptr) return core::NotFound("no user " + user_id);
        if (u->mfa) return core::Conflict("a second factor is enrolled already; remove it first");
        // Whoever saw a temporary password must not be able to enrol a factor the user never
        // sees: the user chooses its password first.
        if (u->must_change_password) {
          return core::Error{core::Errc::kPermissionDenied,
                             "change the temporary password first (POST …/auth/password)",
                             {}};
        }
        return u->profile.email;
      });
  if (!email.ok()) return call->Fail(email.error());
  if (!email->ok()) return call->Fail(email->error());
  std::string key(kTotpKeyBytes, '\0');
  s.deps.random.Fill(reinterpret_cast<unsigned char*>(key.data()), key.size());
  const std::string secret = core::Base32Encode(key);
  const core::Time now = s.clock().Now();
  s.mfa_enrolments.Put(UserKey(tenant, user_id), key, now, now + kEnrolmentTtl);
  core::JsonWriter w;
  w.BeginObject().Key("secret").String(secret);
  w.Key("otpauth_uri").String(core::OtpauthUri("Custos " + tenant, **email, secret));
  w.Key("expires_in").Int(std::chrono::seconds(kEnrolmentTtl).count()).EndObject();
  call->Reply(NoStore(JsonResponse(200, w.Take())));
}

// POST …/me/mfa/totp:confirm {"code"}: the first code of the new key turns it on and answers
// the recovery codes, once.
void ConfirmTotpRoute(const CallPtr& call) {
  Services& s = call->services();
  if (call->principal->kind != Principal::Kind::kUser) return call->Fail(NotAUser());
  CodeBody body;
  if (core::Status st = ReadBody(call->req.body, body); !st.ok()) return call->Fail(st.error());
  if (!body.code || body.code->size() > 16) {
    return call->Fail(core::InvalidField("code", "the 6-digit code of the new secret is required"));
  }
  const std::string tenant = call->Param("tenant");
  const std::string user_id = call->principal->id;
  const core::Time now = s.clock().Now();
  std::optional<std::string> key = s.mfa_enrolments.Find(UserKey(tenant, user_id), now);
  if (!key) {
    return call->Fail(
        core::Conflict("no enrolment in progress (or it expired): POST …/me/mfa/totp"));
  }
  const std::optional<int64_t> step =
      core::MatchTotp(*key, *body.code, core::ToUnixMillis(now) / 1000, -1);
  if (!step)
    return call->Fail(core::InvalidField("code", "is not a current code of the new secret"));
  core::Result<std::string> sealed =
      core::Seal(s.deps.mfa_key, *key, UserKey(tenant, user_id), s.deps.random);
  if (!sealed.ok()) return call->Fail(sealed.error());
  std::vector<std::string> codes;
  std::vector<std::string> hashes;
  for (int i = 0; i < kRecoveryCodes; ++i) {
    codes.push_back(NewRecoveryCode(s.deps.random));
    hashes.push_back(RecoveryHash(codes.back()));
  }
  Execute(call, iam::EnrollMfa{user_id, *sealed, hashes, *step},
          [call, codes, tenant, user_id](const iam::TenantState& state,
                                         const projections::ExecuteResult&) {
            call->services().mfa_enrolments.Erase(UserKey(tenant, user_id));
            core::JsonWriter w;
            w.BeginObject().Key("recovery_codes").BeginArray();
            for (const std::string& c : codes) w.String(c);
            w.EndArray().Key("user");
            WriteUser(w, state, *state.FindUser(user_id), true);
            w.EndObject();
            return NoStore(JsonResponse(200, w.Take()));
          });
}

// Which step or recovery code a code is, against the user's key and what it used up; the
// failure's reason otherwise.
struct CodeCheck {
  std::optional<int64_t> step;
  std::optional<int> recovery_index;
  std::string reason;  // "" when it matched
};
CodeCheck CheckCode(const OpenedMfa& mfa, const iam::UserMfa& state,
                    const std::optional<std::string>& code,
                    const std::optional<std::string>& recovery, core::Time now) {
  CodeCheck out;
  if (code) {
    const std::optional<int64_t> step =
        core::MatchTotp(mfa.key, *code, core::ToUnixMillis(now) / 1000, -1);
    if (!step) {
      out.reason = "bad_code";
    } else if (*step <= state.last_step) {
      out.reason = "replayed_code";  // accepted once already
    } else {
      out.step = step;
    }
    return out;
  }
  const int i = MatchRecovery(mfa.recovery_hashes, *recovery);
  if (i < 0) {
    out.reason = "bad_recovery_code";
  } else if (std::find(state.recovery_used.begin(), state.recovery_used.end(), i) !=
             state.recovery_used.end()) {
    out.reason = "used_recovery_code";
  } else {
    out.recovery_index = i;
  }
  return out;
}

// The caller's (or a user's) second factor as the state has it.
core::Result<iam::UserMfa> MfaState(Services& s, const core::TenantId& tenant,
                                    const std::string& user_id) {
  core::Result<core::Result<iam::UserMfa>> read =
      s.identity().Read(tenant, [&](const iam::TenantState& st) -> core::Result<iam::UserMfa> {
        const iam::User* u = st.FindUser(user_id);
        if (u == nullptr) return core::NotFound("no user " + user_id);
        if (!u->mfa) return core::Conflict("user " + user_id + " has no second factor");
        return *u->mfa;
      });
  if (!read.ok()) return read.error();
  return std::move(read).value();
}

// POST …/me/mfa/totp:remove {"code" | "recovery_code"}: the user turns its own off, proving it
// still holds it.
void RemoveOwnTotpRoute(const CallPtr& call) {
  Services& s = call->services();
  if (call->principal->kind != Principal::Kind::kUser) return call->Fail(NotAUser());
  CodeBody body;
  if (core::Status st = ReadBody(call->req.body, body); !st.ok()) return call->Fail(st.error());
  if (core::Status st = CheckCodes(body.code, body.recovery_code); !st.ok()) {
    return call->Fail(st.error());
  }
  const std::string tenant = call->Param("tenant");
  const std::string user_id = call->principal->id;
  core::Result<iam::UserMfa> state = MfaState(s, call->Tenant(), user_id);
  if (!state.ok()) return call->Fail(state.error());
  core::Result<OpenedMfa> mfa = OpenMfa(s, tenant, user_id);
  if (!mfa.ok()) return call->Fail(mfa.error());
  const CodeCheck check = CheckCode(*mfa, *state, body.code, body.recovery_code, s.clock().Now());
  const std::string method = body.code ? "totp" : "recovery_code";
  if (!check.reason.empty()) {
    // A wrong code here is a guess like one at login: recorded, and towards the lockout.
    const std::string field = body.code ? "code" : "recovery_code";
    return Execute(
        call, iam::RecordMfa{user_id, false, method, std::nullopt, std::nullopt, check.reason},
        [field](const iam::TenantState&, const projections::ExecuteResult&) {
          return Problem(core::InvalidField(field, "is not a current code of your second factor"));
        });
  }
  Execute(call, iam::RemoveMfa{user_id, false},
          [user_id](const iam::TenantState& st, const projections::ExecuteResult&) {
            const iam::User* u = st.FindUser(user_id);
            return JsonResponse(
                200, Object([&](core::JsonWriter& w) { WriteUser(w, st, *u, true); }), u->version);
          });
}

// DELETE …/users/{id}/mfa: an admin's reset of someone else's second factor (the user then
// logs in with its password alone, and enrols again where the tenant requires it).
void ResetMfaRoute(const CallPtr& call) {
  Execute(call, iam::RemoveMfa{call->Param("id"), true},
          [](const iam::TenantState&, const projections::ExecuteResult&) {
            HttpResponse r;
            r.status = 204;
            return r;
          });
}

// POST …/auth/mfa {"mfa_token", "code" | "recovery_code"}: the second step of a login.
void MfaLoginRoute(const CallPtr& call) {
  Services& s = call->services();
  MfaLoginBody body;
  if (core::Status st = ReadBody(call->req.body, body); !st.ok()) return call->Fail(st.error());
  if (body.mfa_token.size() > 256) {
    return call->Fail(core::InvalidField("mfa_token", "is longer than 256 bytes"));
  }
  if (core::Status st = CheckCodes(body.code, body.recovery_code); !st.ok()) {
    return call->Fail(st.error());
  }
  const std::string tenant = call->Param("tenant");
  const core::Time now = s.clock().Now();
  // Single use: taken whatever the outcome, so every guess costs a password check first.
  std::optional<std::string> pending = s.mfa_tokens.Take(core::Sha256Hex(body.mfa_token), now);
  const HttpResponse expired =
      Unauthorized("the MFA token is unknown, used or expired: log in again");
  if (!pending) return call->Reply(expired);
  const size_t a = pending->find('\0');
  const size_t b = pending->find('\0', a + 1);
  if (a == std::string::npos || b == std::string::npos || pending->substr(0, a) != tenant) {
    return call->Reply(expired);
  }
  const std::string user_id = pending->substr(a + 1, b - a - 1);
  const int64_t epoch = std::stoll(pending->substr(b + 1));
  struct View {
    iam::UserMfa mfa;
    bool active = false;
    bool must_change = false;
    int64_t epoch = 0;
    int ttl = 900;
  };
  core::Result<core::Result<View>> read =
      s.identity().Read(call->Tenant(), [&](const iam::TenantState& st) -> core::Result<View> {
        const iam::User* u = st.FindUser(user_id);
        if (u == nullptr || !u->mfa) return core::Conflict("no second factor");
        return View{*u->mfa, iam::EffectiveStatus(*u, now) == iam::UserStatus::kActive,
                    u->must_change_password, u->session_epoch,
                    st.tenant().settings.token_ttl_seconds};
      });
  // A user deleted, reset or signed out everywhere since its password step: log in again.
  if (!read.ok() || !read->ok() || !(*read)->active || (*read)->epoch != epoch) {
    return call->Reply(expired);
  }
  const View v = **read;
  core::Result<OpenedMfa> mfa = OpenMfa(s, tenant, user_id);
  if (!mfa.ok()) return call->Fail(mfa.error());
  const CodeCheck check = CheckCode(*mfa, v.mfa, body.code, body.recovery_code, now);
  call->principal = Principal{Principal::Kind::kUser, tenant, user_id, "", now};
  const std::string method = body.code ? "totp" : "recovery_code";
  if (!check.reason.empty()) {
    (void)s.failing_sources.Take(SourceKey(call->req.remote_ip));  // the back lane
    return Execute(call,
                   iam::RecordMfa{user_id, false, method, std::nullopt, std::nullopt, check.reason},
                   [](const iam::TenantState&, const projections::ExecuteResult&) {
                     return Unauthorized("the code is wrong, or was used already");
                   });
  }
  s.known_sources.Mark(SourceKey(call->req.remote_ip));
  const std::string token = SignUserToken(s, tenant, user_id, v.must_change, v.ttl, epoch, now);
  const int64_t ttl = v.ttl;
  const bool must_change = v.must_change;
  Execute(call,
          iam::RecordMfa{user_id, true, method, check.step, check.recovery_index, "", epoch,
                         v.mfa.enrolled_at},
          [token, ttl, must_change](const iam::TenantState&, const projections::ExecuteResult& r) {
            // The loser of two requests with one code was recorded as a replay: no token.
            for (const core::iam::DomainEvent& e : r.decision.events) {
              if (e.type == core::iam::event_type::kAuthMfaFailed) {
                return Unauthorized("the code is wrong, or was used already");
              }
            }
            return TokenResponse(token, ttl, must_change);
          });
}

}  // namespace

std::string NewMfaToken(Services& s, const std::string& tenant, const std::string& user_id,
                        int64_t session_epoch, core::Time now) {
  std::string token = core::RandomToken(s.deps.random, 32);
  s.mfa_tokens.Put(core::Sha256Hex(token),
                   tenant + '\0' + user_id + '\0' + std::to_string(session_epoch), now,
                   now + kMfaTokenTtl, UserKey(tenant, user_id));
  return token;
}

HttpResponse MfaChallenge(Services& s, const std::string& tenant, const std::string& user_id,
                          int64_t session_epoch, core::Time now) {
  const std::string token = NewMfaToken(s, tenant, user_id, session_epoch, now);
  core::JsonWriter w;
  w.BeginObject().Key("mfa_required").Bool(true).Key("mfa_token").String(token);
  w.Key("expires_in").Int(kMfaTokenTtl.count()).EndObject();
  return NoStore(JsonResponse(200, w.Take()));
}

void AddMfaRoutes(RouteTable& t, Services&) {
  t.Add({"POST", "/v1/tenants/{tenant}/me/mfa/totp", Access::kAuthenticated, "", "", Work::kInline,
         false},
        StartTotpRoute);
  t.Add({"POST", "/v1/tenants/{tenant}/me/mfa/totp:confirm", Access::kAuthenticated, "", "",
         Work::kLogin, false},
        ConfirmTotpRoute);
  t.Add({"POST", "/v1/tenants/{tenant}/me/mfa/totp:remove", Access::kAuthenticated, "", "",
         Work::kLogin, false},
        RemoveOwnTotpRoute);
  t.Add({"DELETE", "/v1/tenants/{tenant}/users/{id}/mfa", Access::kIam, "iam.user", "update"},
        ResetMfaRoute);
  t.Add(
      {"POST", "/v1/tenants/{tenant}/auth/mfa", Access::kPublic, "", "", Work::kLogin, false, true},
      MfaLoginRoute);
}

}  // namespace custos::api::internal
