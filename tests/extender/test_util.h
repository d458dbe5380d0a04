// Helpers for the extender tests: child processes, HTTP calls, pod and node
// objects as the API server holds them, filter/bind/preempt request bodies as
// kube-scheduler sends them, and a reference recovery computed with libcell
// directly.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

namespace apiary::testing {

using Json = nlohmann::ordered_json;

// Every test binary ignores SIGPIPE, as apiary-extender does: OpenSSL writes
// with write(2), and a TLS close_notify sent to a peer that already reset the
// connection must not kill the test process.
inline const bool kSigpipeIgnored = [] {
  signal(SIGPIPE, SIG_IGN);
  return true;
}();

inline std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::string TempDir(const std::string& tag) {
  std::string tmpl = "/tmp/apiary-" + tag + "-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  char* d = mkdtemp(buf.data());
  return d ? std::string(d) : std::string("/tmp");
}

// A child process with stdout+stderr to a log file.
class Process {
 public:
  Process() = default;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  ~Process() { Kill(SIGKILL); }

  bool Start(const std::vector<std::string>& argv, const std::string& log_path) {
    log_ = log_path;
    pid_ = fork();
    if (pid_ < 0) return false;
    if (pid_ == 0) {
      int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
      }
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
    return true;
  }
  // Sends `sig` and reaps the child. Returns the wait status, -1 if none.
  int Kill(int sig) {
    if (pid_ <= 0) return -1;
    ::kill(pid_, sig);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }
  // Reaps the child if it exited; true when it is still running.
  bool Running() {
    if (pid_ <= 0) return false;
    int status;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    return true;
  }
  // Waits up to `timeout` for the child to exit and reaps it. Returns its
  // wait status, -1 if it is still running (or was never started).
  int WaitExit(std::chrono::milliseconds timeout) {
    auto end = std::chrono::steady_clock::now() + timeout;
    while (pid_ > 0) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return status;
      }
      if (std::chrono::steady_clock::now() >= end) return -1;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return -1;
  }
  pid_t pid() const { return pid_; }
  std::string Log() const { return ReadAll(log_); }

  // Waits until the log matches `re` (first group returned), up to `timeout`.
  std::string WaitForLog(const std::string& re, std::chrono::milliseconds timeout) {
    std::regex r(re);
    auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
      std::string log = Log();
      std::smatch m;
      if (std::regex_search(log, m, r)) return m.size() > 1 ? m[1].str() : m[0].str();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return "";
  }

 private:
  pid_t pid_ = -1;
  std::string log_;
};

inline bool WaitUntil(const std::function<bool()>& cond, std::chrono::milliseconds timeout) {
  auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return cond();
}

struct HttpReply {
  int status = 0;
  std::string body;
  Json json() const {
    try {
      return Json::parse(body);
    } catch (...) {
      return Json();
    }
  }
};

inline HttpReply Call(int port, const std::string& method, const std::string& path, const std::string& body = "",
                      int timeout_s = 10) {
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(timeout_s, 0);
  c.set_connection_timeout(2, 0);
  httplib::Result r(nullptr, httplib::Error::Unknown);
  if (method == "GET") r = c.Get(path.c_str());
  else if (method == "POST") r = c.Post(path.c_str(), body, "application/json");
  else if (method == "PUT") r = c.Put(path.c_str(), body, "application/json");
  else if (method == "PATCH") r = c.Patch(path.c_str(), body, "application/merge-patch+json");
  else if (method == "DELETE") r = c.Delete(path.c_str(), body, "application/json");
  HttpReply out;
  if (r) {
    out.status = r->status;
    out.body = r->body;
  }
  return out;
}

// ---- Kubernetes objects --------------------------------------------------------

inline Json NodeObject(const std::string& name, bool ready = true) {
  return Json{{"metadata", {{"name", name}, {"labels", {{"kubernetes.io/hostname", name}}}}},
              {"spec", Json::object()},
              {"status",
               {{"conditions", Json::array({{{"type", "Ready"}, {"status", ready ? "True" : "False"},
                                             {"lastTransitionTime", "2024-01-01T00:00:00Z"},
                                             {"reason", "KubeletReady"}}})},
                {"capacity", {{"cpu", "96"}, {"memory", "1Ti"}, {"pods", "110"}}}}}};
}

struct PodSpecArgs {
  PodSpecArgs(std::string vc_ = "prod", int priority_ = 0, std::string leaf_type_ = "V100", int leaf_number_ = 8,
              std::string group_ = "", std::vector<std::pair<int, int>> members_ = {}, bool lazy_ = false,
              std::string pinned_ = "")
      : vc(std::move(vc_)), priority(priority_), leaf_type(std::move(leaf_type_)), leaf_number(leaf_number_),
        group(std::move(group_)), members(std::move(members_)), lazy(lazy_), pinned(std::move(pinned_)) {}
  std::string vc;
  int priority;
  std::string leaf_type;  // empty: any
  int leaf_number;
  std::string group;  // empty: default group
  std::vector<std::pair<int, int>> members;  // (podNumber, leafCellNumber)
  bool lazy;
  std::string pinned;
};

inline std::string SpecYaml(const PodSpecArgs& a) {
  std::string s = "virtualCluster: " + a.vc + "\npriority: " + std::to_string(a.priority) + "\n";
  if (!a.pinned.empty()) s += "pinnedCellId: " + a.pinned + "\n";
  if (!a.leaf_type.empty()) s += "leafCellType: " + a.leaf_type + "\n";
  s += "leafCellNumber: " + std::to_string(a.leaf_number) + "\n";
  if (a.lazy) s += "lazyPreemptionEnable: true\n";
  if (!a.group.empty()) {
    s += "affinityGroup:\n  name: " + a.group + "\n  members:\n";
    for (auto [n, l] : a.members)
      s += "  - podNumber: " + std::to_string(n) + "\n    leafCellNumber: " + std::to_string(l) + "\n";
  }
  return s;
}

inline Json PodObject(const std::string& ns, const std::string& name, const PodSpecArgs& a,
                      const std::string& scheduler = "hivedscheduler-ds-prod") {
  return Json{{"metadata",
               {{"name", name},
                {"namespace", ns},
                {"annotations", {{"hivedscheduler.microsoft.com/pod-scheduling-spec", SpecYaml(a)}}}}},
              {"spec",
               {{"schedulerName", scheduler},
                {"containers",
                 Json::array({{{"name", "main"},
                               {"image", "registry.example/trainer:1"},
                               {"resources",
                                {{"limits",
                                  {{"hivedscheduler.microsoft.com/pod-scheduling-enable", "1"},
                                   {"cpu", "4"},
                                   {"memory", "16Gi"}}}}}}})}}},
              {"status", {{"phase", "Pending"}}}};
}

// kube-scheduler's ExtenderArgs with nodeCacheCapable: true.
inline std::string FilterBody(const Json& pod, const std::vector<std::string>& nodes) {
  Json j;
  j["Pod"] = pod;
  j["Nodes"] = nullptr;
  j["NodeNames"] = nodes;
  return j.dump();
}

inline std::string BindBody(const Json& pod, const std::string& node) {
  Json j;
  j["PodName"] = pod["metadata"]["name"];
  j["PodNamespace"] = pod["metadata"]["namespace"];
  j["PodUID"] = pod["metadata"]["uid"];
  j["Node"] = node;
  return j.dump();
}

inline std::string PreemptBody(const Json& pod, const std::vector<std::string>& nodes) {
  Json j;
  j["Pod"] = pod;
  j["NodeNameToVictims"] = nullptr;
  Json m = Json::object();
  for (const auto& n : nodes) m[n] = Json{{"Pods", Json::array()}, {"NumPDBViolations", 0}};
  j["NodeNameToMetaVictims"] = m;
  return j.dump();
}

inline const std::vector<std::string>& BasicNodes() {
  static const std::vector<std::string> nodes = {"dgx-01", "dgx-02", "dgx-03", "dgx-04",
                                                 "k80-01", "k80-02", "k80-03"};
  return nodes;
}

}  // namespace apiary::testing
