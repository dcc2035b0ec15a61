// JsonParser: a strict RFC 8259 parser (UTF-8, no duplicate keys, at most kMaxJsonDepth
// levels and kMaxJsonMembers members per object) that feeds a handler: Null(), Bool(b),
// Number(text), String(decoded), BeginObject(), Key(decoded), EndObject(), BeginArray(),
// EndArray(). Strings arrive decoded (escapes resolved, valid UTF-8); numbers as their text,
// whatever their size or precision. Errors name the byte offset.
//
// Time is linear in the input: each byte is looked at a bounded number of times, and the
// duplicate-key check is a hash lookup once an object has more than a handful of members.
// Private to core/.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "core/internal/json_scan.h"
#include "core/json_canonical.h"
#include "core/json_writer.h"
#include "core/result.h"

namespace custos::core::internal {

template <class Handler>
class JsonParser {
 public:
  JsonParser(std::string_view in, Handler& handler) : in_(in), h_(handler) {}

  // Parses the whole input as one JSON value, feeding the handler.
  Status Run() {
    SkipSpace();
    if (!Value(0)) return Fail();
    SkipSpace();
    if (pos_ != in_.size()) {
      error_ = "unexpected data after the JSON value";
      return Fail();
    }
    return OkStatus();
  }

 private:
  Error Fail() const {
    return InvalidArgument("invalid JSON at byte " + std::to_string(pos_) + ": " + error_);
  }

  bool SetError(const char* message) {
    error_ = message;
    return false;
  }

  void SkipSpace() {
    while (pos_ < in_.size() &&
           (in_[pos_] == ' ' || in_[pos_] == '\t' || in_[pos_] == '\n' || in_[pos_] == '\r')) {
      ++pos_;
    }
  }

  bool Value(int depth) {
    if (pos_ >= in_.size()) return SetError("unexpected end of input");
    switch (in_[pos_]) {
      case '{':
        return Object(depth + 1);
      case '[':
        return Array(depth + 1);
      case '"': {
        std::string s;
        if (!String(s)) return false;
        h_.String(std::move(s));
        return true;
      }
      case 't':
        return Literal("true");
      case 'f':
        return Literal("false");
      case 'n':
        return Literal("null");
      default:
        return Number();
    }
  }

  bool Literal(std::string_view word) {
    if (in_.substr(pos_, word.size()) != word) return SetError("invalid literal");
    if (word[0] == 'n') {
      h_.Null();
    } else {
      h_.Bool(word[0] == 't');
    }
    pos_ += word.size();
    return true;
  }

  bool Number() {
    const size_t start = pos_;
    if (const char* wrong = SkipJsonNumber(in_, pos_)) return SetError(wrong);
    h_.Number(in_.substr(start, pos_ - start));
    return true;
  }

  bool Hex4(uint32_t& out) {
    if (pos_ + 4 > in_.size()) return SetError("truncated \\u escape");
    out = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = in_[pos_++];
      out <<= 4;
      if (c >= '0' && c <= '9') {
        out |= static_cast<uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        out |= static_cast<uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        out |= static_cast<uint32_t>(c - 'A' + 10);
      } else {
        return SetError("invalid \\u escape");
      }
    }
    return true;
  }

  static void AppendUtf8(std::string& s, uint32_t cp) {
    if (cp < 0x80) {
      s += static_cast<char>(cp);
    } else if (cp < 0x800) {
      s += static_cast<char>(0xC0 | (cp >> 6));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      s += static_cast<char>(0xE0 | (cp >> 12));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      s += static_cast<char>(0xF0 | (cp >> 18));
      s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  // Decodes a string literal at pos_ into `s` (UTF-8, escapes resolved).
  bool String(std::string& s) {
    ++pos_;  // opening quote
    size_t run = pos_;
    while (true) {
      if (pos_ >= in_.size()) return SetError("unterminated string");
      const auto c = static_cast<unsigned char>(in_[pos_]);
      if (c == '"') {
        s.append(in_.data() + run, pos_ - run);
        ++pos_;
        break;
      }
      if (c < 0x20) return SetError("unescaped control character in string");
      if (c != '\\') {
        ++pos_;
        continue;
      }
      s.append(in_.data() + run, pos_ - run);
      ++pos_;
      if (pos_ >= in_.size()) return SetError("unterminated string");
      const char e = in_[pos_++];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          s += e;
          break;
        case 'b':
          s += '\b';
          break;
        case 'f':
          s += '\f';
          break;
        case 'n':
          s += '\n';
          break;
        case 'r':
          s += '\r';
          break;
        case 't':
          s += '\t';
          break;
        case 'u': {
          uint32_t cp = 0;
          if (!Hex4(cp)) return false;
          if (cp >= 0xDC00 && cp <= 0xDFFF) return SetError("lone low surrogate in \\u escape");
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            uint32_t low = 0;
            if (in_.substr(pos_, 2) != "\\u") return SetError("lone high surrogate");
            pos_ += 2;
            if (!Hex4(low)) return false;
            if (low < 0xDC00 || low > 0xDFFF) return SetError("invalid surrogate pair");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          }
          AppendUtf8(s, cp);
          break;
        }
        default:
          --pos_;
          return SetError("invalid escape in string");
      }
      run = pos_;
    }
    if (!IsValidUtf8(s)) {
      --pos_;
      return SetError("string is not valid UTF-8");
    }
    return true;
  }

  // The keys of one object so far: a short list, then a hash set.
  class KeySet {
   public:
    // False if `key` was there already.
    bool Insert(std::string key) {
      if (!set_.empty()) return set_.insert(std::move(key)).second;
      if (std::find(list_.begin(), list_.end(), key) != list_.end()) return false;
      list_.push_back(std::move(key));
      if (list_.size() > 16) {
        set_.reserve(64);
        for (std::string& k : list_) set_.insert(std::move(k));
        list_.clear();
      }
      return true;
    }
    [[nodiscard]] size_t size() const { return list_.size() + set_.size(); }

   private:
    std::vector<std::string> list_;
    std::unordered_set<std::string> set_;
  };

  bool Object(int depth) {
    if (depth > kMaxJsonDepth) return SetError("nested too deeply");
    ++pos_;
    h_.BeginObject();
    KeySet keys;
    SkipSpace();
    if (pos_ < in_.size() && in_[pos_] == '}') {
      ++pos_;
      h_.EndObject();
      return true;
    }
    while (true) {
      SkipSpace();
      if (pos_ >= in_.size() || in_[pos_] != '"') return SetError("expected a string key");
      const size_t key_pos = pos_;
      std::string key;
      if (!String(key)) return false;
      h_.Key(key);
      if (!keys.Insert(std::move(key))) {
        pos_ = key_pos;
        return SetError("duplicate key in object");
      }
      if (keys.size() > kMaxJsonMembers) {
        pos_ = key_pos;
        return SetError("more than 10000 members in one object");
      }
      SkipSpace();
      if (pos_ >= in_.size() || in_[pos_] != ':') return SetError("expected ':'");
      ++pos_;
      SkipSpace();
      if (!Value(depth)) return false;
      SkipSpace();
      if (pos_ < in_.size() && in_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < in_.size() && in_[pos_] == '}') {
        ++pos_;
        h_.EndObject();
        return true;
      }
      return SetError("expected ',' or '}'");
    }
  }

  bool Array(int depth) {
    if (depth > kMaxJsonDepth) return SetError("nested too deeply");
    ++pos_;
    h_.BeginArray();
    SkipSpace();
    if (pos_ < in_.size() && in_[pos_] == ']') {
      ++pos_;
      h_.EndArray();
      return true;
    }
    while (true) {
      SkipSpace();
      if (!Value(depth)) return false;
      SkipSpace();
      if (pos_ < in_.size() && in_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < in_.size() && in_[pos_] == ']') {
        ++pos_;
        h_.EndArray();
        return true;
      }
      return SetError("expected ',' or ']'");
    }
  }

  std::string_view in_;
  Handler& h_;
  size_t pos_ = 0;
  const char* error_ = "";
};

}  // namespace custos::core::internal
