// `apiary replay`: libcell driven by a JSON Lines script of cluster events
// (see docs/protocol/replay.md and docs/replay.md). One result
// line per event, deterministic, on a logical clock (event N happens at N
// seconds after the epoch).
#pragma once

#include <istream>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "apiary/cell/scheduler.h"
#include "apiary/wire/pod_json.h"

namespace apiary::cli {

class Replayer {
 public:
  // Loads the configuration; a bad one is an error naming the field. With
  // `line_numbers`, every result carries "line": N after "op".
  static cell::Result<std::unique_ptr<Replayer>> Create(const std::string& config_path,
                                                        bool line_numbers = false);

  // Handles one input line (line_number counts every line read, from 1).
  // Returns the result line, or an empty string for a blank or '#' line.
  std::string HandleLine(const std::string& line, int64_t line_number);

  // Reads every line of `in` and writes one result line per event to `out`.
  void Run(std::istream& in, std::ostream& out);

  const cell::Scheduler& scheduler() const { return *scheduler_; }

  // `apiary explain` on the replay state: the decision a preempt call would
  // make for pod `full_name` (namespace/name, from its last schedule event)
  // now, with its explanation, in the extender's answer schema
  // (docs/explain.md); the state is not changed. kNotFound for a pod no
  // schedule event named.
  cell::Result<nlohmann::ordered_json> ExplainPod(const std::string& full_name) const;

 private:
  struct PodRecord {
    wire::PodObject pod;
    cell::PodSchedulingSpec spec;
    bool allocated = false;
    cell::PodBindInfo bind_info;
    int64_t allocated_seq = 0;  // commit order, for restart
  };

  explicit Replayer(std::string config_path) : config_path_(std::move(config_path)) {}
  nlohmann::ordered_json Handle(const nlohmann::json& event);
  // The event's keys that its op does not read, with "did you mean" hints.
  std::vector<std::string> UnknownKeys(const std::string& op, const nlohmann::json& event) const;
  // Warns about keys of a short-form pod ({name, namespace, uid,
  // annotations}) that are none of those.
  void NoteUnknownPodKeys(const nlohmann::json& pod);
  nlohmann::ordered_json Schedule(const nlohmann::json& event, nlohmann::ordered_json out);
  nlohmann::ordered_json Allocated(const nlohmann::json& event, nlohmann::ordered_json out);
  nlohmann::ordered_json Delete(const nlohmann::json& event, nlohmann::ordered_json out);
  nlohmann::ordered_json Node(const nlohmann::json& event, nlohmann::ordered_json out);
  nlohmann::ordered_json Inspect(const nlohmann::json& event, nlohmann::ordered_json out);
  nlohmann::ordered_json Restart(const nlohmann::json& event, nlohmann::ordered_json out);
  cell::Status Commit(PodRecord& record, const cell::PodBindInfo& info);
  std::string ResolveConfigPath(const std::string& path) const;

  std::string config_path_;
  bool line_numbers_ = false;
  std::vector<std::string> warnings_;  // of the event being handled
  cell::ManualClock clock_;
  std::unique_ptr<cell::Scheduler> scheduler_;
  std::map<std::string, PodRecord> pods_;  // by namespace/name
  int64_t next_seq_ = 0;
};

// `apiary validate [--strict] [--bad-nodes N1,N2] CONFIG`: prints the
// summary, or every error (with the warnings, "warning: "-prefixed, among
// them: an unknown key's "did you mean" often names the cause), and returns
// the exit code (0 valid, 2 invalid; with `strict` a config with warnings is
// invalid too). With `bad_nodes`, also what those nodes failing would do to
// each VC's promise (guarantee headroom, apiary/cell/headroom.h, on an
// otherwise empty cluster); exit 1 when some VC's promise would be broken.
int RunValidate(const std::string& config_path, bool strict, std::ostream& out,
                std::ostream& err, const std::vector<std::string>& bad_nodes = {});

}  // namespace apiary::cli
