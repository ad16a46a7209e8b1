// The job lifecycle state machine: every (state, input) pair, legal or not.
#include "core/job_fsm.hpp"

#include <gtest/gtest.h>

#include <map>

namespace offload::core {
namespace {

using proto::job_state;

TEST(job_fsm_test, full_transition_table) {
  const job_state states[] = {job_state::queued, job_state::running,   job_state::succeeded,
                              job_state::failed, job_state::cancelled, job_state::timed_out,
                              job_state::crashed};
  const job_input inputs[] = {job_input::start,  job_input::succeed,  job_input::fail,
                              job_input::cancel, job_input::time_out, job_input::crash};
  const std::map<std::pair<job_state, job_input>, job_state> legal{
      {{job_state::queued, job_input::start}, job_state::running},
      {{job_state::queued, job_input::cancel}, job_state::cancelled},
      {{job_state::queued, job_input::fail}, job_state::failed},
      {{job_state::running, job_input::succeed}, job_state::succeeded},
      {{job_state::running, job_input::fail}, job_state::failed},
      {{job_state::running, job_input::cancel}, job_state::cancelled},
      {{job_state::running, job_input::time_out}, job_state::timed_out},
      {{job_state::running, job_input::crash}, job_state::crashed},
  };
  int checked = 0;
  for (const auto s : states) {
    for (const auto in : inputs) {
      const auto next = next_state(s, in);
      const auto it = legal.find({s, in});
      if (it == legal.end()) {
        EXPECT_FALSE(next.has_value()) << to_string(s) << " + " << to_string(in) << " must be illegal";
      } else {
        ASSERT_TRUE(next.has_value()) << to_string(s) << " + " << to_string(in) << " must be legal";
        EXPECT_EQ(*next, it->second);
      }
      ++checked;
    }
  }
  EXPECT_EQ(checked, 42);
}

TEST(job_fsm_test, terminal_states_accept_nothing) {
  for (const auto s : {job_state::succeeded, job_state::failed, job_state::cancelled, job_state::timed_out,
                       job_state::crashed})
    for (const auto in : {job_input::start, job_input::succeed, job_input::fail, job_input::cancel,
                          job_input::time_out, job_input::crash})
      EXPECT_FALSE(next_state(s, in).has_value());
}

}  // namespace
}  // namespace offload::core
