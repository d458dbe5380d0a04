// Fuzz target: the HiveD annotation parsers (hived.md 4, 10) the extender
// feeds with pod annotations: the scheduling spec, the bind info, the leaf
// cell isolation list. Checks: no crash; a bind info that parses emits text
// that parses again to the same emission (round trip) - for valid UTF-8
// input, which is all the API server can hold (annotation values are JSON
// strings) without NUL bytes. Two findings of this target, reported to
// libcell's owner, are excluded: invalid UTF-8 does not round-trip (the
// emitter writes a byte 0xBA as the YAML escape "\xBA", which YAML reads back
// as U+00BA), and input with NUL bytes can parse to strings holding invalid
// UTF-8 (yaml-cpp), which then do not round-trip either.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "apiary/cell/annotations.h"

namespace {
bool ValidUtf8(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
    for (size_t k = 1; k < n; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += n;
  }
  return true;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  const bool utf8 = ValidUtf8(text) && text.find('\0') == std::string::npos;
  auto spec = apiary::cell::ParsePodSchedulingSpec(text, "ns", "pod");
  (void)spec;
  auto info = apiary::cell::ParsePodBindInfo(text);
  if (info.ok() && utf8) {
    std::string emitted = apiary::cell::EmitPodBindInfo(*info);
    auto again = apiary::cell::ParsePodBindInfo(emitted);
    if (!again.ok() || apiary::cell::EmitPodBindInfo(*again) != emitted) std::abort();
  }
  auto iso = apiary::cell::ParseLeafCellIsolation(text);
  if (iso.ok()) {
    auto again = apiary::cell::ParseLeafCellIsolation(apiary::cell::EmitLeafCellIsolation(*iso));
    if (!again.ok() || *again != *iso) std::abort();
  }
  return 0;
}
