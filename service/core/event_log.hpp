// A job's append-only event log: numbered, pre-serialised frames, plus listeners that follow it live.
#pragma once

#include <offload/proto/job_enums.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace offload::core {

/// One logged event. `frame` is the JSON text sent to subscribers, serialised once when appended and
/// shared by every subscriber's send queue (a thousand subscribers, one copy).
struct logged_event {
  std::uint64_t seq = 0;
  proto::event_type type = proto::event_type::queued;
  std::shared_ptr<const std::string> frame;
};

/// Owned by one job and touched only on the reactor, so it needs no locks.
class event_log {
 public:
  using listener = std::function<void(const logged_event&)>;

  /// Keeps a listener registered while it lives. Safe to destroy after the log is gone.
  class subscription {
   public:
    subscription() = default;
    subscription(subscription&&) noexcept = default;
    subscription& operator=(subscription&&) noexcept;
    ~subscription();

   private:
    friend class event_log;
    struct registry;
    subscription(std::weak_ptr<registry> reg, std::uint64_t id) : registry_(std::move(reg)), id_(id) {}
    void reset() noexcept;
    std::weak_ptr<registry> registry_;
    std::uint64_t id_ = 0;
  };

  event_log();
  event_log(event_log&&) noexcept = default;
  event_log& operator=(event_log&&) noexcept = default;

  /// Appends an event with the next sequence number and tells every listener.
  const logged_event& append(proto::event_type type, nlohmann::json data,
                             std::chrono::system_clock::time_point when = std::chrono::system_clock::now());

  /// Puts back an event read from a store, as it was logged: `seq` must follow the last one.
  void restore(std::uint64_t seq, proto::event_type type, std::string frame);
  /// Appends an event another node logged (as `restore`) and tells every listener, as `append` does.
  const logged_event& append_logged(std::uint64_t seq, proto::event_type type,
                                    std::shared_ptr<const std::string> frame);

  const std::vector<logged_event>& events() const noexcept { return events_; }
  std::uint64_t last_seq() const noexcept { return events_.empty() ? 0 : events_.back().seq; }

  /// Calls `fn` for every event appended from now on, until the subscription is destroyed.
  /// A listener may drop its own (or any) subscription while being called; it must not append to this
  /// log or destroy it (listeners only queue work or wake a waiter).
  [[nodiscard]] subscription subscribe(listener fn) const;

  std::size_t listener_count() const noexcept;

 private:
  void notify(const logged_event& logged);

  std::vector<logged_event> events_;
  std::shared_ptr<subscription::registry> listeners_;
};

}  // namespace offload::core
