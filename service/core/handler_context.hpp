// The handler context of the built-in types is the public one of offload::worker: a C++ worker and the
// thread lane give handlers the same interface.
#pragma once

#include <offload/worker/handler_context.hpp>

namespace offload::core {

using handler_context = offload::handler_context;

}  // namespace offload::core
