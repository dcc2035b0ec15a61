#include "projections/credentials.h"

#include "core/fields.h"
#include "core/hex.h"
#include "core/iam/password.h"
#include "core/json_value.h"
#include "core/json_writer.h"
#include "core/sha256.h"
#include "core/time.h"

namespace custos::projections {
namespace {

constexpr std::string_view kRootClientKey = "!root-client";

std::string RootRevokedKey(std::string_view jti) {
  std::string key = "!root-revoked";
  key.push_back('\0');
  key += jti;
  return key;
}

// An answer's entry in the expiry index: "idemx\0" BE64(created ms) "\0" record key, so that
// a sweep reads the oldest first and stops at the first young one.
std::string AnswerExpiryKey(core::Time created, std::string_view record_key) {
  std::string k = "idemx";
  k.push_back('\0');
  core::PutBE64(k, static_cast<uint64_t>(core::ToUnixMillis(created)));
  k.push_back('\0');
  k += record_key;
  return k;
}

struct StoredAnswer {
  IdempotentAnswer& a;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("request_hash", s.a.request_hash);
    v("status", s.a.status);
    v("body", s.a.body);
    v("location", s.a.location);
    v("version", s.a.version);
    v("created_at", s.a.created_at);
  }
};

}  // namespace

core::Result<RootClient> Credentials::EnsureRootClient(
    core::KvStore& kv, core::Random& random, const core::Clock& clock,
    const std::function<core::Status(const RootClient&)>& deliver) {
  CUSTOS_ASSIGN_OR_RETURN(std::optional<std::string> existing,
                          kv.Get(core::Space::kCredentials, std::string(kRootClientKey)));
  if (existing) {
    CUSTOS_ASSIGN_OR_RETURN(core::JsonValue v, core::ParseJson(*existing));
    const core::JsonValue* id = v.Find("client_id");
    if (id == nullptr) return core::Corruption("bad root client record");
    return RootClient{id->text(), ""};
  }
  unsigned char raw[12];
  random.Fill(raw, sizeof raw);
  std::string id = "cli_root_";
  core::AppendHex(id, raw, sizeof raw);
  std::string secret = core::RandomToken(random, 32);
  core::JsonWriter w;
  w.BeginObject().Key("client_id").String(id).Key("hash").String(core::Sha256Hex(secret));
  w.Key("created_at").String(core::FormatTime(clock.Now())).EndObject();
  RootClient made{std::move(id), std::move(secret)};
  if (deliver) CUSTOS_RETURN_IF_ERROR(deliver(made));
  core::KvBatch batch;
  batch.Put(core::Space::kCredentials, std::string(kRootClientKey), w.str());
  CUSTOS_RETURN_IF_ERROR(kv.Write(batch, core::Durability::kSync));
  return made;
}

core::Result<std::unique_ptr<Credentials>> Credentials::Open(core::KvStore& kv,
                                                             const core::Clock& clock) {
  std::unique_ptr<Credentials> c(new Credentials(kv));
  CUSTOS_ASSIGN_OR_RETURN(std::optional<std::string> root,
                          kv.Get(core::Space::kCredentials, std::string(kRootClientKey)));
  if (root) {
    CUSTOS_ASSIGN_OR_RETURN(core::JsonValue v, core::ParseJson(*root));
    const core::JsonValue* id = v.Find("client_id");
    const core::JsonValue* hash = v.Find("hash");
    if (id == nullptr || hash == nullptr) return core::Corruption("bad root client record");
    c->root_client_id_ = id->text();
    c->root_secret_hash_ = hash->text();
  }
  // Revoked root tokens that have not expired yet, into memory: a root request never reads
  // the store to check its token.
  const std::string prefix = RootRevokedKey("");
  const core::Time now = clock.Now();
  CUSTOS_RETURN_IF_ERROR(
      kv.Scan(core::Space::kCredentials, prefix, [&](std::string_view key, std::string_view value) {
        core::Result<core::Time> exp = core::ParseTime(value);
        if (exp.ok() && *exp > now)
          c->revoked_.emplace(std::string(key.substr(prefix.size())), *exp);
        return true;
      }));
  return c;
}

bool Credentials::IsRootSecret(std::string_view secret) const {
  return !root_secret_hash_.empty() &&
         core::iam::ConstantTimeEquals(core::Sha256Hex(secret), root_secret_hash_);
}

bool Credentials::RootRevoked(std::string_view jti, core::Time now) {
  std::lock_guard lock(revoked_mu_);
  auto it = revoked_.find(jti);
  if (it == revoked_.end()) return false;
  if (it->second <= now) {  // expired anyway
    revoked_.erase(it);
    return false;
  }
  return true;
}

std::optional<Credentials::RevokedRoot> Credentials::RootRevocationIn(std::string_view line) {
  core::Result<std::string_view> type = core::ParseLineType(line);
  if (!type.ok() || (*type != "auth.token_revoked" && *type != "auth.logout")) return std::nullopt;
  core::Result<core::JsonValue> v = core::ParseJson(line);
  if (!v.ok()) return std::nullopt;
  const core::JsonValue* data = v->Find("data");
  const core::JsonValue* jti = data != nullptr ? data->Find("jti") : nullptr;
  const core::JsonValue* exp = data != nullptr ? data->Find("expires_at") : nullptr;
  if (jti == nullptr || exp == nullptr || !jti->is_string() || !exp->is_string()) {
    return std::nullopt;
  }
  core::Result<core::Time> t = core::ParseTime(exp->text());
  if (!t.ok() || jti->text().empty()) return std::nullopt;
  return RevokedRoot{jti->text(), *t};
}

void Credentials::AddRootRevocation(core::KvBatch& batch, const RevokedRoot& revoked) {
  batch.Put(core::Space::kCredentials, RootRevokedKey(revoked.jti),
            core::FormatTime(revoked.expires_at));
}

void Credentials::RememberRootRevocation(const RevokedRoot& revoked) {
  std::lock_guard lock(revoked_mu_);
  core::Time& until = revoked_[revoked.jti];
  until = std::max(until, revoked.expires_at);  // a revocation is never shortened
}

std::optional<core::Time> Credentials::RootRevokedUntil(std::string_view jti) {
  std::lock_guard lock(revoked_mu_);
  auto it = revoked_.find(jti);
  if (it == revoked_.end()) return std::nullopt;
  return it->second;
}

core::Result<core::AppendedEvent> Credentials::RevokeRoot(core::EventLog& log,
                                                          const RootRevocation& r) {
  if (r.jti.empty() || r.jti.size() > 128) return core::InvalidField("jti", "is not a token id");
  core::EventDraft d;
  d.type = r.logout ? "auth.logout" : "auth.token_revoked";
  d.actor = r.actor;
  d.target = core::Target{"api_client", root_client_id_, "root"};
  // The same data as a tenant's token revocation (core/iam/events.h TokenData).
  core::JsonWriter w;
  w.BeginObject().Key("subject").BeginObject().Key("type").String("api_client");
  w.Key("id").String(root_client_id_).EndObject();
  w.Key("jti").String(r.jti).Key("expires_at").String(core::FormatTime(r.expires_at)).EndObject();
  d.data = w.Take();
  d.request_id = r.request_id;
  d.trace_id = r.trace_id;
  core::Result<core::RenderedDraft> rendered = core::RenderDraft(d);
  if (!rendered.ok()) return rendered.error();
  core::AppendRequest request;
  request.tenant = core::TenantId(std::string(core::kSystemChain));
  request.events.push_back(std::move(rendered).value());
  request.side_writes.Put(core::Space::kCredentials, RootRevokedKey(r.jti),
                          core::FormatTime(r.expires_at));
  // Revoking a leaked root token frees nothing, but must work on a disk in its reserve.
  request.use_reserve = true;
  core::AppendResult appended = log.Append(std::move(request));
  if (!appended.ok()) return appended.error();
  std::lock_guard lock(revoked_mu_);
  revoked_[r.jti] = r.expires_at;
  return std::move(appended->front());
}

core::Result<std::optional<core::iam::MfaCredential>> Credentials::Mfa(
    std::string_view tenant, std::string_view user_id) const {
  CUSTOS_ASSIGN_OR_RETURN(std::optional<std::string> stored,
                          kv_.Get(core::Space::kCredentials, core::iam::MfaKey(tenant, user_id)));
  if (!stored) return std::optional<core::iam::MfaCredential>();
  core::iam::MfaCredential credential;
  if (core::Status s = core::FromJson(*stored, credential); !s.ok()) {
    return core::Corruption("the second factor of " + std::string(user_id) + " is unreadable");
  }
  return std::optional<core::iam::MfaCredential>(std::move(credential));
}

core::Result<std::optional<core::iam::SsoCredential>> Credentials::SsoSecret(
    std::string_view tenant) const {
  CUSTOS_ASSIGN_OR_RETURN(std::optional<std::string> stored,
                          kv_.Get(core::Space::kCredentials, core::iam::SsoSecretKey(tenant)));
  if (!stored) return std::optional<core::iam::SsoCredential>();
  core::iam::SsoCredential credential;
  if (core::Status s = core::FromJson(*stored, credential); !s.ok()) {
    return core::Corruption("the single sign-on client secret of " + std::string(tenant) +
                            " is unreadable");
  }
  return std::optional<core::iam::SsoCredential>(std::move(credential));
}

core::Result<std::optional<core::iam::PasswordCredential>> Credentials::Password(
    std::string_view tenant, std::string_view user_id) const {
  CUSTOS_ASSIGN_OR_RETURN(
      std::optional<std::string> stored,
      kv_.Get(core::Space::kCredentials, core::iam::PasswordKey(tenant, user_id)));
  core::iam::PasswordCredential credential;
  if (!stored || !core::FromJson(*stored, credential).ok()) {
    return std::optional<core::iam::PasswordCredential>();
  }
  return std::optional<core::iam::PasswordCredential>(std::move(credential));
}

core::Result<std::string> Credentials::MatchClientSecret(std::string_view tenant,
                                                         std::string_view client_id,
                                                         std::string_view secret_hash) const {
  const std::string prefix = core::iam::ClientSecretPrefix(tenant, client_id);
  std::string key_id;
  CUSTOS_RETURN_IF_ERROR(kv_.Scan(core::Space::kCredentials, prefix,
                                  [&](std::string_view key, std::string_view value) {
                                    if (core::iam::ConstantTimeEquals(secret_hash, value)) {
                                      key_id = std::string(key.substr(prefix.size()));
                                    }
                                    return true;
                                  }));
  return key_id;
}

core::Result<std::optional<Credentials::InvitationRef>> Credentials::InvitationByToken(
    std::string_view token_hash) const {
  CUSTOS_ASSIGN_OR_RETURN(
      std::optional<std::string> where,
      kv_.Get(core::Space::kCredentials, core::iam::InvitationTokenKey(token_hash)));
  const size_t nul = where ? where->find('\0') : std::string::npos;
  if (nul == std::string::npos) return std::optional<InvitationRef>();
  InvitationRef ref{where->substr(0, nul), where->substr(nul + 1)};
  // Only the invitation's current token works (a resend replaces it).
  CUSTOS_ASSIGN_OR_RETURN(std::optional<std::string> current,
                          kv_.Get(core::Space::kCredentials,
                                  core::iam::InvitationHashKey(ref.tenant, ref.invitation_id)));
  if (!current || !core::iam::ConstantTimeEquals(*current, token_hash)) {
    return std::optional<InvitationRef>();
  }
  return std::optional<InvitationRef>(std::move(ref));
}

std::string Credentials::AnswerKey(std::string_view tenant, std::string_view principal,
                                   std::string_view key) {
  std::string k = "idem";
  k.push_back('\0');
  k += tenant;
  k.push_back('\0');
  k += principal;
  k.push_back('\0');
  k += key;
  return k;
}

core::Result<std::optional<IdempotentAnswer>> Credentials::FindAnswer(std::string_view key,
                                                                      core::Time now) const {
  CUSTOS_ASSIGN_OR_RETURN(std::optional<std::string> stored,
                          kv_.Get(core::Space::kIndex, std::string(key)));
  if (!stored) return std::optional<IdempotentAnswer>();
  IdempotentAnswer answer;
  StoredAnswer view{answer};
  if (!core::FromJson(*stored, view).ok() || now - answer.created_at >= kIdempotencyTtl) {
    return std::optional<IdempotentAnswer>();
  }
  return std::optional<IdempotentAnswer>(std::move(answer));
}

void Credentials::KeepAnswer(const std::string& key, const IdempotentAnswer& answer) {
  IdempotentAnswer copy = answer;
  StoredAnswer view{copy};
  core::KvBatch batch;
  batch.Put(core::Space::kIndex, key, core::ToJson(view));
  batch.Put(core::Space::kIndex, AnswerExpiryKey(answer.created_at, key), "");
  (void)kv_.Write(batch, core::Durability::kSync);
}

size_t Credentials::SweepAnswers(core::Time now) {
  const std::string prefix = AnswerExpiryKey(core::Time{}, "").substr(0, 6);
  const auto horizon = static_cast<uint64_t>(core::ToUnixMillis(now - kIdempotencyTtl));
  core::KvBatch batch;
  size_t swept = 0;
  (void)kv_.Scan(core::Space::kIndex, prefix, [&](std::string_view key, std::string_view) {
    const std::string_view rest = key.substr(prefix.size());
    if (rest.size() < 9 || core::GetBE64(rest) >= horizon || swept >= 10'000) {
      return false;  // in time order: the rest is younger
    }
    batch.Delete(core::Space::kIndex, std::string(key));
    batch.Delete(core::Space::kIndex, std::string(rest.substr(9)));
    ++swept;
    return true;
  });
  if (swept > 0) (void)kv_.Write(batch, core::Durability::kNoSync);
  return swept;
}

}  // namespace custos::projections
