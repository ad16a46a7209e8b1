// Files compiled into offloadd (cmake/embed_files.cmake writes the tables), served by `static_files`.
#pragma once

#include <span>
#include <string_view>

namespace offload::net {

struct embedded_file {
  /// The path relative to the directory it was embedded from, e.g. `schema/job_view.schema.json`.
  std::string_view name;
  std::string_view bytes;
};

/// The API description: `openapi.yaml` and the JSON Schemas it refers to (`schema/*.json`), from proto/.
std::span<const embedded_file> embedded_api_files();

/// The dashboard: `index.html`, its style sheet and JavaScript modules, from service/ui/.
std::span<const embedded_file> embedded_ui_files();

}  // namespace offload::net
