#include "core/iam/events.h"

#include <array>

namespace custos::core::iam {

std::string NodeEventType(std::string_view kind, std::string_view verb) {
  std::string type(kind);
  type += '.';
  type += verb;
  return type;
}

bool IsCatalogType(std::string_view type) {
  static constexpr std::array<std::string_view, 14> kDomains = {
      "tenant",      "user",    "role",   "group",    "binding",  "api_client", "invitation",
      "environment", "project", "folder", "resource", "property", "auth",       "audit"};
  const std::string_view first = type.substr(0, type.find('.'));
  for (std::string_view d : kDomains) {
    if (d == first) return true;
  }
  return false;
}

}  // namespace custos::core::iam
