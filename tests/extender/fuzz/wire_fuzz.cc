// Fuzz target: the extender's JSON reader and the kube-scheduler wire
// decoders (ExtenderArgs, ExtenderBindingArgs, ExtenderPreemptionArgs, pods,
// nodes). Checks: no crash; the JSON reader accepts whatever nlohmann accepts
// (within the depth limit); the string encoder always produces
// valid JSON that decodes back to the (UTF-8-repaired) input.
#include <cstdint>
#include <cstdlib>
#include <string>

#include <nlohmann/json.hpp>

#include "apiary/extender/json_doc.h"
#include "apiary/extender/wire.h"

using namespace apiary::extender;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto doc = JsonDoc::Parse(text, 64);
  bool ok = doc.ok();
  if (ok) {
    (void)DecodePod(doc->root(), "pod", false);
    (void)DecodeNode(doc->root(), "node");
  }
  (void)DecodeFilterArgs(text);
  (void)DecodeBindArgs(text);
  (void)DecodePreemptArgs(text);
  (void)BestEffortPodKey(text);
  // Agreement with nlohmann (which has no depth limit of its own): only when
  // the input is shallow enough for ours.
  int depth = 0, max_depth = 0;
  for (char c : text) {
    if (c == '[' || c == '{') max_depth = std::max(max_depth, ++depth);
    if (c == ']' || c == '}') --depth;
  }
  // (We also accept what Go accepts and nlohmann rejects: invalid UTF-8 and
  // lone surrogates, decoded to U+FFFD.)
  // nlohmann stops at a NUL byte and accepts "{}\0junk"; we reject it.
  if (max_depth < 60 && !ok && text.find('\0') == std::string::npos && nlohmann::json::accept(text))
    std::abort();
  std::string quoted = JsonQuote(text);
  if (!nlohmann::json::accept(quoted)) std::abort();
  auto back = JsonDoc::Parse(quoted);
  if (!back.ok() || !back->root().IsString()) std::abort();
  std::string s1(back->root().str());
  std::string quoted2 = JsonQuote(s1);
  auto back2 = JsonDoc::Parse(quoted2);
  if (!back2.ok() || back2->root().str() != s1) std::abort();
  return 0;
}
