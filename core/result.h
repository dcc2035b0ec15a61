// Result<T> and Status: how every fallible call in Custos reports failure.
//
// An Error carries a code from the one Errc enum (the api layer maps it to an HTTP status
// in exactly one table), a human-readable message, and optional per-field messages for
// validation failures. Foreign errors (RocksDB, librdkafka, simdjson, Asio) are translated
// into an Error at the one boundary where they are caught.
//
// Thread-safety: plain values; no shared state.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace custos::core {

enum class Errc {
  kInvalidArgument,     // malformed input (400) or a field failing validation (422)
  kNotFound,            // unknown id, or an id of another tenant
  kConflict,            // duplicate name, stale expected version, state conflict
  kUnauthenticated,     // no or bad credentials
  kPermissionDenied,    // authenticated, not allowed
  kPreconditionFailed,  // stale If-Match
  kGone,                // a used, revoked or expired one-time token
  kUnavailable,         // storage unavailable (disk full, shutting down); retry later
  kCorruption,          // stored data fails its own checks
  kInternal,            // a bug or an unexpected foreign failure
};

// The stable lower_snake name of a code, for logs and problem types.
[[nodiscard]] std::string_view ErrcName(Errc code);

struct FieldError {
  std::string field;
  std::string message;
  friend bool operator==(const FieldError&, const FieldError&) = default;
};

struct Error {
  Errc code = Errc::kInternal;
  std::string message;
  std::vector<FieldError> fields;

  // "conflict: tenant acme is at tenant_seq 4, expected 3"
  [[nodiscard]] std::string ToString() const;
};

[[nodiscard]] Error InvalidArgument(std::string message);
[[nodiscard]] Error InvalidField(std::string field, std::string message);
[[nodiscard]] Error NotFound(std::string message);
[[nodiscard]] Error Conflict(std::string message);
[[nodiscard]] Error Unavailable(std::string message);
[[nodiscard]] Error Corruption(std::string message);
[[nodiscard]] Error Internal(std::string message);

// A value or an Error. Construct from either; test with ok() before value().
template <class T>
class [[nodiscard]] Result {
 public:
  static_assert(!std::is_same_v<std::remove_cv_t<T>, Error>);

  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}      // NOLINT: implicit
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT: implicit
  template <class U>
  requires(std::is_constructible_v<T, U&&> && !std::is_same_v<std::decay_t<U>, Error> &&
           !std::is_same_v<std::decay_t<U>, Result>) Result(U&& value)
      : v_(std::in_place_index<0>, std::forward<U>(value)) {}  // NOLINT

  [[nodiscard]] bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  [[nodiscard]] T& value() & {
    assert(ok());
    return std::get<0>(v_);
  }
  [[nodiscard]] const T& value() const& {
    assert(ok());
    return std::get<0>(v_);
  }
  [[nodiscard]] T&& value() && {
    assert(ok());
    return std::get<0>(std::move(v_));
  }
  [[nodiscard]] const Error& error() const& {
    assert(!ok());
    return std::get<1>(v_);
  }
  [[nodiscard]] Error&& error() && {
    assert(!ok());
    return std::get<1>(std::move(v_));
  }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Error> v_;
};

// Success, or an Error.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT: implicit

  [[nodiscard]] bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  [[nodiscard]] const Error& error() const& {
    assert(!ok_);
    return error_;
  }
  [[nodiscard]] Error&& error() && {
    assert(!ok_);
    return std::move(error_);
  }

 private:
  Error error_;
  bool ok_ = true;
};

[[nodiscard]] inline Status OkStatus() { return {}; }

// The error of a list's item: its message and each field prefixed with "list[i]."
// (events[3].type).
[[nodiscard]] Error AtItem(Error e, std::string_view list, size_t i);

// Gathers the failing fields of several independent checks into one error (../shared/spec/API.md: a
// 422 lists every failing field, not only the first). An error that is not about fields (a
// conflict, a denial) is kept and answered only when no field failed.
class FieldChecks {
 public:
  // The fields listed at most (a hostile body may fail on thousands); the rest are counted.
  static constexpr size_t kMaxListed = 100;

  void Add(Status s);
  [[nodiscard]] Status Take() &&;

 private:
  std::vector<FieldError> fields_;
  size_t unlisted_ = 0;
  std::string first_message_;
  std::optional<Error> other_;
};

}  // namespace custos::core

#define CUSTOS_CONCAT_INNER_(a, b) a##b
#define CUSTOS_CONCAT_(a, b) CUSTOS_CONCAT_INNER_(a, b)

// Returns the Error of a failed Status or Result from the enclosing function.
#define CUSTOS_RETURN_IF_ERROR(expr)            \
  do {                                          \
    auto&& custos_status_ = (expr);             \
    if (!custos_status_.ok()) {                 \
      return std::move(custos_status_).error(); \
    }                                           \
  } while (false)

// `CUSTOS_ASSIGN_OR_RETURN(auto x, F());` declares x from F()'s value or returns its Error.
#define CUSTOS_ASSIGN_OR_RETURN(lhs, expr) \
  CUSTOS_ASSIGN_OR_RETURN_IMPL_(CUSTOS_CONCAT_(custos_result_, __LINE__), lhs, expr)
#define CUSTOS_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.ok()) {                                    \
    return std::move(tmp).error();                    \
  }                                                   \
  lhs = std::move(tmp).value()
