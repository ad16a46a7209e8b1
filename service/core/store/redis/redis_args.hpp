// A command's arguments, written straight into Redis's protocol (RESP bulk strings) as they come: no string
// per argument, and one copy from here into hiredis's output buffer.
#pragma once

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

namespace offload::core {

class redis_args {
 public:
  redis_args() = default;

  redis_args& add(std::string_view arg) {
    text_ += '$';
    append_decimal(arg.size());
    text_ += "\r\n";
    text_ += arg;
    text_ += "\r\n";
    ++count_;
    return *this;
  }
  /// A number, as its decimal text.
  template <class T>
  requires std::is_integral_v<T> redis_args& add(T n) {
    char digits[24];
    const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, n);
    return add(std::string_view{digits, static_cast<std::size_t>(end - digits)});
  }
  /// Every argument of `other`, after these.
  redis_args& append(const redis_args& other) {
    text_ += other.text_;
    count_ += other.count_;
    return *this;
  }
  void reserve(std::size_t bytes) { text_.reserve(bytes); }

  /// The arguments' bytes (without the command's `*<count>` header).
  const std::string& text() const noexcept { return text_; }

  /// One whole command: the header, `head`'s arguments, then these.
  std::string command(const redis_args& head) const {
    std::string out;
    out.reserve(16 + head.text_.size() + text_.size());
    out += '*';
    char digits[24];
    const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, head.count_ + count_);
    out.append(digits, end);
    out += "\r\n";
    out += head.text_;
    out += text_;
    return out;
  }

 private:
  void append_decimal(std::size_t n) {
    char digits[24];
    const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, n);
    text_.append(digits, end);
  }

  std::string text_;
  std::size_t count_ = 0;
};

}  // namespace offload::core
