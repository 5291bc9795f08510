#pragma once
// An index of store/run_repository.h (migration step 18, "runs by agent and start, with cost").
#include <string_view>

namespace talon::store {

// RunRepository::costSince — SUM(cost_usd) of one agent's runs since a time, asked before every turn of an
// agent with a spending limit — reads this covering index instead of scanning every run.
constexpr std::string_view kRunCostIndexSchema = R"sql(
CREATE INDEX runs_by_agent_started ON runs (agent_id, started_at_ms, cost_usd);
)sql";

}  // namespace talon::store
