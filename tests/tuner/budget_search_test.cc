// A sweep under a time budget screens the seed's real search spaces in the order BudgetSearch
// proposes; on a synthetic landscape whose optimum the generator predicts poorly, it must
// reach that optimum after screening a small part of the space.
#include "tuner/budget_search.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>

#include "generator/spec_parser.h"

namespace fusetune {
namespace {

const char* const kSeed = "linear(m=1024, n=8192, k=8192) -> bias -> mul(2.0) -> leaky_relu(0.1)";

std::vector<Candidate> seed_space(Precision precision) {
  return search_space(parse_spec(kSeed), *DeviceLimits::for_arch("sm_90"), precision);
}

nlohmann::json settings(const Candidate& c) { return nlohmann::json::parse(config_json(c.config)); }

// How far `c` is from `centre` of its family: log2 of the ratio for each numeric setting, 1 for
// each other setting that differs.
double distance(const Candidate& c, const Candidate& centre) {
  const nlohmann::json a = settings(c), b = settings(centre);
  double sum = 0;
  for (const auto& [name, value] : a.items()) {
    if (value == b[name]) continue;
    sum += value.is_number() && value.get<double>() > 0 && b[name].get<double>() > 0
               ? std::abs(std::log2(value.get<double>() / b[name].get<double>()))
               : 1.0;
  }
  return sum;
}

using Landscape = std::function<std::optional<double>(std::size_t)>;

// A smooth landscape: the optimum `target` takes 1 ms and each step away 5% more. Each other
// family is centred on its best predicted candidate at 1.1 ms, so its first guess beats most of
// the target's family. Every seventh candidate but the target fails.
Landscape smooth_landscape(const std::vector<Candidate>& space, std::size_t target) {
  return [&space, target](std::size_t i) -> std::optional<double> {
    if (i != target && i % 7 == 3) return std::nullopt;
    const std::size_t family = space[i].config.index();
    if (family == space[target].config.index())
      return 1.0 + 0.05 * distance(space[i], space[target]);
    const auto centre =
        std::ranges::find_if(space, [&](const Candidate& c) { return c.config.index() == family; });
    return 1.1 + 0.05 * distance(space[i], *centre);
  };
}

// Every candidate in the order the search proposes them, screened in batches of `batch`.
std::vector<std::size_t> screening_order(const std::vector<Candidate>& space,
                                         const Landscape& time_ms, std::size_t batch = 32) {
  BudgetSearch search(space);
  std::vector<std::size_t> order;
  for (std::vector<std::size_t> next = search.next_batch(batch); !next.empty();
       next = search.next_batch(batch))
    for (std::size_t i : next) {
      order.push_back(i);
      search.measured(i, time_ms(i));
    }
  return order;
}

// The share of the space screened when `target` was.
double share_until(const std::vector<std::size_t>& order, std::size_t target) {
  const auto at = std::ranges::find(order, target);
  return static_cast<double>(at - order.begin() + 1) / static_cast<double>(order.size());
}

// A candidate of `family` two thirds down the space's predicted order.
std::size_t poorly_predicted(const std::vector<Candidate>& space, std::size_t family) {
  std::vector<std::size_t> members;
  for (std::size_t i = 0; i < space.size(); ++i)
    if (space[i].config.index() == family) members.push_back(i);
  std::size_t chosen = members[members.size() * 2 / 3];
  return chosen % 7 == 3 ? members[members.size() * 2 / 3 + 1] : chosen;
}

std::set<std::size_t> families(const std::vector<Candidate>& space) {
  std::set<std::size_t> found;
  for (const Candidate& c : space) found.insert(c.config.index());
  return found;
}

TEST(BudgetSearch, ReachesTheFp32SeedsOptimumWithinAQuarterOfTheSpace) {
  const std::vector<Candidate> space = seed_space(Precision::fp32);
  ASSERT_GT(space.size(), 300u);
  const std::size_t target = poorly_predicted(space, space.front().config.index());
  const std::vector<std::size_t> order = screening_order(space, smooth_landscape(space, target));
  EXPECT_LE(share_until(order, target), 0.25) << space[target].name;
}

TEST(BudgetSearch, FindsTheOptimumInAFamilyWhoseFirstGuessesWerePoor) {
  const std::vector<Candidate> space = seed_space(Precision::tf32x3);
  ASSERT_GE(families(space).size(), 2u);
  // The last family of the space: the other's best predicted beats its first guesses.
  const std::size_t target = poorly_predicted(space, space.back().config.index());
  const std::vector<std::size_t> order =
      screening_order(space, smooth_landscape(space, target), 16);
  EXPECT_LE(share_until(order, target), 0.5) << space[target].name;
}

TEST(BudgetSearch, FirstBatchIsTheBestPredictedOfEveryFamilyTakingTurns) {
  const std::vector<Candidate> space = seed_space(Precision::tf32x3);
  BudgetSearch search(space);
  const std::vector<std::size_t> batch = search.next_batch(8);
  const std::vector<Candidate> expected = best_predicted(space, 8);
  ASSERT_EQ(batch.size(), expected.size());
  for (std::size_t i = 0; i < batch.size(); ++i) EXPECT_EQ(space[batch[i]].name, expected[i].name);
  std::set<std::size_t> first_families;
  for (std::size_t i : batch) first_families.insert(space[i].config.index());
  EXPECT_EQ(first_families, families(space));
}

TEST(BudgetSearch, ProposesEveryCandidateExactlyOnce) {
  const std::vector<Candidate> space = seed_space(Precision::tf32x3);
  std::vector<std::size_t> order = screening_order(space, smooth_landscape(space, 5), 7);
  ASSERT_EQ(order.size(), space.size());
  std::ranges::sort(order);
  for (std::size_t i = 0; i < order.size(); ++i) EXPECT_EQ(order[i], i);
}

TEST(BudgetSearch, IsDeterministic) {
  const std::vector<Candidate> space = seed_space(Precision::fp32);
  const Landscape landscape = smooth_landscape(space, poorly_predicted(space, 0));
  EXPECT_EQ(screening_order(space, landscape), screening_order(space, landscape));
}

TEST(BudgetSearch, LaterBatchesHoldTheFastestsNeighboursFirst) {
  const std::vector<Candidate> space = seed_space(Precision::fp32);
  BudgetSearch search(space);
  const std::vector<std::size_t> first = search.next_batch(4);
  for (std::size_t i : first) search.measured(i, i == first[2] ? 1.0 : 2.0);
  const std::vector<std::size_t> second = search.next_batch(8);
  ASSERT_EQ(second.size(), 8u);
  const nlohmann::json parent = settings(space[first[2]]), child = settings(space[second.front()]);
  int differing = 0;
  for (const auto& [name, value] : parent.items()) differing += child[name] != value;
  EXPECT_EQ(differing, 1);
}

TEST(BudgetSearch, AFailedCandidateLeadsNowhere) {
  const std::vector<Candidate> space = seed_space(Precision::fp32);
  BudgetSearch failed(space), timed(space);
  failed.measured(0, std::nullopt);
  timed.measured(0, 1.0);
  // Without a time to go on, the search takes the next best predicted, as a first batch does.
  const std::vector<std::size_t> after_failure = failed.next_batch(4);
  EXPECT_EQ(after_failure, (std::vector<std::size_t>{1, 2, 3, 4}));
  EXPECT_NE(timed.next_batch(4), after_failure);
}

TEST(BudgetSearch, NeverProposesWhatAResumedSweepMeasuredAlready) {
  const std::vector<Candidate> space = seed_space(Precision::tf32x3);
  BudgetSearch search(space);
  for (std::size_t i = 0; i < space.size(); i += 2) search.measured(i, 1.0 + i);
  std::set<std::size_t> proposed;
  for (std::vector<std::size_t> next = search.next_batch(10); !next.empty();
       next = search.next_batch(10))
    for (std::size_t i : next) {
      EXPECT_EQ(i % 2, 1u);
      EXPECT_TRUE(proposed.insert(i).second);
    }
  EXPECT_EQ(proposed.size(), space.size() / 2);
}

TEST(BudgetSearch, AnEmptySpaceProposesNothing) {
  BudgetSearch search({});
  EXPECT_TRUE(search.next_batch(32).empty());
}

TEST(PlanFinalists, TwoRoundsForAsManyFinalistsAsFit) {
  const FinalistPlan plan = plan_finalists(1.0, 0.1, 8, 3);
  EXPECT_EQ(plan.finalists, 5);
  EXPECT_EQ(plan.rounds, 2);
}

TEST(PlanFinalists, MoreTimeBuysRoundsUpToTheLimits) {
  const FinalistPlan plan = plan_finalists(10.0, 0.1, 8, 3);
  EXPECT_EQ(plan.finalists, 8);
  EXPECT_EQ(plan.rounds, 3);
}

TEST(PlanFinalists, TooLittleTimeStillTimesTwoFinalistsOnce) {
  const FinalistPlan short_plan = plan_finalists(0.25, 0.1, 8, 3);
  EXPECT_EQ(short_plan.finalists, 2);
  EXPECT_EQ(short_plan.rounds, 1);
  const FinalistPlan none = plan_finalists(0.0, 0.1, 8, 3);
  EXPECT_EQ(none.finalists, 1);
  EXPECT_EQ(none.rounds, 1);
  EXPECT_EQ(plan_finalists(1.0, 0.1, 1, 3).finalists, 1);
}

}  // namespace
}  // namespace fusetune
