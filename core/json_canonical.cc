#include "core/json_canonical.h"

#include "core/internal/json_parser.h"
#include "core/json_writer.h"

namespace custos::core {
namespace {

// Writes the parsed value back in canonical form.
class CanonicalWriter {
 public:
  explicit CanonicalWriter(size_t reserve) { out_.reserve(reserve); }
  void Null() { Value("null"); }
  void Bool(bool b) { Value(b ? "true" : "false"); }
  void Number(std::string_view text) { Value(text); }
  void String(std::string s) {
    Separate();
    AppendJsonString(out_, s);
  }
  void BeginObject() { Open('{'); }
  void EndObject() { Close('}'); }
  void BeginArray() { Open('['); }
  void EndArray() { Close(']'); }
  void Key(const std::string& key) {
    Separate();
    AppendJsonString(out_, key);
    out_ += ':';
    after_key_ = true;
  }
  std::string Take() { return std::move(out_); }

 private:
  void Separate() {
    if (!after_key_ && need_comma_) out_ += ',';
    after_key_ = false;
    need_comma_ = true;
  }
  void Value(std::string_view text) {
    Separate();
    out_ += text;
  }
  void Open(char c) {
    Separate();
    out_ += c;
    need_comma_ = false;
  }
  void Close(char c) {
    out_ += c;
    need_comma_ = true;
  }

  std::string out_;
  bool need_comma_ = false;
  bool after_key_ = false;
};

}  // namespace

Result<std::string> CanonicalizeJson(std::string_view json) {
  CanonicalWriter writer(json.size());
  CUSTOS_RETURN_IF_ERROR((internal::JsonParser<CanonicalWriter>(json, writer).Run()));
  return writer.Take();
}

bool IsCanonicalJson(std::string_view json) {
  Result<std::string> canonical = CanonicalizeJson(json);
  return canonical.ok() && *canonical == json;
}

bool IsCanonicalJsonObject(std::string_view json) {
  return !json.empty() && json.front() == '{' && IsCanonicalJson(json);
}

}  // namespace custos::core
