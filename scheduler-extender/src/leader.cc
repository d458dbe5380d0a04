#include "apiary/extender/leader.h"

#include "apiary/extender/json_doc.h"
#include "apiary/extender/log.h"

namespace apiary::extender {

LeaderElector::LeaderElector(KubeClient* client, LeaderOptions options, std::function<void()> on_started,
                             std::function<void()> on_stopped)
    : client_(client), options_(std::move(options)), on_started_(std::move(on_started)),
      on_stopped_(std::move(on_stopped)) {}

bool LeaderElector::Sleep(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, d, [&] { return stop_.load(); });
  return !stop_;
}

void LeaderElector::Stop() {
  stop_ = true;
  cv_.notify_all();
}

namespace {

std::string LeasePath(const LeaderOptions& o, bool item) {
  std::string p = "/apis/coordination.k8s.io/v1/namespaces/" + PathEscape(o.lease_namespace) + "/leases";
  if (item) p += "/" + PathEscape(o.lease_name);
  return p;
}

std::string LeaseBody(const LeaderOptions& o, const std::string& rv, const std::string& holder,
                      const std::string& acquire, const std::string& renew, int64_t transitions) {
  std::string b = "{\"apiVersion\":\"coordination.k8s.io/v1\",\"kind\":\"Lease\",\"metadata\":{\"name\":" +
                  JsonQuote(o.lease_name) + ",\"namespace\":" + JsonQuote(o.lease_namespace);
  if (!rv.empty()) b += ",\"resourceVersion\":" + JsonQuote(rv);
  b += "},\"spec\":{\"holderIdentity\":" + JsonQuote(holder) +
       ",\"leaseDurationSeconds\":" + std::to_string(o.lease_duration.count());
  if (!acquire.empty()) b += ",\"acquireTime\":" + JsonQuote(acquire);
  if (!renew.empty()) b += ",\"renewTime\":" + JsonQuote(renew);
  b += ",\"leaseTransitions\":" + std::to_string(transitions) + "}}";
  return b;
}

}  // namespace

bool LeaderElector::TryAcquireOrRenew() {
  HttpResult g = client_->Do("GET", LeasePath(options_, true));
  const std::string now = KubeMicroTime();
  if (g.status == 404) {
    HttpResult c = client_->Do("POST", LeasePath(options_, false),
                               LeaseBody(options_, "", options_.identity, now, now, 0));
    if (c.status == 201 || c.status == 200) {
      acquire_time_ = now;
      transitions_ = 0;
      return true;
    }
    LogDebug("lease_create_failed", {{"code", std::to_string(c.status)}, {"error", StatusMessage(c)}});
    return false;
  }
  if (g.status != 200) {
    LogWarn("lease_get_failed", {{"code", std::to_string(g.status)}, {"error", StatusMessage(g)}});
    return false;
  }
  auto doc = JsonDoc::Parse(g.body);
  if (!doc.ok()) return false;
  JsonRef root = doc->root();
  std::string rv(root.Find("metadata").Find("resourceVersion").str());
  JsonRef spec = root.Find("spec");
  std::string holder(spec.Find("holderIdentity").str());
  std::string renew(spec.Find("renewTime").str());
  std::string acquire(spec.Find("acquireTime").str());
  int64_t transitions = 0;
  spec.Find("leaseTransitions").GetInt64(&transitions);
  int64_t duration = options_.lease_duration.count();
  spec.Find("leaseDurationSeconds").GetInt64(&duration);
  auto local_now = std::chrono::steady_clock::now();
  if (holder != observed_holder_ || renew != observed_renew_) {
    observed_holder_ = holder;
    observed_renew_ = renew;
    observed_at_ = local_now;
  }
  const bool mine = holder == options_.identity;
  if (!mine && !holder.empty() && local_now - observed_at_ < std::chrono::seconds(duration)) return false;
  if (!mine) {
    acquire = now;
    ++transitions;
  }
  HttpResult u = client_->Do("PUT", LeasePath(options_, true),
                             LeaseBody(options_, rv, options_.identity, acquire, now, transitions));
  if (u.status == 200) {
    observed_holder_ = options_.identity;
    observed_renew_ = now;
    observed_at_ = local_now;
    acquire_time_ = acquire;
    transitions_ = transitions;
    return true;
  }
  LogDebug("lease_update_failed", {{"code", std::to_string(u.status)}, {"error", StatusMessage(u)}});
  return false;
}

void LeaderElector::Release() {
  HttpResult g = client_->Do("GET", LeasePath(options_, true));
  if (g.status != 200) return;
  auto doc = JsonDoc::Parse(g.body);
  if (!doc.ok()) return;
  JsonRef root = doc->root();
  if (root.Find("spec").Find("holderIdentity").str() != options_.identity) return;
  std::string rv(root.Find("metadata").Find("resourceVersion").str());
  HttpResult u = client_->Do("PUT", LeasePath(options_, true),
                             LeaseBody(options_, rv, "", acquire_time_, KubeMicroTime(), transitions_));
  LogInfo("lease_released", {{"code", std::to_string(u.status)}});
}

void LeaderElector::Run() {
  LogInfo("leader_election_started", {{"lease", options_.lease_namespace + "/" + options_.lease_name},
                                      {"identity", options_.identity}});
  auto last_renew = std::chrono::steady_clock::now();
  while (!stop_) {
    bool ok = TryAcquireOrRenew();
    auto now = std::chrono::steady_clock::now();
    if (ok) {
      last_renew = now;
      if (!leading_) {
        leading_ = true;
        LogInfo("leader_acquired", {{"identity", options_.identity}});
        if (on_started_) on_started_();
      }
    } else if (leading_ && now - last_renew > options_.renew_deadline) {
      leading_ = false;
      LogError("leader_lost", {{"identity", options_.identity}});
      if (on_stopped_) on_stopped_();
      return;
    }
    if (!Sleep(options_.retry_period)) break;
  }
  if (leading_) {
    Release();
    leading_ = false;
  }
}

}  // namespace apiary::extender
