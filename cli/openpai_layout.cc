#include "openpai_layout.h"

#include <yaml-cpp/yaml.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "apiary/cell/text.h"
#include "yaml_text.h"

namespace apiary::cli::openpai {
namespace {

// Collects "file: where: message" lines.
class Findings {
 public:
  explicit Findings(std::string file) : file_(std::move(file)) {}
  void Error(const std::string& where, const std::string& message) {
    errors_.push_back(Line(where, message));
  }
  void Warning(const std::string& where, const std::string& message) {
    warnings_.push_back(Line(where, message));
  }
  bool HasErrors() const { return !errors_.empty(); }
  std::string ErrorText() const {
    std::string out;
    for (const auto& e : errors_) out += e + "\n";
    return out;
  }
  const std::vector<std::string>& warnings() const { return warnings_; }

 private:
  std::string Line(const std::string& where, const std::string& message) const {
    return file_ + ": " + (where.empty() ? "" : where + ": ") + message;
  }
  std::string file_;
  std::vector<std::string> errors_;
  std::vector<std::string> warnings_;
};

std::string Quoted(const std::string& s) { return "\"" + s + "\""; }

// Far above any real machine; keeps the arithmetic of the tools in range.
constexpr int64_t kMaxCount = int64_t{1} << 20;       // devices or vcores
constexpr int64_t kMaxMemMiB = int64_t{1} << 40;      // 1 EiB

// A strictly positive decimal integer up to kMaxCount (no sign, fraction or
// exponent).
std::optional<int64_t> PositiveInt(const YAML::Node& n) {
  if (!n.IsScalar()) return std::nullopt;
  const std::string& s = n.Scalar();
  if (s.empty() || s.size() > 12) return std::nullopt;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  if (v <= 0 || v > kMaxCount) return std::nullopt;
  return v;
}

std::string Describe(const YAML::Node& n) {
  if (n.IsNull()) return "null";
  if (n.IsMap()) return "a map";
  if (n.IsSequence()) return "a list";
  return Quoted(n.Scalar());
}

// OpenPAI writes these flags as the strings "true" / "false"; a YAML boolean
// reads the same. Anything else is an error.
void ReadFlag(const YAML::Node& entry, const char* key, const std::string& where,
              Findings* f, bool* out) {
  YAML::Node n = entry[key];
  if (!n.IsDefined() || n.IsNull()) return;
  if (n.IsScalar() && (n.Scalar() == "true" || n.Scalar() == "True")) {
    *out = true;
    return;
  }
  if (n.IsScalar() && (n.Scalar() == "false" || n.Scalar() == "False")) return;
  f->Error(where, std::string(key) + ": must be \"true\" or \"false\", got " + Describe(n));
}

void ReadSku(const std::string& name, const YAML::Node& n, Findings* f, MachineSku* sku) {
  sku->name = name;
  const std::string where = "machine-sku." + name;
  if (!n.IsMap()) {
    f->Error(where, "must be a map with mem, cpu and optionally computing-device, got " +
                        Describe(n));
    return;
  }
  if (YAML::Node d = n["computing-device"]; d.IsDefined() && !d.IsNull()) {
    const std::string dw = where + ".computing-device";
    if (!d.IsMap()) {
      f->Error(dw, "must be a map {type, model, count}, got " + Describe(d));
    } else {
      ComputingDevice dev;
      YAML::Node type = d["type"], model = d["model"], count = d["count"];
      if (!type.IsDefined() || !type.IsScalar() || type.Scalar().empty())
        f->Error(dw + ".type", "missing; the device-plugin resource name, e.g. nvidia.com/gpu");
      else
        dev.type = type.Scalar();
      if (!model.IsDefined() || !model.IsScalar() || model.Scalar().empty())
        f->Error(dw + ".model", "missing; the device model, e.g. V100");
      else
        dev.model = model.Scalar();
      if (!count.IsDefined())
        f->Error(dw + ".count", "missing; the number of devices per machine");
      else if (auto c = PositiveInt(count))
        dev.count = *c;
      else
        f->Error(dw + ".count", "must be a positive integer (at most " + std::to_string(kMaxCount) +
                            "), got " + Describe(count));
      sku->device = dev;
    }
  }
  if (YAML::Node mem = n["mem"]; mem.IsDefined() && !mem.IsNull()) {
    if (!mem.IsScalar()) {
      f->Error(where + ".mem", "must be a Kubernetes quantity such as 220Gi, got " + Describe(mem));
    } else {
      sku->mem = mem.Scalar();
      auto mib = QuantityToMiB(sku->mem);
      if (!mib || *mib <= 0 || *mib > kMaxMemMiB)
        f->Error(where + ".mem",
                 "must be a positive Kubernetes quantity such as 220Gi, got " + Quoted(sku->mem));
      else
        sku->mem_mib = *mib;
    }
  }
  if (YAML::Node cpu = n["cpu"]; cpu.IsDefined() && !cpu.IsNull()) {
    if (!cpu.IsMap()) {
      f->Error(where + ".cpu", "must be a map {vcore: N}, got " + Describe(cpu));
    } else if (YAML::Node v = cpu["vcore"]; v.IsDefined() && !v.IsNull()) {
      if (auto c = PositiveInt(v))
        sku->vcore = *c;
      else
        f->Error(where + ".cpu.vcore", "must be a positive integer (at most " +
                                          std::to_string(kMaxCount) + "), got " + Describe(v));
    }
  }
}

void ReadMachine(int32_t index, const YAML::Node& n, const Layout& layout, Findings* f,
                 Machine* m) {
  m->index = index;
  const std::string base = "machine-list[" + std::to_string(index) + "]";
  if (!n.IsMap()) {
    f->Error(base, "must be a map {hostname, hostip, machine-type, ...}, got " + Describe(n));
    return;
  }
  YAML::Node host = n["hostname"];
  if (!host.IsDefined() || host.IsNull() || !host.IsScalar() || host.Scalar().empty()) {
    f->Error(base, "hostname: missing; every machine needs the name Kubernetes knows it by");
  } else {
    m->hostname = host.Scalar();
  }
  const std::string where = m->Where();
  if (!m->hostname.empty() && !IsDns1123Subdomain(m->hostname)) {
    bool upper = false;
    for (char c : m->hostname) upper |= std::isupper(static_cast<unsigned char>(c)) != 0;
    if (upper) {
      std::string lower = m->hostname;
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      f->Error(where, "hostname: " + Quoted(m->hostname) +
                          " has upper-case letters; Kubernetes rejects node names that are not "
                          "lower case (RFC 1123), so the node could never be matched: rename the "
                          "machine " + Quoted(lower));
    } else {
      f->Error(where, "hostname: " + Quoted(m->hostname) +
                          " is not a valid Kubernetes node name (RFC 1123 subdomain: lower-case "
                          "letters, digits, '-' and '.', starting and ending with a letter or "
                          "digit, at most 253 characters)");
    }
  }
  if (YAML::Node ip = n["hostip"]; ip.IsDefined() && !ip.IsNull()) {
    if (!ip.IsScalar() || !IsIpv4(ip.Scalar()))
      f->Error(where, "hostip: must be an IPv4 address, got " + Describe(ip));
    else
      m->hostip = ip.Scalar();
  } else {
    f->Warning(where, "hostip: missing (OpenPAI's installer requires it)");
  }
  YAML::Node type = n["machine-type"];
  if (!type.IsDefined() || type.IsNull() || !type.IsScalar() || type.Scalar().empty()) {
    f->Error(where, "machine-type: missing; it must name a machine-sku entry");
  } else {
    m->machine_type = type.Scalar();
    if (!layout.FindSku(m->machine_type)) {
      std::string known;
      for (const auto& s : layout.skus) known += (known.empty() ? "" : ", ") + s.name;
      f->Error(where, "machine-type: unknown machine-type " + Quoted(m->machine_type) +
                          " (machine-sku defines: " + (known.empty() ? "none" : known) + ")");
    }
  }
  ReadFlag(n, "pai-master", where, f, &m->master);
  ReadFlag(n, "pai-worker", where, f, &m->worker);
  ReadFlag(n, "pai-storage", where, f, &m->storage);
}

}  // namespace

std::string Machine::Where() const {
  std::string w = "machine-list[" + std::to_string(index) + "]";
  if (!hostname.empty()) w += " (" + hostname + ")";
  return w;
}

const MachineSku* Layout::FindSku(std::string_view name) const {
  for (const auto& s : skus)
    if (s.name == name) return &s;
  return nullptr;
}

const Machine* Layout::FindMachine(std::string_view hostname) const {
  for (const auto& m : machines)
    if (m.hostname == hostname) return &m;
  return nullptr;
}

std::vector<const Machine*> Layout::Workers() const {
  std::vector<const Machine*> out;
  for (const auto& m : machines)
    if (m.worker) out.push_back(&m);
  return out;
}

cell::Result<Layout> ParseLayoutText(std::string_view text, const std::string& file,
                                     std::vector<std::string>* warnings) {
  if (cell::Status utf8 = cell::CheckUtf8(text, file); !utf8.ok())
    return cell::Status::Invalid(utf8.message() + "\n");
  Findings f(file);
  Layout layout;
  layout.file = file;
  auto parsed = ParseYamlText(text, file);
  if (!parsed.ok()) return parsed.status();
  YAML::Node root = std::move(parsed).value();
  try {
    if (!root.IsMap()) {
      return cell::Status::Invalid(
          file + ": not an OpenPAI layout: expected a map with machine-sku and machine-list\n");
    }
    YAML::Node skus = root["machine-sku"];
    if (!skus.IsDefined() || skus.IsNull()) {
      f.Error("machine-sku", "missing; it defines the machine types machine-list refers to");
    } else if (!skus.IsMap()) {
      f.Error("machine-sku", "must be a map of SKU name to {mem, cpu, computing-device}");
    } else {
      for (auto it = skus.begin(); it != skus.end(); ++it) {
        std::string name = it->first.IsScalar() ? it->first.Scalar() : "";
        if (name.empty()) {
          f.Error("machine-sku", "every key must be a non-empty SKU name");
          continue;
        }
        if (layout.FindSku(name)) {
          f.Error("machine-sku." + name, "defined twice");
          continue;
        }
        MachineSku sku;
        ReadSku(name, it->second, &f, &sku);
        layout.skus.push_back(std::move(sku));
      }
    }
    YAML::Node list = root["machine-list"];
    if (!list.IsDefined() || list.IsNull()) {
      f.Error("machine-list", "missing; it lists the machines of the cluster");
    } else if (!list.IsSequence()) {
      f.Error("machine-list", "must be a list of machines");
    } else {
      std::map<std::string, int32_t> host_seen, ip_seen;
      int32_t i = 0;
      for (const auto& entry : list) {
        Machine m;
        ReadMachine(i, entry, layout, &f, &m);
        if (!m.hostname.empty()) {
          auto [it, fresh] = host_seen.emplace(m.hostname, i);
          if (!fresh)
            f.Error(m.Where(), "hostname: duplicate hostname " + Quoted(m.hostname) +
                                   ", already used by machine-list[" +
                                   std::to_string(it->second) + "]; hostnames must be unique");
        }
        if (!m.hostip.empty()) {
          auto [it, fresh] = ip_seen.emplace(m.hostip, i);
          if (!fresh)
            f.Error(m.Where(), "hostip: duplicate hostip " + m.hostip + ", already used by " +
                                   "machine-list[" + std::to_string(it->second) + "]");
        }
        layout.machines.push_back(std::move(m));
        ++i;
      }
      int masters = 0, workers = 0;
      for (const auto& m : layout.machines) {
        masters += m.master;
        workers += m.worker;
      }
      if (!f.HasErrors() && workers == 0)
        f.Error("machine-list", "No worker node detected: no machine has pai-worker: \"true\"");
      if (masters == 0)
        f.Warning("machine-list", "no machine has pai-master: \"true\" (OpenPAI needs exactly one)");
      if (masters > 1)
        f.Warning("machine-list", std::to_string(masters) +
                                      " machines have pai-master: \"true\" (OpenPAI supports "
                                      "exactly one)");
    }
  } catch (const YAML::Exception& e) {
    f.Error("", std::string("cannot read the layout: ") + e.what());
  }
  if (f.HasErrors()) return cell::Status::Invalid(f.ErrorText());
  if (warnings) warnings->insert(warnings->end(), f.warnings().begin(), f.warnings().end());
  return layout;
}

cell::Result<Layout> LoadLayoutFile(const std::string& path, std::vector<std::string>* warnings) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return cell::Status::Invalid(path + ": cannot read the file: " + std::strerror(errno) + "\n");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return ParseLayoutText(buffer.str(), path, warnings);
}

std::optional<int64_t> QuantityToMiB(std::string_view q) {
  // <digits>[.<digits>][suffix]; the value is mantissa / 10^frac * multiplier.
  size_t i = 0;
  if (i < q.size() && q[i] == '+') ++i;
  unsigned __int128 mantissa = 0;
  int digits = 0, frac = 0;
  bool dot = false;
  for (; i < q.size(); ++i) {
    char c = q[i];
    if (c == '.' && !dot) {
      dot = true;
      continue;
    }
    if (c < '0' || c > '9') break;
    if (++digits > 30) return std::nullopt;
    mantissa = mantissa * 10 + static_cast<unsigned>(c - '0');
    if (dot) ++frac;
  }
  if (digits == 0) return std::nullopt;
  std::string_view suffix = q.substr(i);
  unsigned __int128 mult = 1;
  int32_t exp10 = 0;  // decimal suffixes and exponents
  static const std::pair<const char*, int> kBinary[] = {
      {"Ki", 10}, {"Mi", 20}, {"Gi", 30}, {"Ti", 40}, {"Pi", 50}, {"Ei", 60}};
  static const std::pair<const char*, int> kDecimal[] = {
      {"", 0}, {"k", 3}, {"M", 6}, {"G", 9}, {"T", 12}, {"P", 15}, {"E", 18}};
  bool known = false;
  for (const auto& [s, shift] : kBinary)
    if (suffix == s) {
      mult = static_cast<unsigned __int128>(1) << shift;
      known = true;
    }
  for (const auto& [s, e] : kDecimal)
    if (suffix == s) {
      exp10 = e;
      known = true;
    }
  if (!known && suffix.size() >= 2 && (suffix[0] == 'e' || suffix[0] == 'E')) {
    int32_t e = 0;
    for (size_t k = 1; k < suffix.size(); ++k) {
      if (suffix[k] < '0' || suffix[k] > '9' || e > 30) return std::nullopt;
      e = e * 10 + (suffix[k] - '0');
    }
    exp10 = e;
    known = true;
  }
  if (!known) return std::nullopt;
  exp10 -= frac;
  unsigned __int128 bytes = mantissa * mult;
  for (; exp10 > 0; --exp10) {
    bytes *= 10;
    if (bytes > (static_cast<unsigned __int128>(1) << 100)) return std::nullopt;
  }
  for (; exp10 < 0; ++exp10) bytes /= 10;
  unsigned __int128 mib = bytes >> 20;
  if (mib > static_cast<unsigned __int128>(INT64_MAX)) return std::nullopt;
  return static_cast<int64_t>(mib);
}

bool IsDns1123Label(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(s.front()) || !alnum(s.back())) return false;
  for (char c : s)
    if (!alnum(c) && c != '-') return false;
  return true;
}

bool IsDns1123Subdomain(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    std::string_view label = s.substr(start, dot == std::string_view::npos ? s.npos : dot - start);
    // Subdomain labels follow the label rule except for the 63-character cap.
    if (label.empty()) return false;
    auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
    if (!alnum(label.front()) || !alnum(label.back())) return false;
    for (char c : label)
      if (!alnum(c) && c != '-') return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

bool IsIpv4(std::string_view s) {
  int parts = 0;
  size_t i = 0;
  while (true) {
    size_t start = i;
    int value = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9' && i - start < 3) {
      value = value * 10 + (s[i] - '0');
      ++i;
    }
    if (i == start || value > 255) return false;
    if (i - start > 1 && s[start] == '0') return false;  // no leading zeros
    ++parts;
    if (i == s.size()) return parts == 4;
    if (s[i] != '.' || parts == 4) return false;
    ++i;
  }
}

}  // namespace apiary::cli::openpai
