// Errors as values for the trace readers (DESIGN.md, "Habits that keep it
// clear"). A Status is OK or carries a message; every reader error message
// names the input as "file:line:column: reason" so a user can jump to it.
// Result<T> is a T or the Status explaining why there is none.
//
// Deliberately independent of libcell's Status: traces/ does not link libcell.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

namespace apiary::traces {

class Status {
 public:
  Status() = default;
  static Status Ok() { return Status(); }
  static Status Error(std::string message) {
    Status s;
    s.ok_ = false;
    s.message_ = std::move(message);
    return s;
  }

  bool ok() const { return ok_; }
  // Empty when ok().
  const std::string& message() const { return message_; }

 private:
  bool ok_ = true;
  std::string message_;
};

template <typename T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit on purpose
  // Must be a non-OK status.
  Result(Status status) : status_(std::move(status)) {}  // NOLINT

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  // Precondition: ok().
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }

 private:
  Status status_;
  std::optional<T> value_;
};

// "file:line:column: reason". line and column are 1-based; column counts
// bytes from the start of the physical line.
std::string FormatLocation(const std::string& file, int64_t line,
                           int64_t column, const std::string& reason);

}  // namespace apiary::traces
