#include "core/iam/model.h"

#include <array>

namespace custos::core::iam {
namespace {

template <class E, size_t N>
bool ParseName(const std::array<std::string_view, N>& names, std::string_view text, E& out) {
  for (size_t i = 0; i < N; ++i) {
    if (names[i] == text) {
      out = static_cast<E>(i);
      return true;
    }
  }
  return false;
}

constexpr std::array<std::string_view, 3> kPlans = {"free", "pro", "enterprise"};
constexpr std::array<std::string_view, 5> kUserStatuses = {"active", "suspended", "locked",
                                                           "deactivated", "deleted"};
constexpr std::array<std::string_view, 2> kUserKinds = {"user", "admin"};
constexpr std::array<std::string_view, 2> kActiveStatuses = {"active", "inactive"};
constexpr std::array<std::string_view, 3> kGroupTypes = {"system", "configured", "app"};
constexpr std::array<std::string_view, 3> kSubjectTypes = {"user", "group", "api_client"};
constexpr std::array<std::string_view, 4> kInvitationStatuses = {"pending", "accepted", "expired",
                                                                 "revoked"};
constexpr std::array<std::string_view, 3> kPropertyTypes = {"string", "number", "boolean"};

}  // namespace

#define CUSTOS_ENUM_STRINGS_IMPL(E, names)                                         \
  std::string_view ToString(E value) { return names[static_cast<size_t>(value)]; } \
  bool FromString(std::string_view text, E& out) { return ParseName(names, text, out); }

CUSTOS_ENUM_STRINGS_IMPL(Plan, kPlans)
CUSTOS_ENUM_STRINGS_IMPL(UserStatus, kUserStatuses)
CUSTOS_ENUM_STRINGS_IMPL(UserKind, kUserKinds)
CUSTOS_ENUM_STRINGS_IMPL(ActiveStatus, kActiveStatuses)
CUSTOS_ENUM_STRINGS_IMPL(GroupType, kGroupTypes)
CUSTOS_ENUM_STRINGS_IMPL(SubjectType, kSubjectTypes)
CUSTOS_ENUM_STRINGS_IMPL(InvitationStatus, kInvitationStatuses)
CUSTOS_ENUM_STRINGS_IMPL(PropertyType, kPropertyTypes)

#undef CUSTOS_ENUM_STRINGS_IMPL

int DefaultRetentionDays(Plan plan) {
  switch (plan) {
    case Plan::kFree:
      return 30;
    case Plan::kPro:
      return 90;
    case Plan::kEnterprise:
      return 365;
  }
  return 30;
}

std::string Subject::Key() const {
  std::string key(ToString(type));
  key += ':';
  key += id;
  return key;
}

std::string User::DisplayName() const {
  if (profile.first_name.empty()) return profile.last_name;
  if (profile.last_name.empty()) return profile.first_name;
  return profile.first_name + " " + profile.last_name;
}

std::string_view NodeKind(std::string_view node_id) {
  if (node_id == kRootNode) return "tenant";
  if (node_id.starts_with("env_")) return "environment";
  if (node_id.starts_with("prj_")) return "project";
  if (node_id.starts_with("fld_")) return "folder";
  if (node_id.starts_with("res_")) return "resource";
  return "";
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace custos::core::iam
