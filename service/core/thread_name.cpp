#include "core/thread_name.hpp"

#include <pthread.h>

namespace offload::core {

void name_this_thread(const std::string& name) noexcept {
  ::pthread_setname_np(::pthread_self(), name.substr(0, 15).c_str());
}

}  // namespace offload::core
