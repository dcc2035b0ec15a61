// Reading a JSON merge patch (RFC 7396) body: which members are present, which are null,
// and typed values, with 422 naming the field. Private to api/.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "core/fields.h"
#include "core/json_value.h"
#include "core/result.h"

namespace custos::api::internal {

class Patch {
 public:
  // The body as an object whose members are all in `known`; 400/422 otherwise.
  [[nodiscard]] static core::Result<Patch> Parse(std::string_view body,
                                                 std::initializer_list<std::string_view> known);

  [[nodiscard]] bool Has(std::string_view name) const { return v_.Find(name) != nullptr; }
  // A present member read as T; null reads as T{} (a cleared field).
  template <class T>
  [[nodiscard]] core::Status Get(std::string_view name, std::optional<T>& out) const {
    const core::JsonValue* m = v_.Find(name);
    if (m == nullptr) return core::OkStatus();
    T value{};
    if (!m->is_null()) CUSTOS_RETURN_IF_ERROR(core::ReadValue(*m, value, std::string(name)));
    out = std::move(value);
    return core::OkStatus();
  }
  [[nodiscard]] const core::JsonValue& value() const { return v_; }

 private:
  core::JsonValue v_;
};

}  // namespace custos::api::internal
