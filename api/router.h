// Router: (method, path pattern) → route. Patterns are '/'-separated segments, literal or
// "{name}" (one segment). The route table is public so that a test can compare it with
// api/openapi.yaml.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace custos::api {

// Who may call a route (../shared/spec/ACCESS.md "Who may call the admin API").
enum class Access {
  kPublic,         // no token
  kAuthenticated,  // any active principal; login-only routes (/me, password, logout)
  kRoot,           // the root client only
  kIam,            // `action` on the IAM type `iam_type` at the tenant root
  kHandler,        // the handler decides (tree nodes, bindings, settings)
};

// Where a route's handler runs (../shared/spec/API.md: no request's work on the threads that serve
// sockets). Inline handlers only read memory and hand commands to the identity service;
// anything that hashes a password, scans or waits for the store, or reads it in bulk runs on a
// bounded pool of its own, and a full pool is answered 503 with Retry-After.
enum class Work : uint8_t {
  kInline,    // on the connection's strand
  kLogin,     // credential checks and argon2id: logins, tokens, introspection, revocation,
              // password changes, invitation acceptance (kept apart from the rest)
  kHeavy,     // long work: chain verification, exports, imports and user exports, purges
  kIndex,     // audit queries and reads that wait for the index (short; apart from kHeavy, so
              // that a flood of verifications never holds a query)
  kStore,     // short blocking store operations: idempotent POSTs (their record is read and
              // written synchronously)
  kOutbound,  // calls to other servers (single sign-on's identity providers): waiting on
              // someone else's network, never in the way of logins and tokens
};

struct RouteSpec {
  std::string method;
  std::string pattern;
  Access access = Access::kIam;
  std::string iam_type;  // for kIam
  std::string action;    // for kIam
  Work work = Work::kInline;
  // Whether Idempotency-Key is honoured (POST): never for answers that are credentials.
  bool idempotent = true;
  // Rate limited per source address before any work is queued (token, login, acceptance):
  // past the limit 429, at the cost of a map lookup on the connection's thread.
  bool limited_per_source = false;
  // The query parameters the route reads, space-separated (../shared/spec/API.md: any other → 400
  // naming it); "" for none.
  std::string_view query;
  // The media type of its body (../shared/spec/API.md: a body of another type → 415); "" when the
  // handler checks it itself.
  std::string_view media = "application/json";

  // Builders for the two fields above, on a spec written as an aggregate.
  RouteSpec&& Query(std::string_view names) && {
    query = names;
    return std::move(*this);
  }
  RouteSpec&& Media(std::string_view type) && {
    media = type;
    return std::move(*this);
  }
};

using PathParams = std::vector<std::pair<std::string, std::string>>;

class Router {
 public:
  // Returns the route's index.
  size_t Add(RouteSpec spec);

  struct Match {
    int route = -1;                    // -1: no route
    bool method_mismatch = false;      // the path is known, the method is not
    std::vector<std::string> allowed;  // then, the methods it takes (for Allow)
    PathParams params;
  };
  [[nodiscard]] Match Find(std::string_view method, std::string_view path) const;
  [[nodiscard]] const std::vector<RouteSpec>& routes() const { return routes_; }

 private:
  std::vector<RouteSpec> routes_;
  std::vector<std::vector<std::string>> segments_;
};

}  // namespace custos::api
