// Router: (method, path pattern) → route. Patterns are '/'-separated segments, literal or
// "{name}" (one segment). The route table is public so that a test can compare it with
// api/openapi.yaml.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace custos::api {

// Who may call a route (ACCESS.md "Who may call the admin API").
enum class Access {
  kPublic,         // no token
  kAuthenticated,  // any active principal; login-only routes (/me, password, logout)
  kRoot,           // the root client only
  kIam,            // `action` on the IAM type `iam_type` at the tenant root
  kHandler,        // the handler decides (tree nodes, bindings, settings)
};

struct RouteSpec {
  std::string method;
  std::string pattern;
  Access access = Access::kIam;
  std::string iam_type;  // for kIam
  std::string action;    // for kIam
};

using PathParams = std::vector<std::pair<std::string, std::string>>;

class Router {
 public:
  // Returns the route's index.
  size_t Add(RouteSpec spec);

  struct Match {
    int route = -1;                // -1: no route
    bool method_mismatch = false;  // the path is known, the method is not
    PathParams params;
  };
  [[nodiscard]] Match Find(std::string_view method, std::string_view path) const;
  [[nodiscard]] const std::vector<RouteSpec>& routes() const { return routes_; }

 private:
  std::vector<RouteSpec> routes_;
  std::vector<std::vector<std::string>> segments_;
};

}  // namespace custos::api
