// The guarantee headroom gauges (metrics.h): one sample per VC, chain and
// level, computed from the scheduler at scrape time.
#include "apiary/extender/metrics.h"

namespace apiary::extender {
namespace {

void Help(std::string* out, const char* name, const char* help) {
  *out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " gauge\n";
}

}  // namespace

std::string RenderGuaranteeGauges(const std::vector<cell::VcGuarantee>& headroom) {
  std::string out;
  struct Series {
    const char* name;
    const char* help;
    int64_t cell::GuaranteeLevel::*value;
  };
  const Series series[] = {
      {"apiary_vc_guarantee_cells",
       "Cells the VC is guaranteed per chain and level (its virtual cells there).",
       &cell::GuaranteeLevel::guaranteed},
      {"apiary_vc_guarantee_placeable_cells",
       "Of the guaranteed cells, how many could be on healthy hardware now if every "
       "opportunistic pod were evicted.",
       &cell::GuaranteeLevel::placeable},
      {"apiary_vc_guarantee_doomed_cells",
       "The VC's preassigned cells at this level bound to bad hardware (doomed, hived.md 8.2).",
       &cell::GuaranteeLevel::doomed},
  };
  for (const Series& s : series) {
    Help(&out, s.name, s.help);
    for (const cell::VcGuarantee& g : headroom)
      for (const cell::GuaranteeLevel& l : g.levels)
        out += std::string(s.name) + "{vc=\"" + PromLabel(g.vc) + "\",chain=\"" +
               PromLabel(g.chain) + "\",level=\"" + std::to_string(l.level) + "\",cell_type=\"" +
               PromLabel(l.cell_type) + "\"} " + std::to_string(l.*(s.value)) + "\n";
  }
  struct Flag {
    const char* name;
    const char* help;
    bool cell::VcGuarantee::*value;
  };
  const Flag flags[] = {
      {"apiary_vc_guarantee_broken",
       "1 when some guaranteed cell of the VC in the chain cannot be had whole on healthy "
       "hardware (placeable < guaranteed leaves).",
       &cell::VcGuarantee::broken},
      {"apiary_vc_guarantee_at_risk",
       "1 when the VC's promise holds alone but the healthy free cells of the chain cannot "
       "serve every VC's unplaced cells at once.",
       &cell::VcGuarantee::at_risk},
  };
  for (const Flag& f : flags) {
    Help(&out, f.name, f.help);
    for (const cell::VcGuarantee& g : headroom)
      out += std::string(f.name) + "{vc=\"" + PromLabel(g.vc) + "\",chain=\"" +
             PromLabel(g.chain) + "\"} " + (g.*(f.value) ? "1" : "0") + "\n";
  }
  return out;
}

}  // namespace apiary::extender
