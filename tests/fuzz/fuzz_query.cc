// libFuzzer target: query strings of the API's listing, audit and access routes (filters,
// sort, cursors, limits, dates, actions), through the real routes on a seeded tenant.
// Input: one byte choosing the route, then the query string.
#include <cstddef>
#include <cstdint>
#include <string>

#include "tests/fuzz/api_harness.h"

namespace {

constexpr const char* kRoutes[] = {
    "/v1/tenants/acme/users",
    "/v1/tenants/acme/users:export",
    "/v1/tenants/acme/users/{u}/access",
    "/v1/tenants/acme/groups",
    "/v1/tenants/acme/groups/{g}/members",
    "/v1/tenants/acme/roles",
    "/v1/tenants/acme/bindings",
    "/v1/tenants/acme/api-clients",
    "/v1/tenants/acme/invitations",
    "/v1/tenants/acme/environments",
    "/v1/tenants/acme/projects",
    "/v1/tenants/acme/access/who",
    "/v1/tenants/acme/audit/events",
    "/v1/tenants/acme/audit/events/{e}",
    "/v1/tenants/acme/audit/export",
    "/v1/tenants/acme/audit/verify",
    "/v1/tenants/acme/audit/checkpoints",
    "/v1/tenants/acme/audit/retention",
    "/v1/tenants",
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  auto& h = custos::fuzz::ApiHarness::Get();
  std::string path = kRoutes[data[0] % (sizeof kRoutes / sizeof kRoutes[0])];
  if (size_t at = path.find("{u}"); at != std::string::npos) path.replace(at, 3, h.user_id);
  if (size_t at = path.find("{g}"); at != std::string::npos) path.replace(at, 3, h.group_id);
  if (size_t at = path.find("{e}"); at != std::string::npos) path.replace(at, 3, h.event_id);
  const std::string target =
      path + "?" + std::string(reinterpret_cast<const char*>(data) + 1, size - 1);
  h.Check(h.Call("GET", target, ""), target);
  return 0;
}
