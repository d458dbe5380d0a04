// The engine's ids: indexes into SchedulerImpl's flat arrays (not installed).
// The typed ids themselves (CellId, VCellId, ChainId, VcId, GroupId, NodeId)
// are public: apiary/cell/ids.h.
#pragma once

#include <cstdint>
#include <vector>

#include "apiary/cell/ids.h"

namespace apiary::cell {

// "No id" for any id kind and for the engine's plain integer fields
// (list positions, node-array indexes): converts to Id<Tag>::None() and to
// the integer -1, so `cell.parent == kNone` and `int32_t pos = kNone` read
// the same whatever the field's type.
struct NoneId {
  template <typename Tag>
  constexpr operator Id<Tag>() const {
    return Id<Tag>::None();
  }
  constexpr operator int32_t() const { return -1; }
};
inline constexpr NoneId kNone{};

// A std::vector of the cells (or chains, VCs, groups) of one id kind:
// indexing it with an id of another kind does not compile (pcells_[v] for a
// VCellId v), while its own ids and plain integers (generic code over both
// trees, loops by position) index it as before.
template <typename Tag, typename T>
class IdVector : public std::vector<T> {
 public:
  using std::vector<T>::vector;
  T& operator[](Id<Tag> i) { return std::vector<T>::operator[](static_cast<size_t>(i.value())); }
  const T& operator[](Id<Tag> i) const {
    return std::vector<T>::operator[](static_cast<size_t>(i.value()));
  }
  T& operator[](int32_t i) { return std::vector<T>::operator[](static_cast<size_t>(i)); }
  const T& operator[](int32_t i) const {
    return std::vector<T>::operator[](static_cast<size_t>(i));
  }
  // (Another kind is already ambiguous between the two above; deleted, the
  // compiler says so plainly.)
  template <typename OtherTag>
  T& operator[](Id<OtherTag>) = delete;
  template <typename OtherTag>
  const T& operator[](Id<OtherTag>) const = delete;
};

}  // namespace apiary::cell
