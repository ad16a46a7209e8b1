// Namespace aliases shared by the network layer.
#pragma once

#include <offload/asio_support.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace offload::net {
using tcp = asio::ip::tcp;
}  // namespace offload::net
