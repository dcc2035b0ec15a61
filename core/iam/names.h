// What a name may hold and when two names are the same (../shared/spec/API.md Conventions). Names
// of users, roles, groups, clients, tree nodes, tenants and tags refuse C0 and C1 control
// characters, bidirectional controls and line separators: they would let a name hide, reorder or
// forge text in consoles, logs and exports. Uniqueness (and so the built-in names) compares names
// by NameKey: NFKC, case-folded, with default-ignorable characters (zero-width spaces and
// joiners among them) removed — "Tenant Admin" + U+200B is "Tenant Admin", "ＶＩＥＷＥＲ" is
// "viewer".
//
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace custos::core::iam {

// Why `utf8` (valid UTF-8) cannot be a name, e.g. "contains the control character U+001B";
// nullopt when it can.
[[nodiscard]] std::optional<std::string> NameProblem(std::string_view utf8);

// The form names are compared in.
[[nodiscard]] std::string NameKey(std::string_view utf8);

}  // namespace custos::core::iam
