#include "core/json_canonical.h"

#include <algorithm>
#include <unordered_set>
#include <vector>

#include "core/internal/json_parser.h"
#include "core/internal/json_scan.h"
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

namespace {

// Whether text is canonical, in one pass and without building anything: the parse of
// JsonParser with every choice canonical form leaves open (whitespace, an escape) refused.
// Keys are compared as written, which in canonical form is as decoded: a string has one
// canonical spelling. Equal, by construction and by the test that compares the two over
// random and mutated texts, to CanonicalizeJson(text) == text.
class CanonicalChecker {
 public:
  explicit CanonicalChecker(std::string_view in) : in_(in) {}

  bool Run() { return Value(0) && pos_ == in_.size(); }

 private:
  [[nodiscard]] bool At(char c) const { return pos_ < in_.size() && in_[pos_] == c; }

  bool Value(int depth) {
    if (pos_ >= in_.size()) return false;
    switch (in_[pos_]) {
      case '{':
        return Object(depth + 1);
      case '[':
        return Array(depth + 1);
      case '"':
        return String();
      case 't':
        return Word("true");
      case 'f':
        return Word("false");
      case 'n':
        return Word("null");
      default:
        return Number();
    }
  }

  bool Word(std::string_view word) {
    if (in_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  bool Number() { return internal::SkipJsonNumber(in_, pos_) == nullptr; }

  // A string literal spelled as AppendJsonString spells its value: valid UTF-8 as is, and
  // escapes only for '"', '\\' and control characters (\b \f \n \r \t, else \u00xx).
  bool String() {
    ++pos_;  // opening quote
    const size_t start = pos_;
    while (true) {
      pos_ = internal::SkipPlainJsonBytes(in_, pos_);
      if (pos_ >= in_.size()) return false;
      const auto c = static_cast<unsigned char>(in_[pos_]);
      if (c == '"') break;
      if (c < 0x20) return false;
      if (c != '\\') {
        ++pos_;
        continue;
      }
      if (pos_ + 1 >= in_.size()) return false;
      switch (in_[pos_ + 1]) {
        case '"':
        case '\\':
        case 'b':
        case 'f':
        case 'n':
        case 'r':
        case 't':
          pos_ += 2;
          break;
        case 'u': {
          // Only a control character without a short escape, in lowercase hex.
          if (pos_ + 6 > in_.size() || in_[pos_ + 2] != '0' || in_[pos_ + 3] != '0') return false;
          const char h = in_[pos_ + 4];
          const char l = in_[pos_ + 5];
          const bool low_hex = (l >= '0' && l <= '9') || (l >= 'a' && l <= 'f');
          if ((h != '0' && h != '1') || !low_hex) return false;
          const int cp = (h - '0') * 16 + (l <= '9' ? l - '0' : l - 'a' + 10);
          if (cp == '\b' || cp == '\f' || cp == '\n' || cp == '\r' || cp == '\t') return false;
          pos_ += 6;
          break;
        }
        default:
          return false;
      }
    }
    // Escapes are ASCII and whole, so the text is valid UTF-8 exactly when its value is.
    const bool valid = IsValidUtf8(in_.substr(start, pos_ - start));
    ++pos_;  // closing quote
    return valid;
  }

  bool Object(int depth) {
    if (depth > kMaxJsonDepth) return false;
    ++pos_;
    if (At('}')) {
      ++pos_;
      return true;
    }
    const size_t first = keys_.size();
    std::unordered_set<std::string_view> many;  // once the object has more than a few keys
    bool ok = false;
    while (true) {
      if (!At('"')) break;
      const size_t key_start = pos_;
      if (!String()) break;
      const std::string_view key = in_.substr(key_start, pos_ - key_start);
      const size_t members = keys_.size() - first + many.size();
      if (members + 1 > kMaxJsonMembers) break;
      if (many.empty()) {
        if (std::find(keys_.begin() + static_cast<std::ptrdiff_t>(first), keys_.end(), key) !=
            keys_.end()) {
          break;
        }
        keys_.push_back(key);
        if (keys_.size() - first > 16) {
          many.insert(keys_.begin() + static_cast<std::ptrdiff_t>(first), keys_.end());
          keys_.resize(first);
        }
      } else if (!many.insert(key).second) {
        break;
      }
      if (!At(':')) break;
      ++pos_;
      if (!Value(depth)) break;
      if (At(',')) {
        ++pos_;
        continue;
      }
      if (At('}')) {
        ++pos_;
        ok = true;
      }
      break;
    }
    keys_.resize(first);
    return ok;
  }

  bool Array(int depth) {
    if (depth > kMaxJsonDepth) return false;
    ++pos_;
    if (At(']')) {
      ++pos_;
      return true;
    }
    while (true) {
      if (!Value(depth)) return false;
      if (At(',')) {
        ++pos_;
        continue;
      }
      if (!At(']')) return false;
      ++pos_;
      return true;
    }
  }

  std::string_view in_;
  size_t pos_ = 0;
  std::vector<std::string_view> keys_;  // the keys of the open objects with few members
};

}  // namespace

bool IsCanonicalJson(std::string_view json) { return CanonicalChecker(json).Run(); }

bool IsCanonicalJsonObject(std::string_view json) {
  return !json.empty() && json.front() == '{' && IsCanonicalJson(json);
}

}  // namespace custos::core
