// API clients with their secret versions, and invitations (accept included).
#include <algorithm>

#include "api/internal/call.h"
#include "api/internal/patch.h"
#include "api/internal/views.h"
#include "api/json_body.h"
#include "core/iam/credentials.h"
#include "core/iam/password.h"
#include "core/sha256.h"

namespace custos::api::internal {
namespace {

namespace iam = core::iam;

struct CreateClientBody {
  std::string name;
  std::optional<std::string> description;
  std::optional<std::string> label;
  std::optional<std::vector<GrantBody>> bindings;
  std::optional<std::string> owner_id;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("name", s.name);
    v("description", s.description);
    v("label", s.label);
    v("bindings", s.bindings);
    v("owner_id", s.owner_id);
  }
};

struct CreateInvitationBody {
  std::string email;
  std::optional<std::vector<GrantBody>> bindings;
  std::optional<std::vector<std::string>> group_ids;
  std::optional<int> expires_in_days;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("email", s.email);
    v("bindings", s.bindings);
    v("group_ids", s.group_ids);
    v("expires_in_days", s.expires_in_days);
  }
};

struct AcceptBody {
  std::string token;
  std::string first_name;
  std::string last_name;
  std::string password;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("token", s.token);
    v("first_name", s.first_name);
    v("last_name", s.last_name);
    v("password", s.password);
  }
};

Render ClientAnswer(int status, bool with_secret) {
  return [status, with_secret](const iam::TenantState& state,
                               const projections::ExecuteResult& result) {
    const iam::ApiClient* c = state.FindClient(result.decision.id);
    if (c == nullptr) return Problem(core::NotFound("no API client " + result.decision.id));
    std::string body = Object([&](core::JsonWriter& w) { WriteClient(w, state, *c); });
    if (with_secret) body = WithCredential(std::move(body), "client_secret", result.decision);
    return JsonResponse(
        status, std::move(body), c->version,
        status == 201 ? "/v1/tenants/" + state.tenant_id() + "/api-clients/" + c->id : "");
  };
}

void CreateClientRoute(const CallPtr& call) {
  CreateClientBody b;
  if (core::Status s = ReadBody(call->req.body, b); !s.ok()) return call->Fail(s.error());
  Execute(call,
          iam::CreateClient{b.name, b.description.value_or(""), b.label.value_or(""),
                            ToGrants(b.bindings), b.owner_id},
          ClientAnswer(201, true));
}

void ListClientsRoute(const CallPtr& call) {
  ReadTenant(call, [&](const iam::TenantState& state) -> core::Result<HttpResponse> {
    CUSTOS_ASSIGN_OR_RETURN(Page page, ReadPage(call->req));
    const std::string needle = iam::Lower(call->req.Query("q").value_or(""));
    const std::optional<std::string_view> status = call->req.Query("status");
    std::string sort(call->req.Query("sort").value_or("name"));
    const bool descending = !sort.empty() && sort[0] == '-';
    if (descending) sort.erase(0, 1);
    static constexpr std::string_view kSorts[] = {"name", "status", "created_at", "last_used_at",
                                                  "secret_created_at"};
    if (std::find(std::begin(kSorts), std::end(kSorts), sort) == std::end(kSorts)) {
      return core::InvalidField("sort",
                                "must be name, status, created_at, last_used_at or "
                                "secret_created_at ('-' descending)");
    }
    // Access reviews (seed 000: "deactivate unused clients", "rotate secrets periodically").
    CUSTOS_ASSIGN_OR_RETURN(std::optional<core::Time> unused_since,
                            TimeQuery(call->req, "last_used_before"));
    CUSTOS_ASSIGN_OR_RETURN(std::optional<core::Time> secret_before,
                            TimeQuery(call->req, "secret_created_before"));
    std::vector<std::pair<std::string, const iam::ApiClient*>> sorted;
    for (const auto& [id, c] : state.clients()) {
      if (status && iam::ToString(c.status) != *status) continue;
      if (!needle.empty() && iam::Lower(c.name).find(needle) == std::string::npos) continue;
      // Never used counts from its creation.
      if (unused_since && c.last_used_at.value_or(c.created_at) >= *unused_since) continue;
      // The age of a client's secrets is that of its oldest one still valid.
      std::optional<core::Time> oldest;
      for (const iam::ClientSecret& secret : c.secrets) {
        if (!oldest || secret.created_at < *oldest) oldest = secret.created_at;
      }
      if (secret_before && (!oldest || *oldest >= *secret_before)) continue;
      std::string value;
      if (sort == "name") value = c.name;
      if (sort == "status") value = std::string(iam::ToString(c.status));
      if (sort == "created_at") value = core::FormatTime(c.created_at);
      if (sort == "last_used_at" && c.last_used_at) value = core::FormatTime(*c.last_used_at);
      if (sort == "secret_created_at" && oldest) value = core::FormatTime(*oldest);
      sorted.emplace_back(SortKey(std::move(value), id, descending), &c);
    }
    std::sort(sorted.begin(), sorted.end());
    return JsonResponse(200, PageJson<iam::ApiClient>(
                                 sorted, page, [&](core::JsonWriter& w, const iam::ApiClient& c) {
                                   WriteClient(w, state, c);
                                 }));
  });
}

void GetClientRoute(const CallPtr& call) {
  ReadTenant(call, [&](const iam::TenantState& state) -> core::Result<HttpResponse> {
    const iam::ApiClient* c = state.FindClient(call->Param("id"));
    if (c == nullptr) return core::NotFound("no API client " + call->Param("id"));
    return JsonResponse(200, Object([&](core::JsonWriter& w) { WriteClient(w, state, *c); }),
                        c->version);
  });
}

void PatchClientRoute(const CallPtr& call) {
  core::Result<Patch> patch =
      Patch::Parse(call->req.body, {"name", "description", "label", "owner_id"});
  if (!patch.ok()) return call->Fail(patch.error());
  iam::UpdateClient u;
  u.client_id = call->Param("id");
  core::Status s = patch->Get("name", u.name);
  if (s.ok()) s = patch->Get("description", u.description);
  if (s.ok()) s = patch->Get("label", u.label);
  if (s.ok()) s = patch->Get("owner_id", u.owner_id);  // null: no owner
  if (!s.ok()) return call->Fail(s.error());
  Execute(call, std::move(u), ClientAnswer(200, false));
}

RouteHandler ClientStatusRoute(bool active) {
  return [active](const CallPtr& call) {
    Execute(call, iam::ChangeClientStatus{call->Param("id"), active}, ClientAnswer(200, false));
  };
}

void DeleteClientRoute(const CallPtr& call) {
  Execute(call, iam::DeleteClient{call->Param("id")},
          [](const iam::TenantState&, const projections::ExecuteResult&) { return NoContent(); });
}

void CreateSecretRoute(const CallPtr& call) {
  Execute(call, iam::CreateClientSecret{call->Param("id")},
          [](const iam::TenantState& state, const projections::ExecuteResult& result) {
            core::JsonWriter w;
            w.BeginObject().Key("client_id").String(result.decision.id);
            w.Key("key_id").String(result.decision.key_id.value_or(""));
            w.EndObject();
            return JsonResponse(
                201, WithCredential(w.Take(), "client_secret", result.decision), std::nullopt,
                "/v1/tenants/" + state.tenant_id() + "/api-clients/" + result.decision.id);
          });
}

void RevokeSecretRoute(const CallPtr& call) {
  Execute(call, iam::RevokeClientSecret{call->Param("id"), call->Param("key_id")},
          [](const iam::TenantState&, const projections::ExecuteResult&) { return NoContent(); });
}

// ---- invitations ----

Render InvitationAnswer(int status, bool with_token) {
  return [status, with_token](const iam::TenantState& state,
                              const projections::ExecuteResult& result) {
    const iam::Invitation* i = state.FindInvitation(result.decision.id);
    if (i == nullptr) return Problem(core::NotFound("no invitation " + result.decision.id));
    std::string body = Object([&](core::JsonWriter& w) { WriteInvitation(w, *i); });
    if (with_token) body = WithCredential(std::move(body), "token", result.decision);
    return JsonResponse(
        status, std::move(body), i->version,
        status == 201 ? "/v1/tenants/" + state.tenant_id() + "/invitations/" + i->id : "");
  };
}

void CreateInvitationRoute(const CallPtr& call) {
  CreateInvitationBody b;
  if (core::Status s = ReadBody(call->req.body, b); !s.ok()) return call->Fail(s.error());
  Execute(
      call,
      iam::CreateInvitation{b.email, ToGrants(b.bindings),
                            b.group_ids.value_or(std::vector<std::string>{}), b.expires_in_days},
      InvitationAnswer(201, true));
}

void ListInvitationsRoute(const CallPtr& call) {
  ReadTenant(call, [&](const iam::TenantState& state) -> core::Result<HttpResponse> {
    CUSTOS_ASSIGN_OR_RETURN(Page page, ReadPage(call->req));
    std::optional<iam::InvitationStatus> status;
    if (std::optional<std::string_view> s = call->req.Query("status")) {
      iam::InvitationStatus st;
      if (!iam::FromString(*s, st)) {
        return core::InvalidField("status", "must be pending, accepted, expired or revoked");
      }
      status = st;
    }
    const core::Time now = call->services().clock().Now();
    std::vector<std::pair<std::string, const iam::Invitation*>> sorted;
    for (const auto& [id, inv] : state.invitations()) {
      // A pending invitation past its expiry is listed as expired, as it behaves.
      iam::InvitationStatus shown = inv.status;
      if (shown == iam::InvitationStatus::kPending && inv.expires_at <= now) {
        shown = iam::InvitationStatus::kExpired;
      }
      if (status && shown != *status) continue;
      sorted.emplace_back(SortKey(core::FormatTime(inv.created_at), id, true), &inv);
    }
    std::sort(sorted.begin(), sorted.end());
    return JsonResponse(
        200,
        PageJson<iam::Invitation>(sorted, page, [&](core::JsonWriter& w, const iam::Invitation& i) {
          iam::Invitation shown = i;
          if (shown.status == iam::InvitationStatus::kPending && shown.expires_at <= now) {
            shown.status = iam::InvitationStatus::kExpired;
          }
          WriteInvitation(w, shown);
        }));
  });
}

void GetInvitationRoute(const CallPtr& call) {
  ReadTenant(call, [&](const iam::TenantState& state) -> core::Result<HttpResponse> {
    const iam::Invitation* i = state.FindInvitation(call->Param("id"));
    if (i == nullptr) return core::NotFound("no invitation " + call->Param("id"));
    iam::Invitation shown = *i;
    if (shown.status == iam::InvitationStatus::kPending &&
        shown.expires_at <= call->services().clock().Now()) {
      shown.status = iam::InvitationStatus::kExpired;
    }
    return JsonResponse(200, Object([&](core::JsonWriter& w) { WriteInvitation(w, shown); }),
                        i->version);
  });
}

void AcceptRoute(const CallPtr& call) {
  Services& s = call->services();
  AcceptBody b;
  if (core::Status st = ReadBody(call->req.body, b); !st.ok()) return call->Fail(st.error());
  const core::Error gone{core::Errc::kGone, "the invitation is no longer valid", {}};
  const std::string hash = core::Sha256Hex(b.token);
  core::Result<std::optional<projections::Credentials::InvitationRef>> where =
      s.credentials().InvitationByToken(hash);
  if (!where.ok()) return call->Fail(where.error());
  if (!*where) return call->Fail(gone);
  const std::string tenant = (*where)->tenant;
  const std::string invitation = (*where)->invitation_id;
  // On the login pool: argon2id.
  if (b.password.size() > 1024) {
    return call->Fail(core::InvalidField("password", "is longer than 1024 bytes"));
  }
  core::Result<std::string> password_hash = s.deps.hasher.Hash(b.password);
  if (!password_hash.ok()) return call->Fail(password_hash.error());
  size_t length = 0;
  for (char c : b.password) length += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  ExecuteFor(
      call, core::TenantId(tenant),
      iam::AcceptInvitation{invitation, b.first_name, b.last_name, *password_hash, length},
      [tenant](const iam::TenantState&, const projections::ExecuteResult& result) {
        core::JsonWriter w;
        w.BeginObject().Key("tenant").String(tenant).Key("user_id").String(result.decision.id);
        w.EndObject();
        return JsonResponse(200, w.Take());
      });
}

}  // namespace

void AddClientRoutes(RouteTable& t, Services&) {
  const std::string clients = "/v1/tenants/{tenant}/api-clients";
  t.Add({"POST", clients, Access::kIam, "iam.api_client", "create"}, CreateClientRoute);
  t.Add(RouteSpec{"GET", clients, Access::kIam, "iam.api_client", "list"}.Query(
            "q status last_used_before secret_created_before sort limit cursor"),
        ListClientsRoute);
  t.Add({"GET", clients + "/{id}", Access::kIam, "iam.api_client", "read"}, GetClientRoute);
  t.Add({"PATCH", clients + "/{id}", Access::kIam, "iam.api_client", "update"}, PatchClientRoute);
  t.Add({"DELETE", clients + "/{id}", Access::kIam, "iam.api_client", "delete"}, DeleteClientRoute);
  t.Add({"POST", clients + "/{id}/activate", Access::kIam, "iam.api_client", "update"},
        ClientStatusRoute(true));
  t.Add({"POST", clients + "/{id}/deactivate", Access::kIam, "iam.api_client", "update"},
        ClientStatusRoute(false));
  t.Add({"POST", clients + "/{id}/secrets", Access::kIam, "iam.api_client", "update"},
        CreateSecretRoute);
  t.Add({"DELETE", clients + "/{id}/secrets/{key_id}", Access::kIam, "iam.api_client", "update"},
        RevokeSecretRoute);
}

void AddInvitationRoutes(RouteTable& t, Services&) {
  const std::string invitations = "/v1/tenants/{tenant}/invitations";
  t.Add({"POST", "/v1/invitations/accept", Access::kPublic, "", "", Work::kLogin, false, true},
        AcceptRoute);
  t.Add({"POST", invitations, Access::kIam, "iam.invitation", "create"}, CreateInvitationRoute);
  t.Add(RouteSpec{"GET", invitations, Access::kIam, "iam.invitation", "list"}.Query(
            "status limit cursor"),
        ListInvitationsRoute);
  t.Add({"GET", invitations + "/{id}", Access::kIam, "iam.invitation", "read"}, GetInvitationRoute);
  t.Add({"POST", invitations + "/{id}/resend", Access::kIam, "iam.invitation", "update"},
        [](const CallPtr& call) {
          Execute(call, iam::ResendInvitation{call->Param("id")}, InvitationAnswer(200, true));
        });
  t.Add({"POST", invitations + "/{id}/revoke", Access::kIam, "iam.invitation", "update"},
        [](const CallPtr& call) {
          Execute(call, iam::RevokeInvitation{call->Param("id")}, InvitationAnswer(200, false));
        });
}

}  // namespace custos::api::internal
