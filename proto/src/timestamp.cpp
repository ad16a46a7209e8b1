// RFC 3339 formatting without locale or iostreams.
#include <offload/proto/timestamp.hpp>

#include <cstdio>
#include <ctime>

namespace offload::proto {

std::string format_timestamp(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  const auto ms = duration_cast<milliseconds>(t.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
  return buf;
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
  return std::chrono::system_clock::time_point{std::chrono::milliseconds{seconds * 1000 + millis}};
}

}  // namespace offload::proto
