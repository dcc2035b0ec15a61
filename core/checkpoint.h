// Signed checkpoints of a tenant's chain head (docs/events.md "Hash chain").
//
// A hash chain alone proves only that a stream is consistent with itself: whoever can write
// the history can also recompute every hash after a change. A checkpoint closes that gap:
// the server signs {tenant, tenant_seq, hash, time} of the chain head with an Ed25519 key
// that never leaves its data dir, and an offline verifier holding the published public key
// can tell a rewritten history from the original.
//
//   signing input = tenant + "\n" + tenant_seq (decimal) + "\n" + hash + "\n" + time
//   signature     = base64url (no padding) of the 64-byte Ed25519 signature of those bytes
//   kid           = the first 16 characters of base64url(SHA-256(raw 32-byte public key))
//   JSON          = {"tenant":…,"tenant_seq":N,"hash":…,"time":…,"kid":…,"signature":…}
//   export line   = {"checkpoint":<JSON>}  (the last line of a JSONL export)
//
// `time` is FormatTime's RFC 3339 UTC with milliseconds. The public keys are published as
// JWKs {"kty":"OKP","crv":"Ed25519","x":…,"kid":…,"alg":"EdDSA","use":"sig"} in a JWKS
// {"keys":[…]} at /.well-known/custos-audit-keys. The key rotates (CheckpointSigner::Rotate);
// a retired key stays in the set for good, with "retired_at": a checkpoint it signed verifies
// only if its time is not after that (a retired key used by mistake; a thief who holds the old
// private key can backdate, so this is no revocation).
//
// Thread-safety: Checkpoint and CheckpointKeys are plain values; CheckpointSigner's const
// methods may be called from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/ed25519_key.h"
#include "core/result.h"
#include "core/time.h"

namespace custos::core {

struct Checkpoint {
  std::string tenant;
  uint64_t tenant_seq = 0;
  std::string hash;  // 64 lowercase hex: the hash of the event at tenant_seq
  std::string time;  // RFC 3339 UTC with milliseconds (FormatTime)
  std::string kid;
  std::string signature;  // base64url, no padding

  friend bool operator==(const Checkpoint&, const Checkpoint&) = default;
};

// The bytes that are signed: tenant "\n" tenant_seq "\n" hash "\n" time.
[[nodiscard]] std::string CheckpointSigningInput(const Checkpoint& checkpoint);

// Compact JSON in the member order above.
[[nodiscard]] std::string CheckpointJson(const Checkpoint& checkpoint);
// {"checkpoint":<CheckpointJson>}, the line that ends a JSONL export.
[[nodiscard]] std::string CheckpointLine(const Checkpoint& checkpoint);

// True if `line` starts with {"checkpoint": — how a reader tells the checkpoint line from
// an event line (which always starts with {"id":) before parsing either.
[[nodiscard]] bool IsCheckpointLine(std::string_view line);

// Parses a checkpoint line strictly: exactly the one member "checkpoint", holding exactly
// the six members (any order, no others) with a valid tenant id, an unsigned integer
// tenant_seq, 64 lowercase hex digits of hash, a time in FormatTime's form, a non-empty kid
// and a signature that is base64url of 64 bytes. kInvalidArgument naming what is wrong.
// The signature itself is not checked here (CheckpointKeys::Verify does).
[[nodiscard]] Result<Checkpoint> ParseCheckpointLine(std::string_view line);

// The verification side: the public keys a verifier trusts, by kid.
class CheckpointKeys {
 public:
  // Accepts one JWK object or a JWKS {"keys":[…]}. Keys that are not OKP/Ed25519, or that
  // say they are for another "alg" or "use", are skipped; a JWK without a "kid" gets the
  // kid derived from its key as above. kInvalidArgument if the JSON is malformed, an
  // Ed25519 key's "x" is not base64url of 32 bytes, or no usable key is left.
  [[nodiscard]] static Result<CheckpointKeys> FromJson(std::string_view json);

  // OkStatus if the checkpoint is signed by one of the keys, not after that key was retired.
  // kUnauthenticated otherwise, the message naming the reason: "unknown kid 'K'", "bad
  // signature", or "signed by kid 'K' after it was retired (T)".
  [[nodiscard]] Status Verify(const Checkpoint& checkpoint) const;
  // The same for any signed bytes (export receipts): `signature` base64url of an Ed25519
  // signature of `input` by the key `kid`, made at `signed_at` (RFC 3339).
  [[nodiscard]] Status VerifySignature(std::string_view kid, std::string_view input,
                                       std::string_view signature,
                                       std::string_view signed_at) const;

  [[nodiscard]] size_t size() const { return keys_.size(); }

 private:
  friend class CheckpointSigner;
  struct PublicKey {
    std::string kid;
    std::string raw;                 // the 32-byte Ed25519 public key
    std::optional<Time> retired_at;  // a JWK's "retired_at"
  };
  std::vector<PublicKey> keys_;
};

// The signing side: the server's checkpoint key, and the keys it retired.
class CheckpointSigner {
 public:
  // One key, as it was when taken: signs a checkpoint or a receipt whole, with its kid, even if
  // the signer rotates meanwhile.
  class SigningKey {
   public:
    [[nodiscard]] const std::string& kid() const { return kid_; }
    // base64url (no padding) of the Ed25519 signature of `input`.
    [[nodiscard]] std::string SignBytes(std::string_view input) const;

   private:
    friend class CheckpointSigner;
    Pkey pkey_;
    std::string raw_;  // 32 bytes
    std::string kid_;
  };

  // Loads the PKCS#8 PEM private key at `pem_path`, or, if there is no such file, makes a new
  // Ed25519 key and writes it there (mode 0600, written to a temporary file, fsynced and
  // renamed into place, so a crash never leaves a half-written key), and the keys it retired
  // (core/ed25519_key.h RetiredKeysPath). kCorruption if a file does not hold Ed25519 keys;
  // kUnavailable if it cannot be read or written.
  [[nodiscard]] static Result<std::unique_ptr<CheckpointSigner>> LoadOrCreate(
      const std::string& pem_path);
  ~CheckpointSigner();
  CheckpointSigner(const CheckpointSigner&) = delete;
  CheckpointSigner& operator=(const CheckpointSigner&) = delete;

  // The current key's kid: base64url(SHA-256(raw public key)), first 16 characters, stable
  // for the key's life and needing no registry, so a verifier can recompute it from "x".
  [[nodiscard]] std::string kid() const;
  [[nodiscard]] std::shared_ptr<const SigningKey> current() const;

  [[nodiscard]] Checkpoint Sign(std::string tenant, uint64_t tenant_seq, std::string hash,
                                std::string time) const;
  [[nodiscard]] Checkpoint Sign(std::string tenant, uint64_t tenant_seq, std::string hash,
                                Time time) const;

  // Retires the current key at `now` (kept in the key set for good) and signs with a new one
  // from then on, on disk first (core/ed25519_key.h RotateKey). The kids, new and retired.
  struct Rotated {
    std::string kid;
    std::string retired_kid;
  };
  [[nodiscard]] Result<Rotated> Rotate(Time now);

  // {"kty":"OKP","crv":"Ed25519","x":…,"kid":…,"alg":"EdDSA","use":"sig"}: the current key.
  [[nodiscard]] std::string PublicJwk() const;
  // {"keys":[PublicJwk(), then each retired key's JWK with "retired_at"]}: the body of
  // /.well-known/custos-audit-keys.
  [[nodiscard]] std::string JwksJson() const;
  // The same keys, for checking this signer's checkpoints.
  [[nodiscard]] CheckpointKeys Keys() const;

 private:
  struct State {
    std::shared_ptr<const SigningKey> current;
    std::vector<CheckpointKeys::PublicKey> retired;
  };
  CheckpointSigner(std::string path, std::shared_ptr<const State> state);
  // The key with its raw public half and kid; `what` names it in an error.
  [[nodiscard]] static Result<std::shared_ptr<const SigningKey>> MakeKey(Pkey pkey,
                                                                         std::string_view what);
  [[nodiscard]] std::shared_ptr<const State> state() const;

  std::string path_;
  std::mutex rotate_mu_;  // one rotation at a time
  mutable std::mutex mu_;
  std::shared_ptr<const State> state_;
};

// The kid of a raw 32-byte Ed25519 public key (see CheckpointSigner::kid).
[[nodiscard]] std::string CheckpointKid(std::string_view public_raw);

}  // namespace custos::core
