// Field reflection for plain structs, so that one list of fields serves both JSON writing
// (canonical, via JsonWriter) and reading (from a JsonValue). A struct takes part by
// declaring
//
//   template <class S, class V> static void Fields(S& s, V& v) {
//     v("email", s.email);
//     v("tags", s.tags);
//   }
//
// (S is the struct, const or not). Supported field types: std::string, bool, integers, Time
// (RFC 3339), std::optional<T> (left out when empty; absent or null reads as empty),
// Nullable<T> (an optional written as null when empty, where a contract names the field),
// std::vector<T>, std::map<std::string, T> (keys in order), JsonValue, enums with ADL
// functions `std::string_view ToString(E)` and `bool FromString(std::string_view, E&)`, and
// other reflected structs. Reading ignores unknown members and names the path of the first
// missing or mistyped one.
//
// Thread-safety: pure functions.
#pragma once

#include <concepts>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "core/json_value.h"
#include "core/json_writer.h"
#include "core/result.h"
#include "core/time.h"

namespace custos::core {

// An optional field that is written as `null` when empty instead of being left out.
template <class T>
struct Nullable : std::optional<T> {
  using std::optional<T>::optional;
  using std::optional<T>::operator=;
};

namespace fields_internal {
struct AnyVisitor {
  template <class T>
  void operator()(std::string_view, T&) {}
};
template <class T>
struct IsOptional : std::false_type {};
template <class T>
struct IsOptional<std::optional<T>> : std::true_type {};
template <class T>
struct IsOptional<Nullable<T>> : std::true_type {};
template <class T>
struct IsNullable : std::false_type {};
template <class T>
struct IsNullable<Nullable<T>> : std::true_type {};
template <class T>
struct IsVector : std::false_type {};
template <class T>
struct IsVector<std::vector<T>> : std::true_type {};
template <class T>
struct IsStringMap : std::false_type {};
template <class T>
struct IsStringMap<std::map<std::string, T>> : std::true_type {};
}  // namespace fields_internal

template <class T>
concept Reflected = requires(T& t, fields_internal::AnyVisitor& v) {
  T::Fields(t, v);
};

template <class T>
void WriteValue(JsonWriter& w, const T& value);

class FieldWriter {
 public:
  explicit FieldWriter(JsonWriter& w) : w_(w) {}
  template <class T>
  void operator()(std::string_view name, const T& value) {
    if constexpr (fields_internal::IsNullable<T>::value) {
      w_.Key(name);
      WriteValue(w_, value);
    } else if constexpr (fields_internal::IsOptional<T>::value) {
      if (!value.has_value()) return;
      w_.Key(name);
      WriteValue(w_, *value);
    } else {
      w_.Key(name);
      WriteValue(w_, value);
    }
  }

 private:
  JsonWriter& w_;
};

template <class T>
void WriteValue(JsonWriter& w, const T& value) {
  if constexpr (std::is_same_v<T, std::string>) {
    w.String(value);
  } else if constexpr (std::is_same_v<T, bool>) {
    w.Bool(value);
  } else if constexpr (std::is_enum_v<T>) {
    w.String(ToString(value));
  } else if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
    w.Int(value);
  } else if constexpr (std::is_integral_v<T>) {
    w.UInt(value);
  } else if constexpr (std::is_same_v<T, Time>) {
    std::string text;
    AppendTime(text, value);
    w.String(text);
  } else if constexpr (std::is_same_v<T, JsonValue>) {
    value.Write(w);
  } else if constexpr (fields_internal::IsOptional<T>::value) {
    if (value.has_value()) {
      WriteValue(w, *value);
    } else {
      w.Null();
    }
  } else if constexpr (fields_internal::IsVector<T>::value) {
    w.BeginArray();
    for (const auto& item : value) WriteValue(w, item);
    w.EndArray();
  } else if constexpr (fields_internal::IsStringMap<T>::value) {
    w.BeginObject();
    for (const auto& [k, v] : value) {
      w.Key(k);
      WriteValue(w, v);
    }
    w.EndObject();
  } else {
    static_assert(Reflected<T>, "no JSON mapping for this field type");
    w.BeginObject();
    FieldWriter fw(w);
    T::Fields(value, fw);
    w.EndObject();
  }
}

// The canonical JSON object of a reflected struct.
template <Reflected T>
[[nodiscard]] std::string ToJson(const T& value) {
  JsonWriter w(256);
  WriteValue(w, value);
  return w.Take();
}

template <class T>
Status ReadValue(const JsonValue& v, T& out, const std::string& path);

class FieldReader {
 public:
  FieldReader(const JsonValue& object, const std::string& path) : obj_(object), path_(path) {}

  // Reads every field, so that every missing or mistyped one is named.
  template <class T>
  void operator()(std::string_view name, T& value) {
    const std::string path = path_.empty() ? std::string(name) : path_ + "." + std::string(name);
    const JsonValue* v = obj_.Find(name);
    if (v == nullptr || v->is_null()) {
      if constexpr (fields_internal::IsOptional<T>::value) {
        value.reset();
      } else {
        checks_.Add(InvalidField(path, "is required"));
      }
      return;
    }
    checks_.Add(ReadValue(*v, value, path));
  }

  [[nodiscard]] Status status() && { return std::move(checks_).Take(); }

 private:
  const JsonValue& obj_;
  const std::string& path_;
  FieldChecks checks_;
};

inline Error WrongType(const std::string& path, const char* expected, const JsonValue& v) {
  return InvalidField(path.empty() ? "(root)" : path,
                      std::string("must be ") + expected + ", not " + JsonKindName(v.kind()));
}

template <class T>
Status ReadValue(const JsonValue& v, T& out, const std::string& path) {
  if constexpr (std::is_same_v<T, std::string>) {
    if (!v.is_string()) return WrongType(path, "a string", v);
    out = v.text();
  } else if constexpr (std::is_same_v<T, bool>) {
    if (!v.is_bool()) return WrongType(path, "a boolean", v);
    out = v.bool_value();
  } else if constexpr (std::is_enum_v<T>) {
    if (!v.is_string() || !FromString(v.text(), out)) {
      return InvalidField(path, "'" + v.text().substr(0, 64) + "' is not one of its values");
    }
  } else if constexpr (std::is_integral_v<T>) {
    std::optional<int64_t> i = v.AsInt();
    bool in_range = i.has_value();
    if constexpr (std::is_unsigned_v<T>) {
      in_range = in_range && *i >= 0 &&
                 static_cast<uint64_t>(*i) <= static_cast<uint64_t>(std::numeric_limits<T>::max());
    } else {
      in_range = in_range && *i <= static_cast<int64_t>(std::numeric_limits<T>::max()) &&
                 *i >= static_cast<int64_t>(std::numeric_limits<T>::min());
    }
    if (!in_range) return WrongType(path, "an integer in range", v);
    out = static_cast<T>(*i);
  } else if constexpr (std::is_same_v<T, Time>) {
    if (!v.is_string()) return WrongType(path, "an RFC 3339 time", v);
    Result<Time> t = ParseTime(v.text());
    if (!t.ok()) return InvalidField(path, t.error().message);
    out = *t;
  } else if constexpr (std::is_same_v<T, JsonValue>) {
    out = v;
  } else if constexpr (fields_internal::IsOptional<T>::value) {
    if (v.is_null()) {
      out.reset();
    } else {
      typename T::value_type inner{};
      CUSTOS_RETURN_IF_ERROR(ReadValue(v, inner, path));
      out = std::move(inner);
    }
  } else if constexpr (fields_internal::IsVector<T>::value) {
    if (!v.is_array()) return WrongType(path, "an array", v);
    out.clear();
    out.reserve(v.items().size());
    for (size_t i = 0; i < v.items().size(); ++i) {
      typename T::value_type item{};
      CUSTOS_RETURN_IF_ERROR(ReadValue(v.items()[i], item, path + "[" + std::to_string(i) + "]"));
      out.push_back(std::move(item));
    }
  } else if constexpr (fields_internal::IsStringMap<T>::value) {
    if (!v.is_object()) return WrongType(path, "an object", v);
    out.clear();
    for (const auto& [k, member] : v.members()) {
      typename T::mapped_type item{};
      CUSTOS_RETURN_IF_ERROR(ReadValue(member, item, path + "." + k));
      out.emplace(k, std::move(item));
    }
  } else {
    static_assert(Reflected<T>, "no JSON mapping for this field type");
    if (!v.is_object()) return WrongType(path, "an object", v);
    FieldReader reader(v, path);
    T::Fields(out, reader);
    return std::move(reader).status();
  }
  return OkStatus();
}

// Reads a reflected struct from JSON text.
template <Reflected T>
[[nodiscard]] Status FromJson(std::string_view json, T& out) {
  CUSTOS_ASSIGN_OR_RETURN(JsonValue v, ParseJson(json));
  return ReadValue(v, out, "");
}

}  // namespace custos::core
