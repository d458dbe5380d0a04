// Fuzz target: the extender's HTTP handlers (filter, bind, preempt, inspect,
// health, metrics) and its watch-event path, on a live scheduler that holds
// pods. Input: one selector byte, then the body (or the path for GETs).
// Checks: no crash, every JSON answer parses, scheduler invariants hold.
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "apiary/extender/extender.h"

using namespace apiary;

namespace {

std::unique_ptr<cell::ManualClock> g_clock;
std::unique_ptr<extender::Extender> g_ext;

std::string PodJson(const std::string& name, const std::string& spec) {
  nlohmann::json p;
  p["metadata"] = {{"name", name}, {"namespace", "fz"}, {"uid", "uid-" + name},
                   {"annotations", {{"hivedscheduler.microsoft.com/pod-scheduling-spec", spec}}}};
  p["spec"] = {{"containers", {{{"name", "c"}, {"resources", {{"limits", {{"hivedscheduler.microsoft.com/pod-scheduling-enable", "1"}}}}}}}}};
  return p.dump();
}

void Setup() {
  g_clock = std::make_unique<cell::ManualClock>(1000);
  extender::ExtenderOptions opts;
  opts.workers = 1;
  g_ext = std::make_unique<extender::Extender>(opts, nullptr, g_clock.get());
  std::ifstream in(std::string(APIARY_SOURCE_DIR) + "/examples/configs/hived-basic.yaml");
  std::stringstream ss;
  ss << in.rdbuf();
  if (!g_ext->LoadConfig(ss.str(), "hived-basic.yaml").ok()) std::abort();
  std::vector<extender::NodeInfo> nodes;
  for (const char* n : {"dgx-01", "dgx-02", "dgx-03", "dgx-04", "k80-01", "k80-02", "k80-03"}) {
    extender::NodeInfo ni;
    ni.name = n;
    ni.ready = true;
    nodes.push_back(ni);
  }
  g_ext->OnSynced(nodes, {});
  // Pods the fuzzer's bodies can name (uid-p0 ... uid-p7).
  const char* specs[] = {
      "virtualCluster: prod\npriority: 10\nleafCellType: V100\nleafCellNumber: 8\n",
      "virtualCluster: research\npriority: -1\nleafCellType: V100\nleafCellNumber: 4\n",
      "virtualCluster: research\npriority: 5\nleafCellNumber: 2\n",
      "virtualCluster: prod\npriority: 50\nleafCellNumber: 8\naffinityGroup:\n  name: fz/g\n  members:\n  - podNumber: 2\n    leafCellNumber: 8\n",
      "virtualCluster: prod\npriority: 50\nleafCellNumber: 8\naffinityGroup:\n  name: fz/g\n  members:\n  - podNumber: 2\n    leafCellNumber: 8\n",
      "virtualCluster: default\npriority: 0\nleafCellType: K80\nleafCellNumber: 4\nlazyPreemptionEnable: true\n",
      "virtualCluster: prod\npinnedCellId: prod-dgx-04\nleafCellNumber: 1\n",
      "{virtualCluster: research, priority: 1000, leafCellNumber: 1}",
  };
  for (int i = 0; i < 8; ++i) {
    std::string text = PodJson("p" + std::to_string(i), specs[i]);
    auto doc = extender::JsonDoc::Parse(text);
    auto pod = extender::DecodePod(doc->root(), "pod");
    g_ext->OnPodEvent(extender::WatchEventType::kAdded, *pod);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (!g_ext) Setup();
  static uint64_t runs = 0;
  if (size == 0) return 0;
  const uint8_t sel = data[0];
  std::string body(reinterpret_cast<const char*>(data + 1), size - 1);
  extender::HttpRequest req;
  switch (sel % 8) {
    case 0: req = {"POST", "/v1/extender/filter", body}; break;
    case 1: req = {"POST", "/v1/extender/bind", body}; break;
    case 2: req = {"POST", "/v1/extender/preempt", body}; break;
    case 3: req = {"GET", "/v1/inspect/affinitygroups/" + body, ""}; break;
    case 4: req = {"GET", body.empty() || body[0] != '/' ? "/" + body : body, ""}; break;
    case 5: req = {sel & 0x80 ? "PUT" : "DELETE", "/v1/extender/filter", body}; break;
    case 6: {
      // A watch event carrying this pod object.
      auto doc = extender::JsonDoc::Parse(body);
      if (doc.ok()) {
        auto pod = extender::DecodePod(doc->root(), "pod");
        if (pod.ok()) {
          auto type = sel & 0x80 ? extender::WatchEventType::kDeleted : extender::WatchEventType::kModified;
          g_ext->OnPodEvent(type, *pod);
        }
      }
      return 0;
    }
    case 7: req = {"GET", "/v1/inspect/clusterstatus/virtualclusters/" + body, ""}; break;
  }
  extender::HttpResponse resp = g_ext->Handle(req);
  if (resp.content_type == "application/json") {
    // Every JSON answer must be valid JSON (invalid UTF-8 in input included).
    if (!nlohmann::json::accept(resp.body)) std::abort();
  }
  if (++runs % 64 == 0 && !g_ext->CheckInvariants().empty()) std::abort();
  return 0;
}
