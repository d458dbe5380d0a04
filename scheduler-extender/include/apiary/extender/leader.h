// Leader election through a coordination.k8s.io/v1 Lease, the protocol of
// client-go's leaderelection: acquire when the lease is free or its holder
// has not renewed within leaseDurationSeconds (measured on this replica's own
// clock from when it last saw the record change, so clock skew does not
// matter), renew every retry period, give up when a renewal has not
// succeeded within the renew deadline. Optimistic concurrency through
// metadata.resourceVersion.
//
// Thread safety: Run() on one thread; Stop() from any.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>

#include "apiary/extender/kube_client.h"

namespace apiary::extender {

struct LeaderOptions {
  std::string lease_namespace = "kube-system";
  std::string lease_name = "apiary-extender";
  std::string identity;
  std::chrono::seconds lease_duration{15};
  std::chrono::seconds renew_deadline{10};
  std::chrono::seconds retry_period{2};
};

class LeaderElector {
 public:
  LeaderElector(KubeClient* client, LeaderOptions options, std::function<void()> on_started,
                std::function<void()> on_stopped);

  // Blocks until Stop() or until leadership is lost (on_stopped is called
  // then). On Stop() while leading, the lease is released (holder cleared) so
  // a standby takes over at once.
  void Run();
  void Stop();
  bool leading() const { return leading_; }

 private:
  // One acquire-or-renew attempt; true when this replica holds the lease.
  bool TryAcquireOrRenew();
  void Release();
  bool Sleep(std::chrono::milliseconds d);

  KubeClient* client_;
  LeaderOptions options_;
  std::function<void()> on_started_, on_stopped_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> leading_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  // The record last seen and when (local monotonic clock).
  std::string observed_holder_, observed_renew_;
  std::chrono::steady_clock::time_point observed_at_{};
  int64_t transitions_ = 0;
  std::string acquire_time_;
};

}  // namespace apiary::extender
