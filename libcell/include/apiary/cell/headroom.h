// Guarantee headroom: how much of each VC's promise (hived.md 6.5, "why
// this is safe") can be kept right now, given bad nodes and doomed cells.
// Scheduler::GuaranteeHeadroom computes it; docs/headroom.md explains how to
// read the numbers.
//
// Definitions, per VC, chain and level l (1 = leaf):
//
//   guaranteed(l)  the VC's virtual cells at level l in the chain: its
//                  preassigned cells (virtualCells and pinnedCells) at level
//                  l, plus the level-l descendants of those above l. What
//                  the configuration promises.
//
//   placeable(l)   how many of them could be on healthy hardware right now
//                  if every opportunistic (priority -1) pod were evicted.
//                  Each preassigned cell P of the VC counts as follows:
//     - held: P is bound to physical cell X and is not an unused doomed
//       cell (it is in use or reserved by the VC's own guaranteed pods, or
//       it is pinned). It stays on X: it contributes X's healthy cells at
//       each level (all of them when X is healthy).
//     - to place: P is unbound, or bound as an unused doomed cell (hived.md
//       8.2). It contributes all its cells when a healthy free physical cell
//       of its level can be had for it by buddy allocation (hived.md 5.4:
//       the lowest level with a healthy free cell, split down), the VC's
//       cells to place taken largest level first, each from the healthy free
//       cells the earlier ones left. Free means in the chain's free lists:
//       not bound to any VC, whether or not opportunistic pods run on it
//       (they never block a guaranteed cell). A cell to place that finds no
//       healthy cell falls back to bad hardware, as HiveD's doomed rule
//       does: an unused doomed cell keeps its bad cell, an unbound one takes
//       the free bad cell of its level with the most healthy leaves (left
//       over by the same pass); it then contributes that cell's healthy
//       cells (0 without one).
//     Other VCs keep what they hold, and their unbound cells are not
//     claimed: the view is the VC's own, as the doomed-cell rule of 8.2 is
//     per VC. Two VCs may each see their whole promise placeable while the
//     healthy free cells could not serve both at once.
//
//   broken         placeable(1) < guaranteed(1): some cell of the VC cannot
//                  be had whole on healthy hardware -- it is doomed (bound
//                  to bad hardware with no healthy cell to move to), or
//                  held on hardware that turned bad, or pinned to it. By
//                  the definitions a cell short at some level is short at
//                  every level below, so the leaf level decides.
//
//   at_risk        not broken, but the VC has cells to place and the same
//                  buddy pass run for every VC of the chain at once (VCs in
//                  ascending name) leaves more cells without a healthy one
//                  than the passes of each VC alone did: the VCs compete for
//                  the healthy free cells, and the VC's promise holds only
//                  while another VC does not claim its own cells first (a
//                  fully assigned chain that lost a node). Which VC loses is
//                  decided by who asks first; HiveD's per-VC doomed rule
//                  does not see it either.
//
// Invariants (tested): placeable(l) <= guaranteed(l); on a cluster with no
// bad node, placeable(l) == guaranteed(l) whatever is allocated (HiveD's
// promise, kept by buddy allocation).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace apiary::cell {

struct GuaranteeLevel {
  int32_t level = 0;      // 1 = leaf
  std::string cell_type;  // the chain's cell type at this level (leaf type at 1)
  int64_t guaranteed = 0;
  int64_t placeable = 0;  // <= guaranteed
  // The VC's preassigned cells at this level bound to bad hardware by the
  // doomed-cell rule (hived.md 8.2) right now, used or not.
  int64_t doomed = 0;
};

// One VC in one chain (every chain it has virtual or pinned cells in).
struct VcGuarantee {
  std::string vc;
  std::string chain;
  bool broken = false;
  bool at_risk = false;
  std::vector<GuaranteeLevel> levels;  // highest level with a guaranteed cell, down to 1
};

}  // namespace apiary::cell
