#include "api/json_body.h"

#include <simdjson.h>

namespace custos::api {
namespace {

constexpr int kMaxDepth = 64;

core::Result<core::JsonValue> Convert(simdjson::dom::element e, int depth) {
  if (depth > kMaxDepth) return core::InvalidArgument("JSON nested deeper than 64 levels");
  switch (e.type()) {
    case simdjson::dom::element_type::OBJECT: {
      core::JsonValue out = core::JsonValue::Object();
      for (simdjson::dom::key_value_pair kv : simdjson::dom::object(e)) {
        for (const auto& m : out.members()) {
          if (m.first == kv.key) {
            return core::InvalidArgument("duplicate member '" + std::string(kv.key) + "'");
          }
        }
        CUSTOS_ASSIGN_OR_RETURN(core::JsonValue v, Convert(kv.value, depth + 1));
        out.members().emplace_back(std::string(kv.key), std::move(v));
      }
      return out;
    }
    case simdjson::dom::element_type::ARRAY: {
      core::JsonValue out = core::JsonValue::Array();
      for (simdjson::dom::element item : simdjson::dom::array(e)) {
        CUSTOS_ASSIGN_OR_RETURN(core::JsonValue v, Convert(item, depth + 1));
        out.items().push_back(std::move(v));
      }
      return out;
    }
    case simdjson::dom::element_type::STRING:
      return core::JsonValue::String(std::string(std::string_view(e)));
    case simdjson::dom::element_type::INT64:
      return core::JsonValue::Number(std::to_string(int64_t(e)));
    case simdjson::dom::element_type::UINT64:
      return core::JsonValue::Number(std::to_string(uint64_t(e)));
    case simdjson::dom::element_type::DOUBLE: {
      char buf[40];
      std::snprintf(buf, sizeof buf, "%.17g", double(e));
      return core::JsonValue::Number(buf);
    }
    case simdjson::dom::element_type::BOOL:
      return core::JsonValue::Bool(bool(e));
    case simdjson::dom::element_type::NULL_VALUE:
      return core::JsonValue();
  }
  return core::InvalidArgument("unexpected JSON value");
}

}  // namespace

core::Result<core::JsonValue> ParseBody(std::string_view body) {
  thread_local simdjson::dom::parser parser(size_t{64} << 20);
  simdjson::dom::element root;
  const simdjson::padded_string padded(body);
  const simdjson::error_code error = parser.parse(padded).get(root);
  if (error) {
    // simdjson says what, not where: find the byte offset with the strict parser.
    core::Result<core::JsonValue> located = core::ParseJson(body);
    if (!located.ok()) return core::InvalidArgument(located.error().message);
    return core::InvalidArgument(std::string("invalid JSON: ") + simdjson::error_message(error));
  }
  return Convert(root, 0);
}

}  // namespace custos::api
