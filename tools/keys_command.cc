// custos keys rotate --data-dir DIR --jwt|--audit: retires a stopped server's token-signing or
// checkpoint-signing key and makes a new one (a running server: POST /v1/keys/rotate). The
// retired key's public half stays beside the new key (core/ed25519_key.h RotateKey): in the
// JWKS for a day, in the audit-key set for good. Prints {"kind","kid","retired_kid","time"}.
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "api/jwt.h"
#include "core/checkpoint.h"
#include "core/json_writer.h"
#include "tools/commands.h"

namespace custos::tools {

int RunKeys(const Args& args) {
  Flags flags;
  if (auto exit = ParseCommandFlags(
          "keys", "rotate --data-dir DIR (--jwt [--jwt-alg ALG] | --audit)", args,
          {{"data-dir", true, "",
            "the data directory (the server must be stopped; a running one: POST "
            "/v1/keys/rotate)"},
           {"jwt", false, "", "rotate the key that signs access tokens"},
           {"audit", false, "", "rotate the key that signs audit checkpoints and export receipts"},
           {"clock-offset", true, "",
            "a drill's data dir only: the --clock-offset it is served with (seconds)"},
           {"revoke", false, "",
            "with --jwt, for a leaked key: drop the old key instead of keeping it published, so "
            "that every token it signed is refused"},
           {"jwt-alg",
            true,
            "EdDSA",
            "with --jwt: which token key, as `custos serve --jwt-alg` names it",
            {"EdDSA", "ES256"}}},
          flags, {.positional = true})) {
    return *exit;
  }
  if (flags.positional() != std::vector<std::string>{"rotate"}) {
    return ReportError("keys", core::InvalidArgument("the one action is `rotate`"));
  }
  if (flags.IsSet("jwt") == flags.IsSet("audit")) {
    return ReportError("keys", core::InvalidArgument("give one of --jwt and --audit"));
  }
  if (flags.IsSet("revoke") && !flags.IsSet("jwt")) {
    return ReportError(
        "keys", core::InvalidArgument("--revoke is for --jwt: what an audit key signed must keep "
                                      "verifying (rotate it instead)"));
  }
  core::Result<std::string> data_dir = flags.Require("data-dir");
  if (!data_dir.ok()) return ReportError("keys", data_dir.error());
  // A drill's data dir (DIR/clock-offset, `serve --clock-offset`) is handled only with the
  // clock it is served with said again, as `serve` asks: the retirement is dated on it, or
  // the server's tokens would all be "after" it (or a real clock's key kept 91 days).
  const bool drill = std::filesystem::exists(*data_dir + "/clock-offset");
  if (drill != flags.Get("clock-offset").has_value()) {
    return ReportError(
        "keys", core::InvalidArgument(
                    drill ? "this data dir was served with --clock-offset (" + *data_dir +
                                "/clock-offset): give the offset it is served with now "
                                "(0 for the real clock)"
                          : "--clock-offset is for a drill's data dir (one served with it)"));
  }
  core::Result<uint64_t> offset = drill ? flags.GetUInt("clock-offset", 0, uint64_t{3650} * 86400)
                                        : core::Result<uint64_t>(uint64_t{0});
  if (!offset.ok()) return ReportError("keys", offset.error());
  core::SystemClock clock{std::chrono::seconds(*offset)};
  // Held, not used: the store's lock says no server is running on the dir.
  auto store = OpenDataDirStore(*data_dir, &clock);
  if (!store.ok()) return ReportError("keys", store.error());
  const bool jwt = flags.IsSet("jwt");
  const bool es256 = *flags.Get("jwt-alg") == "ES256";
  const std::string path = *data_dir + (!jwt    ? "/keys/audit-ed25519.pem"
                                        : es256 ? "/keys/jwt-es256.pem"
                                                : "/keys/jwt-ed25519.pem");
  if (!std::filesystem::exists(path)) {
    return ReportError("keys", core::NotFound("no key at " + path + ": nothing to rotate"));
  }
  const core::Time now = clock.Now();
  std::string kid;
  std::string retired_kid;
  if (jwt) {
    auto signer = api::TokenSigner::LoadOrCreate(path, "https://custos.invalid",
                                                 es256 ? api::JwtAlg::kES256 : api::JwtAlg::kEdDSA);
    if (!signer.ok()) return ReportError("keys", signer.error());
    core::Result<api::TokenSigner::Rotated> r = (*signer)->Rotate(now, flags.IsSet("revoke"));
    if (!r.ok()) return ReportError("keys", r.error());
    kid = r->kid;
    retired_kid = r->retired_kid;
  } else {
    auto signer = core::CheckpointSigner::LoadOrCreate(path);
    if (!signer.ok()) return ReportError("keys", signer.error());
    core::Result<core::CheckpointSigner::Rotated> r = (*signer)->Rotate(now);
    if (!r.ok()) return ReportError("keys", r.error());
    kid = r->kid;
    retired_kid = r->retired_kid;
  }
  core::JsonWriter w;
  w.BeginObject().Key("kind").String(jwt ? "jwt" : "audit").Key("kid").String(kid);
  w.Key(flags.IsSet("revoke") ? "revoked_kid" : "retired_kid")
      .String(retired_kid)
      .Key("time")
      .String(core::FormatTime(now))
      .EndObject();
  std::printf("%s\n", w.str().c_str());
  return kExitOk;
}

}  // namespace custos::tools
