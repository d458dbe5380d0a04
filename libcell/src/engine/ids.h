// The engine's ids: indexes into SchedulerImpl's flat arrays (not installed).
// The typed ids themselves (CellId, VCellId, ChainId, VcId, GroupId, NodeId)
// are public: apiary/cell/ids.h.
#pragma once

#include <cstdint>

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

}  // namespace apiary::cell
