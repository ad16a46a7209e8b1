// RFC 3339 formatting without locale or iostreams.
#include <offload/proto/timestamp.hpp>

namespace offload::proto {

namespace {

// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's civil_from_days).
struct civil_date {
  long long year;
  unsigned month;
  unsigned day;
};
constexpr civil_date civil_from_days(long long z) noexcept {
  z += 719468;
  const long long era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {static_cast<long long>(yoe) + era * 400 + (m <= 2), m, d};
}

void put_digits(char* out, unsigned value, int n) noexcept {
  for (int i = n - 1; i >= 0; --i, value /= 10)
    out[i] = static_cast<char>('0' + value % 10);
}

}  // namespace

timestamp_text format_timestamp_text(std::chrono::system_clock::time_point t) noexcept {
  // Called for every event of every job: digits by hand, not gmtime_r and snprintf. system_clock counts
  // nanoseconds in 64 bits, so years stay within 1677..2262.
  using namespace std::chrono;
  const auto ms = duration_cast<milliseconds>(t.time_since_epoch()).count();
  const long long days = ms >= 0 ? ms / 86'400'000 : (ms - 86'399'999) / 86'400'000;
  const auto in_day = static_cast<unsigned>(ms - days * 86'400'000);
  const auto date = civil_from_days(days);
  timestamp_text out;
  char* p = out.chars.data();
  put_digits(p, static_cast<unsigned>(date.year), 4);
  p[4] = '-';
  put_digits(p + 5, date.month, 2);
  p[7] = '-';
  put_digits(p + 8, date.day, 2);
  p[10] = 'T';
  put_digits(p + 11, in_day / 3'600'000, 2);
  p[13] = ':';
  put_digits(p + 14, in_day / 60'000 % 60, 2);
  p[16] = ':';
  put_digits(p + 17, in_day / 1000 % 60, 2);
  p[19] = '.';
  put_digits(p + 20, in_day % 1000, 3);
  p[23] = 'Z';
  return out;
}

std::string format_timestamp(std::chrono::system_clock::time_point t) {
  return std::string{format_timestamp_text(t).view()};
}

namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
constexpr long long days_from_civil(long long y, unsigned m, unsigned d) noexcept {
  y -= m <= 2;
  const long long era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<long long>(doe) - 719468;
}

constexpr bool leap(long long y) noexcept {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

// Reads exactly `n` digits at `pos`.
std::optional<int> digits(std::string_view s, std::size_t& pos, std::size_t n) noexcept {
  if (pos + n > s.size()) return std::nullopt;
  int value = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const char c = s[pos + i];
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  pos += n;
  return value;
}

bool expect(std::string_view s, std::size_t& pos, std::string_view one_of) noexcept {
  if (pos >= s.size() || one_of.find(s[pos]) == std::string_view::npos) return false;
  ++pos;
  return true;
}

}  // namespace

std::optional<std::chrono::system_clock::time_point> parse_timestamp(std::string_view s) noexcept {
  std::size_t pos = 0;
  const auto year = digits(s, pos, 4);
  if (!year || !expect(s, pos, "-")) return std::nullopt;
  const auto month = digits(s, pos, 2);
  if (!month || !expect(s, pos, "-")) return std::nullopt;
  const auto day = digits(s, pos, 2);
  if (!day || !expect(s, pos, "Tt ")) return std::nullopt;
  const auto hour = digits(s, pos, 2);
  if (!hour || !expect(s, pos, ":")) return std::nullopt;
  const auto minute = digits(s, pos, 2);
  if (!minute || !expect(s, pos, ":")) return std::nullopt;
  const auto second = digits(s, pos, 2);
  if (!second) return std::nullopt;

  constexpr unsigned month_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (*year < 1970 || *month < 1 || *month > 12 || *day < 1 || *hour > 23 || *minute > 59 || *second > 60)
    return std::nullopt;
  const unsigned last_day = month_days[*month - 1] + (*month == 2 && leap(*year) ? 1 : 0);
  if (static_cast<unsigned>(*day) > last_day) return std::nullopt;

  long long millis = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    std::size_t count = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (count < 3) millis = millis * 10 + (s[pos] - '0');
      ++count;
      ++pos;
    }
    if (count == 0) return std::nullopt;
    for (; count < 3; ++count)
      millis *= 10;
  }

  long long offset_minutes = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    const int sign = s[pos] == '-' ? -1 : 1;
    ++pos;
    const auto oh = digits(s, pos, 2);
    if (!oh || !expect(s, pos, ":")) return std::nullopt;
    const auto om = digits(s, pos, 2);
    if (!om || *oh > 23 || *om > 59) return std::nullopt;
    offset_minutes = sign * (*oh * 60LL + *om);
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;

  // A leap second reads as the next second's first instant.
  const long long seconds =
      days_from_civil(*year, static_cast<unsigned>(*month), static_cast<unsigned>(*day)) * 86400LL +
      *hour * 3600LL + *minute * 60LL + *second - offset_minutes * 60;
  if (seconds < 0) return std::nullopt;
  // system_clock counts nanoseconds in 64 bits: nothing after 2262-04-11 fits (a later year would overflow
  // the conversion).
  constexpr long long last_second =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::duration::max()).count() -
      1;
  if (seconds > last_second) return std::nullopt;
  return std::chrono::system_clock::time_point{std::chrono::milliseconds{seconds * 1000 + millis}};
}

}  // namespace offload::proto
