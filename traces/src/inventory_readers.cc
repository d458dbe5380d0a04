// Node inventories: openb node lists, the PAI 2020 machine spec, the spot-GPU
// node list and the canonical node CSV.
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <unordered_set>

#include "apiary/traces/gpu_sku.h"
#include "apiary/traces/readers.h"
#include "parse_util.h"

namespace apiary::traces {

using internal::Row;

namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMaxGpus = std::numeric_limits<int32_t>::max();

// Fills node->sku from node->gpu_model: canonical SKU name when known, the
// trimmed spelling otherwise (counted), empty for CPU-only nodes.
void ResolveSku(NodeInventory* node, ReadStats* stats) {
  const std::string model(internal::Trim(node->gpu_model));
  if (model.empty() || model == "CPU") {
    node->sku.clear();
    if (node->gpu_count > 0) ++stats->adjusted["gpu_model_missing"];
    return;
  }
  if (const GpuSku* sku = FindGpuSku(model)) {
    node->sku = std::string(sku->name);
  } else {
    node->sku = model;
    ++stats->adjusted["unknown_gpu_model"];
  }
}

// Adds `node` unless its hostname was seen (a malformed row).
Status AddNode(const Row& row, size_t host_col, NodeInventory node,
               std::unordered_set<std::string>* hosts, Inventory* inventory) {
  if (node.hostname.empty()) return row.ErrorAt(host_col, "empty hostname");
  if (!hosts->insert(node.hostname).second) {
    return row.ErrorAt(host_col, "duplicate hostname \"" + node.hostname + "\"");
  }
  ResolveSku(&node, &inventory->stats);
  inventory->nodes.push_back(std::move(node));
  return Status::Ok();
}

Status Count(const Row& row, size_t i, std::string_view name, int64_t max,
             int64_t* out) {
  if (Status e = row.Integral(i, name, out); !e.ok()) return e;
  return row.Range(i, name, *out, 0, max);
}

// A non-negative amount in `unit`s, converted to an integer count of
// 1/`scale` units (cores -> milli-cores, GB -> MiB), rounded to nearest.
Status Scaled(const Row& row, size_t i, std::string_view name, int64_t scale,
              int64_t* out) {
  double v = 0;
  if (Status e = row.Double(i, name, &v); !e.ok()) return e;
  if (v < 0 || v * scale > 9e18) {
    return row.ErrorAt(i, "field '" + std::string(name) + "': out of range");
  }
  *out = std::llround(v * static_cast<double>(scale));
  return Status::Ok();
}

}  // namespace

Result<Inventory> ReadOpenbNodes(const std::string& path, const ReadOptions& options) {
  Inventory inv;
  auto reader = internal::OpenCsv(path);
  if (!reader.ok()) return reader.status();
  CsvRecord header_record;
  if (Status s = internal::ReadHeaderRecord(**reader, &header_record); !s.ok()) return s;
  auto header = internal::Header::Parse(path, header_record, {"sn", "gpu"},
                                        {"cpu_milli", "memory_mib", "model"},
                                        /*allow_unknown=*/true);
  if (!header.ok()) return header.status();
  const int c_sn = header->Index("sn"), c_cpu = header->Index("cpu_milli"),
            c_mem = header->Index("memory_mib"), c_gpu = header->Index("gpu"),
            c_model = header->Index("model");
  const size_t width = header->size();
  std::unordered_set<std::string> hosts;
  Status s = internal::ForEachRow(
      **reader, options, &inv.stats, [&](const Row& row, int64_t) -> Status {
        if (Status e = row.ExpectFields(width); !e.ok()) return e;
        NodeInventory node;
        node.hostname = std::string(row.Trimmed(c_sn));
        int64_t gpus = 0;
        if (Status e = Count(row, c_gpu, "gpu", kMaxGpus, &gpus); !e.ok()) return e;
        node.gpu_count = static_cast<int32_t>(gpus);
        if (c_cpu >= 0) {
          if (Status e = Count(row, c_cpu, "cpu_milli", kMax, &node.cpu_milli); !e.ok()) return e;
        }
        if (c_mem >= 0) {
          if (Status e = Count(row, c_mem, "memory_mib", kMax, &node.memory_mib); !e.ok()) {
            return e;
          }
        }
        if (c_model >= 0) node.gpu_model = std::string(row.Trimmed(c_model));
        return AddNode(row, c_sn, std::move(node), &hosts, &inv);
      });
  if (!s.ok()) return s;
  return inv;
}

Result<Inventory> ReadPaiMachineSpec(const std::string& path, const ReadOptions& options) {
  Inventory inv;
  auto reader = internal::OpenCsv(path);
  if (!reader.ok()) return reader.status();
  std::unordered_set<std::string> hosts;
  bool first = true;
  Status s = internal::ForEachRow(
      **reader, options, &inv.stats, [&](const Row& row, int64_t) -> Status {
        if (first) {
          first = false;
          if (row.size() > 0 && row.Trimmed(0) == "machine") {  // optional header
            --inv.stats.rows;
            return Status::Ok();
          }
        }
        if (Status e = row.ExpectFields(5); !e.ok()) return e;
        NodeInventory node;
        node.hostname = std::string(row.Trimmed(0));
        node.gpu_model = std::string(row.Trimmed(1));
        if (Status e = Scaled(row, 2, "cap_cpu", 1000, &node.cpu_milli); !e.ok()) return e;
        if (Status e = Scaled(row, 3, "cap_mem", 1024, &node.memory_mib); !e.ok()) return e;
        int64_t gpus = 0;
        if (Status e = Count(row, 4, "cap_gpu", kMaxGpus, &gpus); !e.ok()) return e;
        node.gpu_count = static_cast<int32_t>(gpus);
        return AddNode(row, 0, std::move(node), &hosts, &inv);
      });
  if (!s.ok()) return s;
  return inv;
}

Result<Inventory> ReadSpotGpuNodes(const std::string& path, const ReadOptions& options) {
  Inventory inv;
  auto reader = internal::OpenCsv(path);
  if (!reader.ok()) return reader.status();
  CsvRecord header_record;
  if (Status s = internal::ReadHeaderRecord(**reader, &header_record); !s.ok()) return s;
  auto header = internal::Header::Parse(
      path, header_record, {"gpu_model", "gpu_capacity_num", "node_name"}, {"cpu_num"},
      /*allow_unknown=*/true);
  if (!header.ok()) return header.status();
  const int c_model = header->Index("gpu_model"), c_gpu = header->Index("gpu_capacity_num"),
            c_cpu = header->Index("cpu_num"), c_name = header->Index("node_name");
  const size_t width = header->size();
  std::unordered_set<std::string> hosts;
  Status s = internal::ForEachRow(
      **reader, options, &inv.stats, [&](const Row& row, int64_t) -> Status {
        if (Status e = row.ExpectFields(width); !e.ok()) return e;
        NodeInventory node;
        node.hostname = std::string(row.Trimmed(c_name));
        node.gpu_model = std::string(row.Trimmed(c_model));
        int64_t gpus = 0;
        if (Status e = Count(row, c_gpu, "gpu_capacity_num", kMaxGpus, &gpus); !e.ok()) return e;
        node.gpu_count = static_cast<int32_t>(gpus);
        if (c_cpu >= 0) {
          if (Status e = Scaled(row, c_cpu, "cpu_num", 1000, &node.cpu_milli); !e.ok()) return e;
        }
        return AddNode(row, c_name, std::move(node), &hosts, &inv);
      });
  if (!s.ok()) return s;
  return inv;
}

Result<Inventory> ReadCanonicalNodes(const std::string& path, const ReadOptions& options) {
  Inventory inv;
  CsvOptions csv;
  csv.comment = '#';
  auto reader = internal::OpenCsv(path, csv);
  if (!reader.ok()) return reader.status();
  CsvRecord header_record;
  if (Status s = internal::ReadHeaderRecord(**reader, &header_record); !s.ok()) return s;
  auto header = internal::Header::Parse(path, header_record,
                                        {"hostname", "gpu_model", "gpu_count"},
                                        {"cpu_milli", "memory_mib"}, /*allow_unknown=*/false);
  if (!header.ok()) return header.status();
  const int c_host = header->Index("hostname"), c_model = header->Index("gpu_model"),
            c_gpu = header->Index("gpu_count"), c_cpu = header->Index("cpu_milli"),
            c_mem = header->Index("memory_mib");
  const size_t width = header->size();
  std::unordered_set<std::string> hosts;
  Status s = internal::ForEachRow(
      **reader, options, &inv.stats, [&](const Row& row, int64_t) -> Status {
        if (Status e = row.ExpectFields(width); !e.ok()) return e;
        NodeInventory node;
        node.hostname = std::string(row.Trimmed(c_host));
        node.gpu_model = std::string(row.Trimmed(c_model));
        int64_t v = 0;
        if (Status e = row.Int(c_gpu, "gpu_count", &v); !e.ok()) return e;
        if (Status e = row.Range(c_gpu, "gpu_count", v, 0, kMaxGpus); !e.ok()) return e;
        node.gpu_count = static_cast<int32_t>(v);
        if (c_cpu >= 0 && !row.IsEmpty(c_cpu)) {
          if (Status e = row.Int(c_cpu, "cpu_milli", &node.cpu_milli); !e.ok()) return e;
          if (Status e = row.Range(c_cpu, "cpu_milli", node.cpu_milli, 0, kMax); !e.ok()) return e;
        }
        if (c_mem >= 0 && !row.IsEmpty(c_mem)) {
          if (Status e = row.Int(c_mem, "memory_mib", &node.memory_mib); !e.ok()) return e;
          if (Status e = row.Range(c_mem, "memory_mib", node.memory_mib, 0, kMax); !e.ok()) {
            return e;
          }
        }
        return AddNode(row, c_host, std::move(node), &hosts, &inv);
      });
  if (!s.ok()) return s;
  return inv;
}

Status WriteCanonicalNodes(const Inventory& inventory, const std::string& path) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return Status::Error(path + ": cannot open for writing: " + std::strerror(errno));
  out << "hostname,gpu_model,gpu_count,cpu_milli,memory_mib\n";
  for (const NodeInventory& n : inventory.nodes) {
    // The canonical file records the SKU name, so that it reads back the
    // same; CPU-only nodes keep an empty model.
    out << CsvQuote(n.hostname) << ',' << CsvQuote(n.sku) << ',' << n.gpu_count << ','
        << n.cpu_milli << ',' << n.memory_mib << '\n';
  }
  out.flush();
  if (!out) return Status::Error(path + ": write failed");
  return Status::Ok();
}

Result<InventoryFormat> ParseInventoryFormat(std::string_view name) {
  if (name == "openb") return InventoryFormat::kOpenb;
  if (name == "pai") return InventoryFormat::kPaiMachineSpec;
  if (name == "spot") return InventoryFormat::kSpotGpu;
  if (name == "canonical" || name == "csv") return InventoryFormat::kCanonical;
  return Status::Error("unknown inventory format '" + std::string(name) +
                       "' (expected openb, pai, spot or canonical)");
}

Result<Inventory> ReadInventory(InventoryFormat format, const std::string& path,
                                const ReadOptions& options) {
  switch (format) {
    case InventoryFormat::kOpenb: return ReadOpenbNodes(path, options);
    case InventoryFormat::kPaiMachineSpec: return ReadPaiMachineSpec(path, options);
    case InventoryFormat::kSpotGpu: return ReadSpotGpuNodes(path, options);
    case InventoryFormat::kCanonical: return ReadCanonicalNodes(path, options);
  }
  return Status::Error("unknown inventory format");
}

}  // namespace apiary::traces
