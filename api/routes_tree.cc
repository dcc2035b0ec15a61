// The resource tree: environments, projects, folders and typed resources. Reading a node
// needs view on it, and lists show what the caller may read; creating, changing, moving and
// deleting are authorized by Decide (edit, edit, manage on the type at the parent, and on the
// node itself for inherit, app, moves and deletes: ../shared/spec/ACCESS.md rule 6).
#include <algorithm>
#include <map>

#include "api/internal/call.h"
#include "api/internal/patch.h"
#include "api/internal/views.h"
#include "api/json_body.h"

namespace custos::api::internal {
namespace {

namespace iam = core::iam;

struct NodeBody {
  std::string name;
  std::optional<std::string> environment_id;  // projects
  std::optional<std::string> parent_id;       // folders and resources
  std::optional<std::string> type;            // resources
  std::optional<std::string> app;
  std::optional<bool> inherit;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("name", s.name);
    v("environment_id", s.environment_id);
    v("parent_id", s.parent_id);
    v("type", s.type);
    v("app", s.app);
    v("inherit", s.inherit);
  }
};

std::string Collection(std::string_view kind) { return std::string(kind) + "s"; }

Render NodeAnswer(int status, std::string kind) {
  return [status, kind](const iam::TenantState& state, const projections::ExecuteResult& result) {
    const iam::Node* n = state.FindNode(result.decision.id);
    if (n == nullptr) return Problem(core::NotFound("no node " + result.decision.id));
    return JsonResponse(
        status, Object([&](core::JsonWriter& w) { WriteNode(w, *n); }), n->version,
        status == 201 ? "/v1/tenants/" + state.tenant_id() + "/" + Collection(kind) + "/" + n->id
                      : "");
  };
}

RouteHandler CreateNodeRoute(std::string kind) {
  return [kind](const CallPtr& call) {
    NodeBody b;
    if (core::Status s = ReadBody(call->req.body, b); !s.ok()) return call->Fail(s.error());
    iam::CreateNode c;
    c.kind = kind;
    c.name = b.name;
    c.app = b.app.value_or("");
    c.inherit = b.inherit.value_or(true);
    if (kind == "environment") {
      c.parent_id = std::string(iam::kRootNode);
    } else if (kind == "project") {
      if (!b.environment_id) return call->Fail(core::InvalidField("environment_id", "is required"));
      c.parent_id = *b.environment_id;
    } else {
      if (!b.parent_id) return call->Fail(core::InvalidField("parent_id", "is required"));
      c.parent_id = *b.parent_id;
    }
    if (kind == "resource") {
      if (!b.type) return call->Fail(core::InvalidField("type", "is required"));
      c.type = *b.type;
    }
    Execute(call, std::move(c), NodeAnswer(201, kind));
  };
}

RouteHandler ListNodesRoute(std::string kind) {
  return [kind](const CallPtr& call) {
    ReadTenant(call, [&](const iam::TenantState& state) -> core::Result<HttpResponse> {
      CUSTOS_ASSIGN_OR_RETURN(Page page, ReadPage(call->req));
      const std::optional<std::string_view> parent =
          call->req.Query(kind == "project" ? "environment_id" : "parent_id");
      const std::optional<std::string_view> type = call->req.Query("type");
      const iam::AccessEvaluator evaluator(state, call->services().clock().Now());
      std::vector<std::pair<std::string, const iam::Node*>> sorted;
      for (const auto& [id, n] : state.nodes()) {
        if (iam::NodeKind(id) != kind) continue;
        if (parent && n.parent_id != *parent) continue;
        if (type && n.type != *type) continue;
        if (!call->IsRoot() &&
            evaluator.LevelOf(*call->principal->Subject(), iam::AccessTarget::ForNode(n)) <
                iam::Level::kView) {
          continue;
        }
        sorted.emplace_back(SortKey(n.name, id, false), &n);
      }
      std::sort(sorted.begin(), sorted.end());
      return JsonResponse(
          200, PageJson<iam::Node>(
                   sorted, page, [](core::JsonWriter& w, const iam::Node& n) { WriteNode(w, n); }));
    });
  };
}

// kind: the collection's kind, or "" for /nodes/{id} (any node).
RouteHandler GetNodeRoute(std::string kind) {
  return [kind](const CallPtr& call) {
    ReadTenant(call, [&](const iam::TenantState& state) -> core::Result<HttpResponse> {
      const std::string id = call->Param("id");
      const iam::Node* n = state.FindNode(id);
      if (n == nullptr || (!kind.empty() && iam::NodeKind(id) != kind)) {
        return core::NotFound("no " + (kind.empty() ? std::string("node") : kind) + " " + id);
      }
      CUSTOS_RETURN_IF_ERROR(Authorize(call, state, "read",
                                       id == iam::kRootNode
                                           ? iam::AccessTarget{n->id, n->type, n->app, n->id}
                                           : iam::AccessTarget::ForNode(*n)));
      return JsonResponse(200, Object([&](core::JsonWriter& w) { WriteNode(w, *n); }), n->version);
    });
  };
}

// kNotFound unless the path's id names a node of the collection's kind.
core::Status CheckKind(const CallPtr& call, const std::string& kind) {
  const std::string id = call->Param("id");
  if (id == iam::kRootNode || iam::NodeKind(id) != kind) {
    return core::NotFound("no " + kind + " " + id);
  }
  return core::OkStatus();
}

RouteHandler PatchNodeRoute(std::string kind) {
  return [kind](const CallPtr& call) {
    // A move: a project to another environment, a folder or resource to another parent.
    const char* parent_field = kind == "project" ? "environment_id" : "parent_id";
    core::Result<Patch> patch =
        kind == "environment"
            ? Patch::Parse(call->req.body, {"name", "app", "inherit"})
            : Patch::Parse(call->req.body, {"name", "app", "inherit", parent_field});
    if (!patch.ok()) return call->Fail(patch.error());
    iam::UpdateNode u;
    u.node_id = call->Param("id");
    core::Status s = CheckKind(call, kind);
    if (s.ok()) s = patch->Get("name", u.name);
    if (s.ok()) s = patch->Get("app", u.app);
    if (s.ok()) s = patch->Get("inherit", u.inherit);
    if (s.ok() && kind != "environment") s = patch->Get(parent_field, u.parent_id);
    if (!s.ok()) return call->Fail(s.error());
    Execute(call, std::move(u), NodeAnswer(200, kind));
  };
}

RouteHandler DeleteNodeRoute(std::string kind) {
  return [kind](const CallPtr& call) {
    if (core::Status s = CheckKind(call, kind); !s.ok()) return call->Fail(s.error());
    Execute(call, iam::DeleteNode{call->Param("id")},
            [](const iam::TenantState&, const projections::ExecuteResult&) { return NoContent(); });
  };
}

}  // namespace

void AddTreeRoutes(RouteTable& t, Services&) {
  // What each list filters by (../shared/spec/API.md "Resource tree").
  static const std::map<std::string, std::string_view> kListQuery = {
      {"environment", "limit cursor"},
      {"project", "environment_id limit cursor"},
      {"folder", "parent_id limit cursor"},
      {"resource", "parent_id type limit cursor"}};
  for (const std::string kind : {"environment", "project", "folder", "resource"}) {
    const std::string base = "/v1/tenants/{tenant}/" + Collection(kind);
    t.Add({"POST", base, Access::kHandler, "", ""}, CreateNodeRoute(kind));
    t.Add(RouteSpec{"GET", base, Access::kHandler, "", ""}.Query(kListQuery.at(kind)),
          ListNodesRoute(kind));
    t.Add({"GET", base + "/{id}", Access::kHandler, "", ""}, GetNodeRoute(kind));
    t.Add({"PATCH", base + "/{id}", Access::kHandler, "", ""}, PatchNodeRoute(kind));
    t.Add({"DELETE", base + "/{id}", Access::kHandler, "", ""}, DeleteNodeRoute(kind));
  }
  t.Add({"GET", "/v1/tenants/{tenant}/nodes/{id}", Access::kHandler, "", ""}, GetNodeRoute(""));
}

}  // namespace custos::api::internal
