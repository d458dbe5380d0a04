// NodeArray on its own (libcell/src/engine/node_array.h): the node order of
// hived.md 6.3 and its two re-sorts. The incremental one must give exactly
// the order of a stable sort of the previous order by the new values, which
// is what the engine's decisions (and their tie-breaks) rest on.
#include "engine/node_array.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

namespace apiary::cell {
namespace {

// Keys from small ranges, so that ties (decided by previous position) are
// common.
void Randomize(NodeArrayEntry& e, std::mt19937& rng) {
  e.healthy = rng() % 5 != 0;
  e.suggested = rng() % 4 != 0;
  e.used_same = static_cast<int32_t>(rng() % 4);
  e.used_higher = static_cast<int32_t>(rng() % 3);
}

NodeArray RandomArray(size_t n, std::mt19937& rng) {
  NodeArray t;
  for (size_t i = 0; i < n; ++i) {
    NodeArrayEntry e;
    e.cell = static_cast<int32_t>(100 + i);
    e.ord = static_cast<int32_t>(i);
    Randomize(e, rng);
    t.nodes.push_back(e);
  }
  t.dirty_flag.assign(n, 0);
  t.pos.assign(n, 0);
  return t;
}

std::vector<int32_t> Ords(const std::vector<NodeArrayEntry>& nodes) {
  std::vector<int32_t> out;
  for (const auto& e : nodes) out.push_back(e.ord);
  return out;
}

std::vector<NodeArrayEntry> StableSorted(std::vector<NodeArrayEntry> nodes) {
  std::stable_sort(nodes.begin(), nodes.end(), NodeOrderLess);
  return nodes;
}

TEST(NodeArrayTest, OrderIsHealthySuggestedPackedThenLeastUsedAbove) {
  NodeArrayEntry bad, unsuggested, packed, loose, above;
  bad.healthy = false;
  bad.used_same = 9;
  unsuggested.suggested = false;
  unsuggested.used_same = 9;
  packed.used_same = 3;
  loose.used_same = 1;
  above.used_same = 1;
  above.used_higher = 2;
  EXPECT_TRUE(NodeOrderLess(unsuggested, bad));
  EXPECT_TRUE(NodeOrderLess(packed, unsuggested));
  EXPECT_TRUE(NodeOrderLess(packed, loose));
  EXPECT_TRUE(NodeOrderLess(loose, above));
  EXPECT_FALSE(NodeOrderLess(loose, loose));
}

TEST(NodeArrayTest, SortStableIsStdStableSort) {
  std::mt19937 rng(7);
  for (size_t n : {0, 1, 2, 5, 40, 300}) {
    NodeArray t = RandomArray(n, rng);
    const std::vector<NodeArrayEntry> want = StableSorted(t.nodes);
    t.SortStable();
    EXPECT_EQ(Ords(t.nodes), Ords(want)) << "n=" << n;
  }
}

// Rounds of: some nodes change (marked dirty as the engine's change counters
// do), TakeDirty, new values, Reposition; each round must equal the full
// stable sort of the previous order, and the position index must follow.
TEST(NodeArrayTest, RepositionEqualsStableSortOfPreviousOrder) {
  std::mt19937 rng(13);
  for (size_t n : {1, 2, 3, 8, 64, 500}) {
    NodeArray t = RandomArray(n, rng);
    t.SortStable();
    NodeArray::Scratch scratch;
    for (int round = 0; round < 60; ++round) {
      const size_t changes = 1 + rng() % std::max<size_t>(1, n / 4);
      for (size_t k = 0; k < changes; ++k) {
        const int32_t ord = static_cast<int32_t>(rng() % n);
        if (t.dirty_flag[ord]) continue;
        t.dirty_flag[ord] = 1;
        t.dirty.push_back(ord);
      }
      t.TakeDirty(scratch.prev);
      ASSERT_TRUE(t.dirty.empty());
      ASSERT_TRUE(std::is_sorted(scratch.prev.begin(), scratch.prev.end()));
      for (int32_t i : scratch.prev) {
        ASSERT_EQ(t.dirty_flag[t.nodes[i].ord], 0);
        Randomize(t.nodes[i], rng);
      }
      const std::vector<NodeArrayEntry> want = StableSorted(t.nodes);
      t.Reposition(scratch);
      ASSERT_EQ(Ords(t.nodes), Ords(want)) << "n=" << n << " round " << round;
      ASSERT_TRUE(t.pos_valid);
      for (size_t i = 0; i < n; ++i) ASSERT_EQ(t.pos[t.nodes[i].ord], static_cast<int32_t>(i));
    }
  }
}

TEST(NodeArrayTest, RepositionWithoutDirtyNodesChangesNothing) {
  std::mt19937 rng(3);
  NodeArray t = RandomArray(20, rng);
  t.SortStable();
  const std::vector<int32_t> before = Ords(t.nodes);
  NodeArray::Scratch scratch;
  t.TakeDirty(scratch.prev);
  EXPECT_TRUE(scratch.prev.empty());
  t.Reposition(scratch);
  EXPECT_EQ(Ords(t.nodes), before);
}

}  // namespace
}  // namespace apiary::cell
