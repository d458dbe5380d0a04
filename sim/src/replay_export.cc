#include "apiary/sim/replay_export.h"

#include <nlohmann/json.hpp>

#include "apiary/sim/report.h"

namespace apiary::sim {
namespace {

using Json = nlohmann::ordered_json;

// A YAML double-quoted scalar: JSON string syntax is valid YAML.
std::string Q(const std::string& s) { return Json(s).dump(); }

void PhysicalCellYaml(const cell::PhysicalCellSpec& c, const std::string& indent,
                      std::string& out) {
  out += indent + "- cellType: " + Q(c.cell_type) + "\n";
  const std::string in = indent + "  ";
  if (c.cell_address) out += in + "cellAddress: " + Q(*c.cell_address) + "\n";
  if (!c.pinned_cell_id.empty()) out += in + "pinnedCellId: " + Q(c.pinned_cell_id) + "\n";
  if (!c.cell_children.empty()) {
    out += in + "cellChildren:\n";
    for (const cell::PhysicalCellSpec& ch : c.cell_children) PhysicalCellYaml(ch, in, out);
  }
}

}  // namespace

std::string ConfigYaml(const cell::Config& c) {
  std::string out = "# The HiveD configuration apiary-sim built for this simulation.\n";
  out += "physicalCluster:\n  skuTypes:\n";
  for (const cell::SkuType& s : c.sku_types)
    out += "    " + Q(s.name) + ": {gpu: " + std::to_string(s.gpu) +
           ", cpu: " + std::to_string(s.cpu) + ", memory: " + Q(s.memory) + "}\n";
  out += "  cellTypes:\n";
  for (const cell::CellTypeSpec& t : c.cell_types)
    out += "    " + Q(t.name) + ": {childCellType: " + Q(t.child_cell_type) +
           ", childCellNumber: " + std::to_string(t.child_cell_number) +
           ", isNodeLevel: " + (t.is_node_level ? "true" : "false") + "}\n";
  out += "  physicalCells:\n";
  for (const cell::PhysicalCellSpec& p : c.physical_cells) PhysicalCellYaml(p, "  ", out);
  out += "virtualClusters:";
  out += c.virtual_clusters.empty() ? " {}\n" : "\n";
  for (const cell::VirtualClusterSpec& vc : c.virtual_clusters) {
    out += "  " + Q(vc.name) + ":\n";
    if (!vc.virtual_cells.empty()) {
      out += "    virtualCells:\n";
      for (const cell::VirtualCellSpec& v : vc.virtual_cells)
        out += "    - {cellType: " + Q(v.cell_type) +
               ", cellNumber: " + std::to_string(v.cell_number) + "}\n";
    }
    if (!vc.pinned_cell_ids.empty()) {
      out += "    pinnedCells:\n";
      for (const std::string& id : vc.pinned_cell_ids)
        out += "    - {pinnedCellId: " + Q(id) + "}\n";
    }
    if (vc.virtual_cells.empty() && vc.pinned_cell_ids.empty()) out += "    virtualCells: []\n";
  }
  return out;
}

std::string PodSpecJson(const cell::PodSchedulingSpec& s) {
  Json j;
  j["virtualCluster"] = s.virtual_cluster;
  j["priority"] = s.priority;
  if (!s.pinned_cell_id.empty()) j["pinnedCellId"] = s.pinned_cell_id;
  if (!s.leaf_cell_type.empty()) j["leafCellType"] = s.leaf_cell_type;
  j["leafCellNumber"] = s.leaf_cell_number;
  Json members = Json::array();
  for (const cell::AffinityGroupMemberSpec& m : s.affinity_group_members)
    members.push_back({{"podNumber", m.pod_number}, {"leafCellNumber", m.leaf_cell_number}});
  j["affinityGroup"] = {{"name", s.affinity_group_name}, {"members", members}};
  j["lazyPreemptionEnable"] = s.lazy_preemption_enable;
  j["ignoreK8sSuggestedNodes"] = s.ignore_k8s_suggested_nodes;
  return j.dump();
}

ReplayLog::~ReplayLog() {
  if (events_) std::fclose(events_);
}

cell::Status ReplayLog::Open(const std::string& dir) {
  if (cell::Status st = MakeDirectories(dir); !st.ok()) return st;
  dir_ = dir;
  const std::string path = dir + "/events.jsonl";
  events_ = std::fopen(path.c_str(), "wb");
  if (!events_) return cell::Status::Invalid(path + ": cannot open for writing");
  std::fputs("# apiary-sim --export-replay: every Schedule call and pod deletion of the hived "
             "policy, in order.\n# Play back: apiary replay --config config.yaml events.jsonl\n",
             events_);
  return cell::Status::Ok();
}

void ReplayLog::Schedule(const cell::PodRef& pod, const std::string& spec_json) {
  ++schedules_;
  if (!events_) return;
  Json e;
  e["op"] = "schedule";
  e["pod"] = {{"name", pod.name},
              {"namespace", pod.ns},
              {"uid", pod.uid},
              {"annotations", {{cell::kAnnotationPodSchedulingSpec, spec_json}}}};
  e["phase"] = "preempting";
  e["commit"] = true;
  line_ = e.dump();
  line_ += '\n';
  std::fwrite(line_.data(), 1, line_.size(), events_);
}

void ReplayLog::Bound(const cell::PodRef& pod, const std::string& node,
                      const std::vector<int32_t>& leaf_cells) {
  binds_.push_back({pod.FullName(), node, leaf_cells});
}

void ReplayLog::Delete(const cell::PodRef& pod) {
  ++deletes_;
  if (!events_) return;
  line_ = "{\"op\":\"delete\",\"pod\":" + Json(pod.FullName()).dump() + "}\n";
  std::fwrite(line_.data(), 1, line_.size(), events_);
}

cell::Status ReplayLog::Finish(const cell::Config& config) {
  if (!events_) return cell::Status::Invalid("the replay log is not open");
  const bool ok = std::fflush(events_) == 0 && !std::ferror(events_);
  std::fclose(events_);
  events_ = nullptr;
  if (!ok) return cell::Status::Invalid(dir_ + "/events.jsonl: write failed");
  if (cell::Status st = WriteTextFile(dir_ + "/config.yaml", ConfigYaml(config)); !st.ok())
    return st;
  std::string csv = "seq,pod,node,leaf_cells\n";
  for (size_t i = 0; i < binds_.size(); ++i) {
    const Bind& b = binds_[i];
    std::string leaves;
    for (size_t k = 0; k < b.leaf_cells.size(); ++k)
      leaves += (k ? ";" : "") + std::to_string(b.leaf_cells[k]);
    csv += std::to_string(i) + "," + b.pod + "," + b.node + "," + leaves + "\n";
  }
  return WriteTextFile(dir_ + "/placements.csv", csv);
}

}  // namespace apiary::sim
