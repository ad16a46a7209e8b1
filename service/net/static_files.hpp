// Serves a set of embedded files: the content type from the name, a strong ETag from the bytes (so a client
// revalidates with `If-None-Match` and gets `304`), and the operator's caching policy.
#pragma once

#include "net/api_response.hpp"
#include "net/embedded_file.hpp"

#include <map>
#include <string>
#include <string_view>

namespace offload::net {

class static_files {
 public:
  /// `cache_control` is sent with every answer, e.g. `no-cache` (revalidate each time).
  static_files(std::span<const embedded_file> files, std::string cache_control);

  /// The file `name` (as embedded), `304` when `if_none_match` names its ETag, `404` when there is none.
  api_response answer(std::string_view name, std::string_view if_none_match) const;

  /// `application/yaml`, `application/json`, `text/html; charset=utf-8`, … by extension.
  static std::string_view content_type(std::string_view name) noexcept;

 private:
  struct entry {
    std::string_view bytes;
    std::string etag;
  };
  std::map<std::string, entry, std::less<>> files_;
  std::string cache_control_;
};

}  // namespace offload::net
