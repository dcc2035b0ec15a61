// Groups (system, configured, app) and their members.
#include <algorithm>

#include "api/internal/call.h"
#include "api/internal/patch.h"
#include "api/internal/views.h"
#include "api/json_body.h"

namespace custos::api::internal {
namespace {

namespace iam = core::iam;

struct CreateGroupBody {
  std::string name;
  std::optional<std::string> description;
  std::optional<iam::GroupType> type;
  std::optional<std::string> scope;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("name", s.name);
    v("description", s.description);
    v("type", s.type);
    v("scope", s.scope);
  }
};

struct MembersBody {
  std::vector<iam::Subject> members;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("members", s.members);
  }
};

Render GroupAnswer(int status) {
  return [status](const iam::TenantState& state, const projections::ExecuteResult& result) {
    const iam::Group* g = state.FindGroup(result.decision.id);
    if (g == nullptr) return Problem(core::NotFound("no group " + result.decision.id));
    return JsonResponse(
        status, Object([&](core::JsonWriter& w) { WriteGroup(w, state, *g, true); }), g->version,
        status == 201 ? "/v1/tenants/" + state.tenant_id() + "/groups/" + g->id : "");
  };
}

void CreateGroupRoute(const CallPtr& call) {
  CreateGroupBody b;
  if (core::Status s = ReadBody(call->req.body, b); !s.ok()) return call->Fail(s.error());
  // Configured groups need create on iam.group, app groups manage on their project (Decide).
  const iam::GroupType type = b.type.value_or(iam::GroupType::kConfigured);
  Execute(call,
          iam::CreateGroup{b.name, b.description.value_or(""), type,
                           b.scope.value_or(std::string(iam::kRootNode))},
          GroupAnswer(201));
}

void ListGroupsRoute(const CallPtr& call) {
  ReadTenant(call, [&](const iam::TenantState& state) -> core::Result<HttpResponse> {
    CUSTOS_ASSIGN_OR_RETURN(Page page, ReadPage(call->req));
    std::optional<iam::GroupType> type;
    if (std::optional<std::string_view> t = call->req.Query("type")) {
      iam::GroupType gt;
      if (!iam::FromString(*t, gt)) {
        return core::InvalidField("type", "must be system, configured or app");
      }
      type = gt;
    }
    std::vector<std::pair<std::string, const iam::Group*>> sorted;
    for (const auto& [id, g] : state.groups()) {
      if (type && g.type != *type) continue;
      sorted.emplace_back(SortKey(g.name, id, false), &g);
    }
    std::sort(sorted.begin(), sorted.end());
    return JsonResponse(
        200, PageJson<iam::Group>(sorted, page, [&](core::JsonWriter& w, const iam::Group& g) {
          WriteGroup(w, state, g, false);
        }));
  });
}

void GetGroupRoute(const CallPtr& call) {
  ReadTenant(call, [&](const iam::TenantState& state) -> core::Result<HttpResponse> {
    const iam::Group* g = state.FindGroup(call->Param("id"));
    if (g == nullptr) return core::NotFound("no group " + call->Param("id"));
    return JsonResponse(200, Object([&](core::JsonWriter& w) { WriteGroup(w, state, *g, true); }),
                        g->version);
  });
}

void PatchGroupRoute(const CallPtr& call) {
  core::Result<Patch> patch = Patch::Parse(call->req.body, {"name", "description"});
  if (!patch.ok()) return call->Fail(patch.error());
  iam::UpdateGroup u;
  u.group_id = call->Param("id");
  core::Status s = patch->Get("name", u.name);
  if (s.ok()) s = patch->Get("description", u.description);
  if (!s.ok()) return call->Fail(s.error());
  Execute(call, std::move(u), GroupAnswer(200));
}

void DeleteGroupRoute(const CallPtr& call) {
  Execute(call, iam::DeleteGroup{call->Param("id")},
          [](const iam::TenantState&, const projections::ExecuteResult&) { return NoContent(); });
}

HttpResponse MembersAnswer(const iam::TenantState& state, const std::string& group_id) {
  const iam::Group* g = state.FindGroup(group_id);
  if (g == nullptr) return Problem(core::NotFound("no group " + group_id));
  core::JsonWriter w;
  w.BeginObject().Key("group_id").String(g->id).Key("members").BeginArray();
  for (const iam::Subject& m : g->members) {
    w.BeginObject().Key("type").String(iam::ToString(m.type)).Key("id").String(m.id);
    if (m.type == iam::SubjectType::kUser) {
      if (const iam::User* u = state.FindUser(m.id)) {
        w.Key("name").String(u->DisplayName()).Key("email").String(u->profile.email);
      }
    } else if (const iam::ApiClient* c = state.FindClient(m.id)) {
      w.Key("name").String(c->name);
    }
    w.EndObject();
  }
  w.EndArray().EndObject();
  return JsonResponse(200, w.Take(), g->version);
}

void AddMembersRoute(const CallPtr& call) {
  MembersBody b;
  if (core::Status s = ReadBody(call->req.body, b); !s.ok()) return call->Fail(s.error());
  const std::string id = call->Param("id");
  Execute(call, iam::AddGroupMembers{id, b.members},
          [id](const iam::TenantState& state, const projections::ExecuteResult&) {
            return MembersAnswer(state, id);
          });
}

void RemoveMemberRoute(const CallPtr& call) {
  Execute(call, iam::RemoveGroupMember{call->Param("id"), call->Param("member_id")},
          [](const iam::TenantState&, const projections::ExecuteResult&) { return NoContent(); });
}

void ListMembersRoute(const CallPtr& call) {
  ReadTenant(call, [&](const iam::TenantState& state) -> core::Result<HttpResponse> {
    if (state.FindGroup(call->Param("id")) == nullptr) {
      return core::NotFound("no group " + call->Param("id"));
    }
    return MembersAnswer(state, call->Param("id"));
  });
}

}  // namespace

void AddGroupRoutes(RouteTable& t, Services&) {
  const std::string groups = "/v1/tenants/{tenant}/groups";
  t.Add({"POST", groups, Access::kHandler, "", ""}, CreateGroupRoute);
  t.Add(RouteSpec{"GET", groups, Access::kIam, "iam.group", "list"}.Query("type limit cursor"),
        ListGroupsRoute);
  t.Add({"GET", groups + "/{id}", Access::kIam, "iam.group", "read"}, GetGroupRoute);
  t.Add({"PATCH", groups + "/{id}", Access::kIam, "iam.group", "update"}, PatchGroupRoute);
  t.Add({"DELETE", groups + "/{id}", Access::kIam, "iam.group", "delete"}, DeleteGroupRoute);
  t.Add({"POST", groups + "/{id}/members", Access::kIam, "iam.group", "update"}, AddMembersRoute);
  t.Add({"GET", groups + "/{id}/members", Access::kIam, "iam.group", "read"}, ListMembersRoute);
  t.Add({"DELETE", groups + "/{id}/members/{member_id}", Access::kIam, "iam.group", "update"},
        RemoveMemberRoute);
}

}  // namespace custos::api::internal
