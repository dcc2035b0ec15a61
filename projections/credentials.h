// Credentials: the credential store as the API sees it — the root client (made at first
// start), revoked root tokens (kept until they expire), the answers kept for Idempotency-Key
// replays (24 hours, ../shared/spec/API.md Conventions), and reads of the tenants' credentials
// (password and client secret hashes, invitation tokens), which IdentityService writes with their
// events. The API reads and writes the store only through here.
//
// On disk (Space::kCredentials): "!root-client" → {"client_id","hash","created_at"};
// "!root-revoked\0JTI" → the token's expiry. In Space::kIndex: "idem\0TENANT\0PRINCIPAL\0KEY"
// → the kept answer, and "idemx\0" BE64(created ms) "\0" record key, an expiry index a sweep
// reads oldest first.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/event.h"
#include "core/event_log.h"
#include "core/iam/credentials.h"
#include "core/kv_store.h"
#include "core/random.h"
#include "core/result.h"

namespace custos::projections {

// The root client: made at first start, can do anything.
struct RootClient {
  std::string client_id;
  std::string client_secret;  // only when just made
};

// A root token's revocation (POST /oauth/revoke by root, or root's own logout).
struct RootRevocation {
  std::string jti;
  core::Time expires_at;
  bool logout = false;  // auth.logout (the token's holder ends it) rather than auth.token_revoked
  core::Actor actor;    // who revoked it
  std::string request_id;
  std::string trace_id;
};

// A write's answer as kept for a replay of the same Idempotency-Key.
struct IdempotentAnswer {
  std::string request_hash;  // SHA-256 of method, path and body
  int status = 0;
  std::string body;
  std::string location;
  int64_t version = 0;  // the ETag's, 0 for none
  core::Time created_at;
};

class Credentials {
 public:
  static constexpr std::chrono::hours kIdempotencyTtl{24};

  // First start: makes the root client and hands it (with its secret) to `deliver` before its
  // record is written, so that a crash between the two never leaves a root secret nobody has.
  // Later starts: the stored client, without a secret.
  [[nodiscard]] static core::Result<RootClient> EnsureRootClient(
      core::KvStore& kv, core::Random& random, const core::Clock& clock,
      const std::function<core::Status(const RootClient&)>& deliver = {});

  // Reads the root client's record (if any) and the root revocations still live.
  [[nodiscard]] static core::Result<std::unique_ptr<Credentials>> Open(core::KvStore& kv,
                                                                       const core::Clock& clock);

  // "" before the root client exists.
  [[nodiscard]] const std::string& root_client_id() const { return root_client_id_; }
  // Whether `secret` is the root client's (compared in constant time).
  [[nodiscard]] bool IsRootSecret(std::string_view secret) const;
  // Whether a root token was revoked (and has not expired yet).
  [[nodiscard]] bool RootRevoked(std::string_view jti, core::Time now);
  // Records the revocation as an event of the node's own chain (core::kSystemChain:
  // auth.token_revoked or auth.logout, with the token's jti, never the token) with its entry in
  // the credential store in the same synced batch, before it takes effect — so that it reaches
  // the audit topic and every follower built from it.
  [[nodiscard]] core::Result<core::AppendedEvent> RevokeRoot(core::EventLog& log,
                                                             const RootRevocation& revocation);

  // A follower's side of RevokeRoot: the revocation an event of the node's own chain records
  // (nullopt for any other event), its entry added to a batch, and remembered once the batch
  // is durable.
  struct RevokedRoot {
    std::string jti;
    core::Time expires_at;
  };
  [[nodiscard]] static std::optional<RevokedRoot> RootRevocationIn(std::string_view line);
  static void AddRootRevocation(core::KvBatch& batch, const RevokedRoot& revoked);
  // Never shortens one already remembered.
  void RememberRootRevocation(const RevokedRoot& revoked);
  // Until when a root token is known revoked (nullopt: it is not, or that has expired).
  [[nodiscard]] std::optional<core::Time> RootRevokedUntil(std::string_view jti);

  // A user's password credential (none for a user that has none yet).
  // A user's second factor (its TOTP key sealed), none when it has none.
  [[nodiscard]] core::Result<std::optional<core::iam::MfaCredential>> Mfa(
      std::string_view tenant, std::string_view user_id) const;
  // The tenant's identity-provider client secret (sealed), none when SSO is not configured.
  [[nodiscard]] core::Result<std::optional<core::iam::SsoCredential>> SsoSecret(
      std::string_view tenant) const;
  [[nodiscard]] core::Result<std::optional<core::iam::PasswordCredential>> Password(
      std::string_view tenant, std::string_view user_id) const;
  // The key id of the client's secret whose hash is `secret_hash` ("" if none matches); every
  // stored secret is compared, each in constant time.
  [[nodiscard]] core::Result<std::string> MatchClientSecret(std::string_view tenant,
                                                            std::string_view client_id,
                                                            std::string_view secret_hash) const;
  // The invitation whose current token hashes to `token_hash`: {tenant, invitation id}, or
  // none (unknown, or replaced by a resend).
  struct InvitationRef {
    std::string tenant;
    std::string invitation_id;
  };
  [[nodiscard]] core::Result<std::optional<InvitationRef>> InvitationByToken(
      std::string_view token_hash) const;

  // The record key of an Idempotency-Key: per tenant and principal.
  [[nodiscard]] static std::string AnswerKey(std::string_view tenant, std::string_view principal,
                                             std::string_view key);
  // The kept answer, if there is one younger than kIdempotencyTtl.
  [[nodiscard]] core::Result<std::optional<IdempotentAnswer>> FindAnswer(std::string_view key,
                                                                         core::Time now) const;
  // Keeps an answer (synced); a failure only means no replay.
  void KeepAnswer(const std::string& key, const IdempotentAnswer& answer);
  // Removes up to 10,000 answers past their 24 hours; how many it removed.
  size_t SweepAnswers(core::Time now);

 private:
  explicit Credentials(core::KvStore& kv) : kv_(kv) {}

  core::KvStore& kv_;
  std::string root_client_id_;
  std::string root_secret_hash_;
  std::mutex revoked_mu_;
  std::map<std::string, core::Time, std::less<>> revoked_;  // jti → expiry
};

}  // namespace custos::projections
