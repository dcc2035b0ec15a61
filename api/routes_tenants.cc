// Tenants (root), their settings and legal hold, and user property definitions.
#include "api/internal/call.h"
#include "api/internal/patch.h"
#include "api/internal/views.h"
#include "api/json_body.h"

namespace custos::api::internal {
namespace {

namespace iam = core::iam;

struct CreateTenantBody {
  std::string id;
  std::string name;
  std::optional<iam::Plan> plan;
  std::optional<int> retention_days;
  std::optional<std::vector<std::string>> environments;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("id", s.id);
    v("name", s.name);
    v("plan", s.plan);
    v("retention_days", s.retention_days);
    v("environments", s.environments);
  }
};

struct LegalHoldBody {
  bool enabled = false;
  std::optional<std::string> reason;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("enabled", s.enabled);
    v("reason", s.reason);
  }
};

struct PropertyBody {
  std::string key;
  iam::PropertyType type = iam::PropertyType::kString;
  std::optional<std::string> description;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("key", s.key);
    v("type", s.type);
    v("description", s.description);
  }
};

HttpResponse TenantResponse(const iam::TenantState& state, int status) {
  const iam::Tenant& t = state.tenant();
  return JsonResponse(status,
                      Object([&](core::JsonWriter& w) { WriteTenant(w, t, state.seats_used()); }),
                      t.version, status == 201 ? "/v1/tenants/" + t.id : "");
}

void CreateTenantRoute(const CallPtr& call) {
  CreateTenantBody body;
  if (core::Status s = ReadBody(call->req.body, body); !s.ok()) return call->Fail(s.error());
  core::Result<core::TenantId> id = core::ParseTenantId(body.id);
  if (!id.ok()) {
    return call->Fail(core::InvalidField("id", "must match ^[a-z0-9][a-z0-9-]{1,62}$"));
  }
  if (body.id == core::kSystemChain) {
    return call->Fail(core::InvalidField("id", "is reserved for the node's own events"));
  }
  iam::CreateTenant c;
  c.id = body.id;
  c.name = body.name;
  c.plan = body.plan.value_or(iam::Plan::kFree);
  c.retention_days = body.retention_days;
  if (body.environments) c.environments = *body.environments;
  ExecuteFor(call, *id, c, [](const iam::TenantState& state, const projections::ExecuteResult&) {
    return TenantResponse(state, 201);
  });
}

void ListTenantsRoute(const CallPtr& call) {
  core::Result<Page> page = ReadPage(call->req);
  if (!page.ok()) return call->Fail(page.error());
  struct Shown {
    iam::Tenant tenant;
    size_t seats_used = 0;
  };
  std::vector<Shown> tenants;
  for (const core::TenantId& id : call->services().identity().Tenants()) {
    core::Result<Shown> t = call->services().identity().Read(id, [](const iam::TenantState& s) {
      return Shown{s.tenant(), s.seats_used()};
    });
    if (t.ok()) tenants.push_back(std::move(t).value());
  }
  std::vector<std::pair<std::string, const Shown*>> sorted;
  for (const Shown& t : tenants) sorted.emplace_back(t.tenant.id, &t);
  std::sort(sorted.begin(), sorted.end());
  call->Json(200, PageJson<Shown>(sorted, *page, [](core::JsonWriter& w, const Shown& t) {
               WriteTenant(w, t.tenant, t.seats_used);
             }));
}

void GetTenantRoute(const CallPtr& call) {
  ReadTenant(call, [](const iam::TenantState& state) -> core::Result<HttpResponse> {
    return TenantResponse(state, 200);
  });
}

void PatchTenantRoute(const CallPtr& call) {
  core::Result<Patch> patch =
      Patch::Parse(call->req.body, {"name", "plan", "retention_days", "seat_limit", "settings"});
  if (!patch.ok()) return call->Fail(patch.error());
  iam::UpdateTenant u;
  core::Status s = patch->Get("name", u.name);
  if (s.ok()) s = patch->Get("plan", u.plan);
  if (s.ok()) s = patch->Get("retention_days", u.retention_days);
  if (s.ok()) s = patch->Get("seat_limit", u.seat_limit);  // null or 0: no limit
  if (s.ok() && patch->Has("settings")) {
    const core::JsonValue* settings = patch->value().Find("settings");
    if (!settings->is_object()) {
      s = core::InvalidField("settings", "must be an object");
    } else {
      for (const auto& [key, value] : settings->members()) {
        static constexpr std::string_view kKnown[] = {
            "lockout_threshold",   "lockout_minutes",
            "password_min_length", "temp_password_ttl_hours",
            "invite_ttl_days",     "token_ttl_seconds",
            "mfa_required"};
        if (std::find(std::begin(kKnown), std::end(kKnown), key) == std::end(kKnown)) {
          s = core::InvalidField("settings." + key, "is not a known setting");
          break;
        }
      }
      iam::TenantSettingsPatch p;
      auto read = [&](const char* name, std::optional<int>& out) {
        if (!s.ok()) return;
        if (const core::JsonValue* v = settings->Find(name)) {
          int value = 0;
          s = core::ReadValue(*v, value, std::string("settings.") + name);
          out = value;
        }
      };
      read("lockout_threshold", p.lockout_threshold);
      read("lockout_minutes", p.lockout_minutes);
      read("password_min_length", p.password_min_length);
      read("temp_password_ttl_hours", p.temp_password_ttl_hours);
      read("invite_ttl_days", p.invite_ttl_days);
      read("token_ttl_seconds", p.token_ttl_seconds);
      if (const core::JsonValue* v = settings->Find("mfa_required"); v != nullptr && s.ok()) {
        std::string value;
        s = core::ReadValue(*v, value, "settings.mfa_required");
        p.mfa_required = value;
      }
      u.settings = p;
    }
  }
  if (!s.ok()) return call->Fail(s.error());
  Execute(call, u, [](const iam::TenantState& state, const projections::ExecuteResult&) {
    return TenantResponse(state, 200);
  });
}

void SetLegalHoldRoute(const CallPtr& call) {
  LegalHoldBody body;
  if (core::Status s = ReadBody(call->req.body, body); !s.ok()) return call->Fail(s.error());
  Execute(call, iam::SetLegalHold{body.enabled, body.reason.value_or("")},
          [](const iam::TenantState& state, const projections::ExecuteResult&) {
            return TenantResponse(state, 200);
          });
}

void DefinePropertyRoute(const CallPtr& call) {
  PropertyBody body;
  if (core::Status s = ReadBody(call->req.body, body); !s.ok()) return call->Fail(s.error());
  const std::string key = body.key;
  Execute(
      call, iam::DefineProperty{body.key, body.type, body.description.value_or("")},
      [key, call](const iam::TenantState& state, const projections::ExecuteResult&) {
        return JsonResponse(
            201, Object([&](core::JsonWriter& w) { WriteProperty(w, *state.FindProperty(key)); }),
            std::nullopt, "/v1/tenants/" + call->Param("tenant") + "/property-definitions/" + key);
      });
}

void ListPropertiesRoute(const CallPtr& call) {
  ReadTenant(call, [](const iam::TenantState& state) -> core::Result<HttpResponse> {
    core::JsonWriter w;
    w.BeginObject().Key("items").BeginArray();
    for (const auto& [key, p] : state.properties()) WriteProperty(w, p);
    w.EndArray().Key("next_cursor").Null().EndObject();
    return JsonResponse(200, w.Take());
  });
}

void RemovePropertyRoute(const CallPtr& call) {
  Execute(call, iam::RemoveProperty{call->Param("key")},
          [](const iam::TenantState&, const projections::ExecuteResult&) { return NoContent(); });
}

// The tenant's state and audit index as of one tenant_seq, as digests that are equal on every
// node — leader and followers — at the same tenant_seq (../shared/spec/REPLICATION.md).
void DigestRoute(const CallPtr& call) {
  const ApiDeps& deps = call->services().deps;
  const core::TenantId tenant = call->Tenant();
  // No purge moves the tenant's first event while the index is read.
  std::shared_ptr<projections::Retention::Lease> lease = deps.trail.Hold(tenant);
  core::Result<projections::IdentityService::TenantDigest> state =
      deps.identity.DigestOf(tenant, std::chrono::seconds(2));
  if (!state.ok()) return call->Fail(state.error());
  core::Result<std::optional<core::TenantSeq>> first = deps.log.FirstTenantSeq(tenant);
  if (!first.ok()) return call->Fail(first.error());
  const uint64_t from = first->has_value() ? (*first)->value() : 1;
  core::Result<std::string> index =
      deps.audit.Digest(tenant, from, state->tenant_seq, std::chrono::seconds(5));
  if (!index.ok()) return call->Fail(index.error());
  core::JsonWriter w;
  w.BeginObject().Key("tenant_seq").UInt(state->tenant_seq);
  w.Key("state_digest").String(state->digest).Key("index_digest").String(*index).EndObject();
  call->Json(200, w.Take());
}

}  // namespace

void AddTenantRoutes(RouteTable& t, Services&) {
  t.Add({"POST", "/v1/tenants", Access::kRoot, "", ""}, CreateTenantRoute);
  // Reads every tenant's state (loading those not in memory yet): on the heavy pool.
  t.Add(RouteSpec{"GET", "/v1/tenants", Access::kRoot, "", "", Work::kHeavy}.Query("limit cursor"),
        ListTenantsRoute);
  t.Add({"GET", "/v1/tenants/{tenant}", Access::kIam, "iam.settings", "read"}, GetTenantRoute);
  t.Add({"PATCH", "/v1/tenants/{tenant}", Access::kIam, "iam.settings", "administer"},
        PatchTenantRoute);
  t.Add({"POST", "/v1/tenants/{tenant}/legal-hold", Access::kRoot, "", ""}, SetLegalHoldRoute);
  // Waits for the tenant's writes to settle and reads its whole audit index: the heavy pool.
  t.Add(RouteSpec{"GET", "/v1/tenants/{tenant}/digest", Access::kRoot, "", "", Work::kHeavy},
        DigestRoute);
  t.Add({"POST", "/v1/tenants/{tenant}/property-definitions", Access::kIam, "iam.settings",
         "administer"},
        DefinePropertyRoute);
  t.Add({"GET", "/v1/tenants/{tenant}/property-definitions", Access::kIam, "iam.user", "read"},
        ListPropertiesRoute);
  t.Add({"DELETE", "/v1/tenants/{tenant}/property-definitions/{key}", Access::kIam, "iam.settings",
         "administer"},
        RemovePropertyRoute);
}

}  // namespace custos::api::internal
