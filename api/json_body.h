// Request bodies: parsed by core's strict parser into a core::JsonValue (invalid JSON → 400
// naming the byte offset; linear in the body; numbers kept exactly as sent), and read into a
// reflected request struct (core/fields.h) strictly: a missing or mistyped field → 422 naming
// it; an unknown member → 422 naming it; every such member is named, not only the first.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>

#include "core/fields.h"
#include "core/json_value.h"
#include "core/result.h"

namespace custos::api {

// The body as a JSON value; kInvalidArgument (400) with the byte offset on malformed JSON,
// invalid UTF-8, a duplicate key, nesting deeper than 64 or an object of more than 10,000
// members.
[[nodiscard]] core::Result<core::JsonValue> ParseBody(std::string_view body);

// Names the first member of `v` (recursively, through objects listed by the struct's
// fields) that the struct does not know; OkStatus if none.
template <core::Reflected T>
[[nodiscard]] core::Status RejectUnknownMembers(const core::JsonValue& v, const std::string& path);

// ParseBody + strict ReadValue into T.
template <core::Reflected T>
[[nodiscard]] core::Status ReadBody(std::string_view body, T& out) {
  CUSTOS_ASSIGN_OR_RETURN(core::JsonValue v, ParseBody(body));
  if (!v.is_object()) return core::InvalidField("(body)", "must be a JSON object");
  core::FieldChecks checks;  // unknown, missing and mistyped members, all named
  checks.Add(RejectUnknownMembers<T>(v, ""));
  checks.Add(core::ReadValue(v, out, ""));
  return std::move(checks).Take();
}

namespace json_body_internal {
// Collects a struct's member names.
struct NameCollector {
  std::vector<std::string_view> names;
  template <class F>
  void operator()(std::string_view name, const F&) {
    names.push_back(name);
  }
};
template <class T>
struct IsReflectedVector : std::false_type {};
template <class T>
struct IsReflectedVector<std::vector<T>> : std::bool_constant<core::Reflected<T>> {};
template <class T>
struct IsReflectedOptional : std::false_type {};
template <class T>
struct IsReflectedOptional<std::optional<T>> : std::bool_constant<core::Reflected<T>> {};

// Recurses into reflected members of `s`.
struct NestedChecker {
  const core::JsonValue& object;
  const std::string& path;
  core::Status status;
  template <class F>
  void operator()(std::string_view name, const F&) {
    if (!status.ok()) return;
    const core::JsonValue* member = object.Find(name);
    if (member == nullptr) return;
    const std::string at = path.empty() ? std::string(name) : path + "." + std::string(name);
    if constexpr (core::Reflected<F>) {
      if (member->is_object()) status = RejectUnknownMembers<F>(*member, at);
    } else if constexpr (IsReflectedOptional<F>::value) {
      if (member->is_object()) {
        status = RejectUnknownMembers<typename F::value_type>(*member, at);
      }
    } else if constexpr (IsReflectedVector<F>::value) {
      if (!member->is_array()) return;
      for (size_t i = 0; i < member->items().size() && status.ok(); ++i) {
        if (member->items()[i].is_object()) {
          status = RejectUnknownMembers<typename F::value_type>(member->items()[i],
                                                                at + "[" + std::to_string(i) + "]");
        }
      }
    }
  }
};
}  // namespace json_body_internal

template <core::Reflected T>
core::Status RejectUnknownMembers(const core::JsonValue& v, const std::string& path) {
  T probe{};
  json_body_internal::NameCollector names;
  T::Fields(probe, names);
  core::FieldChecks checks;
  for (const auto& [key, value] : v.members()) {
    if (std::find(names.names.begin(), names.names.end(), key) == names.names.end()) {
      const std::string at = path.empty() ? key : path + "." + key;
      checks.Add(core::InvalidField(at, "is not a known member"));
    }
  }
  json_body_internal::NestedChecker nested{v, path, {}};
  T::Fields(probe, nested);
  checks.Add(std::move(nested.status));
  return std::move(checks).Take();
}

}  // namespace custos::api
