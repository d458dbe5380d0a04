#include "explain.h"

#include <fstream>
#include <sstream>

#include <httplib.h>

#include "apiary/wire/explain_json.h"
#include "replay.h"

namespace apiary::cli {

namespace {

std::string FullName(const std::string& name) {
  return name.find('/') == std::string::npos ? "default/" + name : name;
}

// The extender's answer for `pod` (an error sets `error`).
nlohmann::ordered_json AskExtender(const std::string& url, const std::string& pod,
                                   std::string* error) {
  httplib::Client client(url);
  if (!client.is_valid()) {
    *error = "--url " + url + ": not an http://host:port address";
    return nullptr;
  }
  client.set_connection_timeout(5, 0);
  client.set_read_timeout(30, 0);
  auto res = client.Get("/v1/inspect/explain/" + pod);
  if (!res) {
    *error = "--url " + url + ": " + httplib::to_string(res.error());
    return nullptr;
  }
  nlohmann::ordered_json body;
  try {
    body = nlohmann::ordered_json::parse(res->body);
  } catch (const nlohmann::json::exception& e) {
    *error = url + " answered HTTP " + std::to_string(res->status) + " with a body that is not JSON";
    return nullptr;
  }
  if (res->status != 200) {
    *error = url + " answered HTTP " + std::to_string(res->status) + ": " +
             (body.is_string() ? body.get<std::string>() : body.dump());
    return nullptr;
  }
  return body;
}

}  // namespace

std::string RenderExplainAnswer(const nlohmann::json& answer, std::string* error) {
  if (!answer.is_object() || !answer.contains("pod") || !answer.contains("result")) {
    *error = "answer: expected an object with \"pod\" and \"result\"";
    return "";
  }
  std::string text = answer["pod"].get<std::string>() + ": " + answer["result"].get<std::string>();
  if (answer.contains("node") && answer["node"].is_string())
    text += " on " + answer["node"].get<std::string>();
  text += "\n";
  if (answer.contains("reason") && answer["reason"].is_string())
    text += "reason: " + answer["reason"].get<std::string>() + "\n";
  if (auto it = answer.find("victims"); it != answer.end() && it->is_array())
    for (const auto& v : *it)
      text += "victim: " + v.value("pod", "") + " on " + v.value("node", "") + "\n";
  auto eit = answer.find("explanation");
  if (eit == answer.end() || eit->is_null()) return text;
  auto e = wire::ExplanationFromJson(*eit);
  if (!e.ok()) {
    *error = e.status().message();
    return "";
  }
  return text + cell::FormatExplanation(*e);
}

int RunExplain(const ExplainOptions& o, std::ostream& out, std::ostream& err) {
  const std::string pod = FullName(o.pod);
  nlohmann::ordered_json answer;  // keys in the answer's order for --json
  std::string error;
  if (!o.url.empty()) {
    if (!o.config.empty() || !o.events.empty()) {
      err << "apiary explain: give either --url or --config with --events, not both\n";
      return 2;
    }
    answer = AskExtender(o.url, pod, &error);
  } else {
    if (o.config.empty() || o.events.empty()) {
      err << "apiary explain: give --url, or --config and --events\n";
      return 2;
    }
    auto r = Replayer::Create(o.config);
    if (!r.ok()) {
      err << r.status().message() << "\n";
      return 2;
    }
    std::ifstream in(o.events, std::ios::binary);
    if (!in) {
      err << o.events << ": cannot open events file\n";
      return 2;
    }
    std::ostringstream discard;
    (*r)->Run(in, discard);
    auto a = (*r)->ExplainPod(pod);
    if (!a.ok()) error = a.status().message();
    else answer = std::move(*a);
  }
  if (!error.empty()) {
    err << "apiary explain: " << error << "\n";
    return 2;
  }
  if (o.json) {
    out << answer.dump() << "\n";
    return 0;
  }
  std::string text = RenderExplainAnswer(nlohmann::json::parse(answer.dump()), &error);
  if (!error.empty()) {
    err << "apiary explain: " << error << "\n";
    return 2;
  }
  out << text;
  return 0;
}

}  // namespace apiary::cli
