#include "apiary/extender/informer.h"

#include <random>

#include "apiary/extender/json_doc.h"
#include "apiary/extender/log.h"

namespace apiary::extender {

namespace {

constexpr char kPodsPath[] = "/api/v1/pods";
constexpr char kNodesPath[] = "/api/v1/nodes";

template <typename T>
cell::Result<T> DecodeItem(JsonRef item, const std::string& path);
template <>
cell::Result<PodInfo> DecodeItem<PodInfo>(JsonRef item, const std::string& path) {
  return DecodePod(item, path, /*require_uid=*/true);
}
template <>
cell::Result<NodeInfo> DecodeItem<NodeInfo>(JsonRef item, const std::string& path) {
  return DecodeNode(item, path);
}

std::string UrlQueryEscape(const std::string& s) { return PathEscape(s); }

}  // namespace

Informer::Informer(KubeClient* client, ClusterEventHandler* handler, Metrics* metrics,
                   InformerOptions options)
    : client_(client), handler_(handler), metrics_(metrics), options_(options) {}

Informer::~Informer() { Stop(); }

void Informer::Start() {
  // Start may run on the leader-election thread while Stop runs on main.
  std::lock_guard lock(mu_);
  if (stop_ || main_.joinable()) return;
  main_ = std::thread([this] { Run(); });
}

void Informer::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  client_->Stop();
  std::thread main;
  {
    std::lock_guard lock(mu_);
    main = std::move(main_);
  }
  if (main.joinable()) main.join();
  // Run() has returned: no more watch threads are added.
  std::vector<std::thread> watches;
  {
    std::lock_guard lock(mu_);
    watches = std::move(watches_);
  }
  for (auto& t : watches)
    if (t.joinable()) t.join();
}

bool Informer::Sleep(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, d, [&] { return stop_.load(); });
  return !stop_;
}

template <typename T>
bool Informer::List(const std::string& path, std::vector<T>* items, std::string* rv) {
  items->clear();
  std::string cont;
  for (;;) {
    std::string url = path + "?limit=" + std::to_string(options_.page_size);
    if (!cont.empty()) url += "&continue=" + UrlQueryEscape(cont);
    HttpResult r = client_->Do("GET", url);
    if (r.status != 200) {
      LogWarn("list_failed", {{"path", path}, {"code", std::to_string(r.status)}, {"error", StatusMessage(r)}});
      return false;
    }
    auto doc = JsonDoc::Parse(r.body);
    if (!doc.ok()) {
      LogWarn("list_failed", {{"path", path}, {"error", doc.status().message()}});
      return false;
    }
    JsonRef root = doc->root();
    JsonRef meta = root.Find("metadata");
    if (JsonRef v = meta.Find("resourceVersion"); v.IsString()) *rv = std::string(v.str());
    JsonRef c = meta.Find("continue");
    cont = c.IsString() ? std::string(c.str()) : "";
    uint32_t i = 0;
    for (JsonRef item : root.Find("items")) {
      auto decoded = DecodeItem<T>(item, path + ".items[" + std::to_string(i++) + "]");
      if (!decoded.ok()) {
        LogWarn("list_item_skipped", {{"path", path}, {"error", decoded.status().message()}});
        continue;
      }
      items->push_back(std::move(decoded).value());
    }
    if (cont.empty()) {
      metrics_->WatchProgress(path == kPodsPath ? Metrics::kWatchPods : Metrics::kWatchNodes);
      return true;
    }
  }
}

void Informer::Run() {
  auto backoff = options_.backoff_initial;
  std::vector<NodeInfo> nodes;
  std::vector<PodInfo> pods;
  std::string node_rv, pod_rv;
  // hived.md 9: nodes first, then pods; both complete before anything else.
  while (!stop_) {
    if (List(kNodesPath, &nodes, &node_rv) && List(kPodsPath, &pods, &pod_rv)) break;
    if (!Sleep(backoff)) return;
    backoff = std::min(backoff * 2, options_.backoff_max);
  }
  if (stop_) return;
  LogInfo("informer_listed", {{"nodes", std::to_string(nodes.size())}, {"pods", std::to_string(pods.size())},
                              {"node_rv", node_rv}, {"pod_rv", pod_rv}});
  handler_->OnSynced(std::move(nodes), std::move(pods));
  synced_ = true;
  std::lock_guard lock(mu_);
  if (stop_) return;
  watches_.emplace_back([this, node_rv] { WatchLoop(false, node_rv); });
  watches_.emplace_back([this, pod_rv] { WatchLoop(true, pod_rv); });
}

void Informer::WatchLoop(bool pods, std::string rv) {
  const std::string path = pods ? kPodsPath : kNodesPath;
  const char* what = pods ? "pods" : "nodes";
  const Metrics::WatchResource resource = pods ? Metrics::kWatchPods : Metrics::kWatchNodes;
  auto backoff = options_.backoff_initial;
  std::mt19937 rng(std::random_device{}());
  bool relist = false;
  while (!stop_) {
    if (relist) {
      metrics_->relists++;
      std::string new_rv;
      bool ok;
      if (pods) {
        std::vector<PodInfo> items;
        ok = List(path, &items, &new_rv);
        if (ok) handler_->OnPodsRelisted(std::move(items));
      } else {
        std::vector<NodeInfo> items;
        ok = List(path, &items, &new_rv);
        if (ok) handler_->OnNodesRelisted(std::move(items));
      }
      if (!ok) {
        std::uniform_int_distribution<int64_t> jitter(0, backoff.count() / 2);
        if (!Sleep(backoff + std::chrono::milliseconds(jitter(rng)))) return;
        backoff = std::min(backoff * 2, options_.backoff_max);
        continue;
      }
      LogInfo("informer_relisted", {{"resource", what}, {"rv", new_rv}});
      rv = new_rv;
      relist = false;
    }
    std::string url = path + "?watch=true&allowWatchBookmarks=true&timeoutSeconds=" +
                      std::to_string(options_.watch_timeout.count()) + "&resourceVersion=" + PathEscape(rv);
    bool gone = false;
    size_t events = 0;
    HttpResult r = client_->Stream(
        url,
        [&](std::string_view line) {
          metrics_->WatchProgress(resource);
          auto doc = JsonDoc::Parse(line);
          if (!doc.ok()) {
            LogWarn("watch_bad_event", {{"resource", what}, {"error", doc.status().message()}});
            return true;
          }
          JsonRef root = doc->root();
          JsonRef type = root.Find("type");
          JsonRef obj = root.Find("object");
          std::string t = type.IsString() ? std::string(type.str()) : "";
          if (t == "ERROR") {
            int64_t code = 0;
            obj.Find("code").GetInt64(&code);
            JsonRef msg = obj.Find("message");
            LogWarn("watch_error_event", {{"resource", what}, {"code", std::to_string(code)},
                                          {"message", msg.IsString() ? msg.str() : ""}});
            if (code == 410) gone = true;
            return false;
          }
          if (JsonRef v = obj.Find("metadata").Find("resourceVersion"); v.IsString()) rv = std::string(v.str());
          if (t == "BOOKMARK") return true;
          WatchEventType et;
          if (t == "ADDED") et = WatchEventType::kAdded;
          else if (t == "MODIFIED") et = WatchEventType::kModified;
          else if (t == "DELETED") et = WatchEventType::kDeleted;
          else return true;
          ++events;
          if (pods) {
            auto p = DecodePod(obj, "watch.object", true);
            if (!p.ok()) {
              LogWarn("watch_bad_object", {{"resource", what}, {"error", p.status().message()}});
              return true;
            }
            handler_->OnPodEvent(et, *p);
          } else {
            auto n = DecodeNode(obj, "watch.object");
            if (!n.ok()) {
              LogWarn("watch_bad_object", {{"resource", what}, {"error", n.status().message()}});
              return true;
            }
            handler_->OnNodeEvent(et, *n);
          }
          return true;
        },
        options_.watch_timeout + std::chrono::seconds(30), [&](int status) {
          if (status >= 200 && status < 300) {
            metrics_->WatchProgress(resource);
            metrics_->watch_open[resource] = true;
          }
        });
    metrics_->watch_open[resource] = false;
    if (stop_) return;
    metrics_->watch_restarts++;
    if (r.status == 410 || gone) {
      relist = true;
      backoff = options_.backoff_initial;
      continue;
    }
    if (r.status == 200 && r.error.empty()) {
      // The server ended the watch (timeoutSeconds): reconnect at once.
      metrics_->WatchProgress(resource);
      backoff = options_.backoff_initial;
      LogDebug("watch_closed", {{"resource", what}, {"events", std::to_string(events)}});
      continue;
    }
    LogWarn("watch_failed", {{"resource", what}, {"code", std::to_string(r.status)},
                             {"error", r.status ? StatusMessage(r) : r.error},
                             {"retry_ms", std::to_string(backoff.count())}});
    // Scheduling goes on from the state last seen; say how old it is once
    // that is long enough to matter (docs/extender.md: the alert to set).
    if (double stale = metrics_->WatchStalenessSeconds(resource); stale >= 60)
      LogWarn("watch_stale", {{"resource", what}, {"seconds", std::to_string(static_cast<int64_t>(stale))}});
    if (r.status >= 400 && r.status != 429 && r.status < 500) relist = true;  // e.g. 403 fixed later
    std::uniform_int_distribution<int64_t> jitter(0, backoff.count() / 2);
    if (!Sleep(backoff + std::chrono::milliseconds(jitter(rng)))) return;
    backoff = std::min(backoff * 2, options_.backoff_max);
  }
}

}  // namespace apiary::extender
