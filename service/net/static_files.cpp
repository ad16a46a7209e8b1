#include "net/static_files.hpp"

#include "net/header_list.hpp"

#include <array>
#include <cstdint>
#include <cstdio>

namespace offload::net {
namespace {

// FNV-1a, 64 bits: a file's identity for caching, not a security property.
std::string etag_of(std::string_view bytes) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (const char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ull;
  }
  std::array<char, 24> text{};
  std::snprintf(text.data(), text.size(), "\"%016llx\"", static_cast<unsigned long long>(h));
  return text.data();
}

// Whether an `If-None-Match` value (`*`, or a comma-separated list of possibly weak tags) names `etag`.
bool matches(std::string_view header, std::string_view etag) {
  return any_list_item(header, [etag](std::string_view item) {
    if (item.starts_with("W/")) item.remove_prefix(2);
    return item == "*" || item == etag;
  });
}

}  // namespace

static_files::static_files(std::span<const embedded_file> files, std::string cache_control)
    : cache_control_(std::move(cache_control)) {
  for (const auto& f : files)
    files_.emplace(std::string{f.name}, entry{f.bytes, etag_of(f.bytes)});
}

api_response static_files::answer(std::string_view name, std::string_view if_none_match) const {
  const auto it = files_.find(name);
  if (it == files_.end()) return api_response::error(proto::error{proto::errc::not_found, "no such file"});
  api_response response;
  response.content_type = content_type(name);
  response.headers.emplace_back("ETag", it->second.etag);
  response.headers.emplace_back("Cache-Control", cache_control_);
  if (!if_none_match.empty() && matches(if_none_match, it->second.etag)) {
    response.status = 304;
    return response;
  }
  response.body = std::string{it->second.bytes};
  return response;
}

std::string_view static_files::content_type(std::string_view name) noexcept {
  const auto ends = [name](std::string_view ext) { return name.ends_with(ext); };
  if (ends(".yaml")) return "application/yaml";
  if (ends(".json")) return "application/json";
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".js") || ends(".mjs")) return "text/javascript; charset=utf-8";
  if (ends(".svg")) return "image/svg+xml";
  return "application/octet-stream";
}

}  // namespace offload::net
