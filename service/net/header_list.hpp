// The comma-separated lists of HTTP headers (`If-None-Match`, `Sec-WebSocket-Protocol`, …), split once.
#pragma once

#include <string_view>

namespace offload::net {

/// Calls `visit(item)` for each item of `header`, surrounding spaces and tabs trimmed, until it returns true;
/// returns whether one did.
template <class Visit>
bool any_list_item(std::string_view header, Visit visit) {
  while (!header.empty()) {
    const auto comma = header.find(',');
    auto item = header.substr(0, comma);
    header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t'))
      item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t'))
      item.remove_suffix(1);
    if (visit(item)) return true;
  }
  return false;
}

}  // namespace offload::net
