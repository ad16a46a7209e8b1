// The job lifecycle state machine: every (state, input) pair, legal or not, with the actions each legal
// transition asks the service to perform, in order.
#include "core/job_fsm.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <vector>

namespace offload::core {
namespace {

using proto::job_state;
using enum job_action;
using actions = std::vector<job_action>;

struct expected {
  job_state next;
  actions steps;
};

std::string describe(const actions& list) {
  std::string out;
  for (const auto a : list)
    out += std::string{out.empty() ? "" : ", "} + std::string{to_string(a)};
  return "[" + out + "]";
}

TEST(job_fsm_test, full_transition_table_with_actions) {
  const job_state states[] = {job_state::queued, job_state::running,   job_state::succeeded,
                              job_state::failed, job_state::cancelled, job_state::timed_out,
                              job_state::crashed};
  const job_input inputs[] = {job_input::start,    job_input::succeed, job_input::fail,     job_input::cancel,
                              job_input::time_out, job_input::crash,   job_input::interrupt};
  const actions ended_queued{leave_queue, record_outcome, persist, retire, notify};
  const actions lane_returned{stop_running, record_outcome, persist, retire, notify};
  const actions lane_still_running{stop_running, stop_handler, record_outcome, persist, retire, notify};
  const std::map<std::pair<job_state, job_input>, expected> legal{
      {{job_state::queued, job_input::start}, {job_state::running, {start_running, persist}}},
      {{job_state::queued, job_input::cancel}, {job_state::cancelled, ended_queued}},
      {{job_state::queued, job_input::fail}, {job_state::failed, ended_queued}},
      {{job_state::queued, job_input::interrupt}, {job_state::failed, ended_queued}},
      {{job_state::running, job_input::succeed}, {job_state::succeeded, lane_returned}},
      {{job_state::running, job_input::fail}, {job_state::failed, lane_returned}},
      {{job_state::running, job_input::crash}, {job_state::crashed, lane_returned}},
      {{job_state::running, job_input::cancel}, {job_state::cancelled, lane_still_running}},
      {{job_state::running, job_input::time_out}, {job_state::timed_out, lane_still_running}},
      {{job_state::running, job_input::interrupt}, {job_state::failed, lane_still_running}},
  };
  for (const auto s : states) {
    for (const auto in : inputs) {
      const auto t = transition(s, in);
      // Without attempts left the table is the same whatever the flag says, for every input but these.
      const bool retryable = (s == job_state::running && in != job_input::succeed &&
                              in != job_input::cancel && in != job_input::start) ||
                             (s == job_state::queued && in == job_input::interrupt);
      if (!retryable) {
        const auto with = transition(s, in, true);
        EXPECT_EQ(with.has_value(), t.has_value());
        if (with && t) {
          EXPECT_EQ(with->next, t->next);
        }
      }
      const auto it = legal.find({s, in});
      const auto pair = std::string{to_string(s)} + " + " + std::string{to_string(in)};
      if (it == legal.end()) {
        EXPECT_FALSE(t.has_value()) << pair << " must be illegal";
        EXPECT_FALSE(next_state(s, in).has_value()) << pair;
        continue;
      }
      ASSERT_TRUE(t.has_value()) << pair << " must be legal";
      EXPECT_EQ(t->next, it->second.next) << pair;
      EXPECT_EQ(next_state(s, in), it->second.next) << pair;
      const actions got(t->actions().begin(), t->actions().end());
      EXPECT_EQ(got, it->second.steps)
          << pair << ": got " << describe(got) << ", want " << describe(it->second.steps);
    }
  }
}

// Whatever ends a job: it is recorded, retired and announced exactly once, and a job that never ran never
// stops running.
TEST(job_fsm_test, every_ending_records_retires_and_notifies_once) {
  for (const auto from : {job_state::queued, job_state::running}) {
    for (const auto in : {job_input::succeed, job_input::fail, job_input::cancel, job_input::time_out,
                          job_input::crash, job_input::interrupt}) {
      const auto t = transition(from, in);
      if (!t) continue;
      ASSERT_TRUE(proto::is_terminal(t->next));
      const auto count = [&](job_action a) {
        return std::count(t->actions().begin(), t->actions().end(), a);
      };
      EXPECT_EQ(count(record_outcome), 1);
      EXPECT_EQ(count(retire), 1);
      EXPECT_EQ(count(notify), 1);
      EXPECT_EQ(count(persist), 1);
      // The store has the outcome before the job is handed over to retention.
      EXPECT_LT(std::find(t->actions().begin(), t->actions().end(), persist),
                std::find(t->actions().begin(), t->actions().end(), retire));
      EXPECT_EQ(count(stop_running), from == job_state::running ? 1 : 0);
      EXPECT_EQ(count(leave_queue), from == job_state::queued ? 1 : 0);
    }
  }
}

// With attempts left, a running job whose attempt failed, crashed, timed out or was interrupted is queued
// again; a timeout and an interrupt still have a handler to stop. A cancel is never retried.
TEST(job_fsm_test, attempts_left_turn_bad_endings_into_retries) {
  const actions retried{stop_running, record_attempt, persist, requeue, notify};
  const actions retried_running{stop_running, stop_handler, record_attempt, persist, requeue, notify};
  for (const auto in : {job_input::fail, job_input::crash, job_input::interrupt, job_input::time_out}) {
    const auto t = transition(job_state::running, in, true);
    ASSERT_TRUE(t.has_value()) << to_string(in);
    EXPECT_EQ(t->next, job_state::queued) << to_string(in);
    const actions got(t->actions().begin(), t->actions().end());
    EXPECT_EQ(got, in == job_input::time_out || in == job_input::interrupt ? retried_running : retried)
        << to_string(in) << describe(got);
  }
  // A queued job a node claimed to run and may have begun before it stopped: retried without a handler.
  const auto unstarted = transition(job_state::queued, job_input::interrupt, true);
  ASSERT_TRUE(unstarted.has_value());
  EXPECT_EQ(unstarted->next, job_state::queued);
  const actions got(unstarted->actions().begin(), unstarted->actions().end());
  EXPECT_EQ(got, (actions{record_attempt, persist, requeue, notify})) << describe(got);
  EXPECT_EQ(next_state(job_state::running, job_input::cancel, true), job_state::cancelled);
  EXPECT_EQ(next_state(job_state::running, job_input::succeed, true), job_state::succeeded);
  EXPECT_EQ(next_state(job_state::queued, job_input::fail, true), job_state::failed)
      << "a job that never ran has no attempt to retry";
}

TEST(job_fsm_test, terminal_states_accept_nothing) {
  for (const auto s : {job_state::succeeded, job_state::failed, job_state::cancelled, job_state::timed_out,
                       job_state::crashed})
    for (const auto in : {job_input::start, job_input::succeed, job_input::fail, job_input::cancel,
                          job_input::time_out, job_input::crash, job_input::interrupt})
      for (const bool attempts_left : {false, true})
        EXPECT_FALSE(transition(s, in, attempts_left).has_value());
}

}  // namespace
}  // namespace offload::core
