// Process-level harness for the integration tests: a fake-kube-apiserver
// process and one or more apiary-extender processes over loopback, driven as
// kube-scheduler would drive them.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "test_util.h"

namespace apiary::testing {

class Cluster {
 public:
  explicit Cluster(const std::string& tag) : dir_(TempDir(tag)) {}
  ~Cluster() {
    for (auto& e : extenders_)
      if (e) e->Kill(SIGKILL);
    api_.Kill(SIGTERM);
    // Logs stay for failed tests (and with APIARY_KEEP_TEST_DIRS=1).
    if (!::testing::Test::HasFailure() && !std::getenv("APIARY_KEEP_TEST_DIRS")) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }
  const std::string& dir() const { return dir_; }

  bool StartApi() {
    if (!api_.Start({APIARY_FAKE_APISERVER_BIN, "--port", "0"}, dir_ + "/apiserver.log")) return false;
    std::string port = api_.WaitForLog(R"(listening on (\d+))", std::chrono::seconds(10));
    if (port.empty()) return false;
    api_port_ = std::stoi(port);
    return true;
  }
  int api_port() const { return api_port_; }

  void WriteConfig(const std::string& text) {
    std::ofstream(dir_ + "/config.yaml") << text;
  }
  std::string config_path() const { return dir_ + "/config.yaml"; }

  // Starts extender #i (a new one when i == size()) and waits for its port.
  int StartExtender(const std::vector<std::string>& extra = {}, size_t i = SIZE_MAX) {
    if (i == SIZE_MAX) i = extenders_.size();
    if (i >= extenders_.size()) {
      extenders_.resize(i + 1);
      ports_.resize(i + 1, 0);
    }
    extenders_[i] = std::make_unique<Process>();
    std::vector<std::string> argv = {APIARY_EXTENDER_BIN,
                                     "--config", config_path(),
                                     "--master", "http://127.0.0.1:" + std::to_string(api_port_),
                                     "--listen", "127.0.0.1:0",
                                     "--config-poll-interval", "0.2",
                                     "--watch-timeout", "20",
                                     "--api-timeout", "5"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    std::string log = dir_ + "/extender-" + std::to_string(i) + ".log";
    // Each start appends a marker so the port of this start is found.
    std::ofstream(log, std::ios::app) << "=== start " << ++starts_ << " ===\n";
    if (!extenders_[i]->Start(argv, log)) return -1;
    std::string marker = "=== start " + std::to_string(starts_) + R"( ===[\s\S]*?event=serving address=127\.0\.0\.1:(\d+))";
    std::string port = extenders_[i]->WaitForLog(marker, std::chrono::seconds(10));
    if (port.empty()) return -1;
    ports_[i] = std::stoi(port);
    // The health listener (--health-listen; "auto" by default): same line.
    std::string health = extenders_[i]->WaitForLog(
        "=== start " + std::to_string(starts_) + R"( ===[\s\S]*?event=serving .*health=127\.0\.0\.1:(\d+))",
        std::chrono::milliseconds(100));
    health_ports_.resize(ports_.size(), -1);
    health_ports_[i] = health.empty() ? -1 : std::stoi(health);
    return ports_[i];
  }
  int port(size_t i = 0) const { return ports_[i]; }
  // -1 when the extender runs without a health listener.
  int health_port(size_t i = 0) const { return i < health_ports_.size() ? health_ports_[i] : -1; }
  Process& extender(size_t i = 0) { return *extenders_[i]; }
  bool has_extender() const { return !extenders_.empty() && extenders_[0]; }

  bool WaitReady(size_t i = 0, std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    return WaitUntil([&] { return Call(ports_[i], "GET", "/readyz").status == 200; }, timeout);
  }

  // ---- API server objects ----
  Json CreateNode(const std::string& name, bool ready = true) {
    return Call(api_port_, "POST", "/api/v1/nodes", NodeObject(name, ready).dump()).json();
  }
  Json CreatePod(const std::string& ns, const std::string& name, const PodSpecArgs& a) {
    return Call(api_port_, "POST", "/api/v1/namespaces/" + ns + "/pods", PodObject(ns, name, a).dump()).json();
  }
  Json GetPod(const std::string& ns, const std::string& name) {
    HttpReply r = Call(api_port_, "GET", "/api/v1/namespaces/" + ns + "/pods/" + name);
    return r.status == 200 ? r.json() : Json();
  }
  bool DeletePod(const std::string& ns, const std::string& name) {
    return Call(api_port_, "DELETE", "/api/v1/namespaces/" + ns + "/pods/" + name).status == 200;
  }
  std::vector<Json> Pods() {
    std::vector<Json> out;
    Json list = Call(api_port_, "GET", "/api/v1/pods").json();  // (not a temporary in the range-for)
    for (const auto& p : list["items"]) out.push_back(p);
    return out;
  }

  // ---- kube-scheduler's calls ----
  Json Filter(const Json& pod, const std::vector<std::string>& nodes = BasicNodes(), size_t i = 0) {
    return Call(ports_[i], "POST", "/v1/extender/filter", FilterBody(pod, nodes)).json();
  }
  Json Bind(const Json& pod, const std::string& node, size_t i = 0) {
    return Call(ports_[i], "POST", "/v1/extender/bind", BindBody(pod, node)).json();
  }
  // Filter until the extender knows the pod (the watch may lag the create).
  Json FilterKnown(const Json& pod, const std::vector<std::string>& nodes = BasicNodes(), size_t i = 0) {
    Json f;
    WaitUntil(
        [&] {
          f = Filter(pod, nodes, i);
          return !f.is_null() && f["Error"].get<std::string>().find("has not been informed") == std::string::npos;
        },
        std::chrono::seconds(10));
    return f;
  }
  Json Inspect(const std::string& path, size_t i = 0) { return Call(ports_[i], "GET", path).json(); }

 private:
  std::string dir_;
  Process api_;
  int api_port_ = 0;
  std::vector<std::unique_ptr<Process>> extenders_;
  std::vector<int> ports_;
  std::vector<int> health_ports_;
  int starts_ = 0;
};

inline std::string BasicConfigText() {
  return ReadAll(std::string(APIARY_SOURCE_DIR) + "/examples/configs/hived-basic.yaml");
}

}  // namespace apiary::testing
