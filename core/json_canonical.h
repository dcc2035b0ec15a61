// Canonical JSON: one text for one value, so that the bytes the hash chain covers are
// well defined. Canonical text is compact (no whitespace outside strings), keeps members in
// their given order, escapes strings minimally (only '"', '\\' and control characters, the
// latter as \b \f \n \r \t or \u00XX), keeps numbers as written, and has no duplicate keys.
//
// CanonicalizeJson turns any valid JSON text (RFC 8259, UTF-8) into that form, or says where
// and why it is not valid. It nests at most kMaxJsonDepth levels, with at most
// kMaxJsonMembers members per object, in time linear in the input. It is not RFC 8785 (JCS):
// members keep their order and numbers their text (docs/events.md "Canonical form").
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"

namespace custos::core {

inline constexpr int kMaxJsonDepth = 64;
inline constexpr size_t kMaxJsonMembers = 10'000;  // per object (../shared/spec/API.md Conventions)

// The canonical text of `json`, or kInvalidArgument naming the byte offset and the reason.
[[nodiscard]] Result<std::string> CanonicalizeJson(std::string_view json);

// True if `json` is valid JSON already in canonical form.
[[nodiscard]] bool IsCanonicalJson(std::string_view json);

// True if `json` is canonical and its value is an object.
[[nodiscard]] bool IsCanonicalJsonObject(std::string_view json);

}  // namespace custos::core
