#include "api/internal/patch.h"

#include <algorithm>

#include "api/json_body.h"

namespace custos::api::internal {

core::Result<Patch> Patch::Parse(std::string_view body,
                                 std::initializer_list<std::string_view> known) {
  CUSTOS_ASSIGN_OR_RETURN(core::JsonValue v, ParseBody(body));
  if (!v.is_object()) return core::InvalidField("(body)", "must be a JSON object");
  for (const auto& [key, value] : v.members()) {
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      return core::InvalidField(key, "is not a known member");
    }
  }
  Patch p;
  p.v_ = std::move(v);
  return p;
}

}  // namespace custos::api::internal
