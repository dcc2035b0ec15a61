#include "api/json_body.h"

namespace custos::api {

core::Result<core::JsonValue> ParseBody(std::string_view body) {
  // The domain's own strict parser: linear in the body, numbers kept as sent (their text),
  // duplicate keys refused, at most 64 levels and 10,000 members per object; an error names
  // the byte offset.
  return core::ParseJson(body);
}

}  // namespace custos::api
