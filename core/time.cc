#include "core/time.h"

#include <array>

namespace custos::core {
namespace {

// Days since 1970-01-01 of a proleptic Gregorian date, and back (Howard Hinnant's
// public-domain algorithms, which std::chrono's year_month_day implements the same way).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
}

void PutDigits(char* p, int64_t v, int width) {
  for (int i = width - 1; i >= 0; --i) {
    p[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
}

bool ReadDigits(std::string_view s, size_t pos, size_t width, int64_t& out) {
  if (pos + width > s.size()) return false;
  int64_t v = 0;
  for (size_t i = 0; i < width; ++i) {
    char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  return true;
}

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned DaysInMonth(int64_t y, int64_t m) {
  static constexpr std::array<unsigned, 12> kDays = {31, 28, 31, 30, 31, 30,
                                                     31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[static_cast<size_t>(m - 1)];
}

}  // namespace

void AppendTime(std::string& out, Time t) {
  const int64_t ms_total = ToUnixMillis(t);
  int64_t days = ms_total / 86400000;
  int64_t ms_of_day = ms_total % 86400000;
  if (ms_of_day < 0) {
    ms_of_day += 86400000;
    --days;
  }
  int64_t y = 0;
  unsigned m = 0;
  unsigned d = 0;
  CivilFromDays(days, y, m, d);
  char buf[24];
  PutDigits(buf, y, 4);
  buf[4] = '-';
  PutDigits(buf + 5, m, 2);
  buf[7] = '-';
  PutDigits(buf + 8, d, 2);
  buf[10] = 'T';
  PutDigits(buf + 11, ms_of_day / 3600000, 2);
  buf[13] = ':';
  PutDigits(buf + 14, ms_of_day / 60000 % 60, 2);
  buf[16] = ':';
  PutDigits(buf + 17, ms_of_day / 1000 % 60, 2);
  buf[19] = '.';
  PutDigits(buf + 20, ms_of_day % 1000, 3);
  buf[23] = 'Z';
  out.append(buf, sizeof buf);
}

std::string FormatTime(Time t) {
  std::string out;
  out.reserve(24);
  AppendTime(out, t);
  return out;
}

Result<Time> ParseTime(std::string_view s) {
  auto bad = [&] {
    std::string message = "'";
    message.append(s.substr(0, 64));
    message += "' is not an RFC 3339 date-time such as 2026-11-24T12:00:00.000Z";
    return InvalidArgument(std::move(message));
  };
  int64_t y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  if (!ReadDigits(s, 0, 4, y) || s.size() < 20 || s[4] != '-' || !ReadDigits(s, 5, 2, mo) ||
      s[7] != '-' || !ReadDigits(s, 8, 2, d) || (s[10] != 'T' && s[10] != 't') ||
      !ReadDigits(s, 11, 2, h) || s[13] != ':' || !ReadDigits(s, 14, 2, mi) || s[16] != ':' ||
      !ReadDigits(s, 17, 2, sec)) {
    return bad();
  }
  if (mo < 1 || mo > 12 || d < 1 || d > DaysInMonth(y, mo) || h > 23 || mi > 59 || sec > 60) {
    return bad();
  }
  if (sec == 60) sec = 59;  // a leap second is kept within its minute
  size_t pos = 19;
  int64_t ms = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    size_t start = pos;
    int scale = 100;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      ms += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return bad();
  }
  int64_t offset_min = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    const int64_t sign = s[pos] == '+' ? 1 : -1;
    int64_t oh = 0, om = 0;
    if (!ReadDigits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !ReadDigits(s, pos + 4, 2, om) || oh > 23 || om > 59) {
      return bad();
    }
    offset_min = sign * (oh * 60 + om);
    pos += 6;
  } else {
    return bad();
  }
  if (pos != s.size()) return bad();
  const int64_t days = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  const int64_t total = ((days * 24 + h) * 60 + mi - offset_min) * 60000 + sec * 1000 + ms;
  return FromUnixMillis(total);
}

}  // namespace custos::core
