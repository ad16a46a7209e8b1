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
///
/// Listeners follow the log's *published* part. A log publishes each event as it is appended, unless it was
/// told to `publish_when_stored`: then an event is published once its store says it has it (`stored_through`
/// or a `stored_mark`). A subscriber is so never sent an event that a crash could take back: a node that
/// restarts, or takes the job over, numbers its events after the last stored one, and a client that resumes
/// with `after=<last seq it saw>` misses none of them.
class event_log {
  // The events, how far they are published, and the listeners.
  struct state;

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
    subscription(std::weak_ptr<state> s, std::uint64_t id) : state_(std::move(s)), id_(id) {}
    void reset() noexcept;
    std::weak_ptr<state> state_;
    std::uint64_t id_ = 0;
  };

  /// Publishes the log's events through one seq once called: handed to a store with a write, called back
  /// when the write is durable. Harmless after the log is gone, and when a later mark was called first.
  class stored_mark {
   public:
    stored_mark() = default;
    void operator()() const;
    explicit operator bool() const noexcept { return seq_ != 0; }

   private:
    friend class event_log;
    stored_mark(std::weak_ptr<state> s, std::uint64_t seq) : state_(std::move(s)), seq_(seq) {}
    std::weak_ptr<state> state_;
    std::uint64_t seq_ = 0;
  };

  event_log();
  event_log(event_log&&) noexcept = default;
  event_log& operator=(event_log&&) noexcept = default;

  /// Appends an event with the next sequence number, and publishes it at once unless the log waits for
  /// its store.
  const logged_event& append(proto::event_type type, nlohmann::json data,
                             std::chrono::system_clock::time_point when = std::chrono::system_clock::now());

  /// Puts back an event read from a store, as it was logged: `seq` must follow the last one. Published.
  void restore(std::uint64_t seq, proto::event_type type, std::string frame);
  /// Appends an event another node logged (as `restore`), and publishes the log through it: a store has it.
  const logged_event& append_logged(std::uint64_t seq, proto::event_type type,
                                    std::shared_ptr<const std::string> frame);

  /// From now on, appended events wait for their store before they are published. Set by a durable store
  /// on the jobs it makes or reads back, before any event is appended.
  void publish_when_stored() noexcept;
  /// Publishes every event through `seq`: the store has them.
  void stored_through(std::uint64_t seq) const;
  /// Publishes every event through `seq` when called (later, on the reactor).
  stored_mark mark(std::uint64_t seq) const;
  /// Takes back the events not published yet: those of an attempt whose writes the store refused or dropped
  /// (the job was lost), which no listener was sent and no store will have.
  void drop_unpublished() noexcept;

  /// Every event, published or not (what a store writes).
  const std::vector<logged_event>& events() const noexcept;
  std::uint64_t last_seq() const noexcept;
  /// The newest event listeners may be sent (`last_seq()` unless some wait for their store).
  std::uint64_t published_seq() const noexcept;
  bool all_published() const noexcept { return published_seq() == last_seq(); }

  /// Calls `fn` for every event published from now on, until the subscription is destroyed.
  /// A listener may drop its own (or any) subscription while being called; it must not append to this
  /// log or destroy it (listeners only queue work or wake a waiter).
  [[nodiscard]] subscription subscribe(listener fn) const;

  std::size_t listener_count() const noexcept;

 private:
  // Shared with subscriptions and marks, which may outlive the log.
  std::shared_ptr<state> state_;
};

}  // namespace offload::core
