// The engine's ids: indexes into SchedulerImpl's flat arrays (not installed).
#pragma once

#include <cstdint>

namespace apiary::cell {

using CellId = int32_t;  // index into SchedulerImpl::pcells_
using VCellId = int32_t;  // index into SchedulerImpl::vcells_
using ChainId = int32_t;
using VcId = int32_t;
using GroupId = int32_t;
using NodeId = int32_t;
inline constexpr int32_t kNone = -1;

}  // namespace apiary::cell
