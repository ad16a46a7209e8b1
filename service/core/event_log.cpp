// Event log with re-entrancy-safe listener notification.
#include "core/event_log.hpp"

#include <offload/proto/job_event.hpp>
#include <offload/proto/json_parse.hpp>
#include <offload/proto/json_writer.hpp>
#include <offload/proto/timestamp.hpp>

#include <algorithm>
#include <array>
#include <string_view>

namespace offload::core {

struct event_log::state {
  struct entry {
    std::uint64_t id;
    // Shared so that a call in progress keeps its closure even if the vector grows or the entry goes.
    std::shared_ptr<listener> fn;
    bool alive = true;
  };
  std::vector<logged_event> events;
  // Events through this seq are published: listeners were told of them.
  std::uint64_t published = 0;
  // Appended events wait for `publish(seq)` from their store.
  bool held = false;
  std::vector<entry> entries;
  std::uint64_t next_id = 1;
  // While notifying, removal only marks an entry dead: the closure may be the one running right now.
  // The sweep after notification destroys dead entries.
  int notifying = 0;

  void remove(std::uint64_t id) {
    auto it = std::find_if(entries.begin(), entries.end(), [id](const entry& e) { return e.id == id; });
    if (it == entries.end()) return;
    if (notifying > 0)
      it->alive = false;
    else
      entries.erase(it);
  }

  // Publishes the events through `seq` (never past the last one), oldest first.
  void publish(std::uint64_t seq) {
    if (events.empty()) return;
    seq = std::min(seq, events.back().seq);
    while (published < seq) {
      const auto first = events.front().seq;
      if (published + 1 < first) {
        published = first - 1;  // a log read back from a later seq on
        continue;
      }
      const auto next = published + 1;
      published = next;
      notify(next - first);
    }
  }

  void notify(std::size_t index) {
    if (entries.empty()) return;
    ++notifying;
    // Index-based: listeners added during notification are not called for this event.
    for (std::size_t i = 0, n = entries.size(); i < n; ++i) {
      if (!entries[i].alive) continue;
      const auto fn = entries[i].fn;
      (*fn)(events[index]);
    }
    if (--notifying == 0) std::erase_if(entries, [](const entry& e) { return !e.alive; });
  }
};

event_log::subscription& event_log::subscription::operator=(subscription&& other) noexcept {
  if (this != &other) {
    reset();
    state_ = std::move(other.state_);
    id_ = std::exchange(other.id_, 0);
  }
  return *this;
}

event_log::subscription::~subscription() {
  reset();
}

void event_log::subscription::reset() noexcept {
  if (auto s = state_.lock()) s->remove(id_);
  state_.reset();
  id_ = 0;
}

void event_log::stored_mark::operator()() const {
  if (auto s = state_.lock()) s->publish(seq_);
}

event_log::event_log() : state_(std::make_shared<state>()) {}

const logged_event& event_log::append(proto::event_type type, nlohmann::json data,
                                      std::chrono::system_clock::time_point when) {
  // The frame is `to_json(job_event)`: the data's members beside seq, time and type (which replace members
  // of those names), in sorted order. Written straight into the frame rather than by adding the three to
  // `data` and serialising it: the bytes of dump_json, without the extra members' allocations.
  const auto seq = last_seq() + 1;
  std::string frame;
  frame.reserve(112);
  proto::json_writer w{frame};
  constexpr std::array<std::string_view, 3> fixed{"seq", "time", "type"};
  std::size_t next = 0;
  const auto write_fixed = [&] {
    w.key(fixed[next]);
    if (next == 0)
      w.number(seq);
    else if (next == 1)
      w.string(proto::format_timestamp_text(when).view());
    else
      w.string(proto::to_string(type));
    ++next;
  };
  w.begin_object();
  if (data.is_object()) {
    for (const auto& [key, value] : data.get_ref<const nlohmann::json::object_t&>()) {
      if (std::find(fixed.begin(), fixed.end(), key) != fixed.end()) continue;
      while (next < fixed.size() && fixed[next] < key)
        write_fixed();
      w.key(key);
      w.value(value);
    }
  }
  while (next < fixed.size())
    write_fixed();
  w.end_object();
  auto& events = state_->events;
  // Most jobs log three events (queued, started, an end): one allocation for them, not three.
  if (events.empty()) events.reserve(4);
  events.push_back(logged_event{seq, type, std::make_shared<const std::string>(std::move(frame))});
  if (!state_->held) state_->publish(seq);
  return events.back();
}

const logged_event& event_log::append_logged(std::uint64_t seq, proto::event_type type,
                                             std::shared_ptr<const std::string> frame) {
  state_->events.push_back(logged_event{seq, type, std::move(frame)});
  state_->publish(seq);
  return state_->events.back();
}

void event_log::restore(std::uint64_t seq, proto::event_type type, std::string frame) {
  state_->events.push_back(logged_event{seq, type, std::make_shared<const std::string>(std::move(frame))});
  state_->published = seq;
}

void event_log::publish_when_stored() noexcept {
  state_->held = true;
}

void event_log::stored_through(std::uint64_t seq) const {
  state_->publish(seq);
}

event_log::stored_mark event_log::mark(std::uint64_t seq) const {
  return stored_mark{state_, seq};
}

void event_log::drop_unpublished() noexcept {
  auto& events = state_->events;
  while (!events.empty() && events.back().seq > state_->published)
    events.pop_back();
}

const std::vector<logged_event>& event_log::events() const noexcept {
  return state_->events;
}

std::uint64_t event_log::last_seq() const noexcept {
  return state_->events.empty() ? 0 : state_->events.back().seq;
}

std::uint64_t event_log::published_seq() const noexcept {
  return state_->published;
}

event_log::subscription event_log::subscribe(listener fn) const {
  const auto id = state_->next_id++;
  state_->entries.push_back({id, std::make_shared<listener>(std::move(fn)), true});
  return subscription{state_, id};
}

std::size_t event_log::listener_count() const noexcept {
  return static_cast<std::size_t>(
      std::count_if(state_->entries.begin(), state_->entries.end(), [](const auto& e) { return e.alive; }));
}

}  // namespace offload::core
