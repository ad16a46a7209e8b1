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

struct event_log::subscription::registry {
  struct entry {
    std::uint64_t id;
    // Shared so that a call in progress keeps its closure even if the vector grows or the entry goes.
    std::shared_ptr<listener> fn;
    bool alive = true;
  };
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
};

event_log::subscription& event_log::subscription::operator=(subscription&& other) noexcept {
  if (this != &other) {
    reset();
    registry_ = std::move(other.registry_);
    id_ = std::exchange(other.id_, 0);
  }
  return *this;
}

event_log::subscription::~subscription() {
  reset();
}

void event_log::subscription::reset() noexcept {
  if (auto reg = registry_.lock()) reg->remove(id_);
  registry_.reset();
  id_ = 0;
}

event_log::event_log() : listeners_(std::make_shared<subscription::registry>()) {}

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
  // Most jobs log three events (queued, started, an end): one allocation for them, not three.
  if (events_.empty()) events_.reserve(4);
  events_.push_back(logged_event{seq, type, std::make_shared<const std::string>(std::move(frame))});
  notify(events_.back());
  return events_.back();
}

const logged_event& event_log::append_logged(std::uint64_t seq, proto::event_type type,
                                             std::shared_ptr<const std::string> frame) {
  events_.push_back(logged_event{seq, type, std::move(frame)});
  notify(events_.back());
  return events_.back();
}

void event_log::notify(const logged_event& logged) {
  auto reg = listeners_;
  ++reg->notifying;
  // Index-based: listeners added during notification are not called for this event.
  for (std::size_t i = 0, n = reg->entries.size(); i < n; ++i) {
    if (!reg->entries[i].alive) continue;
    const auto fn = reg->entries[i].fn;
    (*fn)(logged);
  }
  if (--reg->notifying == 0)
    std::erase_if(reg->entries, [](const subscription::registry::entry& e) { return !e.alive; });
}

void event_log::restore(std::uint64_t seq, proto::event_type type, std::string frame) {
  events_.push_back(logged_event{seq, type, std::make_shared<const std::string>(std::move(frame))});
}

event_log::subscription event_log::subscribe(listener fn) const {
  const auto id = listeners_->next_id++;
  listeners_->entries.push_back({id, std::make_shared<listener>(std::move(fn)), true});
  return subscription{listeners_, id};
}

std::size_t event_log::listener_count() const noexcept {
  return static_cast<std::size_t>(std::count_if(listeners_->entries.begin(), listeners_->entries.end(),
                                                [](const auto& e) { return e.alive; }));
}

}  // namespace offload::core
