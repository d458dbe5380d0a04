// List + watch of nodes and pods (extender.md 4.5, hived.md 9): the initial
// lists (paged), delivered together to ClusterEventHandler::OnSynced (nodes
// first, then pods); then one watch per resource from the list's
// resourceVersion, reconnected with exponential backoff, and a relist when the
// API server answers 410 Gone (the resourceVersion is too old).
//
// Thread safety: Start and Stop may be called from any threads (Start after
// Stop does nothing); the handler is called from the informer's threads (one
// per resource after the initial sync).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "apiary/extender/cluster_api.h"
#include "apiary/extender/kube_client.h"
#include "apiary/extender/metrics.h"

namespace apiary::extender {

struct InformerOptions {
  int page_size = 500;
  std::chrono::seconds watch_timeout{300};  // server-side timeoutSeconds
  std::chrono::milliseconds backoff_initial{500};
  std::chrono::milliseconds backoff_max{30000};
};

class Informer {
 public:
  Informer(KubeClient* client, ClusterEventHandler* handler, Metrics* metrics,
           InformerOptions options = {});
  ~Informer();

  // Starts the background sync; returns at once.
  void Start();
  // Stops the watches (aborts streams through the client) and joins.
  void Stop();
  bool synced() const { return synced_; }

 private:
  template <typename T>
  bool List(const std::string& path, std::vector<T>* items, std::string* rv);
  void Run();
  void WatchLoop(bool pods, std::string rv);
  bool Sleep(std::chrono::milliseconds d);  // false when stopping

  KubeClient* client_;
  ClusterEventHandler* handler_;
  Metrics* metrics_;
  InformerOptions options_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> synced_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::thread main_;
  std::vector<std::thread> watches_;
};

}  // namespace apiary::extender
