// JsonWriter: compact JSON text in the canonical style of the event log (../shared/spec/EVENTS.md
// "Canonical form"): no insignificant whitespace, members in the order written, strings
// escaped minimally (only '"', '\\' and control characters).
//
// Strings are written as valid UTF-8: a byte sequence that is not UTF-8 becomes U+FFFD, so a
// hostile header (a User-Agent, say) can never make an event line invalid JSON.
//
// Thread-safety: one writer per thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace custos::core {

// Appends `s` as a JSON string literal, quotes included.
void AppendJsonString(std::string& out, std::string_view s);

// True if `s` is valid UTF-8 (no overlong forms, no surrogates, at most U+10FFFF).
[[nodiscard]] bool IsValidUtf8(std::string_view s);
// At most `max_bytes` of `s`, cut at a UTF-8 character boundary.
[[nodiscard]] std::string_view TruncateUtf8(std::string_view s, size_t max_bytes);

class JsonWriter {
 public:
  JsonWriter() = default;
  explicit JsonWriter(size_t reserve) { out_.reserve(reserve); }

  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  JsonWriter& Key(std::string_view key);
  JsonWriter& String(std::string_view value);
  JsonWriter& Int(int64_t value);
  JsonWriter& UInt(uint64_t value);
  JsonWriter& Bool(bool value);
  JsonWriter& Null();
  // A value that is already canonical JSON text (see json_canonical.h); written as is.
  JsonWriter& Raw(std::string_view json);

  [[nodiscard]] const std::string& str() const { return out_; }
  [[nodiscard]] std::string Take() { return std::move(out_); }

 private:
  void Separate();

  std::string out_;
  bool need_comma_ = false;
};

}  // namespace custos::core
