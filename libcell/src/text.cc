// UTF-8 validation and name suggestions (text.h).
#include "apiary/cell/text.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

namespace apiary::cell {

std::optional<size_t> FirstInvalidUtf8(std::string_view text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;       // overlong
      if (c == 0xED) hi = 0x9F;       // surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;       // overlong
      if (c == 0xF4) hi = 0x8F;       // above U+10FFFF
    } else {
      return i;  // a continuation byte, an overlong lead (C0, C1) or F5..FF
    }
    if (i + 1 >= n || s[i + 1] < lo || s[i + 1] > hi) return i;
    for (size_t k = 2; k < len; ++k) {
      if (i + k >= n || s[i + k] < 0x80 || s[i + k] > 0xBF) return i;
    }
    i += len;
  }
  return std::nullopt;
}

Status CheckUtf8(std::string_view text, const std::string& what) {
  std::optional<size_t> bad = FirstInvalidUtf8(text);
  if (!bad) return Status::Ok();
  char byte[8];
  std::snprintf(byte, sizeof byte, "0x%02X", static_cast<unsigned char>(text[*bad]));
  std::string message = what + ": not valid UTF-8: byte " + byte + " at byte offset " +
                        std::to_string(*bad);
  if (text.find('\n') != std::string_view::npos) {  // a file rather than one line
    size_t line = 1 + static_cast<size_t>(std::count(text.begin(), text.begin() + *bad, '\n'));
    size_t line_start = *bad == 0 ? std::string_view::npos : text.rfind('\n', *bad - 1);
    size_t column = line_start == std::string_view::npos ? *bad + 1 : *bad - line_start;
    message += " (line " + std::to_string(line) + ", column " + std::to_string(column) + ")";
  }
  return Status::Invalid(message);
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      size_t cost = (std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                     std::tolower(static_cast<unsigned char>(b[j - 1])))
                        ? 0
                        : 1;
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + cost});
      diag = up;
    }
  }
  return row[b.size()];
}

std::optional<std::string> NearestName(std::string_view name,
                                       const std::vector<std::string>& candidates,
                                       size_t max_distance) {
  const std::string* best = nullptr;
  size_t best_distance = max_distance + 1;
  for (const std::string& c : candidates) {
    if (c == name) return std::nullopt;
    size_t d = EditDistance(name, c);
    if (d < best_distance && d < name.size()) {
      best_distance = d;
      best = &c;
    }
  }
  if (!best) return std::nullopt;
  return *best;
}

std::string DidYouMean(std::string_view name, const std::vector<std::string>& candidates,
                       size_t max_distance) {
  std::optional<std::string> best = NearestName(name, candidates, max_distance);
  return best ? " (did you mean " + *best + "?)" : "";
}

std::string UnknownNameHint(std::string_view name, const std::vector<std::string>& known,
                            std::string_view what) {
  if (std::find(known.begin(), known.end(), name) != known.end()) return "";
  if (known.empty()) return " (no " + std::string(what) + " are configured)";
  std::string out = " (";
  if (std::optional<std::string> best = NearestName(name, known))
    out += "did you mean " + *best + "?; ";
  out += "known " + std::string(what) + ": ";
  constexpr size_t kMaxListed = 20;
  for (size_t i = 0; i < known.size() && i < kMaxListed; ++i) out += (i ? ", " : "") + known[i];
  if (known.size() > kMaxListed)
    out += ", ... (" + std::to_string(known.size() - kMaxListed) + " more)";
  return out + ")";
}

}  // namespace apiary::cell
