#include "headroom_text.h"

#include "apiary/cell/text.h"

namespace apiary::cli {

std::string FormatGuaranteeLevels(const cell::VcGuarantee& g) {
  std::string out;
  for (const cell::GuaranteeLevel& l : g.levels) {
    if (!out.empty()) out += ", ";
    out += l.cell_type + " " + std::to_string(l.placeable) + "/" + std::to_string(l.guaranteed);
    if (l.doomed) out += " (" + std::to_string(l.doomed) + " doomed)";
  }
  return out;
}

std::string FormatGuaranteeReport(const std::vector<cell::VcGuarantee>& all) {
  std::string out;
  for (const cell::VcGuarantee& g : all) {
    out += std::string(g.broken || g.at_risk ? "  !! " : "  ") + "vc " + g.vc + ", chain " + g.chain + ": " +
           FormatGuaranteeLevels(g);
    if (g.at_risk) {
      out += ": kept alone, AT RISK: the chain's healthy free cells cannot serve every VC's "
             "unplaced cells at once\n";
      continue;
    }
    if (!g.broken) {
      out += ": kept\n";
      continue;
    }
    // The top level that is short is the size of cell the VC cannot have
    // whole; the leaves say how much capacity is gone.
    const cell::GuaranteeLevel* top_short = nullptr;
    for (const cell::GuaranteeLevel& l : g.levels)
      if (l.placeable < l.guaranteed) {
        top_short = &l;
        break;
      }
    const cell::GuaranteeLevel& leaf = g.levels.back();
    out += ": BROKEN, " + std::to_string(top_short->guaranteed - top_short->placeable) + " of " +
           std::to_string(top_short->guaranteed) + " " + top_short->cell_type +
           " cells not placeable on healthy hardware (" +
           std::to_string(leaf.guaranteed - leaf.placeable) + " " + leaf.cell_type + " short)\n";
  }
  return out;
}

cell::Status MarkNodesBad(cell::Scheduler& s, const std::vector<std::string>& nodes,
                          const std::string& what) {
  for (const std::string& n : nodes) {
    if (!s.HasNode(n))
      return cell::Status::Invalid(what + ": node \"" + n + "\" is not in the configuration" +
                                   cell::UnknownNameHint(n, s.Nodes(), "nodes"));
    cell::Status st = s.SetNodeHealth(n, false);
    if (!st.ok()) return st;
  }
  return cell::Status::Ok();
}

}  // namespace apiary::cli
