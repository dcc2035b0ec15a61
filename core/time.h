// Time as Custos stores and prints it: UTC milliseconds since the Unix epoch, shown as
// RFC 3339 with exactly three fractional digits and a 'Z' (2026-11-24T12:00:00.123Z).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace custos::core {

using Time = std::chrono::sys_time<std::chrono::milliseconds>;

[[nodiscard]] inline int64_t ToUnixMillis(Time t) { return t.time_since_epoch().count(); }
[[nodiscard]] inline Time FromUnixMillis(int64_t ms) { return Time(std::chrono::milliseconds(ms)); }

// Always 24 characters for years 0000–9999.
[[nodiscard]] std::string FormatTime(Time t);
void AppendTime(std::string& out, Time t);

// Accepts RFC 3339 date-times: YYYY-MM-DDTHH:MM:SS, an optional fraction (truncated to
// milliseconds), and 'Z' or a ±HH:MM offset. 't' and 'z' are accepted as RFC 3339 allows.
[[nodiscard]] Result<Time> ParseTime(std::string_view text);

}  // namespace custos::core
