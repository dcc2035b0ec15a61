#include "core/json_value.h"

#include <charconv>
#include <cstdlib>

#include "core/internal/json_parser.h"

namespace custos::core {
namespace {

// Builds a JsonValue from the parser's events.
class DomBuilder {
 public:
  void Null() { Put(JsonValue()); }
  void Bool(bool b) { Put(JsonValue::Bool(b)); }
  void Number(std::string_view text) { Put(JsonValue::Number(std::string(text))); }
  void String(std::string s) { Put(JsonValue::String(std::move(s))); }
  void BeginObject() { stack_.push_back(JsonValue::Object()); }
  void BeginArray() { stack_.push_back(JsonValue::Array()); }
  void Key(const std::string& key) { keys_.push_back(key); }
  void EndObject() { Pop(); }
  void EndArray() { Pop(); }
  JsonValue Take() { return std::move(root_); }

 private:
  void Put(JsonValue v) {
    if (stack_.empty()) {
      root_ = std::move(v);
    } else if (stack_.back().is_array()) {
      stack_.back().items().push_back(std::move(v));
    } else {
      stack_.back().members().emplace_back(std::move(keys_.back()), std::move(v));
      keys_.pop_back();
    }
  }
  void Pop() {
    JsonValue v = std::move(stack_.back());
    stack_.pop_back();
    Put(std::move(v));
  }

  JsonValue root_;
  std::vector<JsonValue> stack_;
  std::vector<std::string> keys_;
};

}  // namespace

JsonValue JsonValue::Bool(bool b) {
  JsonValue v;
  v.kind_ = Kind::kBool;
  v.bool_ = b;
  return v;
}

JsonValue JsonValue::Number(std::string text) {
  JsonValue v;
  v.kind_ = Kind::kNumber;
  v.text_ = std::move(text);
  return v;
}

JsonValue JsonValue::String(std::string s) {
  JsonValue v;
  v.kind_ = Kind::kString;
  v.text_ = std::move(s);
  return v;
}

JsonValue JsonValue::Array() {
  JsonValue v;
  v.kind_ = Kind::kArray;
  return v;
}

JsonValue JsonValue::Object() {
  JsonValue v;
  v.kind_ = Kind::kObject;
  return v;
}

std::optional<int64_t> JsonValue::AsInt() const {
  if (kind_ != Kind::kNumber) return std::nullopt;
  int64_t out = 0;
  auto [ptr, ec] = std::from_chars(text_.data(), text_.data() + text_.size(), out);
  if (ec != std::errc() || ptr != text_.data() + text_.size()) return std::nullopt;
  return out;
}

std::optional<double> JsonValue::AsDouble() const {
  if (kind_ != Kind::kNumber) return std::nullopt;
  return std::strtod(text_.c_str(), nullptr);
}

const JsonValue* JsonValue::Find(std::string_view key) const {
  for (const Member& m : members_) {
    if (m.first == key) return &m.second;
  }
  return nullptr;
}

void JsonValue::Write(JsonWriter& w) const {
  switch (kind_) {
    case Kind::kNull:
      w.Null();
      return;
    case Kind::kBool:
      w.Bool(bool_);
      return;
    case Kind::kNumber:
      w.Raw(text_);
      return;
    case Kind::kString:
      w.String(text_);
      return;
    case Kind::kArray:
      w.BeginArray();
      for (const JsonValue& item : items_) item.Write(w);
      w.EndArray();
      return;
    case Kind::kObject:
      w.BeginObject();
      for (const Member& m : members_) {
        w.Key(m.first);
        m.second.Write(w);
      }
      w.EndObject();
      return;
  }
}

std::string JsonValue::ToJson() const {
  JsonWriter w;
  Write(w);
  return w.Take();
}

const char* JsonKindName(JsonValue::Kind kind) {
  switch (kind) {
    case JsonValue::Kind::kNull:
      return "null";
    case JsonValue::Kind::kBool:
      return "a boolean";
    case JsonValue::Kind::kNumber:
      return "a number";
    case JsonValue::Kind::kString:
      return "a string";
    case JsonValue::Kind::kArray:
      return "an array";
    case JsonValue::Kind::kObject:
      return "an object";
  }
  return "a value";
}

Result<JsonValue> ParseJson(std::string_view json) {
  DomBuilder builder;
  CUSTOS_RETURN_IF_ERROR((internal::JsonParser<DomBuilder>(json, builder).Run()));
  return builder.Take();
}

}  // namespace custos::core
