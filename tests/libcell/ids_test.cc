// Typed ids (apiary/cell/ids.h) and the engine's IdVector (engine/ids.h):
// what must not compile is held by static_asserts (a kind never converts
// into another, an integer never silently becomes an id, an IdVector is not
// indexed by another kind); the runtime tests hold None, ordering, hashing
// and the use as an index.
#include "apiary/cell/ids.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <type_traits>
#include <unordered_set>
#include <vector>

#include "engine/ids.h"

namespace apiary::cell {
namespace {

template <typename A, typename B>
concept EqualityComparable = requires(A a, B b) { a == b; };
template <typename A, typename B>
concept Ordered = requires(A a, B b) { a < b; };

void TakesVCell(VCellId) {}
template <typename T>
concept PassableAsVCell = requires(T t) { TakesVCell(t); };

template <typename A, typename B>
constexpr bool kNeitherConverts =
    !std::is_convertible_v<A, B> && !std::is_constructible_v<B, A> &&
    !std::is_convertible_v<B, A> && !std::is_constructible_v<A, B> &&
    !std::is_assignable_v<A&, B> && !std::is_assignable_v<B&, A> &&
    !EqualityComparable<A, B> && !Ordered<A, B>;

// Every pair of kinds is apart.
static_assert(kNeitherConverts<CellId, VCellId>);
static_assert(kNeitherConverts<CellId, ChainId>);
static_assert(kNeitherConverts<CellId, VcId>);
static_assert(kNeitherConverts<CellId, GroupId>);
static_assert(kNeitherConverts<CellId, NodeId>);
static_assert(kNeitherConverts<VCellId, ChainId>);
static_assert(kNeitherConverts<VCellId, VcId>);
static_assert(kNeitherConverts<VCellId, GroupId>);
static_assert(kNeitherConverts<VCellId, NodeId>);
static_assert(kNeitherConverts<ChainId, VcId>);
static_assert(kNeitherConverts<ChainId, GroupId>);
static_assert(kNeitherConverts<ChainId, NodeId>);
static_assert(kNeitherConverts<VcId, GroupId>);
static_assert(kNeitherConverts<VcId, NodeId>);
static_assert(kNeitherConverts<GroupId, NodeId>);

// A CellId where a VCellId is meant does not compile; a VCellId does.
static_assert(!PassableAsVCell<CellId>);
static_assert(PassableAsVCell<VCellId>);
// Nor does a bare integer: an id is made from one only explicitly.
static_assert(!PassableAsVCell<int32_t>);
static_assert(!std::is_convertible_v<int32_t, CellId>);
static_assert(!std::is_convertible_v<size_t, CellId>);
static_assert(std::is_constructible_v<CellId, int32_t>);
static_assert(std::is_constructible_v<CellId, size_t>);
// Usable as an array index: an id converts to its integer.
static_assert(std::is_convertible_v<CellId, int32_t>);
static_assert(std::is_convertible_v<VCellId, int32_t>);
// Same-kind ids compare and order.
static_assert(EqualityComparable<CellId, CellId> && Ordered<CellId, CellId>);
// As cheap as the integer.
static_assert(sizeof(CellId) == sizeof(int32_t));
static_assert(std::is_trivially_copyable_v<CellId>);
// The engine's kNone is "no id" of every kind and -1 as an integer.
static_assert(std::is_convertible_v<NoneId, CellId> && std::is_convertible_v<NoneId, NodeId>);
static_assert(CellId(kNone) == CellId::None());
static_assert(static_cast<int32_t>(kNone) == -1);
static_assert(!CellId::None().valid() && CellId{0}.valid());

// An IdVector (engine/ids.h) is indexed by its own kind or an integer,
// never by another kind (pcells_[v] for a VCellId v does not compile).
template <typename V, typename I>
concept Indexable = requires(V v, I i) { v[i]; };
using CellVector = IdVector<CellIdTag, int>;
static_assert(Indexable<CellVector&, CellId> && Indexable<const CellVector&, CellId>);
static_assert(Indexable<CellVector&, int32_t> && Indexable<CellVector&, size_t>);
static_assert(!Indexable<CellVector&, VCellId> && !Indexable<const CellVector&, VCellId>);
static_assert(!Indexable<CellVector&, NodeId> && !Indexable<const CellVector&, GroupId>);

TEST(IdsTest, IdVectorIndexesByItsKind) {
  CellVector v = {10, 20, 30};
  EXPECT_EQ(v[CellId{1}], 20);
  EXPECT_EQ(v[2], 30);
  v[CellId{0}] = 5;
  EXPECT_EQ(v.front(), 5);
}

TEST(IdsTest, DefaultIsNone) {
  CellId c;
  EXPECT_FALSE(c.valid());
  EXPECT_EQ(c, CellId::None());
  EXPECT_EQ(c, kNone);
  EXPECT_EQ(c.value(), -1);
  c = CellId{7};
  EXPECT_TRUE(c.valid());
  EXPECT_NE(c, kNone);
  c = kNone;
  EXPECT_FALSE(c.valid());
}

TEST(IdsTest, OrderAndHashFollowTheInteger) {
  EXPECT_LT(VCellId{2}, VCellId{3});
  EXPECT_LT(VCellId::None(), VCellId{0});
  std::unordered_set<GroupId> seen{GroupId{1}, GroupId{2}, GroupId{1}};
  EXPECT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen.count(GroupId{2}), 1u);
  EXPECT_EQ(seen.count(GroupId{3}), 0u);
}

TEST(IdsTest, IndexesVectorsAndIteratesDensely) {
  std::vector<int> by_node = {10, 20, 30};
  int sum = 0;
  for (NodeId n{0}; n < NodeId(by_node.size()); ++n) sum += by_node[n];
  EXPECT_EQ(sum, 60);
  NodeId last{2};
  EXPECT_EQ(by_node[last], 30);
  int32_t as_int = last;
  EXPECT_EQ(as_int, 2);
}

}  // namespace
}  // namespace apiary::cell
