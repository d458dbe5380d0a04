// Text checks every front door shares: UTF-8 validation of input files and
// lines (with the byte offset of the first bad byte), and "did you mean"
// suggestions for mistyped names (config keys, VC names, subcommands).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "apiary/cell/status.h"

namespace apiary::cell {

// The byte offset of the first byte that does not belong to a well-formed
// UTF-8 sequence (RFC 3629: no overlong forms, no surrogates, nothing above
// U+10FFFF), or nullopt when `text` is valid UTF-8. O(n).
std::optional<size_t> FirstInvalidUtf8(std::string_view text);

// Ok when `text` is valid UTF-8; otherwise Invalid with
// "<what>: not valid UTF-8: byte 0xNN at byte offset N (line L, column C)"
// (offset from 0; line and column from 1, the column in bytes; the line and
// column part only when `text` holds more than one line).
Status CheckUtf8(std::string_view text, const std::string& what);

// Levenshtein distance, ASCII letters compared case-insensitively.
size_t EditDistance(std::string_view a, std::string_view b);

// The candidate nearest to `name` when it is a plausible misspelling (at most
// `max_distance` edits, and fewer edits than `name` has characters); ties go
// to the earlier candidate. nullopt when nothing is near or `name` is itself
// a candidate.
std::optional<std::string> NearestName(std::string_view name,
                                       const std::vector<std::string>& candidates,
                                       size_t max_distance = 2);

// " (did you mean X?)" for the nearest candidate, or "" when none is near.
std::string DidYouMean(std::string_view name, const std::vector<std::string>& candidates,
                       size_t max_distance = 2);

// For a name that is not among `known` (a VC, a node, ...): " (did you mean
// X?; known <what>: a, b, c)" listing at most 20 names in the given order,
// or " (no <what> are configured)" when `known` is empty; "" when `name`
// is known after all.
std::string UnknownNameHint(std::string_view name, const std::vector<std::string>& known,
                            std::string_view what);

}  // namespace apiary::cell
