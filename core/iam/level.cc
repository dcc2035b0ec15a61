#include "core/iam/level.h"

#include <array>
#include <cctype>
#include <string>
#include <utility>

namespace custos::core::iam {
namespace {

constexpr std::array<std::string_view, 6> kLevelNames = {"none", "view",   "operate",
                                                         "edit", "manage", "admin"};

}  // namespace

std::string_view ToString(Level level) { return kLevelNames[static_cast<size_t>(level)]; }

bool FromString(std::string_view text, Level& out) {
  for (size_t i = 0; i < kLevelNames.size(); ++i) {
    if (kLevelNames[i] == text) {
      out = static_cast<Level>(i);
      return true;
    }
  }
  // ../shared/spec/ACCESS.md "Levels": the vocabularies each level stands for.
  static constexpr std::array<std::pair<std::string_view, Level>, 16> kWords = {{
      {"none", Level::kNone},
      {"read", Level::kView},
      {"view", Level::kView},
      {"viewer", Level::kView},
      {"operate", Level::kOperate},
      {"operator", Level::kOperate},
      {"write", Level::kEdit},
      {"edit", Level::kEdit},
      {"editor", Level::kEdit},
      {"designer", Level::kEdit},
      {"manage", Level::kManage},
      {"manager", Level::kManage},
      {"owner", Level::kManage},
      {"all", Level::kAdmin},
      {"admin", Level::kAdmin},
      {"administrate", Level::kAdmin},
  }};
  if (text.size() > 16) return false;
  std::string lower(text);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const auto& [word, level] : kWords) {
    if (word == lower) {
      out = level;
      return true;
    }
  }
  return false;
}

std::optional<Level> RequiredLevel(std::string_view action) {
  static constexpr std::array<std::pair<std::string_view, Level>, 7> kActions = {{
      {"read", Level::kView},
      {"list", Level::kView},
      {"execute", Level::kOperate},
      {"create", Level::kEdit},
      {"update", Level::kEdit},
      {"delete", Level::kManage},
      {"administer", Level::kAdmin},
  }};
  for (const auto& [name, level] : kActions) {
    if (name == action) return level;
  }
  return std::nullopt;
}

}  // namespace custos::core::iam
