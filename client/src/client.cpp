// The blocking facade: every call runs the asynchronous operation on a private I/O thread.
#include <offload/asio_support.hpp>
#include <offload/client/async_client.hpp>
#include <offload/client/client.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <stdexcept>
#include <thread>

namespace offload {

struct client::impl {
  explicit impl(client_options options)
      : async(io.get_executor(), std::move(options)), thread([this] { io.run(); }) {}
  ~impl() {
    work.reset();
    io.stop();
    thread.join();
  }

  // Runs one operation on the I/O thread and blocks until it completes.
  template <class T>
  result<T> run(asio::awaitable<result<T>> operation) {
    if (io.get_executor().running_in_this_thread())
      throw std::logic_error(
          "offload::client: a blocking call from the client's own I/O thread would deadlock");
    auto done = asio::co_spawn(io, std::move(operation), asio::use_future);
    return done.get();
  }

  asio::io_context io{1};
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  async_client async;
  std::thread thread;
};

client::client(client_options options) : impl_(std::make_unique<impl>(std::move(options))) {}

client::~client() = default;

result<submission> client::submit(proto::job_spec spec, std::optional<std::chrono::milliseconds> wait) {
  return impl_->run(impl_->async.async_submit(std::move(spec), wait));
}

result<proto::job_view> client::get(const std::string& id) {
  return impl_->run(impl_->async.async_get(id));
}

result<proto::job_view> client::wait(const std::string& id, std::chrono::milliseconds timeout) {
  return impl_->run(impl_->async.async_wait(id, timeout));
}

result<proto::job_view> client::cancel(const std::string& id) {
  return impl_->run(impl_->async.async_cancel(id));
}

result<job_page> client::list(const list_filter& filter) {
  return impl_->run(impl_->async.async_list(filter));
}

result<std::vector<type_info>> client::types() {
  return impl_->run(impl_->async.async_types());
}

result<nlohmann::json> client::stats() {
  return impl_->run(impl_->async.async_stats());
}

result<void> client::health() {
  return impl_->run(impl_->async.async_health());
}

result<proto::job_event> client::stream(const std::string& id, event_handler handler, std::uint64_t after) {
  return impl_->run(impl_->async.async_stream(id, std::move(handler), after));
}

}  // namespace offload
