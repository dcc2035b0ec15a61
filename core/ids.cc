#include "core/ids.h"

#include <string>

namespace custos::core {
namespace {

bool IsLowerOrDigit(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

}  // namespace

bool IsValidTenantId(std::string_view id) {
  if (id.size() < 2 || id.size() > 63 || !IsLowerOrDigit(id[0])) return false;
  for (char c : id.substr(1)) {
    if (!IsLowerOrDigit(c) && c != '-') return false;
  }
  return true;
}

Result<TenantId> ParseTenantId(std::string_view id) {
  if (!IsValidTenantId(id)) {
    return InvalidField("tenant",
                        "must match ^[a-z0-9][a-z0-9-]{1,62}$ (2 to 63 lowercase letters, "
                        "digits or '-', not starting with '-')");
  }
  return TenantId(std::string(id));
}

bool IsValidEventType(std::string_view type) {
  // Segments separated by '.', at least two, each [a-z][a-z0-9_]*.
  size_t segments = 0;
  size_t i = 0;
  while (true) {
    if (i >= type.size() || type[i] < 'a' || type[i] > 'z') return false;
    ++i;
    while (i < type.size() && (IsLowerOrDigit(type[i]) || type[i] == '_')) ++i;
    ++segments;
    if (i == type.size()) break;
    if (type[i] != '.') return false;
    ++i;
  }
  return segments >= 2;
}

Status CheckNewEventType(std::string_view type) {
  std::string message = "'";
  message.append(type.substr(0, 80));
  if (!IsValidEventType(type)) {
    message += "' must match ^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)+$";
    return InvalidField("type", std::move(message));
  }
  if (type.size() > kMaxEventTypeBytes) {
    message += "' must be at most " + std::to_string(kMaxEventTypeBytes) + " bytes";
    return InvalidField("type", std::move(message));
  }
  return OkStatus();
}

}  // namespace custos::core
