// libFuzzer target: JSON command bodies through the API's routes (parse, validate, decide,
// append), as root on a seeded tenant. Input: one byte choosing the route, then the body.
#include <cstddef>
#include <cstdint>
#include <string>

#include "tests/fuzz/api_harness.h"

namespace {

struct Route {
  const char* method;
  const char* path;  // {u} {g} {r} {b}: the seeded user, group, role, binding
};

constexpr Route kRoutes[] = {
    {"POST", "/v1/tenants/acme/users"},
    {"PATCH", "/v1/tenants/acme/users/{u}"},
    {"PUT", "/v1/tenants/acme/users/{u}/tags/team"},
    {"POST", "/v1/tenants/acme/groups"},
    {"PATCH", "/v1/tenants/acme/groups/{g}"},
    {"POST", "/v1/tenants/acme/groups/{g}/members"},
    {"POST", "/v1/tenants/acme/roles"},
    {"PATCH", "/v1/tenants/acme/roles/{r}"},
    {"POST", "/v1/tenants/acme/bindings"},
    {"POST", "/v1/tenants/acme/api-clients"},
    {"POST", "/v1/tenants/acme/invitations"},
    {"POST", "/v1/tenants/acme/access/check"},
    {"POST", "/v1/tenants/acme/access/check:batch"},
    {"POST", "/v1/tenants/acme/audit/events"},
    {"POST", "/v1/tenants/acme/audit/events:batch"},
    {"POST", "/v1/tenants/acme/projects"},
    {"POST", "/v1/tenants/acme/folders"},
    {"POST", "/v1/tenants/acme/resources"},
    {"POST", "/v1/tenants/acme/property-definitions"},
    {"POST", "/v1/tenants/acme/auth/login"},
    {"PATCH", "/v1/tenants/acme"},
    {"POST", "/v1/tenants"},
    {"POST", "/v1/invitations/accept"},
};

std::string Expand(std::string path, const custos::fuzz::ApiHarness& h) {
  for (const auto& [mark, id] : {std::pair<std::string, std::string>{"{u}", h.user_id},
                                 {"{g}", h.group_id},
                                 {"{r}", h.role_id},
                                 {"{b}", h.binding_id}}) {
    if (const size_t at = path.find(mark); at != std::string::npos) path.replace(at, 3, id);
  }
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  auto& h = custos::fuzz::ApiHarness::Get();
  const Route& route = kRoutes[data[0] % (sizeof kRoutes / sizeof kRoutes[0])];
  const std::string path = Expand(route.path, h);
  h.Check(h.Call(route.method, path,
                 std::string(reinterpret_cast<const char*>(data) + 1, size - 1)),
          path);
  return 0;
}
