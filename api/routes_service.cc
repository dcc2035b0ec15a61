// Service routes: health, readiness, metrics, and the published keys and discovery document.
#include "api/internal/call.h"
#include "api/json_body.h"

namespace custos::api::internal {

namespace {

struct BackupBody {
  std::string to;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("to", s.to);
  }
};

struct RotateBody {
  std::string kind;
  std::optional<bool> revoke;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("kind", s.kind);
    v("revoke", s.revoke);
  }
};

}  // namespace

void AddServiceRoutes(RouteTable& t, Services& s) {
  // An online backup (storage/data_dir.h), root only: it writes a copy of every tenant, keys
  // and root credentials included, where the caller says on the server's machine.
  t.Add({"POST", "/v1/backup", Access::kRoot, "", "", Work::kHeavy}, [&s](const CallPtr& call) {
    BackupBody body;
    if (core::Status st = ReadBody(call->req.body, body); !st.ok()) return call->Fail(st.error());
    if (!s.deps.backup) return call->Fail(core::Unavailable("this node takes no backups"));
    core::Result<BackupMade> made = s.deps.backup(body.to);
    if (!made.ok()) return call->Fail(made.error());
    core::JsonWriter w;
    w.BeginObject().Key("seq").UInt(made->seq).Key("path").String(made->path);
    w.Key("time").String(made->time).EndObject();
    call->Json(201, w.Take());
  });

  // Key rotation, root only: the new key signs from the answer on; the retired one stays in
  // the JWKS (a day) or the audit-key set (for good) for what it signed before. A leaked token
  // key is revoked instead ("revoke": true): dropped at once, its tokens refused from the
  // answer on (the verified-token cache is emptied with it).
  t.Add({"POST", "/v1/keys/rotate", Access::kRoot, "", "", Work::kHeavy},
        [&s](const CallPtr& call) {
          RotateBody body;
          if (core::Status st = ReadBody(call->req.body, body); !st.ok()) {
            return call->Fail(st.error());
          }
          if (body.kind != "jwt" && body.kind != "audit") {
            return call->Fail(core::InvalidField("kind", "must be \"jwt\" or \"audit\""));
          }
          const bool revoke = body.revoke.value_or(false);
          if (revoke && body.kind != "jwt") {
            // What an audit key signed is evidence that must keep verifying; a thief's
            // signatures dated after the rotation are refused already (docs/api-additions.md).
            return call->Fail(core::InvalidField(
                "revoke", "only a token key (\"kind\": \"jwt\") is revoked; rotate an audit key"));
          }
          if (!s.deps.rotate_key) return call->Fail(core::Unavailable("this node rotates no keys"));
          core::Result<KeyRotated> made = s.deps.rotate_key(body.kind, revoke);
          if (!made.ok()) return call->Fail(made.error());
          if (made->revoked) s.token_cache.Clear();
          core::JsonWriter w;
          w.BeginObject().Key("kind").String(body.kind).Key("kid").String(made->kid);
          w.Key(made->revoked ? "revoked_kid" : "retired_kid").String(made->retired_kid);
          w.Key("time").String(made->time).EndObject();
          call->Json(200, w.Take());
        });

  t.Add({"GET", "/healthz", Access::kPublic, "", ""},
        [](const CallPtr& call) { call->Json(200, "{\"status\":\"ok\"}"); });

  t.Add({"GET", "/readyz", Access::kPublic, "", ""}, [&s](const CallPtr& call) {
    const std::string reason = s.deps.readiness ? s.deps.readiness() : "";
    core::JsonWriter w;
    w.BeginObject().Key("status").String(reason.empty() ? "ready" : "unavailable");
    if (!reason.empty()) w.Key("reason").String(reason);
    if (s.deps.replication) {
      s.deps.replication(w);
    } else {
      w.Key("role").String("leader");
    }
    w.Key("kafka").Raw(s.deps.kafka ? s.deps.kafka() : "{\"state\":\"off\"}");
    w.EndObject();
    call->Json(reason.empty() ? 200 : 503, w.Take());
  });

  t.Add({"GET", "/metrics", Access::kPublic, "", ""}, [&s](const CallPtr& call) {
    HttpResponse r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = s.deps.metrics.Render(s.deps.gauges ? s.deps.gauges() : Metrics::Gauges{});
    call->Reply(std::move(r));
  });

  t.Add({"GET", "/.well-known/jwks.json", Access::kPublic, "", ""}, [&s](const CallPtr& call) {
    HttpResponse r = JsonResponse(200, s.deps.tokens.JwksJson(s.clock().Now()));
    r.Header("Cache-Control", "public, max-age=300");
    call->Reply(std::move(r));
  });

  // The keys that verify signed audit checkpoints (../shared/spec/EVENTS.md "Signed checkpoints").
  t.Add({"GET", "/.well-known/custos-audit-keys", Access::kPublic, "", ""},
        [&s](const CallPtr& call) {
          HttpResponse r = JsonResponse(200, s.deps.checkpoints.signer().JwksJson());
          r.Header("Cache-Control", "public, max-age=300");
          call->Reply(std::move(r));
        });

  // RFC 8414 authorization server metadata, also at the OpenID discovery path (API.md), where
  // JWT middleware that takes an issuer URL looks first. Custos has no authorization endpoint
  // (client credentials only; users sign in through …/auth/login), so no response type.
  auto metadata = [&s](const CallPtr& call) {
    const std::string& iss = s.deps.tokens.issuer();
    core::JsonWriter w;
    w.BeginObject();
    w.Key("issuer").String(iss);
    w.Key("token_endpoint").String(iss + "/oauth/token");
    w.Key("jwks_uri").String(iss + "/.well-known/jwks.json");
    w.Key("introspection_endpoint").String(iss + "/oauth/introspect");
    w.Key("revocation_endpoint").String(iss + "/oauth/revoke");
    w.Key("grant_types_supported").BeginArray().String("client_credentials").EndArray();
    w.Key("response_types_supported").BeginArray().EndArray();
    for (const char* endpoint :
         {"token_endpoint_auth_methods_supported", "introspection_endpoint_auth_methods_supported",
          "revocation_endpoint_auth_methods_supported"}) {
      w.Key(endpoint).BeginArray().String("client_secret_basic").String("client_secret_post");
      w.EndArray();
    }
    // RFC 9068 access tokens, signed with the one algorithm the JWKS holds keys of.
    w.Key("access_token_signing_alg_values_supported")
        .BeginArray()
        .String(s.deps.tokens.alg_name())
        .EndArray();
    w.EndObject();
    HttpResponse r = JsonResponse(200, w.Take());
    r.Header("Cache-Control", "public, max-age=300");
    call->Reply(std::move(r));
  };
  t.Add({"GET", "/.well-known/oauth-authorization-server", Access::kPublic, "", ""}, metadata);
  t.Add({"GET", "/.well-known/openid-configuration", Access::kPublic, "", ""}, metadata);
}

}  // namespace custos::api::internal
