// Roles, bindings, and access checks (check, batch, who).
#include <algorithm>

#include "api/internal/call.h"
#include "api/internal/patch.h"
#include "api/internal/views.h"
#include "api/json_body.h"

namespace custos::api::internal {
namespace {

namespace iam = core::iam;

// A permission as sent: app and resource default to "*".
struct PermissionBody {
  std::optional<std::string> app;
  std::string resource_type;
  std::optional<std::string> resource;
  iam::Level level = iam::Level::kNone;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("app", s.app);
    v("resource_type", s.resource_type);
    v("resource", s.resource);
    v("level", s.level);
  }
  [[nodiscard]] iam::Permission ToPermission() const {
    return iam::Permission{app.value_or("*"), resource_type, resource.value_or("*"), level};
  }
};

std::vector<iam::Permission> ToPermissions(const std::vector<PermissionBody>& in) {
  std::vector<iam::Permission> out;
  for (const PermissionBody& p : in) out.push_back(p.ToPermission());
  return out;
}

struct CreateRoleBody {
  std::string name;
  std::optional<std::string> description;
  std::vector<PermissionBody> permissions;
  std::optional<std::vector<std::string>> includes;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("name", s.name);
    v("description", s.description);
    v("permissions", s.permissions);
    v("includes", s.includes);
  }
};

struct BindingBody {
  iam::Subject subject;
  std::string role_id;
  std::optional<std::string> scope;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("subject", s.subject);
    v("role_id", s.role_id);
    v("scope", s.scope);
  }
};

struct CheckBody {
  iam::Subject subject;
  std::string action;
  std::string resource_id;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("subject", s.subject);
    v("action", s.action);
    v("resource_id", s.resource_id);
  }
};

struct BatchBody {
  std::vector<CheckBody> checks;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("checks", s.checks);
  }
};

Render RoleAnswer(int status) {
  return [status](const iam::TenantState& state, const projections::ExecuteResult& result) {
    const iam::Role* r = state.FindRole(result.decision.id);
    if (r == nullptr) return Problem(core::NotFound("no role " + result.decision.id));
    return JsonResponse(
        status, Object([&](core::JsonWriter& w) { WriteRole(w, state, *r, true); }), r->version,
        status == 201 ? "/v1/tenants/" + state.tenant_id() + "/roles/" + r->id : "");
  };
}

void CreateRoleRoute(const CallPtr& call) {
  CreateRoleBody b;
  if (core::Status s = ReadBody(call->req.body, b); !s.ok()) return call->Fail(s.error());
  Execute(call,
          iam::CreateRole{b.name, b.description.value_or(""), ToPermissions(b.permissions),
                          b.includes.value_or(std::vector<std::string>{})},
          RoleAnswer(201));
}

void ListRolesRoute(const CallPtr& call) {
  ReadTenant(call, [&](const iam::TenantState& state) -> core::Result<HttpResponse> {
    CUSTOS_ASSIGN_OR_RETURN(Page page, ReadPage(call->req));
    const std::optional<std::string_view> status = call->req.Query("status");
    std::string sort(call->req.Query("sort").value_or("name"));
    const bool descending = !sort.empty() && sort[0] == '-';
    if (descending) sort.erase(0, 1);
    if (sort != "name" && sort != "users_count") {
      return core::InvalidField("sort", "must be name or users_count ('-' descending)");
    }
    std::vector<std::pair<std::string, const iam::Role*>> sorted;
    for (const auto& [id, r] : state.roles()) {
      if (status && iam::ToString(r.status) != *status) continue;
      std::string value = r.name;
      if (sort == "users_count") {
        // Holders as a fixed-width number, so that text order is numeric order.
        char count[21];
        std::snprintf(count, sizeof count, "%020zu",
                      RoleHolders(state, r.id, iam::SubjectType::kUser).size());
        value = count;
      }
      sorted.emplace_back(SortKey(std::move(value), id, descending), &r);
    }
    std::sort(sorted.begin(), sorted.end());
    return JsonResponse(
        200, PageJson<iam::Role>(sorted, page, [&](core::JsonWriter& w, const iam::Role& r) {
          WriteRole(w, state, r, false);
        }));
  });
}

void GetRoleRoute(const CallPtr& call) {
  ReadTenant(call, [&](const iam::TenantState& state) -> core::Result<HttpResponse> {
    const iam::Role* r = state.FindRole(call->Param("id"));
    if (r == nullptr) return core::NotFound("no role " + call->Param("id"));
    return JsonResponse(200, Object([&](core::JsonWriter& w) { WriteRole(w, state, *r, true); }),
                        r->version);
  });
}

void PatchRoleRoute(const CallPtr& call) {
  core::Result<Patch> patch =
      Patch::Parse(call->req.body, {"name", "description", "permissions", "includes"});
  if (!patch.ok()) return call->Fail(patch.error());
  iam::UpdateRole u;
  u.role_id = call->Param("id");
  std::optional<std::vector<PermissionBody>> permissions;
  core::Status s = patch->Get("name", u.name);
  if (s.ok()) s = patch->Get("description", u.description);
  if (s.ok()) s = patch->Get("permissions", permissions);
  if (s.ok()) s = patch->Get("includes", u.includes);
  if (!s.ok()) return call->Fail(s.error());
  if (permissions) u.permissions = ToPermissions(*permissions);
  Execute(call, std::move(u), RoleAnswer(200));
}

RouteHandler RoleStatusRoute(bool active) {
  return [active](const CallPtr& call) {
    Execute(call, iam::ChangeRoleStatus{call->Param("id"), active}, RoleAnswer(200));
  };
}

void DeleteRoleRoute(const CallPtr& call) {
  Execute(call, iam::DeleteRole{call->Param("id")},
          [](const iam::TenantState&, const projections::ExecuteResult&) { return NoContent(); });
}

void CreateBindingRoute(const CallPtr& call) {
  BindingBody b;
  if (core::Status s = ReadBody(call->req.body, b); !s.ok()) return call->Fail(s.error());
  Execute(call, iam::CreateBinding{b.subject, b.role_id, b.scope.value_or("root")},
          [](const iam::TenantState& state, const projections::ExecuteResult& result) {
            const iam::Binding* binding = state.FindBinding(result.decision.id);
            if (binding == nullptr) return Problem(core::NotFound("no binding"));
            return JsonResponse(
                201, Object([&](core::JsonWriter& w) { WriteBinding(w, *binding); }),
                binding->version, "/v1/tenants/" + state.tenant_id() + "/bindings/" + binding->id);
          });
}

void ListBindingsRoute(const CallPtr& call) {
  ReadTenant(call, [&](const iam::TenantState& state) -> core::Result<HttpResponse> {
    CUSTOS_ASSIGN_OR_RETURN(Page page, ReadPage(call->req));
    const HttpRequest& q = call->req;
    const std::optional<std::string_view> subject_type = q.Query("subject_type");
    const std::optional<std::string_view> subject_id = q.Query("subject_id");
    const std::optional<std::string_view> role_id = q.Query("role_id");
    const std::optional<std::string_view> scope = q.Query("scope");
    std::vector<std::pair<std::string, const iam::Binding*>> sorted;
    for (const auto& [id, b] : state.bindings()) {
      if (subject_type && iam::ToString(b.subject.type) != *subject_type) continue;
      if (subject_id && b.subject.id != *subject_id) continue;
      if (role_id && b.role_id != *role_id) continue;
      if (scope && b.scope != *scope) continue;
      sorted.emplace_back(id, &b);
    }
    std::sort(sorted.begin(), sorted.end());
    return JsonResponse(
        200, PageJson<iam::Binding>(sorted, page, [](core::JsonWriter& w, const iam::Binding& b) {
          WriteBinding(w, b);
        }));
  });
}

void DeleteBindingRoute(const CallPtr& call) {
  Execute(call, iam::DeleteBinding{call->Param("id")},
          [](const iam::TenantState&, const projections::ExecuteResult&) { return NoContent(); });
}

// A check may be asked by anyone about itself; about others it needs view on iam.binding.
core::Status MayCheck(const CallPtr& call, const iam::TenantState& state,
                      const iam::Subject& subject) {
  if (call->IsRoot() || call->principal->Subject() == subject) return core::OkStatus();
  return Authorize(call, state, "read", iam::AccessTarget::ForIam("iam.binding"));
}

core::Result<std::string> CheckOne(const CallPtr& call, const iam::TenantState& state,
                                   const CheckBody& c, const iam::AccessEvaluator& evaluator) {
  CUSTOS_RETURN_IF_ERROR(MayCheck(call, state, c.subject));
  const iam::Node* node = state.FindNode(c.resource_id);
  if (node == nullptr) return core::InvalidField("resource_id", "no node " + c.resource_id);
  CUSTOS_ASSIGN_OR_RETURN(iam::CheckResult r,
                          evaluator.Check(c.subject, c.action, iam::AccessTarget::ForNode(*node)));
  core::JsonWriter w;
  w.BeginObject().Key("allowed").Bool(r.allowed).Key("level").String(iam::ToString(r.level));
  w.Key("required_level").String(iam::ToString(r.required_level));
  w.Key("reason").String(r.reason);
  w.Key("grants").BeginArray();
  for (const iam::GrantRef& g : r.grants) WriteGrant(w, state, g.Detail());
  w.EndArray().EndObject();
  return w.Take();
}

void CheckRoute(const CallPtr& call) {
  CheckBody body;
  if (core::Status s = ReadBody(call->req.body, body); !s.ok()) return call->Fail(s.error());
  ReadTenant(call, [&](const iam::TenantState& state) -> core::Result<HttpResponse> {
    const iam::AccessEvaluator evaluator(state, call->services().clock().Now());
    CUSTOS_ASSIGN_OR_RETURN(std::string json, CheckOne(call, state, body, evaluator));
    return JsonResponse(200, std::move(json));
  });
}

void CheckBatchRoute(const CallPtr& call) {
  BatchBody body;
  if (core::Status s = ReadBody(call->req.body, body); !s.ok()) return call->Fail(s.error());
  if (body.checks.empty() || body.checks.size() > 1000) {
    return call->Fail(core::InvalidField("checks", "must hold 1 to 1000 checks"));
  }
  ReadTenant(call, [&](const iam::TenantState& state) -> core::Result<HttpResponse> {
    const iam::AccessEvaluator evaluator(state, call->services().clock().Now());
    std::string out = "{\"results\":[";
    for (size_t i = 0; i < body.checks.size(); ++i) {
      core::Result<std::string> one = CheckOne(call, state, body.checks[i], evaluator);
      if (!one.ok()) {
        core::Error e = std::move(one).error();
        for (core::FieldError& f : e.fields)
          f.field = "checks[" + std::to_string(i) + "]." + f.field;
        if (e.fields.empty() && e.code == core::Errc::kInvalidArgument) {
          e.fields.push_back({"checks[" + std::to_string(i) + "]", e.message});
        }
        return e;
      }
      if (i > 0) out += ',';
      out += *one;
    }
    out += "]}";
    return JsonResponse(200, std::move(out));
  });
}

void WhoRoute(const CallPtr& call) {
  ReadTenant(call, [&](const iam::TenantState& state) -> core::Result<HttpResponse> {
    const std::string id(call->req.Query("resource_id").value_or(""));
    if (id.empty()) return core::InvalidField("resource_id", "is required");
    const iam::Node* node = state.FindNode(id);
    if (node == nullptr) return core::NotFound("no node " + id);
    const iam::AccessEvaluator evaluator(state, call->services().clock().Now());
    core::JsonWriter w;
    w.BeginObject().Key("resource_id").String(id).Key("items").BeginArray();
    for (const iam::WhoEntry& e : evaluator.Who(*node)) {
      w.BeginObject().Key("subject").BeginObject().Key("type").String(
          iam::ToString(e.subject.type));
      w.Key("id").String(e.subject.id).Key("name").String(state.NameOf(e.subject)).EndObject();
      w.Key("level").String(iam::ToString(e.level)).EndObject();
    }
    w.EndArray().EndObject();
    return JsonResponse(200, w.Take());
  });
}

}  // namespace

void AddRoleRoutes(RouteTable& t, Services&) {
  const std::string roles = "/v1/tenants/{tenant}/roles";
  t.Add({"POST", roles, Access::kIam, "iam.role", "create"}, CreateRoleRoute);
  t.Add(RouteSpec{"GET", roles, Access::kIam, "iam.role", "list"}.Query("status sort limit cursor"),
        ListRolesRoute);
  t.Add({"GET", roles + "/{id}", Access::kIam, "iam.role", "read"}, GetRoleRoute);
  t.Add({"PATCH", roles + "/{id}", Access::kIam, "iam.role", "update"}, PatchRoleRoute);
  t.Add({"POST", roles + "/{id}/activate", Access::kIam, "iam.role", "update"},
        RoleStatusRoute(true));
  t.Add({"POST", roles + "/{id}/deactivate", Access::kIam, "iam.role", "update"},
        RoleStatusRoute(false));
  t.Add({"DELETE", roles + "/{id}", Access::kIam, "iam.role", "delete"}, DeleteRoleRoute);

  const std::string bindings = "/v1/tenants/{tenant}/bindings";
  t.Add({"POST", bindings, Access::kIam, "iam.binding", "administer"}, CreateBindingRoute);
  t.Add(RouteSpec{"GET", bindings, Access::kIam, "iam.binding", "list"}.Query(
            "subject_type subject_id role_id scope limit cursor"),
        ListBindingsRoute);
  t.Add({"DELETE", bindings + "/{id}", Access::kIam, "iam.binding", "administer"},
        DeleteBindingRoute);

  t.Add({"POST", "/v1/tenants/{tenant}/access/check", Access::kHandler, "", ""}, CheckRoute);
  t.Add({"POST", "/v1/tenants/{tenant}/access/check:batch", Access::kHandler, "", ""},
        CheckBatchRoute);
  t.Add(RouteSpec{"GET", "/v1/tenants/{tenant}/access/who", Access::kIam, "iam.binding", "read"}
            .Query("resource_id"),
        WhoRoute);
}

}  // namespace custos::api::internal
