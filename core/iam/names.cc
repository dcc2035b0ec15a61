#include "core/iam/names.h"

#include <utf8proc.h>

#include <cstdio>
#include <cstdlib>

#include "core/iam/model.h"

namespace custos::core::iam {
namespace {

bool IsForbidden(utf8proc_int32_t cp) {
  if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) return true;  // C0, DEL, C1
  switch (cp) {
    case 0x061C:  // Arabic letter mark
    case 0x200E:  // left-to-right mark
    case 0x200F:  // right-to-left mark
    case 0x2028:  // line separator
    case 0x2029:  // paragraph separator
      return true;
    default:
      break;
  }
  return (cp >= 0x202A && cp <= 0x202E) ||  // embeddings and overrides (U+202E: RLO)
         (cp >= 0x2066 && cp <= 0x2069) ||  // isolates
         (cp >= 0xFFF9 && cp <= 0xFFFB) ||  // interlinear annotations
         (cp >= 0xE0000 && cp <= 0xE007F);  // tag characters
}

}  // namespace

std::optional<std::string> NameProblem(std::string_view utf8) {
  const auto* at = reinterpret_cast<const utf8proc_uint8_t*>(utf8.data());
  utf8proc_ssize_t left = static_cast<utf8proc_ssize_t>(utf8.size());
  while (left > 0) {
    utf8proc_int32_t cp = 0;
    const utf8proc_ssize_t n = utf8proc_iterate(at, left, &cp);
    if (n <= 0) return std::string("is not valid UTF-8");
    if (IsForbidden(cp)) {
      char code[16];
      std::snprintf(code, sizeof code, "U+%04X", static_cast<unsigned>(cp));
      return std::string(cp < 0xA0 ? "contains the control character " : "contains the bidirectional or layout control ") + code;
    }
    at += n;
    left -= n;
  }
  if (NameKey(utf8).empty()) return std::string("has no visible character");
  return std::nullopt;
}

std::string NameKey(std::string_view utf8) {
  utf8proc_uint8_t* out = nullptr;
  const utf8proc_ssize_t n = utf8proc_map(
      reinterpret_cast<const utf8proc_uint8_t*>(utf8.data()),
      static_cast<utf8proc_ssize_t>(utf8.size()), &out,
      static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT |
                                     UTF8PROC_CASEFOLD | UTF8PROC_IGNORE));
  if (n < 0) {
    std::free(out);
    return Lower(utf8);  // not UTF-8 (refused elsewhere): bytes as they are
  }
  std::string key(reinterpret_cast<const char*>(out), static_cast<size_t>(n));
  std::free(out);
  // Spaces compare trimmed and single: "Tenant  Admin " is "Tenant Admin".
  std::string compact;
  compact.reserve(key.size());
  for (char c : key) {
    if (c == ' ' && (compact.empty() || compact.back() == ' ')) continue;
    compact += c;
  }
  while (!compact.empty() && compact.back() == ' ') compact.pop_back();
  return compact;
}

}  // namespace custos::core::iam
