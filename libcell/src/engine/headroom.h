// Guarantee headroom (apiary/cell/headroom.h for the definitions): a
// read-only pass over the engine's trees. Not installed.
#pragma once

#include <vector>

#include "apiary/cell/headroom.h"

namespace apiary::cell {

class SchedulerImpl;

// Every VC (ascending name) in every chain it has cells in (chain order).
// Reads `s` only; O(VCs x (free cells + their subtrees) + virtual cells).
std::vector<VcGuarantee> ComputeGuaranteeHeadroom(const SchedulerImpl& s);

}  // namespace apiary::cell
