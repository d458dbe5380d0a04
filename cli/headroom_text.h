// Guarantee headroom (apiary/cell/headroom.h) as text, for `apiary validate
// --bad-nodes` and `apiary diff`.
#pragma once

#include <string>
#include <vector>

#include "apiary/cell/headroom.h"
#include "apiary/cell/scheduler.h"

namespace apiary::cli {

// "RACK 0/1 (1 doomed), NODE 1/2, A100 4/8": placeable/guaranteed per level,
// top level first.
std::string FormatGuaranteeLevels(const cell::VcGuarantee& g);

// One line per VC and chain: "  vc a, chain RACK: <levels>: kept" (or
// "!! ... : BROKEN, ..." naming what is short).
std::string FormatGuaranteeReport(const std::vector<cell::VcGuarantee>& all);

// Marks `nodes` bad in `s` (applied in order). Fails naming the node and
// `what` (the option, e.g. "--bad-nodes") when one is not in the
// configuration, with the nearest node name.
cell::Status MarkNodesBad(cell::Scheduler& s, const std::vector<std::string>& nodes,
                          const std::string& what);

}  // namespace apiary::cli
