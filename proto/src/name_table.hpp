// A constant table from enumerators to their wire spellings, searched both ways.
#pragma once

#include <array>
#include <optional>
#include <string_view>
#include <utility>

namespace offload::proto::detail {

template <class E, std::size_t N>
using name_table = std::array<std::pair<E, std::string_view>, N>;

template <class E, std::size_t N>
constexpr std::string_view name_of(const name_table<E, N>& table, E value,
                                   std::string_view fallback) noexcept {
  for (const auto& [v, name] : table)
    if (v == value) return name;
  return fallback;
}

template <class E, std::size_t N>
constexpr std::optional<E> value_of(const name_table<E, N>& table, std::string_view text) noexcept {
  for (const auto& [v, name] : table)
    if (name == text) return v;
  return std::nullopt;
}

}  // namespace offload::proto::detail
