// Typed 32-bit ids of the scheduler's flat trees (DESIGN.md, "Habits that
// keep it fast"): a physical cell, a virtual cell, a chain, a virtual
// cluster, an affinity group and a node are each numbered densely from 0 in
// the engine's build order, and each kind is its own type.
//
//   - An id is made from an integer only explicitly (`CellId{3}`), and an id
//     of one kind never converts into another: passing a `CellId` where a
//     `VCellId` is meant, or comparing the two, does not compile
//     (tests/libcell/ids_test.cc holds this with static_asserts).
//   - An id converts implicitly to its 32-bit integer, so it indexes the
//     engine's arrays (and `std::vector`s) as a plain integer would.
//   - "No id" is `Id::None()` (the integer -1), also the default value;
//     `valid()` says whether an id names something.
//
// Ids are values: trivially copyable, 4 bytes, compared and ordered within
// their kind. They are stable for the life of one Scheduler only (a rebuild
// from another configuration numbers cells anew); names and addresses are
// what persists.
#pragma once

#include <compare>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <type_traits>

namespace apiary::cell {

template <typename Tag>
class Id {
 public:
  using Rep = int32_t;

  // The "no id" value (the integer -1).
  static constexpr Id None() { return Id(); }

  constexpr Id() = default;
  template <std::integral I>
  explicit constexpr Id(I value) : value_(static_cast<Rep>(value)) {}
  // An id of another kind is never an id of this kind, even explicitly.
  template <typename OtherTag>
    requires(!std::is_same_v<OtherTag, Tag>)
  Id(Id<OtherTag>) = delete;

  constexpr Rep value() const { return value_; }
  constexpr bool valid() const { return value_ >= 0; }
  // As an array index (and wherever an integer is needed).
  constexpr operator Rep() const { return value_; }

  // The next id of the same kind (dense numbering: for loops over all ids).
  constexpr Id& operator++() {
    ++value_;
    return *this;
  }

  friend constexpr bool operator==(Id, Id) = default;
  friend constexpr std::strong_ordering operator<=>(Id, Id) = default;

 private:
  Rep value_ = -1;
};

struct CellIdTag {};
struct VCellIdTag {};
struct ChainIdTag {};
struct VcIdTag {};
struct GroupIdTag {};
struct NodeIdTag {};

using CellId = Id<CellIdTag>;    // a physical cell
using VCellId = Id<VCellIdTag>;  // a virtual cell
using ChainId = Id<ChainIdTag>;  // a chain (a top-level cell type)
using VcId = Id<VcIdTag>;        // a virtual cluster
using GroupId = Id<GroupIdTag>;  // an affinity group
using NodeId = Id<NodeIdTag>;    // a configured node

}  // namespace apiary::cell

template <typename Tag>
struct std::hash<apiary::cell::Id<Tag>> {
  size_t operator()(apiary::cell::Id<Tag> id) const noexcept {
    return std::hash<int32_t>()(id.value());
  }
};
