// A value or a proto::error: how domain calls report expected failures without exceptions.
#pragma once

#include <offload/proto/error.hpp>

#include <cassert>
#include <utility>
#include <variant>

namespace offload::proto {

/// Either a `T` or an `error`. Expected failures are values; only the unexpected throws.
template <class T>
class result {
 public:
  /// An `internal` error; exists so results can travel through Asio completion handlers.
  result() : v_(std::in_place_index<1>, offload::proto::error{errc::internal, "no result"}) {}
  result(T value) : v_(std::in_place_index<0>, std::move(value)) {}              // NOLINT
  result(offload::proto::error e) : v_(std::in_place_index<1>, std::move(e)) {}  // NOLINT

  bool has_value() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  T& value() & {
    assert(has_value());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(has_value());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(has_value());
    return std::get<0>(std::move(v_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const offload::proto::error& error() const& {
    assert(!has_value());
    return std::get<1>(v_);
  }
  offload::proto::error&& error() && {
    assert(!has_value());
    return std::get<1>(std::move(v_));
  }

 private:
  std::variant<T, offload::proto::error> v_;
};

}  // namespace offload::proto
