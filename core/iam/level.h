// The one ordered ladder of access levels (../shared/spec/ACCESS.md) and the actions that need
// them.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace custos::core::iam {

enum class Level : uint8_t {
  kNone = 0,
  kView = 1,
  kOperate = 2,
  kEdit = 3,
  kManage = 4,
  kAdmin = 5
};

[[nodiscard]] std::string_view ToString(Level level);
// A level's name, or one of the vocabulary words ../shared/spec/ACCESS.md's ladder says it stands
// for (Read, Viewer; Operator; Write, Editor, Designer; Manager, Owner; All, Administrate …), in
// any case. What is stored and answered is always the level's own name.
[[nodiscard]] bool FromString(std::string_view text, Level& out);

// read, list → view; execute → operate; create, update → edit; delete → manage;
// administer → admin. nullopt for an unknown action.
[[nodiscard]] std::optional<Level> RequiredLevel(std::string_view action);

}  // namespace custos::core::iam
