// The client's error category and the mapping from server wire codes.
#include <offload/client/error.hpp>

#include <boost/throw_exception.hpp>

namespace offload {

// The server's codes are mirrored one to one, shifted by one (0 is success): the last ones must line up.
static_assert(static_cast<int>(errc::memory_limit) == static_cast<int>(proto::errc::memory_limit) + 1,
              "offload::errc must list every proto::errc, in the same order");

namespace {

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "offload"; }
  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::invalid_url:
        return "the base URL is not http://host[:port][/prefix]";
      case errc::connect_failed:
        return "cannot connect to the server";
      case errc::timeout:
        return "the server did not answer in time";
      case errc::connection_lost:
        return "the connection to the server broke";
      case errc::bad_response:
        return "the server's answer does not follow the protocol";
      case errc::wait_timeout:
        return "the job did not finish within the wait";
      case errc::reconnect_exhausted:
        return "the event stream could not be resumed";
      default:
        break;
    }
    if (value >= 1 && value < 100) return std::string{proto::to_string(static_cast<proto::errc>(value - 1))};
    return "unknown offload error " + std::to_string(value);
  }
};

}  // namespace

const std::error_category& client_category() noexcept {
  static const category instance;
  return instance;
}

std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), client_category()};
}

errc from_proto(proto::errc code) noexcept {
  return static_cast<errc>(static_cast<int>(code) + 1);
}

std::string_view to_string(errc e) noexcept {
  switch (e) {
    case errc::invalid_url:
      return "invalid_url";
    case errc::connect_failed:
      return "connect_failed";
    case errc::timeout:
      return "timeout";
    case errc::connection_lost:
      return "connection_lost";
    case errc::bad_response:
      return "bad_response";
    case errc::wait_timeout:
      return "wait_timeout";
    case errc::reconnect_exhausted:
      return "reconnect_exhausted";
    default:
      break;
  }
  const auto value = static_cast<int>(e);
  if (value >= 1 && value < 100) return proto::to_string(static_cast<proto::errc>(value - 1));
  return "unknown";
}

error make_error(errc code, std::string message) {
  error e;
  e.code = make_error_code(code);
  e.message = std::move(message);
  return e;
}

void throw_exception_from_error(const error& e, const boost::source_location& loc) {
  boost::throw_exception(client_error{e}, loc);
}

}  // namespace offload
