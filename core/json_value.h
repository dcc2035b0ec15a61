// JsonValue: a parsed JSON document (a small DOM) for the domain's own data — event `data`
// read back during replay, projection records loaded at start, tenant settings. Objects keep
// their member order; numbers keep their text. ParseJson applies the rules of
// json_canonical.h (strict RFC 8259, UTF-8, no duplicate keys, bounded depth).
//
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/json_writer.h"
#include "core/result.h"

namespace custos::core {

class JsonValue {
 public:
  enum class Kind : uint8_t { kNull, kBool, kNumber, kString, kArray, kObject };
  using Member = std::pair<std::string, JsonValue>;

  JsonValue() = default;
  static JsonValue Bool(bool b);
  static JsonValue Number(std::string text);
  static JsonValue String(std::string s);
  static JsonValue Array();
  static JsonValue Object();

  [[nodiscard]] Kind kind() const { return kind_; }
  [[nodiscard]] bool is_null() const { return kind_ == Kind::kNull; }
  [[nodiscard]] bool is_bool() const { return kind_ == Kind::kBool; }
  [[nodiscard]] bool is_number() const { return kind_ == Kind::kNumber; }
  [[nodiscard]] bool is_string() const { return kind_ == Kind::kString; }
  [[nodiscard]] bool is_array() const { return kind_ == Kind::kArray; }
  [[nodiscard]] bool is_object() const { return kind_ == Kind::kObject; }

  [[nodiscard]] bool bool_value() const { return bool_; }
  // The string's value, or the number's text.
  [[nodiscard]] const std::string& text() const { return text_; }
  // The number as an integer, if it is one that fits.
  [[nodiscard]] std::optional<int64_t> AsInt() const;
  [[nodiscard]] std::optional<double> AsDouble() const;

  [[nodiscard]] const std::vector<JsonValue>& items() const { return items_; }
  [[nodiscard]] std::vector<JsonValue>& items() { return items_; }
  [[nodiscard]] const std::vector<Member>& members() const { return members_; }
  [[nodiscard]] std::vector<Member>& members() { return members_; }
  // The member named `key` of an object, or nullptr.
  [[nodiscard]] const JsonValue* Find(std::string_view key) const;

  // Appends the value as canonical JSON.
  void Write(JsonWriter& w) const;
  [[nodiscard]] std::string ToJson() const;

  friend bool operator==(const JsonValue&, const JsonValue&) = default;

 private:
  Kind kind_ = Kind::kNull;
  bool bool_ = false;
  std::string text_;
  std::vector<JsonValue> items_;
  std::vector<Member> members_;
};

[[nodiscard]] const char* JsonKindName(JsonValue::Kind kind);

// Parses `json`; kInvalidArgument naming the byte offset and the reason.
[[nodiscard]] Result<JsonValue> ParseJson(std::string_view json);

}  // namespace custos::core
