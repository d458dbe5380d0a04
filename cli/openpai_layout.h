// OpenPAI's layout.yaml (openpai.md 2) as plain data, read and checked the
// way OpenPAI's installer checks it, plus the few Kubernetes value formats the
// OpenPAI tools need (quantities, DNS names). Shared by `apiary generate`
// and `apiary check-layout`.
//
// Every error names the file, the machine (index and hostname) or SKU, and the
// field, e.g.
//   layout.yaml: machine-list[2] (Worker-2): hostname: "Worker-2" has
//   upper-case letters; Kubernetes node names must be lower case ...
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "apiary/cell/status.h"

namespace apiary::cli::openpai {

// machine-sku.<name>.computing-device.
struct ComputingDevice {
  std::string type;   // device-plugin resource, e.g. nvidia.com/gpu
  std::string model;  // e.g. K80
  int64_t count = 0;  // devices per machine, >= 1
};

// machine-sku.<name>.
struct MachineSku {
  std::string name;
  std::optional<ComputingDevice> device;  // absent: a CPU-only machine
  std::string mem;                        // the quantity as written ("" if absent)
  int64_t mem_mib = -1;                   // mem in MiB (floor); -1 when absent
  int64_t vcore = 0;                      // cpu.vcore; 0 when absent
};

// One machine-list entry.
struct Machine {
  int32_t index = 0;  // position in machine-list
  std::string hostname;
  std::string hostip;
  std::string machine_type;
  bool master = false;
  bool worker = false;
  bool storage = false;

  // "machine-list[3] (worker-3)": how messages name this machine.
  std::string Where() const;
};

struct Layout {
  std::string file;
  std::vector<MachineSku> skus;    // machine-sku, document order
  std::vector<Machine> machines;   // machine-list order

  const MachineSku* FindSku(std::string_view name) const;
  const Machine* FindMachine(std::string_view hostname) const;
  // Worker machines (pai-worker: "true"), in machine-list order.
  std::vector<const Machine*> Workers() const;
};

// Parses and validates layout.yaml text. Errors (all of them, one per line,
// in document order) come back as kInvalidArgument; findings that do not
// stop the tools (no master, several masters, a missing hostip) are appended
// to `warnings` as "file: where: message" lines. `file` names the source.
cell::Result<Layout> ParseLayoutText(std::string_view text, const std::string& file,
                                     std::vector<std::string>* warnings);

// Reads the file and calls ParseLayoutText.
cell::Result<Layout> LoadLayoutFile(const std::string& path, std::vector<std::string>* warnings);

// A Kubernetes quantity ("220Gi", "64G", "1.5Ti", "68719476736") in MiB,
// rounded down; nullopt when it is not a non-negative quantity.
std::optional<int64_t> QuantityToMiB(std::string_view quantity);

// Kubernetes name rules: a DNS-1123 subdomain (node names) and label (what
// OpenPAI derives StatefulSet and scheduler names from, so VC names).
bool IsDns1123Subdomain(std::string_view s);
bool IsDns1123Label(std::string_view s);

// Dotted-quad IPv4 address.
bool IsIpv4(std::string_view s);

}  // namespace apiary::cli::openpai
